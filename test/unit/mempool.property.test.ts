import fc from 'fast-check';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RpcError } from '../../src/errors.js';
import { createChainCommon } from '../../src/execution/executor.js';
import { devAccounts } from '../../src/execution/genesis.js';
import { type AccountReader, Mempool } from '../../src/mempool/mempool.js';
import { type MempoolOptions, mempoolDefaults } from '../../src/mempool/options.js';
import { effectiveTip, type PoolTx } from '../../src/mempool/pool-tx.js';
import { decodeAndCheck } from '../../src/mempool/validate.js';
import { type Hex, keccak256, toHex } from '../../src/util/bytes.js';
import { signFeeMarketTx } from '../helpers/raw-tx.js';

const common = createChainCommon(42069n);
const BASE_FEE = 100n;
const GAS = 21_000n;
/** Small limits, so that short random runs hit every one of them. */
const options: MempoolOptions = {
  ...mempoolDefaults,
  maxPendingPerSender: 4,
  maxQueuedPerSender: 3,
  maxPending: 7,
  maxQueued: 5,
  queuedLifetimeMs: 10_000,
  priceBumpPercent: 10,
};
const accounts = devAccounts(4);
const keys = accounts.map((a) => a.privateKey);
const senders = accounts.map((a) => a.address.toLowerCase() as Hex);
/** The last sender can pay for one tx at a fee of 150 but not at 200: insufficient funds happen. */
const balances = [10n ** 18n, 10n ** 18n, 10n ** 18n, GAS * 150n];

/** The account state the pool reads; the test moves nonces on as blocks "include" txs. */
class FakeChain implements AccountReader {
  readonly nonces = new Map<Hex, bigint>();
  nonceOf(a: Hex): bigint {
    return this.nonces.get(a) ?? 0n;
  }
  async nonceAndBalance(a: Hex): Promise<{ nonce: bigint; balance: bigint }> {
    return { nonce: this.nonceOf(a), balance: balances[senders.indexOf(a)] };
  }
}

const signed = new Map<string, Uint8Array>();
function rawTx(sender: number, nonce: bigint, maxFee: bigint, maxTip: bigint): Uint8Array {
  const id = `${sender}:${nonce}:${maxFee}:${maxTip}`;
  let raw = signed.get(id);
  if (!raw) {
    raw = signFeeMarketTx(keys[sender], { nonce, gas: GAS, maxFee, maxTip });
    signed.set(id, raw);
  }
  return raw;
}

type Op =
  | { kind: 'add'; sender: number; nonceOffset: number; maxFee: bigint; maxTip: bigint }
  | { kind: 'block'; sender: number; included: number; external: number; skip: number[] }
  | { kind: 'remove'; pick: number }
  | { kind: 'expire'; advanceMs: number };

const senderIdx = fc.integer({ min: 0, max: senders.length - 1 });
/** Fee steps around the 10 % bump (100 → 110 is exactly enough, 105 is not), plus one below the base fee. */
const maxFee = fc.constantFrom(90n, 100n, 105n, 110n, 121n, 150n, 200n, 300n);
const maxTip = fc.constantFrom(0n, 5n, 10n, 11n, 12n, 20n, 50n, 95n);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      sender: senderIdx,
      nonceOffset: fc.integer({ min: -2, max: 7 }),
      maxFee,
      maxTip,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('block' as const),
      sender: senderIdx,
      included: fc.integer({ min: 0, max: 4 }),
      external: fc.constantFrom(0, 0, 0, 1, 3),
      skip: fc.array(fc.nat(), { maxLength: 2 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('expire' as const),
      advanceMs: fc.integer({ min: 0, max: 8_000 }),
    }),
  },
);

/** geth's txpool messages, and which condition each one claims. */
const MESSAGES = [
  /^already known$/,
  /^replacement transaction underpriced$/,
  /^nonce too low: next nonce \d+, tx nonce \d+$/,
  /^account limit exceeded$/,
  /^txpool is full$/,
  /^insufficient funds for gas \* price \+ value: /,
  /^max fee per gas less than block base fee: address 0x[0-9a-f]{40}, maxFeePerGas: \d+, baseFee: \d+$/,
  /^max priority fee per gas higher than max fee per gas$/,
];

const allTxs = (pool: Mempool): PoolTx[] => pool.inspect().flatMap((s) => [...s.pending, ...s.queued]);
const hashes = (pool: Mempool): Set<Hex> => new Set(allTxs(pool).map((t) => t.hash));
const bumped = (next: bigint, old: bigint) => next * 100n >= old * BigInt(100 + options.priceBumpPercent);

