import { type Abi, createPublicClient, decodeFunctionData, type Hex, http } from 'viem';
import {
  type CommitProof,
  type Committee,
  type QuorumCertificate,
  verifyCommitProof,
} from '../consensus/certificate.js';
import { eip2537ToCompressedG1, g2ToEip2537 } from './bls-encoding.js';
import { customErrorOf, l1Clients } from './clients.js';
import { committeeVerifierArtifact, type L1Deployment, l1Artifacts } from './deploy.js';
import { electionArtifacts } from './election.js';

/** A QC as a certified batch carries it on L1 (CommitteeVerifier.QC, EIP-2537 signature). */
export interface PostedQc {
  batchIndex: bigint;
  l1Tx: Hex;
  /** The batch's last block and its hash, which the batch's commit proof certifies. */
  lastBlock: bigint;
  lastBlockHash: Hex;
  epoch: bigint;
  view: bigint;
  blockHash: Hex;
  /** Signer indices (the bitmap's set bits). */
  signers: number[];
  signature: Hex;
}

/** One Slasher.Certificate (blockHash, the signers' registered EIP-2537 keys, EIP-2537 signature). */
export interface SlasherCertificate {
  blockHash: Hex;
  keys: Hex[];
  signature: Hex;
}

export type SlashOutcome =
  /** No certificate on L1 names another block in a view of the preconfirmation's QCs. */
  | { verdict: 'no-conflict'; checkedQcs: number }
  /**
   * A certified batch ends at the preconfirmed height with another block, certified in other views:
   * broken, but not provable as one view's double signing (DECISIONS.md §5 slashes only that).
   */
  | { verdict: 'contradicted-other-view'; batchIndex: bigint; posted: Hex; checkedQcs: number }
  | {
      verdict: 'slashed' | 'already-slashed';
      epoch: bigint;
      view: bigint;
      preconfirmed: Hex;
      posted: Hex;
      /** The L1 tx that posted the contradicting batch. */
      postedIn: Hex;
      batchIndex: bigint;
      slashed: number;
      tx?: Hex;
    };

/**
 * Checks a preconfirmation (a commit proof, `seqnet_getPreconfirmation`'s `proof`) against every
 * commit proof the Inbox took: a certified batch's QC for the same (epoch, view) on another block
 * proves that the members in both signer sets signed two votes for one view (DECISIONS.md §5), and
 * `Slasher.slashConflictingCertificates` takes their stake. The committee's keys come from the
 * CommitteeVerifier on L1, not from whoever served the preconfirmation.
 */
export async function slashContradictedPreconfirmation(opts: {
  l1Url: string;
  deployment: L1Deployment;
  proof: CommitProof;
  /** L1 key that sends the report and receives the reporter's reward. */
  key: Hex;
  /** Called as the posting txs of the batches on L1 are read (one RPC call each). */
  onProgress?(read: number, batches: number): void;
}): Promise<SlashOutcome> {
  const { deployment, proof } = opts;
  const { slasher, verifier } = slashingContracts(deployment);
  const committeeOf = committeeReader(opts.l1Url, verifier);
  // Only a valid preconfirmation proves anything: check it against the committee L1 knows.
  const committee = await committeeOf(proof.qcs[0]?.epoch ?? 0n);
  const invalid = verifyCommitProof(proof, committee);
  if (invalid) throw new Error(`not a valid preconfirmation of this committee: ${invalid}`);
  const posted = await postedQcs(opts.l1Url, deployment.contracts.Inbox, opts.onProgress);
  const conflict = sameViewConflict(proof.qcs, posted);
  if (conflict) {
    const reported = await reportSameViewConflict({
      l1Url: opts.l1Url,
      key: opts.key,
      slasher,
      keys: (await committeeOf(conflict.ours.epoch)).eip2537Keys,
      ...conflict,
    });
    return {
      ...reported,
      epoch: conflict.ours.epoch,
      view: conflict.ours.view,
      preconfirmed: conflict.ours.blockHash,
      posted: conflict.theirs.blockHash,
      postedIn: conflict.theirs.l1Tx,
      batchIndex: conflict.theirs.batchIndex,
    };
  }
  const other = posted.find(
    (p) => p.lastBlock === proof.height && p.lastBlockHash.toLowerCase() !== proof.blockHash.toLowerCase(),
  );
  if (other)
    return {
      verdict: 'contradicted-other-view',
      batchIndex: other.batchIndex,
      posted: other.lastBlockHash,
      checkedQcs: posted.length,
    };
  return { verdict: 'no-conflict', checkedQcs: posted.length };
}

