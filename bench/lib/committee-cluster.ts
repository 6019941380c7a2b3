/**
 * Committees of real `seqnet node --committee` processes on loopback for bench/committee.ts, the way
 * test/helpers/committee.ts starts them (not imported: bench code does not depend on test/), and the
 * committee of one as bench/run.ts runs it (`seqnet devnet --no-l1 --block-time 0`).
 *
 * Every process and temp dir is registered, so `killAllClusters()` (synchronous, for 'exit' handlers)
 * ends them all with SIGKILL and removes the dirs whatever went wrong.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RecentViewStats } from '../../src/consensus/driver/view-timeout.js';
import { waitForRpc } from '../../src/l1/anvil.js';
import { loadOrCreateKeys } from '../../src/node/keys.js';
import { loadOrCreateNodeKey, nodeKeyPath } from '../../src/p2p/keys.js';
import { PORT_TAKEN } from '../../src/util/ports.js';
import { freePort } from './chains.js';

const root = resolve(import.meta.dirname, '../..');

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** True once pid has exited (gone, or a zombie not reaped yet: it holds no files any more). */
function isDead(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/**
 * Runs a benchmark's main and exits: 0 once it is done, 1 with its error on stderr; either way the
 * nodes it started are killed and their data dirs removed first.
 */
export function runClusterBench(name: string, main: () => Promise<void>): void {
  main()
    .then(() => {
      killAllClusters();
      process.exit(0);
    })
    .catch((err) => {
      process.stderr.write(`${name} benchmark failed: ${(err as Error).stack ?? err}\n`);
      killAllClusters();
      process.exit(1);
    });
}

/**
 * SIGKILLs every node this process started, waits (up to 3 s) until they are dead, so that none
 * writes into its data dir after the removal, and removes the dirs. Synchronous, for 'exit' handlers.
 */
export function killAllClusters(): void {
  const pids: number[] = [];
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    c.kill('SIGKILL');
    if (c.pid !== undefined) pids.push(c.pid);
  }
  const tick = new Int32Array(new SharedArrayBuffer(4));
  const end = Date.now() + 3_000;
  while (pids.some((p) => !isDead(p)) && Date.now() < end) Atomics.wait(tick, 0, 0, 10);
  for (const d of tempDirs) {
    try {
      rmSync(d, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // best effort: nothing else can be done in an exit handler
    }
  }
}

/**
 * For a look at what the members did: SEQNET_BENCH_LOG_DIR=dir writes each member's log there, at
 * SEQNET_BENCH_LOG_LEVEL (default warn, as without the dir).
 */
const logDir = process.env.SEQNET_BENCH_LOG_DIR;
const logLevel = process.env.SEQNET_BENCH_LOG_LEVEL ?? 'warn';

/** As bench/lib/chains.ts: the pools never refuse the benchmark's backlog (defaults are geth's). */
export const mempoolFlags = [
  '--mempool.max-pending-per-sender',
  '100000',
  '--mempool.max-pending',
  '1000000',
  '--mempool.max-queued',
  '1000000',
  '--mempool.max-queued-per-sender',
  '100000',
];

export interface ConsensusStatus {
  head: number;
  mempool: { pending: number; queued: number };
  consensus: {
    view: string;
    leader: number;
    highQcView: string;
    committedHeight: number;
    evidence: number;
    timeoutsSigned: number;
    proposals: number;
    members: Array<{ connected: boolean }>;
    /** The member's view timeout now (adaptive under the --view-timeout ceiling). */
    viewTimeoutMs?: number;
    /** What the member's recent views that reached a QC took (what its timeout adapts to). */
    recentViewsMs?: RecentViewStats | null;
  } | null;
}

export interface MemberProcess {
  index: number;
  url: string;
  wsUrl: string;
  dataDir: string;
  proc: ChildProcess;
  /** performance.now() when its RPC first answered. */
  upAt: number;
  output(): string;
}

export interface Cluster {
  /** 1 = the single sequencer (devnet), else a committee of n members. */
  size: number;
  viewTimeoutMs: number | null;
  members: MemberProcess[];
  /** The command line of member 0 (for the report). */
  command: string[];
  /** (Re)starts member i with its data dir, ports and the committee file. */
  start(i: number): Promise<MemberProcess>;
  kill(i: number, signal: NodeJS.Signals): Promise<void>;
  alive(i: number): boolean;
  /** CPU seconds used by all members so far (killed processes included), Linux only. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

let clockTicks: number | undefined;

function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}

export async function rpcCall<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

export const statusOf = (url: string) => rpcCall<ConsensusStatus>(url, 'seqnet_status');

/**
 * Starts `size` members. size 1: `seqnet devnet --no-l1 --block-time 0` (the single sequencer, as
 * bench/run.ts). Otherwise each member's keys are made in its data dir with the functions `seqnet keys`
 * runs (in this process: a `seqnet keys` process costs ~5 s of CPU on this machine), the committee
 * file lists every member and all of them as bootnodes, and the members start in parallel.
 */
export async function startCluster(size: number, viewTimeoutMs?: number): Promise<Cluster> {
  // Ports are picked free and then bound by the members: another process on this shared machine
  // may take one in between (EADDRINUSE). Start again with new ports and keys, a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(size, viewTimeoutMs);
    } catch (err) {
      if (attempt >= 3 || !PORT_TAKEN.test((err as Error).message)) throw err;
    }
  }
}

