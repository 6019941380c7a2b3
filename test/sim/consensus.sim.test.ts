import { describe, expect, it } from 'vitest';
import {
  brokenTwinsScenario,
  committeeScenario,
  epochScenario,
  flakyWinnerScenario,
  type LeaderMix,
  type SimConfig,
  type SimResult,
  Simulator,
  scenarioFor,
} from '../../src/sim/simulator.js';

const SEEDS = 1000;
const CHUNK = 250;

function runSeeds(from: number, count: number, leaders: LeaderMix = 'mixed'): SimResult[] {
  const failed: SimResult[] = [];
  for (let s = from; s < from + count; s++) {
    const r = new Simulator(scenarioFor(s, leaders)).run();
    if (r.violations.length) failed.push(r);
  }
  return failed;
}

/**
 * The consensus core, safety rules and driver of every node in the seeded simulator: crashes and
 * restarts, partitions (minority, flapping), drops and delays, byzantine leaders (equivocating or
 * invalid proposals), withheld votes, a leader that dies holding a fresh QC, and f twins; half the
 * runs draw leaders by stake as pos does (src/election/pos.ts), the others rotate them. The checker
 * asserts agreement, no fork, valid chains, no double signing by honest nodes, and that every tx
 * commits once the faults heal. A failing seed replays with `npm run sim -- --seed S`.
 */
/**
 * The first `count` nodes hold every tx, and their chains end at most two blocks apart. Those last
 * blocks are empty: the one a leader proposes after a QC that commits txs (so the others learn it)
 * and the one carrying its QC. Once no member has work, views stop, so whether a node commits them
 * before the run ends depends on timing, not on catching up.
 */
function expectCaughtUp(r: SimResult, count: number): void {
  expect(r.txsCommitted).toBe(r.txsSubmitted);
  const heights = r.heights.slice(0, count);
  expect(Math.max(...heights) - Math.min(...heights)).toBeLessThanOrEqual(2);
}

