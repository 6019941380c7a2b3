/**
 * Committee benchmark (issue 4): the BFT committee of 4 and 7 `seqnet node --committee` processes on
 * loopback next to the committee of one (`seqnet devnet --no-l1 --block-time 0`), in one run:
 *
 * 1. throughput and soft-confirmation latency of pre-signed ETH transfers from one client that sends
 *    to every member (each sender account to one member, senders round robin over the members), at a
 *    few offered rates (open loop) and in a closed loop. Committed tx/s = txs in blocks first announced
 *    (newHeads) within a fixed window / window length; a block is announced only once it is certified,
 *    executed and persisted (committed = executed here). Latency = scheduled send → the newHeads
 *    notification of the block holding the tx, on the member the tx was sent to.
 * 2. recovery from a SIGKILLed leader (committee of 4, ~100 tx/s steady load, view timeouts 1000 and
 *    300 ms): kill → the first block holding a tx sent after the kill, and the gap between the last
 *    block before the kill and the first after it; 3 times each, the killed member restarted between.
 *
 *   npx tsx bench/committee.ts           # full run, ~15-20 min on the shared two-core machine
 *   npx tsx bench/committee.ts --quick   # ~5-6 min there (2.5 min of it starting 16 node processes)
 *   npx tsx bench/committee.ts --wait-load 3   # first wait (at most 15 min) for a 1-min load ≤ 3
 *
 * Writes bench/results/committee.json (committee-quick.json with --quick) and prints a table.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Hex } from 'viem';
import type { RecentViewStats } from '../src/consensus/driver/view-timeout.js';
import { killAllChildren } from './lib/chains.js';
import {
  type Cluster,
  killAllClusters,
  startCluster,
  statusOf,
  until,
  waitCaughtUp,
  waitConnected,
} from './lib/committee-cluster.js';
import { closedLoop, type LoadRun, type MemberSample, openLoop } from './lib/committee-load.js';
import { CommitteeWatcher } from './lib/committee-watch.js';
import { type LatencyStats, latencyStats, type RunStats } from './lib/load.js';
import { HttpRpc } from './lib/rpc.js';
import {
  Accounts,
  ETH_TRANSFER_GAS,
  SENDER_FUNDING,
  type SignedTx,
  signEthTransfer,
  signEthTransfersOver,
} from './lib/txs.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    /** For quick iterations (with --out elsewhere): only these committee sizes, e.g. "1,4". */
    sizes: { type: 'string' },
    /** Partial runs: only these recovery view timeouts (ms), e.g. "300" ("" = none). */
    timeouts: { type: 'string' },
    /** For quick iterations: no recovery series. */
    'no-recovery': { type: 'boolean', default: false },
    /** For quick iterations: only these open-loop rates (tx/s), e.g. "50". */
    rates: { type: 'string' },
    /** For quick iterations (profiles): seconds of each open-loop run. */
    'open-seconds': { type: 'string' },
    /** Wait (at most 15 min) until the 1-min load average is at most this before starting. */
    'wait-load': { type: 'string' },
  },
  strict: true,
});
const quick = flags.quick;

const config = quick
  ? {
      sizes: [1, 4, 7],
      senders: 128,
      rates: [50, 200],
      openSeconds: 2,
      closedUsers: 128,
      closedSeconds: 3,
      closedTxsPerUser: 16,
      /** Warm-up (JIT, sockets): this many txs at 100 tx/s, not reported. */
      warmupTxs: 100,
      /** Committed tx/s is counted from this long after a run's first send to its last send. */
      windowSkipMs: 500,
      drainMs: 4_000,
      idleWaitMs: 5_000,
      idleSeconds: 2,
      /** --quick: 2 repeats per view timeout (the full run: 3), to keep it short. */
      recovery: {
        rate: 100,
        preKillMs: 1_500,
        postKillMs: 3_000,
        repeats: 2,
        senders: 24,
        timeouts: [1000, 300],
      },
    }
  : {
      sizes: [1, 4, 7],
      senders: 256,
      rates: [50, 200, 500, 1000],
      openSeconds: 5,
      closedUsers: 256,
      closedSeconds: 8,
      closedTxsPerUser: 32,
      warmupTxs: 200,
      windowSkipMs: 1_000,
      drainMs: 10_000,
      idleWaitMs: 10_000,
      idleSeconds: 5,
      recovery: {
        rate: 100,
        preKillMs: 3_000,
        postKillMs: 6_000,
        repeats: 3,
        senders: 40,
        timeouts: [1000, 300],
      },
    };

if (flags.sizes !== undefined) config.sizes = flags.sizes.split(',').filter(Boolean).map(Number);
if (flags.timeouts !== undefined)
  config.recovery.timeouts = flags.timeouts.split(',').filter(Boolean).map(Number);
if (flags['no-recovery']) config.recovery.timeouts = [];
if (flags.rates !== undefined) config.rates = flags.rates.split(',').filter(Boolean).map(Number);
if (flags['open-seconds'] !== undefined) config.openSeconds = Number(flags['open-seconds']);
const partial =
  flags.sizes !== undefined ||
  flags.timeouts !== undefined ||
  flags['no-recovery'] ||
  flags.rates !== undefined ||
  flags['open-seconds'] !== undefined;
