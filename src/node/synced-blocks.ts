import {
  type CommitProof,
  type Committee,
  decodeCommitProof,
  verifyCommitProof,
} from '../consensus/certificate.js';
import type { CommittedBlock } from '../consensus/core/types.js';
import {
  decodeSequencedBlock,
  encodeSequencedBlock,
  hashSequencedBlock,
  type SequencedBlock,
} from '../types/sequenced-block.js';
import type { Hex } from '../util/bytes.js';

/** The committee that certified an epoch's blocks; undefined when none is known for it. */
export type EpochCommittees = (epoch: bigint) => Committee | undefined | Promise<Committee | undefined>;

/**
 * What a block sync answer proves (a member's `[sequenced block, commit proof]` pairs from `head` + 1
 * on): the blocks that link up from `head` by parent hash and height, up to the last one whose own
 * commit proof verifies under the committee of its epoch (`committeeOf`; both QCs of one epoch) —
 * those before it are committed through it. The rest (a block that does not link, a proof that names
 * another block, is of an epoch with no known committee, or does not verify) is dropped: the
 * answering member is trusted with nothing, only a quorum's signatures are. An undecodable entry
 * throws (block sync then asks the next member).
 *
 * An instance's boundary block (--epoch-committees) may come with the suffix blocks its proof names
 * (a third element): then its proof counts as its own when the suffix links from it to the block
 * the proof commits (docs/ARCHITECTURE.md, "Committees that change").
 */
export async function provenSyncedBlocks(
  answer: Array<Array<Uint8Array | Uint8Array[]>>,
  head: { height: bigint; hash: Hex },
  committeeOf: EpochCommittees,
): Promise<CommittedBlock[]> {
  let parent = head.hash;
  const chain: Array<{ seq: SequencedBlock; hash: Hex; proof: CommitProof; suffix?: Uint8Array[] }> = [];
  for (const [rawSeq, rawProof, rawSuffix] of answer) {
    if (!(rawSeq instanceof Uint8Array) || !(rawProof instanceof Uint8Array))
      throw new Error('a sync answer entry is not [block, proof]');
    const seq = decodeSequencedBlock(rawSeq);
    const hash = hashSequencedBlock(seq);
    if (seq.parentHash !== parent || seq.height !== head.height + BigInt(chain.length) + 1n) break;
    const suffix = Array.isArray(rawSuffix) ? rawSuffix : undefined;
    chain.push({ seq, hash, proof: decodeCommitProof(rawProof), suffix });
    parent = hash;
  }
  let last = -1;
  for (let i = chain.length - 1; i >= 0 && last < 0; i--) {
    const { proof, hash, seq, suffix } = chain[i];
    const epoch = proof.qcs[0]?.epoch;
    const own = proof.blockHash === hash || (suffix !== undefined && suffixReaches(seq, hash, suffix, proof));
    if (!own || epoch === undefined || proof.qcs.some((q) => q.epoch !== epoch)) continue;
    const committee = await committeeOf(epoch);
    if (committee && verifyCommitProof(proof, committee) === null) last = i;
  }
  if (last < 0) return [];
  const { proof } = chain[last];
  const through = proof.blockHash;
  return chain.slice(0, last + 1).map((c) => ({
    proposal: {
      epoch: proof.qcs[0].epoch,
      view: proof.qcs[0].view,
      author: -1,
      block: { hash: c.hash, parent: c.seq.parentHash, height: c.seq.height, txCount: c.seq.txs.length },
      justify: proof.qcs[0],
      payload: encodeSequencedBlock(c.seq),
      signature: new Uint8Array(),
    },
    qcs: [proof.qcs[0], proof.qcs[1]],
    through,
  }));
}

/** Whether `suffix` (encoded sequenced blocks) links from block `hash` to the block `proof` commits. */
function suffixReaches(seq: SequencedBlock, hash: Hex, suffix: Uint8Array[], proof: CommitProof): boolean {
  let parent = hash;
  let height = seq.height;
  for (const raw of suffix) {
    if (!(raw instanceof Uint8Array)) return false;
    const s = decodeSequencedBlock(raw);
    if (s.parentHash !== parent || s.height !== height + 1n) return false;
    parent = hashSequencedBlock(s);
    height = s.height;
  }
  return parent === proof.blockHash && height === proof.height;
}

/**
 * Where a boundary block committed through its instance's suffix keeps the suffix blocks (encoded
 * sequenced blocks, hex, JSON, in the chain store's meta): they are not part of the chain, but its
 * proof names the last of them.
 */
export function suffixKey(height: bigint): string {
  return `instanceSuffix/${height}`;
}
