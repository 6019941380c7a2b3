import { PublicKey, Signature } from '@chainsafe/blst';
import type {
  CommitProof,
  Committee,
  OutputCertificate,
  QuorumCertificate,
} from '../consensus/certificate.js';
import { fromHex, type Hex, toHex } from '../util/bytes.js';

/**
 * blst points ↔ the EIP-2537 encodings contracts/l1/CommitteeVerifier.sol takes. EIP-2537 writes each
 * Fp element as 64 bytes big-endian (16 zero bytes, then the 48 blst writes), a G1 point x‖y (128
 * bytes), an Fp2 element c0‖c1 (blst writes c1‖c0), a G2 point x‖y (256 bytes), infinity as zeros.
 */

const FP = 48;
const PAD = 16;
const INFINITY_FLAG = 0x40;

function asBytes(p: Uint8Array | Hex | PublicKey | Signature): Uint8Array {
  if (p instanceof Uint8Array) return p;
  if (typeof p === 'string') return fromHex(p);
  return p.toBytes(false);
}

/** Writes the 48-byte element at src[from…] as a 64-byte element at dst[to…]. */
function putFp(dst: Uint8Array, to: number, src: Uint8Array, from: number): void {
  dst.set(src.subarray(from, from + FP), to + PAD);
}

/** A blst public key (compressed 48 / uncompressed 96 bytes, or a PublicKey) as an EIP-2537 G1 point. */
export function g1ToEip2537(pk: Uint8Array | Hex | PublicKey): Uint8Array {
  let raw = asBytes(pk);
  if (raw.length === FP) raw = PublicKey.fromBytes(raw).toBytes(false);
  if (raw.length !== 2 * FP) throw new Error(`a G1 point is 48 or 96 bytes, not ${raw.length}`);
  const out = new Uint8Array(128);
  if (raw[0] & INFINITY_FLAG) return out;
  putFp(out, 0, raw, 0);
  putFp(out, 64, raw, FP);
  return out;
}

/** A blst signature (compressed 96 / uncompressed 192 bytes, or a Signature) as an EIP-2537 G2 point. */
export function g2ToEip2537(sig: Uint8Array | Hex | Signature): Uint8Array {
  let raw = asBytes(sig);
  // Infinity is accepted here (sigInfcheck off) so that tests can send it; the contract refuses it.
  if (raw.length === 2 * FP) raw = Signature.fromBytes(raw, false, false).toBytes(false);
  if (raw.length !== 4 * FP) throw new Error(`a G2 point is 96 or 192 bytes, not ${raw.length}`);
  const out = new Uint8Array(256);
  if (raw[0] & INFINITY_FLAG) return out;
  // blst: x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0; EIP-2537: x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1.
  putFp(out, 0, raw, FP);
  putFp(out, 64, raw, 0);
  putFp(out, 128, raw, 3 * FP);
  putFp(out, 192, raw, 2 * FP);
  return out;
}

/** An EIP-2537 G1 point as affine coordinates (null for infinity). */
export function eip2537ToG1Affine(p: Uint8Array | Hex): { x: bigint; y: bigint } | null {
  const b = asBytes(p);
  if (b.length !== 128) throw new Error(`an EIP-2537 G1 point is 128 bytes, not ${b.length}`);
  if (b.every((v) => v === 0)) return null;
  return { x: fpAt(b, 0), y: fpAt(b, 64) };
}

export interface Fp2Coords {
  c0: bigint;
  c1: bigint;
}

/** An EIP-2537 G2 point as affine coordinates (null for infinity), in @noble/curves' Fp2 shape. */
export function eip2537ToG2Affine(p: Uint8Array | Hex): { x: Fp2Coords; y: Fp2Coords } | null {
  const b = asBytes(p);
  if (b.length !== 256) throw new Error(`an EIP-2537 G2 point is 256 bytes, not ${b.length}`);
  if (b.every((v) => v === 0)) return null;
  return {
    x: { c0: fpAt(b, 0), c1: fpAt(b, 64) },
    y: { c0: fpAt(b, 128), c1: fpAt(b, 192) },
  };
}

