import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitForRpc } from '../../src/l1/anvil.js';
import { PORT_TAKEN } from '../../src/util/ports.js';
import { freePort, rpcCall } from './devnet.js';
import { until } from './wait.js';

const root = resolve(import.meta.dirname, '../..');

export interface CommitteeNodeProcess {
  index: number;
  url: string;
  dataDir: string;
  proc: ChildProcess;
  output: () => string;
}

export interface TestCommittee {
  nodes: CommitteeNodeProcess[];
  committeeFile: string;
  members: Array<{ blsPublicKey: string; peerId: string }>;
  /**
   * Starts (or restarts) node i with the same data dir, ports and committee file; `env` and `args` are
   * added for this start only (fault injection, a log level).
   */
  start(i: number, extra?: { env?: Record<string, string>; args?: string[] }): Promise<CommitteeNodeProcess>;
  kill(i: number, signal: NodeJS.Signals): Promise<void>;
  /**
   * Starts a follower (`seqnet node --committee FILE --follow`) with keys of its own, not in the
   * committee file; stopped by stopAll too.
   */
  startFollower(extraArgs?: string[]): Promise<CommitteeNodeProcess>;
  /** Starts follower k again (after stopFollowers) on its data dir, ports and flags. */
  restartFollower(k: number): Promise<CommitteeNodeProcess>;
  /** SIGTERMs the followers and waits for them to exit. */
  stopFollowers(): Promise<void>;
  stopAll(): Promise<void>;
}

/**
 * n real `seqnet node --committee` processes on loopback, each with keys made by `seqnet keys`.
 * Ports are picked free and then bound by the members, so another process (or one of the members'
 * own outgoing connections) can take one in between: on EADDRINUSE (or the node's "the RPC port … is
 * in use") the committee starts again with new ports and keys, a few times (as
 * bench/lib/committee-cluster.ts does).
 */
export async function startCommittee(n: number, extraArgs: string[] = []): Promise<TestCommittee> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startCommitteeOnce(n, extraArgs);
    } catch (err) {
      if (attempt >= 3 || !PORT_TAKEN.test((err as Error).message)) throw err;
    }
  }
}

async function startCommitteeOnce(n: number, extraArgs: string[]): Promise<TestCommittee> {
  const base = mkdtempSync(join(tmpdir(), 'seqnet-committee-'));
  const members: Array<{ blsPublicKey: string; peerId: string }> = [];
  const ports: Array<{ rpc: number; p2p: number }> = [];
  for (let i = 0; i < n; i++) {
    const k = keysFor(join(base, `n${i}`));
    members.push({ blsPublicKey: k.blsPublicKey, peerId: k.peerId });
    ports.push({ rpc: await freePort(), p2p: await freePort() });
  }
  const committeeFile = join(base, 'committee.json');
  writeFileSync(
    committeeFile,
    JSON.stringify({
      members,
      bootnodes: members.map((m, i) => `/ip4/127.0.0.1/tcp/${ports[i].p2p}/p2p/${m.peerId}`),
    }),
  );
  const nodes: CommitteeNodeProcess[] = [];
  const followers: CommitteeNodeProcess[] = [];
  const followerStarts: Array<{ dataDir: string; rpcPort: number; flags: string[]; args: string[] }> = [];
  const c: TestCommittee = {
    nodes,
    committeeFile,
    members,
    async start(i, extra) {
      const dataDir = join(base, `n${i}`);
      // The last member runs from a config file (committee, listen address, ports), the rest from flags.
      const configFile = join(base, `n${i}.json`);
      if (i === n - 1)
        writeFileSync(
          configFile,
          JSON.stringify({
            dataDir,
            rpcPort: ports[i].rpc,
            committee: committeeFile,
            p2pListen: `/ip4/127.0.0.1/tcp/${ports[i].p2p}`,
          }),
        );
      const flags =
        i === n - 1
          ? ['--config', configFile]
          : [
              '--data-dir',
              dataDir,
              '--rpc-port',
              String(ports[i].rpc),
              '--committee',
              committeeFile,
              '--p2p-listen',
              `/ip4/127.0.0.1/tcp/${ports[i].p2p}`,
            ];
      const node = await spawnNode(
        { name: `n${i}`, index: i, dataDir, rpcPort: ports[i].rpc, env: extra?.env },
        flags,
        [...extraArgs, ...(extra?.args ?? [])],
      );
      nodes[i] = node;
      return node;
    },
    async kill(i, signal) {
      const p = nodes[i].proc;
      if (p.exitCode !== null || p.signalCode !== null) return;
      const ended = new Promise<void>((res) => p.once('exit', () => res()));
      p.kill(signal);
      // A member a test stopped (SIGSTOP) handles SIGTERM only once it runs again.
      if (signal === 'SIGTERM') p.kill('SIGCONT');
      await ended;
    },
    async startFollower(args = []) {
      const k = followers.length;
      const dataDir = join(base, `follower${k}`);
      keysFor(dataDir);
      const port = { rpc: await freePort(), p2p: await freePort() };
      const flags = [
        '--data-dir',
        dataDir,
        '--rpc-port',
        String(port.rpc),
        '--committee',
        committeeFile,
        '--p2p-listen',
        `/ip4/127.0.0.1/tcp/${port.p2p}`,
        '--follow',
      ];
      followerStarts.push({ dataDir, rpcPort: port.rpc, flags, args: [...extraArgs, ...args] });
      return c.restartFollower(k);
    },
    async restartFollower(k) {
      const { dataDir, rpcPort, flags, args } = followerStarts[k];
      const node = await spawnNode({ name: `follower${k}`, index: n + k, dataDir, rpcPort }, flags, args);
      followers[k] = node;
      return node;
    },
    async stopFollowers() {
      await Promise.all(
        followers.map(async (f) => {
          if (f.proc.exitCode !== null || f.proc.signalCode !== null) return;
          const ended = new Promise<void>((res) => f.proc.once('exit', () => res()));
          f.proc.kill('SIGTERM');
          await ended;
        }),
      );
    },
    async stopAll() {
      await c.stopFollowers();
      await Promise.all(nodes.map((_, i) => c.kill(i, 'SIGTERM')));
    },
  };
  try {
    await Promise.all(members.map((_, i) => c.start(i)));
  } catch (err) {
    await c.stopAll();
    throw err;
  }
  return c;
}

