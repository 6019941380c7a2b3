/**
 * Election-modes benchmark (issue 5): the election modes the node implements, side by side on the same
 * workload, in one run. Every mode gets a fresh `seqnet devnet` with its embedded L1 (anvil, 1 s blocks):
 *
 *   single   `seqnet devnet --block-time 0`                       (one sequencer node)
 *   poa      `seqnet devnet --nodes 4 --election poa`             (committee of 4, round-robin leaders)
 *   pos      `seqnet devnet --nodes 4 --election pos`             (leaders by stake: 1, 2, 3, 4 ETH)
 *   dpos     `seqnet devnet --nodes 4 --election dpos`            (candidates elected by delegated votes)
 *   auction  `seqnet devnet --nodes 4 --election auction`         (member 1 won epochs 0–9: it leads)
 *
 * Per mode, with pre-signed ETH transfers (bench/lib/txs.ts) sent by one client to every node (each
 * sender account always to one node, senders round robin over the nodes):
 *
 * 1. preconfirmation latency at a fixed offered rate (open loop): scheduled send → the newHeads
 *    notification of the block holding the tx, on the node it was sent to (bench/lib/committee-watch.ts:
 *    WebSocket newHeads on every node, no receipt polling); committed tx/s in a closed loop.
 * 2. time to L1 inclusion of the open loop's txs: scheduled send → the moment this client first reads
 *    the L1 Inbox's `nextBlock()` past the tx's L2 block (polled every 100 ms), i.e. a batch with
 *    lastBlock ≥ that block is on L1. Node 0 (the single node) posts batches.
 * 3. L1 gas: every L1 tx to the Inbox during the run (all L1 blocks scanned, receipts read, BatchPosted
 *    decoded): gasUsed per batch and per L2 tx (L2 txs in the batch's block range), over the open loop's
 *    window and over the whole run; reverted batch posts are wasted gas (reported, not assumed 0).
 * 4. leader-kill stall (committees only): under ~30 tx/s, SIGKILL the member seqnet_status names as the
 *    current leader, and measure, at a surviving node, the gap between the last block announced before
 *    the kill and the first after it, and the time to the first block holding a tx sent after the kill.
 *    For auction the leader is the winner (member 1): a winner-silent takeover (the schedule deposes the
 *    winner after 3 failed views).
 *
 *   npx tsx bench/modes.ts                  # full run, ~12-15 min on the shared two-core machine
 *   npx tsx bench/modes.ts --quick          # shorter phases, ~8 min there (~4.7 min of it starting devnets)
 *   npx tsx bench/modes.ts --modes poa,pos  # partial run (writes modes[-quick]-partial.json)
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
  http,
  type PublicClient,
  parseEventLogs,
} from 'viem';
import { waitForRpc } from '../src/l1/anvil.js';
import { l1Artifacts } from '../src/l1/deploy.js';
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

const ALL_MODES = ['single', 'poa', 'pos', 'dpos', 'auction'] as const;
type Mode = (typeof ALL_MODES)[number];

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    /** Partial run: only these modes, e.g. "poa,pos". */
    modes: { type: 'string' },
    out: { type: 'string' },
  },
  strict: true,
});
const quick = flags.quick;

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
      idleWaitMs: 5_000,
      /** After the open loop: how long to wait for its txs to be on L1. */
      l1WaitMs: 30_000,
      kill: {
        rate: 30,
        senders: 24,
        preKillMs: 2_000,
        /** Load goes on this long after the first block holding a post-kill tx. */
        afterRecoveryMs: 1_500,
        /** …or at most this long after the kill. */
        maxPostKillMs: 20_000,
        drainMs: 3_000,
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
      idleWaitMs: 10_000,
      l1WaitMs: 45_000,
      kill: {
        rate: 30,
        senders: 40,
        preKillMs: 5_000,
        afterRecoveryMs: 3_000,
        maxPostKillMs: 25_000,
        drainMs: 5_000,
      },
    };

