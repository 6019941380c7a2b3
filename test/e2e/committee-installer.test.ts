import '../../src/polyfill.js';
import { SecretKey } from '@chainsafe/blst';
import pino from 'pino';
import { type Abi, createPublicClient, type Hex, http, type PublicClient, parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quorumFor } from '../../src/consensus/certificate.js';
import { type EpochClock, pinnedBlockFor } from '../../src/election/epochs.js';
import { devAccounts } from '../../src/execution/genesis.js';
import { Anvil } from '../../src/l1/anvil.js';
import { eip2537ToCompressedG1 } from '../../src/l1/bls-encoding.js';
import { l1Clients } from '../../src/l1/clients.js';
import { CommitteeInstaller } from '../../src/l1/committee-installer.js';
import { committeeVerifierArtifact, deployL1Contracts, type L1Deployment } from '../../src/l1/deploy.js';
import {
  deployElectionContracts,
  type ElectionDeployment,
  electionArtifacts,
  readStakedCommittee,
  registrationArgs,
  setCommitteeSource,
} from '../../src/l1/election.js';
import { toHex } from '../../src/util/bytes.js';
import { freePort } from '../helpers/devnet.js';

/**
 * The members keep the L1 CommitteeVerifier's committees current: once an epoch's pinned block is
 * final, one of them installs the StakeRegistry's committee of that epoch (`CommitteeInstaller`), the
 * others find it installed and send nothing.
 */

const CHAIN_ID = 42069n;
const accounts = devAccounts(8);
const [deployer, , alice, bob, carol] = accounts;
const blsKey = (i: number) => SecretKey.fromKeygen(new Uint8Array(32).fill(40 + i));
const fileKeys = [0, 1, 2, 3].map((i) => toHex(blsKey(i).toPublicKey().toBytes(true)));
const silent = pino({ level: 'silent' });

