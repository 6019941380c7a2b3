import { randomBytes } from 'node:crypto';
import { SecretKey } from '@chainsafe/blst';
import { describe, expect, it } from 'vitest';
import {
  aggregateQc,
  type CommitProof,
  encodeCommitProof,
  quorumFor,
  signVote,
} from '../../src/consensus/certificate.js';
import { provenSyncedBlocks } from '../../src/node/synced-blocks.js';
import {
  encodeSequencedBlock,
  hashSequencedBlock,
  type SequencedBlock,
} from '../../src/types/sequenced-block.js';
import { type Hex, toHex } from '../../src/util/bytes.js';

const chainId = 42069n;
const keys = Array.from({ length: 4 }, () => SecretKey.fromKeygen(randomBytes(32)));
const committee = {
  publicKeys: keys.map((k) => toHex(k.toPublicKey().toBytes())) as Hex[],
  quorum: quorumFor(4),
};
const strangers = Array.from({ length: 4 }, () => SecretKey.fromKeygen(randomBytes(32)));
const head = { height: 10n, hash: toHex(randomBytes(32)) };
/** The committee file's committee, for epoch 0 only (a member's block sync). */
const epoch0 = (epoch: bigint) => (epoch === 0n ? committee : undefined);

function block(height: bigint, parentHash: Hex, tag = 0): SequencedBlock {
  return {
    version: 1,
    chainId,
    height,
    parentHash,
    timestamp: 1_700_000_000n + height,
    l1Origin: { number: 5n, hash: `0x${'ab'.repeat(32)}` },
    l1MessageCursor: 0n,
    txs: tag ? [Uint8Array.of(tag)] : [],
    lagStateRoot: `0x${'00'.repeat(32)}`,
  };
}

/**
 * A commit proof of `hash` in `view` of `epoch` (its QC and its child's in view + 1), signed by
 * `signers` of `by`.
 */
function proofOf(
  hash: Hex,
  height: bigint,
  view: bigint,
  by = keys,
  signers = [0, 1, 2],
  epoch = 0n,
): CommitProof {
  const child = toHex(randomBytes(32));
  const votes = (v: bigint, h: Hex) =>
    signers.map((i) => ({ index: i, signature: signVote(by[i], chainId, epoch, v, h) }));
  return {
    chainId,
    height,
    blockHash: hash,
    qcs: [
      aggregateQc({ epoch, view, blockHash: hash }, votes(view, hash)),
      aggregateQc({ epoch, view: view + 1n, blockHash: child }, votes(view + 1n, child)),
    ],
  };
}

/** Blocks 11..10+n on `head`, as a member stores them: the earlier ones carry the last block's proof. */
function chainOf(n: number): { blocks: SequencedBlock[]; hashes: Hex[] } {
  const blocks: SequencedBlock[] = [];
  const hashes: Hex[] = [];
  let parent = head.hash;
  for (let i = 1; i <= n; i++) {
    const b = block(head.height + BigInt(i), parent);
    blocks.push(b);
    parent = hashSequencedBlock(b);
    hashes.push(parent);
  }
  return { blocks, hashes };
}

const answerOf = (blocks: SequencedBlock[], proofs: CommitProof[]) =>
  blocks.map((b, i) => [encodeSequencedBlock(b), encodeCommitProof(proofs[i])]);

