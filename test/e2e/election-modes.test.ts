import '../../src/polyfill.js';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import {
  type Abi,
  createPublicClient,
  createWalletClient,
  decodeFunctionData,
  erc20Abi,
  type Hex,
  http,
  parseEther,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberL1Account } from '../../src/cli/election-devnet.js';
import {
  aggregateQc,
  commitProofFromJson,
  commitProofToJson,
  verifyCommitProof,
  voteMessage,
} from '../../src/consensus/certificate.js';
import { encodeConsensusMessage } from '../../src/consensus/codec.js';
import { FAILED_VIEWS_LOOKED_AT } from '../../src/election/schedule.js';
import { devAccounts } from '../../src/execution/genesis.js';
import { eip2537ToCompressedG1, qcForL1 } from '../../src/l1/bls-encoding.js';
import { committeeVerifierArtifact, l1Artifacts } from '../../src/l1/deploy.js';
import { electionArtifacts } from '../../src/l1/election.js';
import { loadOrCreateKeys } from '../../src/node/keys.js';
import { loadNodeKey, loadOrCreateNodeKey, nodeKeyPath } from '../../src/p2p/keys.js';
import { createNetwork } from '../../src/p2p/network.js';
import { protocols } from '../../src/p2p/options.js';
import { toHex } from '../../src/util/bytes.js';
import { runSeqnet } from '../helpers/cli.js';
import {
  type DevnetProcess,
  devnetInfo,
  freeConsecutivePorts,
  processLaunch,
  rpcCall,
  startDevnet,
} from '../helpers/devnet.js';
import { signFeeMarketTx } from '../helpers/raw-tx.js';
import { chiSquareCritical95, chiSquareCritical999, chiSquareStatistic } from '../helpers/stats.js';
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
  l1: { rpc: string; contracts: Record<string, Hex>; token?: Hex; stakesIn?: 'ETH' | 'token' };
}

interface NodeStatus {
  head: number;
  headHash: Hex;
  election: Record<string, unknown>;
  slashReports: Array<{ member: number; outcome: string }>;
  certificateSlashReports: Array<{ view: string; verdict: string; slashed: number }>;
  committeeInstalls: { epochs: Array<{ epoch: number; outcome: string }> } | null;
  certificateWatch: {
    checkedBatches: number;
    conflicts: number;
    recentConflicts: Array<{
      batchIndex: number;
      height: number;
      posted: Hex;
      verdict: string;
      view: string | null;
      slashed?: number;
    }>;
  } | null;
  consensus: {
    role: 'member' | 'follower';
    self: number;
    votesSigned: number;
    viewsEntered: number;
    instance: { epoch: string; rootHeight: number; committee: Hex[] };
    view: string;
    proposals: number;
    evidence: number;
    viewsLedBy: number[];
    viewsDrawnFor: number[];
    blockSync: { syncs: number };
    leadersUnknownUntil: string | null;
  };
}

const status = async (url: string): Promise<NodeStatus> =>
  (
    (await rpcCall(url, { jsonrpc: '2.0', id: 1, method: 'seqnet_status', params: [] })).json as {
      result: NodeStatus;
    }
  ).result;

/** Member i's stake on the devnet's L1 StakeRegistry (its staking account is memberL1Account(i)). */
async function stakerInfo(info: DevnetInfo, member: number): Promise<{ slashed: boolean; stake: bigint }> {
  return (await createPublicClient({ transport: http(info.l1.rpc) }).readContract({
    address: info.l1.contracts.StakeRegistry,
    abi: electionArtifacts().StakeRegistry.abi as Abi,
    functionName: 'stakerInfo',
    args: [memberL1Account(member).address],
  })) as { slashed: boolean; stake: bigint };
}

async function startElectionDevnet(
  mode: string,
  extra: string[] = [],
): Promise<{ devnet: DevnetProcess; info: DevnetInfo }> {
  // One free range for all (RPC 4, libp2p 4, L1 1): two probes of free ranges can return the same one.
  const base = await freeConsecutivePorts(9);
  const devnet = await startDevnet({
    l1: true,
    l1Port: base + 8,
    rpcPort: base,
    args: ['--nodes', '4', '--election', mode, '--p2p-port', String(base + 4), ...extra],
    readyTimeoutMs: 200_000,
  });
  const info = await devnetInfo<DevnetInfo>(devnet);
  return { devnet, info };
}

/**
 * `seqnet stake register` by member i's operator (its L1 account memberL1Account(i)): it stakes
 * `amount` and registers its node's BLS key with a proof of possession.
 */
function stakeMember(devnet: DevnetProcess, info: DevnetInfo, member: number, amount: string) {
  return runSeqnet([
    'stake',
    'register',
    '--amount',
    amount,
    '--l1-rpc',
    info.l1.rpc,
    '--l1-deployment',
    join(devnet.dataDir, 'l1-deployment.json'),
    '--data-dir',
    join(devnet.dataDir, `node-${member}`),
    '--private-key',
    memberL1Account(member).privateKey,
  ]);
}

/** A JSON-RPC call's `result` (null or undefined when the node has none). */
async function rpcResult<T>(url: string, method: string, params: unknown[]): Promise<T> {
  return ((await rpcCall(url, { jsonrpc: '2.0', id: 1, method, params })).json as { result: T }).result;
}

/** A tx's preconfirmation as `seqnet_getPreconfirmation` serves it (null before its block commits). */
const getPreconfirmation = (url: string, tx: Hex) =>
  rpcResult<{ proof: unknown } | null>(url, 'seqnet_getPreconfirmation', [tx]);

/** Sends one 1-wei transfer from `key` with `nonce` to the node at `url`; its hash, or undefined if refused. */
async function sendTransfer(url: string, key: Hex, nonce: bigint): Promise<Hex | undefined> {
  const raw = signFeeMarketTx(key, { nonce, gas: 21_000n, maxFee: 10n ** 10n, maxTip: 1n, value: 1n });
  const r = await rpcCall(url, {
    jsonrpc: '2.0',
    id: 1,
    method: 'eth_sendRawTransaction',
    params: [`0x${Buffer.from(raw).toString('hex')}`],
  }).catch(() => undefined);
  return (r?.json as { result?: Hex } | undefined)?.result;
}

/** The newest block from `from` down to `downTo` that holds a tx, with its first tx. */
async function newestBlockWithTx(
  url: string,
  from: bigint,
  downTo: bigint,
): Promise<{ height: bigint; tx: Hex } | undefined> {
  for (let h = from; h >= downTo; h--) {
    const blk = await rpcResult<{ transactions: Hex[] }>(url, 'eth_getBlockByNumber', [
      `0x${h.toString(16)}`,
      false,
    ]);
    if (blk.transactions[0]) return { height: h, tx: blk.transactions[0] };
  }
  return undefined;
}

