import type { PoolTx } from '../mempool/pool-tx.js';
import { Heap } from '../util/heap.js';
import type { OrderingContext } from './policy.js';

/**
 * Merges per-sender nonce-ordered lists by a priority on each list's head, as geth's miner does:
 * nonce order holds within a sender, and a sender whose next tx does not fit or cannot pay the base
 * fee is dropped for this block (its later txs would have a nonce gap).
 */
export function mergeByHead(
  candidates: ReadonlyArray<ReadonlyArray<PoolTx>>,
  ctx: OrderingContext,
  before: (a: PoolTx, b: PoolTx) => boolean,
): PoolTx[] {
  type Cursor = { list: ReadonlyArray<PoolTx>; i: number };
  const heap = new Heap<Cursor>((a, b) => before(a.list[a.i], b.list[b.i]));
  for (const list of candidates) if (list.length > 0) heap.push({ list, i: 0 });
  const out: PoolTx[] = [];
  let gas = 0n;
  let bytes = 0;
  while (heap.size > 0 && out.length < ctx.maxTxs) {
    const cur = heap.pop()!;
    const tx = cur.list[cur.i];
    if (tx.maxFee < ctx.baseFee) continue;
    if (gas + tx.gasLimit > ctx.gasLimit || bytes + tx.raw.length > ctx.maxBytes) continue;
    gas += tx.gasLimit;
    bytes += tx.raw.length;
    out.push(tx);
    if (cur.i + 1 < cur.list.length) heap.push({ list: cur.list, i: cur.i + 1 });
  }
  return out;
}
