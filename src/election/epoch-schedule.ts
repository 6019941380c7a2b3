import { type EpochClock, epochAt } from './epochs.js';
import type { FailedViews, LeaderSchedule, LedViews } from './schedule.js';

/**
 * How many epochs before the one in force keep their schedule. A member enters an epoch when it
 * names a leader over any block of it (a proposal's, before it is certified), and a chain that stalled
 * through an epoch or more jumps: with only the epoch before kept (until stop 34), a member that had
 * seen a proposal two epochs ahead judged the certified chain, still in the epoch before those, by
 * the oldest schedule left, naming other leaders than the rest (`npm run sim -- --epochs`, 507 ms
 * epochs under flapping partitions: a block by a member its own epoch never named).
 */
export const EPOCHS_KEPT = 16n;

/**
 * A schedule over some of the committee file's members (an epoch's elected or staked set): the inner
 * schedule counts its own members 0..k−1, `indices` maps them back to committee indices.
 */
export class SubsetSchedule implements LeaderSchedule {
  constructor(
    private readonly inner: LeaderSchedule,
    private readonly indices: readonly number[],
    private readonly publicKeys: readonly string[],
  ) {
    if (indices.length === 0) throw new Error('a schedule needs at least one member');
  }

  get mode(): string {
    return this.inner.mode;
  }

  leaderFor(view: bigint, justifyView?: bigint, failedBefore?: FailedViews, ledBefore?: LedViews): number {
    // The inner schedule counts its own members: committee indices of the chain's proposers map back.
    const led = ledBefore?.flatMap((b) => {
      const leader = this.indices.indexOf(b.leader);
      return leader < 0 ? [] : [{ view: b.view, leader }];
    });
    return this.indices[this.inner.leaderFor(view, justifyView, failedBefore, led)];
  }

  onTimeoutCertificate(view: bigint, highQcView: bigint): void {
    this.inner.onTimeoutCertificate?.(view, highQcView);
  }

  committeeFor(_epoch: bigint): string[] {
    return [...this.publicKeys];
  }
}

/**
 * The schedules of the L1 epochs (each one's proposers, stakes, seed or auction winner, read from L1
 * one epoch ahead), the one a proposal follows chosen by its chain: the epoch of the L1 origin of the
 * certified block it extends. The certifying committee stays the committee file's: only who proposes
 * changes.
 *
 * Why the chain and not the L1 each member sees: members see an epoch boundary final at different
 * moments, and when each switched then, they disagreed on leaders for a while: a view or two failed
 * at each boundary, and the new schedule, replaying those failures as its own, sat an innocent
 * proposer out for 32 views (a CI run of the dpos e2e test). The origin of a block is the same for
 * every member that holds it, so all of them name the same leader for a proposal, and the switch
 * comes with the first block whose origin is in the new epoch. A member that has not read that
 * epoch from L1 yet (it reads the next one as soon as its pinned block is final, an epoch ahead)
 * names the newest epoch it has before it: a timeout at worst, never safety, which does not depend
 * on who leads.
 *
 * Without a clock (or an origin) the newest epoch added is in force, as each member's own switch.
 */
export class EpochSchedule implements LeaderSchedule {
  /**
   * Schedules by epoch: the one in force, the EPOCHS_KEPT before it (a chain that has not reached
   * the epoch in force yet still needs its own), those read ahead.
   */
  private readonly loaded = new Map<bigint, LeaderSchedule>();
  private inForce: bigint;
  /** Told when a chain first enters an epoch later than any before it (the switch). */
  onEnter?: (epoch: bigint) => void;

  constructor(
    epoch: bigint,
    schedule: LeaderSchedule,
    private readonly clock?: EpochClock,
  ) {
    this.loaded.set(epoch, schedule);
    this.inForce = epoch;
  }

  get mode(): string {
    return this.inForceSchedule.mode;
  }

  /** The epoch in force: the newest a chain has entered (without a clock: the newest added). */
  get epoch(): bigint {
    return this.inForce;
  }

  /** Whether the schedule of `epoch` is here. */
  has(epoch: bigint): boolean {
    return this.loaded.has(epoch);
  }

  /**
   * Adds the schedule of an epoch read from L1; one older than the epoch in force, or one already
   * here, is refused (returns false). Without a clock it is in force at once.
   */
  add(epoch: bigint, schedule: LeaderSchedule): boolean {
    if (epoch <= this.inForce || this.loaded.has(epoch)) return false;
    this.loaded.set(epoch, schedule);
    if (!this.clock) this.enter(epoch);
    return true;
  }

  leaderFor(
    view: bigint,
    justifyView?: bigint,
    failedBefore?: FailedViews,
    ledBefore?: LedViews,
    origin?: bigint,
  ): number {
    return this.scheduleFor(origin).leaderFor(view, justifyView, failedBefore, ledBefore);
  }

  onTimeoutCertificate(view: bigint, highQcView: bigint, origin?: bigint): void {
    this.scheduleFor(origin).onTimeoutCertificate?.(view, highQcView);
  }

  committeeFor(epoch: bigint): string[] {
    return this.inForceSchedule.committeeFor(epoch);
  }

  epochOfOrigin(origin: bigint): bigint | undefined {
    return this.clock ? epochAt(this.clock, origin) : undefined;
  }

  private get inForceSchedule(): LeaderSchedule {
    return this.loaded.get(this.inForce) as LeaderSchedule;
  }

  /** The schedule of the chain whose newest certified block has L1 origin `origin`. */
  private scheduleFor(origin: bigint | undefined): LeaderSchedule {
    if (origin === undefined || !this.clock) return this.inForceSchedule;
    const wanted = epochAt(this.clock, origin);
    // The chain's epoch, or the newest here before it; a chain older than all of them, the oldest.
    let chosen: bigint | undefined;
    let oldest: bigint | undefined;
    for (const e of this.loaded.keys()) {
      if (e <= wanted && (chosen === undefined || e > chosen)) chosen = e;
      if (oldest === undefined || e < oldest) oldest = e;
    }
    const epoch = chosen ?? (oldest as bigint);
    if (epoch > this.inForce) this.enter(epoch);
    return this.loaded.get(epoch) as LeaderSchedule;
  }

  private enter(epoch: bigint): void {
    this.inForce = epoch;
    for (const e of [...this.loaded.keys()]) if (e < epoch - EPOCHS_KEPT) this.loaded.delete(e);
    this.onEnter?.(epoch);
  }
}
