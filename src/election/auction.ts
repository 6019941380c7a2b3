import { SubsetSchedule } from './epoch-schedule.js';
import {
  FAILED_VIEWS_LOOKED_AT,
  type FailedViews,
  failedViewsBefore,
  type LeaderSchedule,
  type LedViews,
  PoaSchedule,
} from './schedule.js';

/** How soon an `auction` winner that fails views gives way to the rotation (AuctionSchedule). */
export interface AuctionScheduleOptions {
  /** Views in a row without a QC that depose the winner for the rest of the epoch (default 3). */
  deposeAfter?: number;
  /** The same before the chain's first QC, when peers may still be dialling (default 6). */
  deposeAfterAtStart?: number;
  /** Failed views among the chain's last FAILED_VIEWS_LOOKED_AT that sit the winner out (default 4). */
  sitOutAfter?: number;
  /**
   * Whether this schedule's consensus instance starts the chain (default true). A later instance
   * (--epoch-committees: it starts on a boundary block, among members that are connected) gives no
   * start-up grace: `deposeAfter` applies from its first view and the failures before its first block
   * count towards `sitOutAfter`. With the grace an equivocating winner cost each new instance up to
   * 6 views of doubling timeouts (simulator seed 701667 of `--committees`: a tx left uncommitted).
   */
  startsChain?: boolean;
}

/**
 * `auction`: the epoch's auction winner leads every view while it works; the committee still
 * certifies. Once `deposeAfter` views in a row end without a QC (all of them the winner's), the winner
 * has gone silent: for the rest of the epoch the other members lead in rotation, passing over the
 * suspects of their own failed views as `poa` does. One failed view is not enough — a start-up or a
 * network hiccup would depose a working winner. Without a winner (nobody bid, or the winner is not a
 * member) the whole committee rotates all epoch.
 *
 * Every member must name the same leader for a proposal, so the deposition is read from certificates,
 * never counted: the core processes one TC several times (alone, inside proposals, inside the next
 * view's timeouts), and a counter once deposed a working winner for a single failed view.
 * - A proposal that extends the QC of view j while views j+1 … j+deposeAfter failed carries the
 *   streak: the rotation leads from view j+deposeAfter+1, whether or not the member saw the TCs.
 * - Its TC (`lastViewTc`, processed before the member votes) sets the memory `deposedFrom` to that
 *   same view, so the votes already go to the rotation's next leader, and later views stay the
 *   rotation's. A member that missed that proposal fetches it (with its TC) as the parent of the next.
 * - The rotation leaves the winner out: a dead winner in the rotation failed two views in every round
 *   (its own and the one whose votes it should have aggregated).
 *
 * A winner that fails now and then — never three views in a row — is never deposed that way, and
 * without more it kept its epoch while half its views timed out (one proposal in two withheld:
 * `npm run sim -- --auction-flaky`). So it also sits out, memoryless, while `sitOutAfter` of the
 * last FAILED_VIEWS_LOOKED_AT views of the chain its proposal extends failed, and once the rotation
 * has led the chain's last block, until no failed view is left in that window; then the winner
 * comes back. A flaky winner then fails about `sitOutAfter` views per ~40, whatever its own rate. Failed views before the chain's first block
 * in that window do not count (peers still dialling at start-up, as for `deposeAfterAtStart`; only
 * in the instance that starts the chain: `startsChain`).
 * Read from the proposal and its chain alone, like `poa`'s window, so every member names the same
 * leader; no memory, since a fork's chain can show failures the chain that wins does not.
 */
export class AuctionSchedule implements LeaderSchedule {
  readonly mode = 'auction';
  private deposedFrom: bigint | undefined;
  /**
   * Told whenever the deposition's first view is set or lowered: the node keeps it on disk, since a
   * member restarted after its WAL dropped the deposing TC would otherwise name the winner again.
   */
  onDeposed?: (from: bigint) => void;
  private readonly publicKeys: readonly string[];
  /** The rotation without a winner, or after it: every member, or every member but the winner. */
  private readonly rotation: LeaderSchedule;

  private readonly deposeAfter: number;
  private readonly deposeAfterAtStart: number;
  private readonly sitOutAfter: number;
  private readonly startsChain: boolean;

