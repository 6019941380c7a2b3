/**
 * Election-modes benchmark (issue 5): the election modes the node implements, side by side on the same
 * workload, in one run. Every mode gets a fresh `seqnet devnet` with its embedded L1 (anvil, 1 s blocks):
 *
 *   single   `seqnet devnet --block-time 0`                       (one sequencer node)
 *   poa      `seqnet devnet --nodes 4 --election poa`             (committee of 4, round-robin leaders)
 *   pos      `seqnet devnet --nodes 4 --election pos`             (leaders by stake: 1, 2, 3, 4 ETH)
 *   pos-epochs  `… --election pos --epoch-committees --epoch-length 10`  (the same stakes, and each
 *                                                                  10-block epoch's certifying committee is
 *                                                                  the StakeRegistry's, handed over at its
 *                                                                  boundary block: a handover every ~10 s)
 *   dpos     `seqnet devnet --nodes 4 --election dpos`            (candidates elected by delegated votes)
 *   auction  `seqnet devnet --nodes 4 --election auction`         (member 1 won epochs 0–9: it leads)
 *   based    `seqnet devnet --nodes 4 --election based`           (4 submitters, no committee: each posts its
 *                                                                  txs to the OpenInbox, one block per batch
 *                                                                  in L1 order)
 *   free     `seqnet devnet --nodes 4 --election free`            (4 submitters race a whole block for the
 *                                                                  next height; the first in L1 order wins)
 *
 * Per mode, with pre-signed ETH transfers (bench/lib/txs.ts) sent by one client to every node (each
 * sender account always to one node, senders round robin over the nodes):
 *
 * 1. preconfirmation latency at a fixed offered rate (open loop): scheduled send → the newHeads
 *    notification of the block holding the tx, on the node it was sent to (bench/lib/committee-watch.ts:
 *    WebSocket newHeads on every node, no receipt polling); committed tx/s in a closed loop. In `based`
 *    and `free` a node announces a block only once it has derived it from L1 (L1 blocks are 1 s, derivation
 *    reads one confirmation deep): there is no preconfirmation before L1, this *is* the L1 path. Those
 *    modes wait longer for stragglers (openDrainMs) than the others (drainMs).
 * 2. time to L1 inclusion of the open loop's txs:
 *    - committees and single: scheduled send → the moment this client first reads the L1 Inbox's
 *      `nextBlock()` past the tx's L2 block (polled every 100 ms), i.e. a batch with lastBlock ≥ that
 *      block is on L1. Node 0 (the single node) posts batches.
 *    - based and free (the OpenInbox has no `nextBlock()`, anyone posts): scheduled send → the moment
 *      this client first saw (eth_blockNumber, polled every 100 ms) the L1 block holding the batch that
 *      *made* the tx's L2 block. Which batch made which block is found from L1 alone, the way derivation
 *      decides, and checked against the blocks the nodes serve: every Inbox tx's calldata is decoded
 *      (src/batcher/codec.ts); `based`: the k-th decodable batch in L1 order (block number, then position
 *      in the block) is L2 block k, and block k's txs must be among the batch's; `free`: L2 block k is
 *      made by the first batch in L1 order that proposes height k (BatchPosted firstBlock) and whose
 *      block holds exactly the txs of block k as served (later batches for k were passed over). The
 *      send → receipt time (the preconfirmation above) minus this is derivation's delay, reported too.
 * 3. L1 gas: every L1 tx to the Inbox during the run (all L1 blocks scanned, receipts read, BatchPosted
 *    decoded): gasUsed per batch and per L2 tx (L2 txs in the blocks the batch made), over the open loop's
 *    window and over the whole run; wasted gas = reverted posts and (free) batches derivation passed over,
 *    i.e. batches that made no block: their count, gas, and the submitters' own `wastedGas` counters
 *    (seqnet_status open.submitter) as a cross-check. `based` loses no batch; its waste is txs posted
 *    twice and skipped (seqnet_status open.skippedTxs).
 * 5. censorship resistance (before 4): on the idle chain, a transfer forced through
 *    L1MessageQueue.forceTransaction (the escape hatch, as `seqnet force-tx` uses it): its L1 receipt →
 *    the first node's newHeads of the L2 block holding it, in ms and L1 blocks.
 * 6. based only (after 5; its submitters run with `--preconf`): txs one at a time at 5 tx/s on the
 *    idle chain; send → the node's first seqnet_getPreconfirmation answer with its signed inclusion
 *    promise (polled every 10 ms), against send → newHeads of the tx's block (derived from L1); every
 *    promise verified offline and checked against L1 (kept: the poster's batch carries the tx by the
 *    deadline).
 * 4. leader-kill stall: under ~30 tx/s, SIGKILL the member seqnet_status names as the current leader (a
 *    committee), or node 0, a submitter (based and free have no leader: the others keep posting), and
 *    measure, at a surviving node, the gap between the last block announced before the kill and the
 *    first after it, and the time to the first block holding a tx sent after the kill. For auction the
 *    leader is the winner (member 1): a winner-silent takeover (the schedule deposes the winner after 3
 *    failed views). The worst gap after the kill includes a gap still open when the load ends (a chain
 *    that stopped); the block interval at the survivor before the kill is reported to read it against.
 *
 *   npx tsx bench/modes.ts                  # full run (~12-15 min on the shared two-core machine before
 *                                           # based and free were added; not timed since)
 *   npx tsx bench/modes.ts --quick          # shorter phases, ~12 min there (~6 min of it starting devnets)
 *   npx tsx bench/modes.ts --modes based,free  # partial run (writes modes[-quick]-partial.json)
 *
 * Writes bench/results/modes.json (modes-quick.json with --quick) after every mode, and prints a table.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type Abi,
  type Address,
  createPublicClient,
  decodeFunctionData,
  type Hex,
  hexToBytes,
  http,
  keccak256,
  type PublicClient,
  parseEventLogs,
} from 'viem';
import { decodeBatch, decodeTxBatch } from '../src/batcher/codec.js';
import {
  checkInclusionPromise,
  type InclusionPromiseJson,
  verifyInclusionPromise,
} from '../src/batcher/inclusion-promise.js';
import { memberL1Account } from '../src/cli/election-devnet.js';
import { devAccounts } from '../src/execution/genesis.js';
import { waitForRpc } from '../src/l1/anvil.js';
import { l1Clients } from '../src/l1/clients.js';
import { l1Artifacts, openInboxArtifact } from '../src/l1/deploy.js';
import type { OpenModeStatus } from '../src/node/node.js';
import { PORT_TAKEN } from '../src/util/ports.js';
import { sleep } from '../src/util/sleep.js';
import { mempoolFlags, rpcCall, until } from './lib/committee-cluster.js';
import { closedLoop, type LoadRun, type MemberSample, openLoop } from './lib/committee-load.js';
import { CommitteeWatcher } from './lib/committee-watch.js';
import { type LatencyStats, latencyStats } from './lib/load.js';
import { HttpRpc } from './lib/rpc.js';
import {
  Accounts,
  ETH_TRANSFER_GAS,
  SENDER_FUNDING,
  type SignedTx,
  signEthTransfer,
  signEthTransfersOver,
} from './lib/txs.js';

const ALL_MODES = ['single', 'poa', 'pos', 'pos-epochs', 'dpos', 'auction', 'based', 'free'] as const;
type Mode = (typeof ALL_MODES)[number];
/** The devnet's election flags of a mode: `pos-epochs` is `pos` whose certifying committee changes per epoch. */
const electionFlags = (mode: Exclude<Mode, 'single'>): string[] =>
  mode === 'pos-epochs'
    ? ['--election', 'pos', '--epoch-committees', '--epoch-length', String(POS_EPOCHS_LENGTH)]
    : ['--election', mode];
/** pos-epochs: L1 blocks (1 s) per epoch, so that each phase of the run crosses handovers. */
const POS_EPOCHS_LENGTH = 10;
/** Modes with no committee: every node posts to an OpenInbox and the chain is derived from L1 order. */
const OPEN_MODES: readonly Mode[] = ['based', 'free'];
const isOpen = (mode: Mode) => OPEN_MODES.includes(mode);

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    /** Partial run: only these modes, e.g. "poa,pos". */
    modes: { type: 'string' },
    out: { type: 'string' },
    /**
     * Committee modes: SIGKILL this member at the kill instead of the current leader (A/B runs of one
     * case, e.g. pos's member 3, which holds 40 % of the stake).
     */
    'kill-member': { type: 'string' },
  },
  strict: true,
});
const quick = flags.quick;
const killMember = flags['kill-member'] === undefined ? undefined : Number(flags['kill-member']);
if (killMember !== undefined && !(Number.isInteger(killMember) && killMember >= 0 && killMember < 4))
  throw new Error(`--kill-member ${flags['kill-member']}: a member index of the committee of 4 (0–3)`);

const modes: Mode[] =
  flags.modes === undefined
    ? [...ALL_MODES]
    : flags.modes
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean)
        .map((m) => {
          if (!(ALL_MODES as readonly string[]).includes(m))
            throw new Error(`--modes: unknown mode "${m}" (one of ${ALL_MODES.join(', ')})`);
          return m as Mode;
        });
const partial = flags.modes !== undefined && modes.length < ALL_MODES.length;

const config = quick
  ? {
      committeeSize: 4,
      openSenders: 64,
      rate: 50,
      openSeconds: 6,
      closedUsers: 128,
      closedSeconds: 5,
      /** Enough for the single sequencer's closed loop (~700 tx/s on an idle machine). */
      closedTxsPerUser: 40,
      /** Warm-up (JIT, sockets) at the open loop's rate, not reported. */
      warmupTxs: 50,
      /** Committed tx/s is counted from this long after a run's first send to its last send. */
      windowSkipMs: 500,
      drainMs: 4_000,
      /** based / free: blocks come from L1 (a few seconds at best): wait this long for stragglers. */
      openDrainMs: 20_000,
      idleWaitMs: 5_000,
      /** After the open loop: how long to wait for its txs to be on L1. */
      l1WaitMs: 30_000,
      /** based: txs sent one at a time (5 tx/s) for the inclusion promises' figures. */
      promiseTxs: 20,
      kill: {
        rate: 30,
        senders: 24,
        preKillMs: 2_000,
        /** Load goes on this long after the first block holding a post-kill tx. */
        afterRecoveryMs: 1_500,
        /** …or at most this long after the kill. */
        maxPostKillMs: 20_000,
        drainMs: 3_000,
        openDrainMs: 10_000,
      },
    }
  : {
      committeeSize: 4,
      openSenders: 128,
      rate: 50,
      openSeconds: 20,
      closedUsers: 256,
      closedSeconds: 15,
      closedTxsPerUser: 64,
      warmupTxs: 100,
      windowSkipMs: 1_000,
      drainMs: 8_000,
      openDrainMs: 30_000,
      idleWaitMs: 10_000,
      l1WaitMs: 45_000,
      promiseTxs: 50,
      kill: {
        rate: 30,
        senders: 40,
        preKillMs: 5_000,
        afterRecoveryMs: 3_000,
        maxPostKillMs: 25_000,
        drainMs: 5_000,
        openDrainMs: 15_000,
      },
    };

const CHAIN_ID = 42069;
const root = resolve(import.meta.dirname, '..');
const log = (line: string) => process.stderr.write(`${line}\n`);
const round = (x: number, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);
const fmt = (x: number | null | undefined, d = 0) =>
  x === null || x === undefined || Number.isNaN(x)
    ? '-'
    : x === Number.POSITIVE_INFINITY
      ? '>drain'
      : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

