import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  type Abi,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  type Hex,
  http,
  type Log,
  parseAbi,
  parseEther,
  webSocket,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import { FollowerNode } from '../../src/derive/follower.js';
import { verifyFromL1 } from '../../src/derive/verifier.js';
import { devAccounts, devChainOptions } from '../../src/execution/genesis.js';
import { L2_TO_L1_MESSAGE_PASSER } from '../../src/execution/options.js';
import { type L1Deployment, l1Artifacts, openInboxArtifact } from '../../src/l1/deploy.js';
import { rpcDefaults } from '../../src/rpc/options.js';
import { type DevnetProcess, freePort, rpcCall, startOpenDevnet } from '../helpers/devnet.js';
import { chainOf, until } from '../helpers/wait.js';

/**
 * `free` and `based` under an L1 reorg deeper than the confirmations derivation waits for (0 here):
 * the batch that made a derived block is taken back, or replaced by another batch at its Inbox index.
 * L1 order is the chain in these modes (in `free` the first valid batch for a height wins, in `based`
 * each batch is the next block), so the stored blocks alone cannot show what changed: derivation rewinds the L2
 * to before the changed batch and derives again from L1; the removed block's tx goes back in the
 * node's pool, is posted again and lands again, and the node's chain is what L1 now implies (checked
 * by rebuilding it from L1 alone, as `seqnet verify` does).
 */

interface OpenStatus {
  chainId: number;
  head: number;
  open: {
    halted: string | null;
    finalHead: number;
    rewinds: number;
    recentRewinds: Array<{ from: number; to: number; batchIndex: number; reason: string }>;
    submitter: { posted: number };
  };
}

interface Receipt {
  blockHash: Hex;
  blockNumber: Hex;
  status: Hex;
}

const call = async <T>(url: string, method: string, params: unknown[]): Promise<T> => {
  const body = (await rpcCall(url, { jsonrpc: '2.0', id: 1, method, params })).json as {
    result?: T;
    error?: { message: string };
  };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
};

async function startReorgDevnet(mode: 'free' | 'based') {
  const { devnet, info } = await startOpenDevnet(mode, 1, ['--l1-confirmations', '0']);
  const deployment = JSON.parse(
    readFileSync(join(devnet.dataDir, 'l1-deployment.json'), 'utf8'),
  ) as L1Deployment;
  return { devnet, url: info.nodes[0].rpc, l1Rpc: info.l1.rpc, inbox: info.l1.contracts.Inbox, deployment };
}

const passerAbi = parseAbi([
  'function initiateWithdrawal(address to) payable returns (uint256)',
  'event WithdrawalInitiated(uint256 indexed nonce, address indexed from, address indexed to, uint256 value)',
]);

/**
 * Sends one tx that logs (a 1-wei withdrawal), waits for its receipt (its block derived from L1),
 * and finds the batch that made it.
 */
async function deriveOneBlock(url: string, l1Rpc: string, inbox: Hex) {
  const sender = privateKeyToAccount(devAccounts(10)[8].privateKey);
  const raw = await sender.signTransaction({
    chainId: 42069,
    type: 'eip1559',
    nonce: 0,
    to: L2_TO_L1_MESSAGE_PASSER,
    data: encodeFunctionData({ abi: passerAbi, functionName: 'initiateWithdrawal', args: [sender.address] }),
    value: 1n,
    gas: 200_000n,
    maxFeePerGas: 10n ** 10n,
    maxPriorityFeePerGas: 1n,
  });
  const hash = await call<Hex>(url, 'eth_sendRawTransaction', [raw]);
  const receipt = await receiptOf(url, hash);
  // Reorg only once the L1 pool is empty: anvil can strand txs that are pending across anvil_reorg.
  await until('an empty L1 pool', async () => {
    const st = await call<{ pending: string; queued: string }>(l1Rpc, 'txpool_status', []);
    return Number(st.pending) === 0 && Number(st.queued) === 0 ? true : undefined;
  });
  const l1 = createPublicClient({ transport: http(l1Rpc) });
  const logs = await l1.getContractEvents({
    address: inbox,
    abi: openInboxArtifact().abi as Abi,
    eventName: 'BatchPosted',
    fromBlock: 0n,
  });
  const winner = logs[logs.length - 1] as unknown as { blockNumber: bigint; args: { index: bigint } };
  return {
    hash,
    blockHash: receipt.blockHash,
    blockNumber: BigInt(receipt.blockNumber),
    batchIndex: winner.args.index,
    l1Block: winner.blockNumber,
  };
}

/**
 * Replaces the L1 blocks from `fromBlock` to the head with new ones holding `txs` (anvil_reorg). The
 * devnet's anvil mines every second: mining is paused meanwhile, or a block mined between reading the
 * head and the reorg would leave `fromBlock` in place (seen: the reorg took the block after it).
 */
