import type { Common } from '@ethereumjs/common';
import type { Logger } from 'pino';
import { serverError } from '../errors.js';
import { type Hex, keccak256, toHex } from '../util/bytes.js';
import type { MempoolOptions } from './options.js';
import { effectiveTip, type PoolTx } from './pool-tx.js';
import { type DecodedTx, decodeAndCheck, feeFields } from './validate.js';

/** The account state the pool checks txs against (the executed head). */
export interface AccountReader {
  nonceAndBalance(address: Hex): Promise<{ nonce: bigint; balance: bigint }>;
}

export interface MempoolDeps {
  common: Common;
  accounts: AccountReader;
  /** Base fee the next block will have. */
  baseFee(): bigint;
  blockGasLimit: bigint;
  /** The stateless checks (decodeAndCheck), e.g. in worker threads (IntakePool); inline without it. */
  decode?(raw: Uint8Array): Promise<DecodedTx>;
  /** Durably records an accepted tx before it is acknowledged (crash safety). */
  persist?(tx: PoolTx): Promise<void>;
  /** Forgets txs that left the pool. */
  unpersist?(hashes: Hex[]): void;
  logger: Logger;
}

interface SenderQueue {
  /** Executable: contiguous nonces from the account's nonce. */
  pending: PoolTx[];
  /** Gapped future nonces. */
  queued: Map<bigint, PoolTx>;
  /** Account nonce at the executed head. */
  stateNonce: bigint;
}

export type AddOutcome = { hash: Hex; status: 'pending' | 'queued' };

/**
 * Per-sender nonce queues with geth's limits, replacement by fee bump and eviction. The invariants
 * (checked by property tests): each sender's pending list is gap-free from its account nonce, no
 * sender exceeds its limits, and global counts match the queues.
 */
export class Mempool {
  private readonly senders = new Map<Hex, SenderQueue>();
  private readonly byHash = new Map<Hex, PoolTx>();
  private arrivals = 0;
  /** Counts onBlock calls, so an add can tell that a block landed while it read the account. */
  private blocksSeen = 0;
  private pendingTotal = 0;
  private queuedTotal = 0;
  private readonly waiters = new Set<() => void>();
  private readonly newTxListeners = new Set<(hash: Hex) => void>();
  /** Txs promoted from queued to pending, not announced yet. */
  private promotedSinceNotify: Hex[] = [];
  /** Txs this node has promised to carry (a based submitter's inclusion promises): see `protect`. */
  private isProtected: (hash: Hex) => boolean = () => false;

  constructor(
    readonly options: MempoolOptions,
    private readonly deps: MempoolDeps,
  ) {}

  get pendingCount(): number {
    return this.pendingTotal;
  }

  get queuedCount(): number {
    return this.queuedTotal;
  }

  has(hash: Hex): boolean {
    return this.byHash.has(hash);
  }

  /**
   * Txs for which `isProtected` holds are neither replaced by their sender nor evicted for a better-paying
   * tx: this node promised to carry them (a based submitter's inclusion promises), and a pool that let
   * them go would break the promise for whoever relied on it.
   */
  protect(isProtected: (hash: Hex) => boolean): void {
    this.isProtected = isProtected;
  }

  get(hash: Hex): PoolTx | undefined {
    return this.byHash.get(hash);
  }