if (partial && !flags.out)
  throw new Error(
    '--sizes, --timeouts, --rates, --open-seconds and --no-recovery make a partial run: give --out (not committee.json)',
  );
/** The recovery series that runs on the throughput committee of 4 (the others get fresh committees). */
const inlineTimeout = config.sizes.includes(4) ? config.recovery.timeouts[0] : undefined;

const CHAIN_ID = 42069;
const log = (line: string) => process.stderr.write(`${line}\n`);
const round = (x: number, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);
const fmt = (x: number | null | undefined, d = 1) =>
  x === null || x === undefined || Number.isNaN(x)
    ? '-'
    : x === Number.POSITIVE_INFINITY
      ? '>drain'
      : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const median = (xs: number[]) => {
  // A missing figure (no recovery seen) counts as slower than every other one.
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return null;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// ---- load average: sampled through the run so readers can judge the figures ----

const loadSamples: Array<{ atSeconds: number; load1: number }> = [];
const benchStart = performance.now();
const loadTimer = setInterval(
  () =>
    loadSamples.push({
      atSeconds: round((performance.now() - benchStart) / 1000, 0),
      load1: round(loadavg()[0], 2),
    }),
  5_000,
);
loadTimer.unref();

// ---- senders ----

/** Sender indices: [0, senders) for throughput, then `repeats` groups per view timeout for recovery. */
const recoveryGroups = config.recovery.timeouts.length * config.recovery.repeats;
/** Senders: [0, senders) for the open loops, then the closed loop's users, then the recovery groups. */
const accounts = new Accounts(config.senders + config.closedUsers + recoveryGroups * config.recovery.senders);
const openGroup = Array.from({ length: config.senders }, (_, i) => i);
const closedGroup = Array.from({ length: config.closedUsers }, (_, i) => config.senders + i);
const recoveryGroup = (g: number) =>
  Array.from(
    { length: config.recovery.senders },
    (_, i) => config.senders + config.closedUsers + g * config.recovery.senders + i,
  );
/** Next nonce per sender on the chain being measured (fresh chains: all zero). */
let nonces: number[] = [];

const signEth = (senderIdx: number, nonce: number, k: number): Promise<SignedTx> =>
  signEthTransfer(accounts, CHAIN_ID, senderIdx, nonce, k);

/** `count` transfers over `group` (tx k from group[k mod n]), nonces taken from `nonces`. */
const signOver = (group: number[], count: number): Promise<SignedTx[]> =>
  signEthTransfersOver(accounts, CHAIN_ID, nonces, group, count);

// ---- per cluster: setup ----

interface Harness {
  cluster: Cluster;
  rpcs: HttpRpc[];
  watcher: CommitteeWatcher;
  /** Members the client does not send to (killed). */
  down: Set<number>;
}

async function openHarness(cluster: Cluster): Promise<Harness> {
  await waitConnected(cluster);
  const watcher = await CommitteeWatcher.start(cluster.members.map((m) => m.wsUrl));
  const perMember = Math.ceil((config.senders + config.closedUsers) / cluster.size) + 16;
  const rpcs = cluster.members.map((m) => new HttpRpc(m.url, perMember));
  return { cluster, rpcs, watcher, down: new Set() };
}

function closeHarness(h: Harness): void {
  h.watcher.close();
  for (const r of h.rpcs) r.close();
}

/** The member sender s sends to: senders round robin over the members. */
const memberOf = (h: Harness, tx: SignedTx) => {
  const m = tx.from % h.cluster.size;
  return h.down.has(m) ? undefined : m;
};

/** Funds every sender from the 10 dev accounts (one lane per funder, in nonce order) via member 0. */
async function fund(h: Harness): Promise<void> {
  const t0 = performance.now();
  const rpc = h.rpcs[0];
  const funders = accounts.funders;
  const funderNonces = (
    await rpc.batch<Hex>(funders.map((f) => ['eth_getTransactionCount', [f.address, 'pending']]))
  ).map(Number);
  const lanes: SignedTx[][] = funders.map(() => []);
  for (let s = 0; s < accounts.senders.length; s++) {
    const f = s % funders.length;
    lanes[f].push(
      await accounts.sign(
        funders[f],
        f,
        CHAIN_ID,
        funderNonces[f]++,
        accounts.senders[s].address,
        SENDER_FUNDING,
        undefined,
        ETH_TRANSFER_GAS,
      ),
    );
  }
  const all = lanes.flat();
  const waits = all.map((t) => h.watcher.confirmed(t.hash, 0));
  // One JSON-RPC batch (nonce order within each funder): a tx per round trip is slow on a busy machine.
  await rpc.batch<Hex>(all.map((t) => ['eth_sendRawTransaction', [t.raw]] as [string, unknown[]]));
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    Promise.all(waits),
    new Promise<'timeout'>((res) => {
      timer = setTimeout(() => res('timeout'), 120_000);
    }),
  ]);
  clearTimeout(timer);
  if (r === 'timeout') throw new Error('funding: txs not included within 120 s');
  nonces = accounts.senders.map(() => 0);
  log(`  funded ${accounts.senders.length} senders in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** After a refused tx its sender's later nonces never land: take the nonces from the chain again. */
async function resyncNonces(h: Harness, group: number[]): Promise<void> {
  await waitIdle(h, config.idleWaitMs);
  const live = h.rpcs.filter((_, i) => !h.down.has(i));
  const per = await Promise.all(
    live.map((rpc) =>
      accounts.nonces(
        rpc,
        group.map((s) => accounts.senders[s]),
      ),
    ),
  );
  group.forEach((s, i) => {
    nonces[s] = Math.max(...per.map((p) => p[i]));
  });
  log(`  nonces taken from the chain again after refused txs`);
}

/** Waits (bounded) until no member holds pending or queued txs; returns what was left. */
async function waitIdle(h: Harness, maxMs: number): Promise<number> {
  const live = () => h.cluster.members.filter((m) => !h.down.has(m.index));
  const backlog = async () => {
    const s = await Promise.all(live().map((m) => statusOf(m.url)));
    return Math.max(...s.map((x) => x.mempool.pending + x.mempool.queued));
  };
  try {
    await until('empty mempools', async () => (await backlog()) === 0, maxMs);
    return 0;
  } catch {
    return backlog();
  }
}

/**
 * Checks a spread of receipts, each on the member that confirmed the tx (another may not have
 * committed that block yet): a reverted transfer still confirms, but must not count as done.
 */
async function failedReceipts(h: Harness, samples: MemberSample[]): Promise<number> {
  const confirmed = samples.filter((x) => x.inclusion && x.member >= 0);
  const step = Math.max(1, Math.floor(confirmed.length / 25));
  const picked = confirmed.filter((_, i) => i % step === 0);
  let failed = 0;
  for (let m = 0; m < h.rpcs.length; m++) {
    const mine = picked.filter((x) => x.member === m);
    if (!mine.length) continue;
    const receipts = await h.rpcs[m].batch<{ status: Hex } | null>(
      mine.map((x) => ['eth_getTransactionReceipt', [x.tx.hash]] as [string, unknown[]]),
    );
    failed += receipts.filter((r) => r?.status !== '0x1').length;
  }
  return failed;
}

// ---- throughput and latency ----

interface ThroughputResult {
  workload: string;
  /** Offered tx/s (open loop) or null (closed loop). */
  offeredRate: number | null;
  /** Committed (= executed) txs per second in the fixed window [first send + windowSkipMs, last send]. */
  committedTxPerSecond: number;
  window: { seconds: number; blocks: number; txs: number; blocksPerSecond: number };
  stats: RunStats;
  /** Send → the first newHeads of the block from any member (the tx's member may announce later). */
  latencyFirstMemberMs: LatencyStats;
  /**
   * Send → the member it was sent to pushes the tx's commit proof (`preconfirmations` subscription):
   * committed, before that member executes the block. Null for nodes without the push.
   */
  preconfirmationMs: LatencyStats | null;
  /** Mempool txs left over from the previous run when this one started. */
  backlogAtStart: number;
  /** Member 0's view of consensus from the start of the run to the end of its drain. */
  consensus: { views: number; committedBlocks: number; timeoutsSignedByMember0: number } | null;
  cpu: { nodesCores: number; nodesMsPerTx: number | null; clientCores: number };
}

async function measure(
  h: Harness,
  workload: string,
  offeredRate: number | null,
  go: () => Promise<LoadRun>,
): Promise<ThroughputResult> {
  const consensus = async () => (await statusOf(h.cluster.members[0].url)).consensus;
  const c0 = await consensus();
  const cpu0 = h.cluster.cpuSeconds();
  const client0 = process.cpuUsage();
  const wall0 = performance.now();
  const run = await go();
  const elapsed = (performance.now() - wall0) / 1000;
  const c1 = await consensus();
  const nodesSeconds = h.cluster.cpuSeconds() - cpu0;
  const client = process.cpuUsage(client0);
  const from = run.t0 + config.windowSkipMs;
  const to = Math.max(from + 1, run.sendEnd);
  const w = h.watcher.committedBetween(from, to);
  const windowSeconds = (to - from) / 1000;
  const firstLat: number[] = [];
  for (const s of run.samples) {
    if (!s.inclusion) continue;
    const b = h.watcher.blocks.get(s.inclusion.block);
    if (b) firstLat.push(b.firstAt - s.startAt);
  }
  const pushedLat: number[] = [];
  for (const s of run.samples) {
    const at = s.inclusion ? h.watcher.preconfirmedAt(s.tx.hash, s.member) : undefined;
    if (at !== undefined) pushedLat.push(at - s.startAt);
  }
  const failed = await failedReceipts(h, run.samples);
  if (failed > 0) throw new Error(`${workload}: ${failed} sampled receipts have status 0 (reverted)`);
  const s = run.stats;
  const result: ThroughputResult = {
    workload,
    offeredRate,
    committedTxPerSecond: round(w.txs / windowSeconds),
    window: {
      seconds: round(windowSeconds, 2),
      blocks: w.blocks,
      txs: w.txs,
      blocksPerSecond: round(w.blocks / windowSeconds),
    },
    stats: s,
    latencyFirstMemberMs: latencyStats(firstLat, s.unconfirmed),
    preconfirmationMs: pushedLat.length ? latencyStats(pushedLat, s.unconfirmed) : null,
    backlogAtStart: 0,
    consensus:
      c0 && c1
        ? {
            views: Number(c1.view) - Number(c0.view),
            committedBlocks: c1.committedHeight - c0.committedHeight,
            timeoutsSignedByMember0: c1.timeoutsSigned - c0.timeoutsSigned,
          }
        : null,
    cpu: {
      nodesCores: round(nodesSeconds / elapsed, 2),
      nodesMsPerTx: s.confirmed ? round((nodesSeconds * 1000) / s.confirmed, 2) : null,
      clientCores: round((client.user + client.system) / 1e6 / elapsed, 2),
    },
  };
  if (result.consensus)
    log(
      `  ${workload}: ${result.consensus.views} views, ${result.consensus.committedBlocks} blocks committed, ${result.consensus.timeoutsSignedByMember0} timeouts signed by member 0`,
    );
  log(
    `  ${workload}: committed ${fmt(result.committedTxPerSecond, 0)} tx/s in the window, ${s.confirmed}/${s.txs} confirmed, p50 ${fmt(s.latencyMs.p50)} ms, p99 ${fmt(s.latencyMs.p99)} ms (commit proof pushed: p50 ${fmt(result.preconfirmationMs?.p50 ?? null)} ms), ${fmt(s.txsPerBlock.mean)} txs/block, nodes ${result.cpu.nodesCores} cores${s.errors.length ? `, errors: ${s.errors.join(' | ')}` : ''}`,
  );
  return result;
}

/**
 * Warm-up, then the closed loop (its own senders: it stops after a fixed time, so how many of its
 * pre-signed txs it uses varies), then the open loops in ascending rate (their txs are the same on
 * every committee, signed once). Each run waits (bounded) for the previous one's backlog to clear.
 */
async function throughput(h: Harness): Promise<ThroughputResult[]> {
  const n = h.cluster.size;
  const common = (label: string) => ({
    label: `${n}: ${label}`,
    route: (tx: SignedTx) => memberOf(h, tx),
    vantage: (m: number) => m,
    drainMs: config.drainMs,
    log,
  });
  // Warm-up (not reported): a fresh node runs cold (JIT), and the client opens its keep-alive sockets.
  await Promise.all(h.rpcs.map((r) => r.warm(Math.ceil((config.senders + config.closedUsers) / n))));
  const warm = await signOver(openGroup, config.warmupTxs);
  await openLoop(h.rpcs, h.watcher, warm, 100, common('warm-up'));
  const out: ThroughputResult[] = [];
  {
    const backlog = await waitIdle(h, config.idleWaitMs);
    const lanes: SignedTx[][] = [];
    for (const s of closedGroup) {
      const lane: SignedTx[] = [];
      for (let j = 0; j < config.closedTxsPerUser; j++)
        lane.push(await signEth(s, nonces[s]++, s * config.closedTxsPerUser + j));
      lanes.push(lane);
    }
    const r = await measure(h, `closed loop ${config.closedUsers} users`, null, () =>
      closedLoop(h.rpcs, h.watcher, lanes, config.closedSeconds * 1000, common('closed')),
    );
    r.backlogAtStart = backlog;
    out.push(r);
  }
  for (const rate of config.rates) {
    const backlog = await waitIdle(h, config.idleWaitMs);
    const txs = await signOver(openGroup, rate * config.openSeconds);
    const r = await measure(h, `open loop ${rate} tx/s`, rate, () =>
      openLoop(h.rpcs, h.watcher, txs, rate, common(`open ${rate}`)),
    );
    r.backlogAtStart = backlog;
    out.push(r);
    if (r.stats.rejected > 0) await resyncNonces(h, openGroup);
  }
  return out;
}

/** The members' CPU with no txs coming in: what the committee costs before any tx. */
async function idleCpu(h: Harness): Promise<number> {
  await waitIdle(h, config.idleWaitMs);
  await new Promise((r) => setTimeout(r, 500));
  const cpu0 = h.cluster.cpuSeconds();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, config.idleSeconds * 1000));
  const cores = round((h.cluster.cpuSeconds() - cpu0) / ((performance.now() - t0) / 1000), 2);
  log(`  idle: members use ${cores} cores together`);
  return cores;
}

// ---- recovery from a killed leader ----

interface RecoveryRepeat {
  repeat: number;
  killedMember: number;
  viewAtKill: string;
  /** The view timeout of the member asked for the leader just before the kill (a survivor). */
  viewTimeoutAtKillMs: number | null;
  /** What that member's recent views took then (median, p90, slowest of up to 32). */
  recentViewsAtKillMs: RecentViewStats | null;
  /** A surviving member's view once the post-kill load has drained. */
  viewAtEnd: string | null;
  /** Kill → first newHeads (any surviving member) of a block holding a tx sent after the kill. */
  killToFirstPostKillTxBlockMs: number | null;
  /** Kill → first block announced after the kill (it may hold only txs sent before the kill). */
  killToFirstBlockMs: number | null;
  /** Last block announced before the kill → first block announced after it. */
  gapMs: number | null;
  /** How long before the kill the last block before it was announced. */
  lastBlockBeforeKillMs: number | null;
  /** Blocks and txs committed from the start of the load to the kill. */
  /**
   * From the start of the load to the kill (at least preKillMs, and until the committee commits the
   * load steadily); firstTxBlockMs: load start → first block holding a load tx (after a restart: how
   * long the committee took to resume).
   */
  preKill: {
    blocks: number;
    txs: number;
    txPerSecond: number;
    loadMs: number;
    firstTxBlockMs: number | null;
  };
  /** Largest gap between consecutive blocks in the post-kill window. */
  maxGapAfterKillMs: number | null;
  /** Committed txs per second from the kill to the end of the load. */
  committedTxPerSecondAfterKill: number;
  /** Txs sent after the kill to a surviving member, and how many were committed. */
  postKillTxs: { sent: number; committed: number };
  postKillLatencyMs: LatencyStats;
  restartSeconds: number | null;
}

interface RecoveryResult {
  viewTimeoutMs: number;
  committee: number;
  load: string;
  repeats: RecoveryRepeat[];
  median: {
    killToFirstPostKillTxBlockMs: number | null;
    killToFirstBlockMs: number | null;
    gapMs: number | null;
  };
}

async function recovery(h: Harness, groupBase: number, restartLast: boolean): Promise<RecoveryResult> {
  const c = h.cluster;
  const rc = config.recovery;
  const repeats: RecoveryRepeat[] = [];
  for (let rep = 0; rep < rc.repeats; rep++) {
    await waitIdle(h, config.idleWaitMs);
    const group = recoveryGroup(groupBase + rep);
    // Enough txs for a slow kill (seqnet_status may take a while on a busy machine); sending stops
    // postKillMs after the kill.
    const total = Math.round((rc.rate * (rc.preKillMs + rc.postKillMs + 22_000)) / 1000);
    const txs = await signOver(group, total);
    let killAt = Number.NaN;
    let killed = -1;
    let viewAtKill = '';
    let viewTimeoutAtKillMs: number | null = null;
    let recentViewsAtKillMs: RecoveryRepeat['recentViewsAtKillMs'] = null;
    const loadStart = performance.now();
    let steadyAfterMs: number | null = null;
    const killer = (async () => {
      await new Promise((r) => setTimeout(r, rc.preKillMs));
      // Kill only a committee that is committing the load (after a restart it may still be resuming):
      // at least 3 blocks holding txs since the load began, the last within 1 s; at most 20 s more.
      const waitEnd = performance.now() + 20_000;
      const loaded = () => h.watcher.sortedBlocks().filter((b) => b.firstAt >= loadStart && b.txCount > 0);
      while (performance.now() < waitEnd) {
        const bs = loaded();
        if (bs.length >= 3 && performance.now() - bs[bs.length - 1].firstAt < 1_000) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const first = loaded()[0];
      steadyAfterMs = first ? round(first.firstAt - loadStart) : null;
      const probe = c.members.find((m) => !h.down.has(m.index))!;
      const st = await statusOf(probe.url);
      killed = st.consensus!.leader;
      viewAtKill = st.consensus!.view;
      viewTimeoutAtKillMs = st.consensus!.viewTimeoutMs ?? null;
      recentViewsAtKillMs = st.consensus!.recentViewsMs ?? null;
      h.down.add(killed);
      h.watcher.drop(killed);
      killAt = performance.now();
      await c.kill(killed, 'SIGKILL');
      log(
        `  [vt ${c.viewTimeoutMs}] repeat ${rep + 1}: SIGKILL member ${killed} (leader of view ${viewAtKill}; a survivor's view timeout ${viewTimeoutAtKillMs ?? '-'} ms, its recent views ${recentViewsAtKillMs ? `${recentViewsAtKillMs.medianMs} / ${recentViewsAtKillMs.p90Ms} / ${recentViewsAtKillMs.slowestMs} ms median / p90 / slowest of ${recentViewsAtKillMs.views}` : '-'}) after ${((killAt - loadStart) / 1000).toFixed(1)} s of load (first load block after ${steadyAfterMs ?? '-'} ms)`,
      );
    })();
    const run = await openLoop(h.rpcs, h.watcher, txs, rc.rate, {
      label: `vt ${c.viewTimeoutMs} recovery ${rep + 1}`,
      route: (tx) => memberOf(h, tx),
      vantage: () => 'first',
      drainMs: config.drainMs,
      stopWhen: () => performance.now() >= killAt + rc.postKillMs,
      log,
    });
    await killer;
    const endStatus = await statusOf(c.members.find((m) => !h.down.has(m.index))!.url).catch(() => undefined);
    const blocks = h.watcher.sortedBlocks();
    const before = blocks.filter((b) => b.firstAt < killAt).at(-1);
    const after = blocks.filter((b) => b.firstAt >= killAt);
    const post = run.samples.filter((s) => s.sentAt !== undefined && s.sentAt >= killAt);
    const postConfirmed = post.filter((s) => s.inclusion);
    const firstPostBlock = postConfirmed.length
      ? Math.min(...postConfirmed.map((s) => s.inclusion!.block))
      : undefined;
    const firstPost = firstPostBlock === undefined ? undefined : h.watcher.blocks.get(firstPostBlock);
    const inLoad = after.filter((b) => b.firstAt <= run.sendEnd);
    let maxGap = 0;
    let prev = killAt;
    for (const b of inLoad) {
      maxGap = Math.max(maxGap, b.firstAt - prev);
      prev = b.firstAt;
    }
    const afterTxs = h.watcher.committedBetween(killAt, run.sendEnd).txs;
    const rr: RecoveryRepeat = {
      repeat: rep + 1,
      killedMember: killed,
      viewAtKill,
      viewTimeoutAtKillMs,
      recentViewsAtKillMs,
      viewAtEnd: endStatus?.consensus?.view ?? null,
      killToFirstPostKillTxBlockMs: firstPost ? round(firstPost.firstAt - killAt) : null,
      killToFirstBlockMs: after[0] ? round(after[0].firstAt - killAt) : null,
      gapMs: before && after[0] ? round(after[0].firstAt - before.firstAt) : null,
      lastBlockBeforeKillMs: before ? round(killAt - before.firstAt) : null,
      preKill: {
        ...h.watcher.committedBetween(run.t0, killAt),
        txPerSecond: round(h.watcher.committedBetween(run.t0, killAt).txs / ((killAt - run.t0) / 1000)),
        loadMs: round(killAt - run.t0),
        firstTxBlockMs: steadyAfterMs,
      },
      maxGapAfterKillMs: inLoad.length ? round(maxGap) : null,
      committedTxPerSecondAfterKill: round(afterTxs / ((run.sendEnd - killAt) / 1000)),
      postKillTxs: { sent: post.length, committed: postConfirmed.length },
      postKillLatencyMs: latencyStats(
        postConfirmed.map((s) => s.inclusion!.announcedAt - s.startAt),
        post.length - postConfirmed.length,
      ),
      restartSeconds: null,
    };
    log(
      `  [vt ${c.viewTimeoutMs}] repeat ${rep + 1}: kill → first block with a post-kill tx ${fmt(rr.killToFirstPostKillTxBlockMs)} ms, kill → first block ${fmt(rr.killToFirstBlockMs)} ms, gap ${fmt(rr.gapMs)} ms, max gap after ${fmt(rr.maxGapAfterKillMs)} ms, ${rr.postKillTxs.committed}/${rr.postKillTxs.sent} post-kill txs committed`,
    );
    if (rep < rc.repeats - 1 || restartLast) {
      const t0 = performance.now();
      const m = await c.start(killed);
      await waitCaughtUp(c, killed);
      await h.watcher.reconnect(killed, m.wsUrl);
      h.down.delete(killed);
      await waitConnected(c);
      rr.restartSeconds = round((performance.now() - t0) / 1000, 1);
      log(`  [vt ${c.viewTimeoutMs}] member ${killed} restarted and caught up in ${rr.restartSeconds} s`);
    }
    repeats.push(rr);
  }
  const med = (k: 'killToFirstPostKillTxBlockMs' | 'killToFirstBlockMs' | 'gapMs') =>
    median(repeats.map((r) => r[k] ?? Number.POSITIVE_INFINITY));
  return {
    viewTimeoutMs: c.viewTimeoutMs!,
    committee: c.size,
    load: `${rc.rate} tx/s open loop from ${rc.senders} fresh senders per repeat, each sender to one member (none to the killed one after the kill); ${rc.preKillMs} ms before the kill, ${rc.postKillMs} ms after`,
    repeats,
    median: {
      killToFirstPostKillTxBlockMs: med('killToFirstPostKillTxBlockMs'),
      killToFirstBlockMs: med('killToFirstBlockMs'),
      gapMs: med('gapMs'),
    },
  };
}

