import {
  aggregatePublicKeys,
  aggregateSignatures,
  PublicKey,
  SecretKey,
  Signature,
  verify,
} from '@chainsafe/blst';
import { RLP } from '@ethereumjs/rlp';
import { bigIntToBytes, bytesToBigInt, fromHex, type Hex, keccak256, toHex } from '../util/bytes.js';

/** A quorum certificate: an aggregate BLS signature of committee members over one vote. */
export interface QuorumCertificate {
  epoch: bigint;
  view: bigint;
  /** Hash of the sequenced block voted for. */
  blockHash: Hex;
  /** Bitmap of committee indices that signed (bit i = member i). */
  signers: bigint;
  /** Aggregate BLS signature (G2, compressed, 96 bytes). */
  signature: Hex;
}

/**
 * Proof that a sequenced block is committed (DECISIONS.md §2): the block's QC and the QC of its direct
 * child in the next view. A committee of one needs only the block's own QC: nobody else can have seen
 * a competing block. This is the preconfirmation users get, verifiable offline with the committee's keys.
 */
export interface CommitProof {
  chainId: bigint;
  height: bigint;
  blockHash: Hex;
  qcs: QuorumCertificate[];
}

const VOTE_DOMAIN = new TextEncoder().encode('seqnet/vote/v1');

/** The 32 bytes a committee member signs to vote for `blockHash` in (epoch, view). */
export function voteMessage(chainId: bigint, epoch: bigint, view: bigint, blockHash: Hex): Uint8Array {
  return keccak256(
    RLP.encode([
      VOTE_DOMAIN,
      bigIntToBytes(chainId),
      bigIntToBytes(epoch),
      bigIntToBytes(view),
      fromHex(blockHash),
    ]),
  );
}

const TIMEOUT_DOMAIN = new TextEncoder().encode('seqnet/timeout/v1');
const PROPOSAL_DOMAIN = new TextEncoder().encode('seqnet/proposal/v1');

/** What a member signs to give up on `view`, carrying the view of the highest QC it knows. */
export function timeoutMessage(chainId: bigint, epoch: bigint, view: bigint, highQcView: bigint): Uint8Array {
  return keccak256(
    RLP.encode([
      TIMEOUT_DOMAIN,
      bigIntToBytes(chainId),
      bigIntToBytes(epoch),
      bigIntToBytes(view),
      bigIntToBytes(highQcView),
    ]),
  );
}

/** What a leader signs to propose `blockHash` in `view`; two such signatures for one view are slashable. */
export function proposalMessage(chainId: bigint, epoch: bigint, view: bigint, blockHash: Hex): Uint8Array {
  return keccak256(
    RLP.encode([
      PROPOSAL_DOMAIN,
      bigIntToBytes(chainId),
      bigIntToBytes(epoch),
      bigIntToBytes(view),
      fromHex(blockHash),
    ]),
  );
}

export function signVote(
  key: SecretKey,
  chainId: bigint,
  epoch: bigint,
  view: bigint,
  blockHash: Hex,
): Uint8Array {
  return key.sign(voteMessage(chainId, epoch, view, blockHash)).toBytes();
}

/** Aggregates members' signatures over one message (a vote: a QC; an output) into a certificate. */
export function aggregateQc<Base extends object>(
  base: Base,
  votes: Array<{ index: number; signature: Uint8Array }>,
): Base & { signers: bigint; signature: Hex } {
  let signers = 0n;
  const sigs: Signature[] = [];
  for (const v of votes) {
    signers |= 1n << BigInt(v.index);
    sigs.push(Signature.fromBytes(v.signature, true));
  }
  const agg = sigs.length === 1 ? sigs[0] : aggregateSignatures(sigs);
  return { ...base, signers, signature: toHex(agg.toBytes()) };
}

/** The committee that certifies blocks: BLS public keys in index order and the quorum size. */
export interface Committee {
  publicKeys: Hex[];
  quorum: number;
}

/** Quorum for n members tolerating f = ⌊(n−1)/3⌋ faults: 2f+1 (n = 1 → 1). */
export const quorumFor = (n: number): number => n - Math.floor((n - 1) / 3);

export function verifyQc(qc: QuorumCertificate, chainId: bigint, committee: Committee): string | null {
  return verifyAggregate(voteMessage(chainId, qc.epoch, qc.view, qc.blockHash), qc, committee);
}

/** One pairing check: `sig` over `msg` by `pk` (a certificate's aggregate key, or one member's). */
export interface SignatureSet {
  msg: Uint8Array;
  pk: PublicKey;
  sig: Signature;
}

