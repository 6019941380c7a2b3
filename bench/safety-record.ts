/**
 * What one save of the safety record costs (a member saves it, fsynced, before every vote and
 * proposal leaves, on its main thread): `FileSafetyStorage` (two slots written in place and
 * fdatasynced, since stop 43) against the way before it, kept here as the baseline — a new file
 * written, fsynced, renamed over the old one, and the directory fsynced. Same record, same disk
 * (the system temp dir, where the benchmarks' nodes keep their data), alternating in rounds.
 *
 *   npx tsx bench/safety-record.ts [--saves 1000] [--rounds 4]   → bench/results/safety-record.json
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FileSafetyStorage } from '../src/consensus/safety/file-storage.js';
import type { SafetyRecord } from '../src/consensus/safety/safety-rules.js';
import { seqnetVersion, writeResult } from './lib/results.js';
import { mediansOf, round3 } from './lib/stats.js';

const { values: flags } = parseArgs({
  options: {
    saves: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '4' },
    out: { type: 'string' },
  },
  strict: true,
});
const saves = Number(flags.saves);
const rounds = Number(flags.rounds);
if (!Number.isInteger(saves) || saves < 10) throw new Error(`--saves ${flags.saves}: a whole number ≥ 10`);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${flags.rounds}: a whole number ≥ 1`);

const record = (view: bigint): SafetyRecord => ({
  epoch: 0n,
  lastVotedView: view,
  highestQcView: view - 1n,
  lastProposalView: view - 2n,
  lastVote: { view, blockHash: `0x${'ab'.repeat(32)}` },
  lastProposal: { view: view - 2n, blockHash: `0x${'cd'.repeat(32)}` },
});

/** The save before stop 43: the record in a whole new file, renamed over the old one. */
function renameSave(path: string, view: bigint): void {
  const body = JSON.stringify(record(view), (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${body}\n${'0'.repeat(64)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

function timeSaves(save: (view: bigint) => void): number[] {
  const ms: number[] = [];
  for (let i = 1; i <= saves; i++) {
    const t0 = performance.now();
    save(BigInt(i + 2));
    ms.push(performance.now() - t0);
  }
  return ms;
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))];

const root = mkdtempSync(join(tmpdir(), 'seqnet-safety-bench-'));
const runs: Array<{ round: number; way: string; p50Ms: number; p99Ms: number; maxMs: number }> = [];
try {
  for (let r = 0; r < rounds; r++) {
    const slots = new FileSafetyStorage(join(root, `slots-${r}`, 'safety.json'));
    const ways: Array<[string, (view: bigint) => void]> = [
      ['rename (before)', (v) => renameSave(join(root, `rename-${r}`, 'safety.json'), v)],
      ['two slots in place (FileSafetyStorage)', (v) => slots.save(record(v))],
    ];
    // Alternate which goes first, so neither always meets a disk the other just dirtied.
    for (const [way, save] of r % 2 === 0 ? ways : [...ways].reverse()) {
      const ms = timeSaves(save);
      const row = {
        round: r + 1,
        way,
        p50Ms: round3(quantile(ms, 0.5)),
        p99Ms: round3(quantile(ms, 0.99)),
        maxMs: round3(Math.max(...ms)),
      };
      console.error(`[safety-record] ${JSON.stringify(row)}`);
      runs.push(row);
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const before = mediansOf(runs, 'rename (before)', ['p50Ms', 'p99Ms']);
const now = mediansOf(runs, 'two slots in place (FileSafetyStorage)', ['p50Ms', 'p99Ms']);
writeResult(flags.out ?? 'bench/results/safety-record.json', {
  what: 'one save of the consensus safety record, durable before it returns: the rename way before stop 43 (temp file, fsync, rename, directory fsync) against FileSafetyStorage (record n written in place into slot n mod 2, fdatasync); p50 / p99 per round of `saves`, medians over rounds',
  when: new Date().toISOString(),
  version: seqnetVersion(new URL('..', import.meta.url).pathname),
  disk: tmpdir(),
  saves,
  rounds,
  before,
  now,
  p50Ratio: round3(now.p50MsMedian / before.p50MsMedian),
  runs,
});
