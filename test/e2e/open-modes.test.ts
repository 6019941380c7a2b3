import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Abi, createPublicClient, createWalletClient, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WsRpc } from '../../bench/lib/rpc.js';
import {
  checkInclusionPromise,
  INCLUSION_PROMISE_WINDOW,
  type InclusionPromiseJson,
  InclusionPromises,
  verifyInclusionPromise,
} from '../../src/batcher/inclusion-promise.js';
import { memberL1Account } from '../../src/cli/election-devnet.js';
import { FORCED_INCLUSION_WINDOW } from '../../src/cli/force-tx.js';
import { devAccounts } from '../../src/execution/genesis.js';
import { waitForRpc } from '../../src/l1/anvil.js';
import { openInboxArtifact } from '../../src/l1/deploy.js';
import { latestOutputOnL1 } from '../../src/l1/outputs.js';
import type { OpenModeStatus } from '../../src/node/node.js';
import { forceSelfTransfer, runSeqnet } from '../helpers/cli.js';
import { type DevnetProcess, processLaunch, rpcCall, startOpenDevnet } from '../helpers/devnet.js';
import { signFeeMarketTx } from '../helpers/raw-tx.js';
import { until } from '../helpers/wait.js';
import { withdrawToL1 } from '../helpers/withdrawal.js';

/**
 * `npm run devnet -- --nodes 2 --election based|free`: two independent submitters, each with its own
 * mempool and L1 key, post to the OpenInbox; the chain is what derivation makes of L1's order. Both
 * get txs of their own and one identical tx at the same moment, so they race for the same block.
 * The chain stays single (both nodes, and `seqnet verify` from L1 alone, have the same blocks) and
 * holds every tx exactly once.
 */

interface OpenStatus {
  head: number;
  headHash: Hex;
  election: { mode: string };
  /** Every node here posts: its submitter is there. */
  open: OpenModeStatus & { submitter: NonNullable<OpenModeStatus['submitter']> };
}

const status = async (url: string): Promise<OpenStatus> =>
  (
    (await rpcCall(url, { jsonrpc: '2.0', id: 1, method: 'seqnet_status', params: [] })).json as {
      result: OpenStatus;
    }
  ).result;

/** eth_sendRawTransaction's answer: the tx hash, or the error. */
const sendRaw = async (url: string, raw: Uint8Array) =>
  (
    await rpcCall(url, {
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_sendRawTransaction',
      params: [`0x${Buffer.from(raw).toString('hex')}`],
    })
  ).json as { result?: Hex; error?: { code: number; message: string } };

const send = async (url: string, raw: Uint8Array): Promise<Hex> => {
  const body = await sendRaw(url, raw);
  if (!body.result) throw new Error(`eth_sendRawTransaction: ${body.error?.message}`);
  return body.result;
};

const receiptAt = async (url: string, hash: Hex) =>
  (
    (await rpcCall(url, { jsonrpc: '2.0', id: 1, method: 'eth_getTransactionReceipt', params: [hash] }))
      .json as {
      result: { blockNumber: Hex; blockHash: Hex; transactionIndex: Hex } | null;
    }
  ).result;

/** seqnet_getPreconfirmation: a based node's inclusion promise, or its error. */
const preconf = (url: string, h: Hex) =>
  rpcCall(url, { jsonrpc: '2.0', id: 1, method: 'seqnet_getPreconfirmation', params: [h] }).then(
    (r) =>
      r.json as {
        result?: (InclusionPromiseJson & { included: { blockNumber: Hex; blockHash: Hex } | null }) | null;
        error?: { code: number; message: string };
      },
  );

/** based posts calldata, free posts blobs (`--da blobs`): both modes, both ways to L1. */
const daOf = { based: 'calldata', free: 'blobs' } as const;