/**
 * A QC as one signature set to check, or why it cannot be one (its bitmap or bytes are wrong): a
 * caller may check it in one multi-pairing with other sets (verifyMultipleAggregateSignatures).
 */
export function qcSignatureSet(
  qc: QuorumCertificate,
  chainId: bigint,
  committee: Committee,
): SignatureSet | string {
  return aggregateSet(voteMessage(chainId, qc.epoch, qc.view, qc.blockHash), qc, committee);
}

function aggregateSet(
  msg: Uint8Array,
  { signers, signature }: { signers: bigint; signature: Hex },
  committee: Committee,
): SignatureSet | string {
  if (signers >> BigInt(committee.publicKeys.length) !== 0n) return 'signer bitmap names a non-member';
  const count = signerCount(signers);
  if (count < committee.quorum) return `only ${count} signers, quorum is ${committee.quorum}`;
  let sig: Signature;
  try {
    sig = Signature.fromBytes(fromHex(signature), true);
  } catch {
    return 'malformed aggregate signature';
  }
  return { msg, pk: aggregateKeyOf(committee.publicKeys, signers), sig };
}

/** Null when `signature` is a quorum of `committee`, the members `signers` names, over `msg`; else why not. */
function verifyAggregate(
  msg: Uint8Array,
  cert: { signers: bigint; signature: Hex },
  committee: Committee,
): string | null {
  const set = aggregateSet(msg, cert, committee);
  if (typeof set === 'string') return set;
  return verify(set.msg, set.pk, set.sig) ? null : 'aggregate signature does not verify';
}

function signerCount(signers: bigint): number {
  let count = 0;
  for (let rest = signers; rest > 0n; rest >>= 1n) count += Number(rest & 1n);
  return count;
}

/**
 * The aggregate public key of the members a bitmap names, per committee key list: a certificate is
 * checked on every member and every proposal carries one, and decoding and validating the keys each
 * time was a fifth of a QC check (~0.25 of ~1.3 ms). A committee names only a few distinct signer sets.
 */
const aggregateKeys = new WeakMap<Hex[], { keys: PublicKey[]; bySigners: Map<bigint, PublicKey> }>();

export function aggregateKeyOf(publicKeys: Hex[], signers: bigint): PublicKey {
  let cached = aggregateKeys.get(publicKeys);
  if (!cached) {
    cached = { keys: publicKeys.map((k) => PublicKey.fromBytes(fromHex(k), true)), bySigners: new Map() };
    aggregateKeys.set(publicKeys, cached);
  }
  let key = cached.bySigners.get(signers);
  if (!key) {
    const keys = cached.keys.filter((_, i) => (signers >> BigInt(i)) & 1n);
    key = keys.length === 1 ? keys[0] : aggregatePublicKeys(keys);
    if (cached.bySigners.size >= 1_024) cached.bySigners.clear();
    cached.bySigners.set(signers, key);
  }
  return key;
}

/**
 * An L2 output (the StateOracle's outputRootOf(stateRoot, withdrawalsRoot, blockHash)) vouched for by
 * a quorum of the committee (DECISIONS.md §4): what the StateOracle takes instead of a single key.
 */
export interface OutputCertificate {
  epoch: bigint;
  l2Block: bigint;
  outputRoot: Hex;
  signers: bigint;
  /** Aggregate BLS signature (G2, compressed, 96 bytes). */
  signature: Hex;
}

const OUTPUT_DOMAIN = new TextEncoder().encode('seqnet/output/v1');

/**
 * keccak256("seqnet/output/v1" ‖ chainId ‖ epoch ‖ l2Block ‖ outputRoot), integers as 8 big-endian
 * bytes: CommitteeVerifier.outputMessage (abi.encodePacked), cheaper there than RLP.
 */
export function outputMessage(chainId: bigint, epoch: bigint, l2Block: bigint, outputRoot: Hex): Uint8Array {
  const buf = new Uint8Array(OUTPUT_DOMAIN.length + 24 + 32);
  buf.set(OUTPUT_DOMAIN, 0);
  const view = new DataView(buf.buffer);
  view.setBigUint64(OUTPUT_DOMAIN.length, chainId);
  view.setBigUint64(OUTPUT_DOMAIN.length + 8, epoch);
  view.setBigUint64(OUTPUT_DOMAIN.length + 16, l2Block);
  const root = fromHex(outputRoot);
  if (root.length !== 32) throw new Error('outputRoot: expected 32 bytes');
  buf.set(root, OUTPUT_DOMAIN.length + 24);
  return keccak256(buf);
}