/**
 * What holds after every operation. `strict`: also the queued limits, which hold as long as no pending
 * tx is removed from the middle of a sender's list (see the known-bug tests below).
 */
function checkInvariants(pool: Mempool, chain: FakeChain, strict: boolean): void {
  let pending = 0;
  let queued = 0;
  const seen = new Set<Hex>();
  for (const s of pool.inspect()) {
    expect(s.stateNonce).toBe(chain.nonceOf(s.sender));
    // Gap-free pending from the account nonce.
    s.pending.forEach((t, i) => {
      expect(t.nonce).toBe(s.stateNonce + BigInt(i));
    });
    const next = s.stateNonce + BigInt(s.pending.length);
    for (const t of s.queued) {
      expect(t.nonce).toBeGreaterThanOrEqual(next);
      // Anything contiguous is promoted, unless the sender's pending list is full.
      if (t.nonce === next) expect(s.pending.length).toBe(options.maxPendingPerSender);
    }
    expect(s.pending.length).toBeLessThanOrEqual(options.maxPendingPerSender);
    if (strict) expect(s.queued.length).toBeLessThanOrEqual(options.maxQueuedPerSender);
    for (const t of [...s.pending, ...s.queued]) {
      expect(t.sender).toBe(s.sender);
      expect(seen.has(t.hash)).toBe(false);
      seen.add(t.hash);
      expect(pool.get(t.hash)).toBe(t);
    }
    expect(pool.pendingNonce(s.sender, 0n)).toBe(next);
    pending += s.pending.length;
    queued += s.queued.length;
  }
  expect(pool.pendingCount).toBe(pending);
  expect(pool.queuedCount).toBe(queued);
  // Pending alone may pass maxPending when a gap fills and queued txs are promoted: see the known bugs.
  if (strict) expect(pool.queuedCount).toBeLessThanOrEqual(options.maxQueued);
  expect(
    pool
      .candidates()
      .flat()
      .map((t) => t.hash)
      .sort(),
  ).toEqual(
    pool
      .inspect()
      .flatMap((s) => s.pending.map((t) => t.hash))
      .sort(),
  );
}

