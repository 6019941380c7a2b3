import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Abi, createPublicClient, http, parseGwei } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/execution/genesis.js';
import { Anvil, waitForRpc } from '../../src/l1/anvil.js';
import { deployL1Contracts, type L1Deployment, l1Artifacts } from '../../src/l1/deploy.js';
import { freePort, rpcCall } from '../helpers/devnet.js';
import { startL1Proxy } from '../helpers/l1-proxy.js';
import { until } from '../helpers/wait.js';

const root = resolve(import.meta.dirname, '../..');
const inboxAbi = l1Artifacts().Inbox.abi as Abi;

/** RELIABILITY.md scenario 10: L1 RPC down for a while, then an L1 reorg. No batch is lost. */
describe('L1 faults', () => {
  let anvil: Anvil;
  let proxy: Awaited<ReturnType<typeof startL1Proxy>>;
  let node: ChildProcess;
  let url: string;
  let deployment: L1Deployment;
  const [deployer, sequencer, alice] = devAccounts(3);
  const account = privateKeyToAccount(alice.privateKey);
  let nonce = 0;

  beforeAll(async () => {
    anvil = await Anvil.start({ host: '127.0.0.1', port: await freePort(), chainId: 31337, blockTime: 1 });
    deployment = await deployL1Contracts({
      rpcUrl: anvil.url,
      deployerKey: deployer.privateKey,
      sequencer: sequencer.address,
      finalisationDelaySeconds: 60,
    });
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-l1faults-'));
    writeFileSync(join(dir, 'deployment.json'), JSON.stringify(deployment));
    proxy = await startL1Proxy(anvil.url);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    node = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'node',
        '--data-dir',
        join(dir, 'data'),
        '--rpc-port',
        String(port),
        '--block-time',
        '0',
        '--log-level',
        'warn',
        '--l1-rpc',
        proxy.url,
        '--l1-deployment',
        join(dir, 'deployment.json'),
        '--l1-confirmations',
        '1',
      ],
      { cwd: root, env: { ...process.env, SEQNET_BATCHER_KEY: sequencer.privateKey }, stdio: 'ignore' },
    );
    await waitForRpc(url, 60_000);
  });
  afterAll(async () => {
    node?.kill('SIGINT');
    await new Promise((r) => (node?.exitCode !== null ? r(null) : node.once('exit', r)));
    proxy?.server.close();
    await anvil?.stop();
  });

  const l1 = () => createPublicClient({ transport: http(anvil.url) });
  const nextBlockOnL1 = async () =>
    (await l1().readContract({
      address: deployment.contracts.Inbox,
      abi: inboxAbi,
      functionName: 'nextBlock',
    })) as bigint;
  const l2Head = async () =>
    BigInt(
      (
        (await rpcCall(url, { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] })).json as {
          result: string;
        }
      ).result,
    );
  async function sendTxs(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const raw = await account.signTransaction({
        chainId: 42069,
        type: 'eip1559',
        nonce: nonce++,
        to: account.address,
        value: 1n,
        gas: 21000n,
        maxFeePerGas: parseGwei('1'),
        maxPriorityFeePerGas: 0n,
      });
      const r = await rpcCall(url, {
        jsonrpc: '2.0',
        id: 1,
        method: 'eth_sendRawTransaction',
        params: [raw],
      });
      expect((r.json as { error?: unknown }).error).toBeUndefined();
      await new Promise((res) => setTimeout(res, 20));
    }
  }
  const allPosted = async () => {
    const head = await l2Head();
    return until(`batches up to L2 block ${head}`, async () =>
      (await nextBlockOnL1()) > head ? true : undefined,
    );
  };

  it('keeps sequencing while the L1 RPC is down, then posts every block', async () => {
    await sendTxs(5);
    await allPosted();
    proxy.setDown(true);
    const before = await l2Head();
    await sendTxs(10);
    // L2 blocks keep coming with the last known L1 origin.
    expect(await l2Head()).toBeGreaterThan(before);
    await new Promise((r) => setTimeout(r, 4_000));
    expect(await nextBlockOnL1()).toBeLessThanOrEqual(before + 1n);
    proxy.setDown(false);
    await allPosted();
  });

  it('re-posts a batch that an L1 reorg removed', async () => {
    await sendTxs(5);
    await allPosted();
    const posted = await nextBlockOnL1();
    // Reorg only once the L1 pool is empty: anvil can strand txs that are pending across anvil_reorg.
    await until('an empty L1 pool', async () => {
      const st = (await rpcCall(anvil.url, { jsonrpc: '2.0', id: 1, method: 'txpool_status', params: [] }))
        .json as {
        result: { pending: string; queued: string };
      };
      return Number(st.result.pending) === 0 && Number(st.result.queued) === 0 ? true : undefined;
    });
    // Drop the last L1 blocks, taking the newest batch (and any output after it) with them.
    await rpcCall(anvil.url, { jsonrpc: '2.0', id: 1, method: 'anvil_reorg', params: [3, []] });
    expect(await nextBlockOnL1()).toBeLessThan(posted);
    // The batcher notices from the Inbox and posts those blocks again.
    await allPosted();
    expect(await nextBlockOnL1()).toBeGreaterThanOrEqual(posted);
  }, 120_000);
});
