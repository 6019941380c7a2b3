import type { FailedViews, LeaderSchedule, LedViews } from './schedule.js';

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
 * The schedule of the L1 epoch the committee is in, replaced at each epoch boundary by the next
 * epoch's (its proposers, stakes, seed or auction winner, read from L1 one epoch ahead) without
 * stopping consensus. The certifying committee stays the committee file's: only who proposes changes.
 *
 * Members switch when each of them sees the boundary final on L1, so for a moment they can disagree on
 * a view's leader: that costs a timeout (a TC moves everyone on), never safety, which does not depend
 * on who leads.
 */
export class EpochSchedule implements LeaderSchedule {
  private current: { epoch: bigint; schedule: LeaderSchedule };

  constructor(epoch: bigint, schedule: LeaderSchedule) {
    this.current = { epoch, schedule };
  }

  get mode(): string {
    return this.current.schedule.mode;
  }

  get epoch(): bigint {
    return this.current.epoch;
  }

  /** Takes the schedule of a later epoch; an older or the same epoch is refused (returns false). */
  switchTo(epoch: bigint, schedule: LeaderSchedule): boolean {
    if (epoch <= this.current.epoch) return false;
    this.current = { epoch, schedule };
    return true;
  }

  leaderFor(view: bigint, justifyView?: bigint, failedBefore?: FailedViews, ledBefore?: LedViews): number {
    return this.current.schedule.leaderFor(view, justifyView, failedBefore, ledBefore);
  }

  onTimeoutCertificate(view: bigint, highQcView: bigint): void {
    this.current.schedule.onTimeoutCertificate?.(view, highQcView);
  }

  committeeFor(epoch: bigint): string[] {
    return this.current.schedule.committeeFor(epoch);
  }
}
