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

/**
 * What a block sync answer proves (a member's `[sequenced block, commit proof]` pairs from `head` + 1
 * on): the blocks that link up from `head` by parent hash and height, up to the last one whose own
 * commit proof verifies under `committee` — those before it are committed through it. The rest (a
 * block that does not link, a proof that names another block or does not verify) is dropped: the
 * answering member is trusted with nothing, only a quorum's signatures are. An undecodable entry
 * throws (block sync then asks the next member).
 */
export function provenSyncedBlocks(
  answer: Uint8Array[][],
  head: { height: bigint; hash: Hex },
  committee: Committee,
): CommittedBlock[] {
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
  for (let i = chain.length - 1; i >= 0; i--) {
    const c = chain[i];
    if (c.proof.blockHash === c.hash && verifyCommitProof(c.proof, committee) === null) {
      last = i;
      break;
    }
  }
  if (last < 0) return [];
  const { proof, hash: through } = chain[last];
  return chain.slice(0, last + 1).map((c) => ({
    proposal: {
      epoch: 0n,
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
