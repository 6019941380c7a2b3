/**
 * Follows a committee's chain over one WebSocket per member: a `newHeads` subscription on each, and
 * `eth_getBlockByNumber(n, false)` once per block (from the first member that announced it; all
 * members serve the same chain), as bench/lib/watcher.ts does for one node. Each block keeps the time
 * every member announced it, so a tx's soft confirmation can be taken at the member it was sent to
 * (what that client sees) or at the first member to announce it. No receipt polling. A
 * `preconfirmations` subscription on each member as well gives when each member pushed a tx's commit
 * proof (committed, before it executes the block); nodes without it (older code, `--root`) give none.
 */
import type { Hex } from 'viem';
import { WsRpc } from './rpc.js';
import type { Inclusion } from './watcher.js';

export interface WatchedBlock {
  number: number;
  txCount: number;
  /** performance.now() of the first newHeads notification of this block, from any member. */
  firstAt: number;
  firstBy: number;
  /** Per member: when it announced the block (undefined: not yet, or never). */
  announcedAt: Array<number | undefined>;
  fetchedAt?: number;
  hashes?: Hex[];
}

/** Which announcement counts: a member's index, or 'first' (the earliest from any member). */
export type Vantage = number | 'first';

interface Waiter {
  vantage: Vantage;
  resolve: (inc: Inclusion) => void;
}

interface HeadResult {
  number: Hex;
}
interface BlockResult {
  number: Hex;
  transactions: Hex[];
}
interface PreconfirmationResult {
  transactions: Hex[];
}

export class CommitteeWatcher {
  readonly blocks = new Map<number, WatchedBlock>();
  private readonly txBlock = new Map<Hex, number>();
  private readonly waiters = new Map<Hex, Waiter>();
  private readonly lastAnnounced: number[];
  /** Per tx: when each member pushed its preconfirmation (performance.now()). */
  private readonly pushedAt = new Map<Hex, Array<number | undefined>>();
  private readonly ws: Array<WsRpc | undefined>;
  private failure?: Error;

  private constructor(
    ws: WsRpc[],
    private readonly startHead: number,
  ) {
    this.ws = ws;
    this.lastAnnounced = ws.map(() => startHead);
  }

  /** Head: the height to watch from (blocks at or below it are ignored). */
  static async start(wsUrls: string[]): Promise<CommitteeWatcher> {
    const ws = await Promise.all(wsUrls.map((u) => WsRpc.connect(u)));
    const heads = await Promise.all(ws.map((w) => w.call<Hex>('eth_blockNumber')));
    const head = Math.max(...heads.map((h) => Number(h)));
    const w = new CommitteeWatcher(ws, head);
    await Promise.all(
      ws.map((conn, m) => conn.subscribe('newHeads', (h) => w.onHead(m, Number((h as HeadResult).number)))),
    );
    await Promise.all(ws.map((conn, m) => w.followPreconfirmations(conn, m)));
    return w;
  }

  private async followPreconfirmations(conn: WsRpc, m: number): Promise<void> {
    try {
      await conn.subscribe('preconfirmations', (p) => this.onPreconfirmed(m, p as PreconfirmationResult));
    } catch {
      // A node before the push (a side-by-side with older code): its txs get no preconfirmation time.
    }
  }

  private onPreconfirmed(m: number, p: PreconfirmationResult): void {
    const now = performance.now();
    for (const raw of p.transactions) {
      const h = raw.toLowerCase() as Hex;
      let at = this.pushedAt.get(h);
      if (!at) {
        at = this.ws.map(() => undefined);
        this.pushedAt.set(h, at);
      }
      at[m] ??= now;
    }
  }

  /** When the member (or, 'first', any member) pushed the tx's preconfirmation; undefined: not seen. */
  preconfirmedAt(hash: Hex, vantage: Vantage): number | undefined {
    const at = this.pushedAt.get(hash.toLowerCase() as Hex);
    if (!at) return undefined;
    if (vantage !== 'first') return at[vantage];
    const seen = at.filter((t): t is number => t !== undefined);
    return seen.length ? Math.min(...seen) : undefined;
  }

  /** Reconnects member m after a restart (its old socket died with the process). */
  async reconnect(m: number, wsUrl: string): Promise<void> {
    this.ws[m]?.close();
    const conn = await WsRpc.connect(wsUrl);
    this.ws[m] = conn;
    this.lastAnnounced[m] = Math.max(this.lastAnnounced[m], Number(await conn.call<Hex>('eth_blockNumber')));
    await conn.subscribe('newHeads', (h) => this.onHead(m, Number((h as HeadResult).number)));
    await this.followPreconfirmations(conn, m);
  }