export function signOutput(
  key: SecretKey,
  chainId: bigint,
  epoch: bigint,
  l2Block: bigint,
  outputRoot: Hex,
): Uint8Array {
  return key.sign(outputMessage(chainId, epoch, l2Block, outputRoot)).toBytes();
}

/** Checks an output certificate offline; null when valid, or why not. */
export function verifyOutputCertificate(
  cert: OutputCertificate,
  chainId: bigint,
  committee: Committee,
): string | null {
  return verifyAggregate(outputMessage(chainId, cert.epoch, cert.l2Block, cert.outputRoot), cert, committee);
}

/** Checks a commit proof offline; returns null when valid, or why not. */
export function verifyCommitProof(proof: CommitProof, committee: Committee): string | null {
  const first = proof.qcs[0];
  if (!first) return 'no certificate';
  if (first.blockHash.toLowerCase() !== proof.blockHash.toLowerCase()) return 'first QC is not for the block';
  if (committee.publicKeys.length > 1) {
    const child = proof.qcs[1];
    if (!child) return 'a committee needs the QC of the direct child (two-chain commit)';
    if (child.view !== first.view + 1n) return "the child's QC is not from the next view";
  }
  for (const qc of proof.qcs) {
    const why = verifyQc(qc, proof.chainId, committee);
    if (why) return why;
  }
  return null;
}

export function encodeCommitProof(p: CommitProof): Uint8Array {
  return RLP.encode([
    bigIntToBytes(p.chainId),
    bigIntToBytes(p.height),
    fromHex(p.blockHash),
    p.qcs.map((q) => [
      bigIntToBytes(q.epoch),
      bigIntToBytes(q.view),
      fromHex(q.blockHash),
      bigIntToBytes(q.signers),
      fromHex(q.signature),
    ]),
  ]);
}

export function decodeCommitProof(raw: Uint8Array): CommitProof {
  const [chainId, height, blockHash, qcs] = RLP.decode(raw) as unknown as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array[][],
  ];
  return {
    chainId: bytesToBigInt(chainId),
    height: bytesToBigInt(height),
    blockHash: toHex(blockHash),
    qcs: qcs.map(([epoch, view, hash, signers, sig]) => ({
      epoch: bytesToBigInt(epoch),
      view: bytesToBigInt(view),
      blockHash: toHex(hash),
      signers: bytesToBigInt(signers),
      signature: toHex(sig),
    })),
  };
}

/** The inverse of commitProofToJson (a preconfirmation's `proof` as `seqnet_getPreconfirmation` serves it). */
export function commitProofFromJson(j: unknown): CommitProof {
  const o = j as Record<string, unknown> | null;
  const int = (v: unknown, what: string): bigint => {
    if (typeof v !== 'string' || !/^0x[0-9a-fA-F]+$/.test(v))
      throw new Error(`${what} must be a 0x-prefixed hex quantity`);
    return BigInt(v);
  };
  const hash = (v: unknown, what: string): Hex => {
    if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(v))
      throw new Error(`${what} must be a 32-byte hex hash`);
    return v as Hex;
  };
  if (!o || typeof o !== 'object' || !Array.isArray(o.qcs) || o.qcs.length === 0)
    throw new Error('a commit proof needs chainId, height, blockHash and a non-empty qcs list');
  return {
    chainId: int(o.chainId, 'chainId'),
    height: int(o.height, 'height'),
    blockHash: hash(o.blockHash, 'blockHash'),
    qcs: (o.qcs as Array<Record<string, unknown>>).map((q, i) => {
      if (typeof q?.signature !== 'string' || !/^0x[0-9a-fA-F]{192}$/.test(q.signature))
        throw new Error(`qcs[${i}].signature must be a 96-byte compressed BLS signature`);
      return {
        epoch: int(q.epoch, `qcs[${i}].epoch`),
        view: int(q.view, `qcs[${i}].view`),
        blockHash: hash(q.blockHash, `qcs[${i}].blockHash`),
        signers: int(q.signers, `qcs[${i}].signers`),
        signature: q.signature as Hex,
      };
    }),
  };
}

export function commitProofToJson(p: CommitProof): Record<string, unknown> {
  return {
    chainId: `0x${p.chainId.toString(16)}`,
    height: `0x${p.height.toString(16)}`,
    blockHash: p.blockHash,
    qcs: p.qcs.map((q) => ({
      epoch: `0x${q.epoch.toString(16)}`,
      view: `0x${q.view.toString(16)}`,
      blockHash: q.blockHash,
      signers: `0x${q.signers.toString(16)}`,
      signature: q.signature,
    })),
  };
}

export { SecretKey };