function fpAt(b: Uint8Array, at: number): bigint {
  for (let i = 0; i < PAD; i++)
    if (b[at + i] !== 0) throw new Error('an EIP-2537 Fp element has 16 leading zero bytes');
  return BigInt(toHex(b.subarray(at + PAD, at + 64)));
}

/** The committee's keys as CommitteeVerifier's constructor / setCommittee take them. */
export function committeeKeysForL1(committee: Committee): Hex[] {
  return committee.publicKeys.map((k) => toHex(g1ToEip2537(k)));
}

/** The signer bitmap as the contract reads it: member i is bit i % 8 of byte i / 8, ⌈size / 8⌉ bytes. */
export function signersBitmap(signers: bigint, size: number): Uint8Array {
  if (signers < 0n || signers >> BigInt(size) !== 0n) throw new Error('signer bitmap names a non-member');
  const out = new Uint8Array(Math.ceil(size / 8));
  for (let i = 0; i < out.length; i++) out[i] = Number((signers >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** A QC as CommitteeVerifier's QC struct (viem's ABI shape). */
export interface L1QuorumCertificate {
  epoch: bigint;
  view_: bigint;
  blockHash: Hex;
  signers: Hex;
  signature: Hex;
}

export function qcForL1(qc: QuorumCertificate, committeeSize: number): L1QuorumCertificate {
  return {
    epoch: qc.epoch,
    view_: qc.view,
    blockHash: qc.blockHash,
    signers: toHex(signersBitmap(qc.signers, committeeSize)),
    signature: toHex(g2ToEip2537(qc.signature)),
  };
}

/** An output certificate as StateOracle's OutputCertificate struct (viem's ABI shape). */
export function outputCertificateForL1(
  cert: OutputCertificate,
  committeeSize: number,
): { epoch: bigint; signers: Hex; signature: Hex } {
  return {
    epoch: cert.epoch,
    signers: toHex(signersBitmap(cert.signers, committeeSize)),
    signature: toHex(g2ToEip2537(cert.signature)),
  };
}

/** The arguments of verifyQC(chainId, epoch, view, blockHash, signersBitmap, signature). */
export function verifyQcArgs(
  qc: QuorumCertificate,
  chainId: bigint,
  committeeSize: number,
): readonly [bigint, bigint, bigint, Hex, Hex, Hex] {
  const q = qcForL1(qc, committeeSize);
  return [chainId, q.epoch, q.view_, q.blockHash, q.signers, q.signature] as const;
}

/**
 * The arguments of verifyCommitProof(chainId, height, blockHash, qcs). `committeeSize` is the size of
 * the committee of each QC's epoch (a number when every QC is from one epoch).
 */
export function commitProofArgs(
  proof: CommitProof,
  committeeSize: number | ((epoch: bigint) => number),
): readonly [bigint, bigint, Hex, L1QuorumCertificate[]] {
  const size = typeof committeeSize === 'number' ? () => committeeSize : committeeSize;
  return [
    proof.chainId,
    proof.height,
    proof.blockHash,
    proof.qcs.map((q) => qcForL1(q, size(q.epoch))),
  ] as const;
}

/** An EIP-2537 G1 point (a key as the election contracts store it) as blst's compressed 48 bytes. */
export function eip2537ToCompressedG1(p: Uint8Array | Hex): Hex {
  const b = asBytes(p);
  if (b.length !== 128) throw new Error(`an EIP-2537 G1 point is 128 bytes, not ${b.length}`);
  const raw = new Uint8Array(2 * FP);
  raw.set(b.subarray(PAD, 64), 0);
  raw.set(b.subarray(64 + PAD, 128), FP);
  return toHex(PublicKey.fromBytes(raw, true).toBytes(true));
}