  /** Validates and adds a raw signed tx; throws an RpcError with geth's message on rejection. */
  async add(raw: Uint8Array): Promise<AddOutcome> {
    // Before decoding, as geth: the same bytes again (a peer's second copy, a wallet's retry) cost one
    // hash, not a decode and a signature recovery. (The hash of a tx is the hash of its bytes.)
    if (this.byHash.has(toHex(keccak256(raw)))) throw serverError('already known');
    const { tx, hash, sender } = this.deps.decode
      ? await this.deps.decode(raw)
      : decodeAndCheck(raw, this.deps.common, this.options, this.deps.blockGasLimit);
    if (this.byHash.has(hash)) throw serverError('already known');
    // A block sealed while we read would make the read stale (its nonce already spent): read again.
    let account: { nonce: bigint; balance: bigint };
    for (let tries = 0; ; tries++) {
      const seen = this.blocksSeen;
      account = await this.deps.accounts.nonceAndBalance(sender);
      if (seen === this.blocksSeen || tries >= 3) break;
    }
    // Re-check after the await: another add may have raced us.
    if (this.byHash.has(hash)) throw serverError('already known');
    const { maxFee, maxTip } = feeFields(tx);
    const baseFee = this.deps.baseFee();
    if (maxFee < baseFee) {
      throw serverError(
        `max fee per gas less than block base fee: address ${sender}, maxFeePerGas: ${maxFee}, baseFee: ${baseFee}`,
      );
    }
    const existingQueue = this.senders.get(sender);
    const stateNonce = existingQueue?.stateNonce ?? account.nonce;
    if (tx.nonce < stateNonce) {
      throw serverError(`nonce too low: next nonce ${stateNonce}, tx nonce ${tx.nonce}`);
    }
    const entry: PoolTx = {
      tx,
      raw,
      hash,
      sender,
      nonce: tx.nonce,
      gasLimit: tx.gasLimit,
      maxFee,
      maxTip,
      cost: tx.gasLimit * maxFee + tx.value,
      arrival: this.arrivals++,
      addedAt: Date.now(),
    };
    this.checkFunds(existingQueue, entry, account.balance);
    const queue = existingQueue ?? { pending: [], queued: new Map(), stateNonce };
    let inserted: { status: 'pending' | 'queued'; replaced?: PoolTx };
    try {
      inserted = this.insert(queue, entry, baseFee);
    } finally {
      // Only a queue that now holds something is kept: rejected adds leave nothing behind.
      if (!existingQueue && (queue.pending.length > 0 || queue.queued.size > 0))
        this.senders.set(sender, queue);
    }
    if (this.deps.persist) {
      try {
        await this.deps.persist(entry);
      } catch (err) {
        this.undoInsert(entry, inserted.replaced);
        throw serverError(`could not store the transaction, try again: ${(err as Error).message}`);
      }
    }
    if (inserted.replaced) this.deps.unpersist?.([inserted.replaced.hash]);
    if (inserted.status === 'pending') this.notify(hash);
    this.notifyPromoted();
    return { hash, status: inserted.status };
  }

  /**
   * geth's balance rules: the tx alone must be affordable, and so must everything the sender has in
   * the pool with it (a replacement counts only its extra cost).
   */
  private checkFunds(q: SenderQueue | undefined, entry: PoolTx, balance: bigint): void {
    const prefix = 'insufficient funds for gas * price + value';
    if (balance < entry.cost) {
      throw serverError(
        `${prefix}: balance ${balance}, tx cost ${entry.cost}, overshot ${entry.cost - balance}`,
      );
    }
    if (!q) return;
    let spent = 0n;
    let previous: PoolTx | undefined;
    for (const t of q.pending) {
      spent += t.cost;
      if (t.nonce === entry.nonce) previous = t;
    }
    for (const t of q.queued.values()) {
      spent += t.cost;
      if (t.nonce === entry.nonce) previous = t;
    }
    if (previous) {
      const bump = entry.cost - previous.cost;
      if (balance < spent + bump) {
        throw serverError(
          `${prefix}: balance ${balance}, queued cost ${spent}, tx bumped ${bump}, overshot ${spent + bump - balance}`,
        );
      }
    } else if (balance < spent + entry.cost) {
      throw serverError(
        `${prefix}: balance ${balance}, queued cost ${spent}, overshot ${spent + entry.cost - balance}`,
      );
    }
  }

  private insert(
    q: SenderQueue,
    entry: PoolTx,
    baseFee: bigint,
  ): { status: 'pending' | 'queued'; replaced?: PoolTx } {
    const idx = Number(entry.nonce - q.stateNonce);
    const existing = idx < q.pending.length ? q.pending[idx] : q.queued.get(entry.nonce);
    if (existing) {
      if (this.isProtected(existing.hash))
        throw serverError(
          `replacement transaction refused: ${existing.hash} (nonce ${existing.nonce}) is promised for inclusion by this node; wait for it on L2 or send the next nonce`,
        );
      this.checkReplacement(existing, entry);
      this.byHash.delete(existing.hash);
      if (idx < q.pending.length) q.pending[idx] = entry;
      else q.queued.set(entry.nonce, entry);
      this.byHash.set(entry.hash, entry);
      return { status: idx < q.pending.length ? 'pending' : 'queued', replaced: existing };
    }
    if (idx === q.pending.length) {
      if (q.pending.length >= this.options.maxPendingPerSender) throw serverError('account limit exceeded');
      this.makeRoom('pending', entry, baseFee);
      q.pending.push(entry);
      this.pendingTotal++;
      this.byHash.set(entry.hash, entry);
      this.promote(q);
      return { status: 'pending' };
    }
    if (q.queued.size >= this.options.maxQueuedPerSender) throw serverError('account limit exceeded');
    this.makeRoom('queued', entry, baseFee);
    q.queued.set(entry.nonce, entry);
    this.queuedTotal++;
    this.byHash.set(entry.hash, entry);
    return { status: 'queued' };
  }

