import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { Hex } from '../../util/bytes.js';
import { SafetyError, type SafetyRecord, type SafetyStorage } from './safety-rules.js';

interface StoredRecord {
  version: 1;
  epoch: string;
  lastVotedView: string;
  highestQcView: string;
  lastProposalView: string;
  lastVote?: { view: string; blockHash: Hex };
  lastProposal?: { view: string; blockHash: Hex };
}

const checksum = (body: string) => createHash('sha256').update(body).digest('hex');

/** Each slot's size: room for the largest record (~420 bytes of JSON) with its header and checksum. */
const SLOT_BYTES = 1024;
const SLOT_MAGIC = 'seqnet-safety-slot 2';

/**
 * The safety record in a small file of two slots, as LMDB keeps its two meta pages: record number n
 * goes to slot n mod 2, written in place and fdatasynced: p50 0.13 ms against 0.52 ms for the rename
 * and two fsyncs of a whole new file before (`bench/safety-record.ts`), which took ~2 ms of a member's
 * main thread a vote when four members shared two cores. It is written before every vote and proposal
 * leaves. A crash mid-write can tear only the slot being written, and what that record allowed was never
 * sent: the other slot holds the record before it, whole. Loading takes the whole slot with the higher
 * number; a file with no whole slot makes the node refuse to start (guessing could sign twice). Should
 * the newer slot ever be damaged otherwise (the disk, not a crash), the record read is one signature
 * behind: the same as a restored backup, which SafetyRules already covers (a restarted node signs
 * nothing in the first view it sees).
 *
 * The file is created (and a record of the one-record format before stop 43 converted) by writing a
 * whole new file, renaming it over the old one and fsyncing the directory.
 */
export class FileSafetyStorage implements SafetyStorage {
  /** Number of the newest record in the file; undefined until read or written. */
  private seq: bigint | undefined;
  /** Whether the file on disk has the two slots (else the next save writes it whole). */
  private slotted = false;

  constructor(readonly path: string) {}

  load(): SafetyRecord | undefined {
    if (!existsSync(this.path)) return undefined;
    const bytes = readFileSync(this.path);
    // By length alone: a torn write may have hit either slot's first bytes (a record of the old format
    // is a few hundred bytes).
    if (bytes.length === 2 * SLOT_BYTES) return this.loadSlots(bytes);
    const record = this.parse(bytes.toString('utf8'));
    this.seq = 0n;
    this.slotted = false;
    return record;
  }

  save(record: SafetyRecord): void {
    if (this.seq === undefined) this.load();
    const seq = (this.seq ?? 0n) + 1n;
    const slot = this.slot(seq, record);
    if (this.slotted) {
      const fd = openSync(this.path, 'r+');
      try {
        writeSync(fd, slot, 0, SLOT_BYTES, Number(seq % 2n) * SLOT_BYTES);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } else {
      // A new file (or one of the old format): written whole. The other slot stays empty.
      const file = Buffer.alloc(2 * SLOT_BYTES, ' ');
      slot.copy(file, Number(seq % 2n) * SLOT_BYTES);
      this.replaceFile(file);
      this.slotted = true;
    }
    this.seq = seq;
  }

  private loadSlots(bytes: Buffer): SafetyRecord {
    const read = [0, 1].map((i) => {
      const text = bytes.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES).toString('utf8');
      try {
        const lines = text.split('\n');
        const head = lines[0];
        if (!head.startsWith(`${SLOT_MAGIC} `)) throw new Error('no record yet');
        const seq = BigInt(head.slice(SLOT_MAGIC.length + 1));
        if (seq % 2n !== BigInt(i)) throw new Error(`record ${seq} in slot ${i}`);
        return { seq, record: this.parse(`${lines[1]}\n${lines[2]}\n`, `${head}\n`) };
      } catch (err) {
        return { error: `slot ${i}: ${(err as Error).message}` };
      }
    });
    const whole = read.flatMap((r) => ('seq' in r && r.seq !== undefined ? [r] : []));
    if (whole.length === 0)
      throw damaged(this.path, read.map((r) => ('error' in r ? r.error : '')).join('; '));
    const newest = whole.reduce((a, b) => (b.seq > a.seq ? b : a));
    this.seq = newest.seq;
    this.slotted = true;
    return newest.record;
  }

  /** One record: `body\nsha256(prefix + body)\n`; throws SafetyError Damaged on any fault. */
  private parse(text: string, prefix = ''): SafetyRecord {
    const nl = text.indexOf('\n');
    const body = nl === -1 ? text : text.slice(0, nl);
    const sum =
      nl === -1
        ? ''
        : text
            .slice(nl + 1)
            .split('\n')[0]
            .trim();
    let r: StoredRecord;
    try {
      if (checksum(prefix + body) !== sum) throw new Error('checksum mismatch');
      r = JSON.parse(body) as StoredRecord;
      if (r.version !== 1) throw new Error(`unknown version ${r.version}`);
    } catch (err) {
      throw damaged(this.path, (err as Error).message);
    }
    return {
      epoch: BigInt(r.epoch),
      lastVotedView: BigInt(r.lastVotedView),
      highestQcView: BigInt(r.highestQcView),
      lastProposalView: BigInt(r.lastProposalView),
      lastVote: r.lastVote && { view: BigInt(r.lastVote.view), blockHash: r.lastVote.blockHash },
      lastProposal: r.lastProposal && {
        view: BigInt(r.lastProposal.view),
        blockHash: r.lastProposal.blockHash,
      },
    };
  }

  /** Record number `seq` as one slot: `magic seq\nbody\nchecksum\n`, padded with spaces. */
  private slot(seq: bigint, record: SafetyRecord): Buffer {
    const stored: StoredRecord = {
      version: 1,
      epoch: record.epoch.toString(),
      lastVotedView: record.lastVotedView.toString(),
      highestQcView: record.highestQcView.toString(),
      lastProposalView: record.lastProposalView.toString(),
      lastVote: record.lastVote && {
        view: record.lastVote.view.toString(),
        blockHash: record.lastVote.blockHash,
      },
      lastProposal: record.lastProposal && {
        view: record.lastProposal.view.toString(),
        blockHash: record.lastProposal.blockHash,
      },
    };
    const head = `${SLOT_MAGIC} ${seq}\n`;
    const body = JSON.stringify(stored);
    const text = `${head}${body}\n${checksum(head + body)}\n`;
    const slot = Buffer.alloc(SLOT_BYTES, ' ');
    if (Buffer.byteLength(text) > SLOT_BYTES)
      throw new Error(`internal: a safety record of ${Buffer.byteLength(text)} bytes does not fit a slot`);
    slot.write(text);
    return slot;
  }

  private replaceFile(bytes: Buffer): void {
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true });
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
}

function damaged(path: string, why: string): SafetyError {
  return new SafetyError(
    'Damaged',
    `the safety record ${path} is damaged (${why}); the node refuses to start so that it cannot sign twice. Restore the file from the node's latest backup, or, only if this key never signed on this chain, delete it`,
  );
}

/** For the simulator: a record that survives a simulated crash because the simulator keeps it. */
export class MemorySafetyStorage implements SafetyStorage {
  record?: SafetyRecord;
  writes = 0;
  load(): SafetyRecord | undefined {
    return this.record && { ...this.record };
  }
  save(record: SafetyRecord): void {
    this.record = { ...record };
    this.writes++;
  }
}
