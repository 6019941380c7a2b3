import { fcfs } from './fcfs.js';
import type { OrderingPolicy } from './policy.js';
import { priorityFee } from './priority-fee.js';

export const orderingPolicies: Record<string, OrderingPolicy> = { fcfs, 'priority-fee': priorityFee };
export type { OrderingContext, OrderingPolicy } from './policy.js';

export function orderingPolicy(name: string): OrderingPolicy {
  const p = orderingPolicies[name];
  if (!p)
    throw new Error(
      `unknown ordering policy "${name}"; choose one of: ${Object.keys(orderingPolicies).join(', ')}`,
    );
  return p;
}
