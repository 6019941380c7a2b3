import { type Hex, keccak256, toHex } from '../util/bytes.js';

/**
 * Txs that committee peers sent (gossiped batches, or re-sent after a timeout) on their way into the
 * pool: each peer's batches one after another, so a sender's txs (which reach the committee through
 * the member they were sent to) stay in order, and each batch's txs at once, so the intake pool checks
 * them in one worker message (one at a time, a re-sent batch of 25 took 25 worker round trips).
 * Different peers' batches do not wait for one another: one queue for all put every peer's txs behind
 * the slowest batch: the auction's winner, which builds every block and takes most of its txs from
 * peers, preconfirmed at 50 tx/s with p90 529–1,654 ms (three runs of bench/modes.ts --modes auction);
 * with a queue per peer 340–591 ms (three runs), 329 ms before the intake existed (one run).
 *
 * Gossip hands a batch over with `takeGossiped`, which returns before the txs are in: gossipsub
 * validates one peer's messages one after another, and a batch awaited there held that peer's
 * proposals, votes and timeouts behind it. Only a backlog over `maxQueued` txs holds the peer back.
 *
 * A tx `known` says this node holds (in a block committed lately; one in the pool, the pool refuses
 * at the cost of a hash) is passed over when its batch's turn comes, before the pool's checks: under
 * load a block often commits before its txs' gossip is through this queue, and each such tx cost a
 * signature recovery in the intake worker and an account read on the main thread, to be refused as
 * `nonce too low` (bench/committee.ts at 500 tx/s: about half of a member's committed txs came by
 * gossip after their block).
 */
export class PeerTxIntake {
  /** The last batch of each peer still being added. */
  private readonly tails = new Map<string, Promise<void>>();
  private queued = 0;
  private readonly adding = new Set<Hex>();
  /** Txs passed over because `known` said this node holds them already. */
  skippedKnown = 0;

  private readonly maxQueued: number;
  private readonly known: (hash: Hex) => boolean;

  constructor(
    /** Adds one tx to the pool; a rejection is the pool's verdict (known, nonce too low…), not an error here. */
    private readonly add: (raw: Uint8Array) => Promise<unknown>,
    opts: {
      /** Queued txs over which a gossiped batch is awaited (holding its peer back). */
      maxQueued?: number;
      /** Whether this node holds the tx with this hash already (nothing to add). */
      known?: (hash: Hex) => boolean;
    } = {},
  ) {
    this.maxQueued = opts.maxQueued ?? 4_096;
    this.known = opts.known ?? (() => false);
  }

  /** Queues a batch from `peer` after its earlier ones; resolves once its txs are in the pool (or refused by it). */
  take(txs: readonly Uint8Array[], peer = ''): Promise<void> {
    this.queued += txs.length;
    const run = (this.tails.get(peer) ?? Promise.resolve()).then(async () => {
      const hashes: Hex[] = [];
      const fresh: Uint8Array[] = [];
      for (const raw of txs) {
        const hash = toHex(keccak256(raw));
        if (this.known(hash)) this.skippedKnown++;
        else {
          hashes.push(hash);
          fresh.push(raw);
        }
      }
      for (const hash of hashes) this.adding.add(hash);
      await Promise.all(fresh.map((raw) => this.add(raw).catch(() => {})));
      for (const hash of hashes) this.adding.delete(hash);
    });
    const tail: Promise<void> = run
      .catch(() => {})
      .finally(() => {
        this.queued -= txs.length;
        if (this.tails.get(peer) === tail) this.tails.delete(peer);
      });
    this.tails.set(peer, tail);
    return tail;
  }

  /** Queues a gossiped batch and returns at once, unless the backlog is over `maxQueued` txs. */
  async takeGossiped(txs: readonly Uint8Array[], peer = ''): Promise<void> {
    const done = this.take(txs, peer);
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
