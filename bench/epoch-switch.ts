/**
 * What epoch boundaries cost a committee: `devnet --nodes 4 --election pos` with short epochs (the
 * stake-weighted draw's seed, so its leaders, change at every boundary) under a light load. Counts,
 * at every node, the epochs the chain entered, the views entered and those that ended in a timeout,
 * and the longest wait between two committed blocks.
 *
 *   npx tsx bench/epoch-switch.ts [--seconds 120] [--epoch-length 10] [--rate 10] [--root DIR] [--out FILE]
 *
 * `--root DIR` runs the node of another checkout (e.g. a worktree of the code before a change) for a
 * side-by-side on the same machine; the figures go to bench/results/epoch-switch.json by default.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createPublicClient, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { devAccounts } from '../src/execution/genesis.js';
import { sleep } from '../src/util/sleep.js';
import { devnetInfo, freeConsecutivePorts, startDevnet } from '../test/helpers/devnet.js';
import { rpcCall } from './lib/committee-cluster.js';
import { writeResult } from './lib/results.js';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    'epoch-length': { type: 'string', default: '10' },
    rate: { type: 'string', default: '10' },
    root: { type: 'string' },
    out: { type: 'string', default: 'bench/results/epoch-switch.json' },
  },
});
const seconds = Number(flags.seconds);
const rate = Number(flags.rate);

interface NodeStatus {
  head: number;
  election: { epoch?: string };
  consensus: { viewsLedBy: number[]; failedViewsLedBy: number[] };
}

const status = (url: string) => rpcCall<NodeStatus>(url, 'seqnet_status');

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function main(): Promise<void> {
  const base = await freeConsecutivePorts(9);
  console.error(`starting devnet --nodes 4 --election pos --epoch-length ${flags['epoch-length']}…`);
  const devnet = await startDevnet({
    l1: true,
    l1Port: base + 8,
    rpcPort: base,
    root: flags.root ? resolve(flags.root) : undefined,
    args: [
      '--nodes',
      '4',
      '--election',
      'pos',
      '--p2p-port',
      String(base + 4),
      '--epoch-length',
      flags['epoch-length'],
    ],
    readyTimeoutMs: 240_000,
  });
  try {
    const info = await devnetInfo<{ nodes: Array<{ rpc: string }> }>(devnet);
    const urls = info.nodes.map((n) => n.rpc);
    // One sender, transfers at `rate` per second to the nodes in turn: views go on only with work.
    const sender = privateKeyToAccount(devAccounts(10)[9].privateKey);
    const chain = createPublicClient({ transport: http(urls[0]) });
    let nonce = BigInt(await chain.getTransactionCount({ address: sender.address }));
    let sent = 0;
    let stop = false;
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
        const sentHash = await rpcCall<Hex>(urls[sent % urls.length], 'eth_sendRawTransaction', [raw]).catch(
          () => undefined,
        );
        if (sentHash) {
          nonce++;
          sent++;
        }
        await sleep(1000 / rate);
      }
    })();
    await sleep(5_000); // past start-up's first views
    const before = await Promise.all(urls.map(status));
    // The longest wait for the next committed block, as node 1 sees it (polled every 50 ms).
    let lastHead = before[1].head;
    let lastChange = performance.now();
    let longestGapMs = 0;
    const end = performance.now() + seconds * 1000;
    let nextReport = performance.now() + 10_000;
    while (performance.now() < end) {
      const head = (await status(urls[1])).head;
      const now = performance.now();
      if (head !== lastHead) {
        longestGapMs = Math.max(longestGapMs, now - lastChange);
        lastHead = head;
        lastChange = now;
      }
      if (now >= nextReport) {
        console.error(`  ${Math.round((end - now) / 1000)} s left, head ${head}, ${sent} txs sent`);
        nextReport += 10_000;
      }
      await sleep(50);
    }
    stop = true;
    await load;
    const after = await Promise.all(urls.map(status));
    const nodes = after.map((a, i) => {
      const b = before[i];
      const views = sum(a.consensus.viewsLedBy) - sum(b.consensus.viewsLedBy);
      const failed = sum(a.consensus.failedViewsLedBy) - sum(b.consensus.failedViewsLedBy);
      const epochs = Number(a.election.epoch ?? 0) - Number(b.election.epoch ?? 0);
      return { node: i, epochsEntered: epochs, views, failedViews: failed, blocks: a.head - b.head };
    });
    const epochs = Math.max(...nodes.map((n) => n.epochsEntered));
    const failed = sum(nodes.map((n) => n.failedViews)) / nodes.length;
    const result = {
      when: new Date().toISOString(),
      root: flags.root ?? '.',
      seconds,
      epochLength: Number(flags['epoch-length']),
      ratePerSecond: rate,
      txsSent: sent,
      epochsEntered: epochs,
      failedViewsPerNode: failed,
      failedViewsPerEpoch: epochs > 0 ? Math.round((failed / epochs) * 100) / 100 : null,
      longestBlockGapMs: Math.round(longestGapMs),
      nodes,
    };
    writeResult(flags.out, result);
  } finally {
    await devnet.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