/** Sends ETH transfers from `key` to the nodes in turn, ~`perSecond` a second, until stopped. */
function load(urls: string[], key: Hex, perSecond: number): { stop(): Promise<number> } {
  let stopped = false;
  let sent = 0;
  const run = (async () => {
    let nonce = 0n;
    while (!stopped) {
      if (await sendTransfer(urls[Number(nonce) % urls.length], key, nonce)) {
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

describe('devnet --nodes 4 --election pos (member 0 equivocates)', () => {
  let devnet: DevnetProcess;
  let info: DevnetInfo;

  beforeAll(async () => {
    // One long epoch: the slashed member would leave the committee two epochs after its slashing, and
    // the chi-square below compares the views with the stakes of one epoch.
    ({ devnet, info } = await startElectionDevnet('pos', [
      '--misbehave.equivocate-node',
      '0',
      '--epoch-length',
      '1000',
    ]));
  }, 240_000);
  afterAll(async () => {
    await devnet?.stop();
  });

  it('draws leaders in proportion to stake (chi-square), and the equivocating member is slashed on L1', async () => {
    const urls = info.nodes.map((n) => n.rpc);
    expect(info.committee.election).toBe('pos');
    const first = await status(urls[1]);
    expect(first.election.mode).toBe('pos');
    expect(first.election.stakes).toEqual(['1', '2', '3', '4'].map((e) => parseEther(e).toString()));
    // Txs go to the honest members: the others ban the equivocator, so what it alone holds is stuck.
    const traffic = load(urls.slice(1), devAccounts(10)[9].privateKey, 15);
    // Enough views for the test to tell stake-weighted from uniform leaders.
    await until(
      '150 views',
      async () => (BigInt((await status(urls[1])).consensus.view) >= 150n ? true : undefined),
      240_000,
    );
    // The other members found member 0's double proposals and reported them: its stake is gone.
    await until(
      'member 0 slashed on L1',
      async () => {
        const s = await stakerInfo(info, 0);
        return s.slashed ? s : undefined;
      },
      120_000,
    );
    // Traffic flowed (how much depends on how fast the views went: it is not a throughput test).
    const sent = await traffic.stop();
    expect(sent).toBeGreaterThan(20);
    const all = await Promise.all(urls.map(status));
    expect(all.slice(1).some((s) => s.consensus.evidence > 0)).toBe(true);
    const reports = all.flatMap((s) => s.slashReports);
    expect(reports.some((r) => r.member === 0 && r.outcome === 'slashed')).toBe(true);
    // The stake-weighted draw of the views an honest member went through, against the stakes 1:2:3:4.
    // Not the leaders: the equivocator's views fail, and the view after each failure passes over its
    // leader and the member its votes went to (src/election/schedule.ts), so the leader counts drift
    // from the stakes by design (a 1,151-view devnet run: led 111/316/302/422 where the stakes give
    // 115/230/345/460; one CI run's chi-square over the 0.1 % bound).
    const counts = all[1].consensus.viewsDrawnFor;
    const views = counts.reduce((a, b) => a + b, 0);
    const expected = [1, 2, 3, 4].map((w) => (views * w) / 10);
    const x2 = chiSquareStatistic(counts, expected);
    expect(x2, `views drawn ${counts.join('/')}`).toBeLessThan(chiSquareCritical999(3));
    expect(
      chiSquareStatistic(
        counts,
        counts.map(() => views / 4),
      ),
    ).toBeGreaterThan(chiSquareCritical95(3)); // ~150 views: the power check at 5 %, not 0.1 %
    // One chain: the honest nodes have the same block at the lowest head (the equivocator's own
    // view of the chain does not matter; the others ban it).
    const honest = urls.slice(1);
    const height = Math.min(...all.slice(1).map((s) => s.head));
    const hashes = await Promise.all(
      honest.map(async (u) => {
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

  it('seqnet slash: a preconfirmation that a certified batch on L1 contradicts slashes its double signers', async () => {
    const pub = createPublicClient({ transport: http(info.l1.rpc) });
    const deploymentFile = join(devnet.dataDir, 'l1-deployment.json');
    const reporter = devAccounts(10)[8].privateKey;
    let files = 0;
    const write = (preconfirmation: unknown) => {
      const file = join(devnet.dataDir, `preconfirmation-${files++}.json`);
      writeFileSync(file, JSON.stringify(preconfirmation));
      return file;
    };
    const slash = async (preconfirmation: unknown, against?: unknown) =>
      runSeqnet([
        'slash',
        '--l1-rpc',
        info.l1.rpc,
        '--l1-deployment',
        deploymentFile,
        '--preconfirmation',
        write(preconfirmation),
        ...(against === undefined ? [] : ['--against', write(against)]),
        '--private-key',
        reporter,
      ]);
    // An honest preconfirmation, as a node serves it: no conflict on L1, nothing is sent.
    const urls = info.nodes.map((n) => n.rpc);
    const txHash = (await newestBlockWithTx(urls[1], BigInt((await status(urls[1])).head), 1n))?.tx;
    expect(txHash).toBeDefined();
    const honest = txHash && (await getPreconfirmation(urls[1], txHash));
    expect(honest).toBeTruthy();
    const agrees = await slash(honest);
    expect(agrees.code, agrees.err).toBe(0);
    expect(JSON.parse(agrees.out).verdict).toBe('no-conflict');
    // The newest certified batch on L1: its commit proof's first QC, (epoch, view) of its last block.
    const inboxAbi = l1Artifacts().Inbox.abi as Abi;
    const logs = await pub.getContractEvents({
      address: info.l1.contracts.Inbox,
      abi: inboxAbi,
      eventName: 'BatchPosted',
      fromBlock: 0n,
    });
    const last = logs[logs.length - 1] as unknown as { transactionHash: Hex; args: { lastBlock: bigint } };
    const posting = await pub.getTransaction({ hash: last.transactionHash });
    const call = decodeFunctionData({ abi: inboxAbi, data: posting.input });
    expect(call.functionName).toMatch(/^postCertified/);
    const [posted] = (call.args ?? [])[call.functionName === 'postCertifiedBatch' ? 5 : 4] as Array<{
      epoch: bigint;
      view_: bigint;
      blockHash: Hex;
    }>;
    // Members 1, 2 and 3 (a quorum) also certify another block in that view, and its child in the
    // next: a valid commit proof that the batch on L1 contradicts.
    const keys = [1, 2, 3].map((i) => loadOrCreateKeys(join(devnet.dataDir, `node-${i}`)).bls);
    const chainId = 42069n;
    const forgedQc = (view: bigint, blockHash: Hex) =>
      aggregateQc(
        { epoch: posted.epoch, view, blockHash },
        keys.map((k, j) => ({
          index: j + 1,
          signature: k.sign(voteMessage(chainId, posted.epoch, view, blockHash)).toBytes(),
        })),
      );
    const other = `0x${'ab'.repeat(32)}` as Hex;
    const forged = {
      chainId,
      height: last.args.lastBlock,
      blockHash: other,
      qcs: [forgedQc(posted.view_, other), forgedQc(posted.view_ + 1n, `0x${'cd'.repeat(32)}`)],
    };
    expect((await stakerInfo(info, 1)).slashed).toBe(false);
    const res = await slash({ proof: commitProofToJson(forged) });
    expect(res.code, res.err).toBe(0);
    const outcome = JSON.parse(res.out) as {
      verdict: string;
      slashed: number;
      view: string;
      batchIndex: string;
    };
    expect(outcome.verdict).toBe('slashed');
    expect(BigInt(outcome.view)).toBe(posted.view_);
    // Every member in both signer sets, but member 0 (slashed already above), loses its stake.
    expect(outcome.slashed).toBeGreaterThanOrEqual(2);
    const slashedNow = (await Promise.all([1, 2, 3].map((i) => stakerInfo(info, i)))).filter(
      (x) => x.slashed,
    ).length;
    expect(slashedNow).toBe(outcome.slashed);
    // Reported once: the same evidence again has nothing left to slash.
    const again = await slash({ proof: commitProofToJson(forged) });
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out).verdict).toBe('already-slashed');
    // Another block at the batch's last height, but certified in views L1 holds no QC of: broken, not
    // provable as one view's double signing.
    const elsewhere = await slash({
      proof: commitProofToJson({
        ...forged,
        qcs: [
          forgedQc(posted.view_ + 1_000n, other),
          forgedQc(posted.view_ + 1_001n, `0x${'cd'.repeat(32)}`),
        ],
      }),
    });
    expect(elsewhere.code, elsewhere.err).toBe(0);
    expect(JSON.parse(elsewhere.out).verdict).toBe('contradicted-other-view');
    // Not a preconfirmation of this committee: refused with the reason.
    const bad = await slash({
      proof: commitProofToJson({
        ...forged,
        qcs: [forged.qcs[0], { ...forged.qcs[1], signature: forged.qcs[0].signature }],
      }),
    });
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('not a valid preconfirmation of this committee');

    // Two preconfirmations against each other, neither on L1 (`--against`): the honest one, and a
    // proof of another block at its height that members 1, 2 and 3 certified in the same view.
    const honestProof = commitProofFromJson(honest?.proof);
    const [first] = honestProof.qcs;
    const rival = {
      chainId,
      height: honestProof.height,
      blockHash: other,
      qcs: [forgedQc(first.view, other), forgedQc(first.view + 1n, `0x${'cd'.repeat(32)}`)],
    };
    const pair = await slash(honest, { proof: commitProofToJson(rival) });
    expect(pair.code, pair.err).toBe(0);
    const pairOutcome = JSON.parse(pair.out) as { verdict: string; view: string; slashed: number };
    // Members of both signer sets slashed above (by the batch conflict) leave nothing to take.
    expect(['slashed', 'already-slashed']).toContain(pairOutcome.verdict);
    expect(BigInt(pairOutcome.view)).toBe(first.view);
    for (const i of [1, 2, 3].filter((i) => (first.signers >> BigInt(i)) & 1n))
      expect((await stakerInfo(info, i)).slashed, `member ${i}`).toBe(true);
    // A preconfirmation against itself conflicts with nothing; a forged one is refused.
    const same = await slash(honest, honest);
    expect(same.code, same.err).toBe(0);
    expect(JSON.parse(same.out).verdict).toBe('no-conflict');
    const refused = await slash(honest, {
      proof: commitProofToJson({
        ...rival,
        qcs: [rival.qcs[0], { ...rival.qcs[1], signature: rival.qcs[0].signature }],
      }),
    });
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain('preconfirmation 2 is not a valid preconfirmation of this committee');
  }, 240_000);
});

describe('devnet --nodes 4 --election pos --stake-token, member 3 not staked', () => {
  let devnet: DevnetProcess;
  let info: DevnetInfo;

  beforeAll(async () => {
    ({ devnet, info } = await startElectionDevnet('pos', [
      '--unstaked-members',
      '3',
      '--epoch-length',
      '20',
      '--stake-token',
    ]));
  }, 240_000);
  afterAll(async () => {
    await devnet?.stop();
  });

  it('a staker joins: from the epoch its stake is pinned for it leads views in proportion to stake', async () => {
    const urls = info.nodes.map((n) => n.rpc);
    const first = await status(urls[0]);
    expect(first.election).toMatchObject({ mode: 'pos', proposers: [0, 1, 2] });
    const traffic = load(urls, devAccounts(10)[9].privateKey, 15);
    // Stakes are in the devnet's token: member 3's operator stakes 4 SEQ with `seqnet stake register`
    // (it approves the registry, then registers its node's BLS key with a proof of possession).
    expect(info.l1.stakesIn).toBe('token');
    const staker = memberL1Account(3);
    const joined = await stakeMember(devnet, info, 3, '4');
    expect(joined.code, joined.err).toBe(0);
    expect(JSON.parse(joined.out)).toMatchObject({ registered: true, stake: '4' });
    const pub = createPublicClient({ transport: http(info.l1.rpc) });
    const held = (await pub.readContract({
      address: info.l1.token as Hex,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [staker.address],
    })) as bigint;
    expect(held).toBe(parseEther('96'));
    // Every node switches, without a stop, to an epoch whose committee holds the new staker.
    await until(
      'every node on an epoch with member 3',
      async () => {
        const all = await Promise.all(urls.map(status));
        return all.every((x) => (x.election.proposers as number[]).includes(3)) ? all : undefined;
      },
      120_000,
    );
    // Counted from 40 views after the switch: the members swap schedules at slightly different times,
    // and the views that fail around the swap are replayed under the new schedule by the leader rule,
    // which passes over members suspected of two of them for 32 views (docs/ARCHITECTURE.md).
    const switchedAt = BigInt((await status(urls[1])).consensus.view);
    await until(
      '40 views after the switch',
      async () => (BigInt((await status(urls[1])).consensus.view) >= switchedAt + 40n ? true : undefined),
      120_000,
    );
    const before = (await status(urls[1])).consensus;
    await until(
      '120 views since',
      async () =>
        BigInt((await status(urls[1])).consensus.view) >= BigInt(before.view) + 120n ? true : undefined,
      240_000,
    );
    await traffic.stop();
    const after = await status(urls[1]);
    expect(after.election.stakes).toEqual(['1', '2', '3', '4'].map((e) => parseEther(e).toString()));
    const counts = after.consensus.viewsLedBy.map((v, i) => v - before.viewsLedBy[i]);
    const views = counts.reduce((a, b) => a + b, 0);
    const x2 = chiSquareStatistic(
      counts,
      [1, 2, 3, 4].map((w) => (views * w) / 10),
    );
    expect(x2, `views led since ${counts.join('/')}`).toBeLessThan(chiSquareCritical999(3));
    expect(counts[3], `views led since ${counts.join('/')}`).toBeGreaterThan(0);

    // Without --epoch-committees every certificate is epoch 0's: no member pays to install a later
    // epoch's committee on L1 (it would check nothing).
    const verifier = {
      address: info.l1.contracts.CommitteeVerifier,
      abi: committeeVerifierArtifact().abi as Abi,
    };
    const set = await pub.getContractEvents({ ...verifier, eventName: 'CommitteeSet', fromBlock: 0n });
    expect(set.map((e) => Number((e.args as { epoch: bigint }).epoch))).toEqual([0]);
    for (const s of await Promise.all(urls.map(status))) expect(s.committeeInstalls).toBeNull();
  }, 420_000);
});

describe('devnet --nodes 4 --election auction', () => {
  let devnet: DevnetProcess;
  let info: DevnetInfo;

  beforeAll(async () => {
    // One epoch for the whole test: a new epoch would bring the killed winner back (it won epochs 0–9),
    // to be deposed again (the dpos test covers epoch switches).
    ({ devnet, info } = await startElectionDevnet('auction', ['--epoch-length', '1000']));
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
    // The winner (member 1) led the views.
    const led = before[0].consensus.viewsLedBy;
    expect(led[1], `views led ${led.join('/')}`).toBeGreaterThan(20);
    expect(led[1]).toBeGreaterThanOrEqual(0.9 * led.reduce((a, b) => a + b, 0));
    // The winner goes silent: the committee's round robin takes over and blocks continue. (Txs only
    // the winner had acknowledged die with it, so the traffic goes on from a fresh sender.)
    await traffic.stop();
    process.kill(info.nodes[1].pid, 'SIGKILL');
    const head = (await status(urls[0])).head;
    const more = load([urls[0], urls[2], urls[3]], devAccounts(10)[8].privateKey, 15);
    await until(
      '20 blocks after the winner died',
      async () => ((await status(urls[0])).head >= head + 20 ? true : undefined),
      120_000,
    );
    await more.stop();
    // The round robin of the live members led the views since.
    const after = (await status(urls[0])).consensus.viewsLedBy;
    for (const i of [0, 2, 3]) expect(after[i] - led[i], `views led ${after.join('/')}`).toBeGreaterThan(0);
  }, 300_000);

  it('a second QC of a view on another block, sent to a member or posted in a batch on L1, gets the members that signed both slashed', async () => {
    // Runs after the winner (member 1) was killed: members 0, 2 and 3 certify every block since.
    const urls = info.nodes.map((n) => n.rpc);
    const live = [0, 2, 3];
    const pub = createPublicClient({ transport: http(info.l1.rpc) });
    const inbox = { address: info.l1.contracts.Inbox, abi: l1Artifacts().Inbox.abi as Abi };
    // Honest batches: each live member has checked some against its own chain, and found nothing.
    const traffic = load([urls[0], urls[2], urls[3]], devAccounts(10)[7].privateKey, 15);
    await until(
      'every live member checked certified batches on L1',
      async () => {
        const all = await Promise.all(live.map((i) => status(urls[i])));
        return all.every((x) => (x.certificateWatch?.checkedBatches ?? 0) >= 2) ? all : undefined;
      },
      90_000,
    );
    await traffic.stop();
    for (const i of live) expect((await status(urls[i])).certificateWatch?.conflicts).toBe(0);

    const signedBy = (members: number[], epoch: bigint, view: bigint, blockHash: Hex) =>
      aggregateQc(
        { epoch, view, blockHash },
        members.map((i) => ({
          index: i,
          signature: loadOrCreateKeys(join(devnet.dataDir, `node-${i}`))
            .bls.sign(voteMessage(42069n, epoch, view, blockHash))
            .toBytes(),
        })),
      );

    // Over the network: members 1, 2 and 3 certify another block in the view of a block the live
    // members just certified, and that QC reaches member 2 (sent as the dead member 1, with its libp2p
    // key). Member 2 holds both QCs of that view: members 2 and 3 signed both and lose their stake.
    const sent = await sendTransfer(urls[2], devAccounts(10)[3].privateKey, 0n);
    expect(sent).toBeDefined();
    if (!sent) return;
    const certified = await until(
      'the tx preconfirmed',
      async () => {
        const p = await getPreconfirmation(urls[2], sent);
        return p ? commitProofFromJson(p.proof) : undefined;
      },
      30_000,
    );
    const honestQc = certified.qcs[0];
    expect(honestQc.signers).toBe(0b1101n); // members 0, 2 and 3: member 1 is dead
    const committeeFile = JSON.parse(readFileSync(join(devnet.dataDir, 'committee.json'), 'utf8')) as {
      members: Array<{ peerId: string }>;
      bootnodes: string[];
    };
    const asMember1 = await createNetwork(
      {
        listen: '/ip4/127.0.0.1/tcp/0',
        bootstrap: [committeeFile.bootnodes[2]],
        privateKey: loadNodeKey(nodeKeyPath(join(devnet.dataDir, 'node-1'))),
        topics: [],
      },
      pino({ level: 'silent' }),
    );
    try {
      const forgedQc = signedBy([1, 2, 3], honestQc.epoch, honestQc.view, `0x${'ef'.repeat(32)}`);
      await until(
        'connected to member 2',
        async () => (asMember1.peers().includes(committeeFile.members[2].peerId) ? true : undefined),
        20_000,
      );
      await asMember1.sendTo(
        committeeFile.members[2].peerId,
        protocols.consensus(42069),
        encodeConsensusMessage({ kind: 'qc', qc: forgedQc }),
      );
      const report = await until(
        'member 2 reports the conflicting QCs',
        async () =>
          (await status(urls[2])).certificateSlashReports.find((r) => BigInt(r.view) === honestQc.view),
        60_000,
      );
      expect(report).toMatchObject({ verdict: 'slashed', slashed: 2 });
    } finally {
      await asMember1.stop();
    }
    for (const [i, slashed] of [false, false, true, true].entries())
      expect((await stakerInfo(info, i)).slashed, `member ${i}`).toBe(slashed);

    // Through L1: members 0, 2 and 3 (a quorum) also certify another block in the view of a block they
    // committed, and the batch carrying that certificate reaches L1 first. Node 0, which posts the batches with
    // the key the Inbox authorises, is stopped meanwhile so the two posters do not share a nonce.
    const forgedQc = (epoch: bigint, view: bigint, blockHash: Hex) =>
      qcForL1(signedBy(live, epoch, view, blockHash), 4);
    const other = `0x${'ab'.repeat(32)}` as Hex;
    let forged: { index: bigint; height: bigint; view: bigint } | undefined;
    for (let attempt = 0; attempt < 3 && !forged; attempt++) {
      // Unposted blocks with txs: the batcher posts every 2 s.
      const more = load([urls[0], urls[2], urls[3]], devAccounts(10)[6 - attempt].privateKey, 20);
      await new Promise((r) => setTimeout(r, 2_500));
      await more.stop();
      process.kill(info.nodes[0].pid, 'SIGSTOP');
      try {
        await new Promise((r) => setTimeout(r, 3_000)); // a batch tx node 0 sent before is mined
        const next = (await pub.readContract({ ...inbox, functionName: 'nextBlock' })) as bigint;
        const top = Math.min((await status(urls[2])).head, (await status(urls[3])).head);
        const found = await newestBlockWithTx(urls[2], BigInt(top), next);
        if (!found) continue;
        const { height, tx } = found;
        const ours = commitProofFromJson((await getPreconfirmation(urls[2], tx))?.proof);
        expect(ours.height).toBe(height);
        const { epoch, view } = ours.qcs[0];
        const logs = await pub.getContractEvents({ ...inbox, eventName: 'BatchPosted', fromBlock: 0n });
        const cursor = (logs[logs.length - 1] as unknown as { args: { l1MessageCursor: bigint } }).args
          .l1MessageCursor;
        const poster = createWalletClient({
          account: privateKeyToAccount(devAccounts(2)[1].privateKey),
          chain: {
            id: await pub.getChainId(),
            name: 'l1',
            nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
            rpcUrls: { default: { http: [info.l1.rpc] } },
          },
          transport: http(info.l1.rpc),
        });
        let hash: Hex;
        try {
          hash = await poster.writeContract({
            ...inbox,
            functionName: 'postCertifiedBatch',
            args: [
              next,
              height,
              other,
              cursor,
              '0x01',
              [forgedQc(epoch, view, other), forgedQc(epoch, view + 1n, `0x${'cd'.repeat(32)}`)],
            ],
          });
        } catch (err) {
          // A batch node 0 sent before it stopped landed after all: try again above it.
          if (String(err).includes('UnexpectedFirstBlock')) continue;
          throw err;
        }
        const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 200 });
        expect(receipt.status).toBe('success');
        const [posted] = (await pub.getContractEvents({
          ...inbox,
          eventName: 'BatchPosted',
          fromBlock: receipt.blockNumber,
          toBlock: receipt.blockNumber,
        })) as unknown as Array<{ args: { index: bigint } }>;
        forged = { index: posted.args.index, height, view };
      } finally {
        process.kill(info.nodes[0].pid, 'SIGCONT');
      }
    }
    expect(forged, 'no unposted block with a tx to contradict in 3 tries').toBeDefined();
    if (!forged) return;
    const batchIndex = Number(forged.index);

    // Every live member finds it on its own and reports it; the first report slashes the member that
    // signed both certificates and still had stake (0; 2 and 3 were slashed above), the others find
    // nothing left to take; the dead member 1, which signed neither, keeps its stake.
    const reports = await until(
      'every live member reports the contradicting batch',
      async () => {
        const all = await Promise.all(live.map((i) => status(urls[i])));
        const found = all.map((x) =>
          x.certificateWatch?.recentConflicts.find((c) => c.batchIndex === batchIndex),
        );
        return found.every((f) => f) ? (found as NonNullable<(typeof found)[number]>[]) : undefined;
      },
      60_000,
    );
    for (const r of reports) {
      expect(r.height).toBe(Number(forged.height));
      expect(r.posted).toBe(other);
      expect(BigInt(r.view ?? -1)).toBe(forged.view);
      expect(['slashed', 'already-slashed']).toContain(r.verdict);
    }
    const slashing = reports.filter((r) => r.verdict === 'slashed');
    expect(slashing).toHaveLength(1);
    expect(slashing[0].slashed).toBe(1);
    for (const i of live) expect((await stakerInfo(info, i)).slashed, `member ${i}`).toBe(true);
    expect(await stakerInfo(info, 1)).toMatchObject({ slashed: false, stake: parseEther('2') });
    // The metric counts it too.
    const metrics = await (await fetch(`${urls[2]}/metrics`)).text();
    expect(metrics).toMatch(/seqnet_l1_certificate_conflicts_total\{verdict="(already-)?slashed"\} 1/);
  }, 300_000);
});

describe('devnet --nodes 4 --election dpos', () => {
  let devnet: DevnetProcess;
  let info: DevnetInfo;

  beforeAll(async () => {
    // Short epochs (20 L1 blocks): a vote-out takes effect at most two epochs later.
    ({ devnet, info } = await startElectionDevnet('dpos', ['--epoch-length', '20']));
  }, 240_000);
  afterAll(async () => {
    await devnet?.stop();
  });

  it('runs the committee the token holders elected; a member they vote out stops proposing at the next epoch, without a stop', async () => {
    const urls = info.nodes.map((n) => n.rpc);
    const s0 = await status(urls[0]);
    // Member i holds 100·(i + 1) delegated votes: the elected committee in order of votes.
    expect(s0.election).toMatchObject({
      mode: 'dpos',
      elected: [3, 2, 1, 0].map((i) => memberL1Account(i).address),
    });
    const traffic = load(urls, devAccounts(10)[9].privateKey, 15);
    await until('20 blocks', async () => ((await status(urls[2])).head >= 20 ? true : undefined), 120_000);
    const led = (await status(urls[0])).consensus.viewsLedBy;
    for (const n of led) expect(n, `views led ${led.join('/')}`).toBeGreaterThan(0);

    // The holders of 700 of the 1,000 locked votes eject member 0 in Governance.
    const pub = createPublicClient({ transport: http(info.l1.rpc) });
    const gov = { address: info.l1.contracts.Governance, abi: electionArtifacts().Governance.abi as Abi };
    const l1Chain = {
      id: await pub.getChainId(),
      name: 'l1',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [info.l1.rpc] } },
    } as const;
    const asMember = (i: number) =>
      createWalletClient({
        account: privateKeyToAccount(memberL1Account(i).privateKey),
        chain: l1Chain,
        transport: http(info.l1.rpc),
      });
    const mined = async (hash: Hex) =>
      expect((await pub.waitForTransactionReceipt({ hash, pollingInterval: 200 })).status).toBe('success');
    const ejected = memberL1Account(0).address;
    await mined(await asMember(3).writeContract({ ...gov, functionName: 'proposeEject', args: [ejected] }));
    const id = ((await pub.readContract({ ...gov, functionName: 'proposalCount' })) as bigint) - 1n;
    // The snapshot is the block before the proposal: vote from the next block on.
    await mined(await asMember(3).writeContract({ ...gov, functionName: 'vote', args: [id] }));
    await mined(await asMember(2).writeContract({ ...gov, functionName: 'vote', args: [id] }));
    await mined(await asMember(1).writeContract({ ...gov, functionName: 'execute', args: [id] }));
    expect(await pub.readContract({ ...gov, functionName: 'ejected', args: [ejected] })).toBe(true);

    // Every node switches to the epoch whose committee leaves member 0 out, while blocks go on.
    await until(
      'every node on an epoch without member 0',
      async () => {
        const all = await Promise.all(urls.map(status));
        return all.every((x) => !(x.election.proposers as number[]).includes(0)) ? all : undefined;
      },
      120_000,
    );
    const before = await Promise.all(urls.map(status));
    // Counted past the failure window: the new schedule replays the window's failed views, and a
    // member two of them make a suspect sits out until they leave it (FAILED_VIEWS_LOOKED_AT views).
    // Before the switch followed the chain it made such failures itself (members disagreed on leaders
    // until each saw the boundary): a CI run saw 0/9/0/17 over the first 26 views. So 20 blocks, and
    // FAILED_VIEWS_LOOKED_AT + 30 views at every node.
    const lastView = (s: NodeStatus) => BigInt(s.consensus.view);
    const viewsAfter = before.map(lastView).reduce((x, y) => (x > y ? x : y)) + FAILED_VIEWS_LOOKED_AT + 30n;
    await until(
      '20 blocks and the failure window after the switch',
      async () => {
        const all = await Promise.all(urls.map(status));
        const done = all[1].head >= before[1].head + 20 && all.every((x) => lastView(x) >= viewsAfter);
        return done ? true : undefined;
      },
      120_000,
    );
    expect(await traffic.stop()).toBeGreaterThan(0);
    const after = await Promise.all(urls.map(status));
    for (const [n, s] of after.entries()) {
      const delta = s.consensus.viewsLedBy.map((v, i) => v - before[n].consensus.viewsLedBy[i]);
      // Member 0 led no view since, at any node (its own included); the others went on leading.
      expect(delta[0], `node ${n}: views led since ${delta.join('/')}`).toBe(0);
      for (const i of [1, 2, 3])
        expect(delta[i], `node ${n}: views led since ${delta.join('/')}`).toBeGreaterThan(0);
      expect(s.election.elected).toEqual([3, 2, 1].map((i) => memberL1Account(i).address));
    }
    // Member 0 still certifies: the committee of 4 signs, and it keeps the chain.
    expect(after[0].head).toBeGreaterThanOrEqual(before[0].head);
  }, 360_000);
});

describe('devnet --nodes 4 --election pos --epoch-committees, member 3 not staked', () => {
  let devnet: DevnetProcess;
  let info: DevnetInfo;
  const restarted: Array<ReturnType<typeof spawn>> = [];

  beforeAll(async () => {
    // Short epochs (10 L1 blocks, ~10 s): the committee hands over at every one.
    ({ devnet, info } = await startElectionDevnet('pos', [
      '--unstaked-members',
      '3',
      '--epoch-length',
      '10',
      '--epoch-committees',
    ]));
  }, 240_000);
  afterAll(async () => {
    for (const c of restarted) c.kill('SIGTERM');
    await devnet?.stop();
  });

  it("each epoch's stakers certify its blocks: a staker that joins goes from following the chain to voting, without a stop", async () => {
    const urls = info.nodes.map((n) => n.rpc);
    const pub = createPublicClient({ transport: http(info.l1.rpc) });
    const verifier = {
      address: info.l1.contracts.CommitteeVerifier,
      abi: committeeVerifierArtifact().abi as Abi,
    };
    // An epoch's committee on L1, once a member has installed it (the chain may enter the epoch first).
    const l1Keys = (epoch: bigint) =>
      until(
        `epoch ${epoch}'s committee on L1`,
        async () =>
          (
            (await pub
              .readContract({ ...verifier, functionName: 'publicKeys', args: [epoch] })
              .catch(() => undefined)) as Hex[] | undefined
          )?.map(eip2537ToCompressedG1),
        60_000,
      );
    const own3 = toHex(
      loadOrCreateKeys(join(devnet.dataDir, 'node-3')).bls.toPublicKey().toBytes(),
    ).toLowerCase();
    const traffic = load(urls, devAccounts(10)[9].privateKey, 10);

    const preconfirmed = (nonceKey: Hex) => preconfirmedTransfer(urls[0], urls[1], nonceKey);

    // Epoch 0's instance is the committee file's four; from epoch 1 on, the stakers' three (members
    // 0–2): node 3 follows the chain.
    const following = await until(
      'an epoch of the three stakers, node 3 following',
      async () => {
        const all = await Promise.all(urls.map(status));
        return all.every(
          (s) => BigInt(s.consensus.instance.epoch) >= 1n && s.consensus.instance.committee.length === 3,
        ) && all[3].consensus.role === 'follower'
          ? all
          : undefined;
      },
      120_000,
    );
    expect(following[3].consensus.self).toBe(-1);
    const second = devAccounts(10)[8].privateKey;
    const before = await preconfirmed(second);
    const beforeEpoch = before.proof.qcs[0].epoch;
    expect(beforeEpoch).toBeGreaterThanOrEqual(1n);
    // The node names the committee of the proof's epoch, which is the one the L1 verifier holds for it.
    expect(before.committee.epoch).toBe(beforeEpoch.toString());
    expect(before.committee.publicKeys.map((k) => k.toLowerCase())).toEqual(
      (await l1Keys(beforeEpoch)).map((k) => k.toLowerCase()),
    );
    expect(before.committee.publicKeys.map((k) => k.toLowerCase())).not.toContain(own3);
    expect(verifyCommitProof(before.proof, before.committee)).toBeNull();
    // The L1 verifier takes it with the committee it installed for that epoch (a batch's check).
    const onL1 = (p: typeof before) =>
      pub.readContract({
        ...verifier,
        functionName: 'verifyCommitProof',
        args: [
          p.proof.chainId,
          p.proof.height,
          p.proof.blockHash,
          p.proof.qcs.map((qc) => qcForL1(qc, p.committee.publicKeys.length)),
        ],
      });
    await onL1(before);

    // Member 3's operator stakes; from the epoch its stake is pinned for, it certifies again.
    const joined = await stakeMember(devnet, info, 3, '4');
    expect(joined.code, joined.err).toBe(0);
    const voting = await until(
      'an epoch of four stakers, node 3 voting',
      async () => {
        const all = await Promise.all(urls.map(status));
        return all.every((s) => s.consensus.instance.committee.length === 4) &&
          all[3].consensus.role === 'member'
          ? all
          : undefined;
      },
      120_000,
    );
    const votesThen = voting[3].consensus.votesSigned;
    const after = await preconfirmed(second);
    const afterEpoch = after.proof.qcs[0].epoch;
    expect(afterEpoch).toBeGreaterThan(beforeEpoch);
    expect(after.committee.publicKeys.map((k) => k.toLowerCase())).toContain(own3);
    expect(after.committee.publicKeys.map((k) => k.toLowerCase())).toEqual(
      (await l1Keys(afterEpoch)).map((k) => k.toLowerCase()),
    );
    expect(verifyCommitProof(after.proof, after.committee)).toBeNull();
    await onL1(after);
    await until(
      'node 3 votes',
      async () => ((await status(urls[3])).consensus.votesSigned > votesThen ? true : undefined),
      30_000,
    );

    // A member SIGKILLed through two handovers: the other three (a quorum of four) hand over without
    // it; restarted on its data dir, it takes the blocks it missed across the boundaries by block sync
    // (each proof checked against its epoch's committee), lands in the instance the chain is in, and
    // votes there.
    const victim = 1;
    const { argv, env } = processLaunch(info.nodes[victim].pid);
    const atKill = (await status(urls[0])).consensus;
    const epochAtKill = BigInt(atKill.instance.epoch);
    const livingMembers = [0, 2, 3];
    const syncsAtKill = await Promise.all(
      livingMembers.map(async (i) => (await status(urls[i])).consensus.blockSync.syncs),
    );
    process.kill(info.nodes[victim].pid, 'SIGKILL');
    const handedOver = await until(
      'two handovers without it',
      async () => {
        const c = (await status(urls[0])).consensus;
        return BigInt(c.instance.epoch) >= epochAtKill + 2n ? c : undefined;
      },
      60_000,
    );
    // Views start again at each instance: the count of views entered goes on across them, so it holds
    // at least the new instance's views besides those of the instance between.
    expect(handedOver.viewsEntered - atKill.viewsEntered).toBeGreaterThanOrEqual(Number(handedOver.view));
    // A member that handed over (no block sync since) starts the instance on its boundary block with
    // the leaders known (nothing failed before its view 1): its votes go to their one collector, not
    // to every member, as they did for an instance's first 64 views until stop 44.
    // (null while a member is between instances: its next driver starts once the boundary block is
    // executed.)
    const handedOverHere = await until(
      'the members in their instance',
      async () => {
        const all = await Promise.all(livingMembers.map(async (i) => (await status(urls[i])).consensus));
        return all.every((c) => c.leadersUnknownUntil !== null)
          ? all.filter((c, k) => c.blockSync.syncs === syncsAtKill[k])
          : undefined;
      },
      30_000,
    );
    expect(handedOverHere.length).toBeGreaterThan(0);
    for (const c of handedOverHere) expect(c.leadersUnknownUntil).toBe('0');
    const child = spawn(argv[0], argv.slice(1), { env, stdio: 'ignore' });
    restarted.push(child);
    const target = (await status(urls[0])).head;
    const back = await until(
      'the restarted member caught up and voting',
      async () => {
        const s = await status(urls[victim]).catch(() => undefined);
        return s && s.head >= target && s.consensus.role === 'member' && s.consensus.votesSigned > 0
          ? s
          : undefined;
      },
      90_000,
    );
    expect(BigInt(back.consensus.instance.epoch)).toBeGreaterThanOrEqual(epochAtKill + 2n);
    const [theirs, its] = await until(
      'the same instance as the others',
      async () => {
        const both = await Promise.all([status(urls[0]), status(urls[victim])]);
        return both[0].consensus.instance.epoch === both[1].consensus.instance.epoch ? both : undefined;
      },
      30_000,
    );
    expect(its.consensus.instance.rootHeight).toBe(theirs.consensus.instance.rootHeight);
    expect(its.consensus.instance.committee).toEqual(theirs.consensus.instance.committee);
    expect(await traffic.stop()).toBeGreaterThan(0);

    // The members installed each epoch's committee in the CommitteeVerifier from the StakeRegistry,
    // one tx an epoch (the members stagger and check first): no epoch was installed twice, and each
    // install a member reports is one of the verifier's.
    const installs = (await Promise.all(urls.map(status))).flatMap(
      (x) => x.committeeInstalls?.epochs.filter((i) => i.outcome === 'installed') ?? [],
    );
    const set = await pub.getContractEvents({ ...verifier, eventName: 'CommitteeSet', fromBlock: 0n });
    const epochsSet = set.map((e) => Number((e.args as { epoch: bigint }).epoch));
    expect(new Set(epochsSet).size).toBe(epochsSet.length);
    for (const i of installs) expect(epochsSet).toContain(i.epoch);
    expect(new Set(installs.map((i) => i.epoch)).size).toBe(installs.length);
    expect(installs.length).toBeGreaterThanOrEqual(2);

    // One chain: every node holds the same block at the later tx's height, and the batches of both
    // epochs' blocks are on L1 (the Inbox checked each batch's proof against its epoch's committee).
    const height = after.blockNumber;
    const hashes = await Promise.all(
      urls.map(
        async (u) => (await rpcResult<{ hash: Hex }>(u, 'eth_getBlockByNumber', [height, false])).hash,
      ),
    );
    expect(new Set(hashes).size).toBe(1);
    await until(
      'the batches up to the later tx on L1',
      async () => {
        const b = (await status(urls[0])) as unknown as { batcher: { postedTo: number } };
        return b.batcher.postedTo >= Number(BigInt(height)) ? true : undefined;
      },
      60_000,
    );
    // Outputs (the withdrawals' roots) are certified by the epoch's committee as well: the StateOracle
    // took ones whose certificate is of a later epoch than 0, checked against that epoch's keys on L1.
    const oracle = { address: info.l1.contracts.StateOracle, abi: l1Artifacts().StateOracle.abi as Abi };
    await until(
      "an output certified by an epoch's committee on L1",
      async () => {
        const events = await pub.getContractEvents({ ...oracle, eventName: 'OutputProposed', fromBlock: 0n });
        for (const e of events.slice(-5)) {
          const tx = await pub.getTransaction({ hash: e.transactionHash as Hex });
          const call = decodeFunctionData({ abi: oracle.abi, data: tx.input });
          const certificate = call.args?.[4] as { epoch: bigint } | undefined;
          if (call.functionName === 'proposeCertified' && certificate && certificate.epoch >= 1n) return true;
        }
        return undefined;
      },
      60_000,
    );
  }, 420_000);

  it('a staker outside the committee file: the members learn its peer from its signed record, and it certifies with them', async () => {
    const urls = info.nodes.map((n) => n.rpc);
    // A fifth node: the devnet's committee file and chain, its own data dir, keys and L1 account, no
    // batcher key. Its key is in no committee, so it follows the chain.
    const { dataDir, argv, env, log, url, launch } = await extraNode(
      info,
      join(devnet.dataDir, 'node-4'),
      restarted,
    );
    env.SEQNET_REPORTER_KEY = memberL1Account(4).privateKey;
    const outsiderKey = toHex(loadOrCreateKeys(dataDir).bls.toPublicKey().toBytes()).toLowerCase();
    const outsiderPeer = (await loadOrCreateNodeKey(nodeKeyPath(dataDir))).peerId;
    const committeeFile = readCommitteeFile(argv);
    expect(committeeFile.members.map((m) => m.blsPublicKey.toLowerCase())).not.toContain(outsiderKey);
    expect(committeeFile.members.map((m) => m.peerId)).not.toContain(outsiderPeer);
    const child = launch([]);
    await until(
      'the outsider following the chain',
      async () => {
        const s = await status(url).catch(() => undefined);
        return s && s.consensus.role === 'follower' && s.head >= (await status(urls[2])).head - 2
          ? s
          : undefined;
      },
      90_000,
    );

    // Its operator stakes more than any member (10 ETH against 1–4): from the epoch its stake is pinned
    // for it is in the committee of four, member 0 (the least stake) out.
    const staked = await stakeMember(devnet, info, 4, '10');
    expect(staked.code, staked.err).toBe(0);
    const traffic = load(urls.slice(1), devAccounts(10)[7].privateKey, 10);
    const joined = await until(
      'an instance with the outsider, it voting',
      async () => {
        const all = await Promise.all([url, ...urls.slice(1)].map(status));
        return all.every((s) =>
          s.consensus.instance.committee.map((k) => k.toLowerCase()).includes(outsiderKey),
        ) &&
          all[0].consensus.role === 'member' &&
          all[0].consensus.votesSigned > 0
          ? all
          : undefined;
      },
      120_000,
    );
    const at = joined[0].consensus.instance.committee.map((k) => k.toLowerCase()).indexOf(outsiderKey);
    // Every other member maps the outsider's key to the peer that handed its record over, and is
    // connected to it: its votes, QCs and timeouts reach it directly.
    for (const u of urls.slice(1)) {
      const s = (await status(u)) as unknown as {
        consensus: {
          memberRecordsLearned: number;
          members: Array<{ peerId: string | null; connected: boolean }>;
        };
      };
      expect(s.consensus.members[at]).toMatchObject({ peerId: outsiderPeer, connected: true });
      expect(s.consensus.memberRecordsLearned).toBeGreaterThanOrEqual(1);
    }
    // It leads views (10 of its 19 staked ETH: about half) and the chain goes on through them; a tx sent
    // to it is preconfirmed by a certificate of the epoch's committee, which holds its key.
    const proposalsThen = joined[0].consensus.proposals;
    await until(
      'the outsider proposes blocks that commit',
      async () => ((await status(url)).consensus.proposals > proposalsThen + 3 ? true : undefined),
      60_000,
    );
    // It looks after the L1's epoch committees too (after the file's members: it finds each installed).
    const looked = await until(
      'the outsider looking at the epochs on L1',
      async () => {
        const epochs = (await status(url)).committeeInstalls?.epochs ?? [];
        return epochs.length > 0 ? epochs : undefined;
      },
      60_000,
    );
    for (const e of looked) expect(['installed', 'by-another']).toContain(e.outcome);
    const pre = await preconfirmedTransfer(url, url, devAccounts(10)[6].privateKey);
    expect(pre.committee.publicKeys.map((k) => k.toLowerCase())).toContain(outsiderKey);
    expect(verifyCommitProof(pre.proof, pre.committee)).toBeNull();
    // Member 0 (out of the committee now) follows the same chain.
    const s0 = await until(
      'member 0 following',
      async () => {
        const s = await status(urls[0]);
        return s.consensus.role === 'follower' ? s : undefined;
      },
      60_000,
    );
    expect(s0.consensus.self).toBe(-1);

    // The outsider restarted as a byzantine leader (a second proposal beside each of its own): the
    // members report its double proposals by its key, which no committee file lists, and the L1
    // Slasher takes its stake. (The traffic goes on: a leader proposes only when there is work.)
    const exited = new Promise((res) => child.once('exit', res));
    child.kill('SIGTERM');
    await exited;
    launch(['--misbehave.equivocate']);
    await until('the outsider back', () => status(url).catch(() => undefined), 60_000).catch((err) => {
      throw new Error(`${(err as Error).message}; its log ends:\n${readFileSync(log, 'utf8').slice(-3000)}`);
    });
    const slashed = await until(
      'the outsider slashed on L1',
      async () => {
        const s = await stakerInfo(info, 4);
        return s.slashed ? s : undefined;
      },
      120_000,
    );
    expect(slashed.stake).toBe(0n);
    // The member that sent the report lists it once its receipt is in (a poll after the block).
    const report = await until(
      "a member's report of the outsider",
      async () =>
        (await Promise.all(urls.map(status)))
          .flatMap((x) => x.slashReports as Array<{ member: number; key: Hex; outcome: string }>)
          .find((r) => r.key.toLowerCase() === outsiderKey && r.outcome === 'slashed'),
      30_000,
    );
    expect(report.member).toBe(-1);
    expect(await traffic.stop()).toBeGreaterThan(0);
  }, 360_000);

  it("a --follow node whose committee file names one member only follows each epoch's committee, and keeps following once that member is gone", async () => {
    const urls = info.nodes.map((n) => n.rpc);
    // A follower configured long ago: its committee file lists member 0 alone (its key, peer and
    // address). The certifying committee it finds on L1 is the stakers', whose peers it learns from
    // their member records.
    const { argv, env, url, launch } = await extraNode(info, join(devnet.dataDir, 'follower'), restarted);
    delete env.SEQNET_REPORTER_KEY;
    const file = readCommitteeFile(argv);
    const only = file.members[0];
    const oneMember = {
      ...file,
      members: [only],
      bootnodes: file.bootnodes.filter((b) => b.endsWith(`/p2p/${only.peerId}`)),
    };
    expect(oneMember.bootnodes.length).toBeGreaterThan(0);
    const oneMemberPath = join(devnet.dataDir, 'committee-member-0-only.json');
    writeFileSync(oneMemberPath, JSON.stringify(oneMember));
    argv[argv.indexOf('--committee') + 1] = oneMemberPath;
    launch(['--follow']);
    const traffic = load(urls.slice(1), devAccounts(10)[5].privateKey, 10);
    type Followed = {
      followedCommittee: {
        epoch: string;
        members: Array<{ blsPublicKey: Hex; peerId: string | null }>;
      } | null;
      followedPeers: string[] | null;
    };
    const others = file.members.slice(1).map((m) => m.peerId);
    const caughtUp = await until(
      "the follower following the epoch's committee by its members' peers",
      async () => {
        const [s, s1] = await Promise.all([status(url).catch(() => undefined), status(urls[1])]);
        const f = s?.consensus as unknown as Followed | undefined;
        return s &&
          f?.followedCommittee &&
          s.head >= s1.head - 2 &&
          others.every((p) => f.followedPeers?.includes(p))
          ? { s, f }
          : undefined;
      },
      90_000,
    );
    expect(caughtUp.s.consensus.role).toBe('follower');
    expect(BigInt(caughtUp.f.followedCommittee?.epoch ?? '0')).toBeGreaterThanOrEqual(1n);
    // The committee it follows is the L1's for that epoch, each key mapped to the peer that holds it.
    for (const m of caughtUp.f.followedCommittee?.members ?? []) {
      const inFile = file.members.find((x) => x.blsPublicKey.toLowerCase() === m.blsPublicKey.toLowerCase());
      if (inFile && inFile.peerId !== only.peerId) expect(m.peerId).toBe(inFile.peerId);
    }

    // Member 0 is gone for good (the only node its file names): the follower goes on taking the
    // committee's blocks from the others, and holds the same chain.
    process.kill(info.nodes[0].pid, 'SIGKILL');
    const killedAt = (await status(urls[1])).head;
    const later = await until(
      'the follower past the kill',
      async () => {
        const s = await status(url);
        return s.head >= killedAt + 5 ? s : undefined;
      },
      60_000,
    );
    expect(await traffic.stop()).toBeGreaterThan(0);
    const height = `0x${later.head.toString(16)}`;
    const [mine, theirs] = await Promise.all(
      [url, urls[1]].map(
        async (u) => (await rpcResult<{ hash: Hex }>(u, 'eth_getBlockByNumber', [height, false])).hash,
      ),
    );
    expect(mine).toBe(theirs);
  }, 240_000);
});

/**
 * A node process beside the devnet's: node 2's command line with its own data dir, RPC and p2p ports,
 * no batcher key, its output to <dataDir>/node.log (as the devnet's nodes'). `launch` starts it with
 * the flags given added (again after a stop: the same data dir); `argv` and `env` may be changed first.
 */
async function extraNode(info: DevnetInfo, dataDir: string, spawned: Array<ReturnType<typeof spawn>>) {
  const rpcPort = await freeConsecutivePorts(2);
  const p2pPort = rpcPort + 1;
  const { argv, env } = processLaunch(info.nodes[2].pid);
  const swap = (flag: string, value: string) => {
    const i = argv.indexOf(flag);
    expect(i, flag).toBeGreaterThan(0);
    argv[i + 1] = value;
  };
  swap('--data-dir', dataDir);
  swap('--rpc-port', String(rpcPort));
  swap('--p2p-listen', `/ip4/127.0.0.1/tcp/${p2pPort}`);
  delete env.SEQNET_BATCHER_KEY;
  const log = join(dataDir, 'node.log');
  mkdirSync(dataDir, { recursive: true });
  const launch = (extra: string[]) => {
    const fd = openSync(log, 'a');
    const p = spawn(argv[0], [...argv.slice(1), ...extra], { env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    spawned.push(p);
    return p;
  };
  return { dataDir, argv, env, log, url: `http://127.0.0.1:${rpcPort}`, launch };
}

/** The committee file a node's command line names (`--committee`). */
function readCommitteeFile(argv: string[]) {
  return JSON.parse(readFileSync(argv[argv.indexOf('--committee') + 1], 'utf8')) as {
    members: Array<{ blsPublicKey: Hex; peerId: string }>;
    bootnodes: string[];
  };
}

/**
 * A transfer from `key` sent to the node at `sendTo` now, and its preconfirmation from `askAt` once
 * committed: proof, epoch and the committee the node names.
 */
async function preconfirmedTransfer(sendTo: string, askAt: string, key: Hex) {
  const tx = await sendTransfer(sendTo, key, await nonceOf(sendTo, key));
  expect(tx).toBeDefined();
  const p = await until(
    'the preconfirmation',
    async () =>
      (await rpcResult<{
        proof: unknown;
        committee: { publicKeys: Hex[]; quorum: number; epoch: string };
        blockNumber: Hex;
      } | null>(askAt, 'seqnet_getPreconfirmation', [tx])) ?? undefined,
    30_000,
  );
  return { tx: tx as Hex, ...p, proof: commitProofFromJson(p.proof) };
}

/** The next nonce of `key`'s account at the node at `url`. */
async function nonceOf(url: string, key: Hex): Promise<bigint> {
  return BigInt(
    await rpcResult<Hex>(url, 'eth_getTransactionCount', [privateKeyToAccount(key).address, 'pending']),
  );
}
