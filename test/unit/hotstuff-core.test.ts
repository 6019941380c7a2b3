import { describe, expect, it } from 'vitest';
import type { QuorumCertificate } from '../../src/consensus/certificate.js';
import {
  type CoreConfig,
  type CoreStart,
  HotStuffCore,
  type LedView,
} from '../../src/consensus/core/hotstuff.js';
import type {
  CommittedBlock,
  CoreOutput,
  Proposal,
  TimeoutVote,
  Vote,
} from '../../src/consensus/core/types.js';
import { AuctionSchedule } from '../../src/election/auction.js';
import { scheduleHooks } from '../../src/election/schedule.js';
import type { Hex } from '../../src/util/bytes.js';

const h = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;
const GENESIS = h(0);
const genesisQc: QuorumCertificate = {
  epoch: 0n,
  view: 0n,
  blockHash: GENESIS,
  signers: 0n,
  signature: '0x',
};
const qc = (view: bigint, block: number): QuorumCertificate => ({
  epoch: 0n,
  view,
  blockHash: h(block),
  signers: 0b111n,
  signature: '0x01',
});

function core(
  self: number,
  leaderFor: CoreConfig['leaderFor'] = (v) => Number(v % 4n),
  onTimeoutCertificate?: CoreConfig['onTimeoutCertificate'],
  shortTimeoutForSuspects = false,
  epochOf?: CoreConfig['epochOf'],
) {
  return new HotStuffCore(
    {
      self,
      n: 4,
      quorum: 3,
      epoch: 0n,
      leaderFor,
      onTimeoutCertificate,
      shortTimeoutForSuspects,
      epochOf,
      baseTimeoutMs: 100,
      aggregate: (votes: Vote[]) => ({
        epoch: 0n,
        view: votes[0].view,
        blockHash: votes[0].blockHash,
        signers: votes.reduce((m, v) => m | (1n << BigInt(v.voter)), 0n),
        signature: '0xagg',
      }),
    },
    { root: { block: { hash: GENESIS, parent: h(0xff), height: 0n, txCount: 0 }, qc: genesisQc } },
  );
}

/** Member 1 of a round-robin committee of 4, started from `root` (restored, or a block sync's). */
function coreFromRoot(root: CoreStart['root']): HotStuffCore {
  return new HotStuffCore(
    {
      self: 1,
      n: 4,
      quorum: 3,
      epoch: 0n,
      leaderFor: (v) => Number(v % 4n),
      baseTimeoutMs: 100,
      aggregate: () => qc(0n, 0),
    },
    { root },
  );
}

/** Block `n` at height n, proposed in `view` by its leader, on the QC of block n−1. */
function proposal(n: number, view: bigint, justify: QuorumCertificate, txCount = 1): Proposal {
  return {
    epoch: 0n,
    view,
    author: Number(view % 4n),
    block: { hash: h(n), parent: justify.blockHash, height: BigInt(n), txCount },
    justify,
    payload: new Uint8Array(),
    signature: new Uint8Array([1]),
  };
}

/** `voter`'s vote in `view` for block `n`. */
const voteOn = (view: bigint, n: number, voter: number): Vote => ({
  epoch: 0n,
  view,
  blockHash: h(n),
  voter,
  signature: new Uint8Array(),
});

const ofType = <T extends CoreOutput['type']>(out: CoreOutput[], t: T) =>
  out.filter((o): o is Extract<CoreOutput, { type: T }> => o.type === t);

