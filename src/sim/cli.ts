import '../polyfill.js';
import { Command } from 'commander';
import {
  brokenTwinsScenario,
  committeeScenario,
  epochScenario,
  flakyWinnerScenario,
  type LeaderMix,
  type SimResult,
  Simulator,
  scenarioFor,
} from './simulator.js';

/**
 * `npm run sim -- --seeds N [--from S]` runs N seeded scenarios of the consensus simulator and prints
 * the failing ones; `--seed S` replays one exactly and prints its figures; `--broken-twins` runs the
 * f+1-twins scenario that must break (the checker's self-test); `--auction` gives every seed an auction
 * winner (`npm test` runs 300 such seeds: docs/ARCHITECTURE.md); `--auction-flaky` runs auctions whose
 * winner fails every other view (`--sit-out-after 32` turns the rule that sits it out off); `--epochs`
 * runs the same faults under election epochs whose proposers change (`npm test` runs 300 seeds so);
 * `--committees` under epochs whose certifying committee changes (300 seeds in `npm test` too).
 */
const program = new Command()
  .name('seqnet-sim')
  .option('--seeds <n>', 'how many seeds to run', (v) => Number(v), 1000)
  .option('--from <s>', 'first seed', (v) => Number(v), 1)
  .option('--seed <s>', 'replay one seed and print its figures', (v) => Number(v))
  .option('--broken-twins', 'run the f+1 twins scenario (must report a fork)')
  .option(
    '--auction',
    'every seed has an auction winner (npm test runs seeds 1..300 so; docs/ARCHITECTURE.md)',
  )
  .option('--auction-flaky', 'auctions whose winner withholds its proposal in every odd view')
  .option(
    '--epochs',
    'election epochs of 0.5–1.5 s whose proposers (every third seed: auction winners) change (npm test runs seeds 1..300 so)',
  )
  .option(
    '--committees',
    'epochs of 0.5–1.5 s whose certifying committees (4 of 6 nodes) change, handed over at a boundary block (npm test runs seeds 1..300 so)',
  )
  .option(
    '--sit-out-after <n>',
    'with --auction-flaky: failed views in the window that sit the winner out (32: never)',
    (v) => Number(v),
  )
  .option(
    '--short-timeouts',
    'turn on the experimental short timeouts for suspects (SEQNET_SUSPECT_TIMEOUTS)',
  )
  .option(
    '--disconnect-timeouts <on|off>',
    "every seed with (on) or without (off) members giving up a crashed member's views at once (default: half the seeds)",
  )
  .parse();
const opts = program.opts<{
  seeds: number;
  from: number;
  seed?: number;
  brokenTwins?: boolean;
  auction?: boolean;
  auctionFlaky?: boolean;
  epochs?: boolean;
  committees?: boolean;
  sitOutAfter?: number;
  shortTimeouts?: boolean;
  disconnectTimeouts?: string;
}>();
if (opts.disconnectTimeouts !== undefined && !['on', 'off'].includes(opts.disconnectTimeouts))
  throw new Error(`--disconnect-timeouts is on or off, got "${opts.disconnectTimeouts}"`);
const mix: LeaderMix = opts.auction ? 'auction' : 'mixed';
const scenario = (seed: number) => ({
  ...(opts.auctionFlaky
    ? flakyWinnerScenario(seed, opts.sitOutAfter)
    : opts.epochs
      ? epochScenario(seed)
      : opts.committees
        ? committeeScenario(seed)
        : scenarioFor(seed, mix)),
  ...(opts.shortTimeouts ? { shortTimeoutForSuspects: true } : {}),
  ...(opts.disconnectTimeouts ? { disconnectTimeouts: opts.disconnectTimeouts === 'on' } : {}),
});

const show = (r: SimResult) =>
  `seed ${r.seed}: heights ${r.heights.join(',')}, views ${r.views} (${r.viewsWithoutBlock} without a block), msgs ${r.messages}, txs ${r.txsCommitted}/${r.txsSubmitted}, evidence ${r.evidence}, recovery ${r.recoveryMs ?? '–'} ms${r.epochsEntered === undefined ? '' : `, epochs entered ${r.epochsEntered}, blocks off schedule ${r.blocksOffSchedule}`}${r.committeesEntered === undefined ? '' : `, committees entered ${r.committeesEntered}, blocks synced ${r.blocksSynced}`}${r.violations.length ? `\n  VIOLATIONS:\n  ${r.violations.slice(0, 10).join('\n  ')}` : ''}`;

if (opts.brokenTwins) {
  const r = new Simulator(brokenTwinsScenario(opts.seed ?? 1)).run();
  console.log(show(r));
  process.exit(r.violations.some((v) => v.startsWith('fork')) ? 0 : 1);
} else if (opts.seed !== undefined) {
  const config = scenario(opts.seed);
  console.log(JSON.stringify(config, null, 1));
  console.log(show(new Simulator(config).run()));
} else {
  const started = Date.now();
  let failed = 0;
  let views = 0;
  let withoutBlock = 0;
  let recoveryMs = 0;
  for (let s = opts.from; s < opts.from + opts.seeds; s++) {
    const r = new Simulator(scenario(s)).run();
    views += r.views;
    withoutBlock += r.viewsWithoutBlock;
    recoveryMs += r.recoveryMs ?? 0;
    if (r.violations.length) {
      failed++;
      console.log(show(r));
    }
    if ((s - opts.from + 1) % 100 === 0)
      process.stderr.write(
        `[sim] ${s - opts.from + 1}/${opts.seeds} seeds, ${failed} failed, ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
  }
  console.log(
    `${opts.seeds} seeds, ${failed} failed (replay one with: npm run sim -- --seed S); ${views} views, ${withoutBlock} of them without a block in member 0's chain; recovery after the heal ${(recoveryMs / 1000).toFixed(1)} s in all`,
  );
  process.exit(failed ? 1 : 0);
}