// ---- orchestration ----

async function withCluster<T>(
  size: number,
  viewTimeoutMs: number | undefined,
  body: (h: Harness) => Promise<T>,
): Promise<T> {
  const t0 = performance.now();
  const cluster = await startCluster(size, viewTimeoutMs);
  let h: Harness | undefined;
  try {
    h = await openHarness(cluster);
    log(
      `[${size === 1 ? 'single sequencer' : `committee of ${size}, view timeout ${cluster.viewTimeoutMs} ms`}] up in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    await fund(h);
    return await body(h);
  } catch (err) {
    for (const m of cluster.members) if (m) log(`[member ${m.index}] output tail:\n${m.output()}`);
    throw err;
  } finally {
    if (h) closeHarness(h);
    await cluster.stop();
  }
}

interface SizeResult {
  committee: number;
  mode: string;
  viewTimeoutMs: number | null;
  command: string[];
  /** CPU of all members together with no load (cores), after funding. */
  idleNodesCores: number;
  runs: ThroughputResult[];
  /** The highest committed tx/s of its runs. */
  sustainedTxPerSecond: number;
}

function table(sizes: SizeResult[], rec: RecoveryResult[]): string {
  const rows: string[][] = [
    [
      'committee',
      'workload',
      'committed tx/s',
      'conf. tx/s',
      'confirmed',
      'p50 ms',
      'p99 ms',
      'p50 first ms',
      'proof p50',
      'ack p50',
      'txs/block',
      'blocks/s',
      'nodes cores',
    ],
  ];
  for (const s of sizes) {
    for (const r of s.runs) {
      rows.push([
        r === s.runs[0] ? (s.committee === 1 ? '1 (single)' : String(s.committee)) : '',
        r.workload,
        fmt(r.committedTxPerSecond, 0),
        fmt(r.stats.txPerSecond, 0),
        `${r.stats.confirmed}/${r.stats.txs}`,
        fmt(r.stats.latencyMs.p50),
        fmt(r.stats.latencyMs.p99),
        fmt(r.latencyFirstMemberMs.p50),
        fmt(r.preconfirmationMs?.p50 ?? null),
        fmt(r.stats.ackLatencyMs.p50),
        fmt(r.stats.txsPerBlock.mean),
        fmt(r.window.blocksPerSecond),
        fmt(r.cpu.nodesCores, 2),
      ]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const render = (rs: string[][], w: number[], left: number) => {
    const lines = rs.map((r) =>
      r.map((cell, c) => (c < left ? cell.padEnd(w[c]) : cell.padStart(w[c]))).join('  '),
    );
    lines.splice(1, 0, w.map((x) => '-'.repeat(x)).join('  '));
    return lines;
  };
  const lines = render(rows, widths, 2);
  lines.push('');
  lines.push(
    `highest committed tx/s: ${sizes.map((s) => `${s.committee}: ${fmt(s.sustainedTxPerSecond, 0)}`).join(', ')}; members' CPU with no load: ${sizes.map((s) => `${s.committee}: ${fmt(s.idleNodesCores, 2)} cores`).join(', ')}`,
  );
  lines.push('');
  const rrows: string[][] = [
    [
      'view timeout',
      'repeat',
      'killed',
      'kill→block w/ new tx ms',
      'kill→first block ms',
      'gap ms',
      'max gap after ms',
      'load→1st block ms',
      'tx/s before',
      'tx/s after',
      'post-kill txs in',
    ],
  ];
  for (const r of rec) {
    for (const x of r.repeats)
      rrows.push([
        x === r.repeats[0] ? `${r.viewTimeoutMs} ms` : '',
        String(x.repeat),
        `member ${x.killedMember}`,
        fmt(x.killToFirstPostKillTxBlockMs, 0),
        fmt(x.killToFirstBlockMs, 0),
        fmt(x.gapMs, 0),
        fmt(x.maxGapAfterKillMs, 0),
        fmt(x.preKill.firstTxBlockMs, 0),
        fmt(x.preKill.txPerSecond, 0),
        fmt(x.committedTxPerSecondAfterKill, 0),
        `${x.postKillTxs.committed}/${x.postKillTxs.sent}`,
      ]);
    rrows.push([
      '',
      'median',
      '',
      fmt(r.median.killToFirstPostKillTxBlockMs, 0),
      fmt(r.median.killToFirstBlockMs, 0),
      fmt(r.median.gapMs, 0),
      '',
      '',
      '',
      '',
      '',
    ]);
  }
  const rw = rrows[0].map((_, c) => Math.max(...rrows.map((r) => r[c].length)));
  lines.push(...render(rrows, rw, 3));
  return lines.join('\n');
}

/** The commit measured, and whether src/ had uncommitted changes (others edit the tree meanwhile). */
function seqnetVersion(): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: import.meta.dirname, encoding: 'utf8' }).trim();
    return `seqnet@${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '../src') ? ' + uncommitted src/ changes' : ''}`;
  } catch {
    return 'unknown';
  }
}

