import type { Hex } from '../util/bytes.js';

/**
 * Who may propose when. Every election mode (single, poa, pos, auction, dpos, based, free) is one
 * implementation, so the consensus core never knows which mode runs.
 */
export interface LeaderSchedule {
  readonly mode: string;
  /**
   * Committee index of the member that leads `view`, when its proposal extends the QC of view
   * `justifyView` (default `view − 1`: the view before succeeded). A smaller `justifyView` means views
   * justifyView+1 … view−1 failed; schedules may pass over their leaders. `failedBefore` are the
   * views that failed earlier in the chain the proposal extends (the certified block of justifyView
   * and its ancestors: views without a block in that chain, the last FAILED_VIEWS_LOOKED_AT or more).
   * `ledBefore` are the proposers of that chain's blocks over the same views (a member that led a
   * certified block since a failure is cleared of it). `origin`: the L1 origin (block number) of the
   * certified block the proposal extends, when known (the election's epochs follow it). Only the
   * proposal and the chain under it decide, so every member that holds the chain computes the same
   * leader for it.
   */
  leaderFor(
    view: bigint,
    justifyView?: bigint,
    failedBefore?: FailedViews,
    ledBefore?: LedViews,
    origin?: bigint,
  ): number;
  /** BLS public keys (hex) of the committee for `epoch`, in index order. */
  committeeFor(epoch: bigint): string[];
  /**
   * A timeout certificate for `view`, whose highest QC is from `highQcView` (on a block with L1 origin
   * `origin`, when known), was processed (schedules that replace silent leaders use it). May be
   * called more than once for one TC.
   */
  onTimeoutCertificate?(view: bigint, highQcView: bigint, origin?: bigint): void;
  /**
   * The election epoch of an L1 origin, for schedules that follow the L1 epochs (CoreConfig.epochOf:
   * a chain entering a later epoch leaves the failures of the epoch before behind).
   */
  epochOfOrigin?(origin: bigint): bigint | undefined;
}

/**
 * Failed views of a chain, ascending: views without a certified block in the chain up to a block
 * (the consensus core keeps them per block, FAILED_VIEWS_LOOKED_AT views back or more).
 */
export type FailedViews = readonly bigint[];

/**
 * The blocks of a chain up to a block, by view with their proposer's committee index, ascending (the
 * core keeps them beside FailedViews). The chain's certified blocks: whoever proposed one was alive
 * and heard by a quorum then.
 */
export type LedViews = readonly { readonly view: bigint; readonly leader: number }[];

/** How far back (in views) the failures of the chain are looked at when choosing a leader. */
export const FAILED_VIEWS_LOOKED_AT = 32n;

/**
 * The views that failed in the FAILED_VIEWS_LOOKED_AT views before `view`, for a proposal that extends
 * the QC of `justifyView` over a chain whose earlier failures are `failedBefore`: those in the window,
 * then justifyView+1 … view−1. Ascending.
 */
export function failedViewsBefore(
  view: bigint,
  justifyView: bigint,
  failedBefore: FailedViews = [],
): bigint[] {
  const first = view - FAILED_VIEWS_LOOKED_AT;
  const failed = failedBefore.filter((u) => u >= first && u <= justifyView && u < view);
  for (let u = justifyView + 1n > first ? justifyView + 1n : first; u < view; u++) failed.push(u);
  return failed;
}

/**
 * The leader of `view` after the failed views `failed` (ascending, from failedViewsBefore; the chain's
 * other views in the window had a certified block). Each failed view u has two suspects: its leader
 * (no proposal) and the member its votes went to, the leader of u+1 had u succeeded (no QC from them).
 *
 * - The suspects of the failed views right before `view` (the streak after its proposal's QC) are
 *   passed over: a dead member fails the view before its own too, and without the second suspect the
 *   view after that TC went to the dead member again — two timeouts in a row, the second one doubled.
 * - A member that is a suspect of two or more failed views in the window is passed over until the
 *   window leaves them behind. Until stop 17 only the streak counted, so a dead member was drawn
 *   again as soon as one view succeeded — as leader, or as the next view's vote collector: with 40 %
 *   of the stake dead, QCs came one at a time and never the two in a row a commit needs
 *   (bench/modes.ts pos, member 3 killed: 0 of 562 post-kill txs in 25 s). One failure is not enough
 *   outside the streak: a member that collected the votes of a leader that equivocated is innocent,
 *   and sitting such members out for the window skewed a pos e2e run's leader counts (14/52/39/50
 *   views for stakes 1:2:3:4).
 * - A member that proposed a block of the chain (`led`) after a failure is cleared of its suspicions
 *   so far: it was alive and heard. Without this, the innocent collectors of an equivocator's views
 *   still sat out whenever they collected two of them in the window (a 1,132-view devnet run with
 *   member 0 equivocating: member 3, 40 % of the stake, led 386 views where its stake gives 453). A
 *   dead member never proposes a block, so it stays out. The chain's proposers, not a replay: the
 *   replayed leader of a view that succeeded can be a member the window of that time passed over.
 *
 * When every member is a suspect, the ones suspected least often lead: a dead member is suspected in
 * every view it fails (as the aggregator of the view before its turn, then as leader), the live ones
 * only for views whose votes it swallowed. (The plain choice here once gave a dead member with 40 %
 * of the stake three views in a row, 14 s of doubling timeouts in bench/modes.ts.)
 *
 * `pick(v, out)` is the schedule's choice for v leaving out the members in `out` (its plain choice
 * when `out` is empty or holds everyone). The leaders and vote collectors of the failed views are
 * replayed the same way, oldest first. A function of `view` and `failed` alone, so every member names
 * the same leader for one proposal over one chain.
 */
