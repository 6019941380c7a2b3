import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AuctionSchedule } from '../../src/election/auction.js';
import { EPOCHS_KEPT, EpochSchedule, SubsetSchedule } from '../../src/election/epoch-schedule.js';
import { epochAt, epochStart, pinnedBlockFor } from '../../src/election/epochs.js';
import { StakeWeightedSchedule } from '../../src/election/pos.js';
import { FAILED_VIEWS_LOOKED_AT, PoaSchedule, scheduleHooks } from '../../src/election/schedule.js';
import { electedSchedule, parseElectionMode } from '../../src/node/election.js';
import type { Hex } from '../../src/util/bytes.js';
import { chiSquareCritical999, chiSquareStatistic } from '../helpers/stats.js';

const keys = ['0xa1', '0xb2', '0xc3', '0xd4'] as Hex[];
const seed = `0x${'5a'.repeat(32)}` as Hex;

describe('election schedules', () => {
  it('pos: leaders are a pure function of (seed, view), in proportion to stake, and change with the seed', () => {
    const stakes = [1n, 1n, 3n, 5n];
    const a = new StakeWeightedSchedule({ epoch: 1n, publicKeys: keys, stakes, seed });
    const b = new StakeWeightedSchedule({ epoch: 1n, publicKeys: keys, stakes, seed });
    const other = new StakeWeightedSchedule({
      epoch: 1n,
      publicKeys: keys,
      stakes,
      seed: `0x${'5b'.repeat(32)}`,
    });
    const counts = [0, 0, 0, 0];
    let differ = 0;
    for (let v = 0n; v < 20_000n; v++) {
      const l = a.leaderFor(v);
      expect(b.leaderFor(v)).toBe(l);
      if (other.leaderFor(v) !== l) differ++;
      counts[l]++;
    }
    expect(chiSquareStatistic(counts, [2_000, 2_000, 6_000, 10_000])).toBeLessThan(chiSquareCritical999(3));
    expect(differ).toBeGreaterThan(10_000); // another seed is another draw
    expect(a.committeeFor(0n)).toEqual(keys);
  });

  it('pos: a proposal after failed views passes over their leaders; otherwise the plain draw', () => {
    const stakes = [1n, 1n, 3n, 5n];
    const s = new StakeWeightedSchedule({ epoch: 1n, publicKeys: keys, stakes, seed });
    const plain = (v: bigint) => s.leaderFor(v, v - 1n);
    // The default is the view before succeeding.
    for (let v = 1n; v < 200n; v++) expect(s.leaderFor(v)).toBe(plain(v));
    // Views where member 3 (half the stake) is drawn and the next view's plain draw is member 3 too:
    // after 3's view failed, the next view passes over it.
    const views = [...Array(400).keys()]
      .map((i) => BigInt(i + 1))
      .filter((v) => plain(v) === 3 && plain(v + 1n) === 3);
    expect(views.length).toBeGreaterThan(10);
    for (const v of views) {
      expect(s.leaderFor(v + 1n, v - 1n)).not.toBe(3);
      // A pure function of (view, justifyView): a fresh schedule agrees, in any order of questions.
      const other = new StakeWeightedSchedule({ epoch: 1n, publicKeys: keys, stakes, seed });
      expect(other.leaderFor(v + 1n, v - 1n)).toBe(s.leaderFor(v + 1n, v - 1n));
      // Once a QC formed again, member 3 is drawn as before.
      expect(s.leaderFor(v + 2n, v + 1n)).toBe(plain(v + 2n));
    }
    // A streak: no suspect of the failed views (their leaders, and the members their votes went to)
    // leads the next one while others are left.
    let judged = 0;
    for (let v = 20n; v < 400n; v += 7n) {
      const suspects = new Set<number>();
      for (let u = v - 2n; u < v; u++) {
        suspects.add(s.leaderFor(u, v - 3n));
        const failedBefore = u === v - 2n ? [] : [v - 2n];
        suspects.add(s.leaderFor(u + 1n, u, failedBefore));
      }
      if (suspects.size === keys.length) continue;
      judged++;
      expect(suspects.has(s.leaderFor(v, v - 3n))).toBe(false);
    }
    expect(judged).toBeGreaterThan(10);
    // Failures further down the chain count too, for FAILED_VIEWS_LOOKED_AT views: after 3's view
    // failed with its votes due to 3 as well (two failures), the views after it pass over 3 although
    // QCs formed since, then 3 is drawn again.
    for (const v of views.slice(0, 5)) {
      for (let x = v + 2n; x < v + 40n; x++) {
        const leader = s.leaderFor(x, x - 1n, [v]);
        if (x - v <= FAILED_VIEWS_LOOKED_AT) expect(leader).not.toBe(3);
        else expect(leader).toBe(plain(x));
      }
    }
    // One failure outside the streak is not enough: its leader and its vote collector (maybe innocent:
    // the leader may have equivocated) are drawn as before once a QC formed again.
    const once = [...Array(400).keys()]
      .map((i) => BigInt(i + 1))
      .filter((v) => plain(v) !== plain(v + 1n))
      .slice(0, 10);
    for (const v of once)
      for (let x = v + 2n; x < v + 10n; x++) expect(s.leaderFor(x, x - 1n, [v])).toBe(plain(x));
    // Everyone failed (two members, both led a failed view): the plain draw.
    const pair = new StakeWeightedSchedule({
      epoch: 1n,
      publicKeys: keys.slice(0, 2),
      stakes: [1n, 1n],
      seed,
    });
    const u = [...Array(100).keys()]
      .map((i) => BigInt(i + 1))
      .find((x) => pair.leaderFor(x) !== pair.leaderFor(x + 1n, x - 1n))!;
    expect(new Set([pair.leaderFor(u, u - 1n), pair.leaderFor(u + 1n, u - 1n)]).size).toBe(2);
    expect(pair.leaderFor(u + 2n, u - 1n)).toBe(pair.leaderFor(u + 2n, u + 1n));
  });

  it('poa: round robin; after failed views the rotation passes over their leaders and the members their votes went to', () => {
    const s = new PoaSchedule(keys);
    expect([4n, 5n, 6n, 7n].map((v) => s.leaderFor(v))).toEqual([0, 1, 2, 3]);
    expect([4n, 5n, 6n, 7n].map((v) => s.leaderFor(v, v - 1n))).toEqual([0, 1, 2, 3]);
    // Member 2 is dead: view 5's votes went to it (no QC), so the TC of view 5 brings view 6 — member
    // 2's own — with a QC of view 4. Suspects: 1 (led 5) and 2 (its votes' taker): member 3 leads.
    expect(s.leaderFor(6n, 4n)).toBe(3);
    // Two failed views (5 and 6, led by 1 and 3; votes to 2 and 3): member 0 leads view 7.
    expect(s.leaderFor(7n, 4n)).toBe(0);
    // Everyone a suspect (view 7: led by 0, votes to 0): the least suspected lead — 1 and 2, once
    // each, against twice for 0 and 3 — in rotation order.
    expect(s.leaderFor(8n, 4n)).toBe(1);
    expect(new PoaSchedule(keys.slice(0, 1)).leaderFor(9n, 2n)).toBe(0);
  });

  it('poa: a member that proposed a block of the chain since a failure is cleared of it; one that did not stays out', () => {
    const s = new PoaSchedule(keys);
    // Views 5 and 13 failed, both led by 1 with their votes due to 2 (two suspicions each). In between
    // 1 and 2 proposed blocks of the chain (views 9 and 10): alive, so only view 13 counts against them.
    const chain = (skip: number) =>
      [6n, 7n, 8n, 9n, 10n, 11n, 12n, 14n, 15n, 16n, 17n]
        .map((view) => ({
          view,
          leader: s.leaderFor(
            view,
            view - 1n,
            [5n, 13n].filter((u) => u < view),
          ),
        }))
        .filter((b) => b.leader !== skip);
    expect(chain(-1).find((b) => b.view === 10n)?.leader).toBe(2);
    expect(s.leaderFor(18n, 17n, [5n, 13n], chain(-1))).toBe(2);
    // Without the chain's proposers (or when 2 proposed none: a dead member) 2 sits out.
    expect(s.leaderFor(18n, 17n, [5n, 13n])).toBe(3);
    expect(s.leaderFor(18n, 17n, [5n, 13n], chain(2))).toBe(3);
    // A block from before the window's first failure clears nothing.
    expect(s.leaderFor(18n, 17n, [5n, 13n], [{ view: 4n, leader: 2 }])).toBe(3);
    // A subset schedule takes committee indices and maps them to its own members.
    const subset = new SubsetSchedule(new PoaSchedule(keys.slice(1)), [1, 2, 3], keys);
    const sub = (led: { view: bigint; leader: number }[]) => subset.leaderFor(17n, 16n, [4n, 10n], led);
    // Views 4 and 10: subset member 1 (committee 2) led, votes due to subset member 2 (committee 3).
    // View 17 is committee 3's turn (17 % 3 = 2); with two suspicions it sits out, and so does 2 …
    expect(subset.leaderFor(17n)).toBe(3);
    expect(sub([])).toBe(1);
    // … unless it proposed a block in between (view 8, its turn): then view 17 is its own again.
    expect(sub([{ view: 8n, leader: 3 }])).toBe(3);
  });

  it('pos: refuses a committee it cannot draw from', () => {
    expect(() => new StakeWeightedSchedule({ epoch: 0n, publicKeys: [], stakes: [], seed })).toThrow(
      /at least one/,
    );
    expect(() => new StakeWeightedSchedule({ epoch: 0n, publicKeys: keys, stakes: [1n], seed })).toThrow(
      /one stake/,
    );
    expect(
      () => new StakeWeightedSchedule({ epoch: 0n, publicKeys: keys, stakes: [1n, 0n, 1n, 1n], seed }),
    ).toThrow(/positive/);
    expect(
      () =>
        new StakeWeightedSchedule({ epoch: 0n, publicKeys: keys, stakes: [1n, 1n, 1n, 1n], seed: '0x12' }),
    ).toThrow(/32 bytes/);
  });

  it('auction: without a winner the round robin leads; only views in a row without a QC depose the winner', () => {
    const none = new AuctionSchedule(keys, null);
    expect([0n, 1n, 2n, 5n].map((v) => none.leaderFor(v))).toEqual([0, 1, 2, 1]);
    const s = new AuctionSchedule(keys, 2, { deposeAfter: 2 });
    // The same TC processed many times (alone, in proposals, in timeouts) is one failed view.
    for (let i = 0; i < 5; i++) s.onTimeoutCertificate(7n, 6n);
    expect(s.leaderFor(100n)).toBe(2);
    // Failed views with QCs between them are hiccups, however many.
    s.onTimeoutCertificate(9n, 8n);
    s.onTimeoutCertificate(12n, 11n);
    expect(s.deposedAt).toBeUndefined();
    s.onTimeoutCertificate(14n, 12n); // views 13 and 14 without a QC: deposed from view 15
    expect(s.deposedAt).toBe(15n);
    s.onTimeoutCertificate(15n, 12n); // a later TC of the same streak changes nothing
    expect(s.deposedAt).toBe(15n);
    // The others rotate (0, 1, 3): the winner, silent, would fail two views in every round.
    expect([14n, 15n, 16n, 17n].map((v) => s.leaderFor(v))).toEqual([2, 0, 1, 3]);
    for (let v = 15n; v < 40n; v++) expect(s.leaderFor(v)).not.toBe(2);
    // A failed view of the rotation: its leader (1) and the member its votes went to (3) are passed over.
    expect(s.leaderFor(17n, 15n)).toBe(0);
    // A member that saw none of the TCs names the same leaders from the proposals alone: the one that
    // ends the streak extends the QC of view 12 and leads view 15 or later.
    const fresh = new AuctionSchedule(keys, 2, { deposeAfter: 2 });
    expect(fresh.leaderFor(14n, 12n)).toBe(2);
    expect([15n, 16n, 17n].map((v) => fresh.leaderFor(v, 12n))).toEqual(
      [15n, 16n, 17n].map((v) => s.leaderFor(v, 12n)),
    );
    expect(() => new AuctionSchedule(keys, 4)).toThrow(/not a committee index/);
    expect(() => new AuctionSchedule(keys, 0, { deposeAfter: 0 })).toThrow(/positive/);
    expect(() => new AuctionSchedule(keys, 0, { deposeAfter: 3, deposeAfterAtStart: 2 })).toThrow(
      /deposeAfterAtStart/,
    );
  });

  it('auction: the deposition is reported once, and a restarted member that kept it names the rotation', () => {
    const s = new AuctionSchedule(keys, 2, { deposeAfter: 2 });
    const reported: bigint[] = [];
    s.onDeposed = (from) => reported.push(from);
    s.onTimeoutCertificate(9n, 8n);
    for (let i = 0; i < 3; i++) s.onTimeoutCertificate(10n, 8n); // views 9 and 10 failed: from 11
    s.onTimeoutCertificate(11n, 8n); // the same streak: nothing new
    expect(reported).toEqual([11n]);
    // Restarted long after: its WAL no longer holds those TCs, and the views since had QCs.
    const restarted = new AuctionSchedule(keys, 2, { deposeAfter: 2 });
    expect(restarted.leaderFor(60n, 59n)).toBe(2);
    restarted.restoreDeposition(11n);
    expect([60n, 61n, 62n].map((v) => restarted.leaderFor(v, v - 1n))).toEqual(
      [60n, 61n, 62n].map((v) => s.leaderFor(v, v - 1n)),
    );
    for (let v = 11n; v < 40n; v++) expect(restarted.leaderFor(v, v - 1n)).not.toBe(2);
  });

  it('auction: before the chain’s first QC, failed views are start-up; a winner absent from the start goes later', () => {
    const s = new AuctionSchedule(keys, 1, { deposeAfter: 3, deposeAfterAtStart: 6 });
    s.onTimeoutCertificate(3n, 0n); // views 1–3 failed while the members were still dialling
    s.onTimeoutCertificate(5n, 0n);
    expect(s.deposedAt).toBeUndefined();
    expect(s.leaderFor(6n)).toBe(1);
    s.onTimeoutCertificate(6n, 0n); // six views, none certified: the winner never came
    expect(s.deposedAt).toBe(7n);
    expect(s.leaderFor(7n)).toBe(2); // the rotation of 0, 2, 3
    // Once the chain has a QC, three failed views in a row are enough.
    const t = new AuctionSchedule(keys, 1, { deposeAfter: 3, deposeAfterAtStart: 6 });
    t.onTimeoutCertificate(12n, 9n);
    expect(t.deposedAt).toBe(13n);
  });

  it('auction: a later instance (--epoch-committees) gives its winner no start-up grace', () => {
    // Its members were connected before it began: three views without a QC depose the winner, as they
    // would after the chain's first QC.
    const later = new AuctionSchedule(keys, 1, { startsChain: false });
    later.onTimeoutCertificate(3n, 0n);
    expect(later.deposedAt).toBe(4n);
    expect(later.leaderFor(4n)).not.toBe(1);
    const first = new AuctionSchedule(keys, 1);
    first.onTimeoutCertificate(3n, 0n);
    expect(first.deposedAt).toBeUndefined();
    // Failures before its first block count towards the sit-out (simulator seed 701667 of --committees:
    // an equivocating winner failed views 1 and 2, got a QC in view 3, failed 4 and 5, and led view 6
    // too, another 600 ms timeout, as the failures before view 3 were taken for start-up).
    const failed = [1n, 2n, 4n, 5n];
    const led = [{ view: 3n, leader: 1 }];
    expect(later.leaderFor(6n, 3n, failed, led)).not.toBe(1);
    expect(new AuctionSchedule(keys, 1).leaderFor(6n, 3n, failed, led)).toBe(1);
  });

  it('auction: a winner that fails now and then sits out while 4 of the last 32 views of the chain failed', () => {
    const s = new AuctionSchedule(keys, 2);
    // The chain: blocks in every view from 6 on (views 1–5 failed at start-up), except the failed ones.
    const chain = (upTo: bigint, failed: bigint[]) => {
      const led = [];
      for (let v = 6n; v <= upTo; v++) if (!failed.includes(v)) led.push({ view: v, leader: 2 });
      return { failed: [1n, 2n, 3n, 4n, 5n, ...failed], led };
    };
    // Three failures in the window, never two in a row: the winner leads.
    let c = chain(49n, [30n, 34n, 38n]);
    expect(s.leaderFor(50n, 49n, c.failed, c.led)).toBe(2);
    // A fourth: the rotation (0, 1, 3) leads, on the proposal and its chain alone — no memory.
    c = chain(49n, [30n, 34n, 38n, 42n]);
    const rotation = s.leaderFor(50n, 49n, c.failed, c.led);
    expect(rotation).not.toBe(2);
    expect(new AuctionSchedule(keys, 2).leaderFor(50n, 49n, c.failed, c.led)).toBe(rotation);
    expect(s.deposedAt).toBeUndefined();
    // The failed view just before the proposal counts (its TC is the proposal's): 3 + 1.
    c = chain(48n, [30n, 34n, 38n]);
    expect(s.leaderFor(50n, 48n, c.failed, c.led)).not.toBe(2);
    // The winner led the chain's last block: once the oldest failure leaves the window (view 62 looks
    // at 30–61, view 63 at 31–62), it leads again.
    c = chain(62n, [30n, 34n, 38n, 42n]);
    expect(s.leaderFor(62n, 61n, c.failed, c.led)).not.toBe(2);
    expect(s.leaderFor(63n, 62n, c.failed, c.led)).toBe(2);
    // Start-up failures before the chain's first block do not count: views 1–5, then view 7 failed.
    c = chain(10n, [7n]);
    expect(s.leaderFor(11n, 10n, c.failed, c.led)).toBe(2);
    // A member that synced without the chain's history knows only the proposal's own failed views.
    expect(s.leaderFor(50n, 49n, [], [])).toBe(2);
    // Once the rotation leads, the winner stays out while any failed view is left in the window.
    const afterRotation = {
      failed: [1n, 2n, 3n, 4n, 5n, 42n],
      led: [...chain(41n, []).led, { view: 43n, leader: 0 }, { view: 44n, leader: 1 }],
    };
    expect(s.leaderFor(45n, 44n, afterRotation.failed, afterRotation.led)).not.toBe(2);
    expect(s.leaderFor(74n, 73n, afterRotation.failed, afterRotation.led)).not.toBe(2);
    expect(s.leaderFor(75n, 74n, afterRotation.failed, afterRotation.led)).toBe(2); // 42 left the window
    // The price: a new epoch's winner, after another member's block and one failed view of the
    // members' schedule switch, waits until that view leaves the window.
    const newEpoch = {
      failed: [42n],
      led: [
        { view: 41n, leader: 0 },
        { view: 43n, leader: 1 },
      ],
    };
    expect(s.leaderFor(44n, 43n, newEpoch.failed, newEpoch.led)).not.toBe(2);
    expect(s.leaderFor(75n, 74n, newEpoch.failed, newEpoch.led)).toBe(2);
    // While it sits out, each view's leader is the rotation's, never the winner.
    c = chain(49n, [30n, 34n, 38n, 42n]);
    const sitOut = [50n, 51n, 52n, 53n].map((v) => s.leaderFor(v, v - 1n, c.failed, c.led));
    expect(sitOut).not.toContain(2);
    expect(new Set(sitOut).size).toBeGreaterThan(1);
    expect(() => new AuctionSchedule(keys, 2, { sitOutAfter: 0 })).toThrow(/sitOutAfter/);
    expect(() => new AuctionSchedule(keys, 2, { sitOutAfter: 33 })).toThrow(/sitOutAfter/);
  });

  it('epoch schedule: a subset proposes with committee indices; a later epoch replaces it, an older one never', () => {
    // Epoch 3: members 1 and 3 were elected (round robin among them).
    const elected = new SubsetSchedule(new PoaSchedule([keys[1], keys[3]]), [1, 3], keys);
    const s = new EpochSchedule(3n, elected);
    expect([0n, 1n, 2n, 3n].map((v) => s.leaderFor(v))).toEqual([1, 3, 1, 3]);
    expect(s.committeeFor(3n)).toEqual(keys);
    // Epoch 4: all four; a stale read of epoch 3 or 4 again changes nothing.
    expect(s.add(4n, new PoaSchedule(keys))).toBe(true);
    expect(s.add(4n, elected)).toBe(false);
    expect(s.add(2n, elected)).toBe(false);
    expect(s.epoch).toBe(4n);
    expect([0n, 1n, 2n, 3n].map((v) => s.leaderFor(v))).toEqual([0, 1, 2, 3]);
    // The TC hook reaches the epoch's auction schedule, and a new epoch starts with a fresh winner.
    const auction = new AuctionSchedule(keys, 2, { deposeAfter: 2 });
    s.add(5n, auction);
    s.onTimeoutCertificate(9n, 7n);
    expect(auction.deposedAt).toBe(10n);
    expect(s.leaderFor(10n)).toBe(1); // the rotation of 0, 1, 3: 10 mod 3
    expect(s.leaderFor(11n)).toBe(3);
    s.add(6n, new AuctionSchedule(keys, 2, { deposeAfter: 2 }));
    expect(s.leaderFor(11n)).toBe(2);
    expect(() => new SubsetSchedule(new PoaSchedule(keys), [], keys)).toThrow(/at least one/);
  });

  it('epoch schedule with a clock: the chain picks the epoch (its L1 origin), read-ahead epochs wait for it', () => {
    const clock = { genesisBlock: 100n, epochLength: 20n };
    // Epoch 1 (L1 blocks 120–139): all four in rotation; epoch 2 (140–159): member 0 voted out.
    const s = new EpochSchedule(1n, new PoaSchedule(keys), clock);
    const entered: bigint[] = [];
    s.onEnter = (e) => entered.push(e);
    const without0 = new SubsetSchedule(new PoaSchedule([keys[1], keys[2], keys[3]]), [1, 2, 3], keys);
    expect(s.add(2n, without0)).toBe(true);
    expect(s.add(2n, without0)).toBe(false);
    // Read ahead, not in force: a chain whose newest certified block has an origin in epoch 1, and a
    // leader named without an origin, still follow epoch 1.
    expect(s.epoch).toBe(1n);
    expect([8n, 9n, 10n, 11n].map((v) => s.leaderFor(v, v - 1n, [], [], 139n))).toEqual([0, 1, 2, 3]);
    expect(s.leaderFor(12n)).toBe(0);
    expect(entered).toEqual([]);
    // The first proposal over a block with an origin in epoch 2 switches, for every member alike.
    expect([12n, 13n, 14n].map((v) => s.leaderFor(v, v - 1n, [], [], 140n))).toEqual([1, 2, 3]);
    expect(s.epoch).toBe(2n);
    expect(entered).toEqual([2n]);
    expect(s.leaderFor(15n)).toBe(1);
    // A fork that still extends epoch 1 is judged by epoch 1's schedule (kept one epoch back).
    expect(s.leaderFor(12n, 11n, [], [], 135n)).toBe(0);
    // A chain ahead of what this member has read (epoch 3 not read yet): the newest epoch here.
    expect(s.leaderFor(12n, 11n, [], [], 165n)).toBe(1);
    expect(s.add(1n, new PoaSchedule(keys))).toBe(false);
    // Epoch 4 (members 2 and 3) read: a chain that jumps to it (epoch 3 passed without a block)
    // enters it, and a chain still in epoch 1 keeps epoch 1's schedule (EPOCHS_KEPT back).
    expect(s.add(4n, new SubsetSchedule(new PoaSchedule([keys[2], keys[3]]), [2, 3], keys))).toBe(true);
    expect([12n, 13n].map((v) => s.leaderFor(v, v - 1n, [], [], 185n))).toEqual([2, 3]);
    expect(s.epoch).toBe(4n);
    expect(entered).toEqual([2n, 4n]);
    expect(s.leaderFor(12n, 11n, [], [], 120n)).toBe(0);
    // The TC hook reaches the schedule of the TC's chain: an auction read ahead is not deposed by
    // the failures of the epoch before it.
    const auction = new AuctionSchedule(keys, 2, { deposeAfter: 2 });
    expect(s.add(5n, auction)).toBe(true);
    s.onTimeoutCertificate(9n, 7n, 185n);
    expect(auction.deposedAt).toBeUndefined();
    s.onTimeoutCertificate(9n, 7n, 200n);
    expect(auction.deposedAt).toBe(10n);
    // Entering an epoch drops those more than EPOCHS_KEPT before it: a chain older than every
    // schedule left is judged by the oldest (epoch 4 here).
    const far = 4n + EPOCHS_KEPT;
    expect(s.add(far, new PoaSchedule(keys))).toBe(true);
    s.leaderFor(12n, 11n, [], [], 100n + far * 20n);
    expect([s.has(1n), s.has(2n), s.has(4n)]).toEqual([false, false, true]);
    expect(s.leaderFor(12n, 11n, [], [], 120n)).toBe(2);
  });

  it("epoch schedule with a clock tells the core each block's epoch by its L1 origin; without a clock, none", () => {
    const origins: Record<string, bigint> = {
      [`0x${'11'.repeat(32)}`]: 139n,
      [`0x${'22'.repeat(32)}`]: 140n,
    };
    const originOf = (block: Hex) => origins[block];
    const clock = { genesisBlock: 100n, epochLength: 20n };
    const hooks = scheduleHooks(new EpochSchedule(1n, new PoaSchedule(keys), clock), originOf);
    expect(hooks.epochOf?.(`0x${'11'.repeat(32)}`)).toBe(1n);
    expect(hooks.epochOf?.(`0x${'22'.repeat(32)}`)).toBe(2n);
    expect(hooks.epochOf?.(`0x${'33'.repeat(32)}`)).toBeUndefined();
    // No epochs to follow (no clock, or a schedule without epochs): no block has an epoch, and the
    // core keeps every chain's failed views.
    const withoutClock = scheduleHooks(new EpochSchedule(1n, new PoaSchedule(keys)), originOf);
    expect(withoutClock.epochOf?.(`0x${'22'.repeat(32)}`)).toBeUndefined();
    expect(scheduleHooks(new PoaSchedule(keys), originOf).epochOf).toBeUndefined();
  });

  it('epochs: the pinned block of epoch e is the start of e − 1 (genesis for 0)', () => {
    const clock = { genesisBlock: 100n, epochLength: 10n };
    expect(epochAt(clock, 99n)).toBe(0n);
    expect(epochAt(clock, 125n)).toBe(2n);
    expect(epochStart(clock, 2n)).toBe(120n);
    expect(pinnedBlockFor(clock, 0n)).toBe(100n);
    expect(pinnedBlockFor(clock, 3n)).toBe(120n);
  });

  it('--election: unknown modes and modes without their L1 contracts get errors that say what to do', async () => {
    expect(() => parseElectionMode('lottery')).toThrow(/use one of single, poa, pos, dpos, auction/);
    await expect(electedSchedule('pos', keys, undefined, pino({ level: 'silent' }))).rejects.toThrow(
      /--l1-rpc and an --l1-deployment that lists them/,
    );
    const poa = await electedSchedule('poa', keys, undefined, pino({ level: 'silent' }));
    expect(poa.schedule.leaderFor(5n)).toBe(1);
  });
});
