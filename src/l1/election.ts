import type { SecretKey } from '@chainsafe/blst';
import {
  type Abi,
  encodePacked,
  getContractAddress,
  type Hex,
  type PublicClient,
  keccak256 as viemKeccak,
  zeroAddress,
} from 'viem';
import type { Equivocation } from '../consensus/core/types.js';
import { type EpochClock, pinnedBlockFor } from '../election/epochs.js';
import type { StakedCommittee } from '../election/pos.js';
import { toHex } from '../util/bytes.js';
import { eip2537ToCompressedG1, g1ToEip2537, g2ToEip2537 } from './bls-encoding.js';
import { l1Clients } from './clients.js';
import { committeeVerifierArtifact } from './deploy.js';
import { type ContractArtifact, compileContracts } from './solc.js';

/**
 * Bindings of the election contracts (contracts/l1/election/): deployment, the readers a node uses to
 * learn an epoch's committee from finalised L1 state, and the argument builders for staking and
 * slashing.
 */

export const ELECTION_CONTRACTS = ['StakeRegistry', 'Slasher', 'Governance', 'SequencerAuction'] as const;
export type ElectionContractName = (typeof ELECTION_CONTRACTS)[number];

/**
 * The election contracts' artifacts. The Slasher's ABI also lists the StakeRegistry errors that
 * slashing passes on (AlreadySlashed, …; solc lists only a contract's own), so that clients decode them.
 */
export function electionArtifacts(): Record<ElectionContractName, ContractArtifact> {
  const all = compileContracts('l1/election/Election.sol', [...ELECTION_CONTRACTS]) as Record<
    ElectionContractName,
    ContractArtifact
  >;
  const own = new Set(
    all.Slasher.abi
      .filter((e) => (e as { type: string }).type === 'error')
      .map((e) => (e as { name: string }).name),
  );
  const bubbled = all.StakeRegistry.abi.filter(
    (e) => (e as { type: string }).type === 'error' && !own.has((e as { name: string }).name),
  );
  return { ...all, Slasher: { ...all.Slasher, abi: [...all.Slasher.abi, ...bubbled] } };
}

export interface ElectionDeployOptions {
  rpcUrl: string;
  deployerKey: Hex;
  /** The rollup's (L2) chain id: part of every signed vote the Slasher checks. */
  chainId: bigint;
  clock: EpochClock;
  /** ERC-20 stakes are in; zero address (default): ETH. */
  stakeToken?: Hex;
  minStake: bigint;
  /** L1 blocks between unbond and withdraw. */
  unbondingDelay: bigint;
  maxCommitteeSize: number;
  /**
   * StakeRegistry slots: the most stakers bonded at once (`defaultMaxStakers`: 256 where that fits;
   * from maxCommitteeSize to 1,024, and a full registry's install within INSTALL_GAS_BUDGET). When all
   * are taken a newcomer must bond more than the smallest staker, who is evicted.
   */
  maxStakers?: number;
  /** Reporter's share of a slashed stake, basis points (default 1,000: 10 %). */
  reporterRewardBps?: number;
  /** The rollup's governance token (votes for dpos, control of the treasury). */
  governanceToken: Hex;
  governanceCommitteeSize: number;
  votingPeriod: bigint;
  auction: { minBid: bigint; minIncrementBps: number; closeBlocks: bigint };
  onProgress?: (line: string) => void;
}

export type ElectionDeployment = Record<ElectionContractName, Hex>;

/** StakeRegistry slots unless a deployment names its own (`seqnet deploy --max-stakers`). */
export const DEFAULT_MAX_STAKERS = 256;
/** StakeRegistry.MAX_STAKERS_LIMIT. */
export const MAX_STAKERS_LIMIT = 1024;
/** StakeRegistry.INSTALL_GAS_BUDGET: EIP-7825's 2^24 gas per transaction, less a margin. */
export const INSTALL_GAS_BUDGET = 16_000_000;

/** Governance.installGasBound's gas per slot (a candidate's slot; the registry's own costs 12k). */
const GOVERNANCE_SLOT_GAS = 22_000;

