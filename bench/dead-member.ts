/**
 * A committee of 4 with one member dead (issue 4): how long single txs take while a member stays down,
 * with and without the experimental short timeout for suspects (off by default;
 * `SEQNET_SUSPECT_TIMEOUTS=1` turns it on), in one run, for each view timeout.
 *
 * A dead member fails a view in every round of the rotation: the view whose votes go to it (the view
 * after that TC passes over it). A tx needs 3–4 views to commit, so nearly every tx crosses one. Each
 * series sends `--txs` transfers one at a time, each to the next live member, and waits for its receipt
 * (send → receipt on that member), with 20 ms between them: first with all four alive, then after
 * SIGKILLing member 3.
 *
 *   npx tsx bench/dead-member.ts                       # view timeouts 1000 and 300 ms, 40 txs a series
 *   npx tsx bench/dead-member.ts --timeouts 1000 --txs 20
 *
 * Writes bench/results/dead-member.json and prints a table with the ratio (short / full timeouts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { devAccounts } from '../src/execution/genesis.js';
import { type Cluster, rpcCall, runClusterBench, startCluster } from './lib/committee-cluster.js';

const { values: flags } = parseArgs({
  options: {
    timeouts: { type: 'string', default: '1000,300' },
    txs: { type: 'string', default: '40' },
    out: { type: 'string' },
  },
  strict: true,
});
const timeouts = flags.timeouts.split(',').filter(Boolean).map(Number);
const txsPerSeries = Number(flags.txs);
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Series {
  txs: number;
  p50Ms: number;
  p90Ms: number;
  maxMs: number;
  meanMs: number;
  txPerSecond: number;
}

interface Run {
  viewTimeoutMs: number;
  shortTimeoutForSuspects: boolean;
  allAlive: Series;
  oneDead: Series;
}

const sender = privateKeyToAccount(devAccounts(1)[0].privateKey);
const to = devAccounts(2)[1].address;

async function series(
  cluster: Cluster,
  members: number[],
  nonce: { next: number },
  label: string,
): Promise<Series> {
  const chainId = Number(await rpcCall<Hex>(cluster.members[members[0]].url, 'eth_chainId'));
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < txsPerSeries; i++) {
    const url = cluster.members[members[i % members.length]].url;
    const raw = await sender.signTransaction({
      chainId,
      type: 'eip1559',
      nonce: nonce.next++,
      to,
      value: 1n,
      gas: 21_000n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 1n,
    });
    const sent = performance.now();
    const hash = await rpcCall<Hex>(url, 'eth_sendRawTransaction', [raw]);
    const deadline = sent + 30_000;
    while (!(await rpcCall<unknown>(url, 'eth_getTransactionReceipt', [hash]))) {
      if (performance.now() > deadline) throw new Error(`${label}: tx ${hash} has no receipt after 30 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    latencies.push(performance.now() - sent);
    if ((i + 1) % 10 === 0) log(`  ${label}: ${i + 1}/${txsPerSeries} txs`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]);
  return {
    txs: latencies.length,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    maxMs: Math.round(sorted[sorted.length - 1]),
    meanMs: Math.round(latencies.reduce((a, b) => a + b, 0) / latencies.length),
    txPerSecond: Math.round((latencies.length / seconds) * 10) / 10,
  };
}

async function runOnce(viewTimeoutMs: number, short: boolean): Promise<Run> {
  process.env.SEQNET_SUSPECT_TIMEOUTS = short ? '1' : '0';
  const label = `${viewTimeoutMs} ms, short timeouts ${short ? 'on' : 'off'}`;
  log(`starting a committee of 4 (view timeout ${label})`);
  const cluster = await startCluster(4, viewTimeoutMs);
  try {
    // Let the members dial one another and settle.
    await new Promise((r) => setTimeout(r, 3_000));
    const nonce = { next: 0 };
    const allAlive = await series(cluster, [0, 1, 2, 3], nonce, `${label}, all alive`);
    await cluster.kill(3, 'SIGKILL');
    log(`  ${label}: member 3 killed`);
    const oneDead = await series(cluster, [0, 1, 2], nonce, `${label}, member 3 dead`);
    return { viewTimeoutMs, shortTimeoutForSuspects: short, allAlive, oneDead };
  } finally {
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const loadStart = loadavg();
  const runs: Run[] = [];
  for (const t of timeouts) {
    // Alternate the order per timeout, so neither variant always runs on the warmer machine.
    const order = runs.length % 2 === 0 ? [true, false] : [false, true];
    for (const short of order) runs.push(await runOnce(t, short));
  }
  const result = {
    benchmark: 'committee of 4, one member dead: single txs with and without short timeouts for suspects',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, loadStart, loadEnd: loadavg() },
    txsPerSeries,
    runs,
    ratios: timeouts.map((t) => {
      const on = runs.find((r) => r.viewTimeoutMs === t && r.shortTimeoutForSuspects);
      const off = runs.find((r) => r.viewTimeoutMs === t && !r.shortTimeoutForSuspects);
      return {
        viewTimeoutMs: t,
        oneDeadP50: on && off ? Math.round((on.oneDead.p50Ms / off.oneDead.p50Ms) * 100) / 100 : null,
        oneDeadMean: on && off ? Math.round((on.oneDead.meanMs / off.oneDead.meanMs) * 100) / 100 : null,
      };
    }),
  };
  const out = resolve(flags.out ?? join('bench', 'results', 'dead-member.json'));
  mkdirSync(resolve(out, '..'), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    '| view timeout | short timeouts | all alive p50 / p90 / mean ms | member 3 dead p50 / p90 / max / mean ms | tx/s (dead) |',
  );
  console.log('| ---: | --- | --- | --- | ---: |');
  for (const r of runs)
    console.log(
      `| ${r.viewTimeoutMs} | ${r.shortTimeoutForSuspects ? 'on' : 'off'} | ${r.allAlive.p50Ms} / ${r.allAlive.p90Ms} / ${r.allAlive.meanMs} | ${r.oneDead.p50Ms} / ${r.oneDead.p90Ms} / ${r.oneDead.maxMs} / ${r.oneDead.meanMs} | ${r.oneDead.txPerSecond} |`,
    );
  for (const q of result.ratios)
    console.log(
      `ratio on/off at ${q.viewTimeoutMs} ms, member dead: p50 ${q.oneDeadP50}, mean ${q.oneDeadMean}`,
    );
  log(`wrote ${out}`);
}

runClusterBench('dead-member', main);
