import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { devAccounts } from '../execution/genesis.js';
import { waitForRpc } from '../l1/anvil.js';
import type { CommitteeMember } from '../node/committee.js';
import type { ElectionMode } from '../node/election.js';
import { loadOrCreateKeys } from '../node/keys.js';
import { loadOrCreateNodeKey, nodeKeyPath } from '../p2p/keys.js';
import { pollRpc } from '../util/poll-rpc.js';
import { memberL1Account } from './election-devnet.js';

export interface CommitteeDevnetOptions {
  nodes: number;
  dataDir: string;
  rpcHost: string;
  rpcPort: number;
  p2pPort: number;
  /** Flags passed to every `seqnet node` as they are (ordering, mempool limits, log level, …). */
  nodeArgs: string[];
  /** Extra flags for single nodes, by index (fault injection in tests: `--misbehave.equivocate`). */
  perNodeArgs?: Record<number, string[]>;
  /** `--election` of every node (default poa). */
  election?: ElectionMode;
  /** based / free: how many members (the first) post with an L1 key; the rest forward txs to them and certify (default all). */
  posters?: number;
  /** based: the posters opt in to preconfirmations (`seqnet node --preconf`). */
  preconf?: boolean;
  /**
   * Followers (`seqnet node --follow`) beside the committee: follower k keeps its data in
   * `<data-dir>/follower-<k>` and serves RPC on rpc-port + nodes + k (libp2p on p2p-port + nodes + k).
   */
  followers?: number;
  l1?: { rpc: string; deploymentFile: string; confirmations: number };
  step: (msg: string) => void;
}

export interface CommitteeDevnet {
  rpcs: string[];
  committeeFile: string;
  members: Array<CommitteeMember & { rpc: string; p2p: string; dataDir: string; log: string; pid?: number }>;
  followers: Array<{ rpc: string; dataDir: string; log: string; pid?: number }>;
  stop(): Promise<void>;
}

/**
 * `seqnet devnet --nodes N`: N sequencer node processes that form one committee over libp2p on
 * loopback. Keys are made once per node data dir (`<data-dir>/node-<i>`), the committee file is
 * written to `<data-dir>/committee.json`, and node i serves RPC on rpc-port + i. Node 0 posts batches.
 */
/** Keys (made once per node data dir) and addresses of the devnet's committee members. */
export async function prepareCommitteeMembers(
  opts: Pick<CommitteeDevnetOptions, 'nodes' | 'dataDir' | 'rpcHost' | 'rpcPort' | 'p2pPort'>,
): Promise<CommitteeDevnet['members']> {
  const members: CommitteeDevnet['members'] = [];
  for (let i = 0; i < opts.nodes; i++) {
    const dataDir = resolve(join(opts.dataDir, `node-${i}`));
    mkdirSync(dataDir, { recursive: true });
    const bls = loadOrCreateKeys(dataDir);
    const p2p = await loadOrCreateNodeKey(nodeKeyPath(dataDir));
    const port = opts.p2pPort + i;
    members.push({
      blsPublicKey: bls.blsPublicKey as CommitteeMember['blsPublicKey'],
      peerId: p2p.peerId,
      rpc: `http://${opts.rpcHost}:${opts.rpcPort + i}`,
      p2p: `/ip4/127.0.0.1/tcp/${port}/p2p/${p2p.peerId}`,
      dataDir,
      log: join(dataDir, 'node.log'),
    });
  }
  return members;
}

