import { describe, expect, it } from 'vitest';
import { committeeFigures, compareFigures, firstOfPair } from '../../bench/lib/ab.js';

const run = (workload: string, proof: number | null, heads: number, txs: number, cores: number) => ({
  workload,
  committedTxPerSecond: txs,
  stats: { latencyMs: { p50: heads } },
  preconfirmationMs: proof === null ? null : { p50: proof },
  cpu: { nodesCores: cores },
});

describe('bench/ab.ts: comparing pairs of committee bench runs', () => {
  it('names each figure by committee and workload, leaving out a proof latency the run did not give', () => {
    const figures = committeeFigures({
      committees: [
        { committee: 1, runs: [run('open loop 5 tx/s', null, 6.2, 5, 0.1)] },
        { committee: 4, runs: [run('open loop 5 tx/s', 57.2, 62.7, 5, 0.6)] },
      ],
    });
    expect(figures).toEqual({
      '1 · open loop 5 tx/s · newHeadsP50Ms': 6.2,
      '1 · open loop 5 tx/s · committedTxPerSecond': 5,
      '1 · open loop 5 tx/s · nodesCores': 0.1,
      '4 · open loop 5 tx/s · proofP50Ms': 57.2,
      '4 · open loop 5 tx/s · newHeadsP50Ms': 62.7,
      '4 · open loop 5 tx/s · committedTxPerSecond': 5,
      '4 · open loop 5 tx/s · nodesCores': 0.6,
    });
  });

  it('gives the medians by version, their ratio and the pairs after won, over the pairs that have both', () => {
    const f = (x: number) => ({ p50: x });
    const [c] = compareFigures([
      { before: f(60), after: f(50) },
      { before: f(70), after: f(75) },
      { before: f(65), after: f(55) },
      { before: f(64), after: {} },
    ]);
    expect(c.figure).toBe('p50');
    expect(c.before).toEqual([60, 70, 65, 64]);
    expect(c.after).toEqual([50, 75, 55, null]);
    // Lower middle of an even count: 64 of 60, 64, 65, 70; 55 of 50, 55, 75.
    expect(c.beforeMedian).toBe(64);
    expect(c.afterMedian).toBe(55);
    expect(c.ratio).toBe(0.859);
    expect(c.afterLower).toBe(2);
    expect(c.pairsWithBoth).toBe(3);
  });

  it('runs the pairs ABBA', () => {
    expect([0, 1, 2, 3].map(firstOfPair)).toEqual(['before', 'after', 'before', 'after']);
  });
});
