/**
 * A committee member paused and resumed (issue 4; RELIABILITY.md's crash matrix, "SIGSTOP 30 s"): how
 * long it takes to catch up, and how it did.
 *
 * Each repeat starts a fresh committee of `--size` (4) and sends transfers at `--rate` tx/s, one
 * sender, each tx through the next of the members other than member 2. After `--warmup` s member 2 is SIGSTOPped for `--pause` s
 * (the load goes on), then SIGCONTed. Measured from the SIGCONT:
 * - caught up: member 2's head reaches the highest head the others had at the SIGCONT;
 * - voting again: member 2 has signed a vote for a view above the highest view the others were in at
 *   the SIGCONT (it takes part in consensus again, not only holds the blocks);
 * and how: block sync's counters from member 2's `seqnet_status` (syncs, blocks taken, failed
 * requests and attempts). The load stops once both are seen (or after `--limit` s: a repeat that does
 * not catch up is reported, not retried).
 *
 *   npx tsx bench/catch-up.ts                        # 3 repeats, 30 s pause, 10 tx/s
 *   npx tsx bench/catch-up.ts --repeats 1 --pause 10
 *   npx tsx bench/catch-up.ts --size 7
 *
 * Writes bench/results/catch-up.json and prints a table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { devAccounts } from '../src/execution/genesis.js';
import {
  type Cluster,
  rpcCall,
  runClusterBench,
  startCluster,
  waitConnected,
} from './lib/committee-cluster.js';
import { median } from './lib/stats.js';

const { values: flags } = parseArgs({
  options: {
    size: { type: 'string', default: '4' },
    repeats: { type: 'string', default: '3' },
    pause: { type: 'string', default: '30' },
    rate: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '5' },
    limit: { type: 'string', default: '180' },
    out: { type: 'string' },
  },
  strict: true,
});
const size = Number(flags.size);
const repeats = Number(flags.repeats);
const pauseMs = Number(flags.pause) * 1000;
const rate = Number(flags.rate);
const warmupMs = Number(flags.warmup) * 1000;
const limitMs = Number(flags.limit) * 1000;
if (!Number.isInteger(size) || size < 4) throw new Error('--size must be a committee of 4 or more');
for (const [name, v] of Object.entries({ repeats, pauseMs, rate, warmupMs, limitMs }))
  if (!Number.isFinite(v) || v <= 0)
    throw new Error(`--${name.replace(/Ms$/, '')} must be a positive number`);
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const PAUSED = 2;
const SENDING_VIA = Array.from({ length: size }, (_, i) => i).filter((i) => i !== PAUSED);

/** What seqnet_status says about a member's consensus (the fields this benchmark reads). */
interface MemberStatus {
  head: number;
  consensus: {
    view: string;
    safety: { lastVotedView: string };
    blockSync: {
      syncs: number;
      historyAgreed: number;
      blocks?: number;
      failedRequests?: number;
      failedAttempts?: number;
      lastError?: string | null;
    };
  };
}

interface Repeat {
  /** Blocks the others committed while member 2 was stopped. */
  blocksBehind: number;
  /** SIGCONT → member 2's head at the others' highest head at the SIGCONT, ms (null: not within --limit). */
  caughtUpMs: number | null;
  /** SIGCONT → member 2 signed a vote above the others' highest view at the SIGCONT, ms. */
  votingAgainMs: number | null;
  blockSync: MemberStatus['consensus']['blockSync'];
  txsSent: number;
}

const status = (c: Cluster, i: number) => rpcCall<MemberStatus>(c.members[i].url, 'seqnet_status');

/** Sends transfers at `rate` tx/s until `stop` is set; returns how many were accepted. */
async function load(c: Cluster, stop: { done: boolean }): Promise<number> {
  const sender = privateKeyToAccount(devAccounts(1)[0].privateKey);
  const to = devAccounts(2)[1].address;
  const chainId = Number(await rpcCall<Hex>(c.members[0].url, 'eth_chainId'));
  let nonce = 0;
  const started = performance.now();
  while (!stop.done) {
    const raw = await sender.signTransaction({
      chainId,
      type: 'eip1559',
      nonce,
      to,
      value: 1n,
      gas: 21_000n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 1n,
    });
    const via = c.members[SENDING_VIA[nonce % SENDING_VIA.length]].url;
    await rpcCall<Hex>(via, 'eth_sendRawTransaction', [raw]);
    nonce++;
    const due = started + (nonce * 1000) / rate;
    await sleep(Math.max(0, due - performance.now()));
  }
  return nonce;
}