/**
 * The larger of StakeRegistry.installGasBound and Governance.installGasBound (reading a candidate's
 * slot costs more): what installing a committee from a full registry may cost, from either source.
 * A deployment has both, so both must fit (the e2e test checks the contracts say the same).
 */
export function installGasBound(slots: number, members: number): number {
  return 400_000 + slots * GOVERNANCE_SLOT_GAS + members * 80_000;
}

/**
 * The slots a registry for committees of `members` gets unless told: 256, or fewer where a full
 * registry's install would not fit INSTALL_GAS_BUDGET (never fewer than the committee).
 */
export function defaultMaxStakers(members: number): number {
  return Math.max(members, Math.min(DEFAULT_MAX_STAKERS, maxStakersWithinBudget(members)));
}

/** The most slots whose full install, for committees of `members`, fits INSTALL_GAS_BUDGET. */
export function maxStakersWithinBudget(members: number): number {
  const fits = Math.floor((INSTALL_GAS_BUDGET - installGasBound(0, members)) / GOVERNANCE_SLOT_GAS);
  return Math.min(MAX_STAKERS_LIMIT, fits);
}

/** Deploys StakeRegistry, Slasher, Governance (the treasury) and SequencerAuction, and wires the Slasher. */
export async function deployElectionContracts(opts: ElectionDeployOptions): Promise<ElectionDeployment> {
  const log = opts.onProgress ?? (() => {});
  const artifacts = electionArtifacts();
  const { account, pub, wallet } = await l1Clients(opts.rpcUrl, opts.deployerKey);
  const nonce = await pub.getTransactionCount({ address: account.address, blockTag: 'pending' });
  const at = (i: number) => getContractAddress({ from: account.address, nonce: BigInt(nonce + i) });
  const addresses = Object.fromEntries(
    ELECTION_CONTRACTS.map((name, i) => [name, at(i)]),
  ) as ElectionDeployment;
  const { genesisBlock, epochLength } = opts.clock;
  const args: Record<ElectionContractName, readonly unknown[]> = {
    StakeRegistry: [
      opts.stakeToken ?? zeroAddress,
      opts.minStake,
      opts.unbondingDelay,
      opts.maxCommitteeSize,
      // The Governance's install is bounded by the same slots, for its own committee size.
      opts.maxStakers ?? defaultMaxStakers(Math.max(opts.maxCommitteeSize, opts.governanceCommitteeSize)),
      opts.reporterRewardBps ?? 1_000,
      genesisBlock,
      epochLength,
    ],
    Slasher: [addresses.StakeRegistry, opts.chainId],
    Governance: [
      opts.governanceToken,
      addresses.StakeRegistry,
      opts.governanceCommitteeSize,
      opts.votingPeriod,
      genesisBlock,
      epochLength,
    ],
    SequencerAuction: [
      addresses.Governance,
      opts.auction.minBid,
      opts.auction.minIncrementBps,
      opts.auction.closeBlocks,
      genesisBlock,
      epochLength,
    ],
  };
  const hashes: Hex[] = [];
  for (const [i, name] of ELECTION_CONTRACTS.entries()) {
    log(`deploying ${name} at ${addresses[name]}…`);
    hashes.push(
      await wallet.deployContract({
        abi: artifacts[name].abi as Abi,
        bytecode: artifacts[name].bytecode,
        args: args[name] as never,
        nonce: nonce + i,
      }),
    );
  }
  hashes.push(
    await wallet.writeContract({
      address: addresses.StakeRegistry,
      abi: artifacts.StakeRegistry.abi as Abi,
      functionName: 'setSlasher',
      args: [addresses.Slasher],
      nonce: nonce + ELECTION_CONTRACTS.length,
      gas: 100_000n,
    }),
  );
  for (const hash of hashes) {
    const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 100 });
    if (receipt.status !== 'success') throw new Error(`election deployment tx ${hash} reverted`);
  }
  return addresses;
}

/**
 * Hands the CommitteeVerifier's later committees to the election (`setCommitteeSource`, by its owner,
 * once): from then on anyone installs epoch e's committee from the StakeRegistry (pos, auction: the
 * stakers certify) or the Governance (dpos: the elected), and the members do (CommitteeInstaller).
 * `other`: the verifier already takes them from another contract (an earlier election on this L1).
 */
