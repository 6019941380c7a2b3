/**
 * EIP-4844 blobs for batches: the framing that carries a batch's bytes in blobs
 * (docs/batch-format.md, "Blob framing"), and KZG commitments, proofs and versioned hashes.
 *
 * KZG is @crate-crypto/node-eth-kzg (prebuilt native addon, the Ethereum trusted setup built in).
 * Creating its context takes ~3 s of CPU, once per process, and blocks the event loop while it
 * runs, so callers create it up front (`loadKzg`) rather than in the middle of sequencing;
 * commitments and proofs are computed off the main thread (the addon's async calls).
 */
import { createHash } from 'node:crypto';
import { DasContextJs } from '@crate-crypto/node-eth-kzg';
import { bytesToHex, type Hex, type Kzg } from 'viem';

export const BYTES_PER_FIELD_ELEMENT = 32;
export const FIELD_ELEMENTS_PER_BLOB = 4096;
export const BYTES_PER_BLOB = BYTES_PER_FIELD_ELEMENT * FIELD_ELEMENTS_PER_BLOB; // 131072
/** Payload bytes per field element: the first byte of each element is always zero. */
export const USABLE_BYTES_PER_FIELD_ELEMENT = 31;
export const USABLE_BYTES_PER_BLOB = USABLE_BYTES_PER_FIELD_ELEMENT * FIELD_ELEMENTS_PER_BLOB; // 126976
/** Blob gas one blob uses (EIP-4844 GAS_PER_BLOB). */
export const GAS_PER_BLOB = 131072;
/** Prague allows 9 blobs per L1 block (target 6); one batch tx uses at most 6. */
export const MAX_BLOBS_PER_BLOCK = 9;
export const MAX_BLOBS_PER_TX = 6;
/** Framing header: version byte, then the payload length as a 4-byte big-endian integer. */
export const BLOB_FRAMING_VERSION = 1;
export const BLOB_FRAMING_HEADER = 5;
/** The versioned-hash version byte for KZG commitments (EIP-4844 VERSIONED_HASH_VERSION_KZG). */
export const VERSIONED_HASH_VERSION_KZG = 0x01;

export class BlobFramingError extends Error {
  override name = 'BlobFramingError';
}

/** The most payload bytes `blobs` blobs carry. */
export function blobCapacity(blobs: number): number {
  return blobs * USABLE_BYTES_PER_BLOB - BLOB_FRAMING_HEADER;
}

/** How many blobs a payload of `length` bytes takes (at least one). */
export function blobsNeeded(length: number): number {
  return Math.max(1, Math.ceil((BLOB_FRAMING_HEADER + length) / USABLE_BYTES_PER_BLOB));
}

/**
 * Frames `data` into blobs: the stream `[version=1][length: u32 big-endian][data][zero padding]` is
 * cut into 31-byte pieces, each stored in bytes 1..31 of one 32-byte field element (byte 0 stays
 * zero, so every element is below the BLS modulus), elements in order, blobs in order.
 */
export function encodeBlobs(data: Uint8Array): Uint8Array[] {
  if (data.length > 0xffffffff) throw new BlobFramingError('payload too large for the 4-byte length');
  const n = blobsNeeded(data.length);
  const stream = new Uint8Array(n * USABLE_BYTES_PER_BLOB);
  stream[0] = BLOB_FRAMING_VERSION;
  new DataView(stream.buffer).setUint32(1, data.length);
  stream.set(data, BLOB_FRAMING_HEADER);
  const blobs: Uint8Array[] = [];
  for (let b = 0; b < n; b++) {
    const blob = new Uint8Array(BYTES_PER_BLOB);
    for (let i = 0; i < FIELD_ELEMENTS_PER_BLOB; i++) {
      const from = (b * FIELD_ELEMENTS_PER_BLOB + i) * USABLE_BYTES_PER_FIELD_ELEMENT;
      blob.set(stream.subarray(from, from + USABLE_BYTES_PER_FIELD_ELEMENT), i * BYTES_PER_FIELD_ELEMENT + 1);
    }
    blobs.push(blob);
  }
  return blobs;
}

/**
 * The payload framed by `encodeBlobs`. Only the canonical framing is accepted: every blob exactly
 * 131072 bytes, every element's first byte zero, a known version, a length that fits, zero padding,
 * and no more blobs than the length needs — so one payload has exactly one blob encoding.
 */
