import type { Logger } from 'pino';
import { createPublicClient, type Hex, http, type PublicClient, parseAbiItem } from 'viem';

/** An L1 → L2 message from the L1MessageQueue: an ETH deposit or a forced transaction. */
export interface L1Message {
  index: bigint;
  kind: 'deposit' | 'forced';
  from: Hex;
  to: Hex;
  value: bigint;
  data: Hex;
  /** The L1 block that emitted it: it goes into the first L2 block whose origin is this or later. */
  l1Block: bigint;
}

export interface L1BlockRef {
  number: bigint;
  hash: Hex;
  timestamp: bigint;
}

/** What the sequencer needs from L1: an origin to build on, and the messages it must include. */
export interface L1Source {
  /**
   * The newest L1 block with enough confirmations to serve as an origin; with `notAfter`, the newest
   * such block read lately whose timestamp is at most that (an L1 whose clock jumped ahead has none
   * after the jump until the wall clock catches up), or undefined.
   */
  safeHead(notAfter?: bigint): L1BlockRef | undefined;
  /** Messages with index ≥ cursor emitted at or below L1 block `origin`, in log order. */
  messagesFor(cursor: bigint, origin: bigint): L1Message[];
  /** Resolves when the safe head moves (or the signal aborts). */
  waitForChange(signal?: AbortSignal): Promise<void>;
}

export interface L1WatcherOptions {
  rpcUrl: string;
  queue: Hex;
  /** Scan from here (the contracts' deployment block). */
  fromBlock: bigint;
  /** An origin is at least this many blocks below the L1 head (DECISIONS.md §3's k). */
  confirmations: number;
  pollMs: number;
  /** Called when an L1 reorg took back blocks already read, with the messages it removed. */
  onReorg?: (reorg: L1Reorg) => void;
}

export interface L1Reorg {
  /** The newest block read before that is still on the L1's chain. */
  commonAncestor: bigint;
  /** The block read last, now gone. */
  lost: bigint;
  droppedMessages: L1Message[];
}

const L1_MESSAGE = parseAbiItem(
  'event L1Message(uint256 indexed index, uint8 indexed kind, address indexed from, address to, uint256 value, bytes data)',
);

/**
 * Follows the L1: the safe head (head − confirmations) and the L1MessageQueue's messages up to it.
 * An L1 RPC outage only delays it: it keeps polling and logs what it waits for.
 */
export class L1Watcher implements L1Source {
  private readonly client: PublicClient;
  private readonly messages: L1Message[] = [];
  private safe?: L1BlockRef;
  private scannedTo: bigint;
  private readonly waiters = new Set<() => void>();
  private failing = false;
  /** Hashes of the safe heads read lately, newest last: how far back a reorg reaches. */
  private readonly seen: L1BlockRef[] = [];
  /** The scan under way: a scan asked for meanwhile joins it (two at once would read one range twice). */
  private scanning?: Promise<void>;

  constructor(
    private readonly options: L1WatcherOptions,
    private readonly logger: Logger,
  ) {
    // batch: the reads a scan makes together go as one JSON-RPC batch (one HTTP round trip).
    this.client = createPublicClient({
      transport: http(options.rpcUrl, { retryCount: 0, timeout: 5_000, batch: true }),
    });
    this.scannedTo = options.fromBlock - 1n;
  }

  /** One scan now (so the node starts with a current origin), then keeps polling until aborted. */
  async start(signal: AbortSignal): Promise<void> {
    await this.poll();
    void (async () => {
      while (!signal.aborted) {
        await new Promise((r) => setTimeout(r, this.options.pollMs));
        if (!signal.aborted) await this.poll();
      }
    })();
  }

  /** The last L1 block whose messages are all known here. */
  scannedThrough(): bigint {
    return this.scannedTo;
  }

  safeHead(notAfter?: bigint): L1BlockRef | undefined {
    if (notAfter === undefined || !this.safe || this.safe.timestamp <= notAfter) return this.safe;
    for (let i = this.seen.length - 1; i >= 0; i--)
      if (this.seen[i].timestamp <= notAfter) return this.seen[i];
    return undefined;
  }

  messagesFor(cursor: bigint, origin: bigint): L1Message[] {
    const out: L1Message[] = [];
    for (let i = Number(cursor); i < this.messages.length; i++) {
      const m = this.messages[i];
      if (m.l1Block > origin) break;
      out.push(m);
    }
    return out;
  }