const inboxAbi = l1Artifacts().Inbox.abi as Abi;
/** based / free: the OpenInbox (postBatch and BatchPosted as the Inbox's, no nextBlock()). */
const openInboxAbi = openInboxArtifact().abi as Abi;

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

// ---- senders: [0, open) open loop and warm-up, then the closed loop's users, then the kill load ----

const accounts = new Accounts(config.openSenders + config.closedUsers + config.kill.senders);
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const openGroup = range(0, config.openSenders);
const closedGroup = range(config.openSenders, config.closedUsers);
const killGroup = range(config.openSenders + config.closedUsers, config.kill.senders);
/** Next nonce per sender on the chain being measured (fresh chain per mode: zero after funding). */
let nonces: number[] = [];

const signEth = (senderIdx: number, nonce: number, k: number): Promise<SignedTx> =>
  signEthTransfer(accounts, CHAIN_ID, senderIdx, nonce, k);

/** `count` transfers over `group` (tx k from group[k mod n]), nonces taken from `nonces`. */
const signOver = (group: number[], count: number): Promise<SignedTx[]> =>
  signEthTransfersOver(accounts, CHAIN_ID, nonces, group, count);

// ---- the devnet process ----

interface DevnetInfo {
  rpc: string;
  ws: string;
  nodes?: Array<{ index: number; rpc: string; pid?: number }>;
  l1: { rpc: string; contracts: Record<string, Hex> } | null;
}

interface NodeStatus {
  head: number;
  mode: string;
  election: Record<string, unknown>;
  mempool: { pending: number; queued: number };
  consensus: {
    view: string;
    leader: number;
    proposals: number;
    timeoutsSigned: number;
    committedHeight: number;
    /** Views entered since the node started, across epochs' instances (each starts at view 1). */
    viewsEntered: number;
    viewsLedBy: number[];
    /** This node's index in `members` (−1: not in the instance's committee). */
    self: number;
    members: Array<{ connected: boolean; blsPublicKey: string }>;
  } | null;
  batcher: {
    batches: number;
    blocks: number;
    txs: number;
    compressedBytes: number;
    l1Gas: string;
    postedTo: number;
  } | null;
  /** based / free: derivation from the OpenInbox, and this node's submitter. */
  open?: OpenStatus | null;
}

type OpenStatus = OpenModeStatus;

const nodeStatus = (url: string) => rpcCall<NodeStatus>(url, 'seqnet_status');

interface Devnet {
  mode: Mode;
  dataDir: string;
  proc: ChildProcess;
  info: DevnetInfo;
  /** Node RPC URLs, by member index (one for single). */
  urls: string[];
  /** Node process ids from devnet.json (single: the devnet process, which runs the node). */
  pids: Array<number | undefined>;
  command: string[];
  ports: { rpc: number; p2p: number | null; l1: number };
  startupSeconds: number;
  output(): string;
}

/** Every devnet started and not yet stopped, for the synchronous exit handler. */
const running = new Set<{ proc: ChildProcess; dataDir: string; pids: () => number[] }>();

