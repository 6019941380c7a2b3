import { bytesToBigInt, fromHex, type Hex, keccak256 } from '../util/bytes.js';
import type { LeaderSchedule } from './schedule.js';

/** One epoch's staked committee: keys in index order with their stakes, and the epoch's seed. */
export interface StakedCommittee {
  epoch: bigint;
  /** BLS public keys (compressed, hex), in committee index order. */
  publicKeys: Hex[];
  stakes: bigint[];
  /** 32 bytes fixed one epoch ahead (the prevrandao of the pinned L1 block; DECISIONS.md §7). */
  seed: Hex;
}

/**
 * `pos`: each view's leader is drawn with probability proportional to stake, from
 * keccak256(seed ‖ view) reduced modulo the total stake (the bias of the reduction is below
 * total / 2^256). Everyone with the same L1 state computes the same leaders; nobody knows an epoch's
 * leaders before its pinned L1 block is final.
 */
export class StakeWeightedSchedule implements LeaderSchedule {
  readonly mode = 'pos';
  private readonly cumulative: bigint[] = [];
  private readonly total: bigint;
  private readonly seed: Uint8Array;

  constructor(private readonly committee: StakedCommittee) {
    const { publicKeys, stakes } = committee;
    if (publicKeys.length === 0) throw new Error('a pos committee needs at least one staker');
    if (stakes.length !== publicKeys.length) throw new Error('one stake per committee member');
    let sum = 0n;
    for (const s of stakes) {
      if (s <= 0n) throw new Error('every committee member has a positive stake');
      sum += s;
      this.cumulative.push(sum);
    }
    this.total = sum;
    this.seed = fromHex(committee.seed);
    if (this.seed.length !== 32) throw new Error('the seed is 32 bytes');
  }

  leaderFor(view: bigint): number {
    const input = new Uint8Array(40);
    input.set(this.seed, 0);
    new DataView(input.buffer).setBigUint64(32, BigInt.asUintN(64, view));
    const draw = bytesToBigInt(keccak256(input)) % this.total;
    // Binary search: the first member whose cumulative stake exceeds the draw.
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid] > draw) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  committeeFor(_epoch: bigint): string[] {
    return [...this.committee.publicKeys];
  }
}