async function applyAdd(pool: Mempool, chain: FakeChain, o: Extract<Op, { kind: 'add' }>): Promise<void> {
  const sender = senders[o.sender];
  const stateNonce = chain.nonceOf(sender);
  const nonce = stateNonce + BigInt(o.nonceOffset) < 0n ? 0n : stateNonce + BigInt(o.nonceOffset);
  const raw = rawTx(o.sender, nonce, o.maxFee, o.maxTip);
  const hash = toHex(keccak256(raw));
  const before = allTxs(pool);
  const beforeHashes = new Set(before.map((t) => t.hash));
  const existing = before.find((t) => t.sender === sender && t.nonce === nonce);
  const entry = pool.inspect().find((s) => s.sender === sender);
  const senderPending = entry?.pending.length ?? 0;
  const senderQueued = entry?.queued.length ?? 0;
  const takesPendingSlot = nonce === (entry?.stateNonce ?? stateNonce) + BigInt(senderPending);
  const pendingBefore = pool.pendingCount;
  const queuedBefore = pool.queuedCount;
  // What makeRoom may evict: each other sender's last tx of the kind of slot the newcomer takes.
  const evictable = pool
    .inspect()
    .filter((e) => e.sender !== sender)
    .map((e) => (takesPendingSlot ? e.pending : e.queued).at(-1))
    .filter((t): t is PoolTx => t !== undefined);
  const newTip = o.maxFee - BASE_FEE < o.maxTip ? o.maxFee - BASE_FEE : o.maxTip;
  const cost = GAS * o.maxFee;
  let outcome: { hash: Hex; status: 'pending' | 'queued' } | undefined;
  let error: unknown;
  try {
    outcome = await pool.add(raw);
  } catch (err) {
    error = err;
  }
  if (error !== undefined) {
    if (!(error instanceof RpcError)) throw error;
    expect(error.code).toBe(-32000);
    const known = MESSAGES.findIndex((m) => m.test(error.message));
    expect(known, `unexpected message "${error.message}"`).toBeGreaterThanOrEqual(0);
    // A rejection leaves the pool exactly as it was.
    expect(hashes(pool)).toEqual(beforeHashes);
    const m = error.message;
    if (m === 'already known') expect(beforeHashes.has(hash)).toBe(true);
    if (m.startsWith('nonce too low')) expect(nonce).toBeLessThan(stateNonce);
    if (m.startsWith('insufficient funds')) {
      // geth's rule: the tx, plus everything else the sender has pooled (a replacement only adds its bump).
      const pooled = pool.inspect().find((e) => e.sender === sender);
      const others = [...(pooled?.pending ?? []), ...(pooled?.queued ?? [])]
        .filter((t) => t !== existing)
        .reduce((sum, t) => sum + t.cost, 0n);
      expect(balances[o.sender]).toBeLessThan(others + cost);
    }
    if (m.startsWith('max fee per gas less')) expect(o.maxFee).toBeLessThan(BASE_FEE);
    if (m.startsWith('max priority fee')) expect(o.maxTip).toBeGreaterThan(o.maxFee);
    if (m === 'replacement transaction underpriced') {
      expect(existing).toBeDefined();
      expect(bumped(o.maxFee, existing!.maxFee) && bumped(o.maxTip, existing!.maxTip)).toBe(false);
    }
    if (m === 'account limit exceeded') {
      expect(existing).toBeUndefined();
      if (takesPendingSlot) expect(senderPending).toBeGreaterThanOrEqual(options.maxPendingPerSender);
      else expect(senderQueued).toBeGreaterThanOrEqual(options.maxQueuedPerSender);
    }
    if (m === 'txpool is full') {
      // The pool was full for this kind of slot, and no other sender had a cheaper tx to evict.
      expect(existing).toBeUndefined();
      const poolFull = pendingBefore + queuedBefore >= options.maxPending + options.maxQueued;
      if (takesPendingSlot) expect(pendingBefore >= options.maxPending || poolFull).toBe(true);
      else expect(queuedBefore >= options.maxQueued || poolFull).toBe(true);
      for (const c of evictable) expect(effectiveTip(c, BASE_FEE)).toBeGreaterThanOrEqual(newTip);
    }
    return;
  }
  // Accepted: every stateless and stateful check passed.
  expect(outcome!.hash).toBe(hash);
  expect(beforeHashes.has(hash)).toBe(false);
  expect(nonce).toBeGreaterThanOrEqual(stateNonce);
  expect(o.maxFee).toBeGreaterThanOrEqual(BASE_FEE);
  expect(o.maxTip).toBeLessThanOrEqual(o.maxFee);
  expect(balances[o.sender]).toBeGreaterThanOrEqual(cost);
  const after = pool.inspect().find((s) => s.sender === sender)!;
  const where = after.pending.some((t) => t.hash === hash) ? 'pending' : 'queued';
  expect(after.queued.some((t) => t.hash === hash) || where === 'pending').toBe(true);
  expect(outcome!.status).toBe(where);
  const gone = before.filter((t) => !pool.has(t.hash));
  if (existing) {
    // A replacement must raise both fee fields by the bump, and takes the old tx's place.
    expect(bumped(o.maxFee, existing.maxFee)).toBe(true);
    expect(bumped(o.maxTip, existing.maxTip)).toBe(true);
    expect(gone).toEqual([existing]);
  } else {
    // A new nonce takes a slot within the sender's limit; when the pool is full for that kind of slot,
    // exactly one tx goes: another sender's last one of that kind, paying less.
    if (takesPendingSlot) expect(senderPending).toBeLessThan(options.maxPendingPerSender);
    else expect(senderQueued).toBeLessThan(options.maxQueuedPerSender);
    const poolFull = pendingBefore + queuedBefore >= options.maxPending + options.maxQueued;
    const full =
      poolFull ||
      (takesPendingSlot ? pendingBefore >= options.maxPending : queuedBefore >= options.maxQueued);
    expect(gone.length).toBe(full ? 1 : 0);
    for (const victim of gone) {
      expect(evictable).toContain(victim);
      expect(effectiveTip(victim, BASE_FEE)).toBeLessThan(newTip);
      expect(Math.min(...evictable.map((c) => Number(effectiveTip(c, BASE_FEE))))).toBe(
        Number(effectiveTip(victim, BASE_FEE)),
      );
    }
  }
}