describe(`consensus in the simulator (${SEEDS} seeds)`, () => {
  for (let from = 1; from <= SEEDS; from += CHUNK) {
    it(`seeds ${from}..${from + CHUNK - 1}: agreement, no fork, liveness after healing`, () => {
      const failed = runSeeds(from, CHUNK);
      expect(
        failed.map((r) => `seed ${r.seed}: ${r.violations.slice(0, 3).join('; ')}`),
        'replay with npm run sim -- --seed S',
      ).toEqual([]);
    }, 600_000);
  }

  it('with f+1 twins split across a partition, the checker reports the fork (it can fail)', () => {
    const r = new Simulator(brokenTwinsScenario(1)).run();
    expect(r.violations.some((v) => v.startsWith('fork at height'))).toBe(true);
  });

  it('with f+1 twins healed after 2 s, honest nodes find two QCs of one view on different blocks (slashable)', () => {
    // Each side certified its own blocks in the same views; once the partition heals, the other
    // side's proposals carry QCs that contradict a node's own. With at most f faulty members that is
    // a violation (the 1,000 seeds above check it), so this shows the check can fire.
    const scenario = brokenTwinsScenario(1);
    scenario.faults = scenario.faults.map((f) => ({ ...f, to: 2_000 }));
    scenario.healAtMs = 2_000;
    const r = new Simulator(scenario).run();
    expect(r.conflictingCertificates).toBeGreaterThan(0);
    expect(new Simulator(brokenTwinsScenario(1)).run().conflictingCertificates).toBe(0);
  });

  it('seed 1367: a leader that learns of its parent by fetching builds only after the commits that fetch made', () => {
    // A fetched proposal completed the chain under the highest QC: the core asked for a block and, in
    // the same step, committed two ancestors. The driver ran the build first, so the leader re-included
    // a tx of a block it was committing, and the tx was committed twice (driver.ts now builds last).
    const r = new Simulator(scenarioFor(1367)).run();
    expect(r.violations).toEqual([]);
    expect(r.txsCommitted).toBe(r.txsSubmitted);
  });

  it('seed 3069: a member left behind while the others went idle is sent the blocks it missed', () => {
    // A byzantine leader's invalid blocks left member 1 four blocks behind, holding two txs; the others
    // had committed everything and proposed nothing more. Its timeouts for an old view now bring it
    // the blocks above its highest QC (driver.ts helpLaggard).
    const r = new Simulator(scenarioFor(3069)).run();
    expect(r.violations).toEqual([]);
    expectCaughtUp(r, 3);
  });

  it('auction (every seed has a winner, seeds 1..300): the winner leads until it fails; then the rotation', () => {
    // Seed 111: the winner equivocates. Seeds that failed before the rotation left the winner out and
    // the deposing streak was read from the proposal: 111, 660, 1115 (`--auction --seeds 2000`).
    const failed = runSeeds(1, 300, 'auction');
    expect(failed.map((r) => `seed ${r.seed}: ${r.violations.slice(0, 3).join('; ')}`)).toEqual([]);
  }, 600_000);

  it('election epochs (seeds 1..300): proposers (or every third seed, auction winners) change at each epoch the chain enters, with the same faults', () => {
    // Each block's leader is named by the epoch of the block it extends, so every member names the
    // same one across a switch (src/election/epoch-schedule.ts). Until stop 34 a member that had seen
    // a proposal two epochs ahead dropped the schedule of the epoch the certified chain was still in:
    // seeds 272 and 283 never committed every tx (4 of 1,000 seeds), seed 134 had a block by a member
    // its epoch never named. A first block of a new epoch keeps the failed views since its parent's
    // QC (CoreConfig.epochOf): leaving them behind too sent its votes to a dead collector again and
    // again (seed 78).
    const results = Array.from({ length: 300 }, (_, i) => new Simulator(epochScenario(i + 1)).run());
    expect(
      results.filter((r) => r.violations.length).map((r) => `seed ${r.seed}: ${r.violations.slice(0, 3)}`),
      'replay with npm run sim -- --epochs --seed S',
    ).toEqual([]);
    expect(results.filter((r) => r.blocksOffSchedule !== 0).map((r) => r.seed)).toEqual([]);
    expect(Math.min(...results.map((r) => r.epochsEntered ?? 0))).toBeGreaterThanOrEqual(2);
  }, 600_000);

  it('committees that change (seeds 1..300): each epoch the chain enters hands certification to a new committee at an agreed block, with the same faults', () => {
    // A universe of 6 nodes, committees of 4, leaders in rotation, by stake or an auction winner per
    // epoch (src/sim/simulator.ts committeeScenario). An instance
    // ends at the first committed block whose origin is a later epoch (empty, as is the suffix that
    // commits it); the next starts on it, with views from 1 and its own epoch in every vote and QC;
    // nodes outside the committee follow by block sync. Appending the suffix blocks to the chain
    // instead (rooting the next instance on the last block committed) fails 64 of these 300 seeds.
    const results = Array.from({ length: 300 }, (_, i) => new Simulator(committeeScenario(i + 1)).run());
    expect(
      results.filter((r) => r.violations.length).map((r) => `seed ${r.seed}: ${r.violations.slice(0, 3)}`),
      'replay with npm run sim -- --committees --seed S',
    ).toEqual([]);
    expect(results.filter((r) => (r.committeesEntered ?? 0) < 1).map((r) => r.seed)).toEqual([]);
    expect(results.reduce((sum, r) => sum + (r.committeesEntered ?? 0), 0)).toBeGreaterThan(600);
    expect(results.filter((r) => (r.handoverMs ?? []).length > 0).length).toBeGreaterThan(100);
    expect(results.reduce((sum, r) => sum + (r.blocksSynced ?? 0), 0)).toBeGreaterThan(0);
  }, 600_000);

  it('auction, a winner that withholds every other proposal (seeds 1..40): it sits out and the chain goes on', () => {
    // Never two failed views in a row, so the streak rule never deposed it, and a block commits only
    // when two views in a row reach a QC: with the window rule off (sitOutAfter 32) no seed commits
    // a single block. With it, every tx commits and about one view in eight has no block.
    let views = 0;
    let withoutBlock = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const r = new Simulator(flakyWinnerScenario(seed)).run();
      expect(r.violations, `seed ${seed}`).toEqual([]);
      expect(r.txsCommitted).toBe(r.txsSubmitted);
      views += r.views;
      withoutBlock += r.viewsWithoutBlock;
      if (seed <= 5) {
        const off = new Simulator(flakyWinnerScenario(seed, 32)).run();
        expect(
          off.heights.every((h) => h === 0),
          `seed ${seed} without the rule`,
        ).toBe(true);
        expect(off.violations.some((v) => v.startsWith('no progress'))).toBe(true);
      }
    }
    expect(withoutBlock / views).toBeLessThan(0.25);
  }, 120_000);

  it('auction seed 660: a member that missed the deposition catches up from the members in turn', () => {
    // Member 3 was down while the winner (6) crashed and was deposed; back, it asked only the
    // restarted winner for the blocks it lacked, which had lost them (fetch retries now rotate).
    const r = new Simulator(scenarioFor(660, 'auction')).run();
    expect(r.violations).toEqual([]);
    expectCaughtUp(r, 6);
  });

  it.each([
    [1503, 'equivocates'],
    [3855, 'proposes invalid blocks'],
  ])('auction seed %i: a winner that %s from the start is deposed in time', (seed) => {
    // Before any QC the auction deposes after six failed views; waiting for each view's timer (with
    // backoff) took ~7.5 s of the 8 s run. Members now give up a view at once when its leader signs
    // two blocks (and relay both) or a block the application refuses (hotstuff.ts).
    const r = new Simulator(scenarioFor(seed, 'auction')).run();
    expect(r.violations).toEqual([]);
    expect(r.txsCommitted).toBe(r.txsSubmitted);
  });

  // Found by stop 47's sweeps of far seeds (README, "Simulator"); each left txs uncommitted at 8 s.
  // - 701667: epoch 3's winner equivocates: views 1 and 2 failed, 3 reached a QC (the members split
  //   their votes), 4 and 5 failed. Counting only the failures after the instance's first block, as
  //   at the chain's start-up, it led view 6 too, whose doubled timeout left the last tx uncommitted.
  // - 702411: the winner's invalid blocks left the QC of the view after the last tx's block with two
  //   members; the third got only a later QC (of a view after a failed one, which commits nothing),
  //   and with the chain idle its timeouts carried a QC as high as everyone's: nobody answered, and it
  //   never committed that block (driver.ts helpLaggard now sends the QC that committed our last one).
  // - 701847: seven members, two byzantine (the winner proposes invalid blocks, another equivocates).
  //   Five entered view 53 by a TC, their timer backed off to 1.2 s; the QC of view 52 came after, and
  //   the two that had entered by it timed out after 300 ms and re-sent alone: no TC until the five
  //   timed out, and the last 3 txs were not committed.
  it.each([
    [
      'committees',
      701667,
      'a later instance gives an equivocating winner no start-up grace',
      committeeScenario,
    ],
    [
      'auction',
      702411,
      'a member that missed the QC that committed the last block is sent it when it times out',
      (seed: number) => scenarioFor(seed, 'auction'),
    ],
    [
      'epochs',
      701847,
      'a QC that comes after the TC a member entered its view by shortens its timer',
      epochScenario,
    ],
  ] as Array<[string, number, string, (seed: number) => SimConfig]>)(
    '%s seed %i: %s',
    (_family, seed, _why, scenario) => {
      const r = new Simulator(scenario(seed)).run();
      expect(r.violations).toEqual([]);
      expect(r.txsCommitted).toBe(r.txsSubmitted);
    },
  );

  it('auction seed 207: a member that missed the QC of its own view is sent it when it times out', () => {
    // The winner's invalid twin of a block kept member 1 from the QC on the valid one; it sat in the
    // others' view with two txs uncommitted, and its timeouts were not from an older view, so nobody
    // answered them (driver.ts helpLaggard now answers any timeout whose QC is older than ours).
    const r = new Simulator(scenarioFor(207, 'auction')).run();
    expect(r.violations).toEqual([]);
    expect(r.txsCommitted).toBe(r.txsSubmitted);
  });

  it("seed 1455: a member commits through a QC on an equivocating leader's second block", () => {
    // The QC formed on the block member 2 had refused as the second of two: it could not commit through
    // it, and no later proposal came to pull it in. The core now keeps such a block as history.
    const r = new Simulator(scenarioFor(1455)).run();
    expect(r.violations).toEqual([]);
    expect(r.txsCommitted).toBe(r.txsSubmitted);
  });

  it('a member restarted into the view the others are stuck in times out with them, while another is down', () => {
    // Member 2 is down; member 3 crashes and comes back in the view 0 and 1 are timing out in, taken from
    // its WAL. Its safety rules wait for a view seen from the network before they sign (a restore from
    // a backup may have forgotten votes), but no view comes without its timeout: the committee stood
    // still until the heal (the 4-process e2e test saw this after a block sync restarted a driver).
    const r = new Simulator({
      seed: 7,
      n: 4,
      durationMs: 12_000,
      baseTimeoutMs: 100,
      delayMs: [1, 5],
      dropRate: 0,
      txIntervalMs: 50,
      healAtMs: 6_000,
      txUntilMs: 8_000,
      faults: [
        { kind: 'crash', node: 2, at: 500 },
        { kind: 'crash', node: 3, at: 1_000, restartAt: 1_500 },
      ],
      twins: [],
      byzantine: [],
      checkLiveness: true,
    }).run();
    expect(r.violations).toEqual([]);
    // Before the heal, all but the txs of the last few views are in: with the fault, 10 of 110 were.
    expect(r.txsSubmittedAtHeal).toBeGreaterThan(100);
    expect(r.txsCommittedAtHeal).toBeGreaterThanOrEqual((r.txsSubmittedAtHeal ?? 0) - 10);
  });

  it('disconnect timeouts: with a member crashed, the others give up its views at once, and commit more before the heal', () => {
    // Member 3 crashes at 300 ms and stays down until the heal; views it leads or collects the votes
    // of fail. With a 1 s timeout, waiting them out leaves txs sent before the heal uncommitted.
    const run = (disconnectTimeouts: boolean) => {
      let committed = 0;
      let submitted = 0;
      let views = 0;
      for (let seed = 1; seed <= 10; seed++) {
        const r = new Simulator({
          seed,
          n: 4,
          durationMs: 10_000,
          baseTimeoutMs: 1_000,
          delayMs: [1, 5],
          dropRate: 0,
          txIntervalMs: 50,
          healAtMs: 3_000,
          txUntilMs: 5_000,
          faults: [{ kind: 'crash', node: 3, at: 300 }],
          twins: [],
          byzantine: [],
          checkLiveness: true,
          disconnectTimeouts,
        }).run();
        expect(r.violations).toEqual([]);
        committed += r.txsCommittedAtHeal ?? 0;
        submitted += r.txsSubmittedAtHeal ?? 0;
        views += r.views;
      }
      return { share: committed / submitted, views };
    };
    const on = run(true);
    const off = run(false);
    expect(on.share).toBeGreaterThan(0.98);
    expect(on.share).toBeGreaterThan(off.share);
    // Failed views end in a few ms instead of a whole timeout: many more views in the same time.
    expect(on.views).toBeGreaterThan(off.views * 1.5);
  });

  it('members that can judge a proposal only later (their L1 read lags its origin) vote once they can: no view fails', () => {
    // Every member judges every proposal 60 ms after it first sees it ('later' before, as a node whose
    // L1 watcher has not read the block's origin); the driver keeps such proposals and judges them
    // again when told (the node tells it when its L1 view moves). Dropped instead, no proposal got a
    // vote and every view timed out.
    for (let seed = 1; seed <= 10; seed++) {
      const r = new Simulator({
        seed,
        n: 4,
        durationMs: 6_000,
        baseTimeoutMs: 300,
        delayMs: [1, 10],
        dropRate: 0,
        txIntervalMs: 40,
        healAtMs: 0,
        txUntilMs: 4_000,
        faults: [],
        twins: [],
        byzantine: [],
        checkLiveness: true,
        judgeAfterMs: 60,
      }).run();
      expect(r.violations).toEqual([]);
      expect(r.txsCommitted).toBe(r.txsSubmitted);
      expect(r.viewsWithoutBlock, `seed ${seed}`).toBe(0);
    }
  });

  it('replays a seed exactly', () => {
    const a = new Simulator(scenarioFor(42)).run();
    const b = new Simulator(scenarioFor(42)).run();
    expect(b).toEqual(a);
    expect(a.txsCommitted).toBe(a.txsSubmitted);
  });

  it('recovers after the faults heal: every live honest node commits past the height it had', () => {
    // Seed 6 (scenario 0): crashes with message drops until the heal.
    const r = new Simulator({ ...scenarioFor(6), seed: 6 }).run();
    expect(r.violations).toEqual([]);
    expect(r.recoveryMs).toBeDefined();
    expect(Math.min(...r.heights)).toBeGreaterThan(0);
  });

  it('records equivocation evidence from byzantine leaders', () => {
    let evidence = 0;
    for (let s = 3; s < 3 + 6 * 10; s += 6) evidence += new Simulator(scenarioFor(s)).run().evidence;
    expect(evidence).toBeGreaterThan(0);
  });
});
