import { describe, expect, it } from 'vitest';
import type { QuorumCertificate } from '../../src/consensus/certificate.js';
import type {
  ConsensusMessage,
  Proposal,
  TimeoutCertificate,
  TimeoutVote,
} from '../../src/consensus/core/types.js';
import { ConsensusDriver } from '../../src/consensus/driver/driver.js';
import { MemorySafetyStorage } from '../../src/consensus/safety/file-storage.js';
import { SafetyRules } from '../../src/consensus/safety/safety-rules.js';
import type { Hex } from '../../src/util/bytes.js';

/**
 * What a member sends a member that times out behind it (ConsensusDriver.helpLaggard): here the
 * signatures are not the point, so every one checks; the core and the driver are the node's.
 */
const h = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;
const GENESIS = h(0);
const rootQc: QuorumCertificate = { epoch: 0n, view: 0n, blockHash: GENESIS, signers: 0n, signature: '0x' };
const qc = (view: bigint, block: number): QuorumCertificate => ({
  epoch: 0n,
  view,
  blockHash: h(block),
  signers: 0b1110n,
  signature: '0x01',
});
/** Block `n` at `height` proposed in `view` by its round-robin leader, on `justify`'s block. */
const proposal = (
  n: number,
  view: bigint,
  justify: QuorumCertificate,
  extra: Partial<Proposal> = {},
  height = n,
): Proposal => ({
  epoch: 0n,
  view,
  author: Number(view % 4n),
  block: { hash: h(n), parent: justify.blockHash, height: BigInt(height), txCount: 1 },
  justify,
  payload: new Uint8Array(),
  signature: new Uint8Array([1]),
  ...extra,
});
const timeout = (voter: number, view: bigint, highQc: QuorumCertificate): TimeoutVote => ({
  epoch: 0n,
  view,
  highQc,
  voter,
  signature: new Uint8Array([1]),
});

/** Member 0 of a round-robin committee of 4 (it leads views 4, 8, …), with what it sends to whom. */
function member() {
  const sent: Array<{ to: number; message: ConsensusMessage }> = [];
  const driver = new ConsensusDriver(
    {
      self: 0,
      n: 4,
      quorum: 3,
      epoch: 0n,
      leaderFor: (view) => Number(view % 4n),
      baseTimeoutMs: 1_000,
      aggregate: () => rootQc,
    },
    { root: { block: { hash: GENESIS, parent: h(0xff), height: 0n, txCount: 0 }, qc: rootQc } },
    {
      safety: new SafetyRules(new MemorySafetyStorage(), stubSigner, 0, 0n, { freshChain: true }),
      crypto: {
        verifyProposal: () => true,
        verifyVote: () => true,
        verifyVotes: () => true,
        verifyTimeout: () => true,
        verifyQc: () => true,
        verifyTc: () => true,
        aggregate: () => rootQc,
      },
      transport: {
        broadcast: () => {},
        sendTo: (to, message) => sent.push({ to, message }),
        fetch: () => {},
      },
      timers: { schedule: () => {} },
      app: { buildBlock: () => undefined, validate: () => true, commit: () => {} },
      wal: { append: () => {}, prune: () => {} },
    },
  );
  driver.start();
  return { driver, sent, take: () => sent.splice(0).map(describeSent) };
}

const stubSigner = {
  signVote: () => new Uint8Array([1]),
  signTimeout: () => new Uint8Array([1]),
  signProposal: () => new Uint8Array([1]),
};

const describeSent = ({ to, message: m }: { to: number; message: ConsensusMessage }) =>
  m.kind === 'proposal'
    ? `${to}: proposal v${m.proposal.view}`
    : m.kind === 'qc'
      ? `${to}: qc v${m.qc.view}`
      : `${to}: ${m.kind}`;

describe('a member that times out behind the others is sent what it needs to commit', () => {
  // Blocks 1, 2, 3 in views 1, 2, 3: the QC of view 2 (carried by view 3's proposal) commits block 1.
  const p1 = proposal(1, 1n, rootQc);
  const p2 = proposal(2, 2n, qc(1n, 1));
  const p3 = proposal(3, 3n, qc(2n, 2));

  it('a QC as high as ours, its timeout of our view sent again: the QC that committed our last block, once', () => {
    const m = member();
    for (const p of [p1, p2, p3]) m.driver.onMessage(p.author, { kind: 'proposal', proposal: p });
    expect(m.driver.core.committedHeight).toBe(1n);
    expect(m.driver.core.commitProof).toMatchObject({ proposal: { view: 2n }, qc: { view: 2n } });
    expect(m.driver.core.currentView).toBe(3n);
    m.take();
    // Member 1 holds the QC of view 2 too (from view 3's proposal, say) but not block 2's proposal.
    m.driver.onMessage(1, { kind: 'timeout', timeout: timeout(1, 3n, qc(2n, 2)) });
    expect(m.take()).toEqual([]); // its first timeout may just be the view failing for everyone
    m.driver.onMessage(1, { kind: 'timeout', timeout: timeout(1, 3n, qc(2n, 2)) });
    expect(m.take()).toEqual(['1: proposal v2', '1: qc v2']);
    m.driver.onMessage(1, { kind: 'timeout', timeout: timeout(1, 3n, qc(2n, 2)) });
    expect(m.take()).toEqual([]); // once per commit of ours
  });

  it('a QC older than the one that committed our last block: that one first, then our highest', () => {
    const m = member();
    for (const p of [p1, p2, p3]) m.driver.onMessage(p.author, { kind: 'proposal', proposal: p });
    // View 3 fails (no QC for block 3); the TC moves everyone to view 4, whose leader is this member:
    // with nothing to propose, view 5's leader (1) proposes block 4 (height 3) on block 2 after a TC of
    // view 4.
    const tcOf = (view: bigint): TimeoutCertificate => ({
      epoch: 0n,
      view,
      timeouts: [1, 2, 3].map((voter) => ({ voter, highQcView: 2n, signature: new Uint8Array([1]) })),
      highQc: qc(2n, 2),
    });
    m.driver.onMessage(1, { kind: 'tc', tc: tcOf(3n) });
    m.driver.onMessage(1, { kind: 'tc', tc: tcOf(4n) });
    const p5 = proposal(4, 5n, qc(2n, 2), { lastViewTc: tcOf(4n) }, 3);
    const p6 = proposal(5, 6n, qc(5n, 4), {}, 4);
    for (const p of [p5, p6]) m.driver.onMessage(p.author, { kind: 'proposal', proposal: p });
    // The QC of view 5 does not commit block 2 (its parent's QC is of view 2, not 4).
    expect(m.driver.core.highestQc.view).toBe(5n);
    expect(m.driver.core.committedHeight).toBe(1n);
    m.take();
    // Member 3 still holds the QC of view 1: it gets the QC of view 2 (with its block), then view 6's
    // proposal, which carries the QC of view 5.
    m.driver.onMessage(3, { kind: 'timeout', timeout: timeout(3, 3n, qc(1n, 1)) });
    expect(m.take()).toEqual(['3: proposal v2', '3: qc v2', '3: proposal v6']);
    // Once per view of ours: a re-send of that timeout gets nothing more.
    m.driver.onMessage(3, { kind: 'timeout', timeout: timeout(3, 3n, qc(1n, 1)) });
    expect(m.take()).toEqual([]);
  });
});
