import { randomBytes } from 'node:crypto';
import { SecretKey } from '@chainsafe/blst';
import { describe, expect, it } from 'vitest';
import { BlsConsensusCrypto, blsSigner } from '../../src/consensus/bls-crypto.js';
import type { Equivocation, Vote } from '../../src/consensus/core/types.js';
import { ConsensusDriver } from '../../src/consensus/driver/driver.js';
import { instanceRootQc } from '../../src/consensus/handover.js';
import { MemorySafetyStorage } from '../../src/consensus/safety/file-storage.js';
import { SafetyRules } from '../../src/consensus/safety/safety-rules.js';
import { type Hex, toHex } from '../../src/util/bytes.js';

const CHAIN_ID = 42069n;
const N = 7; // quorum 5
const SELF = 6;
const keys = Array.from({ length: N }, () => SecretKey.fromKeygen(randomBytes(32)));
const committee = { publicKeys: keys.map((k) => toHex(k.toPublicKey().toBytes())) as Hex[], quorum: 5 };
const root = toHex(randomBytes(32));
const instance = { epoch: 0n, root };

const vote = (voter: number, view: bigint, blockHash: Hex, signer = voter): Vote => ({
  epoch: 0n,
  view,
  blockHash,
  voter,
  signature: blsSigner(keys[signer], CHAIN_ID).signVote(0n, view, blockHash),
});

/** A vote collector's driver (member 6 of 7, which has not voted) over the node's BLS checks, counted. */
function collector() {
  const bls = new BlsConsensusCrypto(CHAIN_ID, committee, instance);
  const checks = { alone: 0, together: 0 };
  const evidence: Equivocation[] = [];
  const invalid: Array<{ from: number; why: string }> = [];
  const driver = new ConsensusDriver(
    {
      self: SELF,
      n: N,
      quorum: committee.quorum,
      epoch: 0n,
      leaderFor: (view) => Number(view % BigInt(N)),
      baseTimeoutMs: 1_000,
      aggregate: (votes) => bls.aggregate(votes),
    },
    { root: { block: { hash: root, parent: root, height: 0n, txCount: 0 }, qc: instanceRootQc(instance) } },
    {
      safety: new SafetyRules(new MemorySafetyStorage(), blsSigner(keys[SELF], CHAIN_ID), SELF, 0n, {
        freshChain: true,
      }),
      crypto: {
        verifyProposal: (p) => bls.verifyProposal(p),
        verifyTimeout: (t) => bls.verifyTimeout(t),
        verifyQc: (qc) => bls.verifyQc(qc),
        verifyTc: (tc) => bls.verifyTc(tc),
        aggregate: (votes) => bls.aggregate(votes),
        verifyVote: (v) => {
          checks.alone++;
          return bls.verifyVote(v);
        },
        verifyVotes: (votes) => {
          checks.together++;
          return bls.verifyVotes(votes);
        },
      },
      transport: { broadcast: () => {}, sendTo: () => {}, fetch: () => {} },
      timers: { schedule: () => {} },
      app: {
        buildBlock: () => undefined,
        validate: () => true,
        commit: () => {},
        onEvidence: (e) => evidence.push(e),
        onInvalid: (from, why) => invalid.push({ from, why }),
      },
      wal: { append: () => {}, prune: () => {} },
    },
  );
  driver.start();
  return { driver, bls, checks, evidence, invalid };
}

describe("a vote collector's checks of votes", () => {
  const block = toHex(randomBytes(32));
  const other = toHex(randomBytes(32));

  it('checks the votes that make a QC together, once, and a late vote not at all unless its member votes again', () => {
    const c = collector();
    for (const m of [0, 1, 2, 3]) c.driver.onMessage(m, { kind: 'vote', vote: vote(m, 1n, block) });
    expect(c.checks).toEqual({ alone: 0, together: 0 }); // 4 of the 5 needed: nothing checked yet
    c.driver.onMessage(4, { kind: 'vote', vote: vote(4, 1n, block) });
    expect(c.checks).toEqual({ alone: 0, together: 1 });
    expect(c.driver.core.highestQc).toMatchObject({ view: 1n, blockHash: block });
    expect(c.bls.verifyQc(c.driver.core.highestQc)).toBe(true);
    // Member 5's vote comes after the QC: it adds nothing and is not checked…
    c.driver.onMessage(5, { kind: 'vote', vote: vote(5, 1n, block) });
    c.driver.onMessage(5, { kind: 'vote', vote: vote(5, 1n, block) });
    expect(c.checks).toEqual({ alone: 0, together: 1 });
    // …until member 5 votes for another block in that view: both checked alone, kept as evidence.
    c.driver.onMessage(5, { kind: 'vote', vote: vote(5, 1n, other) });
    // (2 as they come, 2 more — remembered by the BLS checker — before the evidence goes out)
    expect(c.checks.alone).toBe(4);
    expect(c.evidence).toHaveLength(1);
    expect(c.evidence[0]).toMatchObject({ member: 5, view: 1n, phase: 'vote' });
    expect(c.invalid).toEqual([]);
  });

  it('checks them one by one when the aggregate fails: the bad one is blamed on the member that sent it, the rest count', () => {
    const c = collector();
    const forged = vote(2, 1n, block, 1); // member 1's signature under member 2's name
    for (const v of [vote(0, 1n, block), vote(1, 1n, block), forged, vote(3, 1n, block), vote(4, 1n, block)])
      c.driver.onMessage(v === forged ? 5 : v.voter, { kind: 'vote', vote: v });
    expect(c.checks).toEqual({ alone: 5, together: 1 });
    expect(c.invalid).toEqual([{ from: 5, why: 'vote for view 1 does not verify' }]);
    expect(c.driver.core.highestQc.view).toBe(0n); // 4 good votes: one short
    c.driver.onMessage(5, { kind: 'vote', vote: vote(5, 1n, block) });
    expect(c.driver.core.highestQc).toMatchObject({ view: 1n, blockHash: block });
    expect(c.bls.verifyQc(c.driver.core.highestQc)).toBe(true);
  });

  it('makes a valid QC of two signatures swapped between members, but keeps no evidence built on one of them', () => {
    const c = collector();
    const [a, b] = [vote(0, 1n, block), vote(1, 1n, block)];
    const swapped = [
      { ...a, signature: b.signature },
      { ...b, signature: a.signature },
    ];
    expect(c.bls.verifyVote(swapped[0])).toBe(false);
    for (const v of [...swapped, vote(2, 1n, block), vote(3, 1n, block), vote(4, 1n, block)])
      c.driver.onMessage(v.voter, { kind: 'vote', vote: v });
    expect(c.checks).toEqual({ alone: 0, together: 1 });
    expect(c.bls.verifyQc(c.driver.core.highestQc)).toBe(true); // the sum is what a QC needs
    // Member 0 votes again, validly, for another block: the core sees an equivocation, but its first
    // vote does not verify alone, so it is not evidence anyone could take to the Slasher.
    c.driver.onMessage(0, { kind: 'vote', vote: vote(0, 1n, other) });
    expect(c.evidence).toEqual([]);
  });
});