  waitForChange(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Follows L1 reorgs: when the last safe head read is no longer on the chain, go back to the newest
   * one that is, forget the messages above it and read from there again. Messages an L2 block
   * already applied cannot be taken back here: the caller hears of them through `onReorg`.
   */
  private async checkReorg(
    last: L1BlockRef,
    now: { hash: Hex | null } | undefined,
    head: bigint,
  ): Promise<void> {
    if (now && now.hash === last.hash) return;
    // The block is there but could not be read: a failed request, not a shorter chain.
    if (!now && head >= last.number) return;
    let ancestor = this.options.fromBlock - 1n;
    while (this.seen.length) {
      const ref = this.seen[this.seen.length - 1];
      const b = await this.client.getBlock({ blockNumber: ref.number }).catch(() => undefined);
      if (b && b.hash === ref.hash) {
        ancestor = ref.number;
        break;
      }
      this.seen.pop();
    }
    const keep = this.messages.findIndex((m) => m.l1Block > ancestor);
    const dropped = keep === -1 ? [] : this.messages.splice(keep);
    this.scannedTo = ancestor < this.scannedTo ? ancestor : this.scannedTo;
    this.safe = this.seen[this.seen.length - 1];
    const reorg = { commonAncestor: ancestor, lost: last.number, droppedMessages: dropped };
    this.logger.warn(
      { commonAncestor: Number(ancestor), lost: Number(last.number), droppedMessages: dropped.length },
      'L1 reorg: reading the L1 again from the common ancestor',
    );
    this.options.onReorg?.(reorg);
  }

  /**
   * One scan of the L1 (the background loop calls it every pollMs; a node that meets an L1 block it
   * has not read yet asks for one at once); never throws.
   */
  poll(): Promise<void> {
    this.scanning ??= this.scan().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  private async scan(): Promise<void> {
    try {
      // The last safe head read (is it still on the chain?) and the head, in one round trip: most
      // polls find no new L1 block and end here. Two requests a poll, four polls a second in a
      // devnet, were ~3 % of a committee member's CPU (a profile of bench/modes.ts; fetch is costly).
      const last = this.seen[this.seen.length - 1];
      const [now, head] = await Promise.all([
        last ? this.client.getBlock({ blockNumber: last.number }).catch(() => undefined) : undefined,
        this.client.getBlockNumber({ cacheTime: 0 }),
      ]);
      if (last) await this.checkReorg(last, now, head);
      const target = head - BigInt(this.options.confirmations);
      if (target < this.options.fromBlock || (this.safe && target <= this.safe.number)) return;
      // Asked for now, so that it goes in one batch with the first chunk of logs.
      const targetBlock = this.client.getBlock({ blockNumber: target });
      targetBlock.catch(() => {}); // awaited below, unless reading the logs fails first
      // Logs in chunks, so a long catch-up never asks one huge range.
      for (let from = this.scannedTo + 1n; from <= target; from += 2_000n) {
        const to = from + 1_999n < target ? from + 1_999n : target;
        const logs = await this.client.getLogs({
          address: this.options.queue,
          event: L1_MESSAGE,
          fromBlock: from,
          toBlock: to,
        });
        for (const log of logs) {
          const a = log.args;
          const index = a.index as bigint;
          if (index !== BigInt(this.messages.length)) {
            throw new Error(`L1 message ${index} out of order (have ${this.messages.length}); rescanning`);
          }
          this.messages.push({
            index,
            kind: a.kind === 0 ? 'deposit' : 'forced',
            from: a.from as Hex,
            to: a.to as Hex,
            value: a.value as bigint,
            data: a.data as Hex,
            l1Block: log.blockNumber,
          });
        }
        this.scannedTo = to;
      }
      const block = await targetBlock;
      this.safe = { number: target, hash: block.hash as Hex, timestamp: block.timestamp };
      this.seen.push(this.safe);
      if (this.seen.length > 128) this.seen.shift();
      if (this.failing) this.logger.info({ safeHead: Number(target) }, 'L1 reachable again');
      this.failing = false;
      for (const w of [...this.waiters]) w();
    } catch (err) {
      if (!this.failing)
        this.logger.warn(
          { err: (err as Error).message },
          'L1 RPC failed; retrying (L2 blocks keep their last L1 origin meanwhile)',
        );
      this.failing = true;
    }
  }
}
