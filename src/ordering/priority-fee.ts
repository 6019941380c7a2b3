import { effectiveTip } from '../mempool/pool-tx.js';
import { mergeByHead } from './merge.js';
import type { OrderingPolicy } from './policy.js';

/** Highest effective tip first, arrival breaking ties (geth's and OP's block building). */
export const priorityFee: OrderingPolicy = {
  name: 'priority-fee',
  order: (candidates, ctx) =>
    mergeByHead(candidates, ctx, (a, b) => {
      const ta = effectiveTip(a, ctx.baseFee);
      const tb = effectiveTip(b, ctx.baseFee);
      return ta !== tb ? ta > tb : a.arrival < b.arrival;
    }),
};