  constructor(
    publicKeys: readonly string[],
    /** Committee index of the winner, or null. */
    private readonly winner: number | null,
    options: AuctionScheduleOptions = {},
  ) {
    const { deposeAfter = 3, sitOutAfter = 4, startsChain = true } = options;
    // An instance that does not start the chain starts among connected members: no start-up grace.
    const deposeAfterAtStart = startsChain ? (options.deposeAfterAtStart ?? 6) : deposeAfter;
    if (!Number.isInteger(deposeAfter) || deposeAfter < 1)
      throw new Error('deposeAfter must be a positive integer');
    if (!Number.isInteger(deposeAfterAtStart) || deposeAfterAtStart < deposeAfter)
      throw new Error('deposeAfterAtStart must be an integer ≥ deposeAfter');
    if (!Number.isInteger(sitOutAfter) || sitOutAfter < 1 || sitOutAfter > Number(FAILED_VIEWS_LOOKED_AT))
      throw new Error(`sitOutAfter must be an integer from 1 to ${FAILED_VIEWS_LOOKED_AT}`);
    if (publicKeys.length === 0) throw new Error('an auction committee needs at least one member');
    if (winner !== null && (winner < 0 || winner >= publicKeys.length))
      throw new Error(`auction winner ${winner} is not a committee index`);
    this.deposeAfter = deposeAfter;
    this.deposeAfterAtStart = deposeAfterAtStart;
    this.sitOutAfter = sitOutAfter;
    this.startsChain = startsChain;
    const others = publicKeys.map((_, i) => i).filter((i) => i !== winner);
    this.rotation =
      winner === null || others.length === 0
        ? new PoaSchedule(publicKeys)
        : new SubsetSchedule(new PoaSchedule(others.map((i) => publicKeys[i])), others, publicKeys);
    this.publicKeys = publicKeys;
  }

  leaderFor(
    view: bigint,
    justifyView: bigint = view - 1n,
    failedBefore: FailedViews = [],
    ledBefore: LedViews = [],
  ): number {
    if (this.winner === null) return this.rotation.leaderFor(view, justifyView, failedBefore, ledBefore);
    let from = this.deposedFrom;
    const streakEnd = this.streakDeposes(justifyView);
    if (view >= streakEnd && (from === undefined || streakEnd < from)) from = streakEnd;
    if (from === undefined || view < from) {
      if (!this.sitsOut(view, justifyView, failedBefore, ledBefore)) return this.winner;
      // The failed views up to the winner's last block were the winner's: only the rotation's count
      // (replayed as its own, they made every member of it a suspect, and the least suspected led
      // every view).
      let winnersLast = -1n;
      for (const b of ledBefore) if (b.leader === this.winner) winnersLast = b.view;
      return this.rotation.leaderFor(
        view,
        justifyView,
        failedBefore.filter((u) => u > winnersLast),
        ledBefore,
      );
    }
    // The failed views before the deposition were the winner's: only the rotation's own count.
    const deposition = from;
    return this.rotation.leaderFor(
      view,
      justifyView > deposition - 1n ? justifyView : deposition - 1n,
      failedBefore.filter((u) => u >= deposition),
      ledBefore.filter((b) => b.view >= deposition),
    );
  }

  /** Whether too many recent views of the proposal's chain failed for the winner to lead `view`. */
  private sitsOut(
    view: bigint,
    justifyView: bigint,
    failedBefore: FailedViews,
    ledBefore: LedViews,
  ): boolean {
    if (justifyView === 0n) return false;
    // At the chain's start the failures before its first block may be peers still dialling; a later
    // instance's (--epoch-committees) are the winner's, as anywhere else in its chain.
    const firstBlock = !this.startsChain ? 0n : ledBefore.length > 0 ? ledBefore[0].view : justifyView;
    let failed = 0;
    for (const u of failedViewsBefore(view, justifyView, failedBefore)) if (u > firstBlock) failed++;
    // Once out, it stays out until the window holds no failed view: the chain's last block is then
    // the rotation's. (Back at the first old failure leaving the window, a winner failing every
    // other view came back every few views, each time hiding a QC in a withheld proposal.)
    const lastLeader = ledBefore.length > 0 ? ledBefore[ledBefore.length - 1].leader : this.winner;
    return failed >= this.sitOutAfter || (failed > 0 && lastLeader !== this.winner);
  }

  /** A timeout certificate for `view` whose highest QC is from `highQcView` was processed. */
  onTimeoutCertificate(view: bigint, highQcView: bigint): void {
    if (this.winner === null) return;
    // Views highQcView+1 … view all failed, and before a deposition the winner led every one of them.
    // Every TC of one streak names the same first view of the rotation.
    const from = this.streakDeposes(highQcView);
    if (view >= from - 1n && (this.deposedFrom === undefined || from < this.deposedFrom)) {
      this.deposedFrom = from;
      this.onDeposed?.(from);
    }
  }

  /** A deposition this member kept before a restart (it came from a TC, so every member learns it). */
  restoreDeposition(from: bigint): void {
    if (this.winner === null) return;
    if (this.deposedFrom === undefined || from < this.deposedFrom) this.deposedFrom = from;
  }

  /**
   * The first view the rotation leads when the views after the QC of `justifyView` keep failing.
   * Before the chain's first QC the failures may be the committee starting up (peers still dialling
   * one another), not the winner: a winner absent from the start is deposed later.
   */
  private streakDeposes(justifyView: bigint): bigint {
    return justifyView + BigInt(justifyView === 0n ? this.deposeAfterAtStart : this.deposeAfter) + 1n;
  }

  /** The first view the rotation leads, if the winner was deposed. */
  get deposedAt(): bigint | undefined {
    return this.deposedFrom;
  }

  committeeFor(_epoch: bigint): string[] {
    return [...this.publicKeys];
  }
}
