import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { RLP } from '@ethereumjs/rlp';
import { bigIntToBytes, bytesToBigInt, fromHex, toHex } from '../../util/bytes.js';
import {
  decodeConsensusMessage,
  decodeProposals,
  encodeConsensusMessage,
  encodeProposals,
} from '../codec.js';
import type { ConsensusWal, WalEntry } from './driver.js';

const KIND_PROPOSAL = 1;
const KIND_QC = 2;
const KIND_TC = 3;
const KIND_HISTORY = 4;

/**
 * The consensus WAL: an append-only file of framed records (4-byte length, 4-byte CRC-32, body).
 * Written with plain `write(2)`: the safety record (fsynced) is what prevents double signing; the WAL
 * only saves a restarted node from re-fetching uncommitted blocks. A torn or damaged tail — a crash
 * mid-write, or a truncated file — is cut off at the last good record and the node goes on.
 */
export class FileWal implements ConsensusWal {
  private fd: number;
  private entries: WalEntry[] = [];
  /** Records in the file, kept or not (the file is rewritten once most of them are dead). */
  private fileRecords = 0;
  /** Records dropped from the tail at load (a torn write or damage). */
  readonly droppedTail: number;

  constructor(readonly path: string) {
    const { entries, goodBytes, dropped } = existsSync(path) ? readRecords(readFileSync(path)) : empty();
    this.entries = entries;
    this.fileRecords = entries.length;
    this.droppedTail = dropped;
    this.fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
    ftruncateSync(this.fd, goodBytes);
    closeSync(this.fd);
    this.fd = openSync(path, 'a');
  }

  /** What the WAL held at start, oldest first. */
  load(): WalEntry[] {
    return [...this.entries];
  }

  append(entry: WalEntry): void {
    this.entries.push(entry);
    this.fileRecords++;
    writeSync(this.fd, frame(entry));
  }

  /**
   * Forgets proposals at or below the committed height (and old certificates); the file is rewritten
   * without them once they are most of it. Rewriting it at every commit (open, write, rename) was a
   * few % of a member's CPU; a restart skips the dead records anyway (`startFromWal`).
   */
  prune(committedHeight: bigint): void {
    const keep = this.entries.filter(
      (e) => e.kind !== 'proposal' || e.proposal.block.height > committedHeight,
    );
    const certs: WalEntry[] = keep.filter((e) => e.kind === 'qc' || e.kind === 'tc');
    // Only the newest certificates and the newest root's history matter for a restart.
    const lastCerts = certs.slice(-8);
    const lastHistory = keep.findLast((e) => e.kind === 'history');
    this.entries = keep.filter((e) => e.kind === 'proposal' || lastCerts.includes(e) || e === lastHistory);
    if (this.fileRecords < 256 || this.fileRecords < 2 * this.entries.length) return;
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      for (const e of this.entries) writeSync(fd, frame(e));
    } finally {
      closeSync(fd);
    }
    closeSync(this.fd);
    renameSync(tmp, this.path);
    this.fd = openSync(this.path, 'a');
    this.fileRecords = this.entries.length;
  }

  close(): void {
    closeSync(this.fd);
  }
}

function empty() {
  return { entries: [] as WalEntry[], goodBytes: 0, dropped: 0 };
}

function encodeEntry(e: WalEntry): Uint8Array {
  if (e.kind === 'proposal') return RLP.encode([Uint8Array.of(KIND_PROPOSAL), encodeProposals([e.proposal])]);
  if (e.kind === 'history')
    return RLP.encode([
      Uint8Array.of(KIND_HISTORY),
      fromHex(e.blockHash),
      e.failedViews.map(bigIntToBytes),
      e.led.map((b) => [bigIntToBytes(b.view), bigIntToBytes(BigInt(b.leader))]),
    ]);
  // Certificates travel inside the smallest message that carries them: a timeout vote shell.
  const qc = e.kind === 'qc' ? e.qc : e.tc.highQc;
  const shell = encodeConsensusMessage({
    kind: 'timeout',
    timeout: {
      epoch: qc.epoch,
      view: e.kind === 'qc' ? qc.view : e.tc.view,
      highQc: qc,
      voter: 0,
      signature: new Uint8Array(),
      lastViewTc: e.kind === 'tc' ? e.tc : undefined,
    },
  });
  return RLP.encode([Uint8Array.of(e.kind === 'qc' ? KIND_QC : KIND_TC), shell]);
}

function decodeEntry(body: Uint8Array): WalEntry {
  const [kind, inner, views, led] = RLP.decode(body) as unknown as [
    Uint8Array,
    Uint8Array,
    Uint8Array[],
    Uint8Array[][] | undefined,
  ];
  if (kind[0] === KIND_PROPOSAL) return { kind: 'proposal', proposal: decodeProposals(inner)[0] };
  if (kind[0] === KIND_HISTORY)
    return {
      kind: 'history',
      blockHash: toHex(inner),
      failedViews: views.map(bytesToBigInt),
      // Records from before the proposers were kept have none.
      led: (led ?? []).map(([view, leader]) => ({
        view: bytesToBigInt(view),
        leader: Number(bytesToBigInt(leader)),
      })),
    };
  const m = decodeConsensusMessage(inner);
  if (m.kind !== 'timeout') throw new Error('bad WAL certificate record');
  if (kind[0] === KIND_QC) return { kind: 'qc', qc: m.timeout.highQc };
  if (kind[0] === KIND_TC && m.timeout.lastViewTc) return { kind: 'tc', tc: m.timeout.lastViewTc };
  throw new Error(`unknown WAL record kind ${kind[0]}`);
}

function frame(e: WalEntry): Uint8Array {
  const body = encodeEntry(e);
  const out = Buffer.alloc(8 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.writeUInt32BE(crc32(body) >>> 0, 4);
  out.set(body, 8);
  return out;
}

function readRecords(buf: Buffer): { entries: WalEntry[]; goodBytes: number; dropped: number } {
  const entries: WalEntry[] = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    const len = buf.readUInt32BE(at);
    const sum = buf.readUInt32BE(at + 4);
    if (at + 8 + len > buf.length) break;
    const body = buf.subarray(at + 8, at + 8 + len);
    if (crc32(body) >>> 0 !== sum) break;
    try {
      entries.push(decodeEntry(body));
    } catch {
      break;
    }
    at += 8 + len;
  }
  return { entries, goodBytes: at, dropped: at < buf.length ? 1 : 0 };
}