describe('CommitteeInstaller: each epoch committee installed on L1 by one member', () => {
  let anvil: Anvil;
  let pub: PublicClient;
  let deployment: L1Deployment;
  let election: ElectionDeployment;
  let clock: EpochClock;
  const verifierAbi = committeeVerifierArtifact().abi as Abi;
  const verifier = () => deployment.contracts.CommitteeVerifier as Hex;
  const mineTo = async (target: bigint) => {
    const now = await pub.getBlockNumber({ cacheTime: 0 });
    if (target > now)
      await pub.request({
        method: 'anvil_mine' as never,
        params: [`0x${(target - now).toString(16)}`] as never,
      });
  };
  const installer = (member: number, key: Hex) => {
    let queue: Promise<unknown> = Promise.resolve();
    return new CommitteeInstaller(
      {
        l1Url: anvil.url,
        key,
        verifier: verifier(),
        clock,
        confirmations: 2,
        member,
        staggerMs: 1_000,
        pollMs: 100,
        serialise: <T>(task: () => Promise<T>) => {
          const run = queue.then(task);
          queue = run.catch(() => undefined);
          return run;
        },
      },
      silent,
    );
  };

  beforeAll(async () => {
    anvil = await Anvil.start({ host: '127.0.0.1', port: await freePort(), chainId: 31337, blockTime: 0 });
    pub = createPublicClient({ transport: http(anvil.url) }) as PublicClient;
    deployment = await deployL1Contracts({
      rpcUrl: anvil.url,
      deployerKey: deployer.privateKey,
      sequencer: accounts[1].address,
      finalisationDelaySeconds: 60,
      committee: { publicKeys: fileKeys, chainId: CHAIN_ID },
    });
    clock = { genesisBlock: (await pub.getBlockNumber({ cacheTime: 0 })) + 30n, epochLength: 10n };
    election = await deployElectionContracts({
      rpcUrl: anvil.url,
      deployerKey: deployer.privateKey,
      chainId: CHAIN_ID,
      clock,
      minStake: parseEther('1'),
      unbondingDelay: 5n,
      maxCommitteeSize: 4,
      governanceToken: deployer.address,
      governanceCommitteeSize: 4,
      votingPeriod: 10n,
      auction: { minBid: parseEther('0.1'), minIncrementBps: 500, closeBlocks: 5n },
    });
  }, 120_000);
  afterAll(async () => {
    await anvil?.stop();
  });

  it('does nothing while the verifier has no committee source (its owner sets committees)', async () => {
    const lone = installer(0, alice.privateKey);
    expect(await lone.poll()).toBe(true);
    expect(lone.noSource).toBe(true);
    expect(lone.installs).toEqual([]);
  });

  it('installs the StakeRegistry committee of each epoch once its pinned block is final, in one tx', async () => {
    const handed = await setCommitteeSource({
      rpcUrl: anvil.url,
      ownerKey: deployer.privateKey,
      verifier: verifier(),
      mode: 'pos',
      contracts: election,
    });
    expect(handed).toEqual({ source: election.StakeRegistry, outcome: 'set' });
    // Set once: the same source again is a no-op, another one is refused (the L1 keeps its first).
    expect(
      (
        await setCommitteeSource({
          rpcUrl: anvil.url,
          ownerKey: deployer.privateKey,
          verifier: verifier(),
          mode: 'pos',
          contracts: election,
        })
      ).outcome,
    ).toBe('already');
    expect(
      await setCommitteeSource({
        rpcUrl: anvil.url,
        ownerKey: deployer.privateKey,
        verifier: verifier(),
        mode: 'dpos',
        contracts: election,
      }),
    ).toMatchObject({ outcome: 'other', current: election.StakeRegistry });

    // Three of the file's four keys stake before epoch 0 (member i: i + 1 ETH).
    const registryAbi = electionArtifacts().StakeRegistry.abi as Abi;
    for (const [i, who] of [alice, bob, carol].entries()) {
      const { pub: p, wallet } = await l1Clients(anvil.url, who.privateKey);
      const { key, pop } = registrationArgs(
        blsKey(i),
        await p.getChainId(),
        election.StakeRegistry,
        who.address,
      );
      const stake = parseEther(String(i + 1));
      const hash = await wallet.writeContract({
        address: election.StakeRegistry,
        abi: registryAbi,
        functionName: 'register',
        args: [key, pop, stake],
        value: stake,
      });
      expect((await p.waitForTransactionReceipt({ hash })).status).toBe('success');
    }
    const first = installer(0, alice.privateKey);
    const second = installer(1, bob.privateKey);
    // Epoch 1's pinned block (epoch 0's start) is mined but not final (2 confirmations): nothing yet.
    await mineTo(pinnedBlockFor(clock, 1n) + 1n);
    expect(await first.poll(0)).toBe(false);
    expect(first.installs).toEqual([]);
    await mineTo(pinnedBlockFor(clock, 1n) + 3n);
    // Final now. Member 1 waits its turn (1 s after it first saw the epoch due); member 0 installs.
    await second.poll(0);
    expect(second.installs).toEqual([]);
    await first.poll(0);
    expect(first.installs).toEqual([
      expect.objectContaining({ epoch: 1n, outcome: 'installed', members: 3, tx: expect.any(String) }),
    ]);
    expect(first.installs[0].gasUsed).toBeGreaterThan(0n);
    await second.poll(1_000);
    expect(second.installs).toEqual([{ epoch: 1n, outcome: 'by-another', members: 3 }]);

    // What is installed is exactly the committee the nodes read for epoch 1, with its 2f+1 quorum.
    const final = (await pub.getBlockNumber({ cacheTime: 0 })) - 2n;
    const staked = await readStakedCommittee(pub, election.StakeRegistry, clock, 1n, final);
    const keys = (await pub.readContract({
      address: verifier(),
      abi: verifierAbi,
      functionName: 'publicKeys',
      args: [1n],
    })) as Hex[];
    expect(keys.map(eip2537ToCompressedG1)).toEqual(staked.publicKeys);
    expect(staked.publicKeys).toHaveLength(3);
    const info = (await pub.readContract({
      address: verifier(),
      abi: verifierAbi,
      functionName: 'committee',
      args: [1n],
    })) as { quorum: number };
    expect(info.quorum).toBe(quorumFor(3));

    // Two epochs on, the next ones follow by the same rule (the current and the next epoch each poll),
    // each with one CommitteeSet event: nobody sent a second install.
    await mineTo(pinnedBlockFor(clock, 3n) + 3n);
    await first.poll(10_000);
    await second.poll(10_000);
    await second.poll(20_000);
    const installedBy = (i: CommitteeInstaller) =>
      i.installs.filter((x) => x.outcome === 'installed').map((x) => x.epoch);
    expect([...installedBy(first), ...installedBy(second)].sort()).toEqual([1n, 2n, 3n]);
    const events = await pub.getContractEvents({
      address: verifier(),
      abi: verifierAbi,
      eventName: 'CommitteeSet',
      fromBlock: 0n,
    });
    const epochs = events.map((e) => (e.args as { epoch: bigint }).epoch);
    expect(epochs).toEqual([0n, 1n, 2n, 3n]);

    // A member that starts late (every other one down meanwhile) installs the epochs nobody did, back
    // to LOOKBACK_EPOCHS before the current one, and finds the others installed.
    await mineTo(pinnedBlockFor(clock, 6n) + 3n);
    const late = installer(0, carol.privateKey);
    await late.poll(30_000);
    // The current epoch (5) and the next first: the chain certifies in them now.
    expect(late.installs.map((i) => [i.epoch, i.outcome])).toEqual([
      [5n, 'installed'],
      [6n, 'installed'],
      [4n, 'installed'],
      [3n, 'by-another'],
      [2n, 'by-another'],
      [1n, 'by-another'],
    ]);
  }, 120_000);
});
