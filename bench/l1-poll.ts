/**
 * What one idle poll of the L1 costs a node's main thread: the L1 watcher's poll when no new L1 block
 * has come (most polls: a devnet polls every 250 ms, anvil makes a block a second), since stop 44 the
 * last safe head's block and the head in one JSON-RPC batch, against the way before it, kept here as
 * the baseline — the same two reads as two HTTP requests, one after the other. Same anvil, alternating
 * in rounds; CPU time of this process (user + system) and wall time per poll.
 *
 *   npx tsx bench/l1-poll.ts [--polls 400] [--rounds 4]   → bench/results/l1-poll.json
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createPublicClient, createTestClient, http } from 'viem';
import { devAccounts } from '../src/execution/genesis.js';
import { Anvil } from '../src/l1/anvil.js';
import { deployL1Contracts } from '../src/l1/deploy.js';
import { L1Watcher } from '../src/l1/watcher.js';
import { freePort } from './lib/chains.js';
import { seqnetVersion, writeResult } from './lib/results.js';
import { mediansOf, round3 } from './lib/stats.js';

const { values: flags } = parseArgs({
  options: {
    polls: { type: 'string', default: '400' },
    rounds: { type: 'string', default: '4' },
    out: { type: 'string' },
  },
  strict: true,
});
const polls = Number(flags.polls);
const rounds = Number(flags.rounds);
if (!Number.isInteger(polls) || polls < 10) throw new Error(`--polls ${flags.polls}: a whole number ≥ 10`);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${flags.rounds}: a whole number ≥ 1`);

/** CPU and wall microseconds per call of `poll`, over `polls` calls. */
async function timePolls(poll: () => Promise<unknown>): Promise<{ cpuUs: number; wallUs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < polls; i++) await poll();
  const cpu = process.cpuUsage(cpu0);
  return {
    cpuUs: round3((cpu.user + cpu.system) / polls),
    wallUs: round3(((performance.now() - t0) * 1000) / polls),
  };
}

const [deployer, sequencer] = devAccounts(2);
console.error('[l1-poll] starting anvil and deploying the L1 contracts…');
const anvil = await Anvil.start({ host: '127.0.0.1', port: await freePort(), chainId: 31337, blockTime: 0 });
const runs: Array<{ round: number; way: string; cpuUsPerPoll: number; wallUsPerPoll: number }> = [];
try {
  const deployment = await deployL1Contracts({
    rpcUrl: anvil.url,
    deployerKey: deployer.privateKey,
    sequencer: sequencer.address,
    finalisationDelaySeconds: 60,
  });
  const client = createPublicClient({ transport: http(anvil.url, { retryCount: 0, timeout: 5_000 }) });
  const watcher = new L1Watcher(
    {
      rpcUrl: anvil.url,
      queue: deployment.contracts.L1MessageQueue,
      fromBlock: BigInt(deployment.deployedAtBlock),
      confirmations: 1,
      pollMs: 1_000,
    },
    pino({ level: 'silent' }),
  );
  // Two blocks past the deployment, so that the safe head (head − 1) is one of its blocks.
  await createTestClient({ mode: 'anvil', transport: http(anvil.url) }).mine({ blocks: 2 });
  await watcher.poll();
  const safe = watcher.safeHead();
  if (!safe) throw new Error('the watcher read no safe head');
  // The poll before stop 44: the last safe head's block (is it still on the chain?), then the head.
  const twoRequests = async () => {
    await client.getBlock({ blockNumber: safe.number });
    await client.getBlockNumber({ cacheTime: 0 });
  };
  // Warm both paths (connections, JIT) before measuring.
  for (let i = 0; i < 50; i++) {
    await watcher.poll();
    await twoRequests();
  }
  for (let r = 0; r < rounds; r++) {
    const ways: Array<[string, () => Promise<unknown>]> = [
      ['two requests (before)', twoRequests],
      ['one batch (L1Watcher.poll)', () => watcher.poll()],
    ];
    for (const [way, poll] of r % 2 === 0 ? ways : [...ways].reverse()) {
      const t = await timePolls(poll);
      const row = { round: r + 1, way, cpuUsPerPoll: t.cpuUs, wallUsPerPoll: t.wallUs };
      console.error(`[l1-poll] ${JSON.stringify(row)}`);
      runs.push(row);
    }
  }
  if (watcher.safeHead()?.number !== safe.number) throw new Error('the L1 moved during the benchmark');
} finally {
  await anvil.stop();
}

const before = mediansOf(runs, 'two requests (before)', ['cpuUsPerPoll', 'wallUsPerPoll']);
const now = mediansOf(runs, 'one batch (L1Watcher.poll)', ['cpuUsPerPoll', 'wallUsPerPoll']);
writeResult(flags.out ?? 'bench/results/l1-poll.json', {
  what: "one idle poll of the L1 watcher (no new L1 block) against anvil: the two reads as two HTTP requests (before stop 44) against L1Watcher.poll's one JSON-RPC batch; this process's CPU time (user + system) and wall time per poll, per round of `polls`, medians over rounds",
  when: new Date().toISOString(),
  version: seqnetVersion(new URL('..', import.meta.url).pathname),
  polls,
  rounds,
  before,
  now,
  cpuRatio: round3(now.cpuUsPerPollMedian / before.cpuUsPerPollMedian),
  wallRatio: round3(now.wallUsPerPollMedian / before.wallUsPerPollMedian),
  runs,
});
