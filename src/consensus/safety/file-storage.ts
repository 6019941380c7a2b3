import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
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

/**
 * The safety record as a tiny file: written to a temporary file, fsynced, renamed over the old one and
 * the directory fsynced (~0.2 ms, DECISIONS.md §6), so a crash leaves the old or the new record, never
 * half of one. A record that fails its checksum makes the node refuse to start: guessing could sign
 * twice.
 */
export class FileSafetyStorage implements SafetyStorage {
  constructor(readonly path: string) {}

  load(): SafetyRecord | undefined {
    if (!existsSync(this.path)) return undefined;
    const text = readFileSync(this.path, 'utf8');
    const nl = text.indexOf('\n');
    const body = nl === -1 ? text : text.slice(0, nl);
    const sum = nl === -1 ? '' : text.slice(nl + 1).trim();
    let r: StoredRecord;
    try {
      if (checksum(body) !== sum) throw new Error('checksum mismatch');
      r = JSON.parse(body) as StoredRecord;
      if (r.version !== 1) throw new Error(`unknown version ${r.version}`);
    } catch (err) {
      throw new SafetyError(
        'Damaged',
        `the safety record ${this.path} is damaged (${(err as Error).message}); the node refuses to start so that it cannot sign twice. Restore the file from the node's latest backup, or, only if this key never signed on this chain, delete it`,
      );
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

  save(record: SafetyRecord): void {
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
    const body = JSON.stringify(stored);
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true });
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${body}\n${checksum(body)}\n`);
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
