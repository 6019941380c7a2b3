import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { JsonRpcProvider, Wallet } from 'ethers';
import { createPublicClient, createWalletClient, type Hex, http, parseEther, webSocket } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/execution/genesis.js';
import { waitForRpc } from '../../src/l1/anvil.js';
import { type DevnetProcess, freePort, rpcCall, startDevnet } from '../helpers/devnet.js';
import { chainOf, until } from '../helpers/wait.js';

const root = resolve(import.meta.dirname, '../..');

interface Follower {
  url: string;
  proc: ChildProcess;
  output: () => string;
  stop(): Promise<number | null>;
}

async function startFollower(args: string[], port: number): Promise<Follower> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'verify', '--follow', '--rpc-port', String(port), ...args],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout?.on('data', (d) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d) => {
    out += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) =>
    proc.once('exit', (code) => reject(new Error(`follower exited with ${code}:\n${out.slice(-3000)}`))),
  );
  exited.catch(() => {});
  await Promise.race([waitForRpc(url, 60_000), exited]);
  return {
    url,
    proc,
    output: () => out,
    async stop() {
      proc.kill('SIGINT');
      await new Promise<void>((res) => (proc.exitCode !== null ? res() : proc.once('exit', () => res())));
      return proc.exitCode;
    },
  };
}

/** `seqnet verify --follow`: a read-only node that derives the chain from L1 live and serves it. */
describe('follower node', () => {
  let devnet: DevnetProcess;
  let follower: Follower;
  let followerArgs: string[];
  let port: number;

  beforeAll(async () => {
    devnet = await startDevnet({ l1: true, blockTime: 0 });
    const info = JSON.parse(readFileSync(join(devnet.dataDir, 'devnet.json'), 'utf8')) as {
      l1: { rpc: string };
    };
    port = await freePort();
    followerArgs = [
      '--l1-rpc',
      info.l1.rpc,
      '--deployment',
      join(devnet.dataDir, 'l1-deployment.json'),
      '--data-dir',
      mkdtempSync(join(tmpdir(), 'seqnet-follower-')),
      '--sequencer-rpc',
      devnet.url,
      '--l1-confirmations',
      '1',
      '--poll-ms',
      '200',
      '--log-level',
      'warn',
    ];
    follower = await startFollower(followerArgs, port);
  });
  afterAll(async () => {
    await follower?.stop();
    await devnet?.stop();
  });

  /** Waits until the follower has derived block `n` from L1. */
  const derived = (url: string, n: bigint) =>
    until(
      `block ${n} derived by the follower`,
      async () => {
        const r = await rpcCall(url, { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] });
        const head = BigInt((r.json as { result: Hex }).result);
        return head >= n ? head : undefined;
      },
      90_000,
    );

  it('forwards txs to the sequencer, derives every block from L1 and serves the same chain', async () => {
    const l2 = chainOf(42069, follower.url);
    const viaFollower = createPublicClient({ chain: l2, transport: http(follower.url) });
    const sequencer = createPublicClient({ chain: l2, transport: http(devnet.url) });
    const heads: bigint[] = [];
    const ws = createPublicClient({ chain: l2, transport: webSocket(follower.url.replace('http', 'ws')) });
    const unwatch = ws.watchBlocks({ onBlock: (b) => heads.push(b.number) });

    // A wallet pointed at the follower: its txs are forwarded to the sequencer.
    const account = privateKeyToAccount(devAccounts(3)[2].privateKey);
    const wallet = createWalletClient({ chain: l2, transport: http(follower.url), account });
    const to = privateKeyToAccount(devAccounts(4)[3].privateKey).address;
    const hashes: Hex[] = [];
    for (let i = 0; i < 5; i++) hashes.push(await wallet.sendTransaction({ to, value: parseEther('0.01') }));
    for (const hash of hashes) await sequencer.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    const head = await sequencer.getBlockNumber({ cacheTime: 0 });

    await derived(follower.url, head);
    for (let n = 1n; n <= head; n++) {
      const [a, b] = await Promise.all([
        viaFollower.getBlock({ blockNumber: n }),
        sequencer.getBlock({ blockNumber: n }),
      ]);
      expect(a.hash).toBe(b.hash);
      expect(a.stateRoot).toBe(b.stateRoot);
    }
    for (const hash of hashes)
      expect((await viaFollower.getTransactionReceipt({ hash })).status).toBe('success');
    expect(await viaFollower.getBalance({ address: to, blockNumber: head })).toBe(
      await sequencer.getBalance({ address: to, blockNumber: head }),
    );
    expect(await viaFollower.estimateGas({ account, to, value: 1n })).toBe(21000n);
    await until('newHeads from the follower', async () => (heads.length > 0 ? true : undefined));
    unwatch();

    // ethers against the follower: reads work, and the sequencer's rejection comes back unchanged.
    const provider = new JsonRpcProvider(follower.url, 42069, { staticNetwork: true });
    const signer = new Wallet(devAccounts(3)[2].privateKey, provider);
    await expect(signer.sendTransaction({ to, value: 1n, nonce: 0 })).rejects.toThrow(/nonce too low/);
    expect(await provider.getBalance(to, Number(head))).toBe(
      await sequencer.getBalance({ address: to, blockNumber: head }),
    );

    // No certificates here: the follower says where to get a preconfirmation.
    const pre = await rpcCall(follower.url, {
      jsonrpc: '2.0',
      id: 1,
      method: 'seqnet_getPreconfirmation',
      params: [hashes[0]],
    });
    expect((pre.json as { error: { message: string } }).error.message).toMatch(/ask the sequencer/);
    const status = await rpcCall(follower.url, {
      jsonrpc: '2.0',
      id: 1,
      method: 'seqnet_status',
      params: [],
    });
    const s = (status.json as { result: { mode: string; derivation: { halted: string | null } } }).result;
    expect(s.mode).toBe('follower');
    expect(s.derivation.halted).toBeNull();
  }, 150_000);

  it('stops cleanly and resumes from its data dir, then keeps following', async () => {
    const before = BigInt(
      (
        (await rpcCall(follower.url, { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }))
          .json as {
          result: Hex;
        }
      ).result,
    );
    expect(await follower.stop()).toBe(0);
    follower = await startFollower(followerArgs, port);
    const sequencer = createPublicClient({ chain: chainOf(42069, devnet.url), transport: http(devnet.url) });
    const wallet = createWalletClient({
      chain: chainOf(42069, devnet.url),
      transport: http(devnet.url),
      account: privateKeyToAccount(devAccounts(5)[4].privateKey),
    });
    const hash = await wallet.sendTransaction({ to: wallet.account.address, value: 1n });
    const receipt = await sequencer.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    expect(receipt.blockNumber).toBeGreaterThan(before);
    await derived(follower.url, receipt.blockNumber);
    const viaFollower = createPublicClient({
      chain: chainOf(42069, follower.url),
      transport: http(follower.url),
    });
    expect((await viaFollower.getBlock({ blockNumber: receipt.blockNumber })).hash).toBe(receipt.blockHash);
    expect(follower.output()).not.toMatch(/derivation stopped/);
  }, 150_000);
});