describe('consensus core (script tests)', () => {
  it('judges a proposal by the view of the QC it extends: after failed views, the schedule may name another leader', () => {
    // A schedule that passes over the plain leader once views failed: the next member leads instead.
    const passOver = (v: bigint, j: bigint) => Number((j < v - 1n ? v + 1n : v) % 4n);
    const tc = {
      epoch: 0n,
      view: 2n,
      timeouts: [0, 1, 2].map((voter) => ({ voter, highQcView: 0n, signature: new Uint8Array() })),
      highQc: genesisQc,
    };
    const afterTc = (author: number): Proposal => ({ ...proposal(1, 3n, genesisQc), author, lastViewTc: tc });
    // Member 3 is the plain leader of view 3, but views 1 and 2 failed: its proposal is not voted for.
    const a = core(1, passOver);
    a.apply({ type: 'start' });
    expect(ofType(a.apply({ type: 'proposal', from: 3, proposal: afterTc(3) }), 'sign-vote')).toEqual([]);
    // Member 0 is the leader the schedule names for (view 3, justify view 0); votes go to view 4's
    // plain leader, who will propose on the QC they form.
    const b = core(1, passOver);
    b.apply({ type: 'start' });
    const votes = ofType(b.apply({ type: 'proposal', from: 0, proposal: afterTc(0) }), 'sign-vote');
    expect(votes.map((v) => [v.proposal.view, v.to])).toEqual([[3n, 0]]);
    // And member 0 itself, entering view 3 through the TC, asks for a payload as its leader.
    const c = core(0, passOver);
    c.apply({ type: 'start' });
    c.apply({ type: 'work', pending: true });
    const req = ofType(
      c.apply({ type: 'proposal', from: 1, proposal: { ...afterTc(1), view: 3n } }),
      'request-payload',
    );
    expect(req).toEqual([{ type: 'request-payload', view: 3n, parent: GENESIS, height: 1n }]);
  });

  it('names leaders with the failed views and the proposers of the chain under a proposal, also after QCs formed again', () => {
    const asked: Array<[bigint, bigint, readonly bigint[]]> = [];
    const proposers: Array<[bigint, readonly LedView[]]> = [];
    const c = core(2, (v, j, failedBefore, ledBefore) => {
      asked.push([v, j, [...failedBefore]]);
      proposers.push([v, [...ledBefore]]);
      return Number(v % 4n);
    });
    c.apply({ type: 'start' });
    // Block 1 in view 1; views 2 and 3 fail; block 2 in view 4 on block 1's QC; block 3 in view 5.
    c.apply({ type: 'proposal', from: 1, proposal: proposal(1, 1n, genesisQc) });
    c.apply({ type: 'proposal', from: 0, proposal: proposal(2, 4n, qc(1n, 1)) });
    asked.length = 0;
    const out = c.apply({ type: 'proposal', from: 1, proposal: proposal(3, 5n, qc(4n, 2)) });
    // Block 3 is judged with the failures under block 2, and its votes go to view 6's leader over the
    // same chain: views 2 and 3 failed although views 4 and 5 have QCs.
    expect(asked).toContainEqual([5n, 4n, [2n, 3n]]);
    expect(asked).toContainEqual([6n, 5n, [2n, 3n]]);
    expect(ofType(out, 'sign-vote').map((v) => v.to)).toEqual([2]);
    // With the proposers of that chain: block 1 by member 1 (view 1), block 2 by 0 (view 4), and for
    // the votes, block 3 by 1 (view 5).
    expect(proposers).toContainEqual([
      5n,
      [
        { view: 1n, leader: 1 },
        { view: 4n, leader: 0 },
      ],
    ]);
    expect(proposers).toContainEqual([
      6n,
      [
        { view: 1n, leader: 1 },
        { view: 4n, leader: 0 },
        { view: 5n, leader: 1 },
      ],
    ]);
  });

  it("a chain's first block of a later election epoch leaves the failed views before its parent's QC behind", () => {
    // Block 1 in view 1 (epoch 0); views 2 and 3 fail; block 2 in view 4; view 5 fails; block 3 in
    // view 6 on block 2's QC is the chain's first of epoch 1 (its L1 origin's); view 7 fails; block 4
    // in view 8.
    const failedUnder = (epochs: Record<number, bigint | undefined>) => {
      const asked = new Map<bigint, readonly bigint[]>();
      const c = core(
        2,
        (v, _j, failedBefore) => {
          asked.set(v, [...failedBefore]);
          return Number(v % 4n);
        },
        undefined,
        false,
        (block) => epochs[Number(BigInt(block))],
      );
      c.apply({ type: 'start' });
      c.apply({ type: 'proposal', from: 1, proposal: proposal(1, 1n, genesisQc) });
      c.apply({ type: 'proposal', from: 0, proposal: proposal(2, 4n, qc(1n, 1)) });
      c.apply({ type: 'proposal', from: 2, proposal: proposal(3, 6n, qc(4n, 2)) });
      c.apply({ type: 'proposal', from: 0, proposal: proposal(4, 8n, qc(6n, 3)) });
      return {
        atBlock4: asked.get(8n),
        underBlock3: c.knownHistoryOf(h(3))?.failedViews,
        underBlock4: c.knownHistoryOf(h(4))?.failedViews,
      };
    };
    // Entering epoch 1: views 2 and 3 (epoch 0's leaders and vote collectors) are left behind; view
    // 5 stays, whose votes went to epoch 1's collector; block 4's leader is named with 5 only.
    const entered = failedUnder({ 0: 0n, 1: 0n, 2: 0n, 3: 1n, 4: 1n });
    expect(entered.underBlock3).toEqual([5n]);
    expect(entered.atBlock4).toEqual([5n]);
    expect(entered.underBlock4).toEqual([5n, 7n]);
    // One epoch throughout, or a block whose epoch is not known: every failure stays in the chain.
    for (const epochs of [
      { 0: 0n, 1: 0n, 2: 0n, 3: 0n, 4: 0n },
      { 0: 0n, 1: 0n, 3: 1n, 4: 1n },
    ]) {
      const kept = failedUnder(epochs);
      expect(kept.underBlock3).toEqual([2n, 3n, 5n]);
      expect(kept.atBlock4).toEqual([2n, 3n, 5n]);
      expect(kept.underBlock4).toEqual([2n, 3n, 5n, 7n]);
    }
  });

  it('a block proposed again unchanged after its view failed has the history of the proposal its QC certified, in either order', () => {
    for (const order of ['first, then again', 'again, then first']) {
      const asked: Array<[bigint, readonly bigint[], readonly LedView[]]> = [];
      const c = core(3, (v, _j, failedBefore, ledBefore) => {
        asked.push([v, [...failedBefore], [...ledBefore]]);
        return Number(v % 4n);
      });
      c.apply({ type: 'start' });
      c.apply({ type: 'proposal', from: 1, proposal: proposal(1, 1n, genesisQc) });
      // Block 2 in view 2 (member 2) gets no QC; after the TC, member 3 proposes the very same block
      // (same hash: view and author are outside it) in view 3 on block 1's QC.
      const first = proposal(2, 2n, qc(1n, 1));
      const again = { ...proposal(2, 3n, qc(1n, 1)), author: 3 };
      for (const p of order === 'first, then again' ? [first, again] : [again, first])
        c.apply({ type: 'proposal', from: p.author, proposal: p });
      // Block 3 in view 4 on the view-3 QC of block 2: under it, view 2 failed and member 3 led block 2.
      asked.length = 0;
      c.apply({ type: 'proposal', from: 0, proposal: proposal(3, 4n, qc(3n, 2)) });
      const later = {
        failedViews: [2n],
        led: [
          { view: 1n, leader: 1 },
          { view: 3n, leader: 3 },
        ],
      };
      expect(asked, order).toContainEqual([4n, later.failedViews, later.led]);
      expect(c.knownHistoryOf(h(2), 3n), order).toEqual(later);
      // Certified in view 2, it would have had the first proposal's.
      expect(c.knownHistoryOf(h(2), 2n), order).toEqual({
        failedViews: [],
        led: [
          { view: 1n, leader: 1 },
          { view: 2n, leader: 2 },
        ],
      });
    }
  });

  it('started from a root whose failed views it does not know, takes a proposal from any member and votes to all', () => {
    const root = { block: { hash: h(50), parent: h(49), height: 50n, txCount: 0 }, qc: qc(60n, 50) };
    const make = (failedViews?: readonly bigint[]) => coreFromRoot({ ...root, failedViews });
    // View 61's leader is member 1 by the schedule; member 3 proposes (the others passed over 1).
    const p: Proposal = { ...proposal(51, 61n, qc(60n, 50)), author: 3 };
    const synced = make();
    synced.apply({ type: 'start' });
    const out = synced.apply({ type: 'proposal', from: 3, proposal: p });
    expect(ofType(out, 'sign-vote').map((v) => v.proposal.view)).toEqual([61n]);
    const sent = ofType(synced.apply({ type: 'vote-signed', vote: voteOn(61n, 51, 1) }), 'send');
    expect(sent.map((o) => o.to).sort()).toEqual([0, 2, 3]);
    // A member that restarted with its root's failed views (from the WAL) keeps to the schedule.
    const restarted = make([]);
    restarted.apply({ type: 'start' });
    expect(ofType(restarted.apply({ type: 'proposal', from: 3, proposal: p }), 'sign-vote')).toEqual([]);
  });

  it('a member that holds a QC for a block it lacks (not the leader) fetches that block when its view times out', () => {
    const c = core(2);
    c.apply({ type: 'start' });
    c.apply({ type: 'proposal', from: 1, proposal: proposal(1, 1n, genesisQc) });
    // Block 2's proposal never came here (or came as a refused twin); its QC does, with a timeout.
    c.apply({ type: 'qc', qc: qc(2n, 2) });
    expect(c.currentView).toBe(3n);
    c.apply({ type: 'work', pending: true });
    const out = c.apply({ type: 'timer', view: 3n });
    expect(ofType(out, 'fetch').map((f) => f.hash)).toEqual([h(2)]);
    expect(ofType(out, 'sign-timeout')).toHaveLength(1);
  });

  it('a committed block carries its chain history; near a synced root, whose history is unknown, it carries none', () => {
    // From genesis: block 1 in view 1, views 2 and 3 fail, blocks 2–4 in views 4–6 (block 4 commits 1 and 2).
    const c = core(3);
    c.apply({ type: 'start' });
    c.apply({ type: 'proposal', from: 1, proposal: proposal(1, 1n, genesisQc) });
    c.apply({ type: 'proposal', from: 0, proposal: proposal(2, 4n, qc(1n, 1)) });
    c.apply({ type: 'proposal', from: 1, proposal: proposal(3, 5n, qc(4n, 2)) });
    const [commit] = ofType(
      c.apply({ type: 'proposal', from: 2, proposal: proposal(4, 6n, qc(5n, 3)) }),
      'commit',
    );
    expect(commit.blocks.map((b) => b.history)).toEqual([
      { failedViews: [], led: [{ view: 1n, leader: 1 }] },
      {
        failedViews: [2n, 3n],
        led: [
          { view: 1n, leader: 1 },
          { view: 4n, leader: 0 },
        ],
      },
    ]);
    // Started from a synced root (block 50, certified in view 60, history unknown): blocks up to view
    // 60 + FAILED_VIEWS_KEPT carry none; a block past it carries the views from the root on.
    const syncedRoot = { block: { hash: h(50), parent: h(49), height: 50n, txCount: 0 }, qc: qc(60n, 50) };
    const synced = coreFromRoot(syncedRoot);
    synced.apply({ type: 'start' });
    expect(synced.leadersUnknownUntil).toBe(124n);
    const commits: CommittedBlock[] = [];
    const feed = (n: number, view: bigint, justifyView: bigint) =>
      commits.push(
        ...ofType(
          synced.apply({
            type: 'proposal',
            from: Number(view % 4n),
            proposal: proposal(n, view, qc(justifyView, n - 1)),
          }),
          'commit',
        ).flatMap((o) => o.blocks),
      );
    feed(51, 61n, 60n);
    feed(52, 62n, 61n);
    feed(53, 63n, 62n);
    feed(54, 125n, 63n);
    feed(55, 126n, 125n);
    feed(56, 127n, 126n);
    expect(commits.map((b) => [b.proposal.block.height, b.history !== undefined])).toEqual([
      [51n, false],
      [52n, false],
      [53n, false],
      [54n, true],
    ]);
    const failed: bigint[] = [];
    for (let u = 64n; u < 125n; u++) failed.push(u);
    expect(commits[3].history).toEqual({
      failedViews: failed,
      led: [61n, 62n, 63n, 125n].map((view) => ({ view, leader: Number(view % 4n) })),
    });
    // A block held but not committed yet has its history too (block sync asks members that may hold
    // the synced head uncommitted); none near the synced root, none for a block not here.
    expect(synced.knownHistoryOf(h(56))?.led.at(-1)).toEqual({ view: 127n, leader: 3 });
    expect(synced.knownHistoryOf(h(53))).toBeUndefined();
    expect(synced.knownHistoryOf(h(99))).toBeUndefined();
    expect(synced.knownHistoryOf(h(50))).toBeUndefined(); // the synced root, its history unknown
    // A root whose history came with it (the WAL's record, or agreed by f+1 after a sync) has it.
    const rootHistory = { failedViews: [58n], led: [{ view: 60n, leader: 0 }] };
    const restarted = coreFromRoot({ ...syncedRoot, ...rootHistory });
    expect(restarted.knownHistoryOf(h(50))).toEqual(rootHistory);
    expect(c.knownHistoryOf(h(4))).toEqual({
      failedViews: [2n, 3n],
      led: [
        { view: 1n, leader: 1 },
        { view: 4n, leader: 0 },
        { view: 5n, leader: 1 },
        { view: 6n, leader: 2 },
      ],
    });
  });

  it('judges a proposal once its parent is here: the fetched parent carries the TC that deposed the auction winner', () => {
    // Winner 1 died: views 1 and 2 failed (2 is enough before the first QC here). Member 0 proposed
    // block 1 in view 3 with that TC; member 3 missed it. Member 2 proposes block 2 in view 4 on its QC.
    const schedule = new AuctionSchedule(['a', 'b', 'c', 'd'], 1, { deposeAfter: 2, deposeAfterAtStart: 2 });
    const hooks = scheduleHooks(schedule);
    const c = core(3, hooks.leaderFor, hooks.onTimeoutCertificate);
    c.apply({ type: 'start' });
    const tc = {
      epoch: 0n,
      view: 2n,
      timeouts: [0, 2, 3].map((voter) => ({ voter, highQcView: 0n, signature: new Uint8Array() })),
      highQc: genesisQc,
    };
    const p3: Proposal = { ...proposal(1, 3n, genesisQc), author: 0, lastViewTc: tc };
    const p4: Proposal = { ...proposal(2, 4n, qc(3n, 1)), author: 2 };
    // Without the history member 3 names the winner for view 4; it fetches the parent before judging.
    expect(schedule.leaderFor(4n, 3n)).toBe(1);
    const first = c.apply({ type: 'proposal', from: 2, proposal: p4 });
    expect(ofType(first, 'sign-vote')).toEqual([]);
    expect(ofType(first, 'fetch')).toEqual([{ type: 'fetch', hash: h(1), from: 2, height: 1n }]);
    // The parent's TC deposes the winner from view 3: member 2 leads view 4, and the votes go to the
    // rotation (0, 2, 3) at view 5 — member 3 itself.
    const after = c.apply({ type: 'fetched', proposals: [p3] });
    expect(schedule.deposedAt).toBe(3n);
    expect(ofType(after, 'sign-vote').map((v) => [v.proposal.view, v.to])).toEqual([[4n, 3]]);
  });

  it('view sync: a TC sent alone moves a member that missed the timeouts on to the next view', () => {
    const c = core(2);
    c.apply({ type: 'start' });
    c.apply({ type: 'work', pending: true });
    expect(c.currentView).toBe(1n);
    const tc = {
      epoch: 0n,
      view: 4n,
      timeouts: [0, 1, 3].map((voter) => ({ voter, highQcView: 0n, signature: new Uint8Array() })),
      highQc: genesisQc,
    };
    const out = c.apply({ type: 'tc', tc });
    expect(c.currentView).toBe(5n);
    expect(ofType(out, 'view')).toEqual([{ type: 'view', view: 5n, leader: 1, via: 'tc' }]);
    expect(c.lastTimeoutCertificate?.view).toBe(4n);
  });

  it('leader: asks for a payload once it holds the last QC and there is work, then proposes and votes', () => {
    const c = core(1);
    c.apply({ type: 'start' });
    const out = c.apply({ type: 'work', pending: true });
    expect(ofType(out, 'request-payload')).toEqual([
      { type: 'request-payload', view: 1n, parent: GENESIS, height: 1n },
    ]);
    const p = proposal(1, 1n, genesisQc);
    const signing = c.apply({ type: 'payload', view: 1n, block: p.block, payload: p.payload });
    expect(ofType(signing, 'sign-proposal')).toHaveLength(1);
    const sent = c.apply({ type: 'proposal-signed', proposal: p });
    expect(ofType(sent, 'broadcast')[0].message.kind).toBe('proposal');
    expect(ofType(sent, 'sign-vote')).toEqual([{ type: 'sign-vote', proposal: p, to: 2 }]);
  });

  it('idle: no txs, no timers and no proposals', () => {
    const c = core(1);
    const out = [...c.apply({ type: 'start' }), ...c.apply({ type: 'work', pending: false })];
    expect(ofType(out, 'schedule-timer')).toEqual([]);
    expect(ofType(out, 'request-payload')).toEqual([]);
  });

  it('commits a block once its QC and its child QC from the next view exist (two-chain rule)', () => {
    const c = core(3);
    c.apply({ type: 'start' });
    c.apply({ type: 'proposal', from: 1, proposal: proposal(1, 1n, genesisQc) });
    c.apply({ type: 'proposal', from: 2, proposal: proposal(2, 2n, qc(1n, 1)) });
    const out = c.apply({ type: 'proposal', from: 3, proposal: proposal(3, 3n, qc(2n, 2)) });
    const commits = ofType(out, 'commit');
    expect(commits).toHaveLength(1);
    expect(commits[0].blocks.map((b) => b.proposal.block.height)).toEqual([1n]);
    expect(commits[0].blocks[0].qcs.map((q) => q.view)).toEqual([1n, 2n]);
    expect(c.committedHeight).toBe(1n);
  });

  it('does not commit on QCs from views that are not consecutive', () => {
    const c = core(0);
    c.apply({ type: 'start' });
    c.apply({ type: 'proposal', from: 1, proposal: proposal(1, 1n, genesisQc) });
    const tc = {
      epoch: 0n,
      view: 2n,
      timeouts: [0, 1, 2].map((voter) => ({ voter, highQcView: 1n, signature: new Uint8Array() })),
      highQc: qc(1n, 1),
    };
    c.apply({ type: 'proposal', from: 3, proposal: { ...proposal(2, 3n, qc(1n, 1)), lastViewTc: tc } });
    const out = c.apply({ type: 'proposal', from: 0, proposal: proposal(3, 4n, qc(3n, 2)) });
    // QC(view 3) for block 2 and its parent's QC from view 1: not consecutive, block 1 stays open.
    expect(ofType(out, 'commit')).toEqual([]);
    expect(c.committedHeight).toBe(0n);
  });

  it('as next leader, aggregates 2f+1 votes into a QC and moves to the next view', () => {
    const c = core(2);
    c.apply({ type: 'start' });
    c.apply({ type: 'work', pending: true });
    const p = proposal(1, 1n, genesisQc);
    c.apply({ type: 'proposal', from: 1, proposal: p });
    const vote = (voter: number): Vote => voteOn(1n, 1, voter);
    c.apply({ type: 'vote', from: 0, vote: vote(0) });
    c.apply({ type: 'vote', from: 1, vote: vote(1) });
    const out = c.apply({ type: 'vote', from: 3, vote: vote(3) });
    expect(c.currentView).toBe(2n);
    expect(c.highestQc.signers).toBe(0b1011n);
    expect(ofType(out, 'request-payload')[0]).toMatchObject({ view: 2n, parent: h(1), height: 2n });
  });

  it('a leader whose QC commits txs and that has no work sends the QC alone; with work, its proposal carries it', () => {
    // Member 3 leads view 3: the votes of view 2 (on block 2, over block 1 with its tx) come to it.
    const leaderOfView3 = (work: boolean) => {
      const c = core(3);
      c.apply({ type: 'start' });
      if (work) c.apply({ type: 'work', pending: true });
      c.apply({ type: 'proposal', from: 1, proposal: proposal(1, 1n, genesisQc) });
      c.apply({ type: 'proposal', from: 2, proposal: proposal(2, 2n, qc(1n, 1), 0) });
      c.apply({ type: 'vote', from: 0, vote: voteOn(2n, 2, 0) });
      c.apply({ type: 'vote', from: 1, vote: voteOn(2n, 2, 1) });
      return { c, out: c.apply({ type: 'vote', from: 2, vote: voteOn(2n, 2, 2) }) };
    };
    const proposing = leaderOfView3(true).out;
    expect(ofType(proposing, 'commit')).toHaveLength(1);
    expect(ofType(proposing, 'request-payload')).toHaveLength(1);
    expect(ofType(proposing, 'broadcast')).toEqual([]);

    const { c, out } = leaderOfView3(false);
    expect(out[0]).toMatchObject({
      type: 'broadcast',
      message: { kind: 'qc', qc: { view: 2n, blockHash: h(2) } },
    });
    expect(ofType(out, 'commit')[0].blocks.map((b) => b.proposal.block.height)).toEqual([1n]);
    expect(c.currentView).toBe(3n);
    // Block 2 holds no tx and the mempool is empty: nothing to announce with a proposal.
    expect(ofType(out, 'request-payload')).toEqual([]);
    // A QC that commits only empty blocks is not broadcast.
    c.apply({ type: 'proposal', from: 3, proposal: proposal(3, 3n, qc(2n, 2), 0) });
    const v3 = (voter: number): Vote => voteOn(3n, 3, voter);
    const c0 = core(0);
    c0.apply({ type: 'start' });
    for (const p of [
      proposal(1, 1n, genesisQc),
      proposal(2, 2n, qc(1n, 1), 0),
      proposal(3, 3n, qc(2n, 2), 0),
    ])
      c0.apply({ type: 'proposal', from: p.author, proposal: p });
    c0.apply({ type: 'vote', from: 1, vote: v3(1) });
    c0.apply({ type: 'vote', from: 2, vote: v3(2) });
    const quiet = c0.apply({ type: 'vote', from: 3, vote: v3(3) });
    expect(ofType(quiet, 'commit')[0].blocks.map((b) => b.proposal.block.height)).toEqual([2n]);
    expect(ofType(quiet, 'broadcast')).toEqual([]);
  });

  it('a member commits on a QC that comes alone, also when the QC comes before its block', () => {
    const c = core(0);
    c.apply({ type: 'start' });
    c.apply({ type: 'proposal', from: 1, proposal: proposal(1, 1n, genesisQc) });
    c.apply({ type: 'proposal', from: 2, proposal: proposal(2, 2n, qc(1n, 1), 0) });
    const out = c.apply({ type: 'qc', qc: qc(2n, 2) });
    expect(ofType(out, 'commit')[0].blocks.map((b) => b.proposal.block.height)).toEqual([1n]);
    expect(ofType(out, 'view')).toEqual([{ type: 'view', view: 3n, leader: 3, via: 'qc' }]);

    const late = core(0);
    late.apply({ type: 'start' });
    late.apply({ type: 'proposal', from: 1, proposal: proposal(1, 1n, genesisQc) });
    expect(ofType(late.apply({ type: 'qc', qc: qc(2n, 2) }), 'commit')).toEqual([]);
    // Block 2 arrives afterwards (fetched, or sent by a member that helps a laggard).
    const after = late.apply({ type: 'fetched', proposals: [proposal(2, 2n, qc(1n, 1), 0)] });
    expect(ofType(after, 'commit')[0].blocks.map((b) => b.proposal.block.height)).toEqual([1n]);
  });

  it('reports two QCs of one view on different blocks once, whichever way they arrive', () => {
    const c = core(3);
    c.apply({ type: 'start' });
    c.apply({ type: 'proposal', from: 1, proposal: proposal(1, 1n, genesisQc) });
    // QC(1) on block 1 arrives in the next proposal; then another QC of view 1, on block 0x11, alone.
    expect(
      ofType(
        c.apply({ type: 'proposal', from: 2, proposal: proposal(2, 2n, qc(1n, 1)) }),
        'conflicting-certificates',
      ),
    ).toEqual([]);
    const out = c.apply({ type: 'qc', qc: qc(1n, 0x11) });
    expect(ofType(out, 'conflicting-certificates')).toEqual([
      {
        type: 'conflicting-certificates',
        conflict: { epoch: 0n, view: 1n, first: qc(1n, 1), second: qc(1n, 0x11) },
      },
    ]);
    // The same QC again, or a third block in that view: reported already.
    expect(ofType(c.apply({ type: 'qc', qc: qc(1n, 0x11) }), 'conflicting-certificates')).toEqual([]);
    expect(ofType(c.apply({ type: 'qc', qc: qc(1n, 0x12) }), 'conflicting-certificates')).toEqual([]);
    // QCs of one block in different views are no conflict.
    expect(ofType(c.apply({ type: 'qc', qc: qc(3n, 2) }), 'conflicting-certificates')).toEqual([]);
  });

  it("keeps an equivocating leader's second block as history, so a QC on it commits here", () => {
    const c = core(3);
    c.apply({ type: 'start' });
    c.apply({ type: 'proposal', from: 1, proposal: proposal(1, 1n, genesisQc) });
    const first = proposal(2, 2n, qc(1n, 1));
    const twin: Proposal = {
      ...first,
      block: { ...first.block, hash: h(0x22) },
      payload: new Uint8Array([2]),
    };
    c.apply({ type: 'proposal', from: 2, proposal: first });
    const out = c.apply({ type: 'proposal', from: 2, proposal: twin });
    expect(ofType(out, 'evidence')).toHaveLength(1);
    expect(ofType(out, 'sign-vote')).toEqual([]);
    // The others certified the twin: its QC commits block 1 here without a fetch.
    const done = c.apply({ type: 'qc', qc: qc(2n, 0x22) });
    expect(ofType(done, 'fetch')).toEqual([]);
    expect(ofType(done, 'commit')[0].blocks.map((b) => b.proposal.block.height)).toEqual([1n]);
  });

  it('times out, joins f+1 timeouts, and moves on a TC of 2f+1', () => {
    const c = core(0);
    c.apply({ type: 'start' });
    const armed = c.apply({ type: 'work', pending: true });
    expect(ofType(armed, 'schedule-timer')).toEqual([{ type: 'schedule-timer', view: 1n, ms: 100 }]);
    const tmo = (voter: number): TimeoutVote => ({
      epoch: 0n,
      view: 1n,
      highQc: genesisQc,
      voter,
      signature: new Uint8Array(),
    });
    c.apply({ type: 'timeout', from: 1, timeout: tmo(1) });
    const joined = c.apply({ type: 'timeout', from: 2, timeout: tmo(2) });
    expect(ofType(joined, 'sign-timeout')).toEqual([{ type: 'sign-timeout', view: 1n, highQc: genesisQc }]);
    const moved = c.apply({ type: 'timeout', from: 3, timeout: tmo(3) });
    expect(ofType(moved, 'view')).toEqual([{ type: 'view', view: 2n, leader: 2, via: 'tc' }]);
    // One view without a QC keeps the base timeout (a dead member fails two views in a row: its own,
    // and the one whose votes it should have aggregated); the second in a row doubles it.
    expect(ofType(moved, 'schedule-timer')).toEqual([{ type: 'schedule-timer', view: 2n, ms: 100 }]);
    const tmo2 = (voter: number): TimeoutVote => ({ ...tmo(voter), view: 2n });
    for (const v of [1, 2]) c.apply({ type: 'timeout', from: v, timeout: tmo2(v) });
    const again = c.apply({ type: 'timeout', from: 3, timeout: tmo2(3) });
    expect(ofType(again, 'view')).toEqual([{ type: 'view', view: 3n, leader: 3, via: 'tc' }]);
    expect(ofType(again, 'schedule-timer')).toEqual([{ type: 'schedule-timer', view: 3n, ms: 200 }]);
  });

  it('a QC that comes after the TC it entered the view by gives the view the timeout of that QC; one re-send chain', () => {
    // Views 1 and 2 end in TCs: view 3's timer is doubled (200 ms). Then the QC of view 2 arrives
    // (a member that formed it entered view 3 by it, with the base timeout): only view 1 failed.
    const c = core(0);
    c.apply({ type: 'start' });
    c.apply({ type: 'work', pending: true });
    const tmo = (voter: number, view: bigint): TimeoutVote => ({
      epoch: 0n,
      view,
      highQc: genesisQc,
      voter,
      signature: new Uint8Array(),
    });
    for (const view of [1n, 2n])
      for (const v of [1, 2, 3]) c.apply({ type: 'timeout', from: v, timeout: tmo(v, view) });
    expect(c.currentView).toBe(3n);
    const late = c.apply({ type: 'qc', qc: qc(2n, 5) });
    expect(ofType(late, 'view')).toEqual([]);
    expect(ofType(late, 'schedule-timer')).toEqual([{ type: 'schedule-timer', view: 3n, ms: 100 }]);
    // The 100 ms timer times the view out; the 200 ms one, still to fire, is the one that re-sends.
    const first = c.apply({ type: 'timer', view: 3n });
    expect(ofType(first, 'sign-timeout')).toEqual([{ type: 'sign-timeout', view: 3n, highQc: qc(2n, 5) }]);
    expect(ofType(first, 'schedule-timer')).toEqual([]);
    const second = c.apply({ type: 'timer', view: 3n });
    expect(ofType(second, 'schedule-timer')).toEqual([{ type: 'schedule-timer', view: 3n, ms: 100 }]);
    // A QC no higher than the one it has changes no timer.
    expect(ofType(c.apply({ type: 'qc', qc: qc(1n, 4) }), 'schedule-timer')).toEqual([]);
  });

  it("gives a view up on the shell's word (its leader or vote collector is gone), also without work; once, and only that view", () => {
    const c = core(0);
    c.apply({ type: 'start' });
    // No work: its timer never runs, yet the members with work need its timeout for a TC.
    expect(ofType(c.apply({ type: 'work', pending: false }), 'schedule-timer')).toEqual([]);
    expect(c.apply({ type: 'timer', view: 1n })).toEqual([]);
    expect(c.apply({ type: 'give-up', view: 2n })).toEqual([]);
    const out = c.apply({ type: 'give-up', view: 1n });
    expect(ofType(out, 'sign-timeout')).toEqual([{ type: 'sign-timeout', view: 1n, highQc: genesisQc }]);
    // Timed out, it re-sends on its timer until the view changes; a second word adds nothing.
    expect(ofType(out, 'schedule-timer')).toEqual([{ type: 'schedule-timer', view: 1n, ms: 100 }]);
    expect(c.apply({ type: 'give-up', view: 1n })).toEqual([]);
  });

  it('a member behind, with no work of its own, joins the f+1 timeouts it kept once it enters their view', () => {
    // Members 0 and 1 time out in view 2 while member 2 is still in view 1; member 3 is dead. Their
    // timeouts, re-sent, are no news to member 2: it must join on entering view 2, or no TC forms.
    const c = core(2);
    c.apply({ type: 'start' });
    const tmo = (voter: number): TimeoutVote => ({
      epoch: 0n,
      view: 2n,
      highQc: genesisQc,
      voter,
      signature: new Uint8Array(),
    });
    for (const v of [0, 1])
      expect(ofType(c.apply({ type: 'timeout', from: v, timeout: tmo(v) }), 'sign-timeout')).toEqual([]);
    const entered = c.apply({ type: 'qc', qc: { ...qc(1n, 1), blockHash: GENESIS } });
    expect(ofType(entered, 'view')).toEqual([{ type: 'view', view: 2n, leader: 2, via: 'qc' }]);
    expect(ofType(entered, 'sign-timeout')).toEqual([
      { type: 'sign-timeout', view: 2n, highQc: { ...qc(1n, 1), blockHash: GENESIS } },
    ]);
    // It keeps re-sending until the view changes.
    expect(ofType(entered, 'schedule-timer')).toEqual([{ type: 'schedule-timer', view: 2n, ms: 100 }]);
  });

  it('turns two proposals of one leader for one view into evidence, relays both and gives the view up at once', () => {
    const c = core(3);
    c.apply({ type: 'start' });
    const first = proposal(1, 1n, genesisQc);
    c.apply({ type: 'proposal', from: 1, proposal: first });
    const other = { ...first, block: { ...first.block, hash: h(77) } };
    const out = c.apply({ type: 'proposal', from: 1, proposal: other });
    expect(ofType(out, 'evidence')[0].equivocation).toMatchObject({ member: 1, view: 1n, phase: 'proposal' });
    expect(ofType(out, 'sign-vote')).toEqual([]);
    // No waiting for the timer: the members that saw only one of the two learn of both.
    expect(ofType(out, 'sign-timeout')).toEqual([{ type: 'sign-timeout', view: 1n, highQc: genesisQc }]);
    expect(ofType(out, 'broadcast').map((o) => o.message)).toEqual([
      { kind: 'proposal', proposal: first },
      { kind: 'proposal', proposal: other },
    ]);
    // A third copy changes nothing more: the view is already given up.
    const third = { ...first, block: { ...first.block, hash: h(78) } };
    const later = c.apply({ type: 'proposal', from: 1, proposal: third });
    expect(ofType(later, 'sign-timeout')).toEqual([]);
    expect(ofType(later, 'broadcast')).toEqual([]);
  });

  it("gives the view up at once when its own leader's block is refused, and only then", () => {
    const c = core(3);
    c.apply({ type: 'start' });
    c.apply({ type: 'work', pending: true });
    // Signed by member 2, who does not lead view 1: no effect.
    const notLeader = { ...proposal(1, 1n, genesisQc), author: 2 };
    expect(ofType(c.apply({ type: 'invalid-proposal', proposal: notLeader }), 'sign-timeout')).toEqual([]);
    // A later view's block: no effect either.
    const later = proposal(2, 2n, genesisQc);
    expect(ofType(c.apply({ type: 'invalid-proposal', proposal: later }), 'sign-timeout')).toEqual([]);
    const out = c.apply({ type: 'invalid-proposal', proposal: proposal(1, 1n, genesisQc) });
    expect(ofType(out, 'sign-timeout')).toEqual([{ type: 'sign-timeout', view: 1n, highQc: genesisQc }]);
    expect(ofType(out, 'sign-vote')).toEqual([]);
    // Once given up, another refused block of the view changes nothing (the timer re-sends).
    const again = c.apply({ type: 'invalid-proposal', proposal: proposal(1, 1n, genesisQc) });
    expect(ofType(again, 'sign-timeout')).toEqual([]);
  });

  it('(experimental, opt-in) waits a quarter of the timeout for a member that failed views; its proposal clears that', () => {
    // Odd views are member 1's, even views member 2's: votes of odd views go to member 2.
    const c = core(0, (v) => (v % 2n === 0n ? 2 : 1), undefined, true);
    c.apply({ type: 'start' });
    c.apply({ type: 'work', pending: true });
    const block = (hash: number, view: bigint, justify: QuorumCertificate, height: bigint): Proposal => ({
      ...proposal(hash, view, justify),
      author: view % 2n === 0n ? 2 : 1,
      block: { hash: h(hash), parent: justify.blockHash, height, txCount: 1 },
    });
    const tc = (view: bigint) => ({
      type: 'tc' as const,
      tc: { epoch: 0n, view, timeouts: [], highQc: genesisQc },
    });
    // View 1: member 1 proposes, our vote goes to member 2, which proposes nothing: a TC ends the view.
    const voted = c.apply({ type: 'proposal', from: 1, proposal: block(1, 1n, genesisQc, 1n) });
    expect(ofType(voted, 'sign-vote')[0].to).toBe(2);
    expect(ofType(voted, 'schedule-timer')).toEqual([]);
    // View 2 is member 2's own: a quarter of the 100 ms timeout.
    expect(ofType(c.apply(tc(1n)), 'schedule-timer')).toEqual([{ type: 'schedule-timer', view: 2n, ms: 25 }]);
    // It sends nothing again; view 3 is member 1's: the full timeout (doubled: two views in a row failed).
    expect(ofType(c.apply(tc(2n)), 'schedule-timer')).toEqual([
      { type: 'schedule-timer', view: 3n, ms: 200 },
    ]);
    // Member 1 proposes; our vote goes to member 2, still a suspect: we wait for it only a quarter of
    // this view's (doubled) timeout, 50 ms.
    const again = c.apply({
      type: 'proposal',
      from: 1,
      proposal: { ...block(3, 3n, genesisQc, 1n), lastViewTc: tc(2n).tc },
    });
    expect(ofType(again, 'sign-vote')[0].to).toBe(2);
    expect(ofType(again, 'schedule-timer')).toEqual([{ type: 'schedule-timer', view: 3n, ms: 50 }]);
    // Member 2 proposes on that QC: it is alive, and our votes to it get the full timeout again.
    c.apply({ type: 'proposal', from: 2, proposal: block(4, 4n, qc(3n, 3), 2n) });
    const cleared = c.apply({ type: 'proposal', from: 1, proposal: block(5, 5n, qc(4n, 4), 3n) });
    expect(ofType(cleared, 'sign-vote')[0].to).toBe(2);
    expect(ofType(cleared, 'schedule-timer').filter((t) => t.ms < 100)).toEqual([]);
  });

  it('evidence about an earlier view does not give up the current one', () => {
    const c = core(3);
    c.apply({ type: 'start' });
    const first = proposal(1, 1n, genesisQc);
    c.apply({ type: 'proposal', from: 1, proposal: first });
    // A TC of view 1 moves the member to view 2.
    c.apply({ type: 'tc', tc: { epoch: 0n, view: 1n, timeouts: [], highQc: genesisQc } });
    expect(c.currentView).toBe(2n);
    const out = c.apply({
      type: 'proposal',
      from: 1,
      proposal: { ...first, block: { ...first.block, hash: h(77) } },
    });
    expect(ofType(out, 'evidence')).toHaveLength(1);
    expect(ofType(out, 'sign-timeout')).toEqual([]);
    expect(ofType(out, 'broadcast')).toEqual([]);
  });
});