export type PairOutcome =
  /** No QC of one proof names another block in a view of the other's. */
  | { verdict: 'no-conflict' }
  /** Two blocks at one height, certified in different views: broken, not provable double signing. */
  | { verdict: 'contradicted-other-view'; height: bigint; blocks: [Hex, Hex] }
  | {
      verdict: 'slashed' | 'already-slashed';
      epoch: bigint;
      view: bigint;
      blocks: [Hex, Hex];
      slashed: number;
      tx?: Hex;
    };

/**
 * Checks two preconfirmations (commit proofs) against each other: a QC of one and a QC of the other
 * for the same (epoch, view) on different blocks slash every member that signed both, as a conflict
 * with a batch on L1 does. For two proofs that members served, neither of which reached L1. Both
 * must verify against the committee the CommitteeVerifier on L1 holds.
 */
export async function slashConflictingPreconfirmations(opts: {
  l1Url: string;
  deployment: L1Deployment;
  proofs: [CommitProof, CommitProof];
  key: Hex;
}): Promise<PairOutcome> {
  const { slasher, verifier } = slashingContracts(opts.deployment);
  const committeeOf = committeeReader(opts.l1Url, verifier);
  for (const [i, proof] of opts.proofs.entries()) {
    const invalid = verifyCommitProof(proof, await committeeOf(proof.qcs[0]?.epoch ?? 0n));
    if (invalid)
      throw new Error(
        `preconfirmation ${i + 1} is not a valid preconfirmation of this committee: ${invalid}`,
      );
  }
  const [a, b] = opts.proofs;
  const conflict = sameViewConflict(a.qcs, b.qcs);
  if (conflict) {
    const reported = await reportSameViewConflict({
      l1Url: opts.l1Url,
      key: opts.key,
      slasher,
      keys: (await committeeOf(conflict.ours.epoch)).eip2537Keys,
      ...conflict,
    });
    return {
      ...reported,
      epoch: conflict.ours.epoch,
      view: conflict.ours.view,
      blocks: [conflict.ours.blockHash, conflict.theirs.blockHash],
    };
  }
  if (a.height === b.height && a.blockHash.toLowerCase() !== b.blockHash.toLowerCase())
    return { verdict: 'contradicted-other-view', height: a.height, blocks: [a.blockHash, b.blockHash] };
  return { verdict: 'no-conflict' };
}

/** The deployment's Slasher and CommitteeVerifier, or what to deploy when either is missing. */
export function slashingContracts(deployment: L1Deployment): { slasher: Hex; verifier: Hex } {
  const slasher = deployment.election?.contracts.Slasher;
  const verifier = deployment.contracts.CommitteeVerifier;
  if (!verifier)
    throw new Error('this deployment has no CommitteeVerifier: its batches carry no certificates to compare');
  if (!slasher)
    throw new Error(
      'this deployment has no Slasher (deploy the election contracts: `--election pos | dpos | auction`)',
    );
  return { slasher, verifier };
}

/** The committee of an epoch as the CommitteeVerifier on L1 holds it (read once per epoch). */
export function committeeReader(
  l1Url: string,
  verifier: Hex,
): (epoch: bigint) => Promise<Committee & { eip2537Keys: Hex[] }> {
  const pub = createPublicClient({ transport: http(l1Url, { retryCount: 0, timeout: 30_000 }) });
  const verifierAbi = committeeVerifierArtifact().abi as Abi;
  const committees = new Map<bigint, Committee & { eip2537Keys: Hex[] }>();
  return async (epoch) => {
    let c = committees.get(epoch);
    if (!c) {
      const read = (functionName: string) =>
        pub.readContract({ address: verifier, abi: verifierAbi, functionName, args: [epoch] });
      const eip2537Keys = (await read('publicKeys')) as Hex[];
      const { quorum } = (await read('committee')) as { quorum: number };
      c = { publicKeys: eip2537Keys.map(eip2537ToCompressedG1), quorum: Number(quorum), eip2537Keys };
      committees.set(epoch, c);
    }
    return c;
  };
}