async function reorgFrom(l1Rpc: string, fromBlock: bigint, txs: unknown[] = []) {
  await call(l1Rpc, 'evm_setIntervalMining', [0]);
  try {
    const head = BigInt(await call<Hex>(l1Rpc, 'eth_blockNumber', []));
    await call(l1Rpc, 'anvil_reorg', [Number(head - fromBlock + 1n), txs]);
  } finally {
    await call(l1Rpc, 'evm_setIntervalMining', [1]);
  }
}

const receiptOf = (url: string, hash: Hex) =>
  until(
    'the receipt',
    async () => (await call<Receipt | null>(url, 'eth_getTransactionReceipt', [hash])) ?? undefined,
    90_000,
  );

const status = (url: string) => call<OpenStatus>(url, 'seqnet_status', []);

const rewound = async (url: string) =>
  until(
    'the L2 to be rewound',
    async () => {
      const st = await status(url);
      return st.open.rewinds > 0 ? st : undefined;
    },
    60_000,
  );

/**
 * After a rewind: the tx lands again (in the block L1 now implies), derivation goes on, and the
 * node's chain is the one derivation rebuilds from L1 alone; the old block is gone if it changed.
 */
async function expectRelandedAndVerified(
  started: Awaited<ReturnType<typeof startReorgDevnet>>,
  tx: { hash: Hex; blockHash: Hex },
) {
  const { url, l1Rpc, deployment } = started;
  const again = await receiptOf(url, tx.hash);
  expect(again.status).toBe('0x1');
  // The block derived again can be the same one (the poster's L1 tx mined again after the reorg).
  if (again.blockHash !== tx.blockHash)
    expect(await call<unknown>(url, 'eth_getBlockByHash', [tx.blockHash, false])).toBeNull();
  const st = await status(url);
  expect(st.open.halted).toBeNull();
  const report = await verifyFromL1({
    l1Url: l1Rpc,
    deployment,
    chain: devChainOptions({ chainId: BigInt(st.chainId) }),
    rpcUrl: url,
  });
  expect(report.mismatches).toEqual([]);
  expect(report.blocks).toBeGreaterThanOrEqual(Number(BigInt(again.blockNumber)));
  return again;
}

