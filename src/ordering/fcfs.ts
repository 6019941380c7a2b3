import { mergeByHead } from './merge.js';
import type { OrderingPolicy } from './policy.js';

/** First come, first served: arrival order, nonce order within a sender (Arbitrum's policy). */
export const fcfs: OrderingPolicy = {
  name: 'fcfs',
  order: (candidates, ctx) => mergeByHead(candidates, ctx, (a, b) => a.arrival < b.arrival),
};
