/**
 * App-level peer scoring: each penalty (a rejected gossip message, an oversized or malformed frame,
 * or the application's own `penalise`) counts against the peer for `windowMs`; `maxPenalties` of
 * them within that window ban the peer for `banMs`. Pure: the clock is passed in.
 */
const MAX_TRACKED = 4096;

export interface PenaltyOptions {
  maxPenalties: number;
  windowMs: number;
  banMs: number;
}

export interface PenaltyOutcome {
  /** Live penalties of the peer after this one. */
  count: number;
  /** True when this penalty banned the peer (it was not banned before). */
  banned: boolean;
}

export class PeerPenalties {
  private readonly penalties = new Map<string, number[]>();
  private readonly bans = new Map<string, number>();

  constructor(
    private readonly opts: PenaltyOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records one penalty against `peer`. */
  add(peer: string): PenaltyOutcome {
    const t = this.now();
    const live = this.live(peer, t);
    live.push(t);
    this.penalties.delete(peer);
    this.penalties.set(peer, live);
    // bounded memory: forget the least recently penalised peers beyond MAX_TRACKED
    while (this.penalties.size > MAX_TRACKED) this.penalties.delete(this.penalties.keys().next().value!);
    if (live.length >= this.opts.maxPenalties && !this.isBanned(peer)) {
      this.bans.set(peer, t + this.opts.banMs);
      this.penalties.delete(peer);
      return { count: live.length, banned: true };
    }
    return { count: live.length, banned: false };
  }

  /** Penalties of `peer` still within the window. */
  count(peer: string): number {
    const live = this.live(peer, this.now());
    if (live.length === 0) this.penalties.delete(peer);
    else this.penalties.set(peer, live);
    return live.length;
  }

  /** When the peer's ban ends (ms since the epoch), or undefined when it is not banned. */
  bannedUntil(peer: string): number | undefined {
    const until = this.bans.get(peer);
    if (until === undefined) return undefined;
    if (until <= this.now()) {
      this.bans.delete(peer);
      return undefined;
    }
    return until;
  }

  isBanned(peer: string): boolean {
    return this.bannedUntil(peer) !== undefined;
  }

  private live(peer: string, t: number): number[] {
    const all = this.penalties.get(peer);
    if (all === undefined) return [];
    const from = t - this.opts.windowMs;
    let i = 0;
    while (i < all.length && all[i] <= from) i++;
    return i === 0 ? all : all.slice(i);
  }
}