  /** Takes back an insert whose persist failed, putting a replaced tx back in its slot. */
  private undoInsert(entry: PoolTx, replaced: PoolTx | undefined): void {
    const q = this.senders.get(entry.sender);
    if (replaced && q && this.byHash.get(entry.hash) === entry) {
      const idx = q.pending.indexOf(entry);
      if (idx >= 0) q.pending[idx] = replaced;
      else q.queued.set(replaced.nonce, replaced);
      this.byHash.delete(entry.hash);
      this.byHash.set(replaced.hash, replaced);
      return;
    }
    this.removeTx(entry);
  }

  private checkReplacement(old: PoolTx, next: PoolTx): void {
    const bump = BigInt(100 + this.options.priceBumpPercent);
    if (next.maxFee * 100n < old.maxFee * bump || next.maxTip * 100n < old.maxTip * bump) {
      throw serverError('replacement transaction underpriced');
    }
  }

  /** When the pool is full, evicts the cheapest tx if the newcomer pays more; else rejects. */
  private makeRoom(kind: 'pending' | 'queued', entry: PoolTx, baseFee: bigint): void {
    const kindFull =
      kind === 'pending'
        ? this.pendingTotal >= this.options.maxPending
        : this.queuedTotal >= this.options.maxQueued;
    // Promotion can push pending past its limit; the pool as a whole stays bounded (geth's rule).
    const poolFull = this.pendingTotal + this.queuedTotal >= this.options.maxPending + this.options.maxQueued;
    if (!kindFull && !poolFull) return;
    let victim: PoolTx | undefined;
    for (const q of this.senders.values()) {
      // Only a sender's last tx can go without leaving a nonce gap.
      const last = kind === 'pending' ? q.pending[q.pending.length - 1] : lastQueued(q);
      if (
        last &&
        last.sender !== entry.sender &&
        !this.isProtected(last.hash) &&
        (!victim || effectiveTip(last, baseFee) < effectiveTip(victim, baseFee))
      ) {
        victim = last;
      }
    }
    if (!victim || effectiveTip(victim, baseFee) >= effectiveTip(entry, baseFee))
      throw serverError('txpool is full');
    this.deps.logger.debug({ evicted: victim.hash, by: entry.hash }, 'pool full: evicted cheapest tx');
    this.removeTx(victim);
  }

  /**
   * Moves queued txs that became contiguous into pending, and announces them as new pending txs: a
   * committee member gossips only executable txs, so a tx that arrived ahead of its nonce must be
   * announced when it becomes executable, or no other member (the leader) ever sees it.
   */
  private promote(q: SenderQueue): void {
    const promoted: Hex[] = [];
    for (;;) {
      const next = q.stateNonce + BigInt(q.pending.length);
      const t = q.queued.get(next);
      if (!t || q.pending.length >= this.options.maxPendingPerSender) break;
      q.queued.delete(next);
      q.pending.push(t);
      this.queuedTotal--;
      this.pendingTotal++;
      promoted.push(t.hash);
    }
    if (promoted.length) this.promotedSinceNotify.push(...promoted);
  }

  /** Announces txs promoted since the last call (after the add or block that promoted them). */
  private notifyPromoted(): void {
    const hashes = this.promotedSinceNotify;
    if (!hashes.length) return;
    this.promotedSinceNotify = [];
    for (const h of hashes) if (this.byHash.has(h)) this.notify(h);
  }

  private forget(t: PoolTx): void {
    this.byHash.delete(t.hash);
    this.deps.unpersist?.([t.hash]);
  }

  /** Removes one tx; its sender's later pending txs become gapped and move to queued. */
  removeTx(t: PoolTx): void {
    const q = this.senders.get(t.sender);
    if (!q || this.byHash.get(t.hash) !== t) return;
    const idx = q.pending.indexOf(t);
    if (idx >= 0) {
      const tail = q.pending.splice(idx);
      this.pendingTotal -= tail.length;
      for (const later of tail.slice(1)) {
        q.queued.set(later.nonce, later);
        this.queuedTotal++;
      }
      // Past the queued limits, the sender's highest nonces go first (geth's truncateQueue).
      const dropped: Hex[] = [];
      while (
        q.queued.size > this.options.maxQueuedPerSender ||
        (this.queuedTotal > this.options.maxQueued && q.queued.size > 0)
      ) {
        const highest = lastQueued(q)!;
        q.queued.delete(highest.nonce);
        this.queuedTotal--;
        this.byHash.delete(highest.hash);
        dropped.push(highest.hash);
      }
      if (dropped.length) this.deps.unpersist?.(dropped);
    } else if (q.queued.get(t.nonce) === t) {
      q.queued.delete(t.nonce);
      this.queuedTotal--;
    }
    this.forget(t);
    this.dropIfEmpty(t.sender, q);
  }

