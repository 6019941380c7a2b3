import { describe, expect, it } from 'vitest';
import { AdaptiveViewTimeout } from '../../src/consensus/driver/view-timeout.js';

describe('adaptive view timeout', () => {
  it('waits the ceiling until it has seen enough views, then 4 × the slowest recent one, within [ceiling/4, ceiling]', () => {
    const t = new AdaptiveViewTimeout(1000);
    for (let i = 0; i < 7; i++) t.observe(40);
    expect(t.baseMs).toBe(1000);
    t.observe(40);
    // 4 × 40 ms is under the floor (a quarter of the ceiling).
    expect(t.baseMs).toBe(250);
    t.observe(90);
    expect(t.baseMs).toBe(360);
    // The core's backoff (2×, 4×…) scales with it.
    expect(t.scale(2000)).toBe(720);
    // A loaded chain whose views take long keeps the ceiling.
    t.observe(600);
    expect(t.baseMs).toBe(1000);
  });

  it('forgets views older than its window, and ignores nonsense', () => {
    const t = new AdaptiveViewTimeout(1000, 100, 4, 8, 4);
    t.observe(200);
    for (let i = 0; i < 8; i++) t.observe(30);
    expect(t.baseMs).toBe(120);
    t.observe(Number.NaN);
    t.observe(-5);
    expect(t.baseMs).toBe(120);
  });

  it('reports what the recent views took, for status pages', () => {
    const t = new AdaptiveViewTimeout(1000);
    expect(t.recentStats()).toBeNull();
    for (const ms of [10, 20, 30, 40, 50, 60, 70, 80, 90, 500]) t.observe(ms);
    expect(t.recentStats()).toEqual({ views: 10, medianMs: 60, p90Ms: 500, slowestMs: 500 });
  });
});
