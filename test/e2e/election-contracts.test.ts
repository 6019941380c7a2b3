import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretKey } from '@chainsafe/blst';
import {
  type Abi,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  encodeDeployData,
  type Hex,
  http,
  type PublicClient,
  parseEther,
  parseEventLogs,
  zeroAddress,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateQc, proposalMessage, quorumFor, signVote } from '../../src/consensus/certificate.js';
import type { Equivocation, Vote } from '../../src/consensus/core/types.js';
import { AuctionSchedule } from '../../src/election/auction.js';
import { type EpochClock, epochStart, pinnedBlockFor } from '../../src/election/epochs.js';
import { StakeWeightedSchedule } from '../../src/election/pos.js';
import { devAccounts } from '../../src/execution/genesis.js';
import { Anvil } from '../../src/l1/anvil.js';
import { eip2537ToCompressedG1, g1ToEip2537, g2ToEip2537, verifyQcArgs } from '../../src/l1/bls-encoding.js';
import { customErrorOf } from '../../src/l1/clients.js';
import { committeeVerifierArtifact, type L1Deployment } from '../../src/l1/deploy.js';
import {
  deployElectionContracts,
  doubleSignArgs,
  type ElectionDeployment,
  type ElectionDeployOptions,
  EpochNotFinalError,
  electionArtifacts,
  installGasBound,
  readAuctionWinner,
  readElectedCommittee,
  readStakedCommittee,
  registrationArgs,
  sequencerKeyHash,
} from '../../src/l1/election.js';
import { compileContract } from '../../src/l1/solc.js';
import { loadOrCreateKeys } from '../../src/node/keys.js';
import { toHex } from '../../src/util/bytes.js';
import { runSeqnet } from '../helpers/cli.js';
import { freePort } from '../helpers/devnet.js';
import { chiSquareCritical999, chiSquareStatistic } from '../helpers/stats.js';

/**
 * The election contracts on a real anvil (Prague): staking with proofs of possession, the pos
 * committee and stake-weighted leaders from finalised L1 state, slashing of real BLS equivocation,
 * the auction paying the treasury, governance elections, ejection and treasury spending — and a
 * named custom error for every bad input.
 */

const CHAIN_ID = 42069n;
const EPOCH_LENGTH = 20n;
const MIN_STAKE = parseEther('1');
const UNBONDING = 5n;
const accounts = devAccounts(10);
const [deployer, alice, bob, carol, dave, erin, holder1, holder2, holder3] = accounts;
const art = electionArtifacts();
const abis = {
  StakeRegistry: art.StakeRegistry.abi as Abi,
  Slasher: art.Slasher.abi as Abi,
  Governance: art.Governance.abi as Abi,
  SequencerAuction: art.SequencerAuction.abi as Abi,
};
const tokenArtifact = compileContract('test/TestToken.sol', 'TestToken');
const tokenAbi = tokenArtifact.abi as Abi;
const blsKey = (i: number) => SecretKey.fromKeygen(new Uint8Array(32).fill(90 + i));
const compressed = (k: SecretKey) => toHex(k.toPublicKey().toBytes(true));

/** The custom error name (and args) a promise rejects with, from viem's decoded revert. */
async function revertOf(p: Promise<unknown>): Promise<{ name: string; args?: readonly unknown[] }> {
  try {
    await p;
  } catch (err) {
    const e = customErrorOf(err);
    if (e) return e;
    throw err;
  }
  throw new Error('the call did not revert');
}

