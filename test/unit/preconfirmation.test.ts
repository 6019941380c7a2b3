import { randomBytes } from 'node:crypto';
import { SecretKey } from '@chainsafe/blst';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  aggregateQc,
  type CommitProof,
  commitProofToJson,
  signVote,
} from '../../src/consensus/certificate.js';
import {
  type PreconfirmationEvidence,
  preconfirmationEvidenceFromJson,
  preconfirmedBlockEvidence,
  verifyPreconfirmation,
} from '../../src/consensus/preconfirmation.js';
import { devAccounts } from '../../src/execution/genesis.js';
import {
  encodeSequencedBlock,
  hashSequencedBlock,
  type SequencedBlock,
} from '../../src/types/sequenced-block.js';
import { fromHex, type Hex, keccak256, toHex, ZERO_HASH } from '../../src/util/bytes.js';

const CHAIN_ID = 42069n;
const keys = Array.from({ length: 4 }, () => SecretKey.fromKeygen(randomBytes(32)));
const committee = { publicKeys: keys.map((k) => toHex(k.toPublicKey().toBytes())) as Hex[], quorum: 3 };

/** Three chained blocks at heights 5..7, two real signed txs in the first. */
async function chain(): Promise<SequencedBlock[]> {
  const acct = privateKeyToAccount(devAccounts(1)[0].privateKey);
  const tx = async (nonce: number) =>
    fromHex(
      await acct.signTransaction({
        chainId: Number(CHAIN_ID),
        type: 'eip1559',
        nonce,
        to: acct.address,
        value: 1n,
        gas: 21000n,
        maxFeePerGas: 10n ** 9n,
        maxPriorityFeePerGas: 1n,
      }),
    );
  const blocks: SequencedBlock[] = [];
  for (let i = 0; i < 3; i++)
    blocks.push({
      version: 1,
      chainId: CHAIN_ID,
      height: 5n + BigInt(i),
      parentHash: i === 0 ? ZERO_HASH : hashSequencedBlock(blocks[i - 1]),
      timestamp: 1_700_000_000n,
      l1Origin: { number: 3n, hash: ZERO_HASH },
      l1MessageCursor: 0n,
      txs: i === 0 ? [await tx(0), await tx(1)] : [],
      lagStateRoot: ZERO_HASH,
    });
  return blocks;
}

/** A 3-of-4 two-chain commit proof of `block` (its QC and its child's in the next view). */
function proofOf(block: SequencedBlock, signers = [0, 1, 2]): CommitProof {
  const hash = hashSequencedBlock(block);
  const child = toHex(randomBytes(32));
  const votes = (view: bigint, h: Hex) =>
    signers.map((i) => ({ index: i, signature: signVote(keys[i], CHAIN_ID, 0n, view, h) }));
  return {
    chainId: CHAIN_ID,
    height: block.height,
    blockHash: hash,
    qcs: [
      aggregateQc({ epoch: 0n, view: 9n, blockHash: hash }, votes(9n, hash)),
      aggregateQc({ epoch: 0n, view: 10n, blockHash: child }, votes(10n, child)),
    ],
  };
}

function evidence(blocks: SequencedBlock[], proof: CommitProof, index = 1): PreconfirmationEvidence {
  return {
    transactionHash: toHex(keccak256(blocks[0].txs[index])),
    transactionIndex: index,
    sequencedBlockHash: hashSequencedBlock(blocks[0]),
    proof,
    sequencedBlocks: blocks.map(encodeSequencedBlock),
  };
}