describe.each(['free', 'based'] as const)(
  'devnet --nodes 1 --election %s, an L1 reorg deeper than --l1-confirmations: the L2 is rewound',
  (mode) => {
    let devnet: DevnetProcess | undefined;
    /** Stops the test's own client or follower first (viem would retry against the stopped devnet). */
    let closeClient: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await closeClient?.();
      closeClient = undefined;
      await devnet?.stop();
      devnet = undefined;
    });

    it('outputs wait for L1 finality: a block gets its certified output only once L1 finalized its batch', async () => {
      const started = await startReorgDevnet(mode);
      devnet = started.devnet;
      const { url, l1Rpc, inbox, deployment } = started;
      const l1 = createPublicClient({ transport: http(l1Rpc) });
      const tx = await deriveOneBlock(url, l1Rpc, inbox);
      const finalizedNow = (await l1.getBlock({ blockTag: 'finalized' })).number;
      // The L2's `finalized` block tag follows the same L1-final head.
      const finalizedL2 = async () =>
        BigInt((await call<{ number: Hex }>(url, 'eth_getBlockByNumber', ['finalized', false])).number);
      // (A block of margin: the node reads L1 finality on its own polls.)
      if (finalizedNow < tx.l1Block - 1n) {
        expect(BigInt((await status(url)).open.finalHead)).toBeLessThan(tx.blockNumber);
        expect(await finalizedL2()).toBeLessThan(tx.blockNumber);
      }
      const proposed = await until(
        `an output covering block ${tx.blockNumber} on L1`,
        async () => {
          const events = (await l1.getContractEvents({
            address: deployment.contracts.StateOracle,
            abi: l1Artifacts().StateOracle.abi as Abi,
            eventName: 'OutputProposed',
            fromBlock: 0n,
          })) as unknown as Array<{ blockNumber: bigint; args: { l2Block: bigint } }>;
          return events.find((e) => e.args.l2Block >= tx.blockNumber);
        },
        90_000,
      );
      // anvil's `finalized` is a fixed depth below its head: two epochs, the devnet's of 4 slots (read
      // here as two calls, between which a block may be mined).
      const depth = 8n;
      const latest = (await l1.getBlock({ blockTag: 'latest' })).number;
      const finalized = (await l1.getBlock({ blockTag: 'finalized' })).number;
      expect(latest - finalized).toBeGreaterThanOrEqual(depth - 1n);
      expect(latest - finalized).toBeLessThanOrEqual(depth);
      // When the output was proposed, the L1 block holding the batch was final.
      expect(proposed.blockNumber - depth).toBeGreaterThanOrEqual(tx.l1Block);
      expect((await status(url)).open.finalHead).toBeGreaterThanOrEqual(Number(tx.blockNumber));
      expect(await finalizedL2()).toBeGreaterThanOrEqual(tx.blockNumber);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const gauge = /^seqnet_finalized_block_height (\d+)$/m.exec(metrics);
      expect(Number(gauge?.[1])).toBeGreaterThanOrEqual(Number(tx.blockNumber));
      // A poster's L1 spending: its batches (the wasted part on its own line) and outputs, counted
      // once the node has the receipt (a poll after the L1 block this test saw); no backlog of
      // blocks, since every block here is derived from a batch already on L1.
      const spent = await until('the output proposal counted on /metrics', async () => {
        const m = await (await fetch(`${url}/metrics`)).text();
        const outputs = Number(/^seqnet_l1_gas_used_total\{purpose="outputs"\} (\d+)$/m.exec(m)?.[1]);
        return outputs > 0 ? m : undefined;
      });
      expect(
        Number(/^seqnet_l1_gas_used_total\{purpose="batches"\} (\d+)$/m.exec(spent)?.[1]),
      ).toBeGreaterThan(0);
      expect(spent).toMatch(/^seqnet_l1_wasted_gas_total \d+$/m);
      expect(Number(/^seqnet_batcher_batches_total (\d+)$/m.exec(spent)?.[1])).toBeGreaterThan(0);
      expect(spent).not.toMatch(/seqnet_batcher_backlog_blocks/);
    }, 300_000);

    it('another batch now at the index of the batch that made a block: the L2 is rewound, the tx is posted and lands again', async () => {
      const started = await startReorgDevnet(mode);
      devnet = started.devnet;
      const { url, l1Rpc, inbox } = started;
      // A dapp watching the tx's log (viem over eth_subscribe): it sees the log, the same log
      // removed by the rewind, then the log of the block derived again.
      const l2 = createPublicClient({ transport: webSocket(url.replace('http', 'ws')) });
      const seen: Log[] = [];
      const unwatch = l2.watchEvent({
        address: L2_TO_L1_MESSAGE_PASSER,
        onLogs: (logs) => seen.push(...logs),
      });
      closeClient = async () => {
        unwatch();
        await (await l2.transport.getRpcClient()).close();
      };
      // Another over HTTP, with a polling filter (eth_newFilter), polled once at the end.
      const polling = createPublicClient({ transport: http(url) });
      const filter = await polling.createEventFilter({ address: L2_TO_L1_MESSAGE_PASSER });
      const tx = await deriveOneBlock(url, l1Rpc, inbox);
      // The new L1 chain holds a stranger's junk batch where the winner was: a height may now have
      // another first batch (here the junk loses, but the order that chose the winner changed).
      const stranger = devAccounts(10)[6];
      const junk = encodeFunctionData({
        abi: openInboxArtifact().abi as Abi,
        functionName: 'postBatch',
        args: [1n, 1n, `0x${'33'.repeat(32)}`, 0n, '0xdeadbeef'],
      });
      await reorgFrom(l1Rpc, tx.l1Block, [
        [{ from: stranger.address, to: inbox, data: junk, gas: '0x100000' }, 0],
      ]);
      const st = await rewound(url);
      const [rewind] = st.open.recentRewinds;
      expect(rewind.batchIndex).toBe(Number(tx.batchIndex));
      expect(rewind.reason).toContain(`replaced batch ${tx.batchIndex}`);
      expect(rewind.to).toBeLessThan(rewind.from);
      const again = await expectRelandedAndVerified(started, tx);
      await until('the log of the block derived again', async () => {
        const removedAt = seen.findIndex((l) => l.removed);
        return removedAt >= 0 && seen.slice(removedAt + 1).some((l) => !l.removed) ? true : undefined;
      });
      const expected = [
        { blockHash: tx.blockHash, removed: false, tx: tx.hash },
        { blockHash: tx.blockHash, removed: true, tx: tx.hash },
        { blockHash: again.blockHash, removed: false, tx: tx.hash },
      ];
      const shape = (logs: Log[]) =>
        logs.map((l) => ({ blockHash: l.blockHash, removed: l.removed, tx: l.transactionHash }));
      expect(shape(seen)).toEqual(expected);
      expect(shape(await polling.getFilterChanges({ filter }))).toEqual(expected);
    }, 300_000);

    it('the batch that made a block taken back with nothing in its place: the node and a follower are rewound, the tx lands again', async () => {
      const started = await startReorgDevnet(mode);
      devnet = started.devnet;
      const { url, l1Rpc, inbox } = started;
      // A follower (`seqnet verify --follow`, in process) derives the same chain from the same L1.
      const port = await freePort();
      const follower = await FollowerNode.start(
        {
          dataDir: mkdtempSync(join(tmpdir(), 'seqnet-reorg-follower-')),
          chain: devChainOptions({ chainId: BigInt((await status(url)).chainId) }),
          rpc: { ...rpcDefaults, host: '127.0.0.1', port },
          l1Url: l1Rpc,
          deployment: started.deployment,
          confirmations: 0,
          pollMs: 200,
        },
        pino({ level: 'silent' }),
      );
      closeClient = () => follower.stop();
      const tx = await deriveOneBlock(url, l1Rpc, inbox);
      const followerUrl = `http://127.0.0.1:${port}`;
      await until('the follower to derive the block', async () => {
        const r = await call<Receipt | null>(followerUrl, 'eth_getTransactionReceipt', [tx.hash]);
        return r?.blockHash === tx.blockHash ? true : undefined;
      });
      await reorgFrom(l1Rpc, tx.l1Block);
      const st = await rewound(url);
      const [rewind] = st.open.recentRewinds;
      expect(rewind.batchIndex).toBe(Number(tx.batchIndex));
      expect(rewind.reason).toContain(`took back batch ${tx.batchIndex}`);
      const again = await expectRelandedAndVerified(started, tx);
      // The follower went back too, and serves the block derived again.
      const derivation = () => follower.status().derivation as { rewinds: number; halted: string | null };
      await until('the follower to derive the block again', async () => {
        const r = await call<Receipt | null>(followerUrl, 'eth_getTransactionReceipt', [tx.hash]);
        return r?.blockHash === again.blockHash && derivation().rewinds > 0 ? true : undefined;
      });
      expect(derivation().halted).toBeNull();
    }, 300_000);
  },
);

