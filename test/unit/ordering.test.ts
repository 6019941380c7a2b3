import { describe, expect, it } from 'vitest';
import type { PoolTx } from '../../src/mempool/pool-tx.js';
import { fcfs } from '../../src/ordering/fcfs.js';
import { priorityFee } from '../../src/ordering/priority-fee.js';
import { promisedFirst } from '../../src/ordering/promised-first.js';
import type { Hex } from '../../src/util/bytes.js';

let arrival = 0;
function tx(sender: string, nonce: number, tip: bigint, gas = 21000n, bytes = 100): PoolTx {
  return {
    tx: undefined as never,
    raw: new Uint8Array(bytes),
    hash: `0x${sender}${nonce}` as Hex,
    sender: sender as Hex,
    nonce: BigInt(nonce),
    gasLimit: gas,
    maxFee: 100n + tip,
    maxTip: tip,
    cost: gas * (100n + tip),
    arrival: arrival++,
    addedAt: 0,
  };
}
const ctx = { baseFee: 100n, gasLimit: 30_000_000n, maxBytes: 1_000_000, maxTxs: 1000 };
const ids = (txs: PoolTx[]) => txs.map((t) => `${t.sender}${t.nonce}`);

describe('ordering policies', () => {
  it('fcfs follows arrival and keeps each sender in nonce order', () => {
    const a0 = tx('a', 0, 1n);
    const b0 = tx('b', 0, 50n);
    const a1 = tx('a', 1, 99n);
    expect(ids(fcfs.order([[a0, a1], [b0]], ctx))).toEqual(['a0', 'b0', 'a1']);
  });

  it('priority-fee takes the highest effective tip first, never breaking nonce order', () => {
    const a0 = tx('a', 0, 1n);
    const a1 = tx('a', 1, 99n);
    const b0 = tx('b', 0, 50n);
    const c0 = tx('c', 0, 60n);
    expect(ids(priorityFee.order([[a0, a1], [b0], [c0]], ctx))).toEqual(['c0', 'b0', 'a0', 'a1']);
  });

  it('stops a sender whose next tx does not fit, and skips txs below the base fee', () => {
    const small = { ...ctx, gasLimit: 100_000n };
    const big = tx('a', 0, 10n, 60_000n);
    const a1 = tx('a', 1, 10n, 50_000n);
    const b0 = tx('b', 0, 5n);
    const b1 = tx('b', 1, 5n);
    const cheap = { ...tx('c', 0, 0n), maxFee: 99n };
    const out = fcfs.order([[big, a1], [b0, b1], [cheap]], small);
    expect(ids(out)).toEqual(['a0', 'b0']);
    expect(out.reduce((g, t) => g + t.gasLimit, 0n)).toBeLessThanOrEqual(small.gasLimit);
  });
});

const promised = (...txs: PoolTx[]) => new Set(txs.map((t) => t.hash));

describe('promisedFirst: a based submitter carries the txs it promised on arrival', () => {
  it('puts promised txs, with their senders’ txs before them, ahead of what the policy prefers', () => {
    const a0 = tx('a', 0, 1n);
    const a1 = tx('a', 1, 1n);
    const a2 = tx('a', 2, 99n);
    const b0 = tx('b', 0, 90n);
    const c0 = tx('c', 0, 50n);
    // a1 is promised: a0 must come with it (nonce order); a2 and the others are the policy's.
    const out = promisedFirst([[a0, a1, a2], [b0], [c0]], promised(a1), priorityFee, ctx);
    expect(ids(out)).toEqual(['a0', 'a1', 'a2', 'b0', 'c0']);
    // Without promises it is the policy's order alone.
    expect(ids(promisedFirst([[a0, a1, a2], [b0], [c0]], new Set(), priorityFee, ctx))).toEqual(
      ids(priorityFee.order([[a0, a1, a2], [b0], [c0]], ctx)),
    );
  });

  it('carries a promised tx whose fee no longer clears the base fee (the promise is to carry it)', () => {
    const cheap = { ...tx('a', 0, 0n), maxFee: 99n };
    const b0 = tx('b', 0, 10n);
    expect(ids(fcfs.order([[cheap], [b0]], ctx))).toEqual(['b0']);
    expect(ids(promisedFirst([[cheap], [b0]], promised(cheap), fcfs, ctx))).toEqual(['a0', 'b0']);
  });

  it('fills what is left within the limits, and cuts the promised prefixes at a limit without breaking nonce order', () => {
    const a0 = tx('a', 0, 1n, 21000n, 400);
    const a1 = tx('a', 1, 1n, 21000n, 400);
    const b0 = tx('b', 0, 5n, 21000n, 150);
    const c0 = tx('c', 0, 9n, 21000n, 300);
    const small = { ...ctx, maxBytes: 1000 };
    // 800 bytes promised, 200 left: c0 (300) does not fit, b0 (150) does.
    const out = promisedFirst([[a0, a1], [b0], [c0]], promised(a1), priorityFee, small);
    expect(ids(out)).toEqual(['a0', 'a1', 'b0']);
    expect(out.reduce((n, t) => n + t.raw.length, 0)).toBeLessThanOrEqual(small.maxBytes);
    // Two txs at most: the promised prefix a0, a1 fills it; b0 waits for the next batch.
    expect(ids(promisedFirst([[a0, a1], [b0]], promised(a1, b0), fcfs, { ...ctx, maxTxs: 2 }))).toEqual([
      'a0',
      'a1',
    ]);
    // Gas: a sender's prefix is cut where the next tx would pass the limit, and nothing follows it.
    const g0 = tx('g', 0, 1n, 60_000n);
    const g1 = tx('g', 1, 1n, 60_000n);
    const out2 = promisedFirst([[g0, g1], [b0]], promised(g1), fcfs, { ...ctx, gasLimit: 100_000n });
    expect(ids(out2)).toEqual(['g0']);
  });
});
