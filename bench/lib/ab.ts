import { median, round3 } from './stats.js';

/** One run's figures by name, e.g. `4 · open loop 5 tx/s · proofP50Ms`. */
export type Figures = Record<string, number>;

/** What bench/committee.ts writes, as far as an A/B reads it. */
interface CommitteeResult {
  committees: Array<{
    committee: number;
    runs: Array<{
      workload: string;
      committedTxPerSecond: number;
      stats: { latencyMs: { p50: number | null } };
      preconfirmationMs?: { p50: number | null } | null;
      cpu: { nodesCores: number };
    }>;
  }>;
}

/**
 * The figures an A/B compares from one bench/committee.ts result: for each committee and workload,
 * send → commit proof pushed p50, send → newHeads p50, committed tx/s and the nodes' cores.
 */
export function committeeFigures(result: CommitteeResult): Figures {
  const out: Figures = {};
  for (const c of result.committees)
    for (const r of c.runs) {
      const at = `${c.committee} · ${r.workload}`;
      const proof = r.preconfirmationMs?.p50;
      if (typeof proof === 'number') out[`${at} · proofP50Ms`] = proof;
      if (typeof r.stats.latencyMs.p50 === 'number') out[`${at} · newHeadsP50Ms`] = r.stats.latencyMs.p50;
      out[`${at} · committedTxPerSecond`] = r.committedTxPerSecond;
      out[`${at} · nodesCores`] = r.cpu.nodesCores;
    }
  return out;
}

export interface FigureComparison {
  figure: string;
  /** By pair; null where that pair's run did not give the figure. */
  before: Array<number | null>;
  after: Array<number | null>;
  beforeMedian: number | null;
  afterMedian: number | null;
  /** afterMedian / beforeMedian. */
  ratio: number | null;
  /** Pairs (with both values) in which after was lower, and how many had both values. */
  afterLower: number;
  pairsWithBoth: number;
}

/** Compares each figure that any run gave, pair by pair, in the order the figures first appear. */
export function compareFigures(pairs: Array<{ before: Figures; after: Figures }>): FigureComparison[] {
  const names: string[] = [];
  for (const p of pairs)
    for (const name of [...Object.keys(p.before), ...Object.keys(p.after)])
      if (!names.includes(name)) names.push(name);
  return names.map((figure) => {
    const before = pairs.map((p) => p.before[figure] ?? null);
    const after = pairs.map((p) => p.after[figure] ?? null);
    const present = (xs: Array<number | null>) => xs.filter((x): x is number => x !== null);
    const beforeMedian = median(present(before));
    const afterMedian = median(present(after));
    let afterLower = 0;
    let pairsWithBoth = 0;
    for (let i = 0; i < pairs.length; i++) {
      const b = before[i];
      const a = after[i];
      if (a === null || b === null) continue;
      pairsWithBoth++;
      if (a < b) afterLower++;
    }
    return {
      figure,
      before,
      after,
      beforeMedian,
      afterMedian,
      ratio:
        beforeMedian !== null && afterMedian !== null && beforeMedian !== 0
          ? round3(afterMedian / beforeMedian)
          : null,
      afterLower,
      pairsWithBoth,
    };
  });
}

/** Which version runs first in pair i (0-based): ABBA, so that a drift of the machine's load cancels. */
export const firstOfPair = (i: number): 'before' | 'after' => (i % 2 === 0 ? 'before' : 'after');
