import { RLP } from '@ethereumjs/rlp';
import type { BatchDBOp, DB } from '@ethereumjs/util';
import { type Database, open, type RootDatabase } from 'lmdb';
import { decodeSequencedBlock, hashSequencedBlock } from '../types/sequenced-block.js';
import { bigIntToBytes, bytesToBigInt, fromHex, type Hex, toHex } from '../util/bytes.js';

/** Everything the chain persists for one executed block, written in one ordered lmdb transaction. */
export interface BlockRecord {
  height: bigint;
  /** Encoded sequenced block (what was agreed). */
  sequenced: Uint8Array;
  /** Serialized executed EVM block (header + txs). */
  executed: Uint8Array;
  executedHash: Hex;
  receipts: StoredReceipt[];
  /** Encoded commit proof for the sequenced block. */
  proof: Uint8Array;
  /** Hashes of the txs in the executed block, in order. */
  txHashes: Hex[];
  /** Meta entries written in the same transaction (e.g. a follower's derivation cursor). */
  meta?: MetaEntries;
}

/** Meta entries to write with a block or a rewind: a null value deletes the key. */
export type MetaEntries = Record<string, string | null>;

/** A block taken off the top of the chain by `ChainStore.rewind`: what indexes it. */
export interface RewoundBlock {
  height: bigint;
  executedHash: Hex;
  txHashes: Hex[];
}

export interface StoredReceipt {
  /** EIP-2718 encoded receipt as in the receipts trie. */
  encoded: Uint8Array;
  gasUsed: bigint;
  from: Hex;
  contractAddress: Hex | null;
}

export interface TxLocation {
  height: bigint;
  index: number;
}

/**
 * The node's embedded database (lmdb): one sub-database per kind of record. lmdb commits async writes
 * in order, so a crash loses at most a suffix of writes: when the head pointer is there, so is the
 * block it points at, its receipts and its state.
 */
export class ChainStore {
  readonly root: RootDatabase;
  private readonly meta: Database<string, string>;
  private readonly sequenced: Database<Uint8Array, number>;
  private readonly executed: Database<Uint8Array, number>;
  private readonly hashes: Database<number, string>;
  private readonly receipts: Database<Uint8Array, number>;
  private readonly proofs: Database<Uint8Array, number>;
  private readonly txIndex: Database<Uint8Array, string>;
  readonly trie: TrieDatabase;
  /** Blocks whose lmdb commit is still in flight, served from memory meanwhile (see putBlock). */
  private readonly unwritten = new Map<bigint, BlockRecord>();
  private readonly unwrittenHashes = new Map<string, bigint>();
  private readonly unwrittenTxs = new Map<string, TxLocation>();
  private readonly writing = new Map<bigint, Promise<void>>();

  /**
   * Fault injection for tests, never for production (SEQNET_FAULT_LMDB_WRITE_DELAY_MS): every block
   * write reaches lmdb this much later, so a kill finds blocks announced but not yet in lmdb.
   */
  private readonly writeDelayMs = Number(process.env.SEQNET_FAULT_LMDB_WRITE_DELAY_MS ?? 0);

  constructor(readonly path: string) {
    this.root = open({ path, compression: false });
    const bin = { encoding: 'binary' as const };
    this.meta = this.root.openDB<string, string>({ name: 'meta', encoding: 'string' });
    this.sequenced = this.root.openDB<Uint8Array, number>({ name: 'sequenced', ...bin });
    this.executed = this.root.openDB<Uint8Array, number>({ name: 'executed', ...bin });
    this.hashes = this.root.openDB<number, string>({ name: 'hashes', encoding: 'ordered-binary' });
    this.receipts = this.root.openDB<Uint8Array, number>({ name: 'receipts', ...bin });
    this.proofs = this.root.openDB<Uint8Array, number>({ name: 'proofs', ...bin });
    this.txIndex = this.root.openDB<Uint8Array, string>({ name: 'txindex', ...bin });
    this.trie = new TrieDatabase(this.root.openDB<Uint8Array, string>({ name: 'trie', ...bin }));
  }

  getMeta(key: string): string | undefined {
    return this.meta.get(key);
  }

  async putMeta(key: string, value: string): Promise<void> {
    await this.meta.put(key, value);
  }

  /** Height of the last block whose record is complete, or undefined for an empty store. */
  headHeight(): bigint | undefined {
    let top: bigint | undefined;
    for (const h of this.unwritten.keys()) if (top === undefined || h > top) top = h;
    if (top !== undefined) return top;
    const h = this.meta.get('head');
    return h === undefined ? undefined : BigInt(h);
  }

