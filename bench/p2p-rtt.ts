/**
 * One network hop of the committee's transport (src/p2p/network.ts) alone: two libp2p hosts in two
 * processes on loopback, a 300-byte message sent and echoed back, one round trip at a time with 20 ms
 * between them (a committee's low-rate traffic), by gossip and by a direct stream. Compared with what
 * a hop takes inside a running committee (README, "Low rates": ~7 ms from a proposal's signing to its
 * check by a member, two BLS checks included), it says how much of that is the transport itself.
 *
 *   npx tsx bench/p2p-rtt.ts            # ~30 s; writes bench/results/p2p-rtt.json
 *   npx tsx bench/p2p-rtt.ts --rounds 100 --out /tmp/rtt.json
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import '../src/polyfill.js';
import { generateNodeKey } from '../src/p2p/keys.js';
import { createNetwork, type Network } from '../src/p2p/network.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '300' },
    out: { type: 'string' },
    /** Internal: the echoing host, dialling this multiaddr. */
    echo: { type: 'string' },
  },
  strict: true,
});

const PING = '/seqnet/bench-ping/1';
const PONG = '/seqnet/bench-pong/1';
const DIRECT = '/seqnet/bench-echo/1';
const GAP_MS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logger = pino({ level: 'silent' });

async function host(bootstrap: string[]): Promise<Network> {
  return createNetwork(
    { listen: '/ip4/127.0.0.1/tcp/0', bootstrap, privateKey: await generateNodeKey(), topics: [PING, PONG] },
    logger,
  );
}

if (flags.echo) {
  const net = await host([flags.echo]);
  net.onMessage(PING, (data) => {
    void net.publish(PONG, data);
    return 'accept';
  });
  net.handle(DIRECT, (data, from) => {
    void net.sendTo(from, DIRECT, data);
    return undefined;
  });
  process.send?.('ready');
} else {
  const rounds = Number(flags.rounds);
  const net = await host([]);
  const here = dirname(new URL(import.meta.url).pathname);
  const child = fork(join(here, 'p2p-rtt.ts'), ['--echo', net.addresses()[0]], {
    execArgv: ['--import', 'tsx'],
  });
  await new Promise((r) => child.once('message', r));
  while (net.peers().length < 1) await sleep(50);
  // Let gossipsub's mesh form (heartbeats) before timing.
  await sleep(2_500);
  let answered: (() => void) | undefined;
  net.onMessage(PONG, () => {
    answered?.();
    return 'accept';
  });
  net.handle(DIRECT, () => {
    answered?.();
    return undefined;
  });
  const peer = net.peers()[0];
  const measure = async (send: (payload: Uint8Array) => Promise<void>) => {
    const rtts: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const payload = new Uint8Array(300);
      new DataView(payload.buffer).setUint32(0, i);
      const back = new Promise<void>((r) => {
        answered = r;
      });
      const t0 = performance.now();
      await send(payload);
      await back;
      rtts.push(performance.now() - t0);
      await sleep(GAP_MS);
    }
    rtts.sort((a, b) => a - b);
    const q = (p: number) => Math.round(rtts[Math.floor(p * (rtts.length - 1))] * 100) / 100;
    return { p10: q(0.1), p50: q(0.5), p90: q(0.9), p99: q(0.99) };
  };
  const loadStart = loadavg();
  const gossip = await measure((p) => net.publish(PING, p));
  const direct = await measure((p) => net.sendTo(peer, DIRECT, p));
  child.kill();
  await net.stop();
  const result = {
    benchmark: 'p2p-rtt: round trip of a 300-byte message between two libp2p hosts in two processes',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadStart, loadEnd: loadavg() },
    workload: `${rounds} round trips each, one at a time, ${GAP_MS} ms apart`,
    roundTripMs: { gossip, direct },
  };
  const out = resolve(flags.out ?? join(here, 'results', 'p2p-rtt.json'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(
    `round trip p50 / p99: gossip ${gossip.p50} / ${gossip.p99} ms, direct ${direct.p50} / ${direct.p99} ms; wrote ${out}\n`,
  );
  process.exit(0);
}
