import type { PoolTx } from '../../mempool/pool-tx.js';
import { type Hex, quantity as q } from '../../util/bytes.js';
import type { RpcContext, RpcHandler } from '../context.js';
import { formatTx } from '../format.js';
import { address, expectArgs } from '../params.js';

type BySender<T> = Record<string, Record<string, T>>;

/**
 * geth's layout: { pending, queued }, each sender → nonce (decimal) → what `view` makes of the tx;
 * only `from`'s txs when given.
 */
function bySender<T>(
  ctx: RpcContext,
  view: (t: PoolTx) => T,
  from?: Hex,
): { pending: BySender<T>; queued: BySender<T> } {
  const out = { pending: {} as BySender<T>, queued: {} as BySender<T> };
  for (const { sender, pending, queued } of ctx.mempool.inspect()) {
    if (from !== undefined && sender.toLowerCase() !== from) continue;
    for (const [kind, txs] of [
      ['pending', pending],
      ['queued', queued],
    ] as const) {
      if (txs.length === 0) continue;
      out[kind][sender] = Object.fromEntries(txs.map((t) => [t.nonce.toString(), view(t)]));
    }
  }
  return out;
}

/** geth's txpool namespace: what waits in this node's pool (a follower's is always empty). */
export const txpoolMethods: Record<string, RpcHandler> = {
  txpool_status: (p, ctx) => {
    expectArgs(p, 0, 0);
    let pending = 0;
    let queued = 0;
    for (const s of ctx.mempool.inspect()) {
      pending += s.pending.length;
      queued += s.queued.length;
    }
    return { pending: q(pending), queued: q(queued) };
  },
  txpool_content: (p, ctx) => {
    expectArgs(p, 0, 0);
    return bySender(ctx, (t) => formatTx(t.tx, t.sender));
  },
  txpool_contentFrom: (p, ctx) => {
    expectArgs(p, 1, 1);
    const from = address(p[0], 0).toLowerCase() as Hex;
    const { pending, queued } = bySender(ctx, (t) => formatTx(t.tx, t.sender), from);
    // One sender at most: its nonce maps, or empty ones.
    const only = (m: BySender<unknown>) => Object.values(m)[0] ?? {};
    return { pending: only(pending), queued: only(queued) };
  },
  // "0xto: value wei + gas gas × price wei", as geth's summary.
  txpool_inspect: (p, ctx) => {
    expectArgs(p, 0, 0);
    return bySender(
      ctx,
      (t) =>
        `${t.tx.to ? t.tx.to.toString() : 'contract creation'}: ${t.tx.value} wei + ${t.gasLimit} gas × ${t.maxFee} wei`,
    );
  },
};
