import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Abi, createPublicClient, type Hex, http, parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberL1Account } from '../../src/cli/election-devnet.js';
import { devAccounts } from '../../src/execution/genesis.js';
import { electionArtifacts } from '../../src/l1/election.js';
import { type DevnetProcess, freeConsecutivePorts, rpcCall, startDevnet } from '../helpers/devnet.js';
import { signFeeMarketTx } from '../helpers/raw-tx.js';
import { chiSquareCritical999, chiSquareStatistic } from '../helpers/stats.js';
import { until } from '../helpers/wait.js';

/**
 * `npm run devnet -- --nodes 4 --election MODE`: four node processes whose leaders come from the L1
 * election contracts. pos: leaders in proportion to stake, and an equivocating member loses its
 * stake on L1 through the other members' automatic reports. auction: the epoch's winner proposes,
 * the treasury holds its bid, and once the winner goes silent the committee's rotation takes over.
 */

interface DevnetInfo {
  nodes: Array<{ rpc: string; pid: number }>;
  committee: { size: number; election: string };
  l1: { rpc: string; contracts: Record<string, Hex> };
}

interface NodeStatus {
  head: number;
  headHash: Hex;
  election: Record<string, unknown>;
  slashReports: Array<{ member: number; outcome: string }>;
  consensus: { view: string; proposals: number; evidence: number };
}

const status = async (url: string): Promise<NodeStatus> =>
  (
    (await rpcCall(url, { jsonrpc: '2.0', id: 1, method: 'seqnet_status', params: [] })).json as {
      result: NodeStatus;
    }
  ).result;

async function startElectionDevnet(
  mode: string,
  extra: string[] = [],
): Promise<{ devnet: DevnetProcess; info: DevnetInfo }> {
  const devnet = await startDevnet({
    l1: true,
    rpcPort: await freeConsecutivePorts(4),
    args: ['--nodes', '4', '--election', mode, '--p2p-port', String(await freeConsecutivePorts(4)), ...extra],
    readyTimeoutMs: 200_000,
  });
  const info = await until(
    'devnet.json',
    async () => {
      try {
        return JSON.parse(readFileSync(join(devnet.dataDir, 'devnet.json'), 'utf8')) as DevnetInfo;
      } catch {
        return undefined;
      }
    },
    200_000,
  );
  return { devnet, info };
}

