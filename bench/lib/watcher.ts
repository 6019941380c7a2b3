import type { Hex } from 'viem';
import { WsRpc } from './rpc.js';

/** When the client learnt that a tx is in a sealed block. */
export interface Inclusion {
  block: number;
  /** performance.now() when the newHeads notification of that block arrived: the soft confirmation. */
  announcedAt: number;
  /** performance.now() when the block's tx hashes arrived (eth_getBlockByNumber after the head). */
  seenAt: number;
}

interface HeadResult {
  number: Hex;
}
interface BlockResult {
  number: Hex;
  transactions: Hex[];
}

/**
 * Follows the chain over one WebSocket: a `newHeads` subscription, then `eth_getBlockByNumber(n,false)`
 * for each announced block, so every tx hash gets the time its block was announced. Replaces receipt
 * polling (viem's default polls every 4 s, which would swamp the figures).
 */
export class BlockWatcher {
  private readonly included = new Map<Hex, Inclusion>();
  private readonly waiters = new Map<Hex, (inc: Inclusion) => void>();
  private readonly announcedAt = new Map<number, number>();
  private lastAnnounced: number;
  private lastRequested: number;
  private failure?: Error;

  private constructor(
    private readonly ws: WsRpc,
    head: number,
  ) {
    this.lastAnnounced = head;
    this.lastRequested = head;
  }

  static async start(wsUrl: string): Promise<BlockWatcher> {
    const ws = await WsRpc.connect(wsUrl);
    const head = Number(await ws.call<Hex>('eth_blockNumber'));
    const watcher = new BlockWatcher(ws, head);
    await ws.subscribe('newHeads', (h) => watcher.onHead(Number((h as HeadResult).number)));
    return watcher;
  }

  private onHead(n: number): void {
    const now = performance.now();
    // A skipped notification still gets a time: the first announcement at or after it.
    for (let k = this.lastAnnounced + 1; k <= n; k++)
      if (!this.announcedAt.has(k)) this.announcedAt.set(k, now);
    if (n > this.lastAnnounced) this.lastAnnounced = n;
    // Fetch every block not yet asked for, in parallel: a slow reply must not hold later blocks back.
    for (let k = this.lastRequested + 1; k <= this.lastAnnounced; k++) void this.fetch(k, 0);
    if (this.lastAnnounced > this.lastRequested) this.lastRequested = this.lastAnnounced;
  }

  private async fetch(n: number, attempt: number): Promise<void> {
    try {
      const block = await this.ws.call<BlockResult | null>('eth_getBlockByNumber', [
        `0x${n.toString(16)}`,
        false,
      ]);
      if (!block) {
        // Announced but not readable yet; bounded retries.
        if (attempt >= 200) throw new Error(`block ${n} announced but not served after 200 tries`);
        await new Promise((r) => setTimeout(r, 5));
        return this.fetch(n, attempt + 1);
      }
      const seenAt = performance.now();
      const announcedAt = this.announcedAt.get(n) ?? seenAt;
      this.announcedAt.delete(n);
      for (const hash of block.transactions) {
        const key = hash.toLowerCase() as Hex;
        if (this.included.has(key)) continue;
        const inc: Inclusion = { block: n, announcedAt, seenAt };
        this.included.set(key, inc);
        const w = this.waiters.get(key);
        if (w) {
          this.waiters.delete(key);
          w(inc);
        }
      }
    } catch (err) {
      this.failure ??= err as Error;
    }
  }

  /** Resolves when the tx is seen in a block (register before sending: automine may beat the ack). */
  confirmed(hash: Hex): Promise<Inclusion> {
    const key = hash.toLowerCase() as Hex;
    const known = this.included.get(key);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => this.waiters.set(key, resolve));
  }

  /** Stops waiting for txs that will not come (deadline passed). */
  forget(hashes: Iterable<Hex>): void {
    for (const h of hashes) this.waiters.delete(h.toLowerCase() as Hex);
  }

  get error(): Error | undefined {
    return this.failure;
  }

  close(): void {
    this.ws.close();
  }
}