function applyBlock(pool: Mempool, chain: FakeChain, o: Extract<Op, { kind: 'block' }>): void {
  const sender = senders[o.sender];
  const entry = pool.inspect().find((s) => s.sender === sender);
  const included = Math.min(o.included, entry?.pending.length ?? 0);
  // `external`: the nonce also moves for txs the pool never saw (another node's block, an L1 deposit).
  const newNonce = chain.nonceOf(sender) + BigInt(included + o.external);
  const before = allTxs(pool);
  const inspectBefore = pool.inspect();
  const skipped = before.length ? o.skip.map((i) => before[i % before.length].hash) : [];
  chain.nonces.set(sender, newNonce);
  pool.onBlock(new Map(included + o.external > 0 ? [[sender, newNonce]] : []), skipped);
  const removed = before.filter((t) => skipped.includes(t.hash));
  const snapshot = inspectBefore;
  for (const t of before) {
    const shouldGo = skipped.includes(t.hash) || (t.sender === sender && t.nonce < newNonce);
    if (shouldGo) expect(pool.has(t.hash)).toBe(false);
    // No loss: a tx that was neither included, replaced nor skipped is still in the pool, unless it
    // was demoted behind a removed tx into a full queue (geth's truncateQueue drops those).
    else if (!pool.has(t.hash)) expect(droppedByDemotion(snapshot, t, removed)).toBe(true);
  }
}

/**
 * A pending tx that loses its predecessor goes to the queue; when that overflows the queued limits,
 * the sender's highest nonces are dropped (geth's truncateQueue). `before` is the pool before the step.
 */
function droppedByDemotion(before: ReturnType<Mempool['inspect']>, t: PoolTx, removed: PoolTx[]): boolean {
  // Pending txs behind the lowest removed pending tx of each sender are demoted.
  const demotedOf = (s: ReturnType<Mempool['inspect']>[number]): number => {
    const first = removed
      .filter((r) => s.pending.includes(r))
      .sort((a, b) => (a.nonce < b.nonce ? -1 : 1))[0];
    return first ? s.pending.filter((p) => p.nonce > first.nonce).length : 0;
  };
  const mine = before.find((s) => s.sender === t.sender);
  if (!mine || demotedOf(mine) === 0 || !removed.some((r) => r.sender === t.sender && r.nonce < t.nonce))
    return false;
  const queuedBefore = before.reduce((n, s) => n + s.queued.length, 0);
  const demotedTotal = before.reduce((n, s) => n + demotedOf(s), 0);
  return (
    mine.queued.length + demotedOf(mine) > options.maxQueuedPerSender ||
    queuedBefore + demotedTotal > options.maxQueued
  );
}

function applyRemove(pool: Mempool, o: Extract<Op, { kind: 'remove' }>): void {
  const before = allTxs(pool);
  if (before.length === 0) return;
  const victim = before[o.pick % before.length];
  const snapshot = pool.inspect();
  pool.removeTx(victim);
  expect(pool.has(victim.hash)).toBe(false);
  for (const t of before) {
    if (t !== victim && !pool.has(t.hash)) expect(droppedByDemotion(snapshot, t, [victim])).toBe(true);
  }
}

function applyExpire(pool: Mempool, clock: { now: number }, o: Extract<Op, { kind: 'expire' }>): void {
  clock.now += o.advanceMs;
  const before = pool.inspect();
  const stale = before
    .flatMap((s) => s.queued)
    .filter((t) => clock.now - t.addedAt > options.queuedLifetimeMs);
  const dropped = pool.expireQueued(clock.now);
  expect(dropped).toBe(stale.length);
  for (const t of before.flatMap((s) => [...s.pending, ...s.queued])) {
    expect(pool.has(t.hash)).toBe(!stale.includes(t));
  }
}

describe('Mempool model test', () => {
  const clock = { now: 1_700_000_000_000 };
  beforeEach(() => {
    vi.spyOn(Date, 'now').mockImplementation(() => clock.now);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const run = (ops: Op[], strict: boolean) => async () => {
    const chain = new FakeChain();
    const pool = new Mempool(options, {
      common,
      accounts: chain,
      baseFee: () => BASE_FEE,
      blockGasLimit: 30_000_000n,
      logger: pino({ level: 'silent' }),
    });
    for (const o of ops) {
      clock.now += 100;
      if (o.kind === 'add') await applyAdd(pool, chain, o);
      else if (o.kind === 'block') applyBlock(pool, chain, o);
      else if (o.kind === 'remove') applyRemove(pool, o);
      else applyExpire(pool, clock, o);
      checkInvariants(pool, chain, strict);
    }
  };

  it('keeps its invariants under random adds, blocks, skips, removals and expiry', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 60, size: 'max' }), (ops) =>
        run(ops, false)(),
      ),
      { numRuns: 150 },
    );
  });

  it('stays within the queued limits while no pending tx leaves mid-list', async () => {
    const noDemotion = op.map((o): Op => {
      if (o.kind === 'remove') return { kind: 'expire', advanceMs: o.pick % 8_000 };
      if (o.kind === 'block') return { ...o, skip: [] };
      return o;
    });
    await fc.assert(
      fc.asyncProperty(fc.array(noDemotion, { minLength: 10, maxLength: 60, size: 'max' }), (ops) =>
        run(ops, true)(),
      ),
      { numRuns: 150 },
    );
  });
});

