import type { PoolTx } from '../mempool/pool-tx.js';
import type { OrderingContext, OrderingPolicy } from './policy.js';

/**
 * A batch body that carries `promised` txs first (a `based` submitter's inclusion promises made on
 * arrival, src/batcher/inclusion-promise.ts): each sender's txs up to its last promised one, in nonce
 * order, whatever the policy would make of their fees — the promise is to carry them — then what
 * `policy` picks from the rest within the limits left. When the promised prefixes alone pass a limit
 * the batch is cut there (no sender's nonce order broken) and nothing else is added. Pure.
 */
export function promisedFirst(
  candidates: ReadonlyArray<ReadonlyArray<PoolTx>>,
  promised: ReadonlySet<string>,
  policy: OrderingPolicy,
  ctx: OrderingContext,
): PoolTx[] {
  const first: PoolTx[] = [];
  const rest: PoolTx[][] = [];
  for (const list of candidates) {
    let last = -1;
    for (let i = 0; i < list.length; i++) if (promised.has(list[i].hash)) last = i;
    first.push(...list.slice(0, last + 1));
    if (last + 1 < list.length) rest.push(list.slice(last + 1));
  }
  let bytes = 0;
  let gas = 0n;
  let n = 0;
  for (const t of first) {
    if (n + 1 > ctx.maxTxs || bytes + t.raw.length > ctx.maxBytes || gas + t.gasLimit > ctx.gasLimit) break;
    n++;
    bytes += t.raw.length;
    gas += t.gasLimit;
  }
  if (n < first.length) return first.slice(0, n);
  return [
    ...first,
    ...policy.order(rest, {
      baseFee: ctx.baseFee,
      gasLimit: ctx.gasLimit - gas,
      maxBytes: ctx.maxBytes - bytes,
      maxTxs: ctx.maxTxs - n,
    }),
  ];
}