  /**
   * Persists a block and everything derived from it, then moves the head. Resolves once lmdb has
   * committed the transaction. Until then the record is served from memory (`unwritten`), so a caller
   * that made the block durable elsewhere first (the sequencer's block WAL) may announce it at once.
   */
  async putBlock(record: BlockRecord): Promise<void> {
    const trieWrites = this.trie.takePending();
    const h = Number(record.height);
    this.unwritten.set(record.height, record);
    this.unwrittenHashes.set(record.executedHash.toLowerCase(), record.height);
    record.txHashes.forEach((hash, index) => {
      this.unwrittenTxs.set(hash.toLowerCase(), { height: record.height, index });
    });
    // batch, not transaction: the puts are queued as write instructions that lmdb's write thread
    // applies and commits atomically (one group, one commit), with no transaction callback to run on
    // this thread in between (that hop waited on a busy event loop).
    const write = () =>
      this.root.batch(() => {
        for (const [k, v] of trieWrites) this.trie.db.put(k, v);
        this.sequenced.put(h, record.sequenced);
        this.executed.put(h, record.executed);
        this.hashes.put(record.executedHash, h);
        this.receipts.put(h, encodeReceipts(record.receipts));
        this.proofs.put(h, record.proof);
        const height = bigIntToBytes(record.height);
        record.txHashes.forEach((hash, i) => {
          this.txIndex.put(hash, RLP.encode([height, bigIntToBytes(BigInt(i))]));
        });
        this.putMetaEntries(record.meta);
        this.meta.put('head', record.height.toString());
      });
    const done =
      this.writeDelayMs > 0
        ? new Promise<void>((resolve) => setTimeout(resolve, this.writeDelayMs)).then(write)
        : write();
    const written = done.then(
      () => {
        this.trie.settle(trieWrites);
        this.forget(record);
      },
      (err: unknown) => {
        // Never committed: stop serving it.
        this.forget(record);
        throw err;
      },
    );
    this.writing.set(record.height, written);
    try {
      await written;
    } finally {
      this.writing.delete(record.height);
    }
  }

  private putMetaEntries(meta: MetaEntries | undefined): void {
    for (const [k, v] of Object.entries(meta ?? {})) {
      if (v === null) this.meta.remove(k);
      else this.meta.put(k, v);
    }
  }

  /**
   * Takes the blocks above `height` off the chain (an L2 rewind after a deep L1 reorg, in the modes
   * where L1 order is the chain): their records, hashes and tx locations go, in one lmdb commit with
   * `meta` and the new head pointer. State-trie nodes stay (they are shared and never deleted), so the
   * state at `height` is readable as before. Waits for block writes in flight first.
   */
  async rewind(height: bigint, removed: RewoundBlock[], meta?: MetaEntries): Promise<void> {
    const below = removed.find((b) => b.height <= height);
    if (below) throw new Error(`a rewind to block ${height} cannot remove block ${below.height}`);
    await Promise.all([...this.writing.values()].map((p) => p.catch(() => undefined)));
    this.trie.discardPending();
    await this.root.batch(() => {
      for (const b of removed) {
        const h = Number(b.height);
        this.sequenced.remove(h);
        this.executed.remove(h);
        this.receipts.remove(h);
        this.proofs.remove(h);
        this.hashes.remove(b.executedHash.toLowerCase());
        for (const tx of b.txHashes) this.txIndex.remove(tx.toLowerCase());
      }
      this.putMetaEntries(meta);
      this.meta.put('head', height.toString());
    });
  }

  private forget(record: BlockRecord): void {
    this.unwritten.delete(record.height);
    this.unwrittenHashes.delete(record.executedHash.toLowerCase());
    for (const hash of record.txHashes) this.unwrittenTxs.delete(hash.toLowerCase());
  }

  /** Blocks handed to putBlock whose lmdb commit has not landed yet. */
  get unwrittenCount(): number {
    return this.writing.size;
  }

  /**
   * Resolves once block `height` (and every block before it) is committed to lmdb: for readers in
   * other threads (call workers), which see only what lmdb has.
   */
  async written(height: bigint): Promise<void> {
    // A failed write is reported to whoever wrote the block; readers just stop waiting.
    for (const [h, p] of this.writing) if (h <= height) await p.catch(() => undefined);
  }

  getSequenced(height: bigint): Uint8Array | undefined {
    const pending = this.unwritten.get(height);
    if (pending) return pending.sequenced;
    return this.sequenced.getBinary(Number(height)) ?? undefined;
  }