const CHAIN_ID = 42069;
const root = resolve(import.meta.dirname, '..');
const log = (line: string) => process.stderr.write(`${line}\n`);
const round = (x: number, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const fmt = (x: number | null | undefined, d = 0) =>
  x === null || x === undefined || Number.isNaN(x)
    ? '-'
    : x === Number.POSITIVE_INFINITY
      ? '>drain'
      : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

const inboxAbi = l1Artifacts().Inbox.abi as Abi;

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
    viewsLedBy: number[];
    members: Array<{ connected: boolean }>;
  } | null;
  batcher: {
    batches: number;
    blocks: number;
    txs: number;
    compressedBytes: number;
    l1Gas: string;
    postedTo: number;
  } | null;
}

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
      if (attempt >= 3 || !/EADDRINUSE|address already in use/i.test((err as Error).message)) throw err;
      log(`[${mode}] a port was taken while the devnet started; again with new ports`);
    }
  }
}

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
    'warn',
    ...(mode === 'single'
      ? ['--block-time', '0']
      : ['--nodes', String(n), '--election', mode, '--p2p-port', String(ports.p2p)]),
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
    if (n > 1) await waitConnected(d);
    d.startupSeconds = round((performance.now() - t0) / 1000, 1);
    return d;
  } catch (err) {
    await stopDevnet({ proc, dataDir, pids }).catch(() => {});
    throw err;
  }
}

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
  rmSync(d.dataDir, { recursive: true, force: true, maxRetries: 3 });
  for (const e of running) if (e.proc === p) running.delete(e);
  return p.exitCode;
}

// ---- the L1 Inbox, seen from the client ----

/** Polls the Inbox's nextBlock() every 100 ms: when this client first saw each L2 block on L1. */
class InboxTracker {
  /** L2 height → performance.now() of the first poll that found the Inbox past it. */
  readonly onL1At = new Map<number, number>();
  covered = 0;
  polls = 0;
  errors = 0;
  private timer?: NodeJS.Timeout;
  private busy = false;

  constructor(
    private readonly pub: PublicClient,
    private readonly inbox: Address,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), 100);
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
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
  hash: Hex;
  /** The Inbox function called: postBatch (single key) or postCertifiedBatch (committee proof). */
  fn: string;
  reverted: boolean;
  gasUsed: number;
  firstBlock: number | null;
  lastBlock: number | null;
}

/** Every L1 tx to the Inbox in blocks [from, to], with its receipt and BatchPosted event. */
async function inboxPosts(pub: PublicClient, inbox: Address, from: number, to: number): Promise<InboxPost[]> {
  const posts: InboxPost[] = [];
  const target = inbox.toLowerCase();
  for (let b = from; b <= to; b += 16) {
    const blocks = await Promise.all(
      range(b, Math.min(16, to - b + 1)).map((k) =>
        pub.getBlock({ blockNumber: BigInt(k), includeTransactions: true }),
      ),
    );
    for (const block of blocks) {
      for (const tx of block.transactions) {
        if (tx.to?.toLowerCase() !== target) continue;
        const receipt = await pub.getTransactionReceipt({ hash: tx.hash });
        let fn = 'unknown';
        try {
          fn = decodeFunctionData({ abi: inboxAbi, data: tx.input }).functionName;
        } catch {
          // not an Inbox call we know
        }
        const ev = parseEventLogs({ abi: inboxAbi, eventName: 'BatchPosted', logs: receipt.logs })[0] as
          | { args: { firstBlock: bigint; lastBlock: bigint } }
          | undefined;
        posts.push({
          l1Block: Number(block.number),
          hash: tx.hash,
          fn,
          reverted: receipt.status !== 'success',
          gasUsed: Number(receipt.gasUsed),
          firstBlock: ev ? Number(ev.args.firstBlock) : null,
          lastBlock: ev ? Number(ev.args.lastBlock) : null,
        });
      }
    }
  }
  return posts;
}

interface GasSummary {
  batches: number;
  gasUsed: number;
  gasPerBatch: number | null;
  l2Blocks: number;
  l2Txs: number;
  l2TxsPerBatch: number | null;
  gasPerL2Tx: number | null;
  functions: string[];
}

