/**
 * How long encoding a batch holds the main thread: the batcher's brotli (quality 11) compressed on the
 * main thread (`encodeBatch`) against libuv's thread pool (`encodeBatchAsync`, what a node runs), for
 * batches of signed ETH transfers from a few blocks' worth up to a full 120 KB batch and beyond.
 *
 * For each size and way: the wall time of the encode, and the longest the event loop went without
 * running a 1 ms interval timer meanwhile: the time a committee member could not read, check or send a
 * vote. Both ways must give the same bytes.
 *
 * Then backlogs of 3 to 14 batches' worth drained into 120 KB batches two ways: halving the candidate
 * until it fits (the batcher until stop 43) against `fitBatch` (what it runs now).
 *
 *   npx tsx bench/batch-encode.ts [--repeats 5]   → bench/results/batch-encode.json
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { type FittedBatch, fitBatch } from '../src/batcher/batch-size.js';
import { batcherDefaults } from '../src/batcher/batcher.js';
import { encodeBatch, encodeBatchAsync } from '../src/batcher/codec.js';
import { encodeSequencedBlock, type SequencedBlock } from '../src/types/sequenced-block.js';
import { linkedBlocks, signedTransfers } from '../test/helpers/blocks.js';
import { seqnetVersion, writeResult } from './lib/results.js';
import { median } from './lib/stats.js';

const { values: flags } = parseArgs({
  options: { repeats: { type: 'string', default: '5' }, out: { type: 'string' } },
  strict: true,
});
const repeats = Number(flags.repeats);
if (!Number.isInteger(repeats) || repeats < 1)
  throw new Error(`--repeats ${flags.repeats}: a whole number ≥ 1`);
const TXS_PER_BLOCK = 50;
/** Transfers per batch: ~6 KB to ~480 KB of RLP (a full batch, 120 KB after brotli, is ~1,700 of them). */
const SIZES = [100, 500, 1_000, 2_000, 4_000];
/** Backlogs to drain, in transfers: ~3, ~7 and ~14 full batches. */
const BACKLOGS = [5_000, 12_000, 24_000];

const MOST = BACKLOGS[BACKLOGS.length - 1];
console.error(`[batch-encode] signing ${MOST} transfers…`);
const txs = await signedTransfers(MOST, 64);

/** Batches of `n` transfers, TXS_PER_BLOCK to a block. */
function blocksOf(n: number) {
  const lists: Uint8Array[][] = [];
  for (let at = 0; at < n; at += TXS_PER_BLOCK) lists.push(txs.slice(at, Math.min(n, at + TXS_PER_BLOCK)));
  return linkedBlocks(lists);
}

/**
 * Runs `encode` with the event loop watched: its wall time, and the longest gap between two runs of a
 * 1 ms interval timer meanwhile (how long the loop could not turn).
 */
async function timed(encode: () => Promise<Uint8Array> | Uint8Array) {
  let last = performance.now();
  let maxGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  await new Promise((r) => setTimeout(r, 20));
  maxGap = 0;
  const t0 = performance.now();
  const data = await encode();
  const wallMs = performance.now() - t0;
  // The tick that ends a blocked stretch comes after the encode returns.
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(ticker);
  return { data, wallMs, maxLoopDelayMs: maxGap };
}