export async function setCommitteeSource(opts: {
  rpcUrl: string;
  ownerKey: Hex;
  verifier: Hex;
  mode: string;
  contracts: ElectionDeployment;
}): Promise<{ source: Hex; outcome: 'set' | 'already' | 'other'; current?: Hex }> {
  const source = opts.mode === 'dpos' ? opts.contracts.Governance : opts.contracts.StakeRegistry;
  const { pub, wallet } = await l1Clients(opts.rpcUrl, opts.ownerKey);
  const abi = committeeVerifierArtifact().abi as Abi;
  const current = (await pub.readContract({
    address: opts.verifier,
    abi,
    functionName: 'committeeSource',
  })) as Hex;
  if (current.toLowerCase() === source.toLowerCase()) return { source, outcome: 'already' };
  if (current !== zeroAddress) return { source, outcome: 'other', current };
  const hash = await wallet.writeContract({
    address: opts.verifier,
    abi,
    functionName: 'setCommitteeSource',
    args: [source],
  });
  const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  if (receipt.status !== 'success') throw new Error(`setCommitteeSource(${source}) reverted (tx ${hash})`);
  return { source, outcome: 'set' };
}

/** The message a staker's BLS key signs at registration (StakeRegistry.popMessage). */
export function popMessage(l1ChainId: number, registry: Hex, staker: Hex, key: Uint8Array): Uint8Array {
  const digest = viemKeccak(
    encodePacked(
      ['string', 'uint256', 'address', 'address', 'bytes'],
      ['seqnet/pop/v1', BigInt(l1ChainId), registry, staker, toHex(key)],
    ),
  );
  return Buffer.from(digest.slice(2), 'hex');
}

/** StakeRegistry.register's key and proof-of-possession arguments for a node's BLS key. */
export function registrationArgs(
  secretKey: SecretKey,
  l1ChainId: number,
  registry: Hex,
  staker: Hex,
): { key: Hex; pop: Hex } {
  const key = g1ToEip2537(secretKey.toPublicKey());
  const pop = secretKey.sign(popMessage(l1ChainId, registry, staker, key));
  return { key: toHex(key), pop: toHex(g2ToEip2537(pop)) };
}

/** An epoch's committee could not be read yet: its pinned L1 block is not final. */
export class EpochNotFinalError extends Error {
  constructor(
    readonly epoch: bigint,
    readonly pinnedBlock: bigint,
    readonly finalisedBlock: bigint,
  ) {
    super(
      `the committee of epoch ${epoch} is fixed by L1 block ${pinnedBlock}, which is not final yet (finalised: ${finalisedBlock}); wait for it`,
    );
    this.name = 'EpochNotFinalError';
  }
}

interface CommitteeCall {
  address: Hex;
  abi: Abi;
}

/**
 * The contract's committee as of the end of L1 block `blockNumber`: the StakeRegistry and Governance
 * compute it from their checkpoints (`committeeAt`), read in current state, so any L1 node serves it —
 * `committee()` read in that block's state would need an archive node once the block is older than
 * the ~128 blocks of state a pruning node keeps.
 */
async function committeeAt(
  pub: PublicClient,
  contract: CommitteeCall,
  blockNumber: bigint,
): Promise<{ members: Hex[]; publicKeys: Hex[]; weights: bigint[] }> {
  const [members, keys, weights] = (await pub.readContract({
    ...contract,
    functionName: 'committeeAt',
    args: [blockNumber],
  })) as [Hex[], Hex[], bigint[]];
  return { members, publicKeys: keys.map((k) => eip2537ToCompressedG1(k)), weights };
}

function checkFinal(clock: EpochClock, epoch: bigint, finalisedBlock: bigint): bigint {
  const pinned = pinnedBlockFor(clock, epoch);
  if (pinned > finalisedBlock) throw new EpochNotFinalError(epoch, pinned, finalisedBlock);
  return pinned;
}

/**
 * The `pos` committee of `epoch`: StakeRegistry.committeeAt(pinned block) — committee() as of that
 * block, from the registry's stake history — with the pinned block's prevrandao as the seed. Throws
 * EpochNotFinalError while that block is above `finalisedBlock`.
 */