function gasSummary(posts: InboxPost[], txCount: Map<number, number>): GasSummary {
  const ok = posts.filter((p) => !p.reverted && p.firstBlock !== null && p.lastBlock !== null);
  const gas = ok.reduce((s, p) => s + p.gasUsed, 0);
  let l2Blocks = 0;
  let l2Txs = 0;
  for (const p of ok)
    for (let k = p.firstBlock!; k <= p.lastBlock!; k++) {
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
    functions: [...new Set(ok.map((p) => p.fn))],
  };
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
            views: Number(c1.view) - Number(c0.view),
            viewsPerSecond: round((Number(c1.view) - Number(c0.view)) / wall),
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
  /** Scheduled send → the Inbox past the tx's L2 block. */
  sendToL1Ms: LatencyStats;
  /** newHeads of the tx's block (at the node it was sent to) → the Inbox past that block. */
  preconfToL1Ms: LatencyStats;
  waitedAfterOpenLoopMs: number;
}

async function l1Inclusion(h: Harness, run: LoadRun): Promise<L1Inclusion> {
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
    waitedAfterOpenLoopMs: waited,
  };
  log(
    `  to L1: ${r.onL1}/${r.txs} open-loop txs on L1, send → L1 p50 ${fmt(r.sendToL1Ms.p50)} ms, p99 ${fmt(r.sendToL1Ms.p99)} ms (waited ${fmt(waited)} ms after the open loop)`,
  );
  return r;
}

// ---- leader kill ----

interface LeaderKill {
  killedMember: number;
  /** Status of the node asked (a live one) just before the kill. */
  viewAtKill: string;
  /** The leader a surviving node names once the load has ended, and its view. */
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
  /** Largest gap between consecutive blocks at the survivor from the kill to the end of the load. */
  maxGapAfterKillMs: number | null;
  preKill: { loadMs: number; blocks: number; txs: number; firstLoadBlockMs: number | null };
  postKillTxs: { sent: number; committed: number; latencyMs: LatencyStats };
  load: string;
}