describe('election contracts on L1: StakeRegistry, Slasher, SequencerAuction, Governance', () => {
  let anvil: Anvil;
  let pub: PublicClient;
  let c: ElectionDeployment;
  let token: Hex;
  let clock: EpochClock;
  let l1ChainId: number;
  const gasUsed = new Map<string, bigint>();

  const wallet = (key: Hex) =>
    createWalletClient({
      account: privateKeyToAccount(key),
      chain: {
        id: l1ChainId,
        name: 'anvil',
        nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
        rpcUrls: { default: { http: [anvil.url] } },
      },
      transport: http(anvil.url),
    });

  type Name = keyof typeof abis;
  /**
   * Send, expect-a-revert and read helpers for the election contracts of deployment `d()`; the gas
   * of its sends is logged under `label` (the README quotes the main deployment's).
   */
  const on = (d: () => ElectionDeployment, label = '') => ({
    /** Simulates, then sends and waits: a revert surfaces as the simulation's decoded custom error. */
    async send(
      key: Hex,
      name: Name | 'Token',
      functionName: string,
      args: readonly unknown[],
      value?: bigint,
    ) {
      const address = name === 'Token' ? token : d()[name];
      const abi = name === 'Token' ? tokenAbi : abis[name];
      const account = privateKeyToAccount(key);
      const { request } = await pub.simulateContract({ address, abi, functionName, args, account, value });
      const hash = await wallet(key).writeContract(request as never);
      const r = await pub.waitForTransactionReceipt({ hash, pollingInterval: 20 });
      expect(r.status).toBe('success');
      gasUsed.set(`${label}${name}.${functionName}`, r.gasUsed);
      return r;
    },
    fails: (key: Hex, name: Name, functionName: string, args: readonly unknown[], value?: bigint) =>
      revertOf(
        pub.simulateContract({
          address: d()[name],
          abi: abis[name],
          functionName,
          args,
          account: privateKeyToAccount(key),
          value,
        }),
      ),
    read: <T>(name: Name, functionName: string, args: readonly unknown[] = []) =>
      pub.readContract({ address: d()[name], abi: abis[name], functionName, args }) as Promise<T>,
  });
  const { send, fails, read } = on(() => c);
  /** This file's election deployment (committees of 4, elected ones of 2, stakes in ETH), changed by `with_`. */
  const deployElection = (with_: Partial<ElectionDeployOptions> = {}) =>
    deployElectionContracts({
      rpcUrl: anvil.url,
      deployerKey: deployer.privateKey,
      chainId: CHAIN_ID,
      clock,
      minStake: MIN_STAKE,
      unbondingDelay: UNBONDING,
      maxCommitteeSize: 4,
      governanceToken: token,
      governanceCommitteeSize: 2,
      votingPeriod: 10n,
      auction: { minBid: parseEther('0.1'), minIncrementBps: 500, closeBlocks: 5n },
      ...with_,
    });
  const mine = async (n: bigint) => {
    await pub.request({ method: 'anvil_mine' as never, params: [`0x${n.toString(16)}`] as never });
  };
  const blockNumber = () => pub.getBlockNumber({ cacheTime: 0 });
  const mineTo = async (target: bigint) => {
    const now = await blockNumber();
    if (target > now) await mine(target - now);
  };
  const stake = async (who: { privateKey: Hex; address: Hex }, key: SecretKey, amount: bigint) => {
    const { key: k, pop } = registrationArgs(key, l1ChainId, c.StakeRegistry, who.address);
    await send(who.privateKey, 'StakeRegistry', 'register', [k, pop, amount], amount);
  };
  /** Writes `contracts` as `dir`'s deployment file; returns a `seqnet stake ACTION` runner for `operator`. */
  const stakeCli = (contracts: ElectionDeployment, dir: string, operator: { privateKey: Hex }) => {
    const deploymentFile = join(dir, 'deployment.json');
    writeFileSync(
      deploymentFile,
      JSON.stringify({
        election: {
          genesisBlock: clock.genesisBlock.toString(),
          epochLength: clock.epochLength.toString(),
          contracts,
        },
      }),
    );
    return (action: string, ...extra: string[]) =>
      runSeqnet([
        'stake',
        action,
        '--l1-rpc',
        anvil.url,
        '--l1-deployment',
        deploymentFile,
        '--data-dir',
        join(dir, 'node'),
        '--private-key',
        operator.privateKey,
        ...extra,
      ]);
  };

  beforeAll(async () => {
    anvil = await Anvil.start({ host: '127.0.0.1', port: await freePort(), chainId: 31337, blockTime: 0 });
    pub = createPublicClient({ transport: http(anvil.url) }) as PublicClient;
    l1ChainId = await pub.getChainId();
    const w = wallet(deployer.privateKey);
    const hash = await w.deployContract({
      abi: tokenAbi,
      bytecode: tokenArtifact.bytecode,
      args: ['Rollup', 'RLP', parseEther('1000000')],
    });
    token = (await pub.waitForTransactionReceipt({ hash })).contractAddress as Hex;
    for (const h of [holder1, holder2, holder3])
      await send(deployer.privateKey, 'Token', 'transfer', [h.address, parseEther('1000')]);
    clock = { genesisBlock: (await blockNumber()) + 40n, epochLength: EPOCH_LENGTH };
    c = await deployElection();
  }, 60_000);
  afterAll(async () => {
    await anvil?.stop();
    // Gas of each function's last successful call (the README quotes these).
    console.log([...gasUsed].map(([f, g]) => `${f}: ${g}`).join('\n'));
  });

  it('StakeRegistry: registration checks the key, the proof of possession and the stake, with named errors', async () => {
    const k = blsKey(0);
    const { key, pop } = registrationArgs(k, l1ChainId, c.StakeRegistry, alice.address);
    expect(
      (
        await fails(
          alice.privateKey,
          'StakeRegistry',
          'register',
          [key, pop, parseEther('0.5')],
          parseEther('0.5'),
        )
      ).name,
    ).toBe('BelowMinimumStake');
    expect((await fails(alice.privateKey, 'StakeRegistry', 'register', [key, pop, MIN_STAKE], 1n)).name).toBe(
      'WrongValue',
    );
    expect(
      (
        await fails(
          alice.privateKey,
          'StakeRegistry',
          'register',
          [toHex(new Uint8Array(128)), pop, MIN_STAKE],
          MIN_STAKE,
        )
      ).name,
    ).toBe('BadPublicKey');
    // A proof made for another staker does not prove possession for this one.
    const forBob = registrationArgs(k, l1ChainId, c.StakeRegistry, bob.address);
    expect(
      (await fails(alice.privateKey, 'StakeRegistry', 'register', [key, forBob.pop, MIN_STAKE], MIN_STAKE))
        .name,
    ).toBe('BadProofOfPossession');
    expect(
      (await fails(alice.privateKey, 'StakeRegistry', 'register', [key, '0x1234', MIN_STAKE], MIN_STAKE))
        .name,
    ).toBe('BadProofOfPossession');
    await stake(alice, k, MIN_STAKE);
    expect(
      (await fails(alice.privateKey, 'StakeRegistry', 'register', [key, pop, MIN_STAKE], MIN_STAKE)).name,
    ).toBe('AlreadyRegistered');
    expect(
      (await fails(bob.privateKey, 'StakeRegistry', 'register', [key, forBob.pop, MIN_STAKE], MIN_STAKE))
        .name,
    ).toBe('KeyTaken');
    expect((await fails(bob.privateKey, 'StakeRegistry', 'addStake', [1n], 1n)).name).toBe('NotRegistered');
    expect((await fails(alice.privateKey, 'StakeRegistry', 'addStake', [0n])).name).toBe('ZeroAmount');
    expect((await fails(bob.privateKey, 'StakeRegistry', 'setSlasher', [bob.address])).name).toBe(
      'NotDeployer',
    );
    expect((await fails(deployer.privateKey, 'StakeRegistry', 'setSlasher', [bob.address])).name).toBe(
      'SlasherAlreadySet',
    );
    expect((await fails(bob.privateKey, 'StakeRegistry', 'slash', [alice.address, bob.address])).name).toBe(
      'NotSlasher',
    );
    await send(alice.privateKey, 'StakeRegistry', 'addStake', [MIN_STAKE], MIN_STAKE);
    expect((await read<{ stake: bigint }>('StakeRegistry', 'stakerInfo', [alice.address])).stake).toBe(
      2n * MIN_STAKE,
    );
  });

  it('StakeRegistry: unbonding keeps the minimum or nothing, and withdraws only after the delay', async () => {
    expect((await fails(alice.privateKey, 'StakeRegistry', 'unbond', [3n * MIN_STAKE])).name).toBe(
      'ExceedsStake',
    );
    expect((await fails(alice.privateKey, 'StakeRegistry', 'unbond', [MIN_STAKE + 1n])).name).toBe(
      'BelowMinimumStake',
    );
    expect((await fails(alice.privateKey, 'StakeRegistry', 'unbond', [0n])).name).toBe('ZeroAmount');
    expect((await fails(alice.privateKey, 'StakeRegistry', 'withdraw', [])).name).toBe('NothingToWithdraw');
    await send(alice.privateKey, 'StakeRegistry', 'unbond', [MIN_STAKE]);
    const { withdrawableAt } = await read<{ withdrawableAt: bigint }>('StakeRegistry', 'stakerInfo', [
      alice.address,
    ]);
    const early = await fails(alice.privateKey, 'StakeRegistry', 'withdraw', []);
    expect(early.name).toBe('StillUnbonding');
    expect(early.args?.[0]).toBe(withdrawableAt);
    await mineTo(withdrawableAt);
    const before = await pub.getBalance({ address: alice.address });
    const r = await send(alice.privateKey, 'StakeRegistry', 'withdraw', []);
    const after = await pub.getBalance({ address: alice.address });
    expect(after - before + r.gasUsed * r.effectiveGasPrice).toBe(MIN_STAKE);
    expect((await read<{ stake: bigint }>('StakeRegistry', 'stakerInfo', [alice.address])).stake).toBe(
      MIN_STAKE,
    );
  });

  it('pos: the committee and seed of an epoch come from its pinned L1 block; leaders follow stake (chi-square)', async () => {
    // Alice has 1 ETH staked; Bob 2, Carol 5 join before the epoch-1 pin (= genesis).
    await stake(bob, blsKey(1), 2n * MIN_STAKE);
    await stake(carol, blsKey(2), 5n * MIN_STAKE);
    const pin1 = pinnedBlockFor(clock, 1n);
    // Not final yet: nobody can know the epoch's committee or seed.
    await expect(
      readStakedCommittee(pub, c.StakeRegistry, clock, 1n, await blockNumber()),
    ).rejects.toBeInstanceOf(EpochNotFinalError);
    await mineTo(pin1 + 1n);
    // Dave joins after the pin: not in epoch 1's committee (nor epoch 0's), in epoch 2's.
    await stake(dave, blsKey(3), 8n * MIN_STAKE);
    await mineTo(pinnedBlockFor(clock, 2n) + 1n);
    const finalised = await blockNumber();
    const e1 = await readStakedCommittee(pub, c.StakeRegistry, clock, 1n, finalised);
    const e2 = await readStakedCommittee(pub, c.StakeRegistry, clock, 2n, finalised);
    expect(e1.members).toEqual([carol.address, bob.address, alice.address]);
    expect(e1.stakes).toEqual([5n, 2n, 1n].map((x) => x * MIN_STAKE));
    expect(e1.publicKeys).toEqual([compressed(blsKey(2)), compressed(blsKey(1)), compressed(blsKey(0))]);
    expect(e2.members).toEqual([dave.address, carol.address, bob.address, alice.address]);
    expect(e1.seed).toBe((await pub.getBlock({ blockNumber: pin1 })).mixHash);
    expect(e2.seed).not.toBe(e1.seed);
    // Leaders over many views, in proportion to stake: the chi-square statistic stays under the
    // 0.1 % critical value; the same draws against equal shares (the wrong model) are rejected.
    const views = 40_000;
    for (const e of [e1, e2]) {
      const schedule = new StakeWeightedSchedule(e);
      const counts = new Array<number>(e.stakes.length).fill(0);
      for (let v = 0; v < views; v++) counts[schedule.leaderFor(BigInt(v))]++;
      const total = e.stakes.reduce((a, b) => a + b, 0n);
      const expected = e.stakes.map((s) => (Number(s) / Number(total)) * views);
      const df = e.stakes.length - 1;
      expect(chiSquareStatistic(counts, expected)).toBeLessThan(chiSquareCritical999(df));
      const uniform = e.stakes.map(() => views / e.stakes.length);
      expect(chiSquareStatistic(counts, uniform)).toBeGreaterThan(chiSquareCritical999(df));
    }
    // Every node computes the same leaders from the same L1 state.
    const again = new StakeWeightedSchedule(
      await readStakedCommittee(pub, c.StakeRegistry, clock, 2n, finalised),
    );
    const s2 = new StakeWeightedSchedule(e2);
    for (let v = 0n; v < 200n; v++) expect(again.leaderFor(v)).toBe(s2.leaderFor(v));
  });

  it('Slasher: two signed votes (or proposals) for one view take the stake and pay the reporter', async () => {
    const key = blsKey(1); // Bob's
    const view = 77n;
    const vote = (blockHash: Hex): Vote => ({
      epoch: 1n,
      view,
      blockHash,
      voter: 2,
      signature: signVote(key, CHAIN_ID, 1n, view, blockHash),
    });
    const a = vote(`0x${'aa'.repeat(32)}`);
    const b = vote(`0x${'bb'.repeat(32)}`);
    const evidence: Equivocation = {
      member: 2,
      epoch: 1n,
      view,
      phase: 'vote',
      first: { kind: 'vote', vote: a },
      second: { kind: 'vote', vote: b },
    };
    const args = doubleSignArgs(evidence, compressed(key));
    expect(
      (
        await fails(erin.privateKey, 'Slasher', 'slashDoubleSign', [
          args[0],
          args[1],
          args[2],
          args[3],
          args[4],
          args[4],
        ])
      ).name,
    ).toBe('NotConflicting');
    expect(
      (
        await fails(erin.privateKey, 'Slasher', 'slashDoubleSign', [
          args[0],
          args[1],
          args[2],
          args[3],
          args[4],
          { ...args[5], signature: args[4].signature },
        ])
      ).name,
    ).toBe('BadSignature');
    expect(
      (
        await fails(erin.privateKey, 'Slasher', 'slashDoubleSign', [
          args[0],
          args[1],
          args[2],
          args[3] + 1n,
          args[4],
          args[5],
        ])
      ).name,
    ).toBe('BadSignature');
    expect(
      (
        await fails(erin.privateKey, 'Slasher', 'slashDoubleSign', [
          2,
          args[1],
          args[2],
          args[3],
          args[4],
          args[5],
        ])
      ).name,
    ).toBe('UnknownPhase');
    const stranger = toHex(g1ToEip2537(blsKey(9).toPublicKey()));
    expect(
      (
        await fails(erin.privateKey, 'Slasher', 'slashDoubleSign', [
          args[0],
          stranger,
          args[2],
          args[3],
          args[4],
          args[5],
        ])
      ).name,
    ).toBe('UnknownKey');
    const before = await pub.getBalance({ address: erin.address });
    const r = await send(erin.privateKey, 'Slasher', 'slashDoubleSign', [...args]);
    const after = await pub.getBalance({ address: erin.address });
    expect(after - before + r.gasUsed * r.effectiveGasPrice).toBe((2n * MIN_STAKE) / 10n);
    const bobInfo = await read<{ stake: bigint; slashed: boolean }>('StakeRegistry', 'stakerInfo', [
      bob.address,
    ]);
    expect(bobInfo).toMatchObject({ stake: 0n, slashed: true });
    expect(await read<bigint>('StakeRegistry', 'burned')).toBe((2n * MIN_STAKE * 9n) / 10n);
    expect((await fails(erin.privateKey, 'Slasher', 'slashDoubleSign', [...args])).name).toBe(
      'AlreadySlashed',
    );
    expect((await fails(bob.privateKey, 'StakeRegistry', 'unbond', [1n])).name).toBe('StakerSlashed');
    // The slashed staker leaves the committee of the next pinned epoch.
    const later = await readStakedCommittee(
      pub,
      c.StakeRegistry,
      clock,
      3n,
      await (async () => {
        await mineTo(pinnedBlockFor(clock, 3n));
        return blockNumber();
      })(),
    );
    expect(later.members).not.toContain(bob.address);
    // Proposals: the phase-1 message (multi-byte RLP integers for epoch and view).
    const carolKey = blsKey(2);
    const sign = (h: Hex) =>
      toHex(g2ToEip2537(carolKey.sign(proposalMessage(CHAIN_ID, 300n, 2n ** 40n + 3n, h))));
    const pa = { blockHash: `0x${'01'.repeat(32)}` as Hex, signature: sign(`0x${'01'.repeat(32)}`) };
    const pb = { blockHash: `0x${'02'.repeat(32)}` as Hex, signature: sign(`0x${'02'.repeat(32)}`) };
    const carolG1 = toHex(g1ToEip2537(carolKey.toPublicKey()));
    expect(
      (await fails(erin.privateKey, 'Slasher', 'slashDoubleSign', [0, carolG1, 300n, 2n ** 40n + 3n, pa, pb]))
        .name,
    ).toBe('BadSignature');
    await send(erin.privateKey, 'Slasher', 'slashDoubleSign', [1, carolG1, 300n, 2n ** 40n + 3n, pa, pb]);
    expect((await read<{ slashed: boolean }>('StakeRegistry', 'stakerInfo', [carol.address])).slashed).toBe(
      true,
    );
  });

  it('Slasher: two conflicting certificates for one view slash exactly the members in both', async () => {
    // Fresh stakers: Erin, holder1, holder2 (keys 4, 5, 6); Alice and Dave are still staked.
    await stake(erin, blsKey(4), MIN_STAKE);
    await stake(holder1, blsKey(5), MIN_STAKE);
    await stake(holder2, blsKey(6), MIN_STAKE);
    const view = 9n;
    const cert = (hash: Hex, signers: SecretKey[]) => {
      const qc = aggregateQc(
        { epoch: 2n, view, blockHash: hash },
        signers.map((k, i) => ({ index: i, signature: signVote(k, CHAIN_ID, 2n, view, hash) })),
      );
      return {
        blockHash: hash,
        keys: signers.map((k) => toHex(g1ToEip2537(k.toPublicKey()))),
        signature: toHex(g2ToEip2537(qc.signature)),
      };
    };
    const [kAlice, kDave, kErin, kH1] = [0, 3, 4, 5].map(blsKey);
    const A = cert(`0x${'0a'.repeat(32)}`, [kAlice, kErin, kH1]);
    const B = cert(`0x${'0b'.repeat(32)}`, [kDave, kErin, kH1]);
    expect(
      (
        await fails(dave.privateKey, 'Slasher', 'slashConflictingCertificates', [
          2n,
          view,
          A,
          { ...B, keys: [B.keys[0]] },
        ])
      ).name,
    ).toBe('BadSignature');
    expect(
      (
        await fails(dave.privateKey, 'Slasher', 'slashConflictingCertificates', [
          2n,
          view,
          A,
          { ...B, keys: [] },
        ])
      ).name,
    ).toBe('NoSigners');
    expect(
      (await fails(dave.privateKey, 'Slasher', 'slashConflictingCertificates', [2n, view, A, A])).name,
    ).toBe('NotConflicting');
    const outsider = cert(`0x${'0c'.repeat(32)}`, [blsKey(9)]);
    expect(
      (await fails(dave.privateKey, 'Slasher', 'slashConflictingCertificates', [2n, view, A, outsider])).name,
    ).toBe('UnknownKey');
    await send(holder3.privateKey, 'Slasher', 'slashConflictingCertificates', [2n, view, A, B]);
    const slashed = async (a: Hex) =>
      (await read<{ slashed: boolean }>('StakeRegistry', 'stakerInfo', [a])).slashed;
    expect([
      await slashed(alice.address),
      await slashed(dave.address),
      await slashed(erin.address),
      await slashed(holder1.address),
    ]).toEqual([false, false, true, true]);
    expect(
      (await fails(holder3.privateKey, 'Slasher', 'slashConflictingCertificates', [2n, view, A, B])).name,
    ).toBe('NothingToSlash');
  });

  it('SequencerAuction: the highest bid wins the epoch, outbid bids are refunded, the treasury gets the winner', async () => {
    const epoch = (await read<bigint>('SequencerAuction', 'currentEpoch')) + 2n;
    const daveKey = sequencerKeyHash(compressed(blsKey(3)));
    const aliceKey = sequencerKeyHash(compressed(blsKey(0)));
    expect(
      (await fails(alice.privateKey, 'SequencerAuction', 'bid', [epoch, aliceKey], parseEther('0.05'))).name,
    ).toBe('BidTooLow');
    expect(
      (
        await fails(
          alice.privateKey,
          'SequencerAuction',
          'bid',
          [epoch, `0x${'00'.repeat(32)}`],
          parseEther('1'),
        )
      ).name,
    ).toBe('ZeroSequencerKey');
    expect(
      (await fails(alice.privateKey, 'SequencerAuction', 'bid', [0n, aliceKey], parseEther('1'))).name,
    ).toBe('BiddingClosed');
    await send(alice.privateKey, 'SequencerAuction', 'bid', [epoch, aliceKey], parseEther('0.2'));
    // 5 % more is needed to lead.
    expect(
      (await fails(dave.privateKey, 'SequencerAuction', 'bid', [epoch, daveKey], parseEther('0.205'))).name,
    ).toBe('BidTooLow');
    await send(dave.privateKey, 'SequencerAuction', 'bid', [epoch, daveKey], parseEther('0.3'));
    expect(await read<bigint>('SequencerAuction', 'refunds', [alice.address])).toBe(parseEther('0.2'));
    expect((await fails(bob.privateKey, 'SequencerAuction', 'withdrawRefund', [])).name).toBe(
      'NothingToRefund',
    );
    await send(alice.privateKey, 'SequencerAuction', 'withdrawRefund', []);
    expect((await fails(erin.privateKey, 'SequencerAuction', 'settle', [epoch])).name).toBe('BiddingOpen');
    const closesAt = await read<bigint>('SequencerAuction', 'closesAt', [epoch]);
    expect(closesAt).toBe(epochStart(clock, epoch) - 5n);
    // Not final yet: the winner is unknown.
    const members = [compressed(blsKey(0)), compressed(blsKey(3))];
    await expect(
      readAuctionWinner(pub, c.SequencerAuction, epoch, members, await blockNumber()),
    ).rejects.toBeInstanceOf(EpochNotFinalError);
    await mineTo(closesAt);
    expect(
      (await fails(erin.privateKey, 'SequencerAuction', 'bid', [epoch, aliceKey], parseEther('5'))).name,
    ).toBe('BiddingClosed');
    const treasuryBefore = await pub.getBalance({ address: c.Governance });
    await send(erin.privateKey, 'SequencerAuction', 'settle', [epoch]);
    expect((await pub.getBalance({ address: c.Governance })) - treasuryBefore).toBe(parseEther('0.3'));
    expect((await fails(erin.privateKey, 'SequencerAuction', 'settle', [epoch])).name).toBe('AlreadySettled');
    expect((await fails(erin.privateKey, 'SequencerAuction', 'settle', [epoch - 1n])).name).toBe('NoBids');
    const winner = await readAuctionWinner(pub, c.SequencerAuction, epoch, members, await blockNumber());
    expect(winner).toEqual({ index: 1, bidder: dave.address, amount: parseEther('0.3') });
    // The winner leads until three views in a row end without a QC; then the other members' rotation
    // takes over (here the one other member, 0).
    const schedule = new AuctionSchedule(members, winner.index);
    expect([0n, 1n, 2n, 3n].map((v) => schedule.leaderFor(v))).toEqual([1, 1, 1, 1]);
    // One or two failed views are hiccups; the third in a row deposes the winner.
    schedule.onTimeoutCertificate(2n, 1n);
    schedule.onTimeoutCertificate(3n, 1n);
    expect(schedule.leaderFor(9n)).toBe(1);
    schedule.onTimeoutCertificate(4n, 1n);
    expect([3n, 4n, 5n, 6n].map((v) => schedule.leaderFor(v))).toEqual([1, 1, 0, 0]);
  });

  it('Governance: holders elect the top candidates, vote one out for the next epoch, and spend the treasury', async () => {
    const gov = (key: Hex, fn: string, args: readonly unknown[]) => send(key, 'Governance', fn, args);
    // Stakers still standing: Alice (key 0), Dave (3), holder2 (6).
    expect((await fails(bob.privateKey, 'Governance', 'registerCandidate', [])).name).toBe('NotStaked');
    for (const who of [alice, dave, holder2]) await gov(who.privateKey, 'registerCandidate', []);
    expect((await fails(alice.privateKey, 'Governance', 'registerCandidate', [])).name).toBe(
      'AlreadyCandidate',
    );
    expect((await fails(holder1.privateKey, 'Governance', 'delegate', [bob.address])).name).toBe(
      'NotACandidate',
    );
    expect((await fails(holder1.privateKey, 'Governance', 'delegate', [alice.address])).name).toBe(
      'NothingLocked',
    );
    expect((await fails(holder1.privateKey, 'Governance', 'lock', [0n])).name).toBe('ZeroAmount');
    const lock = async (h: { privateKey: Hex }, amount: bigint) => {
      await send(h.privateKey, 'Token', 'approve', [c.Governance, amount]);
      await gov(h.privateKey, 'lock', [amount]);
    };
    await lock(holder1, parseEther('100'));
    await lock(holder2, parseEther('300'));
    await lock(holder3, parseEther('250'));
    await gov(holder1.privateKey, 'delegate', [alice.address]);
    await gov(holder2.privateKey, 'delegate', [dave.address]);
    await gov(holder3.privateKey, 'delegate', [holder2.address]);
    expect((await fails(holder1.privateKey, 'Governance', 'unlock', [parseEther('101')])).name).toBe(
      'ExceedsLocked',
    );
    // The elected committee (size 2): Dave 300, holder2 250; Alice (100) is out.
    // The first epoch pinned after the delegations: the one after next.
    const epochNext = (await read<bigint>('Governance', 'currentEpoch')) + 2n;
    await mineTo(pinnedBlockFor(clock, epochNext) + 1n);
    let elected = await readElectedCommittee(pub, c.Governance, clock, epochNext, await blockNumber());
    expect(elected.members).toEqual([dave.address, holder2.address]);
    expect(elected.publicKeys).toEqual([compressed(blsKey(3)), compressed(blsKey(6))]);
    // Holders vote Dave out: absolute majority of the locked tokens at the proposal's snapshot.
    const id = await read<bigint>('Governance', 'proposalCount');
    await gov(holder1.privateKey, 'proposeEject', [dave.address]);
    expect((await fails(erin.privateKey, 'Governance', 'vote', [id])).name).toBe('NoVotingPower');
    await gov(holder1.privateKey, 'vote', [id]);
    expect((await fails(holder1.privateKey, 'Governance', 'vote', [id])).name).toBe('AlreadyVoted');
    expect((await fails(holder1.privateKey, 'Governance', 'execute', [id])).name).toBe('NotPassed');
    await gov(holder3.privateKey, 'vote', [id]);
    await gov(erin.privateKey, 'execute', [id]);
    expect((await fails(erin.privateKey, 'Governance', 'execute', [id])).name).toBe('AlreadyExecuted');
    expect((await fails(erin.privateKey, 'Governance', 'execute', [id + 5n])).name).toBe('UnknownProposal');
    expect((await fails(holder2.privateKey, 'Governance', 'delegate', [dave.address])).name).toBe(
      'CandidateEjected',
    );
    expect((await fails(holder2.privateKey, 'Governance', 'proposeEject', [dave.address])).name).toBe(
      'CandidateEjected',
    );
    // The epoch already pinned keeps Dave; the next pinned epoch elects Alice in his place.
    const stillPinned = await readElectedCommittee(pub, c.Governance, clock, epochNext, await blockNumber());
    expect(stillPinned.members).toEqual([dave.address, holder2.address]);
    const next = (await read<bigint>('Governance', 'currentEpoch')) + 2n;
    await mineTo(pinnedBlockFor(clock, next) + 1n);
    elected = await readElectedCommittee(pub, c.Governance, clock, next, await blockNumber());
    expect(elected.members).toEqual([holder2.address, alice.address]);
    // Treasury: the auction's proceeds, spent by a passed proposal; too much → InsufficientTreasury.
    const treasury = await pub.getBalance({ address: c.Governance });
    expect(treasury).toBe(parseEther('0.3'));
    expect((await fails(holder2.privateKey, 'Governance', 'proposeSpend', [zeroAddress, 1n])).name).toBe(
      'ZeroAddress',
    );
    const spend = await read<bigint>('Governance', 'proposalCount');
    await gov(holder2.privateKey, 'proposeSpend', [bob.address, parseEther('1')]);
    await gov(holder2.privateKey, 'vote', [spend]);
    await gov(holder3.privateKey, 'vote', [spend]);
    expect((await fails(holder2.privateKey, 'Governance', 'execute', [spend])).name).toBe(
      'InsufficientTreasury',
    );
    const spend2 = spend + 1n;
    await gov(holder2.privateKey, 'proposeSpend', [bob.address, parseEther('0.1')]);
    await gov(holder2.privateKey, 'vote', [spend2]);
    await gov(holder3.privateKey, 'vote', [spend2]);
    const bobBefore = await pub.getBalance({ address: bob.address });
    await gov(holder1.privateKey, 'execute', [spend2]);
    expect((await pub.getBalance({ address: bob.address })) - bobBefore).toBe(parseEther('0.1'));
    await mine(11n);
    expect((await fails(holder1.privateKey, 'Governance', 'vote', [spend])).name).toBe('VotingClosed');
    // Tokens cannot vote twice by moving: after a proposal, holder1 unlocks and hands its tokens to
    // Erin, who locks them; they were not Erin's at the snapshot, so Erin has no voting power on it.
    const late = await read<bigint>('Governance', 'proposalCount');
    await gov(holder2.privateKey, 'proposeEject', [alice.address]);
    await gov(holder1.privateKey, 'unlock', [parseEther('100')]);
    expect(await read<bigint>('Governance', 'votesOf', [alice.address])).toBe(0n);
    await send(holder1.privateKey, 'Token', 'transfer', [erin.address, parseEther('100')]);
    await lock(erin, parseEther('100'));
    expect((await fails(erin.privateKey, 'Governance', 'vote', [late])).name).toBe('NoVotingPower');
    await gov(holder1.privateKey, 'vote', [late]);
    expect((await read<{ yes: bigint }>('Governance', 'proposal', [late])).yes).toBe(parseEther('100'));
  });

  it('`seqnet stake` registers the node key with a proof of possession, adds, unbonds and withdraws, with advice on errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-stake-'));
    const operator = accounts[9];
    const cli = stakeCli(c, dir, operator);
    const json = (r: { code: number | null; out: string; err: string }) => {
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out) as Record<string, unknown>;
    };
    expect(json(await cli('info'))).toMatchObject({ registered: false, stake: '0' });
    // Named errors come back with what to do.
    const low = await cli('register', '--amount', '0.5');
    expect(low.code).toBe(1);
    expect(low.err).toMatch(
      /refused register: BelowMinimumStake\(500000000000000000, 1000000000000000000\) — stake at least the minimum/,
    );
    expect((await cli('add', '--amount', '1')).err).toMatch(/NotRegistered.*register first/);
    expect((await cli('register')).err).toMatch(/needs --amount/);
    expect((await cli('dance')).err).toMatch(/unknown action "dance"/);
    // Register with the node's own BLS key (made in its data dir) and a proof of possession.
    expect(json(await cli('register', '--amount', '2'))).toMatchObject({ registered: true, stake: '2' });
    const nodeKey = loadOrCreateKeys(join(dir, 'node')).bls;
    expect((await cli('register', '--amount', '2')).err).toMatch(/AlreadyRegistered.*seqnet stake add/);
    expect(json(await cli('add', '--amount', '1.5'))).toMatchObject({ stake: '3.5' });
    const unbonding = json(await cli('unbond', '--amount', '1.5'));
    expect(unbonding).toMatchObject({ stake: '2', unbonding: '1.5' });
    expect((await cli('withdraw')).err).toMatch(/StillUnbonding.*try again after the L1 block/);
    await mineTo(BigInt(unbonding.withdrawableAtL1Block as number));
    expect(json(await cli('withdraw'))).toMatchObject({ stake: '2', unbonding: '0' });
    // The registered key is the node's own.
    expect(((await read<Hex>('StakeRegistry', 'keyOf', [operator.address])) as string).toLowerCase()).toBe(
      toHex(g1ToEip2537(nodeKey.toPublicKey())).toLowerCase(),
    );
  });

  it('StakeRegistry in the rollup token: stakes move by approve + transferFrom, come back on withdraw; `seqnet stake` approves first', async () => {
    const t = await deployElection({ stakeToken: token });
    const registry = t.StakeRegistry;
    // The token's own errors bubble up through the registry.
    const abi = [...abis.StakeRegistry, ...tokenAbi.filter((e) => e.type === 'error')] as Abi;
    const balance = (who: Hex) =>
      pub.readContract({
        address: token,
        abi: tokenAbi,
        functionName: 'balanceOf',
        args: [who],
      }) as Promise<bigint>;
    const simulate = (key: Hex, functionName: string, args: readonly unknown[], value?: bigint) =>
      pub.simulateContract({
        address: registry,
        abi,
        functionName,
        args,
        value,
        account: privateKeyToAccount(key),
      });
    const write = async (key: Hex, address: Hex, a: Abi, functionName: string, args: readonly unknown[]) => {
      const { request } = await pub.simulateContract({
        address,
        abi: a,
        functionName,
        args,
        account: privateKeyToAccount(key),
      });
      const r = await pub.waitForTransactionReceipt({
        hash: await wallet(key).writeContract(request as never),
        pollingInterval: 20,
      });
      expect(r.status).toBe('success');
    };
    expect(
      ((await pub.readContract({ address: registry, abi, functionName: 'token' })) as Hex).toLowerCase(),
    ).toBe(token.toLowerCase());
    await send(deployer.privateKey, 'Token', 'transfer', [dave.address, parseEther('10')]);
    const k = blsKey(7);
    const { key, pop } = registrationArgs(k, l1ChainId, registry, dave.address);
    // Without an allowance the token refuses; ETH sent along is refused by name.
    expect((await revertOf(simulate(dave.privateKey, 'register', [key, pop, 2n * MIN_STAKE]))).name).toBe(
      'InsufficientAllowance',
    );
    await write(dave.privateKey, token, tokenAbi, 'approve', [registry, 3n * MIN_STAKE]);
    const wrong = await revertOf(simulate(dave.privateKey, 'register', [key, pop, 2n * MIN_STAKE], 1n));
    expect(wrong).toMatchObject({ name: 'WrongValue', args: [0n, 1n] });
    await write(dave.privateKey, registry, abi, 'register', [key, pop, 2n * MIN_STAKE]);
    expect(await balance(dave.address)).toBe(parseEther('10') - 2n * MIN_STAKE);
    expect(await balance(registry)).toBe(2n * MIN_STAKE);
    // Only the approved amount can be added; a second approve lets the rest in.
    expect((await revertOf(simulate(dave.privateKey, 'addStake', [2n * MIN_STAKE]))).name).toBe(
      'InsufficientAllowance',
    );
    await write(dave.privateKey, registry, abi, 'addStake', [MIN_STAKE]);
    await write(dave.privateKey, registry, abi, 'unbond', [MIN_STAKE]);
    const info = (await pub.readContract({
      address: registry,
      abi,
      functionName: 'stakerInfo',
      args: [dave.address],
    })) as { stake: bigint; withdrawableAt: bigint };
    expect(info.stake).toBe(2n * MIN_STAKE);
    await mineTo(info.withdrawableAt);
    await write(dave.privateKey, registry, abi, 'withdraw', []);
    expect(await balance(dave.address)).toBe(parseEther('10') - 2n * MIN_STAKE);
    expect(await balance(registry)).toBe(2n * MIN_STAKE);
    // The staked-in committee reads the same whatever the stake is in.
    const [members, , stakes] = (await pub.readContract({
      address: registry,
      abi,
      functionName: 'committee',
    })) as [Hex[], Hex[], bigint[]];
    expect(members.map((m) => m.toLowerCase())).toEqual([dave.address.toLowerCase()]);
    expect(stakes).toEqual([2n * MIN_STAKE]);

    // `seqnet stake` against this registry approves the amount before it registers or adds.
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-stake-token-'));
    const operator = accounts[9];
    const cli = stakeCli(t, dir, operator);
    await send(deployer.privateKey, 'Token', 'transfer', [operator.address, parseEther('5')]);
    const ok = async (action: string, ...extra: string[]) => {
      const r = await cli(action, ...extra);
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out) as Record<string, unknown>;
    };
    expect(await ok('register', '--amount', '2')).toMatchObject({ registered: true, stake: '2' });
    expect(await ok('add', '--amount', '1')).toMatchObject({ stake: '3' });
    expect(await balance(operator.address)).toBe(parseEther('2'));
    // More than the operator holds: the token's refusal comes back by name.
    const over = await cli('add', '--amount', '10');
    expect(over.code).toBe(1);
    expect(over.err).toMatch(/holds 2 of the stake token .*add needs 10: get tokens first/);
  });

  it('StakeRegistry slots: at most maxStakers bonded at once; a newcomer must out-stake the smallest, who is evicted and unbonds; a freed slot is reused; committees (staked and elected) are read from the slots', async () => {
    // The constructors keep the slots between the committee's size and what one L1 transaction can
    // install from a full registry (EIP-7825's 2^24 gas, less a margin).
    const registryArgs = (maxCommittee: number, maxStakers: number) =>
      [
        zeroAddress,
        MIN_STAKE,
        UNBONDING,
        maxCommittee,
        maxStakers,
        1_000,
        clock.genesisBlock,
        EPOCH_LENGTH,
      ] as const;
    const deployRevert = async (name: 'StakeRegistry' | 'Governance', args: readonly unknown[]) => {
      const data = encodeDeployData({ abi: abis[name], bytecode: art[name].bytecode, args });
      try {
        await pub.call({ account: deployer.address, data });
      } catch (err) {
        let e: unknown = err;
        while (e && typeof (e as { data?: unknown }).data !== 'string') e = (e as { cause?: unknown }).cause;
        return decodeErrorResult({ abi: abis[name], data: (e as { data: Hex }).data });
      }
      throw new Error('the deployment did not revert');
    };
    const registryRevert = (maxCommittee: number, maxStakers: number) =>
      deployRevert('StakeRegistry', registryArgs(maxCommittee, maxStakers));
    expect(await registryRevert(4, 3)).toMatchObject({ errorName: 'BadMaxStakers', args: [3n, 4n] });
    expect(await registryRevert(4, 1025)).toMatchObject({ errorName: 'BadMaxStakers', args: [1025n, 4n] });
    expect((await registryRevert(0, 3)).errorName).toBe('BadCommitteeSize');
    expect(await registryRevert(128, 1024)).toMatchObject({
      errorName: 'InstallTooCostly',
      args: [400_000n + 1024n * 12_000n + 128n * 80_000n, 16_000_000n],
    });
    // A registry of 1,024 slots fits for a committee of 4, but electing among 1,024 candidates does not.
    const bigHash = await wallet(deployer.privateKey).deployContract({
      abi: abis.StakeRegistry,
      bytecode: art.StakeRegistry.bytecode,
      args: registryArgs(4, 1024),
    });
    const bigRegistry = (await pub.waitForTransactionReceipt({ hash: bigHash })).contractAddress as Hex;
    expect(
      await deployRevert('Governance', [token, bigRegistry, 4, 10n, clock.genesisBlock, EPOCH_LENGTH]),
    ).toMatchObject({ errorName: 'InstallTooCostly', args: [BigInt(installGasBound(1024, 4)), 16_000_000n] });

    // Three slots, committees of two.
    const d = await deployElection({ maxCommitteeSize: 2, maxStakers: 3 });
    const s = on(() => d, 'slots test: ');
    // The deploy's own check (seqnet deploy refuses before sending) is the contracts' rule.
    expect(await s.read<bigint>('Governance', 'installGasBound', [256n, 16n])).toBe(
      BigInt(installGasBound(256, 16)),
    );
    expect(await s.read<bigint>('StakeRegistry', 'installGasBound', [256n, 16n])).toBeLessThan(
      BigInt(installGasBound(256, 16)),
    );
    const registerIn =
      (dep: ElectionDeployment, label: string) =>
      (who: { privateKey: Hex; address: Hex }, i: number, amount: bigint) => {
        const { key, pop } = registrationArgs(blsKey(i), l1ChainId, dep.StakeRegistry, who.address);
        const o = on(() => dep, label);
        return {
          send: () => o.send(who.privateKey, 'StakeRegistry', 'register', [key, pop, amount], amount),
          fails: () => o.fails(who.privateKey, 'StakeRegistry', 'register', [key, pop, amount], amount),
        };
      };
    const register = registerIn(d, 'slots test: ');
    type Read = [Hex[], Hex[], bigint[]];
    const committee = async (name: 'StakeRegistry' | 'Governance', b?: bigint) =>
      (
        await s.read<Read>(name, b === undefined ? 'committee' : 'committeeAt', b === undefined ? [] : [b])
      )[0];
    const slotOf = (who: { address: Hex }) =>
      s.read<[boolean, number]>('StakeRegistry', 'slotOf', [who.address]);
    const occupants = (b: bigint) => s.read<Hex[]>('StakeRegistry', 'occupantsAt', [b]);
    const deployedAt = await blockNumber();

    await register(alice, 0, 2n * MIN_STAKE).send();
    await register(bob, 1, 3n * MIN_STAKE).send();
    await register(carol, 2, 4n * MIN_STAKE).send();
    expect(await slotOf(alice)).toEqual([true, 0]);
    expect(await slotOf(carol)).toEqual([true, 2]);
    expect(await committee('StakeRegistry')).toEqual([carol.address, bob.address]);
    // Full: a newcomer who does not out-stake the smallest (Alice, 2) is refused, with the stake to beat.
    expect(await register(dave, 3, 2n * MIN_STAKE).fails()).toEqual({
      name: 'StakerSetFull',
      args: [3n, 2n * MIN_STAKE],
    });
    const full = await blockNumber();
    const r = await register(dave, 3, 5n * MIN_STAKE).send();
    const evicted = parseEventLogs({ abi: abis.StakeRegistry, logs: r.logs, eventName: 'Evicted' });
    expect(evicted.map((l) => l.args)).toEqual([
      { staker: alice.address, by: dave.address, slot: 0, stake: 2n * MIN_STAKE },
    ]);
    // Alice's stake unbonds as if she had called unbond; her slot is Dave's from this block on.
    const aliceInfo = await s.read<{ stake: bigint; unbonding: bigint; withdrawableAt: bigint }>(
      'StakeRegistry',
      'stakerInfo',
      [alice.address],
    );
    expect(aliceInfo).toMatchObject({
      stake: 0n,
      unbonding: 2n * MIN_STAKE,
      withdrawableAt: r.blockNumber + UNBONDING,
    });
    expect(await slotOf(alice)).toEqual([false, 0]);
    expect(await slotOf(dave)).toEqual([true, 0]);
    expect(await occupants(full)).toEqual([alice.address, bob.address, carol.address]);
    expect(await occupants(r.blockNumber)).toEqual([dave.address, bob.address, carol.address]);
    expect(await committee('StakeRegistry')).toEqual([dave.address, carol.address]);
    // Bonding again without a slot takes one as registering does: the minimum at least, and more
    // than the smallest (now Bob, 3) while all are taken.
    expect(
      await s.fails(alice.privateKey, 'StakeRegistry', 'addStake', [MIN_STAKE / 2n], MIN_STAKE / 2n),
    ).toEqual({
      name: 'BelowMinimumStake',
      args: [MIN_STAKE / 2n, MIN_STAKE],
    });
    expect(
      await s.fails(alice.privateKey, 'StakeRegistry', 'addStake', [3n * MIN_STAKE], 3n * MIN_STAKE),
    ).toEqual({
      name: 'StakerSetFull',
      args: [3n, 3n * MIN_STAKE],
    });

    // The Governance elects among the slots' occupants: Bob, a candidate with votes, is out once evicted.
    await s.send(bob.privateKey, 'Governance', 'registerCandidate', []);
    await s.send(holder1.privateKey, 'Token', 'approve', [d.Governance, parseEther('10')]);
    await s.send(holder1.privateKey, 'Governance', 'lock', [parseEther('10')]);
    await s.send(holder1.privateKey, 'Governance', 'delegate', [bob.address]);
    const bobElected = await blockNumber();
    expect(await committee('Governance')).toEqual([bob.address]);
    await s.send(alice.privateKey, 'StakeRegistry', 'addStake', [4n * MIN_STAKE], 4n * MIN_STAKE);
    expect(await slotOf(alice)).toEqual([true, 1]);
    expect(await slotOf(bob)).toEqual([false, 0]);
    expect(await committee('Governance')).toEqual([]);
    expect(await committee('Governance', bobElected)).toEqual([bob.address]);

    // Unbonding everything frees the slot at once: a newcomer with the minimum takes it, no eviction.
    await s.send(carol.privateKey, 'StakeRegistry', 'unbond', [4n * MIN_STAKE]);
    expect(await slotOf(carol)).toEqual([false, 0]);
    const e = await register(erin, 4, MIN_STAKE).send();
    expect(parseEventLogs({ abi: abis.StakeRegistry, logs: e.logs, eventName: 'Evicted' })).toEqual([]);
    expect(await slotOf(erin)).toEqual([true, 2]);
    expect(await s.read<number>('StakeRegistry', 'slotsOpened')).toBe(3);
    expect(await s.read<bigint>('StakeRegistry', 'stakerCount')).toBe(5n);
    expect(await committee('StakeRegistry')).toEqual([dave.address, alice.address]);

    // Every block so far: the history computes what committee() said then, from the slots of that block.
    for (let b = deployedAt + 1n; b <= (await blockNumber()); b++) {
      for (const name of ['StakeRegistry', 'Governance'] as const) {
        const then = await pub.readContract({
          address: d[name],
          abi: abis[name],
          functionName: 'committee',
          blockNumber: b,
        });
        expect(await s.read<Read>(name, 'committeeAt', [b]), `${name}, block ${b}`).toEqual(then);
      }
    }

    // `seqnet stake` says what to do when every slot is taken, and which slot a staker holds.
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-stake-slots-'));
    const cli = stakeCli(d, dir, accounts[9]);
    const refused = await cli('register', '--amount', '1');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /StakerSetFull\(3, 1000000000000000000\) — every staker slot is taken: bond more than the smallest/,
    );
    const info = JSON.parse((await cli('info')).out) as { slot: number | null };
    expect(info.slot).toBeNull();
    expect(JSON.parse((await cli('register', '--amount', '2')).out)).toMatchObject({ stake: '2', slot: 2 });

    // The smallest stake follows every change of a bonded one (an eviction reads each slot's stake from
    // one word that register, addStake and unbond keep in step): Dave (5) unbonds 4 and is the smallest,
    // below the CLI's staker (2); once he adds 10, that staker is again.
    const partly = on(() => d, 'slots test, partial: ');
    await partly.send(dave.privateKey, 'StakeRegistry', 'unbond', [4n * MIN_STAKE]);
    expect(await register(holder2, 5, MIN_STAKE).fails()).toEqual({
      name: 'StakerSetFull',
      args: [3n, MIN_STAKE],
    });
    await partly.send(dave.privateKey, 'StakeRegistry', 'addStake', [10n * MIN_STAKE], 10n * MIN_STAKE);
    expect(await register(holder2, 5, 2n * MIN_STAKE).fails()).toEqual({
      name: 'StakerSetFull',
      args: [3n, 2n * MIN_STAKE],
    });

    // Stakes past 96 bits do not fit that word: the search reads them from the staker's record, exactly.
    const big = 2n ** 96n;
    for (const who of [holder2, holder3, accounts[9]]) {
      await pub.request({
        method: 'anvil_setBalance' as never,
        params: [who.address, `0x${(4n * big).toString(16)}`] as never,
      });
    }
    const d2 = await deployElection({ maxCommitteeSize: 2, maxStakers: 2 });
    const registerBig = registerIn(d2, 'slots test, large stakes: ');
    await registerBig(holder2, 5, big + 2n).send();
    await registerBig(holder3, 6, big + 1n).send();
    expect(await registerBig(accounts[9], 7, big + 1n).fails()).toEqual({
      name: 'StakerSetFull',
      args: [2n, big + 1n],
    });
    const bigEviction = await registerBig(accounts[9], 7, big + 3n).send();
    expect(
      parseEventLogs({ abi: abis.StakeRegistry, logs: bigEviction.logs, eventName: 'Evicted' }).map(
        (l) => l.args,
      ),
    ).toEqual([{ staker: holder3.address, by: accounts[9].address, slot: 1, stake: big + 1n }]);
  });

  it("StakeRegistry keeps its stake history: committeeAt(b) is committee() as of every block so far; a CommitteeVerifier installs each epoch's committee from it, with no owner to trust", async () => {
    const reg = { address: c.StakeRegistry, abi: abis.StakeRegistry };
    const gov = { address: c.Governance, abi: abis.Governance };
    type Read = [Hex[], Hex[], bigint[]];
    // Every block since the registry was deployed (registrations, stakes added, unbonding, slashing in
    // the tests above): the history computes from current state what committee() said in that block.
    const now = await blockNumber();
    let from = clock.genesisBlock - 40n;
    // From the block both exist in (the Governance is deployed after the registry).
    while ((await pub.getCode({ address: c.Governance, blockNumber: from })) === undefined) from++;
    // Governance's elected committee likewise (votes locked, delegated, moved, a candidate ejected).
    const seen = { staked: new Set<string>(), elected: new Set<string>() };
    const key = (r: Read) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
    for (let b = from; b <= now; b++) {
      const [staked, stakedHistory, elected, electedHistory] = await Promise.all([
        pub.readContract({ ...reg, functionName: 'committee', blockNumber: b }) as Promise<Read>,
        pub.readContract({ ...reg, functionName: 'committeeAt', args: [b] }) as Promise<Read>,
        pub.readContract({ ...gov, functionName: 'committee', blockNumber: b }) as Promise<Read>,
        pub.readContract({ ...gov, functionName: 'committeeAt', args: [b] }) as Promise<Read>,
      ]);
      expect(stakedHistory, `StakeRegistry, block ${b}`).toEqual(staked);
      expect(electedHistory, `Governance, block ${b}`).toEqual(elected);
      seen.staked.add(key(staked));
      seen.elected.add(key(elected));
    }
    expect(seen.staked.size).toBeGreaterThanOrEqual(5);
    expect(seen.elected.size).toBeGreaterThanOrEqual(3);
    for (const name of ['StakeRegistry', 'Governance'] as const)
      expect((await fails(alice.privateKey, name, 'committeeAt', [now + 10n])).name).toBe('FutureBlock');
    // What the nodes read for an epoch (readStakedCommittee, from the history) is epochCommittee(e).
    const epochNow = (now - clock.genesisBlock) / clock.epochLength;
    for (let e = 1n; e <= epochNow; e++) {
      const staked = await readStakedCommittee(pub, c.StakeRegistry, clock, e, now);
      const [members] = await read<Read>('StakeRegistry', 'epochCommittee', [e]);
      expect(staked.members).toEqual(members);
      const elected = await readElectedCommittee(pub, c.Governance, clock, e, now);
      const [electedMembers] = await read<Read>('Governance', 'epochCommittee', [e]);
      expect(elected.members).toEqual(electedMembers);
      expect(await read<bigint>('StakeRegistry', 'pinnedBlock', [e])).toBe(pinnedBlockFor(clock, e));
    }

    // A CommitteeVerifier whose owner sets the first committee, then hands the rest to the registry.
    const verifierArtifact = committeeVerifierArtifact();
    const vAbi = verifierArtifact.abi as Abi;
    const firstKeys = [0, 1, 2, 3].map((i) => toHex(g1ToEip2537(blsKey(i).toPublicKey())));
    const deployHash = await wallet(deployer.privateKey).deployContract({
      abi: vAbi,
      bytecode: verifierArtifact.bytecode,
      args: [0n, firstKeys, 3n],
    });
    const verifier = (await pub.waitForTransactionReceipt({ hash: deployHash })).contractAddress as Hex;
    const vFails = (key: Hex, functionName: string, args: readonly unknown[]) =>
      revertOf(
        pub.simulateContract({
          address: verifier,
          abi: vAbi,
          functionName,
          args,
          account: privateKeyToAccount(key),
        }),
      );
    const vSend = async (key: Hex, functionName: string, args: readonly unknown[]) => {
      const hash = await wallet(key).writeContract({ address: verifier, abi: vAbi, functionName, args });
      const r = await pub.waitForTransactionReceipt({ hash, pollingInterval: 20 });
      expect(r.status).toBe('success');
      gasUsed.set(`CommitteeVerifier.${functionName}`, r.gasUsed);
    };
    const vRead = <T>(functionName: string, args: readonly unknown[] = []) =>
      pub.readContract({ address: verifier, abi: vAbi, functionName, args }) as Promise<T>;
    expect((await vFails(erin.privateKey, 'installCommittee', [1n])).name).toBe('NoCommitteeSource');
    expect((await vFails(erin.privateKey, 'setCommitteeSource', [c.StakeRegistry])).name).toBe('NotOwner');
    expect((await vFails(deployer.privateKey, 'setCommitteeSource', [zeroAddress])).name).toBe('ZeroAddress');
    await vSend(deployer.privateKey, 'setCommitteeSource', [c.StakeRegistry]);
    expect((await vFails(deployer.privateKey, 'setCommitteeSource', [c.StakeRegistry])).name).toBe(
      'SourceAlreadySet',
    );
    // The owner can no longer name a committee: only the registry's are installed.
    expect((await vFails(deployer.privateKey, 'setCommittee', [9n, firstKeys, 3n])).name).toBe(
      'CommitteesFromSource',
    );
    // Anyone installs an epoch once its pinned block is mined, in any order; each exactly the
    // committee the nodes read, with the quorum 2f+1 of its size.
    const installed: bigint[] = [];
    for (let e = epochNow; e >= 1n; e--) {
      const staked = await readStakedCommittee(pub, c.StakeRegistry, clock, e, now);
      if (staked.members.length === 0) continue;
      await vSend(erin.privateKey, 'installCommittee', [e]);
      installed.push(e);
      const keys = await vRead<Hex[]>('publicKeys', [e]);
      expect(keys.map((k) => eip2537ToCompressedG1(k))).toEqual(staked.publicKeys);
      const info = await vRead<{ size: number; quorum: number }>('committee', [e]);
      expect(info.quorum).toBe(quorumFor(staked.members.length));
      expect((await vFails(erin.privateKey, 'installCommittee', [e])).name).toBe('AlreadyInstalled');
    }
    expect(installed.length).toBeGreaterThanOrEqual(2);
    expect(await vRead<bigint>('latestEpoch')).toBe(installed[0]);
    // Pinned at the next epoch's start: not mined yet.
    const notFixed = ((await blockNumber()) - clock.genesisBlock) / clock.epochLength + 2n;
    const early = await vFails(erin.privateKey, 'installCommittee', [notFixed]);
    expect(early.name).toBe('EpochNotFixed');
    expect(early.args?.slice(0, 2)).toEqual([notFixed, pinnedBlockFor(clock, notFixed)]);
    // A QC of an installed epoch verifies with its members' signatures, not with another epoch's.
    const e = installed[installed.length - 1];
    const staked = await readStakedCommittee(pub, c.StakeRegistry, clock, e, now);
    const secretOf = (k: Hex) => {
      for (let i = 0; i < 12; i++) if (compressed(blsKey(i)) === k.toLowerCase()) return blsKey(i);
      return undefined;
    };
    const signers = staked.publicKeys.map((k, index) => ({ index, key: secretOf(k) }));
    const quorum = quorumFor(staked.publicKeys.length);
    if (signers.filter((x) => x.key).length >= quorum) {
      const block = `0x${'ab'.repeat(32)}` as Hex;
      const votes = signers
        .filter((x) => x.key)
        .slice(0, quorum)
        .map((x) => ({ index: x.index, signature: signVote(x.key!, CHAIN_ID, e, 7n, block) }));
      const qc = aggregateQc({ epoch: e, view: 7n, blockHash: block }, votes);
      await vRead('verifyQC', verifyQcArgs(qc, CHAIN_ID, staked.publicKeys.length));
      const relabelled = { ...qc, epoch: 0n };
      expect((await vFails(erin.privateKey, 'verifyQC', verifyQcArgs(relabelled, CHAIN_ID, 4))).name).toBe(
        'BadSignature',
      );
    } else throw new Error(`epoch ${e}: the test knows too few of its members' keys to sign a QC`);

    // Governance as the source (dpos): each epoch's elected committee, installed by anyone.
    const govDeploy = await wallet(deployer.privateKey).deployContract({
      abi: vAbi,
      bytecode: verifierArtifact.bytecode,
      args: [0n, firstKeys, 3n],
    });
    const govVerifier = (await pub.waitForTransactionReceipt({ hash: govDeploy })).contractAddress as Hex;
    const onGovVerifier = async (key: Hex, functionName: string, args: readonly unknown[]) => {
      const hash = await wallet(key).writeContract({ address: govVerifier, abi: vAbi, functionName, args });
      expect((await pub.waitForTransactionReceipt({ hash, pollingInterval: 20 })).status).toBe('success');
    };
    await onGovVerifier(deployer.privateKey, 'setCommitteeSource', [c.Governance]);
    let electedInstalled = 0;
    for (let e = 1n; e <= epochNow; e++) {
      const elected = await readElectedCommittee(pub, c.Governance, clock, e, now);
      if (elected.members.length === 0) continue;
      await onGovVerifier(erin.privateKey, 'installCommittee', [e]);
      const keys = (await pub.readContract({
        address: govVerifier,
        abi: vAbi,
        functionName: 'publicKeys',
        args: [e],
      })) as Hex[];
      expect(keys.map((k) => eip2537ToCompressedG1(k))).toEqual(elected.publicKeys);
      electedInstalled++;
    }
    expect(electedInstalled).toBeGreaterThanOrEqual(1);
  });

  it('stakes and votes past 2^192 base units (what a history checkpoint holds) are refused by name, not cut', async () => {
    const w = wallet(deployer.privateKey);
    const hash = await w.deployContract({
      abi: tokenAbi,
      bytecode: tokenArtifact.bytecode,
      args: ['Big', 'BIG', 2n ** 200n],
    });
    const big = (await pub.waitForTransactionReceipt({ hash })).contractAddress as Hex;
    const b = await deployElection({ stakeToken: big, governanceToken: big });
    const tooMuch = 2n ** 192n;
    for (const spender of [b.StakeRegistry, b.Governance]) {
      const approve = await w.writeContract({
        address: big,
        abi: tokenAbi,
        functionName: 'approve',
        args: [spender, 2n ** 199n],
      });
      expect((await pub.waitForTransactionReceipt({ hash: approve })).status).toBe('success');
    }
    const { key, pop } = registrationArgs(blsKey(11), l1ChainId, b.StakeRegistry, deployer.address);
    const account = privateKeyToAccount(deployer.privateKey);
    const tooLarge = await revertOf(
      pub.simulateContract({
        address: b.StakeRegistry,
        abi: abis.StakeRegistry,
        functionName: 'register',
        args: [key, pop, tooMuch],
        account,
      }),
    );
    expect(tooLarge).toMatchObject({ name: 'AmountTooLarge', args: [tooMuch] });
    // One unit less fits, and counts.
    const ok = await w.writeContract({
      address: b.StakeRegistry,
      abi: abis.StakeRegistry,
      functionName: 'register',
      args: [key, pop, tooMuch - 1n],
    });
    expect((await pub.waitForTransactionReceipt({ hash: ok })).status).toBe('success');
    const at = await blockNumber();
    const [, , stakes] = (await pub.readContract({
      address: b.StakeRegistry,
      abi: abis.StakeRegistry,
      functionName: 'committeeAt',
      args: [at],
    })) as [Hex[], Hex[], bigint[]];
    expect(stakes).toEqual([tooMuch - 1n]);
    const lock = await revertOf(
      pub.simulateContract({
        address: b.Governance,
        abi: abis.Governance,
        functionName: 'lock',
        args: [tooMuch],
        account,
      }),
    );
    expect(lock).toMatchObject({ name: 'AmountTooLarge', args: [tooMuch] });
  });

  it("`seqnet deploy --committee FILE --election pos` deploys the election contracts with the rollup's; `seqnet stake` works from the file it wrote; bad flags cost nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-deploy-election-'));
    const committeeFile = join(dir, 'committee.json');
    writeFileSync(
      committeeFile,
      JSON.stringify({
        members: [0, 1, 2, 3].map((i) => ({
          blsPublicKey: toHex(blsKey(i).toPublicKey().toBytes()),
          peerId: `peer-${i}`,
        })),
      }),
    );
    const out = join(dir, 'deployment.json');
    const deploy = (...extra: string[]) =>
      runSeqnet(['deploy', '--l1-rpc', anvil.url, '--private-key', deployer.privateKey, ...extra]);
    // Refused before anything is deployed.
    const pos = ['--committee', committeeFile, '--election', 'pos', '--governance-token', token];
    const nonceBefore = await pub.getTransactionCount({ address: deployer.address });
    const refusals: Array<[string[], RegExp]> = [
      [['--committee', committeeFile, '--election', 'pow'], /unknown --election "pow"/],
      [['--election', 'pos', '--governance-token', token], /--election pos needs --committee FILE/],
      [['--committee', committeeFile, '--election', 'pos'], /needs --governance-token ADDRESS/],
      [
        ['--committee', committeeFile, '--election', 'dpos', '--governance-token', token, '--mode', 'based'],
        /do not go together/,
      ],
      [[...pos, '--epoch-length', '5'], /at least 10/],
      [
        [
          '--committee',
          committeeFile,
          '--election',
          'auction',
          '--governance-token',
          token,
          '--epoch-length',
          '20',
          '--auction-close',
          '20',
        ],
        /--auction-close \(20\) must be fewer L1 blocks than --epoch-length \(20\)/,
      ],
      [[...pos, '--min-stake', '0'], /--min-stake must be a positive amount/],
      [[...pos, '--epoch-start', '1'], /is not after the L1 head/],
      [
        [...pos, '--max-stakers', '3'],
        /--max-stakers must be a whole number from the committee's size \(4\) to 1024, got "3"/,
      ],
      [[...pos, '--max-stakers', 'many'], /--max-stakers must be a whole number/],
      [
        [...pos, '--max-stakers', '1000'],
        /a committee of 4 from 1000 staker slots could take 22\.7M gas, over the 16M an L1 transaction may use \(EIP-7825\): give --max-stakers 694 or fewer/,
      ],
    ];
    // Independent and none sends a tx: run side by side (each is a process start).
    const refused = await Promise.all(refusals.map(([args]) => deploy(...args)));
    refusals.forEach(([args, why], i) => {
      expect(refused[i].code, args.join(' ')).toBe(1);
      expect(refused[i].err).toMatch(why);
    });
    expect(await pub.getTransactionCount({ address: deployer.address })).toBe(nonceBefore);

    const head = await blockNumber();
    const ok = await deploy(
      ...pos,
      '--epoch-length',
      '20',
      '--unbonding-delay',
      '5',
      '--min-stake',
      '0.5',
      '--max-stakers',
      '64',
      '--out',
      out,
    );
    expect(ok.code, ok.err).toBe(0);
    expect(ok.err).toMatch(/pos: epoch 0 starts at L1 block \d+, 20 blocks an epoch/);
    const d = JSON.parse(readFileSync(out, 'utf8')) as L1Deployment;
    expect(d.committee?.publicKeys).toHaveLength(4);
    expect(d.contracts.CommitteeVerifier).toBeDefined();
    expect(d.election).toMatchObject({ mode: 'pos', epochLength: '20', token });
    // Epoch 0 starts one epoch after the deploy began: time for the stakers to register.
    expect(BigInt(d.election!.genesisBlock)).toBeGreaterThanOrEqual(head + 20n);
    const registry = d.election!.contracts.StakeRegistry;
    const at = (address: Hex, abi: Abi, functionName: string) =>
      pub.readContract({ address, abi, functionName });
    expect(await at(registry, abis.StakeRegistry, 'slasher')).toBe(d.election!.contracts.Slasher);
    expect(await at(registry, abis.StakeRegistry, 'minStake')).toBe(parseEther('0.5'));
    expect(await at(registry, abis.StakeRegistry, 'token')).toBe(zeroAddress);
    expect(await at(registry, abis.StakeRegistry, 'maxStakers')).toBe(64);
    expect(await at(d.election!.contracts.SequencerAuction, abis.SequencerAuction, 'treasury')).toBe(
      d.election!.contracts.Governance,
    );
    // An operator stakes against the file the deploy wrote.
    const staked = await runSeqnet([
      'stake',
      'register',
      '--amount',
      '0.5',
      '--l1-rpc',
      anvil.url,
      '--l1-deployment',
      out,
      '--data-dir',
      join(dir, 'node'),
      '--private-key',
      accounts[9].privateKey,
    ]);
    expect(staked.code, staked.err).toBe(0);
    expect(JSON.parse(staked.out)).toMatchObject({ registered: true, stake: '0.5' });
  });
});