const cases: unknown[] = [];
for (const n of SIZES) {
  const blocks = blocksOf(n);
  type Run = { wallMs: number; maxLoopDelayMs: number };
  const runs: { sync: Run[]; async: Run[] } = { sync: [], async: [] };
  let bytes = 0;
  for (let r = 0; r < repeats; r++) {
    const s = await timed(() => encodeBatch(blocks));
    const a = await timed(() => encodeBatchAsync(blocks));
    if (Buffer.compare(s.data, a.data) !== 0)
      throw new Error(`${n} txs: the two encoders gave different bytes`);
    bytes = s.data.length;
    runs.sync.push({ wallMs: s.wallMs, maxLoopDelayMs: s.maxLoopDelayMs });
    runs.async.push({ wallMs: a.wallMs, maxLoopDelayMs: a.maxLoopDelayMs });
  }
  const summary = (xs: Run[]) => ({
    wallMsMedian: round(median(xs.map((x) => x.wallMs)) ?? Number.NaN),
    maxLoopDelayMsMedian: round(median(xs.map((x) => x.maxLoopDelayMs)) ?? Number.NaN),
    maxLoopDelayMsMax: round(Math.max(...xs.map((x) => x.maxLoopDelayMs))),
  });
  const row = {
    txs: n,
    blocks: blocks.length,
    compressedBytes: bytes,
    mainThread: summary(runs.sync),
    threadPool: summary(runs.async),
  };
  console.error(`[batch-encode] ${JSON.stringify(row)}`);
  cases.push(row);
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

/**
 * Draining a backlog into batches of at most the batcher's 120 KB: how the batcher sized each batch
 * until stop 43 (halve the candidate until it fits; the baseline) against `fitBatch` (cuts placed by a
 * compression ratio, the previous batch's first), over the same blocks. Per backlog: batches, brotli
 * passes, their total wall time (thread pool, one at a time, as the batcher runs them), and how full
 * the batches are. Each batch's candidate is at most the batcher's maxBlocks (500) blocks.
 */
async function halvingFit(blocks: SequencedBlock[], maxBytes: number): Promise<FittedBatch> {
  let n = blocks.length;
  let data = await encodeBatchAsync(blocks.slice(0, n));
  let encodes = 1;
  while (data.length > maxBytes && n > 1) {
    n = Math.ceil(n / 2);
    data = await encodeBatchAsync(blocks.slice(0, n));
    encodes++;
  }
  return { blocks: blocks.slice(0, n), data, encodes, ratio: 0 };
}

async function drain(blocks: SequencedBlock[], way: 'halving' | 'fitBatch') {
  const { maxBytes, maxBlocks } = batcherDefaults;
  let at = 0;
  let ratio: number | undefined;
  const sizes: number[] = [];
  let encodes = 0;
  const t0 = performance.now();
  while (at < blocks.length) {
    const candidate = blocks.slice(at, at + maxBlocks);
    const fitted =
      way === 'halving'
        ? await halvingFit(candidate, maxBytes)
        : await fitBatch(
            candidate,
            candidate.map((_, i) => i),
            maxBytes,
            (b) => encodeBatchAsync(b),
            ratio,
          );
    ratio = fitted.ratio;
    encodes += fitted.encodes;
    sizes.push(fitted.data.length);
    at += fitted.blocks.length;
  }
  const encodeSeconds = (performance.now() - t0) / 1000;
  return {
    batches: sizes.length,
    encodes,
    encodeSeconds: round(encodeSeconds),
    meanFill: round((100 * sizes.reduce((a, b) => a + b, 0)) / sizes.length / maxBytes),
    minFillOfFullBatches: round((100 * Math.min(...sizes.slice(0, -1))) / maxBytes),
  };
}

/**
 * The main thread's part of sizing a backlog's batch: RLP-encoding every block to learn its size (what
 * fitBatch first did) against adding up its txs' lengths (what it does), median of 5.
 */
function sizingMs(blocks: SequencedBlock[]) {
  const time = (f: () => number) => {
    const ms: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      if (f() <= 0) throw new Error('no bytes');
      ms.push(performance.now() - t0);
    }
    return round(median(ms) ?? Number.NaN);
  };
  return {
    encodeMs: time(() => blocks.reduce((n, b) => n + encodeSequencedBlock(b).length, 0)),
    countMs: time(() => blocks.reduce((n, b) => n + b.txs.reduce((m, t) => m + t.length + 3, 160), 0)),
  };
}

const backlogs: unknown[] = [];
for (const n of BACKLOGS) {
  const blocks = blocksOf(n);
  const halving = await drain(blocks, 'halving');
  const fitted = await drain(blocks, 'fitBatch');
  const row = {
    txs: n,
    blocks: blocks.length,
    halving,
    fitBatch: fitted,
    encodeTimeRatio: round(fitted.encodeSeconds / halving.encodeSeconds),
    mainThreadSizing: sizingMs(blocks.slice(0, batcherDefaults.maxBlocks)),
  };
  console.error(`[batch-encode] backlog ${JSON.stringify(row)}`);
  backlogs.push(row);
}

writeResult(flags.out ?? 'bench/results/batch-encode.json', {
  what: "a batch's encode (RLP + brotli quality 11) on the main thread (encodeBatch) vs libuv's thread pool (encodeBatchAsync, what the batcher runs): wall time and the longest gap between two runs of a 1 ms interval timer during it (how long the event loop could not turn), medians of `repeats`",
  when: new Date().toISOString(),
  version: seqnetVersion(new URL('..', import.meta.url).pathname),
  repeats,
  txsPerBlock: TXS_PER_BLOCK,
  cases,
  backlog: {
    what: 'draining a backlog of TXS transfers (TXS_PER_BLOCK to a block) into batches of at most 120 KB: the old halving cut against fitBatch, same blocks; encodeSeconds = total wall time of the brotli passes (one at a time, thread pool); fill % of 120 KB (minFillOfFullBatches: the emptiest batch but the last); mainThreadSizing: learning the block sizes of one candidate (up to maxBlocks) by RLP-encoding each block against adding up tx lengths',
    cases: backlogs,
  },
});