/** `seqnet keys --data-dir DIR`: the node's BLS public key and libp2p peer id. */
function keysFor(dataDir: string): { blsPublicKey: string; peerId: string } {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'keys', '--data-dir', dataDir],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`seqnet keys failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { blsPublicKey: string; peerId: string };
}

/**
 * Spawns `seqnet node` with `flags`, then `--log-level` and `args` (which may override it), and waits
 * for its RPC; `name` names its log (SEQNET_TEST_LOG_DIR).
 */
async function spawnNode(
  at: { name: string; index: number; dataDir: string; rpcPort: number; env?: Record<string, string> },
  flags: string[],
  args: string[],
): Promise<CommitteeNodeProcess> {
  const { name, index, dataDir, rpcPort } = at;
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'node',
      ...flags,
      '--log-level',
      process.env.SEQNET_TEST_LOG_LEVEL ?? 'warn',
      ...args,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...at.env } },
  );
  let out = '';
  // To diagnose a failure: SEQNET_TEST_LOG_DIR=DIR keeps each node's whole log in DIR/<name>.log,
  // and SEQNET_TEST_LOG_LEVEL=debug shows views, timeouts and syncs.
  const logDir = process.env.SEQNET_TEST_LOG_DIR;
  const keep = (d: Buffer) => {
    out += d.toString();
    if (logDir) appendFileSync(join(logDir, `${name}.log`), d);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${rpcPort}`;
  const exited = new Promise<never>((_, reject) =>
    proc.once('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${out.slice(-3000)}`))),
  );
  exited.catch(() => {});
  const node = { index, url, dataDir, proc, output: () => out };
  await Promise.race([waitForRpc(url, 120_000), exited]);
  return node;
}

export interface ConsensusStatus {
  head: number;
  consensus: {
    view: string;
    leader: number;
    highQcView: string;
    committedHeight: number;
    evidence: number;
    members: Array<{ connected: boolean }>;
    safety: { lastVotedView: string };
    blockSync: {
      syncs: number;
      historyAgreed: number;
      last: null | { height: number; history: string };
      blocks: number;
      failedRequests: number;
      failedAttempts: number;
      lastError: null | string;
      fetchesLeftToSync: number;
    };
    leadersUnknownUntil: string;
    disconnectTimeouts: number;
    outputs: null | { signed: number; refused: number; certified: number; disagreed: number };
  };
}

export async function statusOf(url: string): Promise<ConsensusStatus> {
  const r = await rpcCall(url, { jsonrpc: '2.0', id: 1, method: 'seqnet_status', params: [] });
  return (r.json as { result: ConsensusStatus }).result;
}

/** Waits until every member of `c` is connected to every other (a full mesh: one gossip hop). */
export async function untilFullyConnected(c: TestCommittee, timeoutMs: number): Promise<void> {
  await until(
    `a fully connected committee of ${c.nodes.length}`,
    async () => {
      const s = await Promise.all(c.nodes.map((x) => statusOf(x.url)));
      return s.every((x) => x.consensus.members.every((m) => m.connected)) ? true : undefined;
    },
    timeoutMs,
  );
}
