/**
 * How far a follower (`seqnet node --committee FILE --follow`) trails the committee it follows, and
 * what it costs the members: a committee of 4 `seqnet node` processes on loopback (no L1), an open
 * loop of pre-signed ETH transfers sent to the members (each sender to one member), first with no
 * follower, then with one. For every block, the moment member 0 and the follower each push it: its
 * preconfirmation (`eth_subscribe("preconfirmations")`, at commit, before execution) and its head
 * (`newHeads`, once executed and served). The follower's lag is the difference, block by block; the
 * members' send → preconfirmation latency, with and without the follower in the same run, is the
 * yardstick.
 *
 *   npx tsx bench/follower.ts [--rates 10,100] [--seconds 15] [--out FILE]
 *
 * Writes bench/results/follower.json by default.
 */
import { parseArgs } from 'node:util';
import { type Hex, parseEther, parseGwei } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { devAccounts } from '../src/execution/genesis.js';
import { sleep } from '../src/util/sleep.js';
import {
  startCommittee,
  statusOf,
  type TestCommittee,
  untilFullyConnected,
} from '../test/helpers/committee.js';
import { until } from '../test/helpers/wait.js';
import { mempoolFlags, rpcCall } from './lib/committee-cluster.js';
import { latencyStats } from './lib/load.js';
import { writeResult } from './lib/results.js';
import { WsRpc } from './lib/rpc.js';

const { values: flags } = parseArgs({
  options: {
    rates: { type: 'string', default: '10,100' },
    seconds: { type: 'string', default: '15' },
    out: { type: 'string', default: 'bench/results/follower.json' },
  },
});
const rates = flags.rates.split(',').map(Number);
const seconds = Number(flags.seconds);

/** When each block (by number) reached a subscriber, ms (performance.now). */
type Arrivals = Map<number, number>;

interface Watch {
  preconfirmed: Arrivals;
  heads: Arrivals;
  ws: WsRpc;
}

async function watch(url: string): Promise<Watch> {
  const ws = await WsRpc.connect(url.replace('http', 'ws'));
  const preconfirmed: Arrivals = new Map();
  const heads: Arrivals = new Map();
  await ws.subscribe('preconfirmations', (r) => {
    const n = Number((r as { blockNumber: Hex }).blockNumber);
    if (!preconfirmed.has(n)) preconfirmed.set(n, performance.now());
  });
  await ws.subscribe('newHeads', (r) => {
    const n = Number((r as { number: Hex }).number);
    if (!heads.has(n)) heads.set(n, performance.now());
  });
  return { preconfirmed, heads, ws };
}

/** The follower's lag behind member 0, block by block, over the blocks above `from` both saw. */
function lags(member: Arrivals, follower: Arrivals, from: number): number[] {
  const out: number[] = [];
  for (const [n, at] of member) {
    const there = follower.get(n);
    if (n > from && there !== undefined) out.push(there - at);
  }
  return out;
}

const senders = devAccounts(10).map((a) => privateKeyToAccount(a.privateKey));
const nonces = senders.map(() => 0);

