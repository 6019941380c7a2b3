import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitForRpc } from '../../src/l1/anvil.js';
import { freePort, rpcCall } from '../helpers/devnet.js';

const root = resolve(import.meta.dirname, '../..');

function run(args: string[]) {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
  });
  let out = '';
  proc.stdout.on('data', (d) => {
    out += d.toString();
  });
  proc.stderr.on('data', (d) => {
    out += d.toString();
  });
  const exit = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return { proc, exit, output: () => out };
}

describe('seqnet node', () => {
  it('runs from a config file, flags override it, and SIGTERM stops it cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-node-'));
    const port = await freePort();
    const config = join(dir, 'node.json');
    writeFileSync(
      config,
      JSON.stringify({
        dataDir: join(dir, 'data'),
        chainId: 777,
        rpcPort: 1,
        blockTime: 0,
        mempool: { maxTxSize: 1000 },
      }),
    );
    const node = run(['node', '--config', config, '--rpc-port', String(port), '--log-level', 'warn']);
    await waitForRpc(`http://127.0.0.1:${port}`, 120_000);
    const chainId = await rpcCall(`http://127.0.0.1:${port}`, {
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_chainId',
      params: [],
    });
    expect((chainId.json as { result: string }).result).toBe('0x309');
    // The config's mempool limit is in force: a 1,001-byte tx is oversized.
    const big = `0x02${'00'.repeat(1000)}`;
    const sent = await rpcCall(`http://127.0.0.1:${port}`, {
      jsonrpc: '2.0',
      id: 2,
      method: 'eth_sendRawTransaction',
      params: [big],
    });
    expect((sent.json as { error: { message: string } }).error.message).toBe('oversized data');
    node.proc.kill('SIGTERM');
    expect(await node.exit).toBe(0);
  }, 300_000);

  it('a taken RPC port is a clear error and a clean exit, not a crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-node-'));
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(port, '127.0.0.1', () => res()));
    try {
      const node = run(['node', '--data-dir', dir, '--rpc-port', String(port), '--log-level', 'warn']);
      expect(await node.exit).toBe(1);
      expect(node.output()).toContain(`the RPC port 127.0.0.1:${port} is in use`);
      expect(node.output()).not.toContain('Unhandled');
    } finally {
      await new Promise<void>((res) => blocker.close(() => res()));
    }
  }, 120_000);

  it('--sequencer-rpc only where it forwards: a based / free node without an L1 key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-node-'));
    const node = run([
      'node',
      '--data-dir',
      dir,
      '--sequencer-rpc',
      'http://127.0.0.1:9545',
      '--log-level',
      'warn',
    ]);
    expect(await node.exit).toBe(1);
    expect(node.output()).toContain('--sequencer-rpc is for a based / free node without SEQNET_BATCHER_KEY');
    expect(node.output()).not.toContain('Unhandled');
  }, 120_000);

  it('--preconf only on a based node that posts; the devnet refuses it for other modes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-node-'));
    const [node, devnet] = [
      run(['node', '--data-dir', join(dir, 'n'), '--preconf', '--log-level', 'warn']),
      run([
        'devnet',
        '--data-dir',
        join(dir, 'd'),
        '--nodes',
        '4',
        '--preconf',
        '--no-l1',
        '--log-level',
        'warn',
      ]),
    ];
    expect(await node.exit).toBe(1);
    expect(node.output()).toContain(
      '--preconf is for a based node that posts (--election based, an --l1-deployment for it and SEQNET_BATCHER_KEY): its promises are kept by its own batches; this node runs --election poa',
    );
    expect(await devnet.exit).toBe(1);
    expect(devnet.output()).toContain(
      '--preconf is for --election based (its posters promise inclusion; a committee preconfirms with certificates); got --election poa',
    );
    for (const p of [node, devnet]) expect(p.output()).not.toContain('Unhandled');
  }, 120_000);

  it('--follow only for a node outside the committee; a node outside it without --follow is told of it', async () => {
    const { dir, committee } = await oneMemberCommittee();
    const flags = (name: string) => ['--data-dir', join(dir, name), '--rpc-port', '0', '--log-level', 'warn'];
    const [noCommittee, member, outsider] = [
      run(['node', ...flags('a'), '--follow']),
      run([
        'node',
        ...flags('member'),
        '--committee',
        committee,
        '--follow',
        '--p2p-listen',
        '/ip4/127.0.0.1/tcp/0',
      ]),
      run(['node', ...flags('outsider'), '--committee', committee, '--p2p-listen', '/ip4/127.0.0.1/tcp/0']),
    ];
    expect(await noCommittee.exit).toBe(1);
    expect(noCommittee.output()).toContain('--follow follows a committee: pass --committee FILE');
    expect(await member.exit).toBe(1);
    expect(member.output()).toContain(
      "--follow is for a node outside the committee, but this node's BLS key is member 0's in the committee file",
    );
    expect(await outsider.exit).toBe(1);
    expect(outsider.output()).toContain('or pass --follow to follow the committee without being a member');
    for (const p of [noCommittee, member, outsider]) expect(p.output()).not.toContain('Unhandled');
  }, 120_000);

  it('--epoch-committees only with a committee and an L1 election (pos, dpos, auction)', async () => {
    const { dir, committee } = await oneMemberCommittee();
    const flags = (name: string) => ['--data-dir', join(dir, name), '--rpc-port', '0', '--log-level', 'warn'];
    const [noCommittee, poa, devnet] = [
      run(['node', ...flags('a'), '--epoch-committees']),
      run([
        'node',
        ...flags('member'),
        '--committee',
        committee,
        '--epoch-committees',
        '--p2p-listen',
        '/ip4/127.0.0.1/tcp/0',
      ]),
      run(['devnet', '--data-dir', join(dir, 'd'), '--nodes', '4', '--epoch-committees', '--no-l1']),
    ];
    await refused(
      noCommittee,
      "--epoch-committees needs --committee FILE: the nodes that may be in an epoch's committee",
    );
    const poaRefused =
      "--epoch-committees takes each epoch's committee from the L1 election: use --election pos | dpos | auction (got poa)";
    await refused(poa, poaRefused);
    await refused(devnet, poaRefused);
  }, 120_000);

  it('refuses a data dir of another chain with a message that says what to do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-node-'));
    const port = await freePort();
    const first = run([
      'node',
      '--data-dir',
      dir,
      '--chain-id',
      '5',
      '--rpc-port',
      String(port),
      '--log-level',
      'warn',
    ]);
    await waitForRpc(`http://127.0.0.1:${port}`, 120_000);
    first.proc.kill('SIGINT');
    expect(await first.exit).toBe(0);
    const second = run([
      'node',
      '--data-dir',
      dir,
      '--chain-id',
      '6',
      '--rpc-port',
      String(port),
      '--log-level',
      'warn',
    ]);
    expect(await second.exit).toBe(1);
    expect(second.output()).toMatch(/belongs to chain 5, not 6; pass --chain-id 5 or use another --data-dir/);
  }, 300_000);
});

/** A committee file of one member, the node whose keys `seqnet keys` made in `<dir>/member`. */
async function oneMemberCommittee(): Promise<{ dir: string; committee: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'seqnet-node-'));
  const keys = run(['keys', '--data-dir', join(dir, 'member')]);
  expect(await keys.exit).toBe(0);
  // stdout's JSON; stderr (in the same output) says where the keys are.
  const own = JSON.parse(/\{[^}]*\}/.exec(keys.output())?.[0] ?? '') as {
    blsPublicKey: string;
    peerId: string;
  };
  const committee = join(dir, 'committee.json');
  writeFileSync(committee, JSON.stringify({ members: [own] }));
  return { dir, committee };
}

/** `p` exits with 1 and a message containing `message`, no crash. */
async function refused(p: ReturnType<typeof run>, message: string): Promise<void> {
  expect(await p.exit).toBe(1);
  expect(p.output()).toContain(message);
  expect(p.output()).not.toContain('Unhandled');
}
