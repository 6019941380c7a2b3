import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitForRpc } from '../../src/l1/anvil.js';
import { until } from './wait.js';

const root = resolve(import.meta.dirname, '../..');

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

function canBind(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

/**
 * The first of `n` consecutive ports that are all free now (a committee devnet uses base + i). They
 * are drawn below Linux's ephemeral range (32768–60999): there, any outgoing connection of another
 * process (libp2p dials) can take a probed port before the node listens on it.
 */
export async function freeConsecutivePorts(n: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 10_000 + Math.floor(Math.random() * (22_000 - n));
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await canBind(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${n} consecutive free ports found`);
}

export interface DevnetProcess {
  url: string;
  wsUrl: string;
  dataDir: string;
  proc: ChildProcess;
  output: () => string;
  /** SIGINT and wait for a clean exit. */
  stop(): Promise<number | null>;
  /** Send a signal (e.g. SIGKILL) and wait for the process to end. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

export interface DevnetOptions {
  dataDir?: string;
  rpcPort?: number;
  blockTime?: number;
  /** Start the embedded anvil L1 too (slower); off by default in tests that do not need it. */
  l1?: boolean;
  /** The L1's port (default: a free one). */
  l1Port?: number;
  args?: string[];
  /** How long to wait for the RPC (a committee of processes takes longer to start). */
  readyTimeoutMs?: number;
  /** Extra environment (e.g. a SEQNET_FAULT_* fault injection). */
  env?: Record<string, string>;
  /** The checkout whose node runs (default: this one; a benchmark may compare another). */
  root?: string;
}

/** Starts `seqnet devnet` as a real child process and waits until its RPC answers. */
export async function startDevnet(opts: DevnetOptions = {}): Promise<DevnetProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'seqnet-test-'));
  const rpcPort = opts.rpcPort ?? (await freePort());
  const args = [
    '--import',
    'tsx',
    join(opts.root ?? root, 'src/cli/main.ts'),
    'devnet',
    '--data-dir',
    dataDir,
    '--rpc-port',
    String(rpcPort),
    '--block-time',
    String(opts.blockTime ?? 0),
    '--log-level',
    'warn',
    ...(opts.l1 ? ['--l1-port', String(opts.l1Port ?? (await freePort()))] : ['--no-l1']),
    ...(opts.args ?? []),
  ];
  const proc = spawn(process.execPath, args, {
    cwd: opts.root ?? root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let out = '';
  proc.stdout?.on('data', (d) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d) => {
    out += d.toString();
  });
  const url = `http://127.0.0.1:${rpcPort}`;
  const exited = new Promise<never>((_, reject) =>
    proc.once('exit', (code) => reject(new Error(`devnet exited with ${code}:\n${out.slice(-3000)}`))),
  );
  exited.catch(() => {});
  await Promise.race([waitForRpc(url, opts.readyTimeoutMs ?? 60_000), exited]);
  const ended = () =>
    new Promise<void>((res) =>
      proc.exitCode !== null || proc.signalCode !== null ? res() : proc.once('exit', () => res()),
    );
  return {
    url,
    wsUrl: url.replace('http', 'ws'),
    dataDir,
    proc,
    output: () => out,
    async stop() {
      proc.kill('SIGINT');
      await ended();
      return proc.exitCode;
    },
    async kill(signal) {
      proc.kill(signal);
      await ended();
    },
  };
}

/** Raw JSON-RPC call (for cases a client library would refuse to send). */
export async function rpcCall(
  url: string,
  body: unknown,
): Promise<{ status: number; json: unknown; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

/**
 * Waits for a multi-node devnet's devnet.json (written once every node answers) and parses it as `T`
 * (each test names the fields it reads).
 */
export async function devnetInfo<T>(devnet: DevnetProcess, timeoutMs = 200_000): Promise<T> {
  return until(
    'devnet.json',
    async () => {
      try {
        return JSON.parse(readFileSync(join(devnet.dataDir, 'devnet.json'), 'utf8')) as T;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
  );
}

/** What the open-mode tests read from devnet.json. */
export interface OpenDevnetInfo {
  nodes: Array<{ rpc: string; posts?: boolean; preconfirms?: boolean }>;
  l1: { rpc: string; contracts: Record<string, `0x${string}`> };
}

/**
 * `seqnet devnet --nodes N --election based|free` with its embedded L1 on free ports, `extra` flags
 * passed on; resolves once devnet.json is written.
 */
export async function startOpenDevnet(
  mode: 'based' | 'free',
  nodes: number,
  extra: string[] = [],
): Promise<{ devnet: DevnetProcess; info: OpenDevnetInfo }> {
  const base = await freeConsecutivePorts(nodes + 3);
  const devnet = await startDevnet({
    l1: true,
    l1Port: base + nodes + 2,
    rpcPort: base,
    args: ['--nodes', String(nodes), '--election', mode, '--p2p-port', String(base + nodes), ...extra],
    readyTimeoutMs: 200_000,
  });
  return { devnet, info: await devnetInfo<OpenDevnetInfo>(devnet) };
}

/**
 * A running process's command line and environment, read from Linux's /proc: what a test needs to
 * start a devnet's node again as the devnet started it (its data dir, ports and L1 key) after a kill.
 */
export function processLaunch(pid: number): { argv: string[]; env: Record<string, string> } {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const env = Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  return { argv, env };
}