export async function readStakedCommittee(
  pub: PublicClient,
  registry: Hex,
  clock: EpochClock,
  epoch: bigint,
  finalisedBlock: bigint,
): Promise<StakedCommittee & { members: Hex[] }> {
  const pinned = checkFinal(clock, epoch, finalisedBlock);
  const abi = electionArtifacts().StakeRegistry.abi as Abi;
  const c = await committeeAt(pub, { address: registry, abi }, pinned);
  const block = await pub.getBlock({ blockNumber: pinned });
  if (!block.mixHash) throw new Error(`L1 block ${pinned} has no prevrandao (mixHash)`);
  return { epoch, members: c.members, publicKeys: c.publicKeys, stakes: c.weights, seed: block.mixHash };
}

/**
 * The `dpos` committee of `epoch`: Governance.committeeAt(pinned block), from its vote checkpoints
 * (top-N by delegated votes).
 */
export async function readElectedCommittee(
  pub: PublicClient,
  governance: Hex,
  clock: EpochClock,
  epoch: bigint,
  finalisedBlock: bigint,
): Promise<{ epoch: bigint; members: Hex[]; publicKeys: Hex[]; votes: bigint[] }> {
  const pinned = checkFinal(clock, epoch, finalisedBlock);
  const abi = electionArtifacts().Governance.abi as Abi;
  const c = await committeeAt(pub, { address: governance, abi }, pinned);
  return { epoch, members: c.members, publicKeys: c.publicKeys, votes: c.weights };
}

/**
 * The `auction` winner of `epoch`: its committee index in `publicKeys` (compressed keys), or null when
 * nobody bid or the winner's key is not a member. Bidding closes before the epoch starts, so the
 * winner is read once the closing block is final.
 */
export async function readAuctionWinner(
  pub: PublicClient,
  auction: Hex,
  epoch: bigint,
  publicKeys: readonly Hex[],
  finalisedBlock: bigint,
): Promise<{ index: number | null; bidder: Hex; amount: bigint }> {
  const abi = electionArtifacts().SequencerAuction.abi as Abi;
  const closesAt = (await pub.readContract({
    address: auction,
    abi,
    functionName: 'closesAt',
    args: [epoch],
  })) as bigint;
  if (closesAt > finalisedBlock) throw new EpochNotFinalError(epoch, closesAt, finalisedBlock);
  const bid = (await pub.readContract({
    address: auction,
    abi,
    functionName: 'winner',
    args: [epoch],
    blockNumber: finalisedBlock,
  })) as { bidder: Hex; sequencerKey: Hex; amount: bigint };
  const index = publicKeys.findIndex((k) => sequencerKeyHash(k) === bid.sequencerKey.toLowerCase());
  return { index: index < 0 || bid.amount === 0n ? null : index, bidder: bid.bidder, amount: bid.amount };
}

/** What an auction bid names its sequencer by: keccak256 of the compressed BLS key (48 bytes). */
export function sequencerKeyHash(compressedKey: Hex): Hex {
  return viemKeccak(compressedKey).toLowerCase() as Hex;
}

/** Slasher.slashDoubleSign's arguments for a node's equivocation evidence (two signed votes or proposals). */
export function doubleSignArgs(
  e: Equivocation,
  memberPublicKey: Hex,
): readonly [
  number,
  Hex,
  bigint,
  bigint,
  { blockHash: Hex; signature: Hex },
  { blockHash: Hex; signature: Hex },
] {
  const signed = (m: Equivocation['first']) => {
    if (m.kind === 'vote')
      return { blockHash: m.vote.blockHash, signature: toHex(g2ToEip2537(m.vote.signature)) };
    if (m.kind === 'proposal')
      return { blockHash: m.proposal.block.hash, signature: toHex(g2ToEip2537(m.proposal.signature)) };
    throw new Error('timeouts are not slashable evidence');
  };
  return [
    e.phase === 'vote' ? 0 : 1,
    toHex(g1ToEip2537(memberPublicKey)),
    e.epoch,
    e.view,
    signed(e.first),
    signed(e.second),
  ];
}
