/**
 * What an L1 message costs an idle chain: no L2 traffic, one ETH deposit at a time, each waited for
 * on L2, and the time from the deposit's L1 receipt to its credit on L2. On `devnet --nodes 4` (a
 * committee): the L2 blocks each deposit brings (the committed head's step from one credited deposit
 * to the next) and the views that ended in a timeout. With `--election based` (`--nodes 2`
 * submitters): the batches posted for each deposit (each submitter posts one without txs for due L1
 * messages after a random wait, unless another's is already on L1) and their L1 gas.
 *
 *   npx tsx bench/l1-messages.ts [--deposits 20] [--election based] [--root DIR] [--out FILE]
 *
 * `--root DIR` runs the node of another checkout (a worktree of the code before a change) for a
 * side-by-side on the same machine; the figures go to bench/results/l1-messages.json by default.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Abi, createPublicClient, createWalletClient, type Hex, http, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { devAccounts } from '../src/execution/genesis.js';
import { l1Artifacts } from '../src/l1/deploy.js';
import { sleep } from '../src/util/sleep.js';
import { devnetInfo, freeConsecutivePorts, startDevnet } from '../test/helpers/devnet.js';
import { rpcCall } from './lib/committee-cluster.js';
import { latencyStats } from './lib/load.js';
import { writeResult } from './lib/results.js';

const { values: flags } = parseArgs({
  options: {
    deposits: { type: 'string', default: '20' },
    election: { type: 'string', default: 'poa' },
    root: { type: 'string' },
    out: { type: 'string', default: 'bench/results/l1-messages.json' },
  },
});
const deposits = Number(flags.deposits);
const based = flags.election === 'based';
if (!based && flags.election !== 'poa') throw new Error('--election: poa (a committee of 4) or based');
const nodeCount = based ? 2 : 4;
/** How long an idle chain is left after a credit for what the deposit brings: based waits up to 4 s. */
const settleMs = based ? 8_000 : 2_000;

interface NodeStatus {
  head: number;
  consensus?: { viewsLedBy: number[]; failedViewsLedBy: number[] };
  open?: { submitter: { posted: number; l1Gas: string } | null } | null;
}

const status = (url: string) => rpcCall<NodeStatus>(url, 'seqnet_status');
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function main(): Promise<void> {
  const base = await freeConsecutivePorts(9);
  const modeArgs = based ? ['--election', 'based'] : [];
  console.error(`starting devnet --nodes ${nodeCount} ${modeArgs.join(' ')}…`);
  const devnet = await startDevnet({
    l1: true,
    l1Port: base + 8,
    rpcPort: base,
    root: flags.root ? resolve(flags.root) : undefined,
    args: ['--nodes', String(nodeCount), ...modeArgs, '--p2p-port', String(base + 4)],
    readyTimeoutMs: 240_000,
  });
  try {
    const info = await devnetInfo<{
      nodes: Array<{ rpc: string }>;
      l1: { rpc: string; contracts: Record<string, Hex> };
    }>(devnet);
    const urls = info.nodes.map((n) => n.rpc);
    const l2 = createPublicClient({ transport: http(urls[0]) });
    const l1Public = createPublicClient({ transport: http(info.l1.rpc) });
    const l1 = createWalletClient({
      transport: http(info.l1.rpc),
      account: privateKeyToAccount(devAccounts(8)[7].privateKey),
    });
    await sleep(5_000); // past start-up's first views
    const before = await Promise.all(urls.map(status));
    const blocksPerDeposit: number[] = [];
    const creditMs: number[] = [];
    let lastHead = before[0].head;
    for (let i = 0; i < deposits; i++) {
      const recipient = privateKeyToAccount(generatePrivateKey()).address;
      const hash = await l1.writeContract({
        chain: null,
        address: info.l1.contracts.Bridge,
        abi: l1Artifacts().Bridge.abi as Abi,
        functionName: 'depositETH',
        args: [recipient],
        value: parseEther('0.01'),
      });
      await l1Public.waitForTransactionReceipt({ hash, pollingInterval: 50 });
      const mined = performance.now();
      while ((await l2.getBalance({ address: recipient })) === 0n) await sleep(25);
      creditMs.push(performance.now() - mined);
      await sleep(settleMs); // idle: whatever blocks or batches the deposit brings are made by now
      const head = (await status(urls[0])).head;
      blocksPerDeposit.push(head - lastHead);
      console.error(`  deposit ${i + 1}/${deposits}: ${head - lastHead} blocks`);
      lastHead = head;
    }
    const after = await Promise.all(urls.map(status));
    const nodes = after.map((a, i) => {
      const b = before[i];
      const posted = (s: NodeStatus) => s.open?.submitter?.posted ?? 0;
      const gas = (s: NodeStatus) => Number(s.open?.submitter?.l1Gas ?? 0);
      return {
        node: i,
        views: sum(a.consensus?.viewsLedBy ?? []) - sum(b.consensus?.viewsLedBy ?? []),
        failedViews: sum(a.consensus?.failedViewsLedBy ?? []) - sum(b.consensus?.failedViewsLedBy ?? []),
        batchesPosted: posted(a) - posted(b),
        l1Gas: gas(a) - gas(b),
      };
    });
    const result = {
      when: new Date().toISOString(),
      root: flags.root ?? '.',
      election: flags.election,
      nodes: nodeCount,
      deposits,
      blocksPerDeposit: sum(blocksPerDeposit) / deposits,
      ...(based
        ? {
            batchesPerDeposit: sum(nodes.map((n) => n.batchesPosted)) / deposits,
            l1GasPerDeposit: Math.round(sum(nodes.map((n) => n.l1Gas)) / deposits),
          }
        : {
            viewsPerDeposit: sum(nodes.map((n) => n.views)) / nodes.length / deposits,
            failedViewsPerNode: sum(nodes.map((n) => n.failedViews)) / nodes.length,
          }),
      creditMs: latencyStats(creditMs),
      blocks: blocksPerDeposit,
      perNode: nodes,
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