describe('preconfirmations checked offline with their blocks (seqnet_getPreconfirmation(tx, true))', () => {
  it("holds for the block's own proof, and through a descendant joined by parent links", async () => {
    const blocks = await chain();
    expect(verifyPreconfirmation(evidence(blocks.slice(0, 1), proofOf(blocks[0])), committee)).toBeNull();
    // Committed through block 7 (a failed view, or block sync): blocks 5, 6, 7 and 7's proof.
    expect(verifyPreconfirmation(evidence(blocks, proofOf(blocks[2]), 0), committee)).toBeNull();
  });

  it('rejects each broken link, saying which', async () => {
    const blocks = await chain();
    const through = proofOf(blocks[2]);
    const e = evidence(blocks, through);
    expect(verifyPreconfirmation({ ...e, sequencedBlocks: [] }, committee)).toMatch(/no sequenced blocks/);
    // The blocks in between are missing: the proof's block does not follow.
    expect(
      verifyPreconfirmation({ ...e, sequencedBlocks: e.sequencedBlocks.slice(0, 1) }, committee),
    ).toMatch(/not the block the proof commits/);
    expect(
      verifyPreconfirmation(
        { ...e, sequencedBlocks: [e.sequencedBlocks[0], e.sequencedBlocks[2]] },
        committee,
      ),
    ).toMatch(/sequenced block 1 \(height 7\) does not extend the one before it/);
    expect(verifyPreconfirmation({ ...e, transactionIndex: 0 }, committee)).toMatch(
      /the tx at index 0 of its block is not/,
    );
    expect(verifyPreconfirmation({ ...e, transactionIndex: 2 }, committee)).toMatch(
      /holds 2 txs: none at index 2/,
    );
    expect(verifyPreconfirmation({ ...e, sequencedBlockHash: toHex(randomBytes(32)) }, committee)).toMatch(
      /hashes to .* not to sequencedBlockHash/,
    );
    const damaged = [...e.sequencedBlocks];
    damaged[1] = damaged[1].slice(0, 10);
    expect(verifyPreconfirmation({ ...e, sequencedBlocks: damaged }, committee)).toMatch(
      /sequenced block 1 does not decode/,
    );
    expect(verifyPreconfirmation({ ...e, proof: { ...through, chainId: 1n } }, committee)).toMatch(
      /is of chain 42069, the proof of chain 1/,
    );
    // Two signers only: the blocks hold, the proof does not.
    expect(verifyPreconfirmation(evidence(blocks, proofOf(blocks[2], [0, 1])), committee)).toMatch(
      /the commit proof does not verify: .*quorum/,
    );
  });

  it('reads the JSON answer, naming the field that is wrong', async () => {
    const blocks = await chain();
    const e = evidence(blocks, proofOf(blocks[2]));
    const json = JSON.parse(
      JSON.stringify({
        transactionHash: e.transactionHash,
        blockNumber: '0x5',
        transactionIndex: '0x1',
        sequencedBlockHash: e.sequencedBlockHash,
        proof: commitProofToJson(e.proof),
        committee: { publicKeys: committee.publicKeys, quorum: 3 },
        sequencedBlocks: e.sequencedBlocks.map(toHex),
      }),
    );
    expect(verifyPreconfirmation(preconfirmationEvidenceFromJson(json), committee)).toBeNull();
    const { sequencedBlocks: _, ...withoutBlocks } = json;
    expect(() => preconfirmationEvidenceFromJson(withoutBlocks)).toThrow(
      /sequencedBlocks missing: ask for the preconfirmation with its blocks, seqnet_getPreconfirmation\(txHash, true\)/,
    );
    expect(() => preconfirmationEvidenceFromJson(null)).toThrow(/a JSON object/);
    expect(() => preconfirmationEvidenceFromJson({ ...json, transactionIndex: 1 })).toThrow(
      /transactionIndex/,
    );
    expect(() => preconfirmationEvidenceFromJson({ ...json, transactionHash: '0x12' })).toThrow(
      /transactionHash must be a 32-byte hex hash/,
    );
    expect(() => preconfirmationEvidenceFromJson({ ...json, sequencedBlocks: ['0x1'] })).toThrow(
      /sequencedBlocks\[0\] must be 0x-prefixed hex bytes/,
    );
    expect(() => preconfirmationEvidenceFromJson({ ...json, proof: { ...json.proof, qcs: [] } })).toThrow(
      /proof: a commit proof needs/,
    );
  });

  it('reads a pushed block (eth_subscribe("preconfirmations", true)) as the evidence of each tx it lists', async () => {
    const blocks = await chain();
    const proof = proofOf(blocks[2]);
    const txHashes = blocks[0].txs.map((raw) => toHex(keccak256(raw)));
    const pushed = JSON.parse(
      JSON.stringify({
        blockNumber: '0x5',
        sequencedBlockHash: hashSequencedBlock(blocks[0]),
        transactions: txHashes,
        proof: commitProofToJson(proof),
        committee: { publicKeys: committee.publicKeys, quorum: 3 },
        sequencedBlocks: blocks.map((b) => toHex(encodeSequencedBlock(b))),
      }),
    );
    for (const [i, h] of txHashes.entries()) {
      const e = preconfirmedBlockEvidence(pushed, h);
      expect(e.transactionIndex).toBe(i);
      expect(verifyPreconfirmation(e, committee)).toBeNull();
    }
    expect(() => preconfirmedBlockEvidence(pushed, ZERO_HASH)).toThrow(/does not list tx 0x0{64}/);
    expect(() => preconfirmedBlockEvidence({ ...pushed, transactions: 'x' }, txHashes[0])).toThrow(
      /transactions must be a list/,
    );
    const { sequencedBlocks: _, ...withoutBlocks } = pushed;
    expect(() => preconfirmedBlockEvidence(withoutBlocks, txHashes[0])).toThrow(/sequencedBlocks missing/);
    expect(() => preconfirmedBlockEvidence(null, txHashes[0])).toThrow(/a JSON object/);
  });
});