export async function startCommitteeDevnet(
  opts: CommitteeDevnetOptions,
  prepared?: CommitteeDevnet['members'],
): Promise<CommitteeDevnet> {
  const main = fileURLToPath(new URL('./main.ts', import.meta.url));
  const members = prepared ?? (await prepareCommitteeMembers(opts));
  const committeeFile = resolve(join(opts.dataDir, 'committee.json'));
  writeFileSync(
    committeeFile,
    `${JSON.stringify(
      {
        members: members.map((m) => ({ blsPublicKey: m.blsPublicKey, peerId: m.peerId })),
        bootnodes: members.map((m) => m.p2p),
      },
      null,
      2,
    )}\n`,
  );
  const procs: ChildProcess[] = [];
  // based / free: no committee orders; every node posts to the OpenInbox with its own L1 key, and
  // the committee file's members certify outputs.
  const open = opts.election === 'based' || opts.election === 'free';
  const posters = opts.posters ?? members.length;
  /**
   * Spawns `seqnet node` number `at` (RPC on rpc-port + at, libp2p on p2p-port + at) on the committee
   * file, its output appended to `log`; `args` go between the devnet's flags and the L1's. Without
   * `keys`, no L1 key reaches it.
   */
  const spawnNode = (
    name: string,
    at: number,
    dataDir: string,
    log: string,
    args: string[],
    keys: { batcher?: string; reporter?: string } = {},
  ): ChildProcess => {
    const argv = [
      ...process.execArgv,
      // SEQNET_DEVNET_NODE_FLAGS: extra node/V8 flags for each node process (e.g. `--cpu-prof
      // --cpu-prof-dir DIR`, which NODE_OPTIONS refuses).
      ...(process.env.SEQNET_DEVNET_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? []),
      main,
      'node',
      '--data-dir',
      dataDir,
      '--rpc-host',
      opts.rpcHost,
      '--rpc-port',
      String(opts.rpcPort + at),
      '--committee',
      committeeFile,
      '--p2p-listen',
      `/ip4/127.0.0.1/tcp/${opts.p2pPort + at}`,
      ...opts.nodeArgs,
      ...(opts.election ? ['--election', opts.election] : []),
      ...args,
      ...(opts.l1
        ? [
            '--l1-rpc',
            opts.l1.rpc,
            '--l1-deployment',
            opts.l1.deploymentFile,
            '--l1-confirmations',
            String(opts.l1.confirmations),
          ]
        : []),
    ];
    const env = { ...process.env };
    delete env.SEQNET_BATCHER_KEY;
    delete env.SEQNET_REPORTER_KEY;
    if (keys.batcher) env.SEQNET_BATCHER_KEY = keys.batcher;
    if (keys.reporter) env.SEQNET_REPORTER_KEY = keys.reporter;
    const out = createWriteStream(log, { flags: 'a' });
    const p = spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout?.pipe(out);
    p.stderr?.pipe(out);
    p.once('exit', (code, signal) => {
      if (code !== 0 && signal === null) opts.step(`${name} exited with ${code}; see ${log}`);
    });
    procs.push(p);
    return p;
  };
  for (const [i, m] of members.entries()) {
    const args = [
      ...(opts.perNodeArgs?.[i] ?? []),
      // A member without an L1 key forwards the txs it gets to a member that posts.
      ...(open && opts.l1 && i >= posters
        ? ['--sequencer-rpc', `http://${opts.rpcHost}:${opts.rpcPort + (i % posters)}`]
        : []),
      ...(open && opts.l1 && opts.preconf && i < posters ? ['--preconf'] : []),
    ];
    // Node 0 posts batches with test account 1, the key the devnet's Inbox authorises; in based /
    // free, each poster with its own account. Each member reports equivocation to the L1 Slasher
    // from its own (staking) account.
    const batcher = !opts.l1
      ? undefined
      : open && i < posters
        ? memberL1Account(i).privateKey
        : i === 0
          ? devAccounts(2)[1].privateKey
          : undefined;
    const reporter = opts.l1 && i < 8 ? memberL1Account(i).privateKey : undefined;
    m.pid = spawnNode(`node ${i}`, i, m.dataDir, m.log, args, { batcher, reporter }).pid;
  }
  // Followers take the committee's blocks with their proofs and serve them: no key posts or reports.
  const followers: CommitteeDevnet['followers'] = [];
  for (let k = 0; k < (open ? 0 : (opts.followers ?? 0)); k++) {
    const dataDir = resolve(join(opts.dataDir, `follower-${k}`));
    mkdirSync(dataDir, { recursive: true });
    const at = members.length + k;
    const f = { rpc: `http://${opts.rpcHost}:${opts.rpcPort + at}`, dataDir, log: join(dataDir, 'node.log') };
    followers.push({ ...f, pid: spawnNode(`follower ${k}`, at, dataDir, f.log, ['--follow']).pid });
  }
  const logs = [...members.map((m) => m.log), ...followers.map((f) => f.log)];
  opts.step(
    `starting ${opts.nodes} ${open ? `${opts.election} submitter` : 'committee'} nodes (logs in ${opts.dataDir}/node-*/node.log)…`,
  );
  const exited = procs.map(
    (p, i) =>
      new Promise<never>((_, reject) =>
        p.once('exit', (code) =>
          reject(
            new Error(
              `${i < members.length ? `node ${i}` : `follower ${i - members.length}`} exited with ${code} while starting; see ${logs[i]}`,
            ),
          ),
        ),
      ),
  );
  for (const e of exited) e.catch(() => {});
  const stopAll = () =>
    Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((res) => {
            if (p.exitCode !== null || p.signalCode !== null) return res();
            p.once('exit', () => res());
            p.kill('SIGTERM');
          }),
      ),
    );
  try {
    const rpcs = [...members, ...followers].map((m) => m.rpc);
    await Promise.race([Promise.all(rpcs.map((rpc) => waitForRpc(rpc, 120_000))), ...exited]);
    if (!open && members.length > 1) {
      // Serving RPC is not sequencing: a tx sent before the members reach one another would wait out
      // view timeouts. The devnet is ready once every member is connected to every other (and every
      // follower to every member).
      opts.step('waiting for the committee members to connect to one another…');
      await Promise.race([
        Promise.all(rpcs.map((rpc, i) => waitForCommitteeConnected(rpc, i, logs[i], 120_000))),
        ...exited,
      ]);
    }
  } catch (err) {
    // One node failed to start: take the others down too, or they outlive the devnet.
    await stopAll();
    throw err;
  }
  return {
    rpcs: members.map((m) => m.rpc),
    committeeFile,
    members,
    followers,
    async stop() {
      await stopAll();
    },
  };
}

/** Resolves once the node at `rpc` reports every committee member connected (seqnet_status). */
async function waitForCommitteeConnected(
  rpc: string,
  index: number,
  log: string,
  timeoutMs: number,
): Promise<void> {
  let missing: number[] = [];
  const connected = await pollRpc(
    rpc,
    'seqnet_status',
    [],
    async (res) => {
      const body = (await res.json()) as {
        result?: { consensus?: { members?: { index: number; connected: boolean }[] } | null };
      };
      const members = body.result?.consensus?.members;
      if (!members) return true; // not a committee node: nothing to wait for
      missing = members.filter((m) => !m.connected).map((m) => m.index);
      return missing.length === 0;
    },
    timeoutMs,
    200,
  );
  if (connected) return;
  throw new Error(
    `node ${index} did not connect to committee member(s) ${missing.join(', ')} within ${timeoutMs} ms; see ${log} and check that the p2p ports are free`,
  );
}
