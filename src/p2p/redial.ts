import type pino from 'pino';

/**
 * Keeps the node connected to the peers it should stay connected to: the bootstrap peers (never
 * forgotten) and committee peers learnt from the network (forgotten after `forgetAfterMs` without a
 * connection). A peer that is not connected is dialled with exponential backoff and jitter, from
 * `baseMs` up to `maxMs`; a peer that drops is redialled after `baseMs`; a banned peer waits for the
 * end of its ban.
 */
export interface RedialHooks {
  dial(peer: string, addrs: string[]): Promise<void>;
  isConnected(peer: string): boolean;
  bannedUntil(peer: string): number | undefined;
}

export interface RedialOptions {
  baseMs: number;
  maxMs: number;
  forgetAfterMs: number;
}

interface Target {
  addrs: Set<string>;
  bootstrap: boolean;
  failures: number;
  lastSeen: number;
  timer?: NodeJS.Timeout;
  dueAt?: number;
  dialling: boolean;
}

export class Redialer {
  private readonly targets = new Map<string, Target>();
  private stopped = false;

  constructor(
    private readonly hooks: RedialHooks,
    private readonly opts: RedialOptions,
    private readonly log: pino.Logger,
  ) {}

  /** Adds (or refreshes the addresses of) a peer to keep connected; dials it now if it is not. */
  keep(peer: string, addrs: string[], bootstrap: boolean): void {
    if (this.stopped) return;
    let t = this.targets.get(peer);
    if (t === undefined) {
      t = { addrs: new Set(), bootstrap, failures: 0, lastSeen: Date.now(), dialling: false };
      this.targets.set(peer, t);
    }
    t.bootstrap ||= bootstrap;
    for (const a of addrs) t.addrs.add(a);
    if (!this.hooks.isConnected(peer)) this.schedule(peer, t, 0);
  }

  connected(peer: string): void {
    const t = this.targets.get(peer);
    if (t === undefined) return;
    t.failures = 0;
    t.lastSeen = Date.now();
    this.clear(t);
  }

  disconnected(peer: string): void {
    const t = this.targets.get(peer);
    if (t === undefined || this.stopped) return;
    t.lastSeen = Date.now();
    this.schedule(peer, t, this.jitter(this.opts.baseMs));
  }

  /** Peers being kept connected, with their addresses. */
  kept(): Array<{ peer: string; addrs: string[] }> {
    return [...this.targets.entries()].map(([peer, t]) => ({ peer, addrs: [...t.addrs] }));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.targets.values()) this.clear(t);
  }

  private schedule(peer: string, t: Target, delayMs: number): void {
    const due = Date.now() + delayMs;
    if (t.timer !== undefined && t.dueAt !== undefined && t.dueAt <= due) return;
    this.clear(t);
    t.dueAt = due;
    t.timer = setTimeout(() => {
      t.timer = undefined;
      t.dueAt = undefined;
      void this.attempt(peer, t);
    }, delayMs);
    t.timer.unref();
  }

  private clear(t: Target): void {
    if (t.timer !== undefined) clearTimeout(t.timer);
    t.timer = undefined;
    t.dueAt = undefined;
  }

  private async attempt(peer: string, t: Target): Promise<void> {
    if (this.stopped || t.dialling || this.targets.get(peer) !== t) return;
    if (this.hooks.isConnected(peer)) {
      t.failures = 0;
      return;
    }
    const until = this.hooks.bannedUntil(peer);
    if (until !== undefined) {
      this.schedule(peer, t, Math.max(0, until - Date.now()) + this.jitter(this.opts.baseMs));
      return;
    }
    t.dialling = true;
    try {
      await this.hooks.dial(peer, [...t.addrs]);
      t.failures = 0;
      t.lastSeen = Date.now();
      this.log.debug({ peer }, 'dialled peer');
    } catch (err) {
      if (this.stopped) return;
      t.failures++;
      if (!t.bootstrap && Date.now() - t.lastSeen > this.opts.forgetAfterMs) {
        this.targets.delete(peer);
        this.log.info({ peer }, 'forgetting unreachable peer');
        return;
      }
      const delay = Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** t.failures);
      (t.failures <= 3 ? this.log.debug : this.log.info).call(
        this.log,
        { peer, failures: t.failures, retryInMs: Math.round(delay), err: (err as Error).message },
        'dial failed',
      );
      this.schedule(peer, t, this.jitter(delay));
    } finally {
      t.dialling = false;
    }
  }

  /** ±25 % so that peers that dropped together do not redial in lockstep. */
  private jitter(ms: number): number {
    return ms * (0.75 + Math.random() * 0.5);
  }
}