for (const mode of ['based', 'free'] as const) {
  describe(`devnet --nodes 2 --election ${mode} --da ${daOf[mode]}`, () => {
    let devnet: DevnetProcess;
    let urls: string[];
    let l1Rpc: string;
    let inbox: Hex;
    let info: { l1: { contracts: Record<string, Hex> } };

    beforeAll(async () => {
      const started = await startOpenDevnet(mode, 2, ['--da', daOf[mode]]);
      devnet = started.devnet;
      urls = started.info.nodes.map((n) => n.rpc);
      l1Rpc = started.info.l1.rpc;
      inbox = started.info.l1.contracts.Inbox;
      info = started.info;
    }, 240_000);
    afterAll(async () => {
      await devnet?.stop();
    });

    it('two submitters race; the chain stays single, holds every tx once, and verifies from L1', async () => {
      expect((await status(urls[0])).election.mode).toBe(mode);
      // Anyone may post: a stranger's junk batch comes first, and is passed over, harming nobody.
      const stranger = devAccounts(10)[6];
      const l1 = createWalletClient({
        account: privateKeyToAccount(stranger.privateKey),
        chain: {
          id: 31337,
          name: 'l1',
          nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
          rpcUrls: { default: { http: [l1Rpc] } },
        },
        transport: http(l1Rpc),
      });
      const junk = await l1.writeContract({
        address: inbox,
        abi: openInboxArtifact().abi as Abi,
        functionName: 'postBatch',
        args: [1n, 1n, `0x${'33'.repeat(32)}`, 0n, '0xdeadbeef'],
      });
      const [a, b, c] = devAccounts(10).slice(7, 10);
      const tx = (key: Hex, nonce: bigint) =>
        signFeeMarketTx(key, { nonce, gas: 21_000n, maxFee: 10n ** 10n, maxTip: 1n, value: 1n });
      const hashes: Hex[] = [];
      for (let round = 0n; round < 4n; round++) {
        // Each node's own sender, and one tx that both get at once: both have work, both post.
        hashes.push(await send(urls[0], tx(a.privateKey, round)));
        hashes.push(await send(urls[1], tx(b.privateKey, round)));
        const shared = tx(c.privateKey, round);
        const [h0, h1] = await Promise.all([send(urls[0], shared), send(urls[1], shared)]);
        expect(h0).toBe(h1);
        hashes.push(h0);
        await new Promise((r) => setTimeout(r, 1_500));
      }
      // Receipts come once a block is derived from L1: every tx on both nodes, at one place.
      for (const h of hashes) {
        const [r0, r1] = await until(
          `receipt of ${h} on both nodes`,
          async () => {
            const rs = await Promise.all(urls.map((u) => receiptAt(u, h)));
            return rs.every((r) => r) ? rs : undefined;
          },
          90_000,
        );
        expect(r1).toEqual(r0);
      }
      const s = await Promise.all(urls.map(status));
      const height = Math.min(...s.map((x) => x.head));
      const blockAt = async (u: string) =>
        (
          (
            await rpcCall(u, {
              jsonrpc: '2.0',
              id: 1,
              method: 'eth_getBlockByNumber',
              params: [`0x${height.toString(16)}`, false],
            })
          ).json as { result: { hash: Hex } }
        ).result.hash;
      expect(await blockAt(urls[1])).toBe(await blockAt(urls[0]));
      // Every tx once: the shared ones were posted by both, and still appear once.
      const inChain: Hex[] = [];
      for (let n = 1; n <= height; n++) {
        const blk = (
          (
            await rpcCall(urls[0], {
              jsonrpc: '2.0',
              id: 1,
              method: 'eth_getBlockByNumber',
              params: [`0x${n.toString(16)}`, false],
            })
          ).json as { result: { transactions: Hex[] } }
        ).result;
        inChain.push(...blk.transactions);
      }
      expect(new Set(inChain).size).toBe(inChain.length);
      for (const h of hashes) expect(inChain).toContain(h);
      for (const x of s) {
        expect(x.open.halted).toBeNull();
        expect(x.open.recentPassedOver.find((p) => p.l1TxHash === junk)?.reason).toMatch(
          /unknown batch version/,
        );
      }
      const posted = s.reduce((n, x) => n + x.open.submitter.posted, 0);
      expect(posted).toBeGreaterThanOrEqual(2);
      // Every post went where --da says: blobs (one per post at least) or calldata (none).
      const blobs = s.reduce((n, x) => n + x.open.submitter.blobs, 0);
      if (daOf[mode] === 'blobs') expect(blobs).toBeGreaterThanOrEqual(posted);
      else expect(blobs).toBe(0);
      const pub = createPublicClient({ transport: http(l1Rpc) });
      if (mode === 'free') {
        // Only the first valid batch for a height counts: the others' gas is wasted, and the L1
        // receipts say how much.
        const lost = s.reduce((n, x) => n + x.open.submitter.lost, 0);
        expect(lost, JSON.stringify(s.map((x) => x.open.submitter))).toBeGreaterThan(0);
        for (const x of s) expect(x.open.passedOverBatches).toBeGreaterThan(0);
        let wasted = 0n;
        for (const p of s[0].open.recentPassedOver)
          wasted += (await pub.getTransactionReceipt({ hash: p.l1TxHash })).gasUsed;
        expect(wasted).toBeGreaterThan(0n);
        expect(s.reduce((n, x) => n + BigInt(x.open.submitter.wastedGas), 0n)).toBeGreaterThan(0n);
      } else {
        // L1 order is the order: no batch loses (only the junk was passed over); a tx posted twice
        // is skipped the second time.
        expect(s[0].open.passedOverBatches).toBe(1);
        expect(s.every((x) => x.open.submitter.lost === 0)).toBe(true);
      }
      // Each submitter posted from its own L1 key (a post may still be in flight).
      for (const i of [0, 1]) {
        const nonce = await pub.getTransactionCount({ address: memberL1Account(i).address });
        expect(nonce).toBeGreaterThanOrEqual(s[i].open.submitter.posted);
        expect(s[i].open.submitter.posted).toBeGreaterThan(0);
      }
      // A third, independent derivation from L1 alone agrees with what node 1 served.
      const v = await runSeqnet([
        'verify',
        '--l1-rpc',
        l1Rpc,
        '--deployment',
        join(devnet.dataDir, 'l1-deployment.json'),
        '--rpc',
        urls[1],
      ]);
      expect(v.code, v.err).toBe(0);
      const report = JSON.parse(v.out) as { ok: boolean; blocks: number; mismatches: string[] };
      expect(report.mismatches).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.blocks).toBeGreaterThanOrEqual(height);
    }, 240_000);

    it('the committee file certifies outputs though it does not order: a withdrawal reaches L1 and the Bridge pays', async () => {
      const { outputsVia } = await withdrawToL1({
        l2Url: urls[1],
        l2ChainId: 42069,
        proofUrl: urls[0],
        l1Rpc,
        contracts: info.l1.contracts,
        userKey: devAccounts(10)[5].privateKey,
        timeoutMs: 120_000,
      });
      expect(outputsVia.length).toBeGreaterThan(0);
      expect(new Set(outputsVia)).toEqual(new Set(['proposeCertified']));
      // Two members, quorum 2: each certificate needs the other's signature.
      const s = await Promise.all(urls.map(status));
      expect(s.reduce((n, x) => n + (x.open.outputs as { certified: number }).certified, 0)).toBeGreaterThan(
        0,
      );
      expect(s.reduce((n, x) => n + (x.open.outputs as { signed: number }).signed, 0)).toBeGreaterThan(0);
    }, 240_000);

    it("a censored user's forced tx lands with no other tx about: a submitter posts a batch for due L1 messages", async () => {
      // Nothing else is pending: before, a based submitter posted only txs, so L1 messages (this
      // forced tx, a deposit) waited for someone's next tx.
      for (const url of urls)
        await until(`an empty mempool at ${url}`, async () => {
          const s = (await status(url)) as OpenStatus & { mempool: { pending: number; queued: number } };
          return s.mempool.pending + s.mempool.queued === 0 ? true : undefined;
        });
      const user = devAccounts(10)[4];
      const forced = await forceSelfTransfer({
        l1Rpc: l1Rpc,
        dataDir: devnet.dataDir,
        key: user.privateKey,
        address: user.address,
        rpc: urls[1],
      });
      expect(forced.code, forced.err).toBe(0);
      const result = forced.result!;
      expect(result.l2?.status).toBe('success');
      expect(result.l2!.l1BlocksAfterInclusion).toBeLessThanOrEqual(FORCED_INCLUSION_WINDOW);
      // Both nodes derived it into the same block.
      const at = await Promise.all(
        urls.map((u) => until('the forced tx', () => receiptAt(u, result.hash).then((r) => r ?? undefined))),
      );
      expect(at[1].blockHash).toBe(at[0].blockHash);
    }, 120_000);
  });
}

