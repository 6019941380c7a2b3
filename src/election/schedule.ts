/**
 * Who may propose when. Every election mode (single, poa, pos, auction, dpos, based, free) is one
 * implementation, so the consensus core never knows which mode runs.
 */
export interface LeaderSchedule {
  readonly mode: string;
  /**
   * Committee index of the member that leads `view`, when its proposal extends the QC of view
   * `justifyView` (default `view − 1`: the view before succeeded). A smaller `justifyView` means views
   * justifyView+1 … view−1 failed; schedules may pass over their leaders. Only the proposal's own
   * content decides, so every member computes the same leader for it.
   */
  leaderFor(view: bigint, justifyView?: bigint): number;
  /** BLS public keys (hex) of the committee for `epoch`, in index order. */
  committeeFor(epoch: bigint): string[];
  /**
   * A timeout certificate for `view`, whose highest QC is from `highQcView`, was processed
   * (schedules that replace silent leaders use it). May be called more than once for one TC.
   */
  onTimeoutCertificate?(view: bigint, highQcView: bigint): void;
}

/** One sequencer: it leads every view, and the committee is itself alone. */
export class SingleSchedule implements LeaderSchedule {
  readonly mode = 'single';

  constructor(private readonly publicKey: string) {}

  leaderFor(_view: bigint): number {
    return 0;
  }

  committeeFor(_epoch: bigint): string[] {
    return [this.publicKey];
  }
}

/** Proof of authority: a fixed committee, leaders in round robin by view. */
export class PoaSchedule implements LeaderSchedule {
  readonly mode = 'poa';

  constructor(private readonly publicKeys: readonly string[]) {
    if (publicKeys.length === 0) throw new Error('a poa committee needs at least one member');
  }

  leaderFor(view: bigint): number {
    return Number(view % BigInt(this.publicKeys.length));
  }

  committeeFor(_epoch: bigint): string[] {
    return [...this.publicKeys];
  }
}
