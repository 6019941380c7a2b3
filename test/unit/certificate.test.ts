import { randomBytes } from 'node:crypto';
import { SecretKey } from '@chainsafe/blst';
import { describe, expect, it } from 'vitest';
import {
  aggregateQc,
  type CommitProof,
  commitProofFromJson,
  commitProofToJson,
  decodeCommitProof,
  encodeCommitProof,
  quorumFor,
  signVote,
  verifyCommitProof,
} from '../../src/consensus/certificate.js';
import { type Hex, toHex } from '../../src/util/bytes.js';

const blockHash = toHex(randomBytes(32));
const keys = Array.from({ length: 4 }, () => SecretKey.fromKeygen(randomBytes(32)));
const pubs = keys.map((k) => toHex(k.toPublicKey().toBytes())) as Hex[];

function proofFor(signers: number[], view = 7n, chainId = 42069n): CommitProof {
  const votes = (v: bigint, h: Hex) =>
    signers.map((i) => ({ index: i, signature: signVote(keys[i], chainId, 0n, v, h) }));
  const child = toHex(randomBytes(32));
  return {
    chainId,
    height: 5n,
    blockHash,
    qcs: [
      aggregateQc({ epoch: 0n, view, blockHash }, votes(view, blockHash)),
      aggregateQc({ epoch: 0n, view: view + 1n, blockHash: child }, votes(view + 1n, child)),
    ],
  };
}

describe('commit proofs (preconfirmations)', () => {
  it('quorum is 2f+1', () => {
    expect([1, 4, 7, 10].map(quorumFor)).toEqual([1, 3, 5, 7]);
  });

  it('a committee-of-one proof verifies offline with the public key alone', () => {
    const proof: CommitProof = {
      chainId: 42069n,
      height: 1n,
      blockHash,
      qcs: [
        aggregateQc({ epoch: 0n, view: 1n, blockHash }, [
          { index: 0, signature: signVote(keys[0], 42069n, 0n, 1n, blockHash) },
        ]),
      ],
    };
    expect(verifyCommitProof(proof, { publicKeys: [pubs[0]], quorum: 1 })).toBeNull();
    expect(verifyCommitProof(proof, { publicKeys: [pubs[1]], quorum: 1 })).toMatch(/does not verify/);
  });

  it('a proof survives its JSON form (seqnet_getPreconfirmation); malformed JSON is refused with the field', () => {
    const proof = proofFor([0, 1, 3]);
    const json = JSON.parse(JSON.stringify(commitProofToJson(proof)));
    expect(commitProofFromJson(json)).toEqual(proof);
    expect(() => commitProofFromJson(null)).toThrow(/non-empty qcs/);
    expect(() => commitProofFromJson({ ...json, qcs: [] })).toThrow(/non-empty qcs/);
    expect(() => commitProofFromJson({ ...json, height: 5 })).toThrow(
      /height must be a 0x-prefixed hex quantity/,
    );
    expect(() => commitProofFromJson({ ...json, blockHash: '0x12' })).toThrow(
      /blockHash must be a 32-byte hex hash/,
    );
    expect(() => commitProofFromJson({ ...json, qcs: [{ ...json.qcs[0], signature: '0x00' }] })).toThrow(
      /qcs\[0\]\.signature must be a 96-byte/,
    );
  });

  it('a 3-of-4 two-chain proof verifies, and survives encoding', () => {
    const proof = proofFor([0, 1, 3]);
    const committee = { publicKeys: pubs, quorum: 3 };
    expect(verifyCommitProof(proof, committee)).toBeNull();
    expect(verifyCommitProof(decodeCommitProof(encodeCommitProof(proof)), committee)).toBeNull();
  });

  it('rejects too few signers, a forged signature, another chain id and a missing child QC', () => {
    const committee = { publicKeys: pubs, quorum: 3 };
    expect(verifyCommitProof(proofFor([0, 1]), committee)).toMatch(/quorum/);
    const forged = proofFor([0, 1, 2]);
    // Member 2's vote replaced by a signature from a key outside the committee.
    const outsider = SecretKey.fromKeygen(randomBytes(32));
    forged.qcs[0] = aggregateQc({ epoch: 0n, view: 7n, blockHash }, [
      { index: 0, signature: signVote(keys[0], 42069n, 0n, 7n, blockHash) },
      { index: 1, signature: signVote(keys[1], 42069n, 0n, 7n, blockHash) },
      { index: 2, signature: signVote(outsider, 42069n, 0n, 7n, blockHash) },
    ]);
    expect(verifyCommitProof(forged, committee)).toMatch(/does not verify/);
    const otherChain = { ...proofFor([0, 1, 2], 7n, 1n), chainId: 42069n };
    expect(verifyCommitProof(otherChain, committee)).toMatch(/does not verify/);
    const noChild = proofFor([0, 1, 2]);
    noChild.qcs.pop();
    expect(verifyCommitProof(noChild, committee)).toMatch(/direct child/);
  });
});