/**
 * `--posters 1 --preconf`: member 1 certifies outputs and serves RPC but has no L1 key (it forwards
 * txs to member 0); member 0 opts in to preconfirmations (inclusion promises). Outputs of its share of
 * the blocks (odd heights) are never its own to post; a withdrawal in the head block must not wait
 * for it, so member 0 takes the head over after the grace.
 */
describe('devnet --nodes 2 --election based --posters 1 --preconf', () => {
  let devnet: DevnetProcess;
  let urls: string[];
  let contracts: Record<string, Hex>;
  let l1Rpc: string;

  beforeAll(async () => {
    const started = await startOpenDevnet('based', 2, ['--posters', '1', '--preconf']);
    devnet = started.devnet;
    expect(started.info.nodes.map((n) => n.posts)).toEqual([true, false]);
    expect(started.info.nodes.map((n) => n.preconfirms)).toEqual([true, false]);
    urls = started.info.nodes.map((n) => n.rpc);
    contracts = started.info.l1.contracts;
    l1Rpc = started.info.l1.rpc;
  }, 240_000);
  afterAll(async () => {
    await devnet?.stop();
  });

  it('a node without an L1 key forwards txs to one that posts; a head in its share still gets its output on L1', async () => {
    const sender = devAccounts(10)[7];
    const tx = (nonce: bigint) =>
      signFeeMarketTx(sender.privateKey, { nonce, gas: 21_000n, maxFee: 10n ** 10n, maxTip: 1n, value: 1n });
    expect((await status(urls[1])).open.submitter).toBeNull();
    // Bad input is refused on the keyless node itself, with geth's words, and never forwarded.
    const bad = (
      await rpcCall(urls[1], { jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: ['0x02c0'] })
    ).json as { error?: { code: number; message: string } };
    expect(bad.error).toEqual({ code: -32000, message: 'rlp: too few elements for types.DynamicFeeTx' });
    // The keyless node forwards (the devnet's --sequencer-rpc): the tx is posted by node 0.
    const forwarded = await send(urls[1], tx(0n));
    const first = await until(
      `receipt of the forwarded ${forwarded}`,
      () => receiptAt(urls[0], forwarded).then((x) => x ?? undefined),
      90_000,
    );
    let head = Number(BigInt(first.blockNumber));
    // One tx a block (one batch each, nothing else posts): send until the head is odd, member 1's.
    for (let nonce = 1n; head % 2 === 0; nonce++) {
      const hash = await send(urls[0], tx(nonce));
      const r = await until(
        `receipt of ${hash}`,
        () => receiptAt(urls[0], hash).then((x) => x ?? undefined),
        90_000,
      );
      head = Number(BigInt(r.blockNumber));
      expect(nonce).toBeLessThan(5n);
    }
    expect((await status(urls[0])).head).toBe(head);
    // Only member 0 posts, and member 1 owns the head: the output comes from member 0's takeover.
    const output = await until(
      `an output of block ${head} on L1`,
      async () => {
        const latest = await latestOutputOnL1(l1Rpc, contracts.StateOracle);
        return latest && latest.l2Block >= BigInt(head) ? latest : undefined;
      },
      90_000,
    );
    expect(output.l2Block).toBe(BigInt(head));
    const s1 = await status(urls[1]);
    expect((s1.open.outputs as { signed: number }).signed).toBeGreaterThan(0);
    const pub = createPublicClient({ transport: http(l1Rpc) });
    expect(await pub.getTransactionCount({ address: memberL1Account(1).address })).toBe(0);
  }, 240_000);

  it("the opted-in poster's inclusion promise: signed by its L1 key, verifiable offline, kept on L1 by the deadline", async () => {
    const sender = devAccounts(10)[8];
    const fields = { nonce: 0n, gas: 21_000n, maxFee: 10n ** 10n, maxTip: 1n, value: 5n };
    const raw = signFeeMarketTx(sender.privateKey, fields);
    // Not yet in a batch of node 0's: nothing promised yet (null, as a committee answers before its QC).
    const unknown = `0x${'ab'.repeat(32)}` as Hex;
    expect(await preconf(urls[0], unknown)).toMatchObject({ result: null });
    // No commit proofs here (L1 orders): the push of committed blocks is refused, with what to use.
    const ws = await WsRpc.connect(urls[0].replace('http', 'ws'));
    await expect(ws.subscribe('preconfirmations', () => {})).rejects.toMatchObject({
      code: -32000,
      message:
        'this node holds no commit proofs (the chain is derived from L1 here): subscribe on a sequencer or committee member; for a based inclusion promise, call seqnet_getPreconfirmation',
    });
    ws.close();
    const sentAt = Date.now();
    const h = await send(urls[0], raw);
    // Promised on arrival (the pool holds no other promised tx): no wait for a batch.
    const promise = (await preconf(urls[0], h)).result;
    if (!promise) throw new Error(`node 0 has no promise for ${h} right after accepting it`);
    const promisedMs = Date.now() - sentAt;
    // Its sender cannot swap the promised tx for another (ten times the fees): the pool keeps it.
    // Asked at once, while the tx is still in the pool (its batch not derived yet).
    const swap = { ...fields, maxFee: 10n ** 11n, maxTip: 10n, value: 6n };
    expect((await sendRaw(urls[0], signFeeMarketTx(sender.privateKey, swap))).error).toEqual({
      code: -32000,
      message: `replacement transaction refused: ${h} (nonce 0) is promised for inclusion by this node; wait for it on L2 or send the next nonce`,
    });
    expect(promise).toMatchObject({
      kind: 'inclusion',
      transactionHash: h,
      poster: memberL1Account(0).address,
    });
    expect(BigInt(promise.deadlineL1Block) - BigInt(promise.issuedAtL1Block)).toBe(INCLUSION_PROMISE_WINDOW);
    expect(promise.inbox.toLowerCase()).toBe(contracts.Inbox.toLowerCase());
    expect(await verifyInclusionPromise(promise)).toBe(true);
    expect(await verifyInclusionPromise({ ...promise, deadlineL1Block: '0x1' })).toBe(false);
    // The receipt comes once L1 holds the batch and it is derived: later than the promise.
    const receipt = await until(
      `receipt of ${h}`,
      () => receiptAt(urls[0], h).then((x) => x ?? undefined),
      90_000,
    );
    const receiptMs = Date.now() - sentAt;
    expect(receiptMs).toBeGreaterThan(promisedMs);
    const after = await preconf(urls[0], h);
    expect(after.result?.included).toEqual({
      blockNumber: receipt.blockNumber,
      blockHash: receipt.blockHash,
      transactionIndex: receipt.transactionIndex,
    });
    // Kept, by L1 alone: a batch from the poster carries the tx at or below the deadline.
    const pub = createPublicClient({ transport: http(l1Rpc) });
    const outcome = await checkInclusionPromise(pub, openInboxArtifact().abi as Abi, promise);
    expect(outcome.status).toBe('kept');
    if (outcome.status !== 'kept') throw new Error('not kept');
    expect(outcome.l1Block).toBeLessThanOrEqual(BigInt(promise.deadlineL1Block));
    expect(outcome.l1Block).toBeGreaterThanOrEqual(BigInt(promise.issuedAtL1Block));
    const carrier = await pub.getTransaction({ hash: outcome.l1Tx });
    expect(carrier.from.toLowerCase()).toBe(memberL1Account(0).address.toLowerCase());
    // A promise the poster signed for a tx it never carried is broken once its deadline has passed.
    const unkept = new InclusionPromises({
      key: memberL1Account(0).privateKey,
      l2ChainId: BigInt(promise.l2ChainId),
      l1ChainId: BigInt(promise.l1ChainId),
      inbox: promise.inbox,
    });
    unkept.promise([unknown], 1n);
    const forged = await unkept.get(unknown);
    if (!forged) throw new Error('no promise');
    expect(await verifyInclusionPromise(forged)).toBe(true);
    expect((await checkInclusionPromise(pub, openInboxArtifact().abi as Abi, forged)).status).toBe('broken');
    // `seqnet check-promise`, as a user without a node: kept (exit 0), broken or not the poster's (exit 2),
    // not a promise (exit 1).
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-promise-'));
    const file = (name: string, json: unknown) => {
      writeFileSync(join(dir, name), JSON.stringify(json));
      return join(dir, name);
    };
    const check = (f: string) => runSeqnet(['check-promise', '--l1-rpc', l1Rpc, '--promise', f]);
    const [ok, broken, notTheirs, notAPromise] = await Promise.all([
      check(file('kept.json', after.result)),
      check(file('broken.json', forged)),
      check(file('other.json', { ...promise, poster: memberL1Account(1).address })),
      check(file('proof.json', { proof: {} })),
    ]);
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ status: 'kept', signature: 'valid', l1Tx: outcome.l1Tx });
    expect(broken.code).toBe(2);
    expect(JSON.parse(broken.out)).toMatchObject({ status: 'broken' });
    expect(broken.err).toContain(`no batch from ${memberL1Account(0).address} carried the tx to L1`);
    expect(notTheirs.code).toBe(2);
    expect(notTheirs.err).toContain('the signature is not the poster’s');
    expect(notAPromise.code).toBe(1);
    expect(notAPromise.err).toContain('is not an inclusion promise');
    // The node without an L1 key does not preconfirm, and says where a promise comes from.
    expect((await preconf(urls[1], h)).error).toEqual({
      code: -32000,
      message:
        'this based node does not preconfirm: L1 order decides, and a tx is final with the L1 batch that carries it (eth_getTransactionReceipt); for an early promise ask a node that opted in (seqnet node --preconf)',
    });
    expect((await preconf(urls[1], 'nope' as Hex)).error?.code).toBe(-32602);
    expect((await status(urls[0])).open.submitter.promised).toBeGreaterThan(0);
    const metrics = await (await fetch(`${urls[0]}/metrics`)).text();
    expect(Number(/^seqnet_preconf_promises_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(await (await fetch(`${urls[1]}/metrics`)).text()).not.toContain('seqnet_preconf_promises_total');
  }, 240_000);

  it('a promise survives its submitter being killed: restarted, node 0 serves it again and its batch keeps it', async () => {
    const info = JSON.parse(readFileSync(join(devnet.dataDir, 'devnet.json'), 'utf8')) as {
      nodes: Array<{ pid: number }>;
    };
    const pid = info.nodes[0].pid;
    // The node as the devnet started it: its command line and environment (its L1 key).
    const { argv, env } = processLaunch(pid);
    const sender = devAccounts(10)[9];
    const tx = (nonce: bigint) =>
      signFeeMarketTx(sender.privateKey, { nonce, gas: 21_000n, maxFee: 10n ** 10n, maxTip: 1n, value: 7n });
    // A first tx, until its promise is served: the submitter has read the L1's chain id and promises on arrival.
    const first = await send(urls[0], tx(0n));
    await until(`node 0's promise for ${first}`, () =>
      preconf(urls[0], first).then((r) => r.result ?? undefined),
    );
    await until(`receipt of ${first}`, () => receiptAt(urls[0], first).then((x) => x ?? undefined), 90_000);
    const h = await send(urls[0], tx(1n));
    const promise = (await preconf(urls[0], h)).result;
    if (!promise) throw new Error(`node 0 has no promise for ${h}`);
    // Killed within its 500 ms gathering wait: the batch that would carry the tx is not posted yet.
    process.kill(pid, 'SIGKILL');
    await until(`node 0 (pid ${pid}) gone`, async () => {
      try {
        process.kill(pid, 0);
        return undefined;
      } catch {
        return true;
      }
    });
    const killedAt = Date.now();
    const restarted = spawn(argv[0], argv.slice(1), { env, stdio: 'ignore' });
    try {
      await waitForRpc(urls[0], 120_000);
      const restartMs = Date.now() - killedAt;
      // The promised tx is back in the pool and bound from the first request on, though the submitter
      // is still starting (libp2p for the output signers): its sender cannot swap it for another.
      const swap = signFeeMarketTx(sender.privateKey, {
        nonce: 1n,
        gas: 21_000n,
        maxFee: 2n * 10n ** 10n,
        maxTip: 2n,
        value: 8n,
      });
      const swapped = await sendRaw(urls[0], swap);
      expect(swapped.result).toBeUndefined();
      // (Had its batch reached L1 before the kill, the tx is in the chain already: nonce too low.)
      expect(swapped.error?.message).toMatch(/is promised for inclusion by this node|nonce too low/);
      // Served again as soon as the RPC answers (the submitter reads its journal as it starts, and a
      // query waits for that), and a tx sent now is promised too: no null while the node starts.
      const again = (await preconf(urls[0], h)).result;
      if (!again) throw new Error(`node 0 has no promise for ${h} right after the restart`);
      const next = await send(urls[0], tx(2n));
      expect((await preconf(urls[0], next)).result).toMatchObject({
        kind: 'inclusion',
        transactionHash: next,
      });
      expect(again).toMatchObject({ ...promise, included: again.included });
      expect(again.signature).toBe(promise.signature);
      const receipt = await until(
        `receipt of ${h} after the restart`,
        () => receiptAt(urls[0], h).then((x) => x ?? undefined),
        90_000,
      );
      expect(receipt.blockNumber).toBeDefined();
      const outcome = await checkInclusionPromise(
        createPublicClient({ transport: http(l1Rpc) }),
        openInboxArtifact().abi as Abi,
        promise,
      );
      // The devnet's window is 12 one-second L1 blocks; on Ethereum it is 2.4 minutes. A restart that
      // took longer than the window here may miss it: then the promise is broken, and says so.
      const windowMs = Number(INCLUSION_PROMISE_WINDOW) * 1_000;
      if (restartMs < windowMs / 2) expect(outcome.status).toBe('kept');
      else expect(['kept', 'broken']).toContain(outcome.status);
    } finally {
      restarted.kill('SIGINT');
      await new Promise((r) => restarted.once('exit', r));
    }
  }, 240_000);
});
