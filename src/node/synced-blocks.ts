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
 */
export async function provenSyncedBlocks(
  answer: Uint8Array[][],
  head: { height: bigint; hash: Hex },
  committeeOf: EpochCommittees,
): Promise<CommittedBlock[]> {
  let parent = head.hash;
  const chain: Array<{ seq: SequencedBlock; hash: Hex; proof: CommitProof }> = [];
  for (const [rawSeq, rawProof] of answer) {
    const seq = decodeSequencedBlock(rawSeq);
    const hash = hashSequencedBlock(seq);
    if (seq.parentHash !== parent || seq.height !== head.height + BigInt(chain.length) + 1n) break;
    chain.push({ seq, hash, proof: decodeCommitProof(rawProof) });
    parent = hash;
  }
  let last = -1;
  for (let i = chain.length - 1; i >= 0 && last < 0; i--) {
    const { proof, hash } = chain[i];
    const epoch = proof.qcs[0]?.epoch;
    if (proof.blockHash !== hash || epoch === undefined || proof.qcs.some((q) => q.epoch !== epoch)) continue;
    const committee = await committeeOf(epoch);
    if (committee && verifyCommitProof(proof, committee) === null) last = i;
  }
  if (last < 0) return [];
  const { proof, hash: through } = chain[last];
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