/** True once pid has exited (gone, or a zombie its parent has not reaped: it holds nothing any more). */
function isDead(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGKILLs every devnet's process group and node pids, waits (≤ 3 s) for them, removes the dirs. */
function killEverything(): void {
  const pids: number[] = [];
  for (const d of running) {
    // The devnet runs detached: it leads its own process group (anvil and the nodes are in it).
    if (d.proc.pid !== undefined) signal(-d.proc.pid, 'SIGKILL');
    for (const p of d.pids()) {
      signal(p, 'SIGKILL');
      pids.push(p);
    }
  }
  const tick = new Int32Array(new SharedArrayBuffer(4));
  const end = Date.now() + 3_000;
  while (pids.some((p) => !isDead(p)) && Date.now() < end) Atomics.wait(tick, 0, 0, 10);
  for (const d of running) rmSync(d.dataDir, { recursive: true, force: true, maxRetries: 3 });
  running.clear();
}

function canBind(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

/**
 * The first of `n` consecutive ports that are all free now, below Linux's ephemeral range (another
 * process's outgoing connections take ports there), as test/helpers/devnet.ts picks them: one probe
 * for the whole range, since two probes can hand out the same ports.
 */
async function freeConsecutivePorts(n: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 10_000 + Math.floor(Math.random() * (22_000 - n));
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await canBind(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${n} consecutive free ports found`);
}

function nodeLogTails(dataDir: string): string {
  const out: string[] = [];
  try {
    for (const d of readdirSync(dataDir).filter((x) => x.startsWith('node-'))) {
      const f = join(dataDir, d, 'node.log');
      if (existsSync(f)) out.push(`--- ${d}/node.log ---\n${readFileSync(f, 'utf8').slice(-1500)}`);
    }
  } catch {
    // no logs
  }
  return out.join('\n');
}

async function startDevnet(mode: Mode): Promise<Devnet> {
  // Ports are probed free and then bound by the devnet: another process may take one in between.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevnetOnce(mode);
    } catch (err) {
      if (attempt >= 3 || !PORT_TAKEN.test((err as Error).message)) throw err;
      log(`[${mode}] a port was taken while the devnet started; again with new ports`);
    }
  }
}

/**
 * For a look at what the nodes did: SEQNET_BENCH_KEEP=1 keeps each devnet's data dir (a node.log per
 * node), at SEQNET_BENCH_LOG_LEVEL (default warn; debug logs every view change).
 */
const keepDataDirs = process.env.SEQNET_BENCH_KEEP === '1';
const benchLogLevel = process.env.SEQNET_BENCH_LOG_LEVEL ?? 'warn';

async function startDevnetOnce(mode: Mode): Promise<Devnet> {
  const t0 = performance.now();
  const n = mode === 'single' ? 1 : config.committeeSize;
  // RPC base..base+3, p2p base+4..base+7, L1 base+8.
  const base = await freeConsecutivePorts(2 * config.committeeSize + 1);
  const ports = {
    rpc: base,
    p2p: mode === 'single' ? null : base + config.committeeSize,
    l1: base + 2 * config.committeeSize,
  };
  const dataDir = mkdtempSync(join(tmpdir(), `seqnet-bench-modes-${mode}-`));
  const args = [
    '--import',
    'tsx',
    'src/cli/main.ts',
    'devnet',
    '--data-dir',
    dataDir,
    '--rpc-port',
    String(ports.rpc),
    '--l1-port',
    String(ports.l1),
    '--log-level',
    benchLogLevel,
    ...(mode === 'single'
      ? ['--block-time', '0']
      : ['--nodes', String(n), ...electionFlags(mode), '--p2p-port', String(ports.p2p)]),
    // based: the submitters opt in to preconfirmations (inclusion promises, phase 6).
    ...(mode === 'based' ? ['--preconf'] : []),
    ...mempoolFlags,
  ];
  const proc = spawn(process.execPath, args, {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  let info: DevnetInfo | undefined;
  const pids = () =>
    (info?.nodes ?? []).map((x) => x.pid).filter((p): p is number => p !== undefined && p !== proc.pid);
  const entry = { proc, dataDir, pids };
  running.add(entry);
  const exited = new Promise<never>((_, reject) => {
    proc.once('error', (err) => reject(new Error(`could not start the devnet: ${err.message}`)));
    proc.once('exit', (code, sig) =>
      reject(
        new Error(
          `devnet (${mode}) exited (${code ?? sig}) while starting:\n${out.slice(-3000)}\n${nodeLogTails(dataDir)}`,
        ),
      ),
    );
  });
  exited.catch(() => {});
  const file = join(dataDir, 'devnet.json');
  try {
    // devnet.json is written once every node answers (and, for pos/dpos/auction, the election is seeded).
    const ready = (async () => {
      const end = performance.now() + 300_000;
      while (!existsSync(file)) {
        if (performance.now() > end)
          throw new Error(`devnet (${mode}) not up after 300 s:\n${out.slice(-3000)}`);
        await sleep(250);
      }
      await sleep(100); // written in one go; let it land
      info = JSON.parse(readFileSync(file, 'utf8')) as DevnetInfo;
      const urls = info.nodes ? info.nodes.map((x) => x.rpc) : [info.rpc];
      await Promise.all(urls.map((u) => waitForRpc(u, 60_000)));
      return urls;
    })();
    const urls = await Promise.race([ready, exited]);
    const d: Devnet = {
      mode,
      dataDir,
      proc,
      info: info!,
      urls,
      pids: info!.nodes ? info!.nodes.map((x) => x.pid) : [proc.pid],
      command: [process.execPath, ...args],
      ports,
      startupSeconds: 0,
      output: () => out.slice(-3000),
    };
    if (isOpen(mode)) await waitSubmitters(d);
    else if (n > 1) await waitConnected(d);
    d.startupSeconds = round((performance.now() - t0) / 1000, 1);
    return d;
  } catch (err) {
    await stopDevnet({ proc, dataDir, pids }).catch(() => {});
    throw err;
  }
}

/**
 * Each devnet node's own BLS key, by node: a status's `leader` indexes the instance's committee (in
 * pos-epochs the L1's order, by stake), not the nodes.
 */
async function nodeKeys(d: Devnet): Promise<Array<string | null>> {
  return Promise.all(
    d.urls.map(async (u) => {
      const c = (await nodeStatus(u)).consensus;
      return c && c.self >= 0 ? c.members[c.self].blsPublicKey : null;
    }),
  );
}

/** The node that leads the view a status is in (−1: none of the devnet's). */
const leaderNode = (c: NonNullable<NodeStatus['consensus']>, keys: Array<string | null>): number =>
  keys.indexOf(c.members[c.leader].blsPublicKey);

/** Every node sees every other member connected. */
async function waitConnected(d: Devnet): Promise<void> {
  await until(
    `a fully connected committee (${d.mode})`,
    async () => {
      const s = await Promise.all(d.urls.map((u) => nodeStatus(u)));
      return s.every((x) => x.consensus?.members.every((m) => m.connected) ?? false);
    },
    90_000,
  );
}

/** based / free: every node derives from the OpenInbox and has a submitter (its own L1 key). */
async function waitSubmitters(d: Devnet): Promise<void> {
  await until(
    `every ${d.mode} node deriving and posting`,
    async () => {
      const s = await Promise.all(d.urls.map((u) => nodeStatus(u)));
      return s.every((x) => Boolean(x.open?.submitter) && x.open?.halted === null);
    },
    90_000,
  );
}

/**
 * SIGINT to the devnet (it stops its nodes and anvil) and waits for it to exit (SIGKILL to its process
 * group after 30 s); then SIGKILLs anything left in the group and any node pid, and removes the data dir.
 */
async function stopDevnet(d: {
  proc: ChildProcess;
  dataDir: string;
  pids: () => number[];
}): Promise<number | null> {
  const p = d.proc;
  if (p.exitCode === null && p.signalCode === null) {
    const ended = new Promise<void>((res) => p.once('exit', () => res()));
    p.kill('SIGINT');
    const timer = setTimeout(() => {
      if (p.pid !== undefined) signal(-p.pid, 'SIGKILL');
    }, 30_000);
    await ended;
    clearTimeout(timer);
  }
  if (p.pid !== undefined) signal(-p.pid, 'SIGKILL');
  const left = d.pids().filter((x) => !isDead(x));
  for (const x of left) signal(x, 'SIGKILL');
  const end = performance.now() + 5_000;
  while (left.some((x) => !isDead(x)) && performance.now() < end) await sleep(20);
  if (keepDataDirs) log(`  kept ${d.dataDir} (node logs in node-*/node.log)`);
  else rmSync(d.dataDir, { recursive: true, force: true, maxRetries: 3 });
  for (const e of running) if (e.proc === p) running.delete(e);
  return p.exitCode;
}

// ---- the L1 Inbox, seen from the client ----

/**
 * Polls every 100 ms. Committees and single: the Inbox's nextBlock(), i.e. when this client first saw
 * each L2 block on L1. based / free (an OpenInbox has no nextBlock()): the L1 head, i.e. when this
 * client first saw each L1 block (the batch → L2 block mapping comes from the L1 scan, OpenInboxScan).
 */
class InboxTracker {
  /** L2 height → performance.now() of the first poll that found the Inbox past it (committees). */
  readonly onL1At = new Map<number, number>();
  /** L1 block number → performance.now() of the first poll that found the L1 head at or past it (open). */
  readonly l1SeenAt = new Map<number, number>();
  covered = 0;
  l1Head = 0;
  polls = 0;
  errors = 0;
  private timer?: NodeJS.Timeout;
  private busy = false;

  constructor(
    private readonly pub: PublicClient,
    private readonly inbox: Address,
    private readonly open: boolean,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), 100);
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      if (this.open) {
        const head = Number(await this.pub.getBlockNumber({ cacheTime: 0 }));
        const now = performance.now();
        // The first poll only sets the start: blocks mined before the tracker started get no time.
        if (this.polls > 0) for (let k = this.l1Head + 1; k <= head; k++) this.l1SeenAt.set(k, now);
        if (head > this.l1Head) this.l1Head = head;
      } else {
        const next = Number(
          (await this.pub.readContract({
            address: this.inbox,
            abi: inboxAbi,
            functionName: 'nextBlock',
          })) as bigint,
        );
        const now = performance.now();
        for (let k = this.covered + 1; k < next; k++) this.onL1At.set(k, now);
        if (next - 1 > this.covered) this.covered = next - 1;
      }
      this.polls++;
    } catch {
      this.errors++;
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

interface InboxPost {
  l1Block: number;
  /** Position of the tx in its L1 block (L1 order = block, then this). */
  l1TxIndex: number;
  hash: Hex;
  /** The poster's L1 account (based / free: one per node). */
  from: Address;
  /** The Inbox function called: postBatch (single key, OpenInbox) or postCertifiedBatch (committee proof). */
  fn: string;
  reverted: boolean;
  gasUsed: number;
  /** The BatchPosted event's range (based: 0, 0, as the submitters leave it). */
  firstBlock: number | null;
  lastBlock: number | null;
  /**
   * The L2 blocks this batch made, [first, last]; null: none (it reverted, or derivation passed it over).
   * Committees and single: the event's range. based / free: as derivation decides (assignOpen).
   */
  made: [number, number] | null;
  /** based / free: why the batch made no block, or null. */
  passedOver: string | null;
}

/** based / free: a batch's calldata, decoded (src/batcher/codec.ts). */
type DecodedBatch =
  | { kind: 'txs'; txHashes: Hex[] }
  | { kind: 'blocks'; blocks: Array<{ height: number; txHashes: Hex[] }> }
  | { kind: 'error'; reason: string };

/**
 * Every L1 tx to the Inbox, with its receipt and BatchPosted event, scanned block by block (all L1
 * blocks, not only logs: reverted posts have none); incremental, so a mode can read it more than once.
 * based / free: each batch's calldata is decoded as well.
 */
class InboxScan {
  readonly posts: InboxPost[] = [];
  readonly decoded = new Map<Hex, DecodedBatch>();
  private next = 0;

  constructor(
    private readonly pub: PublicClient,
    private readonly inbox: Address,
    private readonly mode: Mode,
  ) {}

  async to(to: number): Promise<InboxPost[]> {
    const target = this.inbox.toLowerCase();
    const abi = isOpen(this.mode) ? openInboxAbi : inboxAbi;
    for (let b = this.next; b <= to; b += 16) {
      const blocks = await Promise.all(
        range(b, Math.min(16, to - b + 1)).map((k) =>
          this.pub.getBlock({ blockNumber: BigInt(k), includeTransactions: true }),
        ),
      );
      for (const block of blocks) {
        for (const tx of block.transactions) {
          if (tx.to?.toLowerCase() !== target) continue;
          const receipt = await this.pub.getTransactionReceipt({ hash: tx.hash });
          let fn = 'unknown';
          let data: Hex | undefined;
          try {
            const call = decodeFunctionData({ abi, data: tx.input });
            fn = call.functionName;
            if (fn === 'postBatch') data = (call.args as unknown[])[4] as Hex;
          } catch {
            // not an Inbox call we know
          }
          const ev = parseEventLogs({ abi, eventName: 'BatchPosted', logs: receipt.logs })[0] as
            | { args: { firstBlock: bigint; lastBlock: bigint } }
            | undefined;
          const reverted = receipt.status !== 'success';
          const firstBlock = ev ? Number(ev.args.firstBlock) : null;
          const lastBlock = ev ? Number(ev.args.lastBlock) : null;
          this.posts.push({
            l1Block: Number(block.number),
            l1TxIndex: tx.transactionIndex ?? 0,
            hash: tx.hash,
            from: tx.from,
            fn,
            reverted,
            gasUsed: Number(receipt.gasUsed),
            firstBlock,
            lastBlock,
            made: reverted || firstBlock === null || lastBlock === null ? null : [firstBlock, lastBlock],
            passedOver: null,
          });
          if (isOpen(this.mode) && !reverted) this.decoded.set(tx.hash, decodeOpenBatch(data));
        }
      }
    }
    this.next = Math.max(this.next, to + 1);
    return this.posts;
  }
}

function decodeOpenBatch(data: Hex | undefined): DecodedBatch {
  if (data === undefined) return { kind: 'error', reason: 'not a postBatch call' };
  const bytes = hexToBytes(data);
  const hashOf = (raw: Uint8Array) => keccak256(raw).toLowerCase() as Hex;
  try {
    if (bytes[0] === 2) return { kind: 'txs', txHashes: decodeTxBatch(bytes).map(hashOf) };
    return {
      kind: 'blocks',
      blocks: decodeBatch(bytes).map((b) => ({ height: Number(b.height), txHashes: b.txs.map(hashOf) })),
    };
  } catch (err) {
    return { kind: 'error', reason: `undecodable: ${(err as Error).message}` };
  }
}

/** What assignOpen found: which L1 block holds the batch that made each L2 block, and its checks. */
interface OpenAssignment {
  /** L2 height → the L1 block holding the batch that made it. */
  l1BlockOf: Map<number, number>;
  /** Batches that made a block, and whose block's served txs were among the batch's. */
  verified: number;
  /** Batches taken as making a block that no node served yet (the newest: not derived yet). */
  unverified: number;
  /** based: batches whose position names a block whose served txs are not among the batch's. */
  mismatched: number;
}

/**
 * based / free: which batch made which L2 block, from L1 order alone, the way derivation decides (src/
 * derive/deriver.ts), checked against the blocks a node serves (`served`: L2 height → tx hashes):
 * - based: every decodable version-2 batch makes the next block, in L1 order; block k's executed txs
 *   must be among the batch's (execution skips txs that are in the chain already).
 * - free: the first batch in L1 order that proposes height k and whose block's txs include every tx
 *   block k holds made it; every other batch for k (a loser of the race, or invalid) was passed over.
 * Sets each post's `made` and `passedOver`.
 */
function assignOpen(
  mode: Mode,
  posts: InboxPost[],
  decoded: Map<Hex, DecodedBatch>,
  served: Map<number, Hex[]>,
) {
  const out: OpenAssignment = { l1BlockOf: new Map(), verified: 0, unverified: 0, mismatched: 0 };
  const ordered = [...posts].sort((a, b) => a.l1Block - b.l1Block || a.l1TxIndex - b.l1TxIndex);
  const within = (txs: Hex[] | undefined, batch: Hex[]) => {
    if (txs === undefined) return undefined;
    const set = new Set(batch);
    return txs.every((x) => set.has(x));
  };
  let k = 0;
  for (const p of ordered) {
    p.made = null;
    p.passedOver = null;
    if (p.reverted) continue;
    const d = decoded.get(p.hash) ?? { kind: 'error', reason: 'not decoded' };
    if (d.kind === 'error') {
      p.passedOver = d.reason;
      continue;
    }
    if (mode === 'based') {
      if (d.kind !== 'txs') {
        p.passedOver = 'not a batch of txs (version 2)';
        continue;
      }
      k++;
      p.made = [k, k];
      out.l1BlockOf.set(k, p.l1Block);
      const ok = within(served.get(k), d.txHashes);
      if (ok === undefined) out.unverified++;
      else if (ok) out.verified++;
      else out.mismatched++;
      continue;
    }
    if (d.kind !== 'blocks') {
      p.passedOver = 'not a batch of blocks (version 1)';
      continue;
    }
    const first = d.blocks[0];
    const last = d.blocks[d.blocks.length - 1];
    if (out.l1BlockOf.has(first.height)) {
      p.passedOver = 'lost: its height was made by an earlier batch';
      continue;
    }
    const ok = within(served.get(first.height), first.txHashes);
    if (ok === false) {
      p.passedOver = 'invalid: its block is not the one made at its height';
      continue;
    }
    if (ok === undefined) out.unverified++;
    else out.verified++;
    p.made = [first.height, last.height];
    for (let h = first.height; h <= last.height; h++) out.l1BlockOf.set(h, p.l1Block);
  }
  return out;
}

interface GasSummary {
  /** Batches that made L2 blocks. */
  batches: number;
  gasUsed: number;
  gasPerBatch: number | null;
  l2Blocks: number;
  l2Txs: number;
  l2TxsPerBatch: number | null;
  gasPerL2Tx: number | null;
  /** Every Inbox tx in the range, the wasted ones (reverted, passed over) included. */
  allPosts: number;
  allGas: number;
  gasPerL2TxIncludingWasted: number | null;
  functions: string[];
}

function gasSummary(posts: InboxPost[], txCount: Map<number, number>): GasSummary {
  const ok = posts.filter((p) => p.made !== null);
  const gas = ok.reduce((s, p) => s + p.gasUsed, 0);
  const allGas = posts.reduce((s, p) => s + p.gasUsed, 0);
  let l2Blocks = 0;
  let l2Txs = 0;
  for (const p of ok)
    for (let k = p.made![0]; k <= p.made![1]; k++) {
      l2Blocks++;
      l2Txs += txCount.get(k) ?? 0;
    }
  return {
    batches: ok.length,
    gasUsed: gas,
    gasPerBatch: ok.length ? Math.round(gas / ok.length) : null,
    l2Blocks,
    l2Txs,
    l2TxsPerBatch: ok.length ? round(l2Txs / ok.length) : null,
    gasPerL2Tx: l2Txs ? Math.round(gas / l2Txs) : null,
    allPosts: posts.length,
    allGas,
    gasPerL2TxIncludingWasted: l2Txs ? Math.round(allGas / l2Txs) : null,
    functions: [...new Set(ok.map((p) => p.fn))],
  };
}

/** Tx hashes of L2 blocks 1..to, from one node. */
async function l2BlockTxs(rpc: HttpRpc, to: number): Promise<Map<number, Hex[]>> {
  const out = new Map<number, Hex[]>();
  for (let b = 1; b <= to; b += 100) {
    const ks = range(b, Math.min(100, to - b + 1));
    const blocks = await rpc.batch<{ transactions: Hex[] } | null>(
      ks.map((k) => ['eth_getBlockByNumber', [`0x${k.toString(16)}`, false]] as [string, unknown[]]),
    );
    for (const [i, k] of ks.entries())
      if (blocks[i])
        out.set(
          k,
          blocks[i]!.transactions.map((x) => x.toLowerCase() as Hex),
        );
  }
  return out;
}

/** Tx count of L2 blocks 1..to, from one node. */
async function l2TxCounts(rpc: HttpRpc, to: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (let b = 1; b <= to; b += 500) {
    const ks = range(b, Math.min(500, to - b + 1));
    const counts = await rpc.batch<Hex | null>(
      ks.map((k) => ['eth_getBlockTransactionCountByNumber', [`0x${k.toString(16)}`]] as [string, unknown[]]),
    );
    for (const [i, k] of ks.entries()) out.set(k, counts[i] === null ? 0 : Number(counts[i]));
  }
  return out;
}

// ---- per mode: the harness ----

interface Harness {
  d: Devnet;
  n: number;
  rpcs: HttpRpc[];
  watcher: CommitteeWatcher;
  /** Members the client no longer sends to (killed). */
  down: Set<number>;
  pub: PublicClient;
  inbox: Address;
  tracker: InboxTracker;
  scan: InboxScan;
}

const liveIndex = (h: Harness) => range(0, h.n).find((i) => !h.down.has(i))!;
const route = (h: Harness) => (tx: SignedTx) => {
  const m = tx.from % h.n;
  return h.down.has(m) ? undefined : m;
};

async function l1Head(h: Harness): Promise<number> {
  return Number(await h.pub.getBlockNumber({ cacheTime: 0 }));
}

/** Funds every sender from the 10 dev accounts (one lane per funder, in nonce order) via node 0. */
async function fund(h: Harness): Promise<number> {
  const t0 = performance.now();
  const rpc = h.rpcs[0];
  const funders = accounts.funders;
  const funderNonces = (
    await rpc.batch<Hex>(funders.map((f) => ['eth_getTransactionCount', [f.address, 'pending']]))
  ).map(Number);
  const all: SignedTx[] = [];
  for (let s = 0; s < accounts.senders.length; s++) {
    const f = s % funders.length;
    all.push(
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
  const waits = all.map((t) => h.watcher.confirmed(t.hash, 0));
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
  const seconds = round((performance.now() - t0) / 1000, 1);
  log(`  funded ${accounts.senders.length} senders in ${seconds} s`);
  return seconds;
}

/** Waits (bounded) until no live node holds pending or queued txs; returns what was left. */
async function waitIdle(h: Harness, maxMs: number): Promise<number> {
  const backlog = async () => {
    const s = await Promise.all(
      range(0, h.n)
        .filter((i) => !h.down.has(i))
        .map((i) => nodeStatus(h.d.urls[i])),
    );
    return Math.max(...s.map((x) => x.mempool.pending + x.mempool.queued));
  };
  try {
    await until('empty mempools', async () => (await backlog()) === 0, maxMs);
    return 0;
  } catch {
    return backlog().catch(() => -1);
  }
}

/** A spread of receipts, each on the node that confirmed it: a reverted transfer must not count. */
async function failedReceipts(h: Harness, samples: MemberSample[]): Promise<number> {
  const confirmed = samples.filter((x) => x.inclusion && x.member >= 0 && !h.down.has(x.member));
  const step = Math.max(1, Math.floor(confirmed.length / 20));
  const picked = confirmed.filter((_, i) => i % step === 0);
  let failed = 0;
  for (let m = 0; m < h.n; m++) {
    const mine = picked.filter((x) => x.member === m);
    if (!mine.length) continue;
    const receipts = await h.rpcs[m].batch<{ status: Hex } | null>(
      mine.map((x) => ['eth_getTransactionReceipt', [x.tx.hash]] as [string, unknown[]]),
    );
    failed += receipts.filter((r) => r?.status !== '0x1').length;
  }
  return failed;
}

interface LoadFigures {
  workload: string;
  offeredRate: number | null;
  /** Txs in blocks first announced in [first send + windowSkipMs, last send) / that window. */
  committedTxPerSecond: number;
  window: { seconds: number; blocks: number; txs: number };
  sent: number;
  confirmed: number;
  rejected: number;
  unconfirmed: number;
  /** Scheduled send (open loop) or send (closed loop) → newHeads at the node the tx was sent to. */
  latencyMs: LatencyStats;
  ackP50Ms: number;
  txsPerBlock: number;
  backlogAtStart: number;
  /** Node 0's view of consensus over the run (null: single). */
  consensus: { views: number; viewsPerSecond: number; timeoutsSignedByNode0: number } | null;
  errors: string[];
}

async function measure(
  h: Harness,
  workload: string,
  offeredRate: number | null,
  go: () => Promise<LoadRun>,
): Promise<{ figures: LoadFigures; run: LoadRun }> {
  const backlog = await waitIdle(h, config.idleWaitMs);
  const c0 = (await nodeStatus(h.d.urls[0])).consensus;
  const w0 = performance.now();
  const run = await go();
  const c1 = (await nodeStatus(h.d.urls[0])).consensus;
  const wall = (performance.now() - w0) / 1000;
  const from = run.t0 + config.windowSkipMs;
  const to = Math.max(from + 1, run.sendEnd);
  const w = h.watcher.committedBetween(from, to);
  const failed = await failedReceipts(h, run.samples);
  if (failed > 0) throw new Error(`${workload}: ${failed} sampled receipts have status 0 (reverted)`);
  const s = run.stats;
  const figures: LoadFigures = {
    workload,
    offeredRate,
    committedTxPerSecond: round(w.txs / ((to - from) / 1000)),
    window: { seconds: round((to - from) / 1000, 2), blocks: w.blocks, txs: w.txs },
    sent: s.txs,
    confirmed: s.confirmed,
    rejected: s.rejected,
    unconfirmed: s.unconfirmed,
    latencyMs: s.latencyMs,
    ackP50Ms: s.ackLatencyMs.p50,
    txsPerBlock: s.txsPerBlock.mean,
    backlogAtStart: backlog,
    consensus:
      c0 && c1
        ? {
            views: c1.viewsEntered - c0.viewsEntered,
            viewsPerSecond: round((c1.viewsEntered - c0.viewsEntered) / wall),
            timeoutsSignedByNode0: c1.timeoutsSigned - c0.timeoutsSigned,
          }
        : null,
    errors: s.errors,
  };
  log(
    `  ${workload}: committed ${fmt(figures.committedTxPerSecond)} tx/s in the window, ${s.confirmed}/${s.txs} confirmed, p50 ${fmt(s.latencyMs.p50)} ms, p99 ${fmt(s.latencyMs.p99)} ms${figures.consensus ? `, ${figures.consensus.viewsPerSecond} views/s` : ''}${s.errors.length ? `, errors: ${s.errors.join(' | ')}` : ''}`,
  );
  return { figures, run };
}

// ---- time to L1 ----

interface L1Inclusion {
  /** Open-loop txs that were preconfirmed, and how many of them were seen on L1 within l1WaitMs. */
  txs: number;
  onL1: number;
  /**
   * Scheduled send → on L1. Committees, single: the Inbox past the tx's L2 block. based / free: the L1
   * block holding the batch that made the tx's L2 block first seen by this client.
   */
  sendToL1Ms: LatencyStats;
  /** Committees, single: newHeads of the tx's block (at the node it was sent to) → the Inbox past it. */
  preconfToL1Ms: LatencyStats | null;
  /**
   * based / free: the L1 block holding the tx's batch first seen → newHeads of the tx's block at the node
   * it was sent to (derivation's delay: one confirmation, polling, execution).
   */
  l1ToPreconfMs: LatencyStats | null;
  /** based / free: how the batch → block mapping was checked against the blocks served (assignOpen). */
  mapping: { verified: number; unverified: number; mismatched: number } | null;
  waitedAfterOpenLoopMs: number;
}

async function l1Inclusion(h: Harness, run: LoadRun): Promise<L1Inclusion> {
  if (isOpen(h.d.mode)) return openL1Inclusion(h, run);
  const confirmed = run.samples.filter((s) => s.inclusion);
  const top = Math.max(0, ...confirmed.map((s) => s.inclusion!.block));
  const t0 = performance.now();
  const end = t0 + config.l1WaitMs;
  while (h.tracker.covered < top && performance.now() < end) await sleep(50);
  const waited = round(performance.now() - t0, 0);
  const sendTo: number[] = [];
  const preconfTo: number[] = [];
  for (const s of confirmed) {
    const at = h.tracker.onL1At.get(s.inclusion!.block);
    if (at === undefined) continue;
    sendTo.push(at - s.startAt);
    preconfTo.push(at - s.inclusion!.announcedAt);
  }
  const missing = confirmed.length - sendTo.length;
  const r: L1Inclusion = {
    txs: confirmed.length,
    onL1: sendTo.length,
    sendToL1Ms: latencyStats(sendTo, missing),
    preconfToL1Ms: latencyStats(preconfTo, missing),
    l1ToPreconfMs: null,
    mapping: null,
    waitedAfterOpenLoopMs: waited,
  };
  log(
    `  to L1: ${r.onL1}/${r.txs} open-loop txs on L1, send → L1 p50 ${fmt(r.sendToL1Ms.p50)} ms, p99 ${fmt(r.sendToL1Ms.p99)} ms (waited ${fmt(waited)} ms after the open loop)`,
  );
  return r;
}

/** based / free: the L1 scan and the served blocks, mapped (assignOpen); from a live node. */
async function openMapping(h: Harness, l1To: number) {
  await h.scan.to(l1To);
  const rpc = h.rpcs[liveIndex(h)];
  const l2Head = Number(await rpc.call<Hex>('eth_blockNumber'));
  const served = await l2BlockTxs(rpc, l2Head);
  return { served, assignment: assignOpen(h.d.mode, h.scan.posts, h.scan.decoded, served) };
}

/**
 * based / free: a tx's block was derived from L1 before any node announced it, so every preconfirmed
 * open-loop tx's batch is on L1 already: map each tx's L2 block to the L1 block holding the batch that
 * made it, and take the time this client first saw that L1 block.
 */
async function openL1Inclusion(h: Harness, run: LoadRun): Promise<L1Inclusion> {
  const t0 = performance.now();
  const confirmed = run.samples.filter((s) => s.inclusion);
  const { assignment } = await openMapping(h, await l1Head(h));
  const sendTo: number[] = [];
  const l1ToPreconf: number[] = [];
  for (const s of confirmed) {
    const l1Block = assignment.l1BlockOf.get(s.inclusion!.block);
    const at = l1Block === undefined ? undefined : h.tracker.l1SeenAt.get(l1Block);
    if (at === undefined) continue;
    sendTo.push(at - s.startAt);
    l1ToPreconf.push(s.inclusion!.announcedAt - at);
  }
  const missing = confirmed.length - sendTo.length;
  const r: L1Inclusion = {
    txs: confirmed.length,
    onL1: sendTo.length,
    sendToL1Ms: latencyStats(sendTo, missing),
    preconfToL1Ms: null,
    l1ToPreconfMs: latencyStats(l1ToPreconf, missing),
    mapping: {
      verified: assignment.verified,
      unverified: assignment.unverified,
      mismatched: assignment.mismatched,
    },
    waitedAfterOpenLoopMs: round(performance.now() - t0, 0),
  };
  log(
    `  to L1: ${r.onL1}/${r.txs} open-loop txs mapped to the L1 block of their batch, send → L1 p50 ${fmt(r.sendToL1Ms.p50)} ms, p99 ${fmt(r.sendToL1Ms.p99)} ms; L1 → newHeads p50 ${fmt(r.l1ToPreconfMs?.p50)} ms; batches → blocks: ${assignment.verified} checked against the served blocks, ${assignment.unverified} not served yet, ${assignment.mismatched} mismatched`,
  );
  return r;
}

// ---- censorship resistance: a forced tx ----

interface ForcedTx {
  /** The L1 block holding L1MessageQueue.forceTransaction. */
  l1Block: number;
  /** The L1 tx's receipt seen → the L2 block holding the forced tx announced (first node); null: not within forcedTimeoutMs. */
  l1ToL2Ms: number | null;
  /** L1 blocks from the one holding it to the L1 head when the L2 block was announced. */
  l1Blocks: number | null;
  /** Whether the forced tx ran (status 1) in its L2 block. */
  succeeded: boolean | null;
}

const FORCED_TIMEOUT_MS = 60_000;

/**
 * The escape hatch on an idle chain, as a censored user takes it (`seqnet force-tx` does the same):
 * an L2 transfer signed by a dev account that funded the senders (idle since), put into
 * L1MessageQueue.forceTransaction with a dev L1 key no node uses, then waited for on every node.
 */
async function forcedTx(h: Harness): Promise<ForcedTx> {
  const l1Key = devAccounts(10)[9].privateKey;
  const { pub, wallet } = await l1Clients(h.d.info.l1!.rpc, l1Key);
  const user = accounts.funders[9];
  const nonce = Number(
    await h.rpcs[liveIndex(h)].call<Hex>('eth_getTransactionCount', [user.address, 'latest']),
  );
  const raw = await user.signTransaction({
    chainId: CHAIN_ID,
    type: 'eip1559',
    nonce,
    to: user.address,
    value: 1n,
    gas: ETH_TRANSFER_GAS,
    maxFeePerGas: 10n ** 9n,
    maxPriorityFeePerGas: 0n,
  });
  const hash = keccak256(raw);
  const seen = h.watcher.confirmed(hash, 'first');
  const l1Tx = await wallet.writeContract({
    address: h.d.info.l1!.contracts.L1MessageQueue as Address,
    abi: l1Artifacts().L1MessageQueue.abi as Abi,
    functionName: 'forceTransaction',
    args: [raw],
  });
  const receipt = await pub.waitForTransactionReceipt({ hash: l1Tx, pollingInterval: 100 });
  const t0 = performance.now();
  const l1Block = Number(receipt.blockNumber);
  let timer: NodeJS.Timeout | undefined;
  const inc = await Promise.race([
    seen,
    new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), FORCED_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (!inc) {
    h.watcher.forget([hash]);
    log(`  forced tx: not on L2 within ${FORCED_TIMEOUT_MS / 1000} s of its L1 block ${l1Block}`);
    return { l1Block, l1ToL2Ms: null, l1Blocks: null, succeeded: null };
  }
  const l1Blocks = (await l1Head(h)) - l1Block;
  const r = await h.rpcs[liveIndex(h)].call<{ status: Hex } | null>('eth_getTransactionReceipt', [hash]);
  const forced = {
    l1Block,
    l1ToL2Ms: round(inc.announcedAt - t0),
    l1Blocks,
    succeeded: r ? r.status === '0x1' : null,
  };
  log(
    `  forced tx: L1 block ${l1Block} → L2 block ${inc.block} in ${fmt(forced.l1ToL2Ms)} ms (${l1Blocks} L1 blocks)`,
  );
  return forced;
}

// ---- based: inclusion promises ----

interface BasedPromises {
  txs: number;
  /** Send → the node's seqnet_getPreconfirmation first answers with its signed promise (polled every 10 ms). */
  promiseMs: LatencyStats;
  /** Send → newHeads of the tx's block (derived from L1) at the first node, for the same txs. */
  inclusionMs: LatencyStats;
  /** Promises whose EIP-712 signature verifies offline as the poster's (verifyInclusionPromise). */
  verified: number;
  /** Checked against L1 alone (checkInclusionPromise) once every tx was in a block. */
  kept: number;
  broken: number;
  pending: number;
}

/**
 * based with `--preconf`: txs one at a time at 5 tx/s on the idle chain, each to its sender's node;
 * when the node first serves its inclusion promise, and when the tx's block is announced.
 */
async function basedPromises(h: Harness): Promise<BasedPromises> {
  const txs = await signOver(killGroup, config.promiseTxs);
  const one = async (tx: SignedTx) => {
    const m = route(h)(tx) ?? liveIndex(h);
    const seen = h.watcher.confirmed(tx.hash, 'first');
    const t0 = performance.now();
    await h.rpcs[m].call('eth_sendRawTransaction', [tx.raw]);
    let promise: InclusionPromiseJson | null = null;
    while (!promise && performance.now() - t0 < 30_000) {
      promise = await h.rpcs[m].call<InclusionPromiseJson | null>('seqnet_getPreconfirmation', [tx.hash]);
      if (!promise) await sleep(10);
    }
    const promiseMs = promise ? performance.now() - t0 : null;
    const waited = new AbortController();
    const inc = await Promise.race([seen, sleep(60_000, waited.signal).then(() => undefined)]);
    waited.abort();
    if (!inc) h.watcher.forget([tx.hash]);
    return { promise, promiseMs, inclusionMs: inc ? inc.announcedAt - t0 : null };
  };
  const runs: Array<Promise<Awaited<ReturnType<typeof one>>>> = [];
  for (const tx of txs) {
    runs.push(one(tx));
    await sleep(200);
  }
  const done = await Promise.all(runs);
  const promises = done.flatMap((d) => (d.promise ? [d.promise] : []));
  const verified = (await Promise.all(promises.map((p) => verifyInclusionPromise(p)))).filter(Boolean).length;
  const outcomes = await Promise.all(promises.map((p) => checkInclusionPromise(h.pub, openInboxAbi, p)));
  const count = (status: string) => outcomes.filter((o) => o.status === status).length;
  const ms = (xs: Array<number | null>) => {
    const got = xs.filter((x): x is number => x !== null);
    return latencyStats(got, xs.length - got.length);
  };
  const r: BasedPromises = {
    txs: txs.length,
    promiseMs: ms(done.map((d) => d.promiseMs)),
    inclusionMs: ms(done.map((d) => d.inclusionMs)),
    verified,
    kept: count('kept'),
    broken: count('broken'),
    pending: count('pending'),
  };
  log(
    `  inclusion promises: ${promises.length}/${r.txs} promised, send → promise p50 ${fmt(r.promiseMs.p50)} ms, p99 ${fmt(r.promiseMs.p99)} ms; send → block (from L1) p50 ${fmt(r.inclusionMs.p50)} ms; ${verified} verify offline; on L1 ${r.kept} kept, ${r.broken} broken, ${r.pending} pending`,
  );
  return r;
}

// ---- leader kill ----

interface LeaderKill {
  killedMember: number;
  /** Status of the node asked (a live one) just before the kill. */
  viewAtKill: string;
  /** The node a survivor names as leader once the load has ended (by key; −1: none of the devnet's), and its view. */
  leaderAtEnd: number | null;
  viewAtEnd: string | null;
  /** Views the surviving node entered from the kill to the end, by the member the schedule made leader. */
  viewsLedByAfterKill: number[] | null;
  survivor: number;
  /** Last block announced (at the survivor) before the kill → first announced after it. */
  gapMs: number | null;
  lastBlockBeforeKillMs: number | null;
  killToFirstBlockMs: number | null;
  /** Kill → first block (at the survivor) holding a tx sent after the kill. */
  killToFirstPostKillTxBlockMs: number | null;
  /**
   * Largest gap between consecutive blocks at the survivor from the kill to the end of the load, the
   * time from its last block to the end of the load included (see maxGapOpenEnded).
   */
  maxGapAfterKillMs: number | null;
  /**
   * True when the largest gap is the one from the last block at the survivor to the end of the load
   * (the chain had not made a block since): then maxGapAfterKillMs is a lower bound.
   */
  maxGapOpenEnded: boolean;
  /**
   * The load before the kill; blockGapMs: gaps between consecutive blocks at the survivor from the first
   * block holding load to the kill (the ordinary block interval under this load, to read the gap against).
   */
  preKill: {
    loadMs: number;
    blocks: number;
    txs: number;
    firstLoadBlockMs: number | null;
    blockGapMs: { p50: number | null; max: number | null; gaps: number };
  };
  postKillTxs: { sent: number; committed: number; latencyMs: LatencyStats };
  /** based / free: every node's seqnet_status.open just before the kill, and the survivor's at the end. */
  openAtKill: Array<OpenStatus | null> | null;
  openAtEnd: OpenStatus | null;
  load: string;
}

async function leaderKill(h: Harness): Promise<LeaderKill> {
  const kc = config.kill;
  const open = isOpen(h.d.mode);
  let openAtKill: Array<OpenStatus | null> | null = null;
  await waitIdle(h, config.idleWaitMs);
  const total = Math.round((kc.rate * (kc.preKillMs + 15_000 + kc.maxPostKillMs + 5_000)) / 1000);
  const txs = await signOver(killGroup, total);
  let killAt = Number.NaN;
  let killed = -1;
  let survivor = -1;
  let viewAtKill = '';
  let ledAtKill: number[] | null = null;
  let keys: Array<string | null> | undefined;
  let firstLoadBlockMs: number | null = null;
  let recoveredAt: number | undefined;
  const postKill = new Set<Hex>();
  let checkedUpTo = 0;
  let lastCheck = 0;
  const loadStart = performance.now();
  const killer = (async () => {
    await sleep(kc.preKillMs);
    // Kill a committee that is committing the load: ≥ 3 blocks holding txs, the last within 1 s; ≤ 15 s more.
    const waitEnd = performance.now() + 15_000;
    const loaded = () => h.watcher.sortedBlocks().filter((b) => b.firstAt >= loadStart && b.txCount > 0);
    // based / free make a block every few seconds at best (one per batch or race, from L1).
    const recent = open ? 4_000 : 1_000;
    while (performance.now() < waitEnd) {
      const bs = loaded();
      // based / free: also ≥ 4 s of loaded blocks, for the ordinary block interval to read the gap against.
      const span = bs.length ? bs[bs.length - 1].firstAt - bs[0].firstAt : 0;
      if (
        bs.length >= 3 &&
        performance.now() - bs[bs.length - 1].firstAt < recent &&
        (!open || span >= 4_000)
      )
        break;
      await sleep(50);
    }
    const first = loaded()[0];
    firstLoadBlockMs = first ? round(first.firstAt - loadStart) : null;
    if (open) {
      // No leader: node 0 is one of the submitters (the others keep posting their own txs).
      killed = 0;
      viewAtKill = 'n/a';
      survivor = 1;
      openAtKill = await Promise.all(h.d.urls.map((u) => nodeStatus(u).then((x) => x.open ?? null)));
    } else {
      keys = await nodeKeys(h.d);
      const st = await nodeStatus(h.d.urls[0]);
      killed = killMember ?? leaderNode(st.consensus!, keys);
      if (killed < 0) throw new Error(`no node of the ${h.d.mode} devnet leads view ${st.consensus!.view}`);
      viewAtKill = st.consensus!.view;
      survivor = range(0, h.n).find((i) => i !== killed)!;
      ledAtKill = (await nodeStatus(h.d.urls[survivor])).consensus!.viewsLedBy;
    }
    const pid = h.d.pids[killed];
    if (pid === undefined) throw new Error(`no pid for member ${killed} in devnet.json`);
    h.down.add(killed);
    h.watcher.drop(killed);
    killAt = performance.now();
    process.kill(pid, 'SIGKILL');
    while (!isDead(pid)) await sleep(5);
    log(
      `  SIGKILL ${open ? 'node' : 'member'} ${killed} (${open ? 'a submitter' : killMember !== undefined ? `--kill-member, in view ${viewAtKill}` : `leader of view ${viewAtKill}`}) after ${((killAt - loadStart) / 1000).toFixed(1)} s of load`,
    );
  })();
  let killFailed = false;
  killer.catch(() => {
    killFailed = true;
  });
  /** Whether the survivor has announced a block holding a tx sent after the kill (checked every 100 ms). */
  const recovered = (now: number) => {
    if (recoveredAt !== undefined) return true;
    if (now - lastCheck < 100) return false;
    lastCheck = now;
    // In height order; stop at the first block the survivor has not announced or not been fetched yet.
    for (const b of h.watcher.sortedBlocks()) {
      if (b.number <= checkedUpTo) continue;
      const at = b.announcedAt[survivor];
      if (at === undefined || !b.hashes) break;
      checkedUpTo = b.number;
      if (at >= killAt && b.hashes!.some((x) => postKill.has(x))) {
        recoveredAt = at;
        return true;
      }
    }
    return false;
  };
  const run = await openLoop(h.rpcs, h.watcher, txs, kc.rate, {
    label: `${h.d.mode} leader kill`,
    route: (tx) => {
      const m = route(h)(tx);
      if (m !== undefined && !Number.isNaN(killAt)) postKill.add(tx.hash.toLowerCase() as Hex);
      return m;
    },
    vantage: () => 'first',
    drainMs: open ? kc.openDrainMs : kc.drainMs,
    stopWhen: () => {
      if (killFailed) return true;
      if (Number.isNaN(killAt)) return false;
      const now = performance.now();
      if (recovered(now)) return now >= recoveredAt! + kc.afterRecoveryMs;
      return now >= killAt + kc.maxPostKillMs;
    },
    log,
  });
  await killer;
  const endStatus = await nodeStatus(h.d.urls[survivor]).catch(() => undefined);
  const atSurvivor = h.watcher
    .sortedBlocks()
    .map((b) => ({ number: b.number, at: b.announcedAt[survivor], txs: b.hashes ?? [] }))
    .filter((b): b is { number: number; at: number; txs: Hex[] } => b.at !== undefined);
  const before = atSurvivor.filter((b) => b.at < killAt).at(-1);
  const firstLoaded = atSurvivor.find((b) => b.at >= run.t0 && b.txs.length > 0);
  const preGaps: number[] = [];
  const preBlocks = firstLoaded ? atSurvivor.filter((b) => b.at >= firstLoaded.at && b.at < killAt) : [];
  for (let i = 1; i < preBlocks.length; i++) preGaps.push(preBlocks[i].at - preBlocks[i - 1].at);
  preGaps.sort((a, b) => a - b);
  const after = atSurvivor.filter((b) => b.at >= killAt);
  const firstPost = after.find((b) => b.txs.some((x) => postKill.has(x)));
  const inLoad = after.filter((b) => b.at <= run.sendEnd);
  let maxGap = 0;
  let prev = before?.at ?? killAt;
  for (const b of inLoad) {
    maxGap = Math.max(maxGap, b.at - prev);
    prev = b.at;
  }
  // A chain that stopped and did not start again before the load ended: the gap is still open.
  const openGap = run.sendEnd - prev;
  const openEnded = openGap > maxGap;
  if (openEnded) maxGap = openGap;
  const post = run.samples.filter((s) => s.sentAt !== undefined && s.sentAt >= killAt);
  const postConfirmed = post.filter((s) => s.inclusion);
  const pre = h.watcher.committedBetween(run.t0, killAt);
  const ledAtEnd = endStatus?.consensus?.viewsLedBy;
  const r: LeaderKill = {
    killedMember: killed,
    viewAtKill,
    leaderAtEnd: endStatus?.consensus && keys ? leaderNode(endStatus.consensus, keys) : null,
    viewAtEnd: endStatus?.consensus?.view ?? null,
    viewsLedByAfterKill: ledAtEnd && ledAtKill ? ledAtEnd.map((v, i) => v - (ledAtKill?.[i] ?? 0)) : null,
    survivor,
    gapMs: before && after[0] ? round(after[0].at - before.at) : null,
    lastBlockBeforeKillMs: before ? round(killAt - before.at) : null,
    killToFirstBlockMs: after[0] ? round(after[0].at - killAt) : null,
    killToFirstPostKillTxBlockMs: firstPost ? round(firstPost.at - killAt) : null,
    maxGapAfterKillMs: inLoad.length || openEnded ? round(maxGap) : null,
    maxGapOpenEnded: openEnded,
    preKill: {
      loadMs: round(killAt - run.t0),
      blocks: pre.blocks,
      txs: pre.txs,
      firstLoadBlockMs,
      blockGapMs: {
        p50: preGaps.length ? round(preGaps[Math.floor((preGaps.length - 1) / 2)]) : null,
        max: preGaps.length ? round(preGaps[preGaps.length - 1]) : null,
        gaps: preGaps.length,
      },
    },
    postKillTxs: {
      sent: post.length,
      committed: postConfirmed.length,
      latencyMs: latencyStats(
        postConfirmed.map((s) => s.inclusion!.announcedAt - s.startAt),
        post.length - postConfirmed.length,
      ),
    },
    openAtKill,
    openAtEnd: endStatus?.open ?? null,
    load: `${kc.rate} tx/s open loop from ${kc.senders} senders, each to one node (none to the killed one after the kill); the kill after ≥ ${kc.preKillMs} ms of steady load; load until ${kc.afterRecoveryMs} ms after the first block holding a post-kill tx (at most ${kc.maxPostKillMs} ms after the kill)`,
  };
  log(
    `  leader kill: block gap before the kill p50 ${fmt(r.preKill.blockGapMs.p50)} ms (max ${fmt(r.preKill.blockGapMs.max)}); gap ${fmt(r.gapMs)} ms, kill → first block ${fmt(r.killToFirstBlockMs)} ms, kill → first block with a post-kill tx ${fmt(r.killToFirstPostKillTxBlockMs)} ms, max gap after ${r.maxGapOpenEnded ? '≥ ' : ''}${fmt(r.maxGapAfterKillMs)} ms; ${r.leaderAtEnd === null ? '' : ` leader now member ${r.leaderAtEnd};`} ${postConfirmed.length}/${post.length} post-kill txs committed`,
  );
  return r;
}

// ---- based / free: what racing cost ----

interface OpenWaste {
  /** The passed-over batches of the scan, by reason (assignOpen's words). */
  passedOverByReason: Record<string, number>;
  /** Per poster (node i posts with anvil account 2 + i): posts, the blocks they made, wasted gas. */
  perNode: Array<{ node: number | null; address: Address; posts: number; made: number; wastedGas: number }>;
  /** A surviving node's count of batches its derivation passed over, at the end of the mode. */
  derivationPassedOver: number | null;
  /** based: txs execution skipped because the chain held them already (posted twice); a survivor's count. */
  skippedTxs: number | null;
  /**
   * Txs in the posted batches (reverted posts left out), from their calldata: every occurrence, the
   * distinct txs, and the occurrences beyond a tx's first (posted again: free, after losing; based, a
   * tx posted before derivation had executed its earlier batch). Of the batches that made blocks:
   * their txs, and the txs the blocks hold (the difference was skipped by execution).
   */
  txs: {
    posted: number;
    distinct: number;
    postedAgain: number;
    inBlockMakingBatches: number;
    executed: number;
    skippedByExecution: number;
  };
  /** The batch → block mapping, checked against the blocks served (assignOpen). */
  mapping: { verified: number; unverified: number; mismatched: number };
  /**
   * Cross-check: the sum over all nodes of seqnet_status open.submitter, read just before the kill, and
   * the scan's wasted gas of the posts in L1 blocks every node had derived by then (the submitters decide
   * "lost" once derivation has read the post).
   */
  submittersAtKill: {
    posted: number;
    won: number;
    lost: number;
    reverted: number;
    l1Gas: number;
    wastedGas: number;
    derivedThroughL1Block: number;
    scanWastedGas: number;
    scanWastedPosts: number;
  } | null;
}

async function openWasteOf(
  h: Harness,
  assignment: OpenAssignment,
  kill: LeaderKill | null,
  counts: Map<number, number>,
): Promise<OpenWaste> {
  const posts = h.scan.posts;
  const txHashesOf = (p: InboxPost): Hex[] => {
    const d = h.scan.decoded.get(p.hash);
    if (!d || d.kind === 'error') return [];
    return d.kind === 'txs' ? d.txHashes : d.blocks.flatMap((b) => b.txHashes);
  };
  const seen = new Set<Hex>();
  let posted = 0;
  let inMaking = 0;
  let executed = 0;
  for (const p of posts) {
    if (p.reverted) continue;
    const txs = txHashesOf(p);
    posted += txs.length;
    for (const x of txs) seen.add(x);
    if (p.made) {
      inMaking += txs.length;
      for (let k = p.made[0]; k <= p.made[1]; k++) executed += counts.get(k) ?? 0;
    }
  }
  const byReason: Record<string, number> = {};
  for (const p of posts) if (p.passedOver) byReason[p.passedOver] = (byReason[p.passedOver] ?? 0) + 1;
  const addresses = [...new Set(posts.map((p) => p.from.toLowerCase() as Address))];
  const nodeOf = (a: Address) => {
    const i = range(0, h.n).findIndex((k) => memberL1Account(k).address.toLowerCase() === a);
    return i < 0 ? null : i;
  };
  const perNode = addresses
    .map((address) => {
      const mine = posts.filter((p) => p.from.toLowerCase() === address);
      return {
        node: nodeOf(address),
        address,
        posts: mine.length,
        made: mine.filter((p) => p.made !== null).length,
        wastedGas: mine.filter((p) => p.made === null).reduce((t, p) => t + p.gasUsed, 0),
      };
    })
    .sort((a, b) => (a.node ?? 99) - (b.node ?? 99));
  const end = await nodeStatus(h.d.urls[liveIndex(h)]).catch(() => undefined);
  const atKill = kill?.openAtKill;
  let submittersAtKill: OpenWaste['submittersAtKill'] = null;
  if (atKill?.every((x) => x?.submitter)) {
    const subs = atKill.map((x) => x!.submitter!);
    const through = Math.min(...atKill.map((x) => x!.l1Block));
    const early = posts.filter((p) => p.l1Block <= through && p.made === null);
    submittersAtKill = {
      posted: subs.reduce((t, x) => t + x.posted, 0),
      won: subs.reduce((t, x) => t + x.won, 0),
      lost: subs.reduce((t, x) => t + x.lost, 0),
      reverted: subs.reduce((t, x) => t + x.reverted, 0),
      l1Gas: subs.reduce((t, x) => t + Number(x.l1Gas), 0),
      wastedGas: subs.reduce((t, x) => t + Number(x.wastedGas), 0),
      derivedThroughL1Block: through,
      scanWastedGas: early.reduce((t, p) => t + p.gasUsed, 0),
      scanWastedPosts: early.length,
    };
  }
  return {
    passedOverByReason: byReason,
    perNode,
    derivationPassedOver: end?.open?.passedOverBatches ?? null,
    skippedTxs: end?.open?.skippedTxs ?? null,
    txs: {
      posted,
      distinct: seen.size,
      postedAgain: posted - seen.size,
      inBlockMakingBatches: inMaking,
      executed,
      skippedByExecution: inMaking - executed,
    },
    mapping: {
      verified: assignment.verified,
      unverified: assignment.unverified,
      mismatched: assignment.mismatched,
    },
    submittersAtKill,
  };
}

// ---- one mode ----

interface ModeResult {
  mode: Mode;
  nodes: number;
  command: string[];
  startupSeconds: number;
  /** seqnet_status.election of node 0 once up (the mode at work, epoch, elected/winner). */
  election: Record<string, unknown> | null;
  fundingSeconds: number | null;
  openLoop: LoadFigures | null;
  closedLoop: LoadFigures | null;
  l1Inclusion: L1Inclusion | null;
  l1Gas: {
    /** Batches posted (L1 blocks) from the open loop's start until its txs were on L1 (or l1WaitMs). */
    openLoopWindow: GasSummary & { l1Blocks: [number, number] };
    /** Every batch of the run, from the devnet's start to the end of the mode. */
    wholeRun: GasSummary & { l1Blocks: [number, number] };
    /** L1 txs to the Inbox over the whole run that made no block: reverted, or (based / free) passed over. */
    wasted: {
      revertedPosts: number;
      passedOverPosts: number;
      posts: number;
      gas: number;
      hashes: Hex[];
      open: OpenWaste | null;
    };
    /**
     * Node 0's own batcher counters (successful posts since it started), read before the kill, and
     * the txs the chain executed in blocks 1..postedTo (its `txs` counts the sequenced blocks' txs).
     */
    batcherStatus: (NonNullable<NodeStatus['batcher']> & { executedTxsInPostedBlocks: number }) | null;
    /** Every L1 tx to the Inbox, with the txs executed in its L2 block range. */
    posts: Array<InboxPost & { l2Txs: number | null }>;
  } | null;
  /** A forced tx through L1 on the idle chain (censorship resistance). */
  forcedTx: ForcedTx | null;
  /** based (`--preconf`): the submitters' inclusion promises on the idle chain. */
  basedPromises: BasedPromises | null;
  leaderKill: LeaderKill | null;
  leaderKillSkipped: string | null;
  /** Node 0's viewsLedBy before the kill phase (views entered, by the member the schedule made leader). */
  viewsLedBy: number[] | null;
  stopSeconds: number | null;
  devnetExitCode: number | null;
  error: string | null;
}

async function runMode(mode: Mode): Promise<ModeResult> {
  const result: ModeResult = {
    mode,
    nodes: mode === 'single' ? 1 : config.committeeSize,
    command: [],
    startupSeconds: 0,
    election: null,
    fundingSeconds: null,
    openLoop: null,
    closedLoop: null,
    l1Inclusion: null,
    l1Gas: null,
    forcedTx: null,
    basedPromises: null,
    leaderKill: null,
    leaderKillSkipped: null,
    viewsLedBy: null,
    stopSeconds: null,
    devnetExitCode: null,
    error: null,
  };
  log(`[${mode}] starting the devnet…`);
  const d = await startDevnet(mode);
  result.command = d.command;
  result.startupSeconds = d.startupSeconds;
  let h: Harness | undefined;
  try {
    if (!d.info.l1?.contracts.Inbox) throw new Error('devnet.json has no l1.contracts.Inbox');
    const n = d.urls.length;
    const watcher = await CommitteeWatcher.start(d.urls.map((u) => u.replace('http', 'ws')));
    const perNode = Math.ceil((config.openSenders + config.closedUsers) / n) + 16;
    const pub = createPublicClient({ transport: http(d.info.l1.rpc, { timeout: 30_000 }) }) as PublicClient;
    const inbox = d.info.l1.contracts.Inbox as Address;
    h = {
      d,
      n,
      rpcs: d.urls.map((u) => new HttpRpc(u, perNode)),
      watcher,
      down: new Set(),
      pub,
      inbox,
      tracker: new InboxTracker(pub, inbox, isOpen(mode)),
      scan: new InboxScan(pub, inbox, mode),
    };
    h.tracker.start();
    result.election = (await nodeStatus(d.urls[0])).election;
    log(
      `[${mode}] up in ${d.startupSeconds} s (${n} node${n > 1 ? 's' : ''}, RPC ${d.ports.rpc}…, L1 ${d.ports.l1}); election ${JSON.stringify(result.election)}`,
    );
    result.fundingSeconds = await fund(h);
    const opts = (label: string) => ({
      label: `${mode} ${label}`,
      route: route(h!),
      vantage: (m: number) => m,
      drainMs: isOpen(mode) ? config.openDrainMs : config.drainMs,
      log,
    });
    // Warm-up (not reported): JIT, keep-alive sockets.
    await Promise.all(h.rpcs.map((r) => r.warm(Math.min(perNode, 32))));
    const warm = await signOver(openGroup, config.warmupTxs);
    await openLoop(h.rpcs, h.watcher, warm, config.rate, opts('warm-up'));

    // 1a + 2: the open loop at the fixed rate, then its txs' way to L1.
    const openTxs = await signOver(openGroup, config.rate * config.openSeconds);
    await waitIdle(h, config.idleWaitMs);
    const l1OpenStart = await l1Head(h);
    const open = await measure(h, `open loop ${config.rate} tx/s`, config.rate, () =>
      openLoop(h!.rpcs, h!.watcher, openTxs, config.rate, opts(`open ${config.rate}`)),
    );
    result.openLoop = open.figures;
    result.l1Inclusion = await l1Inclusion(h, open.run);
    const l1OpenEnd = await l1Head(h);

    // 1b: the closed loop.
    const lanes: SignedTx[][] = [];
    for (const s of closedGroup) {
      const lane: SignedTx[] = [];
      for (let j = 0; j < config.closedTxsPerUser; j++)
        lane.push(await signEth(s, nonces[s]++, s * config.closedTxsPerUser + j));
      lanes.push(lane);
    }
    const closed = await measure(h, `closed loop ${config.closedUsers} users`, null, () =>
      closedLoop(h!.rpcs, h!.watcher, lanes, config.closedSeconds * 1000, opts('closed')),
    );
    result.closedLoop = closed.figures;
    const st0 = await nodeStatus(d.urls[0]);
    const batcherStatus = st0.batcher;
    result.viewsLedBy = st0.consensus?.viewsLedBy ?? null;

    // 5: censorship resistance: the escape hatch on the idle chain.
    await waitIdle(h, config.idleWaitMs);
    result.forcedTx = await forcedTx(h);

    // 6: based: preconfirmations by the opted-in submitters (inclusion promises).
    if (mode === 'based') {
      await waitIdle(h, config.idleWaitMs);
      result.basedPromises = await basedPromises(h);
    }

    // 4: the leader kill (last: node 0, the batcher, may be the one killed).
    if (n > 1) result.leaderKill = await leaderKill(h);
    else
      result.leaderKillSkipped =
        'a single sequencer has no other node to take over: killing it stops the chain until it restarts';

    // 3: L1 gas, from every L1 tx to the Inbox during the run.
    const l1End = await l1Head(h);
    let counts: Map<number, number>;
    let openWaste: OpenWaste | null = null;
    if (isOpen(mode)) {
      const { served, assignment } = await openMapping(h, l1End);
      counts = new Map([...served].map(([k, txs]) => [k, txs.length]));
      openWaste = await openWasteOf(h, assignment, result.leaderKill, counts);
    } else {
      await h.scan.to(l1End);
      const maxLast = Math.max(0, ...h.scan.posts.map((p) => p.lastBlock ?? 0));
      counts = await l2TxCounts(h.rpcs[liveIndex(h)], maxLast);
    }
    const posts = h.scan.posts;
    const firstL1 = posts.length ? posts[0].l1Block : 0;
    const inOpen = posts.filter((p) => p.l1Block >= l1OpenStart && p.l1Block <= l1OpenEnd);
    const wasted = posts.filter((p) => p.made === null);
    const l2TxsOf = (p: InboxPost) =>
      p.made === null
        ? null
        : range(p.made[0], p.made[1] - p.made[0] + 1).reduce((t, k) => t + (counts.get(k) ?? 0), 0);
    result.l1Gas = {
      openLoopWindow: { ...gasSummary(inOpen, counts), l1Blocks: [l1OpenStart, l1OpenEnd] },
      wholeRun: { ...gasSummary(posts, counts), l1Blocks: [firstL1, l1End] },
      wasted: {
        revertedPosts: posts.filter((p) => p.reverted).length,
        passedOverPosts: posts.filter((p) => p.passedOver !== null).length,
        posts: wasted.length,
        gas: wasted.reduce((s, p) => s + p.gasUsed, 0),
        hashes: wasted.map((p) => p.hash).slice(0, 10),
        open: openWaste,
      },
      batcherStatus: batcherStatus && {
        ...batcherStatus,
        executedTxsInPostedBlocks: range(1, batcherStatus.postedTo).reduce(
          (t, k) => t + (counts.get(k) ?? 0),
          0,
        ),
      },
      posts: posts.map((p) => ({ ...p, l2Txs: l2TxsOf(p) })),
    };
    const g = result.l1Gas;
    log(
      `  L1 gas: ${g.wholeRun.batches} batches made blocks (${g.wholeRun.functions.join(', ')}), ${fmt(g.wholeRun.gasPerBatch)} gas per batch, ${fmt(g.wholeRun.gasPerL2Tx)} per L2 tx over the run (${fmt(g.openLoopWindow.gasPerL2Tx)} in the open loop's window); wasted: ${g.wasted.posts} of ${g.wholeRun.allPosts} posts (${g.wasted.revertedPosts} reverted, ${g.wasted.passedOverPosts} passed over), ${fmt(g.wasted.gas)} gas${openWaste ? `; derivation passed over ${openWaste.derivationPassedOver ?? '-'}, skipped txs ${openWaste.skippedTxs ?? '-'}; txs in batches ${openWaste.txs.posted} (${openWaste.txs.postedAgain} posted again), executed ${openWaste.txs.executed}; submitters' wastedGas ${openWaste.submittersAtKill ? fmt(openWaste.submittersAtKill.wastedGas) : '-'} vs ${openWaste.submittersAtKill ? fmt(openWaste.submittersAtKill.scanWastedGas) : '-'} from the scan at the same point` : ''}`,
    );
  } catch (err) {
    result.error = (err as Error).stack ?? (err as Error).message;
    log(`[${mode}] failed: ${(err as Error).message}`);
    log(`[${mode}] devnet output tail:\n${d.output()}\n${nodeLogTails(d.dataDir)}`);
  } finally {
    if (h) {
      h.tracker.stop();
      h.watcher.close();
      for (const r of h.rpcs) r.close();
    }
    const t0 = performance.now();
    result.devnetExitCode = await stopDevnet({
      proc: d.proc,
      dataDir: d.dataDir,
      pids: () => d.pids.filter((p): p is number => p !== undefined),
    });
    result.stopSeconds = round((performance.now() - t0) / 1000, 1);
    log(`[${mode}] devnet stopped in ${result.stopSeconds} s (exit ${result.devnetExitCode})`);
  }
  return result;
}

// ---- report ----

/** Wasted gas (posts that made no block, of all posts); based: and the txs skipped as posted twice. */
function wastedCell(r: ModeResult): string {
  const g = r.l1Gas;
  if (!g) return '-';
  const skipped = g.wasted.open?.skippedTxs;
  return `${fmt(g.wasted.gas)} (${g.wasted.posts}/${g.wholeRun.allPosts} posts${r.mode === 'based' ? `, ${skipped ?? '-'} txs skipped` : ''})`;
}

function table(results: ModeResult[]): string {
  const rows: string[][] = [
    [
      'mode',
      `p50 ms @${config.rate}`,
      `p99 ms @${config.rate}`,
      `conf. @${config.rate}`,
      'closed tx/s',
      'closed p50',
      'to L1 p50',
      'to L1 p99',
      'gas/batch',
      'gas/L2 tx',
      'incl. wasted',
      'wasted gas',
      'forced tx ms (L1 blk)',
      'max gap pre-kill',
      'kill: gap ms',
      'max gap ms',
      'kill→new tx ms',
      'killed',
    ],
  ];
  for (const r of results) {
    if (r.error && !r.openLoop) {
      rows.push([r.mode, 'failed', ...Array.from({ length: rows[0].length - 2 }, () => '')]);
      continue;
    }
    const k = r.leaderKill;
    rows.push([
      r.mode,
      fmt(r.openLoop?.latencyMs.p50),
      fmt(r.openLoop?.latencyMs.p99),
      r.openLoop ? `${r.openLoop.confirmed}/${r.openLoop.sent}` : '-',
      fmt(r.closedLoop?.committedTxPerSecond),
      fmt(r.closedLoop?.latencyMs.p50),
      fmt(r.l1Inclusion?.sendToL1Ms.p50),
      fmt(r.l1Inclusion?.sendToL1Ms.p99),
      fmt(r.l1Gas?.wholeRun.gasPerBatch),
      fmt(r.l1Gas?.wholeRun.gasPerL2Tx),
      fmt(r.l1Gas?.wholeRun.gasPerL2TxIncludingWasted),
      wastedCell(r),
      r.forcedTx
        ? r.forcedTx.l1ToL2Ms === null
          ? 'none'
          : `${fmt(r.forcedTx.l1ToL2Ms)} (${r.forcedTx.l1Blocks})`
        : '-',
      k ? fmt(k.preKill.blockGapMs.max) : 'n/a',
      k ? fmt(k.gapMs) : 'n/a',
      k ? `${k.maxGapOpenEnded ? '≥' : ''}${fmt(k.maxGapAfterKillMs)}` : 'n/a',
      k ? fmt(k.killToFirstPostKillTxBlockMs) : 'n/a',
      k ? `${isOpen(r.mode) ? 'node' : 'member'} ${k.killedMember}` : 'n/a',
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) =>
    r.map((cell, c) => (c < 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '),
  );
  lines.splice(1, 0, widths.map((x) => '-'.repeat(x)).join('  '));
  // based has no commit proof before L1; its opted-in submitters' promises are the early confirmation.
  for (const r of results)
    if (r.basedPromises) {
      const b = r.basedPromises;
      lines.push(
        `${r.mode} inclusion promises (--preconf, ${b.txs} txs at 5 tx/s): send → promise p50 ${fmt(b.promiseMs.p50)} / p99 ${fmt(b.promiseMs.p99)} ms, send → block ${fmt(b.inclusionMs.p50)} / ${fmt(b.inclusionMs.p99)} ms; on L1 ${b.kept} kept, ${b.broken} broken, ${b.pending} pending`,
      );
    }
  return lines.join('\n');
}

function seqnetVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
    return `seqnet@${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', 'src') ? ' + uncommitted src/ changes' : ''}`;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadStart = loadavg().map((x) => round(x, 2));
  log(
    `seqnet election-modes benchmark${quick ? ' (--quick)' : ''}: modes ${modes.join(', ')}; ${JSON.stringify(config)}; load average ${loadStart.join(' ')}`,
  );
  const out = resolve(
    flags.out ??
      join(root, 'bench', 'results', `${quick ? 'modes-quick' : 'modes'}${partial ? '-partial' : ''}.json`),
  );
  mkdirSync(resolve(out, '..'), { recursive: true });
  const results: ModeResult[] = [];
  const save = (complete: boolean) => {
    const loadEnd = loadavg().map((x) => round(x, 2));
    const report = {
      benchmark: 'modes',
      quick,
      complete,
      ...(complete
        ? {}
        : { note: 'partial: written after each mode; the run has not finished (or was stopped)' }),
      date: new Date().toISOString(),
      durationSeconds: Math.round((Date.now() - started) / 1000),
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
        samples: loadSamples,
        min1: Math.min(...loadSamples.map((s) => s.load1), loadStart[0], loadEnd[0]),
        max1: Math.max(...loadSamples.map((s) => s.load1), loadStart[0], loadEnd[0]),
      },
      method: {
        nodes:
          'per mode a fresh `seqnet devnet` process (detached, its own process group) on a fresh data dir with the embedded L1 (anvil, 1 s blocks); single = `devnet --block-time 0`; poa/pos/dpos/auction = `devnet --nodes 4 --election MODE` (4 node processes, libp2p on loopback, BLS votes; pos/dpos/auction: election contracts deployed and seeded by the devnet: stakes 1..4 ETH, dpos candidates with delegated votes, member 1 wins the auctions of epochs 0-9); pos-epochs = `devnet --nodes 4 --election pos --epoch-committees --epoch-length 10` (each 10-block epoch certified by the committee the StakeRegistry names for it, handed over at a boundary block; the leader to kill found by its key); based/free = `devnet --nodes 4 --election MODE` (4 node processes, no committee and no p2p: each node has its own mempool and its own L1 key, anvil account 2+i, posts its txs to an OpenInbox every ~500 ms when it has some, and serves the chain its derivation makes of L1 order, one confirmation deep); mempool limits raised as in bench/run.ts; all on this machine with the client',
        client:
          'one Node process; pre-signed EIP-1559 ETH transfers (bench/lib/txs.ts) sent raw with eth_sendRawTransaction over keep-alive HTTP to every node: sender s always to node s mod n; the same signed txs in every mode',
        preconfirmation: `scheduled send (open loop) or send (closed loop) → the newHeads notification (WebSocket subscription on every node) of the block holding the tx, at the node it was sent to; a committee node announces a block once it is committed, executed and persisted; a based/free node once it has derived it from L1 (no preconfirmation before L1 in those modes), so their figure is send → L1 inclusion → derivation. based/free wait ${config.openDrainMs} ms after the last send (not ${config.drainMs} ms)`,
        committedTxPerSecond: `txs in blocks first announced in [first send + ${config.windowSkipMs} ms, last send) / that window`,
        unconfirmed: `txs not in a block ${config.drainMs} ms (based/free: ${config.openDrainMs} ms) after the last send count as slower than every confirmed one (a percentile among them is null)`,
        toL1: "open-loop txs: scheduled send → the first 100 ms poll of the L1 Inbox nextBlock() past the tx's L2 block (a batch with lastBlock ≥ that block is on L1); node 0 posts batches (brotli calldata, every 2 s when there are blocks); committees post postCertifiedBatch with the commit proof, checked on L1 by the CommitteeVerifier. based/free (the OpenInbox has no nextBlock()): scheduled send → the first 100 ms poll of eth_blockNumber at or past the L1 block holding the batch that made the tx's L2 block; which batch made which block follows derivation's rule from L1 order alone (based: the k-th decodable tx batch is block k; free: the first batch proposing height k whose block holds block k's txs as served) and is checked against the blocks a node serves (l1Inclusion.mapping); l1ToPreconfMs = that L1 block → newHeads at the node the tx was sent to (derivation's delay)",
        l1Gas:
          "every L1 tx to the Inbox from L1 block 0 to the end of the mode (all blocks scanned), with its receipt; gasUsed per successful batch and per L2 tx in its block range (eth_getBlockTransactionCountByNumber); openLoopWindow: batches in L1 blocks from the open loop's start until its txs were on L1; wasted: Inbox txs that made no block (reverted, or based/free: passed over by derivation, found from L1 as above, cross-checked with a node's passedOverBatches and with the sum of the submitters' wastedGas read before the kill); gasPerL2TxIncludingWasted = all Inbox gas / L2 txs; based: txs posted twice and skipped = a survivor's seqnet_status open.skippedTxs",
        leaderKill:
          'committees only: under the kill load, the member seqnet_status (node 0) names as the leader of the current view is SIGKILLed; blocks as announced (newHeads) at the lowest-numbered surviving node; gap = last block before the kill → first after it. The leader rotates each view in poa (and by stake in pos/dpos): the killed member is the leader at the moment of the read, its next views time out. In auction member 1 leads every view: its kill makes the schedule depose the winner after 3 failed views. based/free have no leader: node 0 (a submitter) is SIGKILLed (pid from devnet.json), the others keep posting; the survivor watched is node 1. maxGapAfterKillMs includes the still-open gap from the last block at the survivor to the end of the load when that is the largest (maxGapOpenEnded: a lower bound, the chain had stopped); preKill.blockGapMs = the ordinary block interval at the survivor under the same load before the kill',
        order:
          'per mode: start, fund, warm-up, open loop, wait for its txs on L1, closed loop, leader kill, L1 scan, stop; each run first waits (bounded) for empty mempools',
      },
      config,
      modes: results,
    };
    writeFileSync(
      out,
      `${JSON.stringify(report, (_k, v) => (v === Number.POSITIVE_INFINITY ? null : v), 2)}\n`,
    );
    return { report, loadEnd };
  };
  for (const mode of modes) {
    const t0 = performance.now();
    try {
      results.push(await runMode(mode));
    } catch (err) {
      log(`[${mode}] failed: ${(err as Error).stack ?? (err as Error).message}`);
      results.push({
        mode,
        nodes: mode === 'single' ? 1 : config.committeeSize,
        command: [],
        startupSeconds: 0,
        election: null,
        fundingSeconds: null,
        openLoop: null,
        closedLoop: null,
        l1Inclusion: null,
        l1Gas: null,
        forcedTx: null,
        basedPromises: null,
        leaderKill: null,
        leaderKillSkipped: null,
        viewsLedBy: null,
        stopSeconds: null,
        devnetExitCode: null,
        error: (err as Error).stack ?? (err as Error).message,
      });
    }
    log(
      `[${mode}] done in ${((performance.now() - t0) / 1000).toFixed(0)} s; load average ${loadavg()[0].toFixed(2)}`,
    );
    save(false);
  }
  const { report, loadEnd } = save(true);
  log('');
  log(table(results));
  log('');
  log(
    `load average: start ${loadStart.join(' ')}, end ${loadEnd.join(' ')} (1-min range ${report.loadAverage.min1}–${report.loadAverage.max1})`,
  );
  log(`wrote ${out} (${report.durationSeconds} s)`);
  if (results.some((r) => r.error))
    throw new Error(
      `modes failed: ${results
        .filter((r) => r.error)
        .map((r) => r.mode)
        .join(', ')}`,
    );
}

process.on('exit', killEverything);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    killEverything();
    process.exit(130);
  });
}

main()
  .then(() => process.exit(0))
  .catch((err: Error) => {
    log(`modes bench failed: ${err.stack ?? err.message}`);
    killEverything();
    process.exit(1);
  });
