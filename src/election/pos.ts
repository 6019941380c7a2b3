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
 *
 * Leader reputation (as DiemBFT / Aptos exclude recent failed proposers): a member whose view ended
 * in a timeout certificate without a QC is left out of the draws of the next `EXCLUDE_VIEWS` views
 * (from the view after next: the next view's leader is already known); a drawn member that is left out
 * is replaced by a second draw, keccak256(seed ‖ view ‖ 1), over the others' stake. Without it a
 * crashed member with 40 % of the stake kept being drawn and each of its views doubled the timeout:
 * the chain stalled for over 20 s (bench/modes.ts). The exclusion is a function of TCs, which travel
 * with proposals and timeouts, so members agree on it as they agree on the TC.
 */
/** Views a member that failed its view sits out. */
export const EXCLUDE_VIEWS = 10n;

export class StakeWeightedSchedule implements LeaderSchedule {
  readonly mode = 'pos';
  private readonly cumulative: bigint[] = [];
  private readonly total: bigint;
  private readonly seed: Uint8Array;
  /** Per member, the views it sits out: [from, to], after the latest of its failed views. */
  private readonly excluded = new Map<number, { from: bigint; to: bigint }>();

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
    const first = this.draw(view, 0, new Set());
    if (!this.isExcluded(first, view)) return first;
    const out = new Set<number>();
    for (const m of this.excluded.keys()) if (this.isExcluded(m, view)) out.add(m);
    // Everyone left out (a committee-wide outage): the plain draw.
    if (out.size >= this.cumulative.length) return first;
    return this.draw(view, 1, out);
  }

  /** A TC for `view`, whose highest QC is from `highQcView`: its leader failed unless a QC formed. */
  onTimeoutCertificate(view: bigint, highQcView: bigint): void {
    if (highQcView >= view) return;
    const leader = this.leaderFor(view);
    const prev = this.excluded.get(leader);
    const from = view + 2n;
    if (prev && prev.from >= from) return;
    this.excluded.set(leader, { from, to: from + EXCLUDE_VIEWS - 1n });
  }

  private isExcluded(member: number, view: bigint): boolean {
    const e = this.excluded.get(member);
    return e !== undefined && view >= e.from && view <= e.to;
  }

  /**
   * Draw `attempt` for `view` over the members not in `out`: the member whose cumulative stake
   * interval (over those members) holds keccak256(seed ‖ uint64 view [‖ uint8 attempt]) mod their stake.
   */
  private draw(view: bigint, attempt: number, out: Set<number>): number {
    const input = new Uint8Array(attempt === 0 ? 40 : 41);
    input.set(this.seed, 0);
    new DataView(input.buffer).setBigUint64(32, BigInt.asUintN(64, view));
    if (attempt !== 0) input[40] = attempt;
    if (out.size === 0) {
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
    const stakes = this.committee.stakes.map((st, i) => (out.has(i) ? 0n : st));
    const total = stakes.reduce((a, b) => a + b, 0n);
    let draw = bytesToBigInt(keccak256(input)) % total;
    for (const [i, st] of stakes.entries()) {
      if (draw < st) return i;
      draw -= st;
    }
    throw new Error('unreachable: the draw is below the total stake');
  }

  committeeFor(_epoch: bigint): string[] {
    return [...this.committee.publicKeys];
  }
}
