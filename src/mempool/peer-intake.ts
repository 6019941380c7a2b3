import { type Hex, keccak256, toHex } from '../util/bytes.js';

/**
 * Txs that committee peers sent (gossiped batches, or re-sent after a timeout) on their way into the
 * pool: one batch after another, so a sender's txs stay in order, and each batch's txs at once, so the
 * intake pool checks them in one worker message (one at a time, a re-sent batch of 25 took 25 worker
 * round trips).
 *
 * Gossip hands a batch over with `takeGossiped`, which returns before the txs are in: gossipsub
 * validates one peer's messages one after another, and a batch awaited there held that peer's
 * proposals, votes and timeouts behind it. Only a backlog over `maxQueued` txs holds the peer back.
 */
export class PeerTxIntake {
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  private readonly adding = new Set<Hex>();

  constructor(
    /** Adds one tx to the pool; a rejection is the pool's verdict (known, nonce too low…), not an error here. */
    private readonly add: (raw: Uint8Array) => Promise<unknown>,
    private readonly maxQueued = 4_096,
  ) {}

  /** Queues a batch; resolves once its txs are in the pool (or refused by it). */
  take(txs: readonly Uint8Array[]): Promise<void> {
    this.queued += txs.length;
    const run = this.tail.then(async () => {
      const hashes = txs.map((raw) => toHex(keccak256(raw)));
      for (const hash of hashes) this.adding.add(hash);
      await Promise.all(txs.map((raw) => this.add(raw).catch(() => {})));
      for (const hash of hashes) this.adding.delete(hash);
    });
    this.tail = run
      .catch(() => {})
      .finally(() => {
        this.queued -= txs.length;
      });
    return this.tail;
  }

  /** Queues a gossiped batch and returns at once, unless the backlog is over `maxQueued` txs. */
  async takeGossiped(txs: readonly Uint8Array[]): Promise<void> {
    const done = this.take(txs);
    if (this.queued > this.maxQueued) await done;
  }

  /** Whether the tx with this hash is being added from a peer now (the pool tells of it as new). */
  isFromPeer(hash: Hex): boolean {
    return this.adding.has(hash);
  }

  /** Txs queued or being added. */
  get backlog(): number {
    return this.queued;
  }
}
