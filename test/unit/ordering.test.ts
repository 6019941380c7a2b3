import { describe, expect, it } from 'vitest';
import type { PoolTx } from '../../src/mempool/pool-tx.js';
import { fcfs } from '../../src/ordering/fcfs.js';
import { priorityFee } from '../../src/ordering/priority-fee.js';
import type { Hex } from '../../src/util/bytes.js';

let arrival = 0;
function tx(sender: string, nonce: number, tip: bigint, gas = 21000n): PoolTx {
  return {
    tx: undefined as never,
    raw: new Uint8Array(100),
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