/** `rate` tx/s for `seconds` to the members; each tx's send → preconfirmation at member 0. */
async function load(c: TestCommittee, member0: Watch, rate: number) {
  const total = rate * seconds;
  // Signed before the clock starts: the load generator shares the machine with the nodes.
  const raws = await Promise.all(
    Array.from({ length: total }, (_, i) => {
      const s = i % senders.length;
      return senders[s].signTransaction({
        chainId: 42069,
        type: 'eip1559',
        to: senders[(s + 1) % senders.length].address,
        value: parseEther('0.0001'),
        nonce: nonces[s]++,
        gas: 21000n,
        maxFeePerGas: parseGwei('10'),
        maxPriorityFeePerGas: parseGwei('1'),
      });
    }),
  );
  const from = (await statusOf(c.nodes[0].url)).head;
  const sentAt = new Map<Hex, number>();
  const sends: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    // Each sender's txs go to one member, in nonce order.
    const url = c.nodes[(i % senders.length) % c.nodes.length].url;
    const t = performance.now();
    sends.push(rpcCall<Hex>(url, 'eth_sendRawTransaction', [raws[i]]).then((h) => void sentAt.set(h, t)));
  }
  await Promise.all(sends);
  const latency: number[] = [];
  let unconfirmed = 0;
  for (const [hash, t] of sentAt) {
    const r = await until(
      `tx ${hash} at member 0`,
      () =>
        rpcCall<{ blockNumber: Hex } | null>(c.nodes[0].url, 'eth_getTransactionReceipt', [hash]).then(
          (x) => x ?? undefined,
        ),
      60_000,
    ).catch(() => undefined);
    const at = r && member0.preconfirmed.get(Number(r.blockNumber));
    if (at === undefined) unconfirmed++;
    else latency.push(at - t);
  }
  const to = (await statusOf(c.nodes[0].url)).head;
  return { from, to, latency: latencyStats(latency, unconfirmed) };
}

async function main(): Promise<void> {
  console.error('[follower] starting a committee of 4…');
  // The pools never refuse the benchmark's backlog (bench/lib/committee-cluster.ts's flags).
  const c: TestCommittee = await startCommittee(4, ['--view-timeout', '1000', ...mempoolFlags]);
  try {
    await untilFullyConnected(c, 60_000);
    const member0 = await watch(c.nodes[0].url);
    const without = [];
    for (const rate of rates) {
      console.error(`[follower] no follower: ${rate} tx/s for ${seconds} s…`);
      const run = await load(c, member0, rate);
      without.push({ rate, blocks: run.to - run.from, memberSendToPreconfirmationMs: run.latency });
      console.error(
        `[follower]   member send → preconfirmation p50 ${run.latency.p50} ms, p99 ${run.latency.p99} ms`,
      );
    }
    console.error('[follower] starting a follower…');
    const follower = await c.startFollower();
    await until('the follower connected to every member and at their head', async () => {
      const [s, m] = await Promise.all([
        statusOf(follower.url).catch(() => undefined),
        statusOf(c.nodes[0].url),
      ]);
      return s?.consensus.members.every((x) => x.connected) && s.head >= m.head ? true : undefined;
    });
    const followerWatch = await watch(follower.url);
    const withFollower = [];
    for (const rate of rates) {
      console.error(`[follower] with the follower: ${rate} tx/s for ${seconds} s…`);
      const run = await load(c, member0, rate);
      await until(
        "the follower at member 0's head",
        async () => ((await statusOf(follower.url)).head >= run.to ? true : undefined),
        60_000,
      );
      await sleep(300);
      const entry = {
        rate,
        blocks: run.to - run.from,
        memberSendToPreconfirmationMs: run.latency,
        followerPreconfirmationLagMs: latencyStats(
          lags(member0.preconfirmed, followerWatch.preconfirmed, run.from),
        ),
        followerHeadLagMs: latencyStats(lags(member0.heads, followerWatch.heads, run.from)),
      };
      withFollower.push(entry);
      console.error(
        `[follower]   member send → preconfirmation p50 ${run.latency.p50} ms; follower lag p50 / p99 ${entry.followerPreconfirmationLagMs.p50} / ${entry.followerPreconfirmationLagMs.p99} ms (preconfirmation), ${entry.followerHeadLagMs.p50} / ${entry.followerHeadLagMs.p99} ms (head)`,
      );
    }
    member0.ws.close();
    followerWatch.ws.close();
    writeResult(flags.out, {
      what: 'a follower behind member 0, and the members with and without it (committee of 4, loopback, no L1)',
      command: `npx tsx bench/follower.ts --rates ${flags.rates} --seconds ${seconds}`,
      // How the follower learns of blocks (src/node/committee.ts, followMember).
      follows: 'a long poll to each member (SYNC_WAIT); every member asked each second as a fallback',
      date: new Date().toISOString(),
      withoutFollower: without,
      withFollower,
    });
  } finally {
    await c.stopAll();
  }
}

await main();