describe('devnet --nodes 1 --election free, a deep L1 reorg takes back the block that credited a deposit', () => {
  let devnet: DevnetProcess | undefined;
  afterEach(async () => {
    await devnet?.stop();
    devnet = undefined;
  });

  it('the deposit stays on L1: after the rewind it is credited again, once', async () => {
    const started = await startReorgDevnet('free');
    devnet = started.devnet;
    const { url, l1Rpc, inbox } = started;
    const recipient = privateKeyToAccount(generatePrivateKey()).address;
    const l1 = createPublicClient({ transport: http(l1Rpc) });
    const depositor = createWalletClient({
      transport: http(l1Rpc),
      account: privateKeyToAccount(devAccounts(10)[5].privateKey),
      chain: chainOf(31337, l1Rpc),
    });
    const deposit = await l1.waitForTransactionReceipt({
      hash: await depositor.writeContract({
        address: started.deployment.contracts.Bridge,
        abi: l1Artifacts().Bridge.abi as Abi,
        functionName: 'depositETH',
        args: [recipient],
        value: parseEther('1'),
      }),
    });
    const balance = () => call<Hex>(url, 'eth_getBalance', [recipient, 'latest']).then(BigInt);
    // In `free` a node posts a block of its own for due L1 messages: the deposit is credited with no tx.
    await until('the deposit on L2', async () => ((await balance()) > 0n ? true : undefined), 90_000);
    await until('an empty L1 pool', async () => {
      const st = await call<{ pending: string; queued: string }>(l1Rpc, 'txpool_status', []);
      return Number(st.pending) === 0 && Number(st.queued) === 0 ? true : undefined;
    });
    const logs = await l1.getContractEvents({
      address: inbox,
      abi: openInboxArtifact().abi as Abi,
      eventName: 'BatchPosted',
      fromBlock: 0n,
    });
    const credited = logs[logs.length - 1] as unknown as { blockNumber: bigint };
    // The batch is after the deposit on L1: a reorg of the batch's blocks leaves the deposit.
    expect(credited.blockNumber).toBeGreaterThan(deposit.blockNumber);
    await reorgFrom(l1Rpc, credited.blockNumber);
    const st = await rewound(url);
    expect(st.open.recentRewinds[0].to).toBeLessThan(st.open.recentRewinds[0].from);
    expect(await l1.getTransactionReceipt({ hash: deposit.transactionHash })).toMatchObject({
      status: 'success',
    });
    // Credited again by the block derived after the rewind, and only once.
    await until('the deposit on L2 again', async () => ((await balance()) > 0n ? true : undefined), 90_000);
    const report = await verifyFromL1({
      l1Url: l1Rpc,
      deployment: started.deployment,
      chain: devChainOptions({ chainId: BigInt((await status(url)).chainId) }),
      rpcUrl: url,
    });
    expect(report.mismatches).toEqual([]);
    expect(await balance()).toBe(parseEther('1'));
  }, 300_000);
});