/** Regression cases for bugs the model test found, each as the smallest deterministic case (geth's behaviour). */
describe('Mempool: regressions', () => {
  const tx = (sender: number, nonce: number, maxFee = 200n, maxTip = 10n) =>
    rawTx(sender, BigInt(nonce), maxFee, maxTip);
  const makePool = (accounts: AccountReader = new FakeChain(), persist?: (t: PoolTx) => Promise<void>) =>
    new Mempool(options, {
      common,
      accounts,
      baseFee: () => BASE_FEE,
      blockGasLimit: 30_000_000n,
      logger: pino({ level: 'silent' }),
      ...(persist ? { persist } : {}),
    });

  it('removing a pending tx mid-list must not push queued past its limits', async () => {
    const pool = makePool();
    for (const n of [0, 1, 2, 3, 5, 6, 7]) await pool.add(tx(0, n));
    expect(pool.queuedCount).toBe(3);
    // A skipped (or otherwise removed) first tx demotes the other three: 6 queued for one sender.
    pool.removeTx(pool.inspect()[0].pending[0]);
    const [s] = pool.inspect();
    expect(s.queued.length).toBeLessThanOrEqual(options.maxQueuedPerSender);
    expect(pool.queuedCount).toBeLessThanOrEqual(options.maxQueued);
  });

  it('the same bytes again are refused as already known before they are decoded (as geth)', async () => {
    const decoded: Uint8Array[] = [];
    const pool = new Mempool(options, {
      common,
      accounts: new FakeChain(),
      baseFee: () => BASE_FEE,
      blockGasLimit: 30_000_000n,
      logger: pino({ level: 'silent' }),
      decode: async (raw) => {
        decoded.push(raw);
        return decodeAndCheck(raw, common, options, 30_000_000n);
      },
    });
    await pool.add(tx(0, 0));
    await expect(pool.add(tx(0, 0))).rejects.toThrow(/^already known$/);
    expect(decoded).toHaveLength(1);
    await pool.add(tx(0, 1));
    expect(decoded).toHaveLength(2);
  });

  it('a queued tx that becomes executable is announced as new pending (a committee gossips only those)', async () => {
    const chain = new FakeChain();
    const pool = makePool(chain);
    const announced: Hex[] = [];
    pool.onNewPending((h) => announced.push(h));
    const hash = (n: number) => toHex(keccak256(tx(0, n)));
    await pool.add(tx(0, 1)); // ahead of its nonce: queued, not announced
    expect(announced).toEqual([]);
    await pool.add(tx(0, 0)); // fills the gap: both are executable now
    expect(announced).toEqual([hash(0), hash(1)]);
    // A block that takes nonces 0…2 (nonce 2 came from elsewhere) unblocks the queued nonce 3 only.
    await pool.add(tx(0, 3));
    announced.length = 0;
    chain.nonces.set(senders[0], 3n);
    pool.onBlock(new Map([[senders[0], 3n]]), []);
    expect(announced).toEqual([hash(3)]);
    // Re-queued txs that were executable before are not announced again.
    await pool.add(tx(0, 4));
    announced.length = 0;
    pool.onBlock(new Map([[senders[0], 4n]]), []);
    expect(announced).toEqual([]);
  });

  it('promotion must not let the pool grow past maxPending + maxQueued', async () => {
    const pool = makePool();
    for (const n of [0, 1, 2, 3]) await pool.add(tx(2, n, 200n, 20n)); // pending 4
    for (const n of [0, 1, 2]) await pool.add(tx(1, n, 200n, 5n)); // pending 7: full
    for (const n of [1, 2, 3]) await pool.add(tx(0, n)); // queued 3
    for (const n of [4, 5]) await pool.add(tx(1, n)); // queued 5: full
    // Sender 0 fills its gap (evicting sender 1's cheapest), and its three queued txs are promoted.
    expect((await pool.add(tx(0, 0, 200n, 50n))).status).toBe('pending');
    expect(pool.pendingCount).toBe(10);
    expect(pool.queuedCount).toBe(2);
    // The queue has room again: the pool now takes more txs than it has slots.
    // The pool is full: nothing cheaper to evict, so these are refused instead of growing it.
    for (const n of [5, 6, 7]) await expect(pool.add(tx(2, n))).rejects.toThrow(/^txpool is full$/);
    expect(pool.pendingCount + pool.queuedCount).toBeLessThanOrEqual(options.maxPending + options.maxQueued);
  });

  it("a protected tx (a based submitter's promise) is neither replaced by its sender nor evicted", async () => {
    const hash = (raw: Uint8Array) => toHex(keccak256(raw));
    const fill = async (pool: Mempool) => {
      await pool.add(tx(1, 0, 120n, 5n)); // the cheapest last tx: what a full pool evicts
      for (const n of [0, 1, 2, 3]) await pool.add(tx(2, n, 200n, 20n));
      for (const n of [0, 1]) await pool.add(tx(0, n, 200n, 20n)); // pending 7: full
    };
    const promised = tx(1, 0, 120n, 5n);
    const unprotected = makePool();
    await fill(unprotected);
    await unprotected.add(tx(0, 2, 200n, 50n));
    expect(unprotected.has(hash(promised))).toBe(false);

    const pool = makePool();
    pool.protect((h) => h === hash(promised));
    await fill(pool);
    // A richer newcomer evicts the next cheapest instead (sender 2's last), the promised tx stays.
    await pool.add(tx(0, 2, 200n, 50n));
    expect(pool.has(hash(promised))).toBe(true);
    expect(pool.has(hash(tx(2, 3, 200n, 20n)))).toBe(false);
    // Its sender cannot swap it, even paying far more; another sender's tx is replaced as usual.
    await expect(pool.add(tx(1, 0, 300n, 95n))).rejects.toThrow(
      new RegExp(
        `^replacement transaction refused: ${hash(promised)} \\(nonce 0\\) is promised for inclusion by this node`,
      ),
    );
    expect(pool.get(hash(promised))?.maxTip).toBe(5n);
    await pool.add(tx(2, 2, 300n, 95n));
    expect(pool.has(hash(tx(2, 2, 200n, 20n)))).toBe(false);
    expect(pool.pendingCount).toBe(7);
  });

  it('a rejected add must leave no sender entry behind', async () => {
    const pool = makePool();
    // The last sender cannot pay for this tx: insufficient funds.
    await expect(pool.add(tx(3, 0, 300n))).rejects.toThrow(/^insufficient funds/);
    expect(pool.inspect()).toEqual([]);
  });

  it("a block landing while an add awaits the account read must not strand the sender's next tx", async () => {
    const chain = new FakeChain();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let gated = false;
    const accounts: AccountReader = {
      async nonceAndBalance(a) {
        const read = await chain.nonceAndBalance(a);
        if (gated) await gate;
        return read;
      },
    };
    const pool = makePool(accounts);
    await pool.add(tx(0, 0));
    gated = true;
    // The sender sends nonce 1 while the block with nonce 0 is being sealed: the account read sees nonce 0.
    const adding = pool.add(tx(0, 1));
    await new Promise((r) => setTimeout(r, 0));
    chain.nonces.set(senders[0], 1n);
    pool.onBlock(new Map([[senders[0], 1n]]), []);
    release();
    // Nonce 1 is now the account's next nonce: it is executable, not gapped behind an included tx.
    expect((await adding).status).toBe('pending');
    expect(pool.pendingNonce(senders[0], 1n)).toBe(2n);
  });

  it('a replacement whose persist fails must leave the original tx in the pool', async () => {
    let fail = false;
    const pool = makePool(new FakeChain(), async () => {
      if (fail) throw new Error('disk full');
    });
    const original = await pool.add(tx(0, 0, 200n, 10n));
    fail = true;
    await expect(pool.add(tx(0, 0, 300n, 20n))).rejects.toThrow(/^could not store the transaction/);
    expect(pool.has(original.hash)).toBe(true);
    expect(pool.pendingCount).toBe(1);
  });

  it('txs that together overdraw the balance are rejected at intake, as geth does', async () => {
    const pool = makePool();
    // The last sender holds 21000 × 150 wei: enough for one tx at fee 110, not for two.
    await pool.add(tx(3, 0, 110n, 0n));
    await expect(pool.add(tx(3, 1, 110n, 0n))).rejects.toThrow(
      /^insufficient funds for gas \* price \+ value/,
    );
  });
});