  /** Forgets member m (it was killed): no fetches go there. */
  drop(m: number): void {
    this.ws[m]?.close();
    this.ws[m] = undefined;
  }

  private block(n: number, now: number, by: number): WatchedBlock {
    let b = this.blocks.get(n);
    if (!b) {
      b = { number: n, txCount: 0, firstAt: now, firstBy: by, announcedAt: this.ws.map(() => undefined) };
      this.blocks.set(n, b);
      void this.fetch(n, by, 0);
    }
    return b;
  }

  private onHead(m: number, n: number): void {
    const now = performance.now();
    // A skipped notification still gets a time: the first announcement at or after it.
    for (let k = this.lastAnnounced[m] + 1; k <= n; k++) {
      const b = this.block(k, now, m);
      if (b.announcedAt[m] === undefined) {
        b.announcedAt[m] = now;
        if (b.hashes) this.settle(b);
      }
    }
    if (n > this.lastAnnounced[m]) this.lastAnnounced[m] = n;
  }

  private async fetch(n: number, from: number, attempt: number): Promise<void> {
    const b = this.blocks.get(n)!;
    try {
      const conn = this.ws[from];
      if (!conn) throw new Error(`member ${from} is gone`);
      const block = await conn.call<BlockResult | null>('eth_getBlockByNumber', [
        `0x${n.toString(16)}`,
        false,
      ]);
      if (!block) throw new Error(`block ${n} announced but not served`);
      b.fetchedAt = performance.now();
      b.hashes = block.transactions.map((h) => h.toLowerCase() as Hex);
      b.txCount = b.hashes.length;
      for (const h of b.hashes) if (!this.txBlock.has(h)) this.txBlock.set(h, n);
      this.settle(b);
    } catch (err) {
      // The member may have been killed, or not serve the block yet: ask another, a bounded number of times.
      if (attempt >= 200) {
        this.failure ??= new Error(`block ${n}: ${(err as Error).message} (after 200 tries)`);
        return;
      }
      await new Promise((r) => setTimeout(r, 5));
      const live = this.ws.map((w, i) => (w ? i : -1)).filter((i) => i >= 0);
      const next = live.length ? live[(live.indexOf(from) + 1) % live.length] : from;
      return this.fetch(n, attempt % 3 === 2 ? next : from, attempt + 1);
    }
  }

  /** Resolves the waiters of b's txs whose vantage has announced b. */
  private settle(b: WatchedBlock): void {
    if (!b.hashes) return;
    for (const h of b.hashes) {
      const w = this.waiters.get(h);
      if (!w || this.txBlock.get(h) !== b.number) continue;
      const at = w.vantage === 'first' ? b.firstAt : b.announcedAt[w.vantage];
      if (at === undefined) continue;
      this.waiters.delete(h);
      w.resolve({ block: b.number, announcedAt: at, seenAt: Math.max(at, b.fetchedAt!) });
    }
  }

  /** Resolves when the tx's block is announced at `vantage` (register before sending). */
  confirmed(hash: Hex, vantage: Vantage): Promise<Inclusion> {
    const key = hash.toLowerCase() as Hex;
    return new Promise((resolve) => {
      this.waiters.set(key, { vantage, resolve });
      const n = this.txBlock.get(key);
      if (n !== undefined) this.settle(this.blocks.get(n)!);
    });
  }

  forget(hashes: Iterable<Hex>): void {
    for (const h of hashes) this.waiters.delete(h.toLowerCase() as Hex);
  }

  /** Blocks first announced in [from, to) (performance.now() ms), and the txs they hold. */
  committedBetween(from: number, to: number): { blocks: number; txs: number } {
    let blocks = 0;
    let txs = 0;
    for (const b of this.blocks.values()) {
      if (b.firstAt < from || b.firstAt >= to) continue;
      blocks++;
      txs += b.txCount;
    }
    return { blocks, txs };
  }

  /** Blocks in height order, first-announced times ascending. */
  sortedBlocks(): WatchedBlock[] {
    return [...this.blocks.values()].sort((a, b) => a.number - b.number);
  }

  get head(): number {
    return Math.max(this.startHead, ...this.lastAnnounced);
  }

  get error(): Error | undefined {
    return this.failure;
  }

  close(): void {
    for (const w of this.ws) w?.close();
  }
}
