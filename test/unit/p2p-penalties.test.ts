import { describe, expect, it } from 'vitest';
import { PeerPenalties } from '../../src/p2p/penalties.js';

describe('PeerPenalties', () => {
  const make = () => {
    let now = 1_000_000;
    const p = new PeerPenalties({ maxPenalties: 3, windowMs: 10_000, banMs: 60_000 }, () => now);
    return { p, advance: (ms: number) => (now += ms) };
  };

  it('bans a peer at maxPenalties within the window, for banMs', () => {
    const { p, advance } = make();
    expect(p.add('a')).toEqual({ count: 1, banned: false });
    expect(p.add('a')).toEqual({ count: 2, banned: false });
    expect(p.isBanned('a')).toBe(false);
    expect(p.add('a')).toEqual({ count: 3, banned: true });
    expect(p.isBanned('a')).toBe(true);
    expect(p.isBanned('b')).toBe(false);
    advance(59_999);
    expect(p.isBanned('a')).toBe(true);
    advance(1);
    expect(p.isBanned('a')).toBe(false);
    expect(p.count('a')).toBe(0);
  });

  it('forgets penalties older than the window', () => {
    const { p, advance } = make();
    p.add('a');
    p.add('a');
    advance(10_001);
    expect(p.count('a')).toBe(0);
    expect(p.add('a').banned).toBe(false);
    advance(5_000);
    p.add('a');
    expect(p.count('a')).toBe(2);
  });

  it('a banned peer is not banned again by more penalties', () => {
    const { p } = make();
    for (let i = 0; i < 3; i++) p.add('a');
    expect(p.add('a').banned).toBe(false);
    expect(p.isBanned('a')).toBe(true);
  });
});