/** Sends ETH transfers from `key` to the nodes in turn, ~`perSecond` a second, until stopped. */
function load(urls: string[], key: Hex, perSecond: number): { stop(): Promise<number> } {
  let stopped = false;
  let sent = 0;
  const run = (async () => {
    let nonce = 0n;
    while (!stopped) {
      const raw = signFeeMarketTx(key, { nonce, gas: 21_000n, maxFee: 10n ** 10n, maxTip: 1n, value: 1n });
      const r = await rpcCall(urls[Number(nonce) % urls.length], {
        jsonrpc: '2.0',
        id: 1,
        method: 'eth_sendRawTransaction',
        params: [`0x${Buffer.from(raw).toString('hex')}`],
      }).catch(() => undefined);
      if (r && (r.json as { result?: string }).result) {
        nonce++;
        sent++;
      }
      await new Promise((res) => setTimeout(res, 1000 / perSecond));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await run;
      return sent;
    },
  };
}

describe('devnet --nodes 4 --election pos (member 3 equivocates)', () => {
  let devnet: DevnetProcess;
  let info: DevnetInfo;

  beforeAll(async () => {
    ({ devnet, info } = await startElectionDevnet('pos', ['--misbehave.equivocate-node', '3']));
  }, 240_000);
  afterAll(async () => {
    await devnet?.stop();
  });

  it('leads in proportion to stake (chi-square), and the equivocating member is slashed on L1', async () => {
    const urls = info.nodes.map((n) => n.rpc);
    expect(info.committee.election).toBe('pos');
    const first = await status(urls[0]);
    expect(first.election.mode).toBe('pos');
    expect(first.election.stakes).toEqual(['1', '2', '3', '4'].map((e) => parseEther(e).toString()));
    const traffic = load(urls, devAccounts(10)[9].privateKey, 15);
    // Enough views for the test to tell stake-weighted from uniform leaders.
    await until(
      '200 views',
      async () => (BigInt((await status(urls[0])).consensus.view) >= 200n ? true : undefined),
      240_000,
    );
    // The other members found member 3's double proposals and reported them: its stake is gone.
    const registry = info.l1.contracts.StakeRegistry;
    const pub = createPublicClient({ transport: http(info.l1.rpc) });
    const abi = electionArtifacts().StakeRegistry.abi as Abi;
    const staker = memberL1Account(3).address;
    await until(
      'member 3 slashed on L1',
      async () => {
        const s = (await pub.readContract({
          address: registry,
          abi,
          functionName: 'stakerInfo',
          args: [staker],
        })) as {
          slashed: boolean;
          stake: bigint;
        };
        return s.slashed ? s : undefined;
      },
      120_000,
    );
    const sent = await traffic.stop();
    expect(sent).toBeGreaterThan(100);
    const all = await Promise.all(urls.map(status));
    expect(all.slice(0, 3).some((s) => s.consensus.evidence > 0)).toBe(true);
    expect(all.flatMap((s) => s.slashReports).some((r) => r.member === 3 && r.outcome === 'slashed')).toBe(
      true,
    );
    // Proposals by member, against the stakes 1:2:3:4.
    const counts = all.map((s) => s.consensus.proposals);
    const views = counts.reduce((a, b) => a + b, 0);
    const expected = [1, 2, 3, 4].map((w) => (views * w) / 10);
    const x2 = chiSquareStatistic(counts, expected);
    expect(x2, `proposals ${counts.join('/')}`).toBeLessThan(chiSquareCritical999(3));
    expect(
      chiSquareStatistic(
        counts,
        counts.map(() => views / 4),
      ),
    ).toBeGreaterThan(chiSquareCritical999(3));
    // One chain: every node has the same block at the lowest head.
    const height = Math.min(...all.map((s) => s.head));
    const hashes = await Promise.all(
      urls.map(async (u) => {
        const r = await rpcCall(u, {
          jsonrpc: '2.0',
          id: 1,
          method: 'eth_getBlockByNumber',
          params: [`0x${height.toString(16)}`, false],
        });
        return (r.json as { result: { hash: Hex } }).result.hash;
      }),
    );
    expect(new Set(hashes).size).toBe(1);
  }, 420_000);
});

describe('devnet --nodes 4 --election auction', () => {
  let devnet: DevnetProcess;
  let info: DevnetInfo;

  beforeAll(async () => {
    ({ devnet, info } = await startElectionDevnet('auction'));
  }, 240_000);
  afterAll(async () => {
    await devnet?.stop();
  });

  it('the winner proposes its epoch and the treasury holds the bid; a silent winner is replaced by the rotation', async () => {
    const urls = info.nodes.map((n) => n.rpc);
    const s0 = await status(urls[0]);
    expect(s0.election).toMatchObject({ mode: 'auction', winner: 1, bid: parseEther('0.5').toString() });
    const pub = createPublicClient({ transport: http(info.l1.rpc) });
    expect(await pub.getBalance({ address: info.l1.contracts.Governance })).toBe(parseEther('0.5'));
    const traffic = load(urls, devAccounts(10)[9].privateKey, 15);
    await until('30 blocks', async () => ((await status(urls[0])).head >= 30 ? true : undefined), 120_000);
    const before = await Promise.all(urls.map(status));
    // Only the winner (member 1) has proposed.
    expect(before[1].consensus.proposals).toBeGreaterThan(20);
    expect(before.filter((_, i) => i !== 1).map((s) => s.consensus.proposals)).toEqual([0, 0, 0]);
    // The winner goes silent: the committee's round robin takes over and blocks continue.
    process.kill(info.nodes[1].pid, 'SIGKILL');
    const head = before[0].head;
    await until(
      '20 blocks after the winner died',
      async () => ((await status(urls[0])).head >= head + 20 ? true : undefined),
      120_000,
    );
    await traffic.stop();
    const after = await Promise.all([0, 2, 3].map((i) => status(urls[i])));
    expect(after.every((s) => s.consensus.proposals > 0)).toBe(true);
  }, 300_000);
});
