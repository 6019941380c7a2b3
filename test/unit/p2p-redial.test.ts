import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Redialer } from '../../src/p2p/redial.js';

const log = pino({ level: 'silent' });

describe('Redialer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries a failing peer with exponential backoff up to the cap, and stops once connected', async () => {
    vi.useFakeTimers();
    const dials: number[] = [];
    let up = false;
    let connected = false;
    const r = new Redialer(
      {
        dial: async () => {
          dials.push(Date.now());
          if (!up) throw new Error('connection refused');
          connected = true;
        },
        isConnected: () => connected,
        bannedUntil: () => undefined,
      },
      { baseMs: 100, maxMs: 1_000, forgetAfterMs: 60_000 },
      log,
    );
    const t0 = Date.now();
    r.keep('peer', ['/ip4/127.0.0.1/tcp/1'], true);
    await vi.advanceTimersByTimeAsync(10_000);
    const gaps = dials.map((t, i) => t - (i === 0 ? t0 : dials[i - 1]));
    expect(gaps[0]).toBe(0);
    // 200, 400, 800 then capped at 1000 (each ±25 %)
    expect(gaps[1]).toBeGreaterThanOrEqual(150);
    expect(gaps[1]).toBeLessThanOrEqual(250);
    expect(gaps[3]).toBeGreaterThanOrEqual(600);
    for (const g of gaps.slice(5)) {
      expect(g).toBeGreaterThanOrEqual(750);
      expect(g).toBeLessThanOrEqual(1_250);
    }
    up = true;
    await vi.advanceTimersByTimeAsync(2_000);
    const n = dials.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(dials.length).toBe(n);
    // a drop is redialled after about baseMs
    connected = false;
    r.disconnected('peer');
    await vi.advanceTimersByTimeAsync(130);
    expect(dials.length).toBe(n + 1);
    r.stop();
  });

  it('waits out a ban, and forgets a learnt peer (not a bootstrap one) that stays unreachable', async () => {
    vi.useFakeTimers();
    const dials: string[] = [];
    const bannedUntil = Date.now() + 5_000;
    const r = new Redialer(
      {
        dial: async (peer) => {
          dials.push(peer);
          throw new Error('refused');
        },
        isConnected: () => false,
        bannedUntil: (peer) => (peer === 'banned' && Date.now() < bannedUntil ? bannedUntil : undefined),
      },
      { baseMs: 100, maxMs: 1_000, forgetAfterMs: 3_000 },
      log,
    );
    r.keep('banned', ['/ip4/127.0.0.1/tcp/1'], true);
    r.keep('learnt', ['/ip4/127.0.0.1/tcp/2'], false);
    await vi.advanceTimersByTimeAsync(4_900);
    expect(dials.filter((p) => p === 'banned')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(dials.filter((p) => p === 'banned').length).toBeGreaterThan(0);
    expect(r.kept().map((k) => k.peer)).toEqual(['banned']);
    r.stop();
  });
});
