/**
 * What epoch boundaries cost a committee: `devnet --nodes 4 --election pos` with short epochs (the
 * stake-weighted draw's seed, so its leaders, change at every boundary) under a light load. Counts,
 * at every node, the epochs the chain entered, the views entered and those that ended in a timeout,
 * and the longest wait between two committed blocks.
 *
 * `--epoch-committees` runs the devnet with that flag: each epoch's stakers certify its blocks, and at
 * each boundary the chain's consensus instance ends at the boundary block (the first block whose L1
 * origin is in the later epoch) and the next epoch's committee starts a new one on it. Without it only
 * the proposers change there.
 *
 * In both modes, node 0's `newHeads` give every block's arrival there (performance.now) and its L1
 * origin (the header's mixHash, looked up on the L1 for its number, so its election epoch). The
 * boundary blocks are the blocks whose origin's epoch is later than their parent's (with
 * --epoch-committees also the roots of the instances node 0's `seqnet_status` reports, polled every
 * 200 ms); for each, the gap from its parent's arrival to its own and from its own to its child's, set
 * against every other gap between consecutive blocks. And the send → inclusion latency of the load's
 * txs at the node each was sent to (its `newHeads` of the block holding the tx: the receipt is
 * served from then).
 *
 *   npx tsx bench/epoch-switch.ts [--seconds 120] [--epoch-length 10] [--rate 10] [--epoch-committees]
 *     [--root DIR] [--out FILE]
 *
 * `--root DIR` runs the node of another checkout (e.g. a worktree of the code before a change) for a
 * side-by-side on the same machine; the figures go to bench/results/epoch-switch.json by default
 * (bench/results/epoch-switch-committees.json with --epoch-committees).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createPublicClient, type Hex, http, keccak256 } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { devAccounts } from '../src/execution/genesis.js';
import { sleep } from '../src/util/sleep.js';
import { devnetInfo, freeConsecutivePorts, startDevnet } from '../test/helpers/devnet.js';
import { rpcCall } from './lib/committee-cluster.js';
import { latencyStats } from './lib/load.js';
import { seqnetVersion, writeResult } from './lib/results.js';
import { WsRpc } from './lib/rpc.js';
import { BlockWatcher, type Inclusion } from './lib/watcher.js';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    'epoch-length': { type: 'string', default: '10' },
    rate: { type: 'string', default: '10' },
    'epoch-committees': { type: 'boolean', default: false },
    root: { type: 'string' },
    out: { type: 'string' },
  },
});
const seconds = Number(flags.seconds);
const rate = Number(flags.rate);
const epochCommittees = flags['epoch-committees'] === true;
const outFile =
  flags.out ??
  (epochCommittees ? 'bench/results/epoch-switch-committees.json' : 'bench/results/epoch-switch.json');

interface NodeStatus {
  head: number;
  election: { epoch?: string };
  consensus: {
    role?: 'member' | 'follower';
    /** Absent on a checkout before --epoch-committees (`--root`). */
    instance?: { epoch: string; rootHeight: number; committee: string[]; perEpoch: boolean };
    viewsLedBy: number[];
    failedViewsLedBy: number[];
    timeoutsSigned: number;
  };
}

interface DevnetJson {
  nodes: Array<{ rpc: string; log?: string; pid?: number }>;
  l1: { rpc: string } | null;
}

const status = (url: string) => rpcCall<NodeStatus>(url, 'seqnet_status');

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const round = (x: number) => Math.round(x * 10) / 10;

/** p50, p90, max (and n) of a list of gaps, ms. */
function gapStats(xs: number[]) {
  const s = latencyStats(xs);
  return { n: s.n, p50: s.p50, p90: s.p90, max: s.max, mean: s.mean };
}

