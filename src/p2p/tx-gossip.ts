import { RLP } from '@ethereumjs/rlp';
import type pino from 'pino';
import type { Network, Verdict } from './network.js';

/**
 * Gossips raw transactions in batches: txs handed to `send` within `batchMs` (or until the batch
 * reaches `maxBatchBytes` / `maxBatchTxs`) go out as one gossip message (a tx after a quiet spell
 * goes at once), the RLP list of the raw
 * txs in the order they were sent. Batches are published one after another, so a sender's txs keep
 * their order along any one path through the mesh. The receiver's handler gets the decoded list.
 */
export interface TxGossipOptions {
  /**
   * How long the first tx of a batch waits for company, ms. A tx that comes more than this after the
   * last batch left goes at once: at low rates a batch of one would only wait.
   */
  batchMs: number;
  /** A batch is sent as soon as its raw txs total this many bytes (keep under the network's maxFrameBytes). */
  maxBatchBytes: number;
  maxBatchTxs: number;
}

export const txGossipDefaults: TxGossipOptions = {
  batchMs: 5,
  maxBatchBytes: 1024 * 1024,
  maxBatchTxs: 5000,
};

/** Validates and consumes one batch; 'reject' penalises the peer that relayed it. */
export type TxBatchHandler = (txs: Uint8Array[], via: string) => Verdict | Promise<Verdict>;

/** Decodes a batch: a non-empty RLP list of non-empty byte strings, or undefined. */
export function decodeTxBatch(data: Uint8Array): Uint8Array[] | undefined {
  let decoded: unknown;
  try {
    decoded = RLP.decode(data);
  } catch {
    return undefined;
  }
  if (!Array.isArray(decoded) || decoded.length === 0) return undefined;
  for (const tx of decoded) if (!(tx instanceof Uint8Array) || tx.length === 0) return undefined;
  return decoded as Uint8Array[];
}

export const encodeTxBatch = (txs: Uint8Array[]): Uint8Array => RLP.encode(txs);

export class TxGossip {
  private readonly opts: TxGossipOptions;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The chain of publishes, so batches leave in order. */
  private publishing: Promise<void> = Promise.resolve();
  private stopped = false;
  /** performance.now() when the last batch left. */
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  /** Batches and txs published, for metrics and tests. */
  readonly sent = { batches: 0, txs: 0 };

  constructor(
    private readonly network: Network,
    private readonly topic: string,
    private readonly log: pino.Logger,
    opts: Partial<TxGossipOptions> = {},
  ) {
    this.opts = { ...txGossipDefaults, ...opts };
  }

  /** Queues one raw tx for the next batch. Never throws for network reasons (failures are logged). */
  send(rawTx: Uint8Array): void {
    if (this.stopped) return;
    this.pending.push(rawTx);
    this.pendingBytes += rawTx.length;
    if (this.pending.length >= this.opts.maxBatchTxs || this.pendingBytes >= this.opts.maxBatchBytes) {
      void this.flush();
    } else if (this.timer === undefined) {
      if (performance.now() - this.lastFlushAt >= this.opts.batchMs) void this.flush();
      else this.timer = setTimeout(() => void this.flush(), this.opts.batchMs);
    }
  }

  /** Publishes what is queued now; resolves when every batch so far has been published. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length > 0) {
      this.lastFlushAt = performance.now();
      const txs = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      const data = encodeTxBatch(txs);
      this.publishing = this.publishing.then(async () => {
        try {
          await this.network.publish(this.topic, data);
          this.sent.batches++;
          this.sent.txs += txs.length;
        } catch (err) {
          this.log.warn(
            { topic: this.topic, txs: txs.length, err: (err as Error).message },
            'tx batch not gossiped',
          );
        }
      });
    }
    return this.publishing;
  }

  /** Registers the receiver: undecodable batches are rejected without reaching `handler`. */
  onTxs(handler: TxBatchHandler): void {
    this.network.onMessage(this.topic, (data, via) => {
      const txs = decodeTxBatch(data);
      if (txs === undefined) return 'reject';
      return handler(txs, via);
    });
  }

  /** Sends what is queued and stops batching. */
  async stop(): Promise<void> {
    await this.flush();
    this.stopped = true;
  }
}
