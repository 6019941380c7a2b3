/**
 * The committee's transport alone (src/p2p/network.ts): four libp2p hosts in one process on loopback,
 * fully connected, each in turn gossiping a 300-byte message and sending it directly to the three
 * others; CPU (user + system) of the process per message delivered. Run as an A/B: the default
 * (yamux window updates once half the window is consumed, src/p2p/yamux-window.ts) against the
 * library's rule (an update after every data frame: `SEQNET_YAMUX_EVERY_FRAME=1`), alternating, each
 * run in a fresh child process.
 *
 *   npx tsx bench/p2p.ts            # 3 pairs of 3,000 rounds, ~1 min; writes bench/results/p2p.json
 *   npx tsx bench/p2p.ts --pairs 1 --out /tmp/p2p.json
 */
import { execFileSync } from 'node:child_process';
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
    pairs: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3000' },
    out: { type: 'string' },
    /** Internal: run one measurement in this process and print it as JSON. */
    child: { type: 'boolean', default: false },
  },
  strict: true,
});

interface Sample {
  everyFrame: boolean;
  delivered: number;
  wallMs: number;
  cpuMs: number;
  cpuUsPerMessage: number;
}

const TOPIC = '/seqnet/bench/1';
const PROTOCOL = '/seqnet/bench-direct/1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(rounds: number): Promise<Sample> {
  const logger = pino({ level: 'silent' });
  const make = async (bootstrap: string[]) =>
    createNetwork(
      { listen: '/ip4/127.0.0.1/tcp/0', bootstrap, privateKey: await generateNodeKey(), topics: [TOPIC] },
      logger,
    );
  const nets: Network[] = [await make([])];
  for (let i = 1; i < 4; i++) nets.push(await make(nets[0].addresses()));
  let delivered = 0;
  for (const n of nets) {
    n.onMessage(TOPIC, () => {
      delivered++;
      return 'accept';
    });
    n.handle(PROTOCOL, () => {
      delivered++;
      return undefined;
    });
  }
  // Peer exchange makes the mesh full; then let gossipsub's mesh settle.
  while (nets.some((n) => n.peers().length < 3)) await sleep(50);
  await sleep(2_000);
  const expected = rounds * 6;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) {
    const payload = new Uint8Array(300).fill(7);
    new DataView(payload.buffer).setUint32(0, i);
    const from = nets[i % 4];
    await from.publish(TOPIC, payload);
    for (const to of nets) if (to !== from) void from.sendTo(to.peerId, PROTOCOL, payload);
    if (i % 50 === 0) await sleep(1);
  }
  while (delivered < expected && performance.now() - t0 < 120_000) await sleep(10);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  await Promise.all(nets.map((n) => n.stop()));
  const cpuUs = cpu.user + cpu.system;
  return {
    everyFrame: process.env.SEQNET_YAMUX_EVERY_FRAME === '1',
    delivered,
    wallMs: Math.round(wallMs),
    cpuMs: Math.round(cpuUs / 1000),
    cpuUsPerMessage: Math.round(cpuUs / Math.max(1, delivered)),
  };
}

if (flags.child) {
  process.stdout.write(`${JSON.stringify(await measure(Number(flags.rounds)))}\n`);
  process.exit(0);
}

const here = dirname(new URL(import.meta.url).pathname);
const runChild = (everyFrame: boolean): Sample => {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', join(here, 'p2p.ts'), '--child', '--rounds', flags.rounds ?? '3000'],
    { env: { ...process.env, SEQNET_YAMUX_EVERY_FRAME: everyFrame ? '1' : '0' }, encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').pop() as string) as Sample;
};

const samples: Sample[] = [];
const loadStart = loadavg();
for (let p = 0; p < Number(flags.pairs); p++) {
  for (const everyFrame of [true, false]) {
    const s = runChild(everyFrame);
    samples.push(s);
    process.stderr.write(
      `[p2p] pair ${p + 1}: ${everyFrame ? 'update every frame ' : 'update at half window'}  ${s.cpuUsPerMessage} µs CPU per message delivered (${s.delivered} in ${s.wallMs} ms)\n`,
    );
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const every = mean(samples.filter((s) => s.everyFrame).map((s) => s.cpuUsPerMessage));
const half = mean(samples.filter((s) => !s.everyFrame).map((s) => s.cpuUsPerMessage));
const result = {
  benchmark: 'p2p: CPU per message delivered, yamux window updates at half the window vs after every frame',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, loadStart, loadEnd: loadavg() },
  workload: `4 hosts in one process, ${flags.rounds} rounds: one gossip message + 3 direct messages of 300 bytes`,
  samples,
  cpuUsPerMessage: { everyFrame: Math.round(every), halfWindow: Math.round(half) },
  ratio: Math.round((half / every) * 1000) / 1000,
};
const out = resolve(flags.out ?? join(here, 'results', 'p2p.json'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
process.stderr.write(
  `CPU per message: ${Math.round(every)} µs (every frame) → ${Math.round(half)} µs (half window), ratio ${result.ratio}; wrote ${out}\n`,
);