/** What one node's status polls saw: instance and election epoch switches, views counted across them. */
class NodeTrack {
  /** [instance epoch, root height, when (performance.now), head then] at each change, first poll first. */
  readonly instances: Array<{
    epoch: string;
    rootHeight: number;
    at: number;
    head: number;
    committee: number;
  }> = [];
  readonly elections: Array<{ epoch: string; at: number; head: number }> = [];
  roles: string[] = [];
  views = 0;
  failedViews = 0;
  pollErrors = 0;
  /** When a poll found failed views (views that ended in a timeout) added, and how many. */
  readonly failures: Array<{ at: number; instance: string; count: number }> = [];
  private prev?: { instance: string; views: number; failed: number };

  /**
   * The view counters start at 0 with each instance (viewsLedBy / failedViewsLedBy are per committee
   * member), so they are summed across instances: a rise within one instance adds the rise, a new
   * instance (or a counter that went down) adds what it holds. Views of an instance's last 200 ms
   * before its end can be missed.
   */
  observe(s: NodeStatus, at: number): void {
    const instance = s.consensus.instance;
    const key = instance?.epoch ?? '0';
    const views = sum(s.consensus.viewsLedBy);
    const failed = sum(s.consensus.failedViewsLedBy);
    if (this.prev) {
      const same = this.prev.instance === key && views >= this.prev.views && failed >= this.prev.failed;
      this.views += same ? views - this.prev.views : views;
      const added = same ? failed - this.prev.failed : failed;
      this.failedViews += added;
      if (added > 0) this.failures.push({ at, instance: key, count: added });
    }
    this.prev = { instance: key, views, failed };
    if (this.instances.at(-1)?.epoch !== key)
      this.instances.push({
        epoch: key,
        rootHeight: instance?.rootHeight ?? 0,
        at,
        head: s.head,
        committee: instance?.committee.length ?? 0,
      });
    const election = s.election.epoch ?? '0';
    if (this.elections.at(-1)?.epoch !== election) this.elections.push({ epoch: election, at, head: s.head });
    const role = s.consensus.role ?? 'member';
    if (this.roles.at(-1) !== role) this.roles.push(role);
  }
}

/** Warn / error lines of a node's log (pino JSON: level 40 / 50+), with the first few distinct messages. */
function logProblems(path: string | undefined) {
  if (!path) return { log: null, warn: 0, error: 0, messages: [] as string[] };
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { log: path, warn: 0, error: 0, messages: ['(log not readable)'] };
  }
  let warn = 0;
  let error = 0;
  const messages = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let level = 0;
    let msg = line.slice(0, 200);
    try {
      const j = JSON.parse(line) as { level?: number | string; msg?: string };
      level =
        typeof j.level === 'number' ? j.level : ({ warn: 40, error: 50, fatal: 60 }[j.level ?? ''] ?? 30);
      msg = j.msg ?? msg;
    } catch {
      level = /\b(ERROR|FATAL)\b/i.test(line) ? 50 : /\bWARN/i.test(line) ? 40 : 30;
    }
    if (level < 40) continue;
    if (level >= 50) error++;
    else warn++;
    const key = `${level >= 50 ? 'error' : 'warn'}: ${msg}`;
    messages.set(key, (messages.get(key) ?? 0) + 1);
  }
  return {
    log: path,
    warn,
    error,
    messages: [...messages].slice(0, 12).map(([m, n]) => `${n}× ${m}`),
  };
}

/**
 * Other seqnet processes on the machine (not this devnet's: e.g. a test suite running beside the
 * bench), and the 1-minute load average: what else took the CPU while the figures were taken.
 */
function machineLoad(dataDir: string): { load1: number; otherSeqnetProcesses: number } {
  let other = 0;
  try {
    other = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes('src/cli/main.ts') && !l.includes(dataDir)).length;
  } catch {
    // no ps: counted as none
  }
  return { load1: Math.round(loadavg()[0] * 100) / 100, otherSeqnetProcesses: other };
}

