/**
 * What a committee change costs (issue 5), in the deterministic simulator: `committeeScenario` seeds
 * (a universe of 6 nodes, committees of 4 that change each epoch of 1–2.5 s, one faulty node at most),
 * each run by the real driver, core and safety rules. Per seed the committee changes in member 0's
 * chain and the blocks taken by block sync; over all seeds, after the heal, the virtual time from a
 * boundary block's build to the next instance's first block (`handoverMs`) against the time between
 * two blocks of one instance (`blockIntervalMs`), and their ratio at the median.
 *
 *   npx tsx bench/sim-committees.ts                 # seeds 1..300
 *   npx tsx bench/sim-committees.ts --from 1001 --seeds 1000
 *
 * Writes bench/results/sim-committees.json (or --out) and prints the summary.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { committeeScenario, Simulator } from '../src/sim/simulator.js';

const { values: flags } = parseArgs({
  options: {
    from: { type: 'string', default: '1' },
    seeds: { type: 'string', default: '300' },
    out: { type: 'string', default: 'bench/results/sim-committees.json' },
  },
  strict: true,
});
const from = Number(flags.from);
const count = Number(flags.seeds);
const handover: number[] = [];
const interval: number[] = [];
const failed: number[] = [];
let changes = 0;
let fewest = Number.POSITIVE_INFINITY;
let synced = 0;
const started = Date.now();
for (let seed = from; seed < from + count; seed++) {
  const r = new Simulator(committeeScenario(seed)).run();
  if (r.violations.length) failed.push(seed);
  changes += r.committeesEntered ?? 0;
  fewest = Math.min(fewest, r.committeesEntered ?? 0);
  synced += r.blocksSynced ?? 0;
  handover.push(...(r.handoverMs ?? []));
  interval.push(...(r.blockIntervalMs ?? []));
  if ((seed - from + 1) % 100 === 0)
    process.stderr.write(`[sim-committees] ${seed - from + 1}/${count} seeds, ${failed.length} failed\n`);
}
const quantiles = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return { n: sorted.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: sorted[sorted.length - 1] };
};
const result = {
  what: 'committeeScenario seeds (npm run sim -- --committees): committee changes and what one costs, virtual ms after the heal',
  when: new Date().toISOString(),
  seeds: { from, to: from + count - 1, failed },
  committeeChanges: changes,
  fewestChangesInASeed: fewest,
  blocksSynced: synced,
  handoverMs: quantiles(handover),
  blockIntervalMs: quantiles(interval),
  ratioAtMedian: Number((quantiles(handover).p50 / quantiles(interval).p50).toFixed(2)),
  wallSeconds: Number(((Date.now() - started) / 1000).toFixed(1)),
};
const out = resolve(flags.out);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
console.log(JSON.stringify(result, null, 1));
