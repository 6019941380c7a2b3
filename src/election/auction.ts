import type { LeaderSchedule } from './schedule.js';

/**
 * `auction`: the epoch's auction winner leads every view while it works; the committee still
 * certifies. Once a timeout certificate shows `deposeAfter` views in a row without a QC (all of them
 * the winner's), the winner has gone silent: for the rest of the epoch the committee's own round
 * robin leads (from the view after that TC). One failed view is not enough — a start-up or a network
 * hiccup would depose a working winner. Without a winner (nobody bid, or the winner is not a member)
 * the round robin leads all epoch.
 *
 * The deposition is a function of one TC's content (its view and the highest QC in it), which every
 * honest member sees before the next view's proposal (a proposal after a timeout carries the TC), so
 * they agree on who leads that view. It does not count TCs: the core processes one TC several times
 * (alone, inside proposals, inside the next view's timeouts), and a counter once deposed a working
 * winner for a single failed view at start-up.
 */
export class AuctionSchedule implements LeaderSchedule {
  readonly mode = 'auction';
  private deposedFrom: bigint | undefined;

  constructor(
    private readonly publicKeys: readonly string[],
    /** Committee index of the winner, or null. */
    private readonly winner: number | null,
    private readonly deposeAfter = 3,
    private readonly deposeAfterAtStart = 6,
  ) {
    if (!Number.isInteger(deposeAfter) || deposeAfter < 1)
      throw new Error('deposeAfter must be a positive integer');
    if (!Number.isInteger(deposeAfterAtStart) || deposeAfterAtStart < deposeAfter)
      throw new Error('deposeAfterAtStart must be an integer ≥ deposeAfter');
    if (publicKeys.length === 0) throw new Error('an auction committee needs at least one member');
    if (winner !== null && (winner < 0 || winner >= publicKeys.length))
      throw new Error(`auction winner ${winner} is not a committee index`);
  }

  leaderFor(view: bigint): number {
    if (this.winner !== null && (this.deposedFrom === undefined || view < this.deposedFrom))
      return this.winner;
    return Number(view % BigInt(this.publicKeys.length));
  }

  /** A timeout certificate for `view` whose highest QC is from `highQcView` was processed. */
  onTimeoutCertificate(view: bigint, highQcView: bigint): void {
    if (this.deposedFrom !== undefined || this.winner === null) return;
    // Views highQcView+1 … view all failed; before a deposition the winner led every one of them.
    // Before the first QC of the chain the failures may be the committee starting up (peers still
    // dialling one another), not the winner: a winner absent from the start is deposed later.
    const needed = highQcView === 0n ? this.deposeAfterAtStart : this.deposeAfter;
    if (view - highQcView >= BigInt(needed)) this.deposedFrom = view + 1n;
  }

  /** The first view the round robin leads, if the winner was deposed. */
  get deposedAt(): bigint | undefined {
    return this.deposedFrom;
  }

  committeeFor(_epoch: bigint): string[] {
    return [...this.publicKeys];
  }
}
