import { bytesToBigInt, fromHex, type Hex, keccak256 } from '../util/bytes.js';
import {
  type FailedViews,
  failedViewsBefore,
  type LeaderSchedule,
  type LedViews,
  leaderAfterFailures,
} from './schedule.js';

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
 * Passing over failed leaders (leaderAfterFailures in schedule.ts): the views that failed in the
 * last FAILED_VIEWS_LOOKED_AT views of the chain a proposal for view v extends — views j+1 … v−1
 * after its QC of view j (the timeout certificate it carries proves them), and the views without a
 * block further down that chain. Their suspects — each failed view's leader, and the member its votes
 * went to — are left out of v's draw: a drawn member that is left out is replaced by a second draw,
 * keccak256(seed ‖ v ‖ 1), over the others' stake (beyond the streak, only members suspected of two
 * failed views are left out). So a crashed member costs about two view timeouts, then is passed over
 * until its failures leave the window: with only the streak looked at, a crashed member with 40 % of
 * the stake stopped the chain for 25 s (bench/modes.ts --kill-member 3).
 *
 * The rule looks only at v and the chain under the proposal, so every member names the same leader.
 * An earlier rule kept a memory of members that failed in past timeout certificates; members that had
 * seen different TCs then named different leaders for good, and the simulator found committees that
 * stopped after a partition healed.
 */
export class StakeWeightedSchedule implements LeaderSchedule {
  readonly mode = 'pos';
  private readonly cumulative: bigint[] = [];
  private readonly total: bigint;
  private readonly seed: Uint8Array;
  /** Leaders after failed views, by view and failed views (votes and proposals ask often). */
  private readonly afterFailures = new Map<string, number>();

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

  leaderFor(
    view: bigint,
    justifyView: bigint = view - 1n,
    failedBefore: FailedViews = [],
    ledBefore: LedViews = [],
  ): number {
    const failed = failedViewsBefore(view, justifyView, failedBefore);
    if (failed.length === 0) return this.draw(view, 0, new Set());
    // Only the proposers after the window's first failure matter (leaderAfterFailures).
    const led = ledBefore.filter((b) => b.view > failed[0] && b.view < view);
    const key = `${view}:${failed.join(',')}:${led.map((b) => `${b.view}.${b.leader}`).join(',')}`;
    const known = this.afterFailures.get(key);
    if (known !== undefined) return known;
    const leader = leaderAfterFailures(view, failed, (v, out) => this.drawPassingOver(v, out), led);
    if (this.afterFailures.size >= 256) this.afterFailures.clear();
    this.afterFailures.set(key, leader);
    return leader;
  }

  /** The plain draw for `view`, or the second draw over the others when the plain one is in `out`. */
  private drawPassingOver(view: bigint, out: ReadonlySet<number>): number {
    const plain = this.draw(view, 0, new Set());
    // Everyone failed (a committee-wide outage): the plain draw.
    if (!out.has(plain) || out.size >= this.cumulative.length) return plain;
    return this.draw(view, 1, out);
  }

  /**
   * Draw `attempt` for `view` over the members not in `out`: the member whose cumulative stake
   * interval (over those members) holds keccak256(seed ‖ uint64 view [‖ uint8 attempt]) mod their stake.
   */
  private draw(view: bigint, attempt: number, out: ReadonlySet<number>): number {
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