  /** The hash of the sequenced block stored at `height` (DECISIONS.md §1), if there is one. */
  sequencedHashAt(height: bigint): Hex | undefined {
    const raw = this.getSequenced(height);
    return raw ? hashSequencedBlock(decodeSequencedBlock(raw)) : undefined;
  }

  getExecuted(height: bigint): Uint8Array | undefined {
    const pending = this.unwritten.get(height);
    if (pending) return pending.executed;
    return this.executed.getBinary(Number(height)) ?? undefined;
  }

  heightOf(hash: Hex): bigint | undefined {
    const pending = this.unwrittenHashes.get(hash.toLowerCase());
    if (pending !== undefined) return pending;
    const h = this.hashes.get(hash.toLowerCase());
    return h === undefined ? undefined : BigInt(h);
  }

  getReceipts(height: bigint): StoredReceipt[] | undefined {
    const pending = this.unwritten.get(height);
    if (pending) return pending.receipts;
    const raw = this.receipts.getBinary(Number(height));
    return raw ? decodeReceipts(raw) : undefined;
  }

  getProof(height: bigint): Uint8Array | undefined {
    const pending = this.unwritten.get(height);
    if (pending) return pending.proof;
    return this.proofs.getBinary(Number(height)) ?? undefined;
  }

  getTxLocation(hash: Hex): TxLocation | undefined {
    const pending = this.unwrittenTxs.get(hash.toLowerCase());
    if (pending) return pending;
    const raw = this.txIndex.getBinary(hash.toLowerCase());
    if (!raw) return undefined;
    const [height, index] = RLP.decode(raw) as unknown as [Uint8Array, Uint8Array];
    return { height: bytesToBigInt(height), index: Number(bytesToBigInt(index)) };
  }

  async close(): Promise<void> {
    await this.root.flushed;
    await this.root.close();
  }
}

function encodeReceipts(receipts: StoredReceipt[]): Uint8Array {
  return RLP.encode(
    receipts.map((r) => [
      r.encoded,
      bigIntToBytes(r.gasUsed),
      fromHex(r.from),
      r.contractAddress ? fromHex(r.contractAddress) : new Uint8Array(),
    ]),
  );
}

function decodeReceipts(raw: Uint8Array): StoredReceipt[] {
  const list = RLP.decode(raw) as unknown as Uint8Array[][];
  return list.map(([encoded, gasUsed, from, contract]) => ({
    encoded,
    gasUsed: bytesToBigInt(gasUsed),
    from: toHex(from),
    contractAddress: contract.length ? toHex(contract) : null,
  }));
}

/**
 * The state trie's node store. Writes made while a block executes stay in memory (`pending`) and are
 * persisted together with the block by `ChainStore.putBlock`, so the trie is never on the per-tx path
 * and never ahead of the head pointer on disk.
 */
export class TrieDatabase implements DB<string, Uint8Array> {
  private pending = new Map<string, Uint8Array>();
  /** Written to lmdb but not yet known to be committed: still served from memory. */
  private inFlight = new Map<string, Uint8Array>();

  constructor(readonly db: Database<Uint8Array, string>) {}

  /** Synchronous node access for the executor's batched trie updates (execution/batch-trie.ts). */
  readonly nodes = {
    get: (key: string): Uint8Array | undefined =>
      this.pending.get(key) ?? this.inFlight.get(key) ?? this.db.getBinary(key) ?? undefined,
    put: (key: string, val: Uint8Array): void => {
      this.pending.set(key, val);
    },
  };

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.pending.get(key) ?? this.inFlight.get(key) ?? this.db.getBinary(key) ?? undefined;
  }

  async put(key: string, val: Uint8Array): Promise<void> {
    this.pending.set(key, val);
  }

  async del(_key: string): Promise<void> {
    // Nodes are content-addressed and shared between roots; history stays readable, so never delete.
  }

  async batch(ops: BatchDBOp<string, Uint8Array>[]): Promise<void> {
    for (const op of ops) if (op.type === 'put') this.pending.set(op.key, op.value);
  }

  shallowCopy(): DB<string, Uint8Array> {
    return this;
  }

  async open(): Promise<void> {}

  takePending(): Map<string, Uint8Array> {
    const taken = this.pending;
    this.pending = new Map();
    for (const [k, v] of taken) this.inFlight.set(k, v);
    return taken;
  }

  settle(written: Map<string, Uint8Array>): void {
    for (const k of written.keys()) this.inFlight.delete(k);
  }

  /** Drops writes of a block that was abandoned before it was persisted. */
  discardPending(): void {
    this.pending = new Map();
  }
}
