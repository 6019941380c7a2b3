import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { RLP } from '@ethereumjs/rlp';
import type { L1Message } from '../l1/watcher.js';
import { bigIntToBytes, bytesToBigInt, fromHex, type Hex, toHex } from '../util/bytes.js';

/** What the sequencer needs to execute a sealed block again after a crash. */
export interface WalBlock {
  height: bigint;
  /** Encoded sequenced block. */
  sequenced: Uint8Array;
  /** Encoded commit proof. */
  proof: Uint8Array;
  /** The L1 messages the block applied, in order (re-execution must not depend on the L1 watcher). */
  messages: L1Message[];
}

/**
 * Write-ahead log of sealed blocks, so the single sequencer can announce a block (its soft
 * confirmation) as soon as it is here, while lmdb commits the executed block in the background.
 * A record is one write(2) and no fsync, as the mempool journal: a sealed block survives the process
 * being killed (the kernel has the bytes), and lmdb's own commits are not fsynced before they resolve
 * either. On start the node executes again every record above lmdb's head. Each record is a 4-byte
 * big-endian length and the RLP of the block; a torn last record is ignored.
 */
export class BlockWal {
  private fd: number;
  private records = 0;
  /** Set when lmdb failed to write a block of this log: the log is kept for the next start to write. */
  private unwrittenFailure = false;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
  }

  /** Every complete record, oldest first. */
  load(): WalBlock[] {
    if (!existsSync(this.path)) return [];
    const data = readFileSync(this.path);
    const out: WalBlock[] = [];
    let at = 0;
    while (at + 4 <= data.length) {
      const len = data.readUInt32BE(at);
      if (len === 0 || at + 4 + len > data.length) break;
      try {
        out.push(decodeRecord(new Uint8Array(data.subarray(at + 4, at + 4 + len))));
      } catch {
        break;
      }
      at += 4 + len;
    }
    return out;
  }

  append(block: WalBlock): void {
    const body = encodeRecord(block);
    const record = Buffer.allocUnsafe(4 + body.length);
    record.writeUInt32BE(body.length, 0);
    record.set(body, 4);
    writeSync(this.fd, record);
    this.records++;
  }

  /** Records appended since the last reset. */
  get size(): number {
    return this.records;
  }

  /** lmdb failed to write a block of this log: from now on `reset` keeps the log. */
  markWriteFailed(): void {
    this.unwrittenFailure = true;
  }

  /**
   * Empties the log once lmdb holds every block in it (call only with no block write in flight). A
   * truncate, not a rewrite: no fsync on the block path, and should the truncate not survive a power
   * cut, the old records are below the head and skipped at the next start. Does nothing after a
   * failed write (`markWriteFailed`).
   */
  reset(): void {
    if (this.unwrittenFailure) return;
    ftruncateSync(this.fd, 0);
    this.records = 0;
  }

  close(): void {
    closeSync(this.fd);
  }
}

const KINDS = ['deposit', 'forced'] as const;

function encodeRecord(b: WalBlock): Uint8Array {
  return RLP.encode([
    bigIntToBytes(b.height),
    b.sequenced,
    b.proof,
    b.messages.map((m) => [
      bigIntToBytes(m.index),
      bigIntToBytes(BigInt(KINDS.indexOf(m.kind))),
      fromHex(m.from),
      fromHex(m.to),
      bigIntToBytes(m.value),
      fromHex(m.data),
      bigIntToBytes(m.l1Block),
    ]),
  ]);
}

function decodeRecord(raw: Uint8Array): WalBlock {
  const [height, sequenced, proof, messages] = RLP.decode(raw) as unknown as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array[][],
  ];
  return {
    height: bytesToBigInt(height),
    sequenced,
    proof,
    messages: messages.map(([index, kind, from, to, value, data, l1Block]) => {
      const k = KINDS[Number(bytesToBigInt(kind))];
      if (!k) throw new Error('unknown L1 message kind in the block WAL');
      return {
        index: bytesToBigInt(index),
        kind: k,
        from: toHex(from) as Hex,
        to: toHex(to) as Hex,
        value: bytesToBigInt(value),
        data: toHex(data) as Hex,
        l1Block: bytesToBigInt(l1Block),
      };
    }),
  };
}