async function leaderKill(h: Harness): Promise<LeaderKill> {
  const kc = config.kill;
  await waitIdle(h, config.idleWaitMs);
  const total = Math.round((kc.rate * (kc.preKillMs + 15_000 + kc.maxPostKillMs + 5_000)) / 1000);
  const txs = await signOver(killGroup, total);
  let killAt = Number.NaN;
  let killed = -1;
  let survivor = -1;
  let viewAtKill = '';
  let ledAtKill: number[] | null = null;
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
    while (performance.now() < waitEnd) {
      const bs = loaded();
      if (bs.length >= 3 && performance.now() - bs[bs.length - 1].firstAt < 1_000) break;
      await sleep(50);
    }
    const first = loaded()[0];
    firstLoadBlockMs = first ? round(first.firstAt - loadStart) : null;
    const st = await nodeStatus(h.d.urls[0]);
    killed = st.consensus!.leader;
    viewAtKill = st.consensus!.view;
    survivor = range(0, h.n).find((i) => i !== killed)!;
    ledAtKill = (await nodeStatus(h.d.urls[survivor])).consensus!.viewsLedBy;
    const pid = h.d.pids[killed];
    if (pid === undefined) throw new Error(`no pid for member ${killed} in devnet.json`);
    h.down.add(killed);
    h.watcher.drop(killed);
    killAt = performance.now();
    process.kill(pid, 'SIGKILL');
    while (!isDead(pid)) await sleep(5);
    log(
      `  SIGKILL member ${killed} (leader of view ${viewAtKill}) after ${((killAt - loadStart) / 1000).toFixed(1)} s of load`,
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
    drainMs: kc.drainMs,
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
  const after = atSurvivor.filter((b) => b.at >= killAt);
  const firstPost = after.find((b) => b.txs.some((x) => postKill.has(x)));
  const inLoad = after.filter((b) => b.at <= run.sendEnd);
  let maxGap = 0;
  let prev = before?.at ?? killAt;
  for (const b of inLoad) {
    maxGap = Math.max(maxGap, b.at - prev);
    prev = b.at;
  }
  const post = run.samples.filter((s) => s.sentAt !== undefined && s.sentAt >= killAt);
  const postConfirmed = post.filter((s) => s.inclusion);
  const pre = h.watcher.committedBetween(run.t0, killAt);
  const ledAtEnd = endStatus?.consensus?.viewsLedBy;
  const r: LeaderKill = {
    killedMember: killed,
    viewAtKill,
    leaderAtEnd: endStatus?.consensus?.leader ?? null,
    viewAtEnd: endStatus?.consensus?.view ?? null,
    viewsLedByAfterKill: ledAtEnd && ledAtKill ? ledAtEnd.map((v, i) => v - (ledAtKill?.[i] ?? 0)) : null,
    survivor,
    gapMs: before && after[0] ? round(after[0].at - before.at) : null,
    lastBlockBeforeKillMs: before ? round(killAt - before.at) : null,
    killToFirstBlockMs: after[0] ? round(after[0].at - killAt) : null,
    killToFirstPostKillTxBlockMs: firstPost ? round(firstPost.at - killAt) : null,
    maxGapAfterKillMs: inLoad.length ? round(maxGap) : null,
    preKill: { loadMs: round(killAt - run.t0), blocks: pre.blocks, txs: pre.txs, firstLoadBlockMs },
    postKillTxs: {
      sent: post.length,
      committed: postConfirmed.length,
      latencyMs: latencyStats(
        postConfirmed.map((s) => s.inclusion!.announcedAt - s.startAt),
        post.length - postConfirmed.length,
      ),
    },
    load: `${kc.rate} tx/s open loop from ${kc.senders} senders, each to one node (none to the killed one after the kill); the kill after ≥ ${kc.preKillMs} ms of steady load; load until ${kc.afterRecoveryMs} ms after the first block holding a post-kill tx (at most ${kc.maxPostKillMs} ms after the kill)`,
  };
  log(
    `  leader kill: gap ${fmt(r.gapMs)} ms, kill → first block ${fmt(r.killToFirstBlockMs)} ms, kill → first block with a post-kill tx ${fmt(r.killToFirstPostKillTxBlockMs)} ms, max gap after ${fmt(r.maxGapAfterKillMs)} ms; leader now member ${r.leaderAtEnd ?? '-'}; ${postConfirmed.length}/${post.length} post-kill txs committed`,
  );
  return r;
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
    /** Reverted L1 txs to the Inbox over the whole run. */
    wasted: { revertedPosts: number; gas: number; hashes: Hex[] };
    /**
     * Node 0's own batcher counters (successful posts since it started), read before the kill, and
     * the txs the chain executed in blocks 1..postedTo (its `txs` counts the sequenced blocks' txs).
     */
    batcherStatus: (NonNullable<NodeStatus['batcher']> & { executedTxsInPostedBlocks: number }) | null;
    /** Every L1 tx to the Inbox, with the txs executed in its L2 block range. */
    posts: Array<InboxPost & { l2Txs: number | null }>;
  } | null;
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
      tracker: new InboxTracker(pub, inbox),
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
      drainMs: config.drainMs,
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

    // 4: the leader kill (last: node 0, the batcher, may be the one killed).
    if (n > 1) result.leaderKill = await leaderKill(h);
    else
      result.leaderKillSkipped =
        'a single sequencer has no other node to take over: killing it stops the chain until it restarts';

    // 3: L1 gas, from every L1 tx to the Inbox during the run.
    const l1End = await l1Head(h);
    const posts = await inboxPosts(pub, inbox, 0, l1End);
    const maxLast = Math.max(0, ...posts.map((p) => p.lastBlock ?? 0));
    const counts = await l2TxCounts(h.rpcs[liveIndex(h)], maxLast);
    const firstL1 = posts.length ? posts[0].l1Block : 0;
    const inOpen = posts.filter((p) => p.l1Block >= l1OpenStart && p.l1Block <= l1OpenEnd);
    const reverted = posts.filter((p) => p.reverted);
    result.l1Gas = {
      openLoopWindow: { ...gasSummary(inOpen, counts), l1Blocks: [l1OpenStart, l1OpenEnd] },
      wholeRun: { ...gasSummary(posts, counts), l1Blocks: [firstL1, l1End] },
      wasted: {
        revertedPosts: reverted.length,
        gas: reverted.reduce((s, p) => s + p.gasUsed, 0),
        hashes: reverted.map((p) => p.hash).slice(0, 10),
      },
      batcherStatus: batcherStatus && {
        ...batcherStatus,
        executedTxsInPostedBlocks: range(1, batcherStatus.postedTo).reduce(
          (t, k) => t + (counts.get(k) ?? 0),
          0,
        ),
      },
      posts: posts.map((p) => ({
        ...p,
        l2Txs:
          p.firstBlock === null || p.lastBlock === null
            ? null
            : range(p.firstBlock, p.lastBlock - p.firstBlock + 1).reduce(
                (t, k) => t + (counts.get(k) ?? 0),
                0,
              ),
      })),
    };
    const g = result.l1Gas;
    log(
      `  L1 gas: ${g.wholeRun.batches} batches (${g.wholeRun.functions.join(', ')}), ${fmt(g.wholeRun.gasPerBatch)} gas per batch, ${fmt(g.wholeRun.gasPerL2Tx)} per L2 tx over the run (${fmt(g.openLoopWindow.gasPerL2Tx)} in the open loop's window); reverted posts ${g.wasted.revertedPosts} (${fmt(g.wasted.gas)} gas)`,
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
      'wasted gas',
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
      r.l1Gas ? `${fmt(r.l1Gas.wasted.gas)} (${r.l1Gas.wasted.revertedPosts})` : '-',
      k ? fmt(k.gapMs) : 'n/a',
      k ? fmt(k.maxGapAfterKillMs) : 'n/a',
      k ? fmt(k.killToFirstPostKillTxBlockMs) : 'n/a',
      k ? `member ${k.killedMember}` : 'n/a',
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) =>
    r.map((cell, c) => (c < 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '),
  );
  lines.splice(1, 0, widths.map((x) => '-'.repeat(x)).join('  '));
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
          'per mode a fresh `seqnet devnet` process (detached, its own process group) on a fresh data dir with the embedded L1 (anvil, 1 s blocks); single = `devnet --block-time 0`; poa/pos/dpos/auction = `devnet --nodes 4 --election MODE` (4 node processes, libp2p on loopback, BLS votes; pos/dpos/auction: election contracts deployed and seeded by the devnet: stakes 1..4 ETH, dpos candidates with delegated votes, member 1 wins the auctions of epochs 0-9); mempool limits raised as in bench/run.ts; all on this machine with the client',
        client:
          'one Node process; pre-signed EIP-1559 ETH transfers (bench/lib/txs.ts) sent raw with eth_sendRawTransaction over keep-alive HTTP to every node: sender s always to node s mod n; the same signed txs in every mode',
        preconfirmation:
          'scheduled send (open loop) or send (closed loop) → the newHeads notification (WebSocket subscription on every node) of the block holding the tx, at the node it was sent to; a committee node announces a block once it is committed, executed and persisted',
        committedTxPerSecond: `txs in blocks first announced in [first send + ${config.windowSkipMs} ms, last send) / that window`,
        unconfirmed: `txs not in a block ${config.drainMs} ms after the last send count as slower than every confirmed one (a percentile among them is null)`,
        toL1: "open-loop txs: scheduled send → the first 100 ms poll of the L1 Inbox nextBlock() past the tx's L2 block (a batch with lastBlock ≥ that block is on L1); node 0 posts batches (brotli calldata, every 2 s when there are blocks); committees post postCertifiedBatch with the commit proof, checked on L1 by the CommitteeVerifier",
        l1Gas:
          "every L1 tx to the Inbox from L1 block 0 to the end of the mode (all blocks scanned), with its receipt; gasUsed per successful batch and per L2 tx in its block range (eth_getBlockTransactionCountByNumber); openLoopWindow: batches in L1 blocks from the open loop's start until its txs were on L1; wasted: reverted Inbox txs",
        leaderKill:
          'committees only: under the kill load, the member seqnet_status (node 0) names as the leader of the current view is SIGKILLed; blocks as announced (newHeads) at the lowest-numbered surviving node; gap = last block before the kill → first after it. The leader rotates each view in poa (and by stake in pos/dpos): the killed member is the leader at the moment of the read, its next views time out. In auction member 1 leads every view: its kill makes the schedule depose the winner after 3 failed views',
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
