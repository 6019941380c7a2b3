import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { anvilBinary, waitForRpc } from '../../src/l1/anvil.js';
import { seqnetVersion } from './results.js';

const root = resolve(import.meta.dirname, '../..');

/** Every child this process started, so that an error or Ctrl-C still ends them. */
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** Synchronous, so it can run in an 'exit' handler. */
export function killAllChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}

export interface ChainProcess {
  name: 'seqnet' | 'anvil';
  url: string;
  wsUrl: string;
  command: string[];
  version: string;
  /** Last lines of the process's output, for error messages. */
  outputTail(): string;
  /** CPU seconds (user + system, all threads) the process has used so far; undefined off Linux. */
  cpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

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

async function launch(
  name: ChainProcess['name'],
  bin: string,
  args: string[],
  port: number,
  version: string,
  cleanup: () => void,
): Promise<ChainProcess> {
  const proc = spawn(bin, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) => {
    proc.once('error', (err) => reject(new Error(`could not start ${name} (${bin}): ${err.message}`)));
    proc.once('exit', (code, signal) =>
      reject(new Error(`${name} exited (${code ?? signal}) before answering:\n${out.slice(-3000)}`)),
    );
  });
  exited.catch(() => {});
  try {
    await Promise.race([waitForRpc(url, 90_000), exited]);
  } catch (err) {
    proc.kill('SIGKILL');
    children.delete(proc);
    cleanup();
    throw err;
  }
  const ended = new Promise<void>((res) => proc.once('exit', () => res()));
  return {
    name,
    url,
    wsUrl: url.replace('http', 'ws'),
    command: [bin, ...args],
    version,
    outputTail: () => out.slice(-3000),
    cpuSeconds: () => (proc.pid === undefined ? undefined : processCpuSeconds(proc.pid)),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGINT');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await ended;
        clearTimeout(timer);
      }
      children.delete(proc);
      cleanup();
    },
  };
}

let clockTicks: number | undefined;

/** utime + stime from /proc/<pid>/stat, in seconds: where the chain's CPU went, threads included. */
function processCpuSeconds(pid: number): number | undefined {
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}

/** Mempool limits raised so the pool never rejects the benchmark's backlog (defaults are geth's). */
const seqnetMempoolFlags = [
  '--mempool.max-pending-per-sender',
  '100000',
  '--mempool.max-pending',
  '1000000',
  '--mempool.max-queued',
  '1000000',
  '--mempool.max-queued-per-sender',
  '100000',
];

/** `seqnet devnet` as a real process on a fresh data dir, no L1, a block as soon as txs arrive. */
export async function startSeqnet(opts: { cpuProfDir?: string } = {}): Promise<ChainProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'seqnet-bench-'));
  tempDirs.add(dataDir);
  const port = await freePort();
  const args = [
    ...(opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', resolve(opts.cpuProfDir)] : []),
    // SEQNET_BENCH_NODE_FLAGS: extra node/V8 flags for the seqnet process, for A/B runs.
    ...(process.env.SEQNET_BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? []),
    '--import',
    'tsx',
    'src/cli/main.ts',
    'devnet',
    '--no-l1',
    '--block-time',
    '0',
    '--data-dir',
    dataDir,
    '--rpc-port',
    String(port),
    '--log-level',
    'warn',
    ...seqnetMempoolFlags,
  ];
  return launch('seqnet', process.execPath, args, port, seqnetVersion(root), () => {
    rmSync(dataDir, { recursive: true, force: true });
    tempDirs.delete(dataDir);
  });
}

/**
 * The peer: anvil with automine (no --block-time). anvil 1.7.1's automine stalls once ≥1000 txs are
 * pending unless blocks may hold them all, hence --max-transactions and --disable-block-gas-limit.
 * --quiet because seqnet runs at --log-level warn too.
 */
export async function startAnvil(chainId: number): Promise<ChainProcess> {
  const port = await freePort();
  const bin = anvilBinary();
  const args = [
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--chain-id',
    String(chainId),
    '--hardfork',
    'prague',
    '--accounts',
    '10',
    '--balance',
    '10000',
    '--max-transactions',
    '100000',
    '--disable-block-gas-limit',
    '--quiet',
  ];
  let version = 'anvil';
  try {
    version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();
  } catch {
    // reported as plain "anvil"
  }
  return launch('anvil', bin, args, port, version, () => {});
}