  private dropIfEmpty(sender: Hex, q: SenderQueue): void {
    if (q.pending.length === 0 && q.queued.size === 0) this.senders.delete(sender);
  }

  /** Each sender's executable txs in nonce order: the input of the ordering policy. */
  candidates(): PoolTx[][] {
    const out: PoolTx[][] = [];
    for (const q of this.senders.values()) if (q.pending.length) out.push(q.pending);
    return out;
  }

  /** Next nonce for `eth_getTransactionCount(addr, "pending")`. */
  pendingNonce(sender: Hex, stateNonce: bigint): bigint {
    const q = this.senders.get(sender);
    if (!q) return stateNonce;
    return q.stateNonce + BigInt(q.pending.length);
  }

  /**
   * After a block: the senders' account nonces moved. Drops txs below the new nonce (included, or
   * replaced by ones that were), drops txs execution skipped, and re-queues what is no longer contiguous.
   */
  onBlock(newNonces: Map<Hex, bigint>, skipped: Hex[]): void {
    this.blocksSeen++;
    for (const hash of skipped) {
      const t = this.byHash.get(hash);
      if (t) this.removeTx(t);
    }
    const gone: Hex[] = [];
    // Re-queued txs that were executable before are not new: only the ones a block unblocked are announced.
    const wasPending = new Set<Hex>();
    for (const [sender, nonce] of newNonces) {
      const q = this.senders.get(sender);
      if (!q) continue;
      for (const t of q.pending) wasPending.add(t.hash);
      const all = [...q.pending, ...q.queued.values()];
      this.pendingTotal -= q.pending.length;
      this.queuedTotal -= q.queued.size;
      q.pending = [];
      q.queued = new Map();
      q.stateNonce = nonce;
      for (const t of all) {
        if (t.nonce < nonce) {
          this.byHash.delete(t.hash);
          gone.push(t.hash);
        } else {
          q.queued.set(t.nonce, t);
          this.queuedTotal++;
        }
      }
      this.promote(q);
      this.dropIfEmpty(sender, q);
    }
    if (gone.length) this.deps.unpersist?.(gone);
    this.promotedSinceNotify = this.promotedSinceNotify.filter((h) => !wasPending.has(h));
    this.notifyPromoted();
  }

  /** Drops queued txs older than the lifetime (geth's 3 h). */
  expireQueued(now = Date.now()): number {
    let dropped = 0;
    for (const q of [...this.senders.values()]) {
      for (const t of [...q.queued.values()]) {
        if (now - t.addedAt > this.options.queuedLifetimeMs) {
          this.removeTx(t);
          dropped++;
        }
      }
    }
    return dropped;
  }

  /** Resolves once there is at least one executable tx. */
  waitForPending(signal?: AbortSignal): Promise<void> {
    if (this.pendingTotal > 0) return Promise.resolve();
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

  onNewPending(listener: (hash: Hex) => void): () => void {
    this.newTxListeners.add(listener);
    return () => this.newTxListeners.delete(listener);
  }

  private notify(hash: Hex): void {
    for (const w of [...this.waiters]) w();
    for (const l of this.newTxListeners) l(hash);
  }

  /** Every tx in the pool, each sender's in nonce order (for rewriting the journal). */
  *rawTxs(): Generator<Uint8Array> {
    for (const q of this.senders.values()) {
      for (const t of q.pending) yield t.raw;
      for (const t of q.queued.values()) yield t.raw;
    }
  }

  /** Snapshot for txpool_content-style inspection and tests. */
  inspect(): Array<{ sender: Hex; stateNonce: bigint; pending: PoolTx[]; queued: PoolTx[] }> {
    return [...this.senders.entries()].map(([sender, q]) => ({
      sender,
      stateNonce: q.stateNonce,
      pending: [...q.pending],
      queued: [...q.queued.values()].sort((a, b) => (a.nonce < b.nonce ? -1 : 1)),
    }));
  }
}

function lastQueued(q: SenderQueue): PoolTx | undefined {
  let last: PoolTx | undefined;
  for (const t of q.queued.values()) if (!last || t.nonce > last.nonce) last = t;
  return last;
}
