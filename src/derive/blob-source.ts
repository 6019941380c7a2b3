/**
 * Batches posted as EIP-4844 blobs (`Inbox.postBlobBatch`), read back from L1.
 *
 *   fetchBlobBatch(l1RpcUrl: string, txHash: Hex, options?: BlobSourceOptions): Promise<Uint8Array>
 *     The compressed batch (what `decodeBatch` in src/batcher/codec.ts takes) carried by the blobs
 *     of the L1 tx `txHash`. Reads the tx (it must be type 0x3 with blob versioned hashes), fetches
 *     its blobs (default: anvil's `anvil_getBlobsByTransactionHash`; pass `options.fetchBlobs` for
 *     another source, e.g. a beacon node), then calls `batchFromBlobs`. Throws `BlobSourceError`.
 *
 *   batchFromBlobs(blobs: readonly Uint8Array[], versionedHashes: readonly Hex[]): Promise<Uint8Array>
 *     Checks that blob i's KZG commitment hashes to versionedHashes[i] (0x01 ‖ sha256(commitment)[1..])
 *     for every i, and that the counts agree, then undoes the blob framing (docs/batch-format.md).
 *     Throws `BlobSourceError` on a mismatch, a malformed blob or bad framing.
 *
 * It checks the blobs against the tx's own hashes only; that the tx is a `postBlobBatch` call and that
 * its hashes are the ones the Inbox recorded (`dataHash` = keccak256 of the concatenated versioned
 * hashes) is the caller's (derivation's) part.
 */
import { createPublicClient, type Hex, hexToBytes, http } from 'viem';
import { BlobFramingError, blobCommitment, decodeBlobs, versionedHash } from '../batcher/blobs.js';

export class BlobSourceError extends Error {
  override name = 'BlobSourceError';
}

/** Fetches the blobs of an L1 tx, in the order of its `blobVersionedHashes`. */
export type BlobFetcher = (l1RpcUrl: string, txHash: Hex, versionedHashes: readonly Hex[]) => Promise<Hex[]>;

export interface BlobSourceOptions {
  fetchBlobs?: BlobFetcher;
}

/** anvil's `anvil_getBlobsByTransactionHash(txHash)`: the tx's blobs, in order. */
export const anvilBlobFetcher: BlobFetcher = async (l1RpcUrl, txHash) => {
  const res = await fetch(l1RpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'anvil_getBlobsByTransactionHash',
      params: [txHash],
    }),
  });
  const body = (await res.json()) as { result?: Hex[] | null; error?: { message: string } };
  if (body.error)
    throw new BlobSourceError(`anvil_getBlobsByTransactionHash(${txHash}): ${body.error.message}`);
  if (!Array.isArray(body.result)) throw new BlobSourceError(`the L1 node has no blobs for tx ${txHash}`);
  return body.result;
};

export async function fetchBlobBatch(
  l1RpcUrl: string,
  txHash: Hex,
  options: BlobSourceOptions = {},
): Promise<Uint8Array> {
  const pub = createPublicClient({ transport: http(l1RpcUrl) });
  const tx = await pub.getTransaction({ hash: txHash }).catch((err: Error) => {
    throw new BlobSourceError(`cannot read L1 tx ${txHash}: ${err.message}`);
  });
  const hashes = tx.blobVersionedHashes;
  if (tx.type !== 'eip4844' || !hashes || hashes.length === 0)
    throw new BlobSourceError(`L1 tx ${txHash} is type ${tx.type}, not a blob (type 0x3) tx`);
  const blobs = await (options.fetchBlobs ?? anvilBlobFetcher)(l1RpcUrl, txHash, hashes);
  try {
    return await batchFromBlobs(
      blobs.map((b) => hexToBytes(b)),
      hashes,
    );
  } catch (err) {
    if (err instanceof BlobSourceError) throw new BlobSourceError(`L1 tx ${txHash}: ${err.message}`);
    throw err;
  }
}

export async function batchFromBlobs(
  blobs: readonly Uint8Array[],
  versionedHashes: readonly Hex[],
): Promise<Uint8Array> {
  if (blobs.length !== versionedHashes.length)
    throw new BlobSourceError(`${blobs.length} blobs for ${versionedHashes.length} versioned hashes`);
  for (const [i, blob] of blobs.entries()) {
    let commitment: Uint8Array;
    try {
      commitment = await blobCommitment(blob);
    } catch (err) {
      throw new BlobSourceError(`blob ${i} is not a valid blob: ${(err as Error).message}`);
    }
    const got = versionedHash(commitment);
    if (got.toLowerCase() !== versionedHashes[i].toLowerCase())
      throw new BlobSourceError(
        `blob ${i} does not match its versioned hash: the tx commits to ${versionedHashes[i]}, the blob hashes to ${got}`,
      );
  }
  try {
    return decodeBlobs(blobs);
  } catch (err) {
    if (err instanceof BlobFramingError) throw new BlobSourceError(`bad blob framing: ${err.message}`);
    throw err;
  }
}
