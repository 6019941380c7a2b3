/**
 * Adaptive view timeouts: the configured view timeout is the ceiling; below it, the timeout follows
 * what this chain's views take — `factor` × the slowest of the last `window` views that reached a
 * QC here (time from arming the view's timer to entering the next view), never under `floorMs`.
 * A dead member then costs what the chain's views cost, not the ceiling (bench/dead-member.ts: p90
 * 393 ms against 1,081 at a 1 s ceiling), while a loaded chain whose views take long keeps the whole
 * ceiling (bench/committee.ts's leader kill at ~100 tx/s: no gain; README). Who leads and what is
 * signed do not depend on it: a timeout that fires early costs a view, never safety.
 */
/** What the recent views that reached a QC took here (`seqnet_status` `recentViewsMs`). */
export interface RecentViewStats {
  views: number;
  medianMs: number;
  p90Ms: number;
  slowestMs: number;
}

export class AdaptiveViewTimeout {
  private readonly recent: number[] = [];

  constructor(
    readonly ceilingMs: number,
    readonly floorMs: number = Math.max(1, Math.floor(ceilingMs / 4)),
    readonly factor = 4,
    readonly window = 32,
    /** Views observed before the timeout adapts: until then, the ceiling. */
    readonly warmUp = 8,
  ) {}

  /** A view that reached a QC took `ms` here. */
  observe(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.recent.push(ms);
    if (this.recent.length > this.window) this.recent.shift();
  }

  /** The base timeout now (the core's backoff multiplies it). */
  get baseMs(): number {
    if (this.recent.length < this.warmUp) return this.ceilingMs;
    const slowest = Math.max(...this.recent);
    return Math.min(this.ceilingMs, Math.max(this.floorMs, Math.ceil(this.factor * slowest)));
  }

  /** The recent views it adapts to (ms), for status pages; null before the first. */
  recentStats(): RecentViewStats | null {
    if (this.recent.length === 0) return null;
    const sorted = [...this.recent].sort((a, b) => a - b);
    const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
    return { views: sorted.length, medianMs: at(0.5), p90Ms: at(0.9), slowestMs: at(1) };
  }

  /** The core's timer (ceiling × backoff, or a share of it) scaled to the adapted base. */
  scale(coreMs: number): number {
    return Math.max(1, Math.round((coreMs * this.baseMs) / this.ceilingMs));
  }
}
