import {
  type Abi,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  getContractAddress,
  type Hex,
  http,
  zeroAddress,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { quorumFor } from '../consensus/certificate.js';
import { committeeKeysForL1 } from './bls-encoding.js';
import { type ContractArtifact, compileContracts } from './solc.js';

export const L1_CONTRACTS = [
  'SingleKeyAuthoriser',
  'L1MessageQueue',
  'Inbox',
  'StateOracle',
  'Bridge',
] as const;
export type L1ContractName = (typeof L1_CONTRACTS)[number];

type Artifacts = Record<L1ContractName | 'CommitteeVerifier' | 'OpenInbox', ContractArtifact>;

/**
 * The L1 contracts, the CommitteeVerifier (the Inbox imports it) and the OpenInbox of the `based` and
 * `free` modes, from one compile of All.sol.
 */
function allArtifacts(): Artifacts {
  return compileContracts('l1/All.sol', [...L1_CONTRACTS, 'CommitteeVerifier', 'OpenInbox']) as Artifacts;
}

/** The OpenInbox (contracts/l1/OpenInbox.sol): anyone posts, derivation decides what counts. */
export function openInboxArtifact(): ContractArtifact {
  return allArtifacts().OpenInbox;
}

/** The modes in which anyone posts batches to an OpenInbox and L1 order decides (no committee orders). */
export const OPEN_MODES = ['based', 'free'] as const;
export type OpenMode = (typeof OPEN_MODES)[number];

/**
 * The CommitteeVerifier's errors that verifyCommitProof and verifyOutput can raise, and so
 * postCertified*Batch and proposeCertified.
 */
const CERTIFICATE_ERRORS = new Set([
  'UnknownEpoch',
  'BadBitmap',
  'NotEnoughSigners',
  'BadSignature',
  'NoCertificate',
  'QcNotForBlock',
  'MissingChildQc',
  'ChildQcNotNextView',
  'BadPoint',
  'NotEnoughGas',
  'PrecompileFailed',
]);

/**
 * The L1 contracts' artifacts. The Inbox's and the StateOracle's ABIs also list the CommitteeVerifier
 * errors that their certified functions pass on (solc lists only a contract's own), so that viem
 * decodes them.
 */
export function l1Artifacts(): Record<L1ContractName, ContractArtifact> {
  const all = allArtifacts();
  const bubbled = all.CommitteeVerifier.abi.filter(
    (e) => (e as { type: string }).type === 'error' && CERTIFICATE_ERRORS.has((e as { name: string }).name),
  );
  return {
    ...all,
    Inbox: { ...all.Inbox, abi: [...all.Inbox.abi, ...bubbled] },
    StateOracle: { ...all.StateOracle, abi: [...all.StateOracle.abi, ...bubbled] },
  };
}

/**
 * The committee's BLS verifier (contracts/l1/CommitteeVerifier.sol). deployL1Contracts deploys it,
 * wired to the Inbox, when given a committee.
 */
export function committeeVerifierArtifact(): ContractArtifact {
  return allArtifacts().CommitteeVerifier;
}

export interface L1Deployment {
  l1ChainId: number;
  deployer: Hex;
  sequencer: Hex;
  finalisationDelaySeconds: number;
  deployedAtBlock: number;
  /** CommitteeVerifier is there only when deployed with a committee. */
  contracts: Record<L1ContractName, Hex> & { CommitteeVerifier?: Hex };
  /** Committee mode: the committee the CommitteeVerifier was deployed with. */
  committee?: DeployedCommittee;
  /** The election contracts (staking, slashing, auction, governance), when deployed. */
  election?: DeployedElection;
  /**
   * `based` or `free`: `contracts.Inbox` is an OpenInbox (anyone posts; derivation picks by L1 order)
   * and the rollup's chain is what derivation makes of it. Absent: the Inbox of one key or a committee.
   */
  openMode?: OpenMode;
}

/** What the deployment JSON says about the election contracts (numbers as decimal strings). */
export interface DeployedElection {
  /** The mode the devnet seeded the contracts for (pos, dpos, auction). */
  mode?: string;
  genesisBlock: string;
  epochLength: string;
  contracts: { StakeRegistry: Hex; Slasher: Hex; Governance: Hex; SequencerAuction: Hex };
  /** The rollup's ERC-20 token (governance votes; the stakes too when `stakeToken` is set). */
  token?: Hex;
  /** Stakes are in `token`, not ETH. */
  stakeToken?: boolean;
}

/** What the deployment JSON says about the committee (the keys are compressed, as the nodes hold them). */
export interface DeployedCommittee {
  /** The rollup's (L2) chain id the Inbox checks votes for. */
  chainId: string;
  epoch: string;
  quorum: number;
  publicKeys: Hex[];
}

/** Committee mode: the Inbox accepts certified batches, verified by a CommitteeVerifier. */
export interface DeployCommitteeOptions {
  /** BLS public keys (compressed, 48 bytes hex, as the nodes have them), in committee index order. */
  publicKeys: Hex[];
  /** Default quorumFor(publicKeys.length) (2f + 1). */
  quorum?: number;
  /** The rollup's (L2) chain id: part of every vote. */
  chainId: bigint;
  /** The epoch of this committee (default 0, the committee nodes' epoch). */
  epoch?: bigint;
}

export interface DeployOptions {
  rpcUrl: string;
  deployerKey: Hex;
  /** L1 address allowed to post batches and outputs (the single sequencer's key). */
  sequencer: Hex;
  finalisationDelaySeconds: number;
  /**
   * When given: deploy a CommitteeVerifier with this committee, and an Inbox and a StateOracle wired
   * to it (with `openMode`, the StateOracle only: the committee certifies outputs, L1 orders).
   */
  committee?: DeployCommitteeOptions;
  /** `based` / `free`: deploy an OpenInbox in the Inbox's place. */
  openMode?: OpenMode;
  onProgress?: (line: string) => void;
}

function checkCommittee(c: DeployCommitteeOptions): Required<DeployCommitteeOptions> {
  const n = c.publicKeys.length;
  if (n === 0) throw new Error('a committee needs at least one BLS public key');
  for (const k of c.publicKeys)
    if (!/^0x[0-9a-fA-F]{96}$/.test(k))
      throw new Error(`a committee BLS public key is 48 bytes hex (compressed), got "${k}"`);
  const quorum = c.quorum ?? quorumFor(n);
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > n || 3 * quorum <= 2 * n)
    throw new Error(`quorum ${quorum} for ${n} members: it must be more than two thirds and at most ${n}`);
  if (c.chainId <= 0n || c.chainId >= 2n ** 64n) throw new Error(`bad rollup chain id ${c.chainId}`);
  return { publicKeys: c.publicKeys, quorum, chainId: c.chainId, epoch: c.epoch ?? 0n };
}

