import { type Abi, createPublicClient, encodeFunctionData, type Hex, http } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/execution/genesis.js';
import { openInboxArtifact } from '../../src/l1/deploy.js';
import { type DevnetProcess, rpcCall, startOpenDevnet } from '../helpers/devnet.js';
import { signFeeMarketTx } from '../helpers/raw-tx.js';
import { until } from '../helpers/wait.js';

/**
 * `free` under an L1 reorg deeper than the confirmations derivation waits for (0 here): the batch
 * that won a derived height is taken back, or replaced by another batch at its Inbox index. The stored
 * blocks alone cannot show that the height may now have another winner, so the node stops deriving
 * with an error that says what to do, and keeps serving what it derived.
 */

interface OpenStatus {
  head: number;
  open: { halted: string | null; submitter: { posted: number } };
}

const call = async <T>(url: string, method: string, params: unknown[]): Promise<T> => {
  const body = (await rpcCall(url, { jsonrpc: '2.0', id: 1, method, params })).json as {
    result?: T;
    error?: { message: string };
  };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
};

async function startFreeDevnet() {
  const { devnet, info } = await startOpenDevnet('free', 1, ['--l1-confirmations', '0']);
  return { devnet, url: info.nodes[0].rpc, l1Rpc: info.l1.rpc, inbox: info.l1.contracts.Inbox };
}

/** Sends one transfer, waits for its receipt (its block derived from L1), and finds the batch that made it. */
async function deriveOneBlock(url: string, l1Rpc: string, inbox: Hex) {
  const sender = devAccounts(10)[8];
  const raw = signFeeMarketTx(sender.privateKey, {
    nonce: 0n,
    gas: 21_000n,
    maxFee: 10n ** 10n,
    maxTip: 1n,
    value: 1n,
  });
  const hash = await call<Hex>(url, 'eth_sendRawTransaction', [`0x${Buffer.from(raw).toString('hex')}`]);
  await until(
    'the receipt',
    async () => (await call<unknown>(url, 'eth_getTransactionReceipt', [hash])) ?? undefined,
    90_000,
  );
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
  const l1Head = await l1.getBlockNumber();
  return { hash, batchIndex: winner.args.index, depth: Number(l1Head - winner.blockNumber + 1n) };
}

const haltedWith = async (url: string) =>
  until(
    'derivation to halt',
    async () => (await call<OpenStatus>(url, 'seqnet_status', [])).open.halted ?? undefined,
    60_000,
  );

describe('devnet --nodes 1 --election free, an L1 reorg deeper than --l1-confirmations', () => {
  let devnet: DevnetProcess | undefined;
  afterEach(async () => {
    await devnet?.stop();
    devnet = undefined;
  });

  it('another batch now at the winning batch index: derivation halts, the node keeps serving', async () => {
    const started = await startFreeDevnet();
    devnet = started.devnet;
    const { url, l1Rpc, inbox } = started;
    const { hash, batchIndex, depth } = await deriveOneBlock(url, l1Rpc, inbox);
    // The new L1 chain holds a stranger's junk batch where the winner was: a height may now have
    // another first batch (here the junk loses, but the order that chose the winner changed).
    const stranger = devAccounts(10)[6];
    const junk = encodeFunctionData({
      abi: openInboxArtifact().abi as Abi,
      functionName: 'postBatch',
      args: [1n, 1n, `0x${'33'.repeat(32)}`, 0n, '0xdeadbeef'],
    });
    await call(l1Rpc, 'anvil_reorg', [
      depth,
      [[{ from: stranger.address, to: inbox, data: junk, gas: '0x100000' }, 0]],
    ]);
    const halted = await haltedWith(url);
    expect(halted).toContain(`replaced batch ${batchIndex}`);
    expect(halted).toContain('--l1-confirmations');
    expect(halted).toContain('resync into an empty --data-dir');
    // What was derived is still served.
    expect(await call<unknown>(url, 'eth_getTransactionReceipt', [hash])).not.toBeNull();
    // And nothing more is posted on a chain L1 no longer implies: a new tx is taken, not posted.
    const posted = (await call<OpenStatus>(url, 'seqnet_status', [])).open.submitter.posted;
    const next = signFeeMarketTx(devAccounts(10)[8].privateKey, {
      nonce: 1n,
      gas: 21_000n,
      maxFee: 10n ** 10n,
      maxTip: 1n,
      value: 1n,
    });
    await call<Hex>(url, 'eth_sendRawTransaction', [`0x${Buffer.from(next).toString('hex')}`]);
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await call<OpenStatus>(url, 'seqnet_status', [])).open.submitter.posted).toBe(posted);
  }, 300_000);

  it('the winning batch taken back with nothing in its place: derivation halts', async () => {
    const started = await startFreeDevnet();
    devnet = started.devnet;
    const { url, l1Rpc, inbox } = started;
    const { batchIndex, depth } = await deriveOneBlock(url, l1Rpc, inbox);
    await call(l1Rpc, 'anvil_reorg', [depth, []]);
    const halted = await haltedWith(url);
    expect(halted).toContain(`took back batch ${batchIndex}`);
    expect(halted).toContain('--l1-confirmations');
    const head = (await call<OpenStatus>(url, 'seqnet_status', [])).head;
    expect(head).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
