import { randomBytes } from 'node:crypto';
import { SecretKey } from '@chainsafe/blst';
import { describe, expect, it } from 'vitest';
import { BlsConsensusCrypto, blsSigner } from '../../src/consensus/bls-crypto.js';
import type { Proposal } from '../../src/consensus/core/types.js';
import { instanceRootQc } from '../../src/consensus/handover.js';
import { type Hex, toHex } from '../../src/util/bytes.js';

const CHAIN_ID = 42069n;
const keys = Array.from({ length: 4 }, () => SecretKey.fromKeygen(randomBytes(32)));
const committee = { publicKeys: keys.map((k) => toHex(k.toPublicKey().toBytes())) as Hex[], quorum: 3 };
const root = toHex(randomBytes(32));
const block = toHex(randomBytes(32));

describe("the node's BLS checks of consensus messages", () => {
  it("takes its instance's root QC unsigned, and no other view-0 QC", () => {
    const crypto = new BlsConsensusCrypto(CHAIN_ID, committee, { epoch: 2n, root });
    expect(crypto.verifyQc(instanceRootQc({ epoch: 2n, root }))).toBe(true);
    expect(crypto.verifyQc(instanceRootQc({ epoch: 1n, root }))).toBe(false); // another epoch's root
    expect(crypto.verifyQc(instanceRootQc({ epoch: 2n, root: block }))).toBe(false); // not the root
    expect(crypto.verifyQc({ ...instanceRootQc({ epoch: 2n, root }), signers: 0b111n })).toBe(false);
  });

  it('verifies votes aggregated into a QC and a proposal on the root, and refuses a forged one', () => {
    const crypto = new BlsConsensusCrypto(CHAIN_ID, committee, { epoch: 2n, root });
    const votes = [0, 1, 3].map((voter) => ({
      epoch: 2n,
      view: 1n,
      blockHash: block,
      voter,
      signature: blsSigner(keys[voter], CHAIN_ID).signVote(2n, 1n, block),
    }));
    for (const v of votes) expect(crypto.verifyVote(v)).toBe(true);
    expect(crypto.verifyVote({ ...votes[0], voter: 2 })).toBe(false); // another member's key
    const qc = crypto.aggregate(votes);
    expect(crypto.verifyQc(qc)).toBe(true);
    expect(crypto.verifyQc(crypto.aggregate(votes.slice(0, 2)))).toBe(false); // below the quorum
    expect(crypto.verifyQc({ ...qc, epoch: 3n })).toBe(false); // signed for epoch 2
    const proposal: Proposal = {
      epoch: 2n,
      view: 1n,
      author: 1,
      block: { hash: block, parent: root, height: 8n, txCount: 0 },
      justify: instanceRootQc({ epoch: 2n, root }),
      payload: new Uint8Array(),
      signature: blsSigner(keys[1], CHAIN_ID).signProposal(2n, 1n, block),
    };
    expect(crypto.verifyProposal(proposal)).toBe(true);
    expect(crypto.verifyProposal({ ...proposal, author: 0 })).toBe(false);
  });

  it('checks a proposal and the new QC it brings together, and refuses one signature moved into the other', () => {
    const qcOf = (crypto: BlsConsensusCrypto) =>
      crypto.aggregate(
        [0, 2, 3].map((voter) => ({
          epoch: 2n,
          view: 4n,
          blockHash: block,
          voter,
          signature: blsSigner(keys[voter], CHAIN_ID).signVote(2n, 4n, block),
        })),
      );
    const child = toHex(randomBytes(32));
    const proposalOn = (justify: Proposal['justify']): Proposal => ({
      epoch: 2n,
      view: 5n,
      author: 1,
      block: { hash: child, parent: block, height: 9n, txCount: 0 },
      justify,
      payload: new Uint8Array(),
      signature: blsSigner(keys[1], CHAIN_ID).signProposal(2n, 5n, child),
    });
    const fresh = () => new BlsConsensusCrypto(CHAIN_ID, committee, { epoch: 2n, root });
    const qc = qcOf(fresh());
    const proposal = proposalOn(qc);

    const crypto = fresh();
    expect(crypto.verifyProposal(proposal)).toBe(true);
    expect(crypto.verifyQc(qc)).toBe(true); // remembered from the proposal's check

    // The leader's signature and the QC's swapped: their sum (what a plain aggregate check sees) is
    // unchanged, but neither is valid — the multi-pairing's random factors refuse it.
    const swapped: Proposal = {
      ...proposal,
      signature: Uint8Array.from(Buffer.from(qc.signature.slice(2), 'hex')),
      justify: { ...qc, signature: toHex(proposal.signature) },
    };
    const checker = fresh();
    expect(checker.verifyProposal(swapped)).toBe(false);
    expect(checker.verifyQc(swapped.justify)).toBe(false);
    // Either part alone wrong: refused, and the good part still verifies.
    const badQc = { ...qc, signature: qcOf(fresh()).signature, view: 3n };
    const other = fresh();
    expect(other.verifyProposal(proposalOn(badQc))).toBe(false);
    expect(other.verifyQc(badQc)).toBe(false);
    expect(other.verifyProposal({ ...proposal, author: 2 })).toBe(false);
    expect(other.verifyProposal(proposal)).toBe(true);
  });
});