describe('provenSyncedBlocks: what a block sync answer proves (a follower trusts no member)', () => {
  const { blocks, hashes } = chainOf(3);
  const last = proofOf(hashes[2], 13n, 30n);
  const honest = answerOf(blocks, [last, last, last]);

  it('takes the blocks that link up from the head, committed through the last directly proven one', async () => {
    const got = await provenSyncedBlocks(honest, head, epoch0);
    expect(got.map((b) => b.proposal.block.hash)).toEqual(hashes);
    expect(got.map((b) => b.proposal.block.height)).toEqual([11n, 12n, 13n]);
    for (const b of got) {
      expect(b.through).toBe(hashes[2]);
      expect(b.qcs).toEqual(last.qcs);
    }
  });

  it('drops the blocks above the last proof that verifies: a forged signature proves nothing', async () => {
    const sig = last.qcs[0].signature;
    const forged: CommitProof = {
      ...last,
      qcs: [
        { ...last.qcs[0], signature: `${sig.slice(0, -2)}${sig.slice(-2) === '00' ? '01' : '00'}` as Hex },
        last.qcs[1],
      ],
    };
    expect(await provenSyncedBlocks(answerOf(blocks, [forged, forged, forged]), head, epoch0)).toEqual([]);
    // Block 12 proven on its own: blocks 11 and 12 are taken, 13 waits for a proof.
    const second = proofOf(hashes[1], 12n, 29n);
    const got = await provenSyncedBlocks(answerOf(blocks, [second, second, forged]), head, epoch0);
    expect(got.map((b) => b.proposal.block.height)).toEqual([11n, 12n]);
    expect(got.every((b) => b.through === hashes[1])).toBe(true);
  });

  it('refuses a proof by another committee, by too few members, or of another block', async () => {
    const byStrangers = proofOf(hashes[2], 13n, 30n, strangers);
    expect(
      await provenSyncedBlocks(answerOf(blocks, [byStrangers, byStrangers, byStrangers]), head, epoch0),
    ).toEqual([]);
    const tooFew = proofOf(hashes[2], 13n, 30n, keys, [0, 1]);
    expect(await provenSyncedBlocks(answerOf(blocks, [tooFew, tooFew, tooFew]), head, epoch0)).toEqual([]);
    // A block with other txs under the proof of the honest one: its hash is not the proof's.
    const altered = [...blocks.slice(0, 2), block(13n, hashes[1], 7)];
    expect(await provenSyncedBlocks(answerOf(altered, [last, last, last]), head, epoch0)).toEqual([]);
  });

  it("checks each proof against its own epoch's committee; a proof of two epochs proves nothing", async () => {
    const later = proofOf(hashes[2], 13n, 4n, strangers, [1, 2, 3], 1n);
    const answer = answerOf(blocks, [later, later, later]);
    // Epoch 1's committee is the strangers (an L1 that lists it): taken; with the file's alone: not.
    const strangersCommittee = {
      publicKeys: strangers.map((k) => toHex(k.toPublicKey().toBytes())) as Hex[],
      quorum: quorumFor(4),
    };
    const byEpoch = async (epoch: bigint) => (epoch === 1n ? strangersCommittee : epoch0(epoch));
    const got = await provenSyncedBlocks(answer, head, byEpoch);
    expect(got.map((b) => b.proposal.block.height)).toEqual([11n, 12n, 13n]);
    expect(got.every((b) => b.proposal.epoch === 1n)).toBe(true);
    expect(await provenSyncedBlocks(answer, head, epoch0)).toEqual([]);
    // Epoch 0's QC beside epoch 1's: each verifies, but they are not one commit.
    const mixed: CommitProof = { ...last, qcs: [last.qcs[0], { ...later.qcs[1] }] };
    expect(await provenSyncedBlocks(answerOf(blocks, [mixed, mixed, mixed]), head, byEpoch)).toEqual([]);
  });

  it("proves a boundary block by the suffix blocks it comes with, when they link to its proof's block", async () => {
    // Block 13 ends its instance and was committed through suffix blocks 14 and 15 (not in the chain).
    const s14 = block(14n, hashes[2], 0);
    const s15 = block(15n, hashSequencedBlock(s14), 0);
    const throughSuffix = proofOf(hashSequencedBlock(s15), 15n, 40n);
    const suffix = [encodeSequencedBlock(s14), encodeSequencedBlock(s15)];
    const entries = answerOf(blocks, [throughSuffix, throughSuffix, throughSuffix]);
    // Without the suffix the proof names no block of the answer: nothing is proven.
    expect(await provenSyncedBlocks(entries, head, epoch0)).toEqual([]);
    const withSuffix = [...entries.slice(0, 2), [...entries[2], suffix]];
    const got = await provenSyncedBlocks(withSuffix, head, epoch0);
    expect(got.map((b) => b.proposal.block.height)).toEqual([11n, 12n, 13n]);
    expect(got.every((b) => b.through === hashSequencedBlock(s15))).toBe(true);
    // A suffix that does not reach the proof's block (one left out, or another block) proves nothing.
    expect(
      await provenSyncedBlocks([...entries.slice(0, 2), [...entries[2], suffix.slice(0, 1)]], head, epoch0),
    ).toEqual([]);
    const other = block(15n, hashSequencedBlock(s14), 9);
    expect(
      await provenSyncedBlocks(
        [...entries.slice(0, 2), [...entries[2], [suffix[0], encodeSequencedBlock(other)]]],
        head,
        epoch0,
      ),
    ).toEqual([]);
  });

  it('stops at a block that does not link up (another parent or height), whatever its proof', async () => {
    const elsewhere = block(12n, toHex(randomBytes(32)));
    const proofElsewhere = proofOf(hashSequencedBlock(elsewhere), 12n, 29n);
    const first = proofOf(hashes[0], 11n, 28n);
    const got = await provenSyncedBlocks(
      answerOf([blocks[0], elsewhere], [first, proofElsewhere]),
      head,
      epoch0,
    );
    expect(got.map((b) => b.proposal.block.hash)).toEqual([hashes[0]]);
    const skipped = await provenSyncedBlocks(answerOf([blocks[1], blocks[2]], [last, last]), head, epoch0);
    expect(skipped).toEqual([]);
    await expect(
      provenSyncedBlocks([[Uint8Array.of(1, 2, 3), encodeCommitProof(last)]], head, epoch0),
    ).rejects.toThrow();
  });
});