export function leaderAfterFailures(
  view: bigint,
  failed: readonly bigint[],
  pick: (view: bigint, out: ReadonlySet<number>) => number,
  led: LedViews = [],
): number {
  /** Failed views of the window each member is a suspect of. */
  const counts = new Map<number, number>();
  /** Suspects of the failed views in a row just before the view being chosen. */
  let streak = new Set<number>();
  let previous: bigint | undefined;
  let nextLed = 0;
  const passedOver = (inStreak: ReadonlySet<number>) =>
    new Map([...counts].filter(([m, c]) => c >= 2 || inStreak.has(m)));
  /** The members that led the chain's blocks in views after `previous` and before `until` are cleared. */
  const clearLeadersBefore = (until: bigint) => {
    for (; nextLed < led.length && led[nextLed].view < until; nextLed++)
      if (previous !== undefined && led[nextLed].view > previous) counts.delete(led[nextLed].leader);
  };
  for (const u of failed) {
    clearLeadersBefore(u);
    if (previous === undefined || u !== previous + 1n) streak = new Set();
    const leader = leaderPassingOver(u, passedOver(streak), pick);
    // Had u succeeded, u+1 would have been entered on its QC: no streak.
    const collector = leaderPassingOver(u + 1n, passedOver(new Set()), pick);
    // A member that was both (the only suspect of the view) counts twice.
    for (const m of [leader, collector]) {
      counts.set(m, (counts.get(m) ?? 0) + 1);
      streak.add(m);
    }
    previous = u;
  }
  clearLeadersBefore(view);
  if (previous !== view - 1n) streak = new Set();
  return leaderPassingOver(view, passedOver(streak), pick);
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

/**
 * What the consensus core asks of a schedule (CoreConfig's leaderFor and onTimeoutCertificate).
 * `originOf` gives the L1 origin of a block the core names (schedules that follow the chain's epochs
 * need it; without it they get none).
 */
export function scheduleHooks(
  schedule: LeaderSchedule,
  originOf?: (block: Hex) => bigint | undefined,
): {
  leaderFor(
    view: bigint,
    justifyView: bigint,
    failedBefore: FailedViews,
    ledBefore: LedViews,
    justifyBlock: Hex,
  ): number;
  onTimeoutCertificate(view: bigint, highQcView: bigint, highQcBlock: Hex): void;
  epochOf?(block: Hex): bigint | undefined;
} {
  const hooks = {
    leaderFor: (
      view: bigint,
      justifyView: bigint,
      failedBefore: FailedViews,
      ledBefore: LedViews,
      justifyBlock: Hex,
    ) => schedule.leaderFor(view, justifyView, failedBefore, ledBefore, originOf?.(justifyBlock)),
    onTimeoutCertificate: (view: bigint, highQcView: bigint, highQcBlock: Hex) =>
      schedule.onTimeoutCertificate?.(view, highQcView, originOf?.(highQcBlock)),
  };
  const epochOfOrigin = schedule.epochOfOrigin?.bind(schedule);
  if (!originOf || !epochOfOrigin) return hooks;
  return {
    ...hooks,
    epochOf: (block: Hex) => {
      const origin = originOf(block);
      return origin === undefined ? undefined : epochOfOrigin(origin);
    },
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

  leaderFor(
    view: bigint,
    justifyView: bigint = view - 1n,
    failedBefore: FailedViews = [],
    ledBefore: LedViews = [],
  ): number {
    const failed = failedViewsBefore(view, justifyView, failedBefore);
    if (failed.length === 0) return this.rotation(view, new Set());
    return leaderAfterFailures(view, failed, (v, out) => this.rotation(v, out), ledBefore);
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