export function decodeBlobs(blobs: readonly Uint8Array[]): Uint8Array {
  if (blobs.length === 0) throw new BlobFramingError('no blobs');
  const stream = new Uint8Array(blobs.length * USABLE_BYTES_PER_BLOB);
  for (const [b, blob] of blobs.entries()) {
    if (blob.length !== BYTES_PER_BLOB)
      throw new BlobFramingError(`blob ${b} is ${blob.length} bytes, not ${BYTES_PER_BLOB}`);
    for (let i = 0; i < FIELD_ELEMENTS_PER_BLOB; i++) {
      const at = i * BYTES_PER_FIELD_ELEMENT;
      if (blob[at] !== 0)
        throw new BlobFramingError(`blob ${b}, field element ${i}: first byte is ${blob[at]}, not 0`);
      stream.set(
        blob.subarray(at + 1, at + BYTES_PER_FIELD_ELEMENT),
        (b * FIELD_ELEMENTS_PER_BLOB + i) * USABLE_BYTES_PER_FIELD_ELEMENT,
      );
    }
  }
  if (stream[0] !== BLOB_FRAMING_VERSION)
    throw new BlobFramingError(`unknown blob framing version ${stream[0]}`);
  const length = new DataView(stream.buffer).getUint32(1);
  if (length > blobCapacity(blobs.length))
    throw new BlobFramingError(`length ${length} exceeds what ${blobs.length} blob(s) carry`);
  if (blobsNeeded(length) !== blobs.length)
    throw new BlobFramingError(
      `${blobs.length} blobs for ${length} bytes, which need ${blobsNeeded(length)}`,
    );
  const end = BLOB_FRAMING_HEADER + length;
  for (let i = end; i < stream.length; i++) {
    if (stream[i] !== 0) throw new BlobFramingError(`non-zero padding byte at stream offset ${i}`);
  }
  return stream.slice(BLOB_FRAMING_HEADER, end);
}

let context: DasContextJs | undefined;

/** The process's KZG context (created on first use, ~3 s). */
export function loadKzg(): DasContextJs {
  context ??= DasContextJs.create({ usePrecomp: false });
  return context;
}

/** EIP-4844 `kzg_to_versioned_hash`: 0x01 ‖ sha256(commitment)[1..32]. */
export function versionedHash(commitment: Uint8Array): Hex {
  const h = createHash('sha256').update(commitment).digest();
  h[0] = VERSIONED_HASH_VERSION_KZG;
  return bytesToHex(h);
}

/** The KZG commitment of a blob, computed off the main thread. */
export function blobCommitment(blob: Uint8Array): Promise<Uint8Array> {
  return loadKzg().asyncBlobToKzgCommitment(blob);
}

export interface BlobSidecars {
  blobs: Uint8Array[];
  commitments: Uint8Array[];
  proofs: Uint8Array[];
  versionedHashes: Hex[];
  /**
   * viem's `Kzg` interface answering from the values above (so `sendTransaction({ blobs, kzg })`,
   * and every fee-bumped replacement, signs without recomputing proofs on the main thread); a blob
   * it does not know is computed synchronously.
   */
  kzg: Kzg;
}

/** Commitments, proofs and versioned hashes of `blobs`, computed off the main thread. */
export async function blobSidecars(blobs: Uint8Array[]): Promise<BlobSidecars> {
  const ctx = loadKzg();
  const commitments = await Promise.all(blobs.map((b) => ctx.asyncBlobToKzgCommitment(b)));
  const proofs = await Promise.all(blobs.map((b, i) => ctx.asyncComputeBlobKzgProof(b, commitments[i])));
  const key = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  const known = new Map(blobs.map((b, i) => [key(b), i]));
  const kzg: Kzg = {
    blobToKzgCommitment(blob) {
      const i = known.get(key(blob));
      return i === undefined ? ctx.blobToKzgCommitment(blob) : commitments[i];
    },
    computeBlobKzgProof(blob, commitment) {
      const i = known.get(key(blob));
      return i === undefined ? ctx.computeBlobKzgProof(blob, commitment) : proofs[i];
    },
  };
  return { blobs, commitments, proofs, versionedHashes: commitments.map(versionedHash), kzg };
}