async function repeatOnce(k: number): Promise<Repeat> {
  log(`repeat ${k + 1}/${repeats}: starting a committee of ${size}`);
  const c = await startCluster(size);
  const stop = { done: false };
  try {
    await waitConnected(c);
    const sending = load(c, stop);
    sending.catch(() => {});
    await sleep(warmupMs);
    const headBefore = (await status(c, PAUSED)).head;
    c.members[PAUSED].proc.kill('SIGSTOP');
    log(
      `  member ${PAUSED} (pid ${c.members[PAUSED].proc.pid}) stopped at head ${headBefore}; pausing ${pauseMs / 1000} s under load`,
    );
    await sleep(pauseMs);
    const others = await Promise.all(SENDING_VIA.map((i) => status(c, i)));
    const top = Math.max(...others.map((s) => s.head));
    const topView = others.map((s) => BigInt(s.consensus.view)).reduce((a, b) => (a > b ? a : b));
    const resumedAt = performance.now();
    c.members[PAUSED].proc.kill('SIGCONT');
    log(`  resumed; ${top - headBefore} blocks behind (others at ${top}, view ${topView})`);
    let caughtUpMs: number | null = null;
    let votingAgainMs: number | null = null;
    while (performance.now() - resumedAt < limitMs && (caughtUpMs === null || votingAgainMs === null)) {
      try {
        const s = await status(c, PAUSED);
        const at = Math.round(performance.now() - resumedAt);
        if (caughtUpMs === null && s.head >= top) caughtUpMs = at;
        if (votingAgainMs === null && BigInt(s.consensus.safety.lastVotedView) > topView) votingAgainMs = at;
      } catch {
        // its RPC may not answer for a moment after the pause
      }
      await sleep(50);
    }
    stop.done = true;
    const txsSent = await sending;
    const blockSync = (await status(c, PAUSED)).consensus.blockSync;
    log(
      `  caught up ${caughtUpMs ?? 'no'} ms, voting again ${votingAgainMs ?? 'no'} ms; block sync ${JSON.stringify(blockSync)}`,
    );
    return { blocksBehind: top - headBefore, caughtUpMs, votingAgainMs, blockSync, txsSent };
  } finally {
    stop.done = true;
    // A stopped member handles the SIGTERM of stop() only once it runs again.
    c.members[PAUSED].proc.kill('SIGCONT');
    await c.stop();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadStart = loadavg();
  const runs: Repeat[] = [];
  for (let k = 0; k < repeats; k++) runs.push(await repeatOnce(k));
  const caught = runs.map((r) => r.caughtUpMs).filter((x): x is number => x !== null);
  const voting = runs.map((r) => r.votingAgainMs).filter((x): x is number => x !== null);
  const result = {
    benchmark: `catch-up: a member of a committee of ${size} SIGSTOPped under load, then SIGCONTed`,
    committeeSize: size,
    date: new Date().toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', loadStart, loadEnd: loadavg() },
    pauseSeconds: pauseMs / 1000,
    rateTxPerSecond: rate,
    runs,
    summary: {
      repeats: runs.length,
      caughtUp: caught.length,
      caughtUpMedianMs: median(caught),
      caughtUpMaxMs: caught.length ? Math.max(...caught) : null,
      votingAgainMedianMs: median(voting),
      votingAgainMaxMs: voting.length ? Math.max(...voting) : null,
    },
  };
  const out = resolve(flags.out ?? join('bench', 'results', 'catch-up.json'));
  mkdirSync(resolve(out, '..'), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    '| repeat | blocks behind | caught up ms | voting again ms | syncs (history agreed) | blocks synced | failed requests / attempts |',
  );
  console.log('| ---: | ---: | ---: | ---: | --- | ---: | --- |');
  for (const [i, r] of runs.entries())
    console.log(
      `| ${i + 1} | ${r.blocksBehind} | ${r.caughtUpMs ?? 'not caught up'} | ${r.votingAgainMs ?? 'not voting'} | ${r.blockSync.syncs} (${r.blockSync.historyAgreed}) | ${r.blockSync.blocks ?? '-'} | ${r.blockSync.failedRequests ?? '-'} / ${r.blockSync.failedAttempts ?? '-'} |`,
    );
  const s = result.summary;
  console.log(
    `caught up in ${s.caughtUp} of ${s.repeats}: median ${s.caughtUpMedianMs} ms (max ${s.caughtUpMaxMs}); voting again: median ${s.votingAgainMedianMs} ms (max ${s.votingAgainMaxMs})`,
  );
  log(`wrote ${out}`);
}

runClusterBench('catch-up', main);
