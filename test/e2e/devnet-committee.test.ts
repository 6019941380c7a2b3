import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Abi,
  createPublicClient,
  createWalletClient,
  decodeFunctionData,
  type Hex,
  http,
  parseEther,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORCED_INCLUSION_WINDOW } from '../../src/cli/force-tx.js';
import { verifyFromL1 } from '../../src/derive/verifier.js';
import { devAccounts, devChainOptions } from '../../src/execution/genesis.js';
import { l1Artifacts } from '../../src/l1/deploy.js';
import { sleep } from '../../src/util/sleep.js';
import { forceSelfTransfer } from '../helpers/cli.js';
import { statusOf } from '../helpers/committee.js';
import { type DevnetProcess, freeConsecutivePorts, rpcCall, startDevnet } from '../helpers/devnet.js';
import { chainOf, until } from '../helpers/wait.js';
import { withdrawToL1 } from '../helpers/withdrawal.js';

/**
 * `npm run devnet -- --nodes 4 --followers 1`: four node processes, one committee, and a follower,
 * RPC on consecutive ports.
 */
describe('devnet --nodes 4 --followers 1', () => {
  let devnet: DevnetProcess;
  let info: {
    nodes: Array<{ rpc: string; pid: number }>;
    followers: Array<{ rpc: string; pid: number }>;
    committee: { size: number };
    l1: { rpc: string; contracts: Record<string, Hex> };
  };

  beforeAll(async () => {
    const base = await freeConsecutivePorts(11);
    devnet = await startDevnet({
      l1: true,
      l1Port: base + 10,
      // One free range for RPC and libp2p: two probes of free ranges can return the same one. The
      // follower's RPC and libp2p ports come after the members'.
      rpcPort: base,
      args: ['--nodes', '4', '--followers', '1', '--p2p-port', String(base + 5)],
      readyTimeoutMs: 170_000,
    });
    // Node 0 answers first; devnet.json is written once all four do.
    info = await until(
      'devnet.json',
      async () => {
        try {
          return JSON.parse(readFileSync(join(devnet.dataDir, 'devnet.json'), 'utf8'));
        } catch {
          return undefined;
        }
      },
      170_000,
    );
  }, 180_000);
  afterAll(async () => {
    await devnet?.stop();
  });

  it('starts a committee of 4, sequences a tx sent to any node, shows the committee live, posts certified batches and outputs (a withdrawal), stops every node on Ctrl-C', async () => {
    expect(info.nodes).toHaveLength(4);
    expect(info.committee.size).toBe(4);
    const url = info.nodes[3].rpc;
    const wallet = createWalletClient({
      chain: chainOf(42069, url),
      transport: http(url),
      account: privateKeyToAccount(devAccounts(1)[0].privateKey),
    });
    const hash = await wallet.sendTransaction({ to: devAccounts(2)[1].address, value: parseEther('1') });
    const r = await createPublicClient({
      chain: chainOf(42069, info.nodes[0].rpc),
      transport: http(info.nodes[0].rpc),
    }).waitForTransactionReceipt({ hash, pollingInterval: 25, timeout: 60_000 });
    expect(r.status).toBe('success');
    // The follower serves the same block: it took it, with its proof, from the members.
    expect(info.followers).toHaveLength(1);
    const there = await createPublicClient({
      chain: chainOf(42069, info.followers[0].rpc),
      transport: http(info.followers[0].rpc),
    }).waitForTransactionReceipt({ hash, pollingInterval: 25, timeout: 60_000 });
    expect(there.blockHash).toBe(r.blockHash);
    // With the L1, it checks the proofs against the CommitteeVerifier's committee, not the file's keys.
    const followerStatus = (await statusOf(info.followers[0].rpc)) as unknown as {
      consensus: { role: string; proofsCheckedAgainst: string };
    };
    expect(followerStatus.consensus).toMatchObject({
      role: 'follower',
      proofsCheckedAgainst: 'L1 CommitteeVerifier',
    });
    const s = await statusOf(info.nodes[1].rpc);
    expect(s.consensus.members).toHaveLength(4);
    const page = await (await fetch(`${info.nodes[2].rpc}/`)).text();
    expect(page).toContain('view / leader');
    expect(page).toContain('outputs certified here');

    // Node 0 posts the committee's blocks to L1, each batch with its certificate; L1 alone rebuilds them.
    expect(info.l1.contracts.CommitteeVerifier).toMatch(/^0x/);
    await until(
      'a certified batch on L1',
      async () => {
        const st = (
          await rpcCall(info.nodes[0].rpc, { jsonrpc: '2.0', id: 1, method: 'seqnet_status', params: [] })
        ).json as { result: { batcher: { postedTo: number } | null } };
        return (st.result.batcher?.postedTo ?? 0) >= Number(r.blockNumber) ? true : undefined;
      },
      90_000,
    );
    const l1 = createPublicClient({ transport: http(info.l1.rpc) });
    const logs = await l1.getContractEvents({
      address: info.l1.contracts.Inbox,
      abi: l1Artifacts().Inbox.abi as Abi,
      eventName: 'BatchPosted',
      fromBlock: 0n,
    });
    const tx = await l1.getTransaction({ hash: logs[0].transactionHash });
    expect(decodeFunctionData({ abi: l1Artifacts().Inbox.abi as Abi, data: tx.input }).functionName).toBe(
      'postCertifiedBatch',
    );
    const report = await verifyFromL1({
      l1Url: info.l1.rpc,
      deployment: JSON.parse(readFileSync(join(devnet.dataDir, 'l1-deployment.json'), 'utf8')),
      chain: devChainOptions({ chainId: 42069n }),
      // Node 0 posted the batches, so it holds every block they carry (others may be a block behind).
      rpcUrl: info.nodes[0].rpc,
    });
    expect(report.mismatches).toEqual([]);
    expect(report.blocks).toBeGreaterThanOrEqual(Number(r.blockNumber));

    // The escape hatch on an idle committee: the forced tx is work, though no user tx is about (before,
    // no view started for an L1 message alone and it waited for the next user tx). Before the
    // withdrawal below, which moves the L1's clock 61 s on: blocks cannot take origins from the future.
    await until('idle mempools', async () => {
      const pools = await Promise.all(
        info.nodes.map(async (n) => {
          const r = await rpcCall(n.rpc, { jsonrpc: '2.0', id: 1, method: 'seqnet_status', params: [] });
          return (r.json as { result: { mempool: { pending: number; queued: number } } }).result.mempool;
        }),
      );
      return pools.every((m) => m.pending + m.queued === 0) ? true : undefined;
    });
    const user = devAccounts(8)[7];
    const forced = await forceSelfTransfer({
      l1Rpc: info.l1.rpc,
      dataDir: devnet.dataDir,
      key: user.privateKey,
      address: user.address,
      rpc: info.nodes[1].rpc,
    });
    expect(forced.code, forced.err).toBe(0);
    const landed = forced.result!;
    expect(landed.l2?.status).toBe('success');
    expect(landed.l2!.l1BlocksAfterInclusion).toBeLessThanOrEqual(FORCED_INCLUSION_WINDOW);
    // A block of L1 messages alone is committed by the one block over it (which stays uncommitted, so
    // unseen, until the next work), not followed by more: the leader that formed the committing QC
    // counted the block's messages as still due and proposed another, empty, block (three deposits on
    // an idle devnet of 4: three blocks each before, two now). A member whose L1 poll came a moment after
    // the leader's used to refuse the block ("tx count does not match": it had not read the message),
    // the view failed, and more blocks followed; it now judges the block again once it has read it.
    await sleep(3_000);
    const heads = await Promise.all(
      info.nodes.map((n) => createPublicClient({ transport: http(n.rpc) }).getBlockNumber({ cacheTime: 0 })),
    );
    expect(heads.map(Number)).toEqual(info.nodes.map(() => landed.l2!.block));

    // A withdrawal: the output that covers it reaches L1 only with a quorum of the committee's
    // signatures (no single key may post one), a member that does not post proves it, the Bridge pays.
    const { outputsVia } = await withdrawToL1({
      l2Url: url,
      l2ChainId: 42069,
      proofUrl: info.nodes[2].rpc,
      l1Rpc: info.l1.rpc,
      contracts: info.l1.contracts,
      userKey: devAccounts(4)[3].privateKey,
    });
    expect(outputsVia.length).toBeGreaterThan(0);
    expect(new Set(outputsVia)).toEqual(new Set(['proposeCertified']));
    expect((await statusOf(info.nodes[0].rpc)).consensus.outputs?.certified).toBeGreaterThan(0);
    const metrics = await (await fetch(`${info.nodes[0].rpc}/metrics`)).text();
    const figure = (re: RegExp) => Number(re.exec(metrics)?.[1]);
    expect(metrics).toMatch(/^seqnet_outputs_certified_total [1-9]/m);
    // The operator's figures (USERS.md): peers, proposals and votes, missed proposals by leader, the
    // batch backlog, batches and the L1 gas they and the outputs cost.
    expect(figure(/^seqnet_p2p_peers (\d+)$/m)).toBe(4); // the other three members and the follower
    expect(figure(/^seqnet_consensus_proposals_total (\d+)$/m)).toBeGreaterThan(0);
    expect(figure(/^seqnet_consensus_votes_signed_total (\d+)$/m)).toBeGreaterThan(0);
    expect(
      [...metrics.matchAll(/^seqnet_consensus_failed_views_total\{leader="(\d)"\} \d+$/gm)].map((m) => m[1]),
    ).toEqual(['0', '1', '2', '3']);
    expect(figure(/^seqnet_batcher_backlog_blocks (\d+)$/m)).toBeGreaterThanOrEqual(0);
    expect(figure(/^seqnet_batcher_batches_total (\d+)$/m)).toBeGreaterThan(0);
    expect(figure(/^seqnet_l1_gas_used_total\{purpose="batches"\} (\d+)$/m)).toBeGreaterThan(0);
    expect(figure(/^seqnet_l1_gas_used_total\{purpose="outputs"\} (\d+)$/m)).toBeGreaterThan(0);
    expect(figure(/^seqnet_outputs_proposed_total (\d+)$/m)).toBeGreaterThan(0);
    expect(metrics).not.toMatch(/seqnet_l1_wasted_gas_total/);
    // Node 0 signs its own; a quorum of 3 needs at least two of the others' signatures.
    let signedByOthers = 0;
    for (const n of info.nodes.slice(1))
      signedByOthers += (await statusOf(n.rpc)).consensus.outputs?.signed ?? 0;
    expect(signedByOthers).toBeGreaterThanOrEqual(2);

    // The withdrawal moved the L1's clock 61 s ahead. Once the L1 blocks after the jump are safe
    // origins, a tx still commits at once: a leader takes no origin from the future (before, it
    // stamped its block with the jumped time, every member refused it as from the future, and no
    // block came until the wall clock caught up, ~56 s later).
    const jumpedAt = await l1.getBlockNumber({ cacheTime: 0 });
    await until(
      'L1 blocks after the jump',
      async () => ((await l1.getBlockNumber({ cacheTime: 0 })) >= jumpedAt + 3n ? true : undefined),
      30_000,
    );
    const late = await wallet.sendTransaction({ to: devAccounts(2)[1].address, value: 1n });
    const lateReceipt = await createPublicClient({
      chain: chainOf(42069, info.nodes[1].rpc),
      transport: http(info.nodes[1].rpc),
    }).waitForTransactionReceipt({ hash: late, pollingInterval: 25, timeout: 20_000 });
    expect(lateReceipt.status).toBe('success');
    // The follower executed the same chain, deposits, withdrawals and forced txs included.
    const followed = await createPublicClient({
      chain: chainOf(42069, info.followers[0].rpc),
      transport: http(info.followers[0].rpc),
    }).waitForTransactionReceipt({ hash: late, pollingInterval: 25, timeout: 20_000 });
    expect(followed.blockHash).toBe(lateReceipt.blockHash);

    expect(await devnet.stop()).toBe(0);
    for (const n of [...info.nodes, ...info.followers]) {
      expect(n.pid).toBeGreaterThan(0);
      expect(() => process.kill(n.pid, 0)).toThrow(/ESRCH/); // the node process is gone
    }
  }, 240_000);
});
