/**
 * Who may propose when. Every election mode (single, poa, pos, auction, dpos, based, free) is one
 * implementation, so the consensus core never knows which mode runs.
 */
export interface LeaderSchedule {
  readonly mode: string;
  /** Committee index of the member that leads `view`. */
  leaderFor(view: bigint): number;
  /** BLS public keys (hex) of the committee for `epoch`, in index order. */
  committeeFor(epoch: bigint): string[];
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