async function main(): Promise<void> {
  const base = await freeConsecutivePorts(9);
  const root = flags.root ? resolve(flags.root) : undefined;
  console.error(
    `starting devnet --nodes 4 --election pos --epoch-length ${flags['epoch-length']}${epochCommittees ? ' --epoch-committees' : ''}…`,
  );
  const devnet = await startDevnet({
    l1: true,
    l1Port: base + 8,
    rpcPort: base,
    root,
    args: [
      '--nodes',
      '4',
      '--election',
      'pos',
      '--p2p-port',
      String(base + 4),
      '--epoch-length',
      flags['epoch-length'],
      ...(epochCommittees ? ['--epoch-committees'] : []),
    ],
    readyTimeoutMs: 240_000,
  });
  console.error(`  devnet up, data dir ${devnet.dataDir}`);
  try {
    const info = await devnetInfo<DevnetJson>(devnet);
    const urls = info.nodes.map((n) => n.rpc);
    const deployment = JSON.parse(readFileSync(join(devnet.dataDir, 'l1-deployment.json'), 'utf8')) as {
      election?: { genesisBlock: string; epochLength: string };
    };
    if (!deployment.election || !info.l1) throw new Error('the devnet deployed no election on an L1');
    const clock = {
      genesisBlock: BigInt(deployment.election.genesisBlock),
      epochLength: BigInt(deployment.election.epochLength),
    };
    const l1Url = info.l1.rpc;

    // Node 0's heads: when each block arrived there, and its L1 origin (mixHash).
    const heads = new Map<number, { at: number; mixHash?: Hex }>();
    const headWs = await WsRpc.connect(urls[0].replace('http', 'ws'));
    let lastHead = Number(await headWs.call<Hex>('eth_blockNumber'));
    await headWs.subscribe('newHeads', (h) => {
      const at = performance.now();
      const { number, mixHash } = h as { number: Hex; mixHash: Hex };
      const n = Number(number);
      // A skipped notification still gets a time: the first announcement at or after it.
      for (let k = lastHead + 1; k < n; k++) if (!heads.has(k)) heads.set(k, { at });
      if (!heads.has(n)) heads.set(n, { at, mixHash });
      if (n > lastHead) lastHead = n;
    });
    // Each node's heads and block tx lists: when a tx sent there is in a block it serves.
    const watchers = await Promise.all(urls.map((u) => BlockWatcher.start(u.replace('http', 'ws'))));

    // One sender, transfers at `rate` per second to the nodes in turn: views go on only with work.
    const sender = privateKeyToAccount(devAccounts(10)[9].privateKey);
    const chain = createPublicClient({ transport: http(urls[0]) });
    let nonce = BigInt(await chain.getTransactionCount({ address: sender.address }));
    let sent = 0;
    let stop = false;
    let measureFrom = Number.POSITIVE_INFINITY;
    const latencies: number[] = [];
    const pending = new Map<Hex, { watcher: BlockWatcher }>();
    const load = (async () => {
      while (!stop) {
        const raw = await sender.signTransaction({
          chainId: 42069,
          type: 'eip1559',
          nonce: Number(nonce),
          to: devAccounts(2)[1].address,
          value: 1n,
          gas: 21_000n,
          maxFeePerGas: 10n ** 10n,
          maxPriorityFeePerGas: 1n,
        });
        const to = sent % urls.length;
        const hash = keccak256(raw);
        const sentAt = performance.now();
        const timed = sentAt >= measureFrom;
        // Registered before the send: the block may be announced before the send returns.
        const included = watchers[to].confirmed(hash);
        const sentHash = await rpcCall<Hex>(urls[to], 'eth_sendRawTransaction', [raw]).catch(() => undefined);
        if (sentHash) {
          nonce++;
          sent++;
          if (timed) {
            pending.set(hash, { watcher: watchers[to] });
            void included.then((inc: Inclusion) => {
              if (pending.delete(hash)) latencies.push(inc.announcedAt - sentAt);
            });
          }
        } else watchers[to].forget([hash]);
        await sleep(1000 / rate);
      }
    })();
    await sleep(5_000); // past start-up's first views
    // And past the chain's first blocks: a devnet may start its chain in the genesis instance (epoch 0)
    // and hand over to the L1's epoch within its first blocks, which is no boundary of a running chain.
    const warmUntil = performance.now() + 120_000;
    while ((await status(urls[0])).head < 20 && performance.now() < warmUntil) await sleep(200);
    const before = await Promise.all(urls.map(status));
    const startedAt = performance.now();
    measureFrom = startedAt;
    const fromHeight = before[0].head;
    const tracks = urls.map(() => new NodeTrack());
    for (const [i, s] of before.entries()) tracks[i].observe(s, startedAt);

    // Every node's status each 200 ms: instance / election epoch switches and views across instances.
    let polling = true;
    const poller = (async () => {
      while (polling) {
        await Promise.all(
          urls.map((u, i) =>
            status(u).then(
              (s) => tracks[i].observe(s, performance.now()),
              () => void tracks[i].pollErrors++,
            ),
          ),
        );
        await sleep(200);
      }
    })();

    // The longest wait for the next committed block, as node 1 sees it (polled every 50 ms).
    let lastHead1 = before[1].head;
    let lastChange = performance.now();
    let longestGapMs = 0;
    const end = performance.now() + seconds * 1000;
    let nextReport = performance.now() + 10_000;
    const loadSamples = [machineLoad(devnet.dataDir)];
    while (performance.now() < end) {
      const s1 = await status(urls[1]);
      const now = performance.now();
      if (s1.head !== lastHead1) {
        longestGapMs = Math.max(longestGapMs, now - lastChange);
        lastHead1 = s1.head;
        lastChange = now;
      }
      if (now >= nextReport) {
        const t0 = tracks[0];
        console.error(
          `  ${Math.round((end - now) / 1000)} s left, head ${s1.head}, ${sent} txs sent, node 0 instance epoch ${t0.instances.at(-1)?.epoch}, election epoch ${t0.elections.at(-1)?.epoch}, failed views (node 0) ${t0.failedViews}`,
        );
        nextReport += 10_000;
        loadSamples.push(machineLoad(devnet.dataDir));
      }
      await sleep(50);
    }
    stop = true;
    await load;
    const after = await Promise.all(urls.map(status));
    const endedAt = performance.now();
    for (const [i, s] of after.entries()) tracks[i].observe(s, endedAt);
    polling = false;
    await poller;
    const toHeight = after[0].head;

    // Txs still on their way: up to 15 s more, then counted as censored (slower than every other).
    const deadline = performance.now() + 15_000;
    while (pending.size > 0 && performance.now() < deadline) await sleep(100);
    const unconfirmed = pending.size;
    for (const w of watchers) {
      w.forget(pending.keys());
      w.close();
    }
    headWs.close();
    const watcherErrors = watchers.flatMap((w, i) => (w.error ? [`node ${i}: ${w.error.message}`] : []));

    // Every block of the window at node 0: its arrival, L1 origin and that origin's epoch.
    const missing = [];
    for (let n = fromHeight; n <= toHeight; n++) if (!heads.get(n)?.mixHash) missing.push(n);
    for (let i = 0; i < missing.length; i += 20)
      await Promise.all(
        missing.slice(i, i + 20).map(async (n) => {
          const b = await rpcCall<{ mixHash: Hex } | null>(urls[0], 'eth_getBlockByNumber', [
            `0x${n.toString(16)}`,
            false,
          ]);
          const h = heads.get(n);
          if (b && h) h.mixHash = b.mixHash;
          else if (b) heads.set(n, { at: Number.NaN, mixHash: b.mixHash });
        }),
      );
    const l1Numbers = new Map<Hex, number>();
    for (const h of heads.values()) if (h.mixHash && !l1Numbers.has(h.mixHash)) l1Numbers.set(h.mixHash, -1);
    for (const hash of l1Numbers.keys()) {
      const b = await rpcCall<{ number: Hex } | null>(l1Url, 'eth_getBlockByHash', [hash, false]).catch(
        () => null,
      );
      l1Numbers.set(hash, b ? Number(b.number) : -1);
    }
    const originOf = (n: number) => {
      const m = heads.get(n)?.mixHash;
      const l1 = m ? l1Numbers.get(m) : undefined;
      return l1 === undefined || l1 < 0 ? undefined : l1;
    };
    const epochOf = (n: number) => {
      const o = originOf(n);
      return o === undefined
        ? undefined
        : Number(BigInt(o) < clock.genesisBlock ? 0n : (BigInt(o) - clock.genesisBlock) / clock.epochLength);
    };
    const arrival = (n: number) => {
      const at = heads.get(n)?.at;
      return at === undefined || Number.isNaN(at) ? undefined : at;
    };

    // Boundary blocks: by L1 origin (both modes), and the instances' roots node 0 reported.
    const originBoundaries: number[] = [];
    for (let n = fromHeight + 1; n <= toHeight; n++) {
      const e = epochOf(n);
      const p = epochOf(n - 1);
      if (e !== undefined && p !== undefined && e > p) originBoundaries.push(n);
    }
    const instanceRoots = tracks[0].instances
      .slice(1)
      .map((x) => x.rootHeight)
      .filter((r) => r > fromHeight && r <= toHeight);
    const boundaries = epochCommittees ? instanceRoots : originBoundaries;
    const boundarySet = new Set(boundaries);

    const blockTxs = async (n: number) =>
      (
        await rpcCall<{ transactions: Hex[] } | null>(urls[0], 'eth_getBlockByNumber', [
          `0x${n.toString(16)}`,
          false,
        ])
      )?.transactions.length ?? null;
    const handovers = [];
    for (const r of boundaries) {
      const [prev, at, next] = [arrival(r - 1), arrival(r), arrival(r + 1)];
      const instance = tracks[0].instances.find((x) => x.rootHeight === r);
      const election = tracks[0].elections.find((x) => x.epoch === String(epochOf(r)));
      handovers.push({
        boundaryHeight: r,
        l1Origin: originOf(r) ?? null,
        epoch: epochOf(r) ?? null,
        boundaryTxs: await blockTxs(r),
        /** The parent's arrival → the boundary block's (the old instance's last block). */
        intoBoundaryMs: prev !== undefined && at !== undefined ? round(at - prev) : null,
        /** The boundary block's arrival → the next block's: the handover gap. */
        afterBoundaryMs: at !== undefined && next !== undefined ? round(next - at) : null,
        /** When node 0's status first showed the new instance / election epoch, after the boundary's arrival
         * (polled every 200 ms; negative: before it). */
        instanceSeenAfterMs: instance && at !== undefined ? round(instance.at - at) : null,
        electionEpochSeenAfterMs: election && at !== undefined ? round(election.at - at) : null,
      });
    }
    const otherGaps: number[] = [];
    for (let n = fromHeight + 1; n <= toHeight; n++) {
      if (boundarySet.has(n) || boundarySet.has(n - 1)) continue;
      const [a, b] = [arrival(n - 1), arrival(n)];
      if (a !== undefined && b !== undefined) otherGaps.push(b - a);
    }
    const after_ = handovers.flatMap((h) => (h.afterBoundaryMs === null ? [] : [h.afterBoundaryMs]));
    const into = handovers.flatMap((h) => (h.intoBoundaryMs === null ? [] : [h.intoBoundaryMs]));

    const nodes = after.map((a, i) => {
      const b = before[i];
      const t = tracks[i];
      return {
        node: i,
        epochsEntered: Number(a.election.epoch ?? 0) - Number(b.election.epoch ?? 0),
        instancesEntered: t.instances.length - 1,
        instanceEpochs: t.instances.map((x) => x.epoch),
        lastInstance: a.consensus.instance
          ? {
              epoch: a.consensus.instance.epoch,
              rootHeight: a.consensus.instance.rootHeight,
              committeeSize: a.consensus.instance.committee.length,
              perEpoch: a.consensus.instance.perEpoch,
            }
          : null,
        roles: t.roles,
        views: t.views,
        failedViews: t.failedViews,
        timeoutsSigned: a.consensus.timeoutsSigned - b.consensus.timeoutsSigned,
        blocks: a.head - b.head,
        statusPollErrors: t.pollErrors,
      };
    });
    // When each node's status showed each instance, relative to node 0 (ms; + is later).
    const switchLagMs = tracks[0].instances.slice(1).map((x) => ({
      epoch: x.epoch,
      rootHeight: x.rootHeight,
      lagMs: tracks.map((t) => {
        const seen = t.instances.find((y) => y.epoch === x.epoch);
        return seen ? round(seen.at - x.at) : null;
      }),
    }));
    const epochs = Math.max(...nodes.map((n) => n.epochsEntered));
    const failed = sum(nodes.map((n) => n.failedViews)) / nodes.length;
    const latency = latencyStats(latencies, unconfirmed);
    const logs = info.nodes.map((n, i) => ({ node: i, ...logProblems(n.log) }));
    // The devnet process's own output: anything that reads as a warning or an error.
    const devnetOutputProblems = devnet
      .output()
      .split('\n')
      .filter((l) => /\b(warn|error|fatal)\b/i.test(l))
      .slice(0, 20)
      .map((l) => l.slice(0, 300));
    const result = {
      when: new Date().toISOString(),
      root: flags.root ?? '.',
      version: seqnetVersion(root ?? resolve(import.meta.dirname, '..')),
      epochCommittees,
      seconds,
      epochLength: Number(flags['epoch-length']),
      ratePerSecond: rate,
      txsSent: sent,
      epochsEntered: epochs,
      failedViewsPerNode: failed,
      failedViewsPerEpoch: epochs > 0 ? Math.round((failed / epochs) * 100) / 100 : null,
      longestBlockGapMs: Math.round(longestGapMs),
      blocks: { from: fromHeight, to: toHeight },
      /** Where the handovers' boundary blocks come from: the instances' roots, or the blocks' L1 origins. */
      boundariesBy: epochCommittees ? 'instance.rootHeight at node 0' : 'L1 origin epoch (mixHash)',
      boundariesByL1Origin: originBoundaries,
      boundariesByInstance: instanceRoots,
      /** Arrival at node 0 (newHeads) of the block after each boundary block, after the boundary's own. */
      handoverGapMs: { ...gapStats(after_), values: after_ },
      /** Arrival of each boundary block after its parent's. */
      intoBoundaryGapMs: { ...gapStats(into), values: into },
      /** Every other gap between consecutive blocks at node 0 in the window. */
      otherGapMs: gapStats(otherGaps),
      /** eth_sendRawTransaction → newHeads of the block holding the tx, at the node it was sent to. */
      sendToInclusionMs: latency,
      handovers,
      switchLagMs,
      nodes,
      /** Failed views node 0 saw, by when (poll time) relative to the last boundary block's arrival there. */
      failedViewsAtNode0: tracks[0].failures.map((f) => {
        const at = boundaries
          .map((r) => arrival(r))
          .filter((a): a is number => a !== undefined && a <= f.at)
          .at(-1);
        return {
          instance: f.instance,
          count: f.count,
          sinceRunStartMs: Math.round(f.at - startedAt),
          sinceLastBoundaryMs: at === undefined ? null : Math.round(f.at - at),
        };
      }),
      /** Sampled every 10 s: the 1-minute load average and seqnet processes other than this devnet's. */
      machine: {
        cpus: availableParallelism(),
        load1Max: Math.max(...loadSamples.map((x) => x.load1)),
        otherSeqnetProcessesMax: Math.max(...loadSamples.map((x) => x.otherSeqnetProcesses)),
        samples: loadSamples,
      },
      nodeLogs: logs,
      devnetOutputProblems,
      watcherErrors,
      dataDir: devnet.dataDir,
    };
    writeResult(outFile, result);
    console.error(
      `handover gap p50/max ${result.handoverGapMs.p50}/${result.handoverGapMs.max} ms (n ${result.handoverGapMs.n}); other gaps p50/p90/max ${result.otherGapMs.p50}/${result.otherGapMs.p90}/${result.otherGapMs.max} ms; latency p50/p99 ${latency.p50}/${latency.p99} ms`,
    );
  } finally {
    await devnet.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