/**
 * The first QC of `ours` for which a posted QC names another block in the same (epoch, view): the
 * members in both signer sets signed two votes for one view (DECISIONS.md §5).
 */
export function sameViewConflict<Theirs extends { epoch: bigint; view: bigint; blockHash: Hex }>(
  ours: readonly QuorumCertificate[],
  posted: readonly Theirs[],
): { ours: QuorumCertificate; theirs: Theirs } | undefined {
  for (const q of ours)
    for (const theirs of posted) {
      if (theirs.epoch !== q.epoch || theirs.view !== q.view) continue;
      if (theirs.blockHash.toLowerCase() === q.blockHash.toLowerCase()) continue;
      return { ours: q, theirs };
    }
  return undefined;
}

/**
 * Sends `Slasher.slashConflictingCertificates` for two certificates of one view (simulated first:
 * `already-slashed` when nobody in both signer sets has stake left to take, and nothing is sent).
 */
/**
 * Reports a same-view conflict (`sameViewConflict`'s answer): this side's QC against a QC from L1
 * (`PostedQc`) or from another proof or message (`QuorumCertificate`), with the epoch's keys.
 */
export function reportSameViewConflict(opts: {
  l1Url: string;
  key: Hex;
  slasher: Hex;
  /** The epoch's registered EIP-2537 keys, in member order. */
  keys: Hex[];
  ours: QuorumCertificate;
  theirs: QuorumCertificate | PostedQc;
}): Promise<{ verdict: 'slashed' | 'already-slashed'; slashed: number; tx?: Hex }> {
  const { ours, theirs, keys } = opts;
  return reportConflictingCertificates({
    l1Url: opts.l1Url,
    key: opts.key,
    slasher: opts.slasher,
    epoch: ours.epoch,
    view: ours.view,
    a: slasherCertificate(ours, keys),
    b: Array.isArray(theirs.signers)
      ? postedSlasherCertificate(theirs as PostedQc, keys)
      : slasherCertificate(theirs as QuorumCertificate, keys),
  });
}

async function reportConflictingCertificates(opts: {
  l1Url: string;
  key: Hex;
  slasher: Hex;
  epoch: bigint;
  view: bigint;
  a: SlasherCertificate;
  b: SlasherCertificate;
}): Promise<{ verdict: 'slashed' | 'already-slashed'; slashed: number; tx?: Hex }> {
  const { epoch, view, a, b } = opts;
  const { account, wallet, pub } = await l1Clients(opts.l1Url, opts.key);
  const abi = electionArtifacts().Slasher.abi as Abi;
  let request: unknown;
  let slashed: bigint;
  try {
    ({ request, result: slashed } = (await pub.simulateContract({
      address: opts.slasher,
      abi,
      functionName: 'slashConflictingCertificates',
      args: [epoch, view, a, b],
      account,
    })) as { request: unknown; result: bigint });
  } catch (err) {
    if (customErrorOf(err)?.name === 'NothingToSlash') return { verdict: 'already-slashed', slashed: 0 };
    throw err;
  }
  const tx = await wallet.writeContract(request as never);
  const receipt = await pub.waitForTransactionReceipt({ hash: tx, pollingInterval: 250 });
  if (receipt.status !== 'success') throw new Error(`the report ${tx} reverted`);
  return { verdict: 'slashed', slashed: Number(slashed), tx };
}

/** A posted QC as a Slasher.Certificate: its signers' keys from `keys` (the epoch's, EIP-2537). */
function postedSlasherCertificate(qc: PostedQc, keys: Hex[]): SlasherCertificate {
  return { blockHash: qc.blockHash, keys: qc.signers.map((i) => keys[i]), signature: qc.signature };
}