/**
 * Deploys the rollup's L1 contracts in one go: all creation txs are sent with consecutive nonces
 * (their addresses are known in advance), so they land in one or two L1 blocks.
 */
export async function deployL1Contracts(opts: DeployOptions): Promise<L1Deployment> {
  const log = opts.onProgress ?? (() => {});
  const committee = opts.committee && checkCommittee(opts.committee);
  const artifacts = allArtifacts();
  const account = privateKeyToAccount(opts.deployerKey);
  const transport = http(opts.rpcUrl);
  const pub = createPublicClient({ transport });
  const l1ChainId = await pub.getChainId();
  const chain = {
    id: l1ChainId,
    name: 'l1',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [opts.rpcUrl] } },
  } as const;
  const wallet = createWalletClient({ account, chain, transport });
  const nonce = await pub.getTransactionCount({ address: account.address, blockTag: 'pending' });
  const at = (i: number) => getContractAddress({ from: account.address, nonce: BigInt(nonce + i) });
  // Committee mode: the CommitteeVerifier goes first (the Inbox's constructor checks that it has code),
  // the others follow in the same order as without a committee.
  const verifier = committee ? at(0) : undefined;
  const first = committee ? 1 : 0;
  const addresses = Object.fromEntries(L1_CONTRACTS.map((name, i) => [name, at(first + i)])) as Record<
    L1ContractName,
    Hex
  >;
  const constructorArgs: Record<L1ContractName, readonly unknown[]> = {
    SingleKeyAuthoriser: [opts.sequencer],
    L1MessageQueue: [],
    Inbox: opts.openMode
      ? []
      : [addresses.SingleKeyAuthoriser, verifier ?? zeroAddress, committee?.chainId ?? 0n],
    // With a committee, outputs need its certificate (proposeCertified) as batches do.
    StateOracle: [
      addresses.SingleKeyAuthoriser,
      verifier ?? zeroAddress,
      committee?.chainId ?? 0n,
      BigInt(opts.finalisationDelaySeconds),
    ],
    Bridge: [addresses.L1MessageQueue, addresses.StateOracle],
  };
  const hashes: Hex[] = [];
  if (committee && verifier) {
    log(
      `deploying CommitteeVerifier at ${verifier} (${committee.publicKeys.length} members, quorum ${committee.quorum}, rollup chain id ${committee.chainId})…`,
    );
    hashes.push(
      await wallet.deployContract({
        abi: artifacts.CommitteeVerifier.abi as Abi,
        bytecode: artifacts.CommitteeVerifier.bytecode,
        args: [committee.epoch, committeeKeysForL1(committee), BigInt(committee.quorum)],
        nonce,
      }),
    );
  }
  for (const [i, name] of L1_CONTRACTS.entries()) {
    const artifact = name === 'Inbox' && opts.openMode ? artifacts.OpenInbox : artifacts[name];
    log(`deploying ${name === 'Inbox' && opts.openMode ? 'OpenInbox' : name} at ${addresses[name]}…`);
    hashes.push(
      await wallet.deployContract({
        abi: artifact.abi as Abi,
        bytecode: artifact.bytecode,
        args: constructorArgs[name] as never,
        nonce: nonce + first + i,
      }),
    );
  }
  hashes.push(
    await wallet.sendTransaction({
      to: addresses.L1MessageQueue,
      data: encodeFunctionData({
        abi: artifacts.L1MessageQueue.abi as Abi,
        functionName: 'initialise',
        args: [addresses.Bridge],
      }),
      nonce: nonce + first + L1_CONTRACTS.length,
    }),
  );
  let deployedAtBlock = 0;
  for (const hash of hashes) {
    const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 100 });
    if (receipt.status !== 'success') throw new Error(`deployment tx ${hash} reverted`);
    deployedAtBlock = Math.max(deployedAtBlock, Number(receipt.blockNumber));
  }
  log(`L1 contracts deployed by block ${deployedAtBlock}`);
  return {
    l1ChainId,
    deployer: account.address,
    sequencer: opts.sequencer,
    finalisationDelaySeconds: opts.finalisationDelaySeconds,
    deployedAtBlock,
    contracts: verifier ? { ...addresses, CommitteeVerifier: verifier } : addresses,
    ...(opts.openMode && { openMode: opts.openMode }),
    ...(committee && {
      committee: {
        chainId: committee.chainId.toString(),
        epoch: committee.epoch.toString(),
        quorum: committee.quorum,
        publicKeys: committee.publicKeys,
      },
    }),
  };
}