async function startClusterOnce(size: number, viewTimeoutMs?: number): Promise<Cluster> {
  const base = mkdtempSync(join(tmpdir(), `seqnet-bench-committee${size}-`));
  tempDirs.add(base);
  const ports: Array<{ rpc: number; p2p: number }> = [];
  for (let i = 0; i < size; i++) ports.push({ rpc: await freePort(), p2p: await freePort() });
  let committeeFile: string | undefined;
  if (size > 1) {
    const members: Array<{ blsPublicKey: string; peerId: string }> = [];
    for (let i = 0; i < size; i++) {
      const dir = join(base, `n${i}`);
      const bls = loadOrCreateKeys(dir);
      const p2p = await loadOrCreateNodeKey(nodeKeyPath(dir));
      members.push({ blsPublicKey: bls.blsPublicKey, peerId: p2p.peerId });
    }
    committeeFile = join(base, 'committee.json');
    writeFileSync(
      committeeFile,
      JSON.stringify({
        members,
        bootnodes: members.map((m, i) => `/ip4/127.0.0.1/tcp/${ports[i].p2p}/p2p/${m.peerId}`),
      }),
    );
  }
  const argsFor = (i: number): string[] => {
    const dataDir = join(base, `n${i}`);
    const common = ['--data-dir', dataDir, '--rpc-port', String(ports[i].rpc), '--log-level', logLevel];
    // SEQNET_BENCH_CPU_PROF=DIR: every member writes a V8 CPU profile there when it exits (sampling
    // every SEQNET_BENCH_CPU_PROF_INTERVAL_US, default 1000; profiling a 4-member committee on two
    // cores halves its throughput even at 4000, so read shares, not absolute times).
    // SEQNET_BENCH_CPU_PROF_MEMBERS=2,3: only those members (the others keep their speed).
    const profiled = process.env.SEQNET_BENCH_CPU_PROF_MEMBERS?.split(',').map(Number);
    const prof =
      process.env.SEQNET_BENCH_CPU_PROF && (profiled === undefined || profiled.includes(i))
        ? [
            '--cpu-prof',
            '--cpu-prof-interval',
            process.env.SEQNET_BENCH_CPU_PROF_INTERVAL_US ?? '1000',
            '--cpu-prof-dir',
            process.env.SEQNET_BENCH_CPU_PROF,
          ]
        : [];
    if (size === 1)
      return [
        ...prof,
        '--import',
        'tsx',
        'src/cli/main.ts',
        'devnet',
        '--no-l1',
        '--block-time',
        '0',
        ...common,
        ...mempoolFlags,
      ];
    return [
      ...prof,
      '--import',
      'tsx',
      'src/cli/main.ts',
      'node',
      ...common,
      '--committee',
      committeeFile!,
      '--p2p-listen',
      `/ip4/127.0.0.1/tcp/${ports[i].p2p}`,
      ...(viewTimeoutMs !== undefined ? ['--view-timeout', String(viewTimeoutMs)] : []),
      ...mempoolFlags,
      // SEQNET_BENCH_MEMBER_FLAGS: extra `seqnet node` flags for each committee member (an A/B, e.g.
      // `--fixed-view-timeout`).
      ...(process.env.SEQNET_BENCH_MEMBER_FLAGS?.split(/\s+/).filter(Boolean) ?? []),
    ];
  };
  const members: MemberProcess[] = [];
  /** Every process of this cluster, started or still starting. */
  const mine = new Set<ChildProcess>();
  /** CPU of processes that have exited, so totals survive a kill. */
  let deadCpu = 0;
  const lastCpu = new Map<ChildProcess, number>();
  const cluster: Cluster = {
    size,
    viewTimeoutMs: size > 1 ? (viewTimeoutMs ?? 1000) : null,
    members,
    command: [process.execPath, ...argsFor(0)],
    async start(i) {
      const dataDir = join(base, `n${i}`);
      const proc = spawn(process.execPath, argsFor(i), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(proc);
      mine.add(proc);
      let out = '';
      const keep = (d: Buffer) => {
        out = (out + d.toString()).slice(-20_000);
      };
      proc.stdout?.on('data', keep);
      proc.stderr?.on('data', keep);
      if (logDir) {
        const file = createWriteStream(
          join(logDir, `c${size}-vt${viewTimeoutMs ?? 0}-m${i}-${Date.now()}.log`),
        );
        proc.stdout?.pipe(file);
        proc.stderr?.pipe(file);
      }
      proc.once('exit', () => {
        deadCpu += lastCpu.get(proc) ?? 0;
        lastCpu.delete(proc);
        children.delete(proc);
      });
      const url = `http://127.0.0.1:${ports[i].rpc}`;
      const exited = new Promise<never>((_, reject) => {
        proc.once('error', (err) => reject(new Error(`member ${i} could not start: ${err.message}`)));
        proc.once('exit', (code, signal) =>
          reject(new Error(`member ${i} exited (${code ?? signal}) while starting:\n${out.slice(-3000)}`)),
        );
      });
      exited.catch(() => {});
      await Promise.race([waitForRpc(url, 180_000), exited]);
      const m: MemberProcess = {
        index: i,
        url,
        wsUrl: url.replace('http', 'ws'),
        dataDir,
        proc,
        upAt: performance.now(),
        output: () => out.slice(-3000),
      };
      members[i] = m;
      return m;
    },
    async kill(i, signal) {
      const p = members[i]?.proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const ended = new Promise<void>((res) => p.once('exit', () => res()));
      p.kill(signal);
      await ended;
    },
    alive(i) {
      const p = members[i]?.proc;
      return !!p && p.exitCode === null && p.signalCode === null;
    },
    cpuSeconds() {
      let live = 0;
      for (const m of members) {
        if (!m || !cluster.alive(m.index)) continue;
        const s = processCpuSeconds(m.proc.pid);
        if (s !== undefined) {
          lastCpu.set(m.proc, s);
          live += s;
        }
      }
      return deadCpu + live;
    },
    async stop() {
      await Promise.all(
        members.map(async (m) => {
          if (!m || !cluster.alive(m.index)) return;
          const timer = setTimeout(() => m.proc.kill('SIGKILL'), 10_000);
          await cluster.kill(m.index, 'SIGTERM');
          clearTimeout(timer);
        }),
      );
      rmSync(base, { recursive: true, force: true });
      tempDirs.delete(base);
    },
  };
  try {
    await Promise.all(Array.from({ length: size }, (_, i) => cluster.start(i)));
  } catch (err) {
    await Promise.all(
      [...mine].map(
        (p) =>
          new Promise<void>((res) => {
            if (p.exitCode !== null || p.signalCode !== null) return res();
            p.once('exit', () => res());
            p.kill('SIGKILL');
          }),
      ),
    );
    rmSync(base, { recursive: true, force: true, maxRetries: 3 });
    tempDirs.delete(base);
    throw err;
  }
  return cluster;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `check` returns true; throws with `what` after timeoutMs. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // a member may still be starting
    }
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Every live member sees every other member connected (no-op for the single sequencer). */
export async function waitConnected(c: Cluster, timeoutMs = 60_000): Promise<void> {
  if (c.size === 1) return;
  await until(
    `a fully connected committee of ${c.size}`,
    async () => {
      const s = await Promise.all(c.members.map((m) => statusOf(m.url)));
      return s.every((x) => x.consensus?.members.every((m) => m.connected) ?? false);
    },
    timeoutMs,
  );
}

/** Member i's head is at least every other member's head, as read at the start. */
export async function waitCaughtUp(c: Cluster, i: number, timeoutMs = 120_000): Promise<void> {
  const heads = await Promise.all(
    c.members.filter((m) => m.index !== i).map(async (m) => (await statusOf(m.url)).head),
  );
  const top = Math.max(...heads);
  await until(
    `member ${i} at head ${top}`,
    async () => (await statusOf(c.members[i].url)).head >= top,
    timeoutMs,
  );
}