/** A QC as a Slasher.Certificate: its signers' keys from `keys` (the epoch's, EIP-2537). */
function slasherCertificate(qc: QuorumCertificate, keys: Hex[]): SlasherCertificate {
  const signers: Hex[] = [];
  for (let i = 0; i < keys.length; i++) if ((qc.signers >> BigInt(i)) & 1n) signers.push(keys[i]);
  return {
    blockHash: qc.blockHash,
    keys: signers,
    signature: `0x${Buffer.from(g2ToEip2537(qc.signature)).toString('hex')}`,
  };
}

/** Every QC of every certified batch on L1, read from the calldata of the posting transactions. */
async function postedQcs(
  l1Url: string,
  inbox: Hex,
  onProgress?: (read: number, batches: number) => void,
): Promise<PostedQc[]> {
  const pub = createPublicClient({ transport: http(l1Url, { retryCount: 0, timeout: 30_000 }) });
  const logs = await batchPostedLogs(pub, inbox, 0n);
  const out: PostedQc[] = [];
  for (const [i, log] of logs.entries()) {
    if (i % 100 === 0) onProgress?.(i, logs.length);
    out.push(...(await postedQcsOf(pub, log)));
  }
  return out;
}

/** A `BatchPosted` log of the Inbox, with what the QC comparison needs. */
export interface BatchPostedLog {
  transactionHash: Hex;
  blockNumber: bigint;
  args: { index: bigint; lastBlock: bigint; lastBlockHash: Hex };
}

type L1Reader = ReturnType<typeof createPublicClient>;

/** The Inbox's `BatchPosted` logs from `fromBlock` (to `toBlock`, or the head). */
export async function batchPostedLogs(
  pub: L1Reader,
  inbox: Hex,
  fromBlock: bigint,
  toBlock?: bigint,
): Promise<BatchPostedLog[]> {
  return (await pub.getContractEvents({
    address: inbox,
    abi: l1Artifacts().Inbox.abi as Abi,
    eventName: 'BatchPosted',
    fromBlock,
    ...(toBlock === undefined ? {} : { toBlock }),
  })) as unknown as BatchPostedLog[];
}

/** The QCs a certified batch carries (its commit proof), read from its posting tx's calldata. */
export async function postedQcsOf(pub: L1Reader, log: BatchPostedLog): Promise<PostedQc[]> {
  const tx = await pub.getTransaction({ hash: log.transactionHash });
  let call: { functionName: string; args?: readonly unknown[] };
  try {
    call = decodeFunctionData({ abi: l1Artifacts().Inbox.abi as Abi, data: tx.input }) as typeof call;
  } catch {
    return []; // posted through another contract: its calldata is not the Inbox's
  }
  const qcs =
    call.functionName === 'postCertifiedBatch'
      ? call.args?.[5]
      : call.functionName === 'postCertifiedBlobBatch'
        ? call.args?.[4]
        : undefined;
  if (!Array.isArray(qcs)) return [];
  return (qcs as Array<{ epoch: bigint; view_: bigint; blockHash: Hex; signers: Hex; signature: Hex }>).map(
    (q) => ({
      batchIndex: log.args.index,
      l1Tx: log.transactionHash,
      lastBlock: log.args.lastBlock,
      lastBlockHash: log.args.lastBlockHash,
      epoch: q.epoch,
      view: q.view_,
      blockHash: q.blockHash,
      signers: bitmapIndices(q.signers),
      signature: q.signature,
    }),
  );
}

/** The set bits of a signers bitmap as CommitteeVerifier reads it (bit i of byte i / 8 = member i). */
function bitmapIndices(bitmap: Hex): number[] {
  const bytes = Buffer.from(bitmap.slice(2), 'hex');
  const out: number[] = [];
  for (let i = 0; i < bytes.length * 8; i++) if ((bytes[i >> 3] >> (i & 7)) & 1) out.push(i);
  return out;
}