async function waitForCalm(): Promise<{ waitedSeconds: number; threshold: number } | null> {
  if (flags['wait-load'] === undefined) return null;
  const threshold = Number(flags['wait-load']);
  if (!(threshold > 0)) throw new Error(`--wait-load must be a positive number, got "${flags['wait-load']}"`);
  const t0 = performance.now();
  while (loadavg()[0] > threshold && performance.now() - t0 < 15 * 60_000) {
    log(`waiting for the 1-min load average (${loadavg()[0].toFixed(2)}) to fall to ${threshold}…`);
    await new Promise((r) => setTimeout(r, 15_000));
  }
  return { waitedSeconds: round((performance.now() - t0) / 1000, 0), threshold };
}

async function main(): Promise<void> {
  const waited = await waitForCalm();
  const started = Date.now();
  const loadStart = loadavg().map((x) => round(x, 2));
  log(
    `seqnet committee benchmark${quick ? ' (--quick)' : ''}: ${JSON.stringify(config)}; load average ${loadStart.join(' ')}`,
  );
  const sizes: SizeResult[] = [];
  const rec: RecoveryResult[] = [];
  let group = 0;
  const out = resolve(
    flags.out ?? join(import.meta.dirname, 'results', quick ? 'committee-quick.json' : 'committee.json'),
  );
  mkdirSync(resolve(out, '..'), { recursive: true });
  /** Writes the report so far (after every phase, so that a stopped run leaves its figures). */
  const save = (complete: boolean) => {
    const loadEnd = loadavg().map((x) => round(x, 2));
    const four = sizes.find((s) => s.committee === 4);
    const fourAt = (rate: number) => four?.runs.find((r) => r.offeredRate === rate);
    const lowest = four?.runs.find((r) => r.offeredRate !== null);
    const report = {
      benchmark: 'committee',
      quick,
      complete,
      date: new Date().toISOString(),
      durationSeconds: Math.round((Date.now() - started) / 1000),
      ...(complete
        ? {}
        : { note: 'partial: written after each phase; the run has not finished (or was stopped)' }),
      version: seqnetVersion(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
      },
      loadAverage: {
        start: loadStart,
        end: loadEnd,
        note: 'os.loadavg() [1, 5, 15 min]; samples: the 1-min figure every 5 s',
        waitedForCalm: waited,
        samples: loadSamples,
        min1: Math.min(...loadSamples.map((s) => s.load1), loadStart[0], loadEnd[0]),
        max1: Math.max(...loadSamples.map((s) => s.load1), loadStart[0], loadEnd[0]),
      },
      method: {
        nodes:
          'real processes on loopback, all on this machine with the client: committee of 1 = `seqnet devnet --no-l1 --block-time 0`; committees of 4 and 7 = `seqnet node --committee FILE --p2p-listen …` (libp2p, BLS votes), keys made as `seqnet keys` makes them; mempool limits raised as in bench/run.ts',
        client:
          'one Node process; txs pre-signed (viem, EIP-1559, explicit nonce/gas/fees), sent raw with eth_sendRawTransaction over keep-alive HTTP/1.1 to every member: sender s always to member s mod n (senders round robin over members; a tx k of the open loop goes from sender k mod senders)',
        confirmation:
          'a WebSocket newHeads subscription on every member plus eth_getBlockByNumber(n, false) once per block; a member announces a block only once it is committed (2-chain QC), executed and persisted',
        latency:
          'latencyMs: scheduled send (open loop) or send (closed loop) → newHeads of the block holding the tx on the member it was sent to; latencyFirstMemberMs: → the first member to announce that block; preconfirmationMs: → the member it was sent to pushes its commit proof (a `preconfirmations` WebSocket subscription on every member: committed, before execution)',
        committedTxPerSecond: `txs in blocks first announced in [first send + ${config.windowSkipMs} ms, last send) / that window; committed = executed in this node (committedHeight is the executed head)`,
        unconfirmed: `txs not in a block ${config.drainMs} ms after the last send count as slower than every confirmed tx (a percentile among them is null)`,
        warmUp: `${config.warmupTxs} txs at 100 tx/s before the measured runs of each committee (not reported)`,
        recovery:
          'leader from seqnet_status of a live member, SIGKILLed once the committee commits the load steadily (at least preKillMs of load and 3 blocks with load txs, at most 20 s more); times are newHeads arrivals at the first surviving member to announce; the killed member is restarted on its data dir and waited for (caught up, connected) between repeats. The 1000 ms series runs on the throughput committee of 4 before its throughput runs (fresh chain, no backlog), the 300 ms series on a fresh committee of 4',
        order:
          'committee of 1, then 4 (recovery at 1000 ms first), then 7, then 4 at 300 ms; per committee: idle CPU, warm-up, closed loop, open loops in ascending rate; each run first waits (bounded) for empty mempools, and backlogAtStart says what was left',
      },
      config,
      committees: sizes,
      recovery: rec,
      targets: {
        note: 'for reference only (not asserted)',
        fourNodesP50AtMost50ms: {
          value: lowest?.stats.latencyMs.p50 ?? null,
          commitProofPushedP50: lowest?.preconfirmationMs?.p50 ?? null,
          at: lowest?.workload ?? null,
          atEachRate: Object.fromEntries(
            config.rates.map((r) => [r, fourAt(r)?.stats.latencyMs.p50 ?? null]),
          ),
        },
        fourNodesAtLeast3000TxPerSecond: { value: four?.sustainedTxPerSecond ?? null },
        recoveryAtMost1s: Object.fromEntries(
          rec.map((r) => [`viewTimeout${r.viewTimeoutMs}`, r.median.killToFirstPostKillTxBlockMs]),
        ),
      },
    };
    writeFileSync(
      out,
      `${JSON.stringify(report, (_k, v) => (v === Number.POSITIVE_INFINITY ? null : v), 2)}\n`,
    );
    return { report, loadEnd };
  };
  for (const n of config.sizes) {
    const vt = n > 1 ? (inlineTimeout ?? 1000) : undefined;
    await withCluster(n, vt, async (h) => {
      // The committee of 4 at the default view timeout runs the first recovery series first, on a
      // fresh chain (the open loops leave backlogs a recovery run would queue behind), restarting the
      // killed member after every repeat so that all 4 are up for the throughput runs.
      if (n === 4 && inlineTimeout !== undefined) {
        rec.push(await recovery(h, group, true));
        group += config.recovery.repeats;
        save(false);
      }
      const idle = await idleCpu(h);
      const runs = await throughput(h);
      sizes.push({
        committee: n,
        mode:
          n === 1
            ? 'single sequencer (seqnet devnet --no-l1 --block-time 0)'
            : 'poa committee (seqnet node --committee)',
        viewTimeoutMs: h.cluster.viewTimeoutMs,
        command: h.cluster.command,
        idleNodesCores: idle,
        runs,
        sustainedTxPerSecond: Math.max(...runs.map((r) => r.committedTxPerSecond)),
      });
    });
    save(false);
  }
  for (const vt of config.recovery.timeouts.filter((t) => t !== inlineTimeout)) {
    await withCluster(4, vt, async (h) => {
      rec.push(await recovery(h, group, false));
      group += config.recovery.repeats;
    });
    save(false);
  }
  const { report, loadEnd } = save(true);
  log('');
  log(table(sizes, rec));
  log('');
  log(
    `load average: start ${loadStart.join(' ')}, end ${loadEnd.join(' ')} (1-min range ${report.loadAverage.min1}–${report.loadAverage.max1})`,
  );
  log(`wrote ${out} (${report.durationSeconds} s)`);
}

const cleanup = () => {
  killAllClusters();
  killAllChildren();
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

main()
  .then(() => process.exit(0))
  .catch((err: Error) => {
    log(`committee bench failed: ${err.stack ?? err.message}`);
    cleanup();
    process.exit(1);
  });
