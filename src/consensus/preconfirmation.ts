import { BlockDecodeError, decodeSequencedBlock, hashSequencedBlock } from '../types/sequenced-block.js';
import { fromHex, type Hex, keccak256, toHex } from '../util/bytes.js';
import { type CommitProof, type Committee, commitProofFromJson, verifyCommitProof } from './certificate.js';

/**
 * What `seqnet_getPreconfirmation(txHash, true)` answers, decoded: enough to check offline, with the
 * committee's keys alone, that the tx is at its position in a committed block.
 */
export interface PreconfirmationEvidence {
  transactionHash: Hex;
  transactionIndex: number;
  /** The tx's own sequenced block. */
  sequencedBlockHash: Hex;
  proof: CommitProof;
  /**
   * The encoded sequenced blocks from the tx's block up to the block the proof commits, oldest first:
   * one block when the proof is the block's own; more when it was committed through a descendant
   * (after a failed view, or taken by block sync), whose parent links join it to the proof.
   */
  sequencedBlocks: Uint8Array[];
}

/** Most blocks between a tx's block and its proof's that a preconfirmation carries (block sync takes 64 at once). */
export const MAX_PRECONFIRMATION_BLOCKS = 256;

/**
 * Checks a preconfirmation offline; null when it holds, or why not: the first block hashes to
 * `sequencedBlockHash` and holds the tx at its index, each next block's parent is the one before, the
 * last is the block the proof names at the proof's height, and the proof verifies against `committee`.
 */
export function verifyPreconfirmation(e: PreconfirmationEvidence, committee: Committee): string | null {
  const { sequencedBlocks: raw, proof } = e;
  if (raw.length === 0) return 'no sequenced blocks: ask with seqnet_getPreconfirmation(txHash, true)';
  if (raw.length > MAX_PRECONFIRMATION_BLOCKS)
    return `${raw.length} sequenced blocks, more than ${MAX_PRECONFIRMATION_BLOCKS}`;
  let previous: { hash: Hex; height: bigint } | undefined;
  for (const [i, bytes] of raw.entries()) {
    let block: ReturnType<typeof decodeSequencedBlock>;
    try {
      block = decodeSequencedBlock(bytes);
    } catch (err) {
      if (err instanceof BlockDecodeError) return `sequenced block ${i} does not decode: ${err.message}`;
      throw err;
    }
    const hash = hashSequencedBlock(block);
    if (block.chainId !== proof.chainId)
      return `sequenced block ${i} is of chain ${block.chainId}, the proof of chain ${proof.chainId}`;
    if (!previous) {
      if (hash !== e.sequencedBlockHash.toLowerCase())
        return `the first sequenced block hashes to ${hash}, not to sequencedBlockHash ${e.sequencedBlockHash}`;
      const tx = block.txs[e.transactionIndex];
      if (!tx) return `the tx's block holds ${block.txs.length} txs: none at index ${e.transactionIndex}`;
      if (toHex(keccak256(tx)) !== e.transactionHash.toLowerCase())
        return `the tx at index ${e.transactionIndex} of its block is not ${e.transactionHash}`;
    } else if (block.parentHash !== previous.hash || block.height !== previous.height + 1n)
      return `sequenced block ${i} (height ${block.height}) does not extend the one before it`;
    previous = { hash, height: block.height };
  }
  if (!previous || previous.hash !== proof.blockHash.toLowerCase() || previous.height !== proof.height)
    return `the last sequenced block (${previous?.hash} at ${previous?.height}) is not the block the proof commits (${proof.blockHash} at ${proof.height})`;
  const invalid = verifyCommitProof(proof, committee);
  return invalid && `the commit proof does not verify: ${invalid}`;
}

/**
 * `seqnet_getPreconfirmation(txHash, true)`'s JSON answer as evidence; throws, naming the field, when
 * a field is missing or malformed (a preconfirmation asked without `true` has no `sequencedBlocks`).
 */
export function preconfirmationEvidenceFromJson(j: unknown): PreconfirmationEvidence {
  const o = j as Record<string, unknown> | null;
  if (!o || typeof o !== 'object') throw new Error('a preconfirmation is a JSON object');
  const hash = (v: unknown, what: string): Hex => {
    if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(v))
      throw new Error(`${what} must be a 32-byte hex hash`);
    return v.toLowerCase() as Hex;
  };
  if (typeof o.transactionIndex !== 'string' || !/^0x[0-9a-fA-F]{1,8}$/.test(o.transactionIndex))
    throw new Error('transactionIndex must be a 0x-prefixed hex quantity');
  if (!Array.isArray(o.sequencedBlocks))
    throw new Error(
      'sequencedBlocks missing: ask for the preconfirmation with its blocks, seqnet_getPreconfirmation(txHash, true)',
    );
  let proof: CommitProof;
  try {
    proof = commitProofFromJson(o.proof);
  } catch (err) {
    throw new Error(`proof: ${(err as Error).message}`);
  }
  return {
    transactionHash: hash(o.transactionHash, 'transactionHash'),
    transactionIndex: Number(BigInt(o.transactionIndex)),
    sequencedBlockHash: hash(o.sequencedBlockHash, 'sequencedBlockHash'),
    proof,
    sequencedBlocks: o.sequencedBlocks.map((b, i) => {
      if (typeof b !== 'string' || !/^0x([0-9a-fA-F]{2})+$/.test(b))
        throw new Error(`sequencedBlocks[${i}] must be 0x-prefixed hex bytes`);
      return fromHex(b as Hex);
    }),
  };
}

/**
 * The evidence for tx `txHash` in a pushed notification of `eth_subscribe("preconfirmations", true)`
 * (a block: its `transactions`, `sequencedBlockHash`, `proof` and `sequencedBlocks`), whose index in
 * its block is its place in `transactions`; throws when the block does not list the tx, or a field is
 * missing or malformed.
 */
export function preconfirmedBlockEvidence(notification: unknown, txHash: Hex): PreconfirmationEvidence {
  const o = notification as Record<string, unknown> | null;
  if (!o || typeof o !== 'object') throw new Error('a pushed preconfirmation is a JSON object');
  if (!Array.isArray(o.transactions)) throw new Error('transactions must be a list of tx hashes');
  const index = o.transactions.findIndex(
    (h) => typeof h === 'string' && h.toLowerCase() === txHash.toLowerCase(),
  );
  if (index < 0) throw new Error(`the pushed block does not list tx ${txHash}`);
  return preconfirmationEvidenceFromJson({
    ...o,
    transactionHash: txHash,
    transactionIndex: `0x${index.toString(16)}`,
  });
}
