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

/** How many of the failed views just before a view are looked at (a longer streak's older views are not). */
const FAILED_VIEWS_LOOKED_AT = 8n;

/**
 * The leader of `view` when its proposal extends the QC of `justifyView` < view − 1, so views
 * justifyView+1 … view−1 failed. Each failed view u has two suspects: its leader (no proposal) and the
 * member its votes went to, the plain leader of u+1 (no QC from them). Both are passed over: a dead
 * member fails the view before its own too, and without the second suspect the view after that TC
 * went to the dead member again — two timeouts in a row, the second one doubled.
 *
 * When every member is a suspect, the ones suspected least often lead: a dead member is suspected in
 * every view it fails (as the aggregator of the view before its turn, then as leader), the live ones
 * only for views whose votes it swallowed. (The plain choice here once gave a dead member with 40 %
 * of the stake three views in a row, 14 s of doubling timeouts in bench/modes.ts.)
 *
 * `pick(v, out)` is the schedule's choice for v leaving out the members in `out` (its plain choice
 * when `out` is empty or holds everyone). The leaders of the failed views are replayed the same way
 * (the first one's was the plain choice: it was entered on a QC). A function of (view, justifyView)
 * alone, both in the proposal, so every member names the same leader for it.
 */
export function leaderAfterFailures(
  view: bigint,
  justifyView: bigint,
  pick: (view: bigint, out: ReadonlySet<number>) => number,
): number {
  const none = new Set<number>();
  const first =
    justifyView + 1n > view - FAILED_VIEWS_LOOKED_AT ? justifyView + 1n : view - FAILED_VIEWS_LOOKED_AT;
  const suspected = new Map<number, number>();
  const suspect = (m: number) => suspected.set(m, (suspected.get(m) ?? 0) + 1);
  for (let u = first; u < view; u++) {
    suspect(leaderPassingOver(u, suspected, pick));
    suspect(pick(u + 1n, none));
  }
  return leaderPassingOver(view, suspected, pick);
}

/** `pick` leaving out the suspects; with everyone suspected, leaving out all but the least suspected. */
function leaderPassingOver(
  view: bigint,
  suspected: ReadonlyMap<number, number>,
  pick: (view: bigint, out: ReadonlySet<number>) => number,
): number {
  const out = new Set(suspected.keys());
  const chosen = pick(view, out);
  if (!out.has(chosen)) return chosen;
  // pick fell back to its plain choice: everyone is a suspect.
  let least = Number.POSITIVE_INFINITY;
  for (const count of suspected.values()) least = Math.min(least, count);
  const moreThanLeast = new Set([...suspected].filter(([, count]) => count > least).map(([m]) => m));
  return pick(view, moreThanLeast);
}

/** What the consensus core asks of a schedule (CoreConfig's leaderFor and onTimeoutCertificate). */
export function scheduleHooks(schedule: LeaderSchedule): {
  leaderFor(view: bigint, justifyView: bigint): number;
  onTimeoutCertificate(view: bigint, highQcView: bigint): void;
} {
  return {
    leaderFor: (view, justifyView) => schedule.leaderFor(view, justifyView),
    onTimeoutCertificate: (view, highQcView) => schedule.onTimeoutCertificate?.(view, highQcView),
  };
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

/**
 * Proof of authority: a fixed committee, leaders in round robin by view. After failed views the
 * rotation passes over their suspects (leaderAfterFailures): the next member in the rotation that is
 * not one leads.
 */
export class PoaSchedule implements LeaderSchedule {
  readonly mode = 'poa';

  constructor(private readonly publicKeys: readonly string[]) {
    if (publicKeys.length === 0) throw new Error('a poa committee needs at least one member');
  }

  leaderFor(view: bigint, justifyView: bigint = view - 1n): number {
    if (justifyView >= view - 1n) return this.rotation(view, new Set());
    return leaderAfterFailures(view, justifyView, (v, out) => this.rotation(v, out));
  }

  /** The member at `view` in the rotation, or the first after it that is not in `out`. */
  private rotation(view: bigint, out: ReadonlySet<number>): number {
    const n = this.publicKeys.length;
    const plain = Number(view % BigInt(n));
    for (let i = 0; i < n; i++) if (!out.has((plain + i) % n)) return (plain + i) % n;
    return plain;
  }

  committeeFor(_epoch: bigint): string[] {
    return [...this.publicKeys];
  }
}
