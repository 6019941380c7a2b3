import { describe, expect, it } from 'vitest';
import { PeerTxIntake } from '../../src/mempool/peer-intake.js';
import { keccak256, toHex } from '../../src/util/bytes.js';

const tx = (s: string) => new TextEncoder().encode(s);
const name = (raw: Uint8Array) => new TextDecoder().decode(raw);

/** A pool whose adds finish only when the test says so. */
function slowPool() {
  const started: string[] = [];
  const pending: Array<() => void> = [];
  return {
    started,
    add: (raw: Uint8Array) => {
      started.push(name(raw));
      return new Promise<void>((resolve) => pending.push(resolve));
    },
    finishAll: () => {
      for (const r of pending.splice(0)) r();
    },
  };
}
const turn = () => new Promise((r) => setTimeout(r, 0));

describe('PeerTxIntake', () => {
  it('a gossiped batch is handed over at once; batches go in one after another, each batch all at once', async () => {
    const pool = slowPool();
    const intake = new PeerTxIntake(pool.add, { maxQueued: 100 });
    let firstReturned = false;
    void intake.takeGossiped([tx('a1'), tx('a2'), tx('a3')]).then(() => {
      firstReturned = true;
    });
    const second = intake.take([tx('b1')]);
    await turn();
    // gossip's validator is not held by the pool…
    expect(firstReturned).toBe(true);
    // …the whole first batch is being added together, the second waits for it
    expect(pool.started).toEqual(['a1', 'a2', 'a3']);
    expect(intake.backlog).toBe(4);
    expect(intake.isFromPeer(toHex(keccak256(tx('a2'))))).toBe(true);
    pool.finishAll();
    await turn();
    expect(pool.started).toEqual(['a1', 'a2', 'a3', 'b1']);
    expect(intake.isFromPeer(toHex(keccak256(tx('a2'))))).toBe(false);
    pool.finishAll();
    await second;
    expect(intake.backlog).toBe(0);
  });

  it("one peer's batches wait for one another, another peer's do not", async () => {
    const pool = slowPool();
    const intake = new PeerTxIntake(pool.add, { maxQueued: 100 });
    void intake.takeGossiped([tx('a1')], 'peer A');
    void intake.takeGossiped([tx('a2')], 'peer A');
    const fromB = intake.take([tx('b1')], 'peer B');
    await turn();
    // peer B's batch is not behind peer A's first one, which is still being added; A's second is
    expect(pool.started).toEqual(['a1', 'b1']);
    pool.finishAll();
    await fromB;
    await turn();
    expect(pool.started).toEqual(['a1', 'b1', 'a2']);
    pool.finishAll();
    await turn();
    expect(intake.backlog).toBe(0);
  });

  it('over the backlog limit a gossiped batch waits until it is in the pool (back-pressure)', async () => {
    const pool = slowPool();
    const intake = new PeerTxIntake(pool.add, { maxQueued: 2 });
    let returned = false;
    void intake.takeGossiped([tx('a'), tx('b'), tx('c')]).then(() => {
      returned = true;
    });
    await turn();
    expect(returned).toBe(false);
    pool.finishAll();
    await turn();
    expect(returned).toBe(true);
  });

  it("the pool's refusals do not stop the batches after them", async () => {
    const added: string[] = [];
    const intake = new PeerTxIntake(async (raw) => {
      if (name(raw) === 'bad') throw new Error('nonce too low');
      added.push(name(raw));
    });
    await intake.take([tx('bad'), tx('ok1')]);
    await intake.take([tx('ok2')]);
    expect(added).toEqual(['ok1', 'ok2']);
    expect(intake.backlog).toBe(0);
  });

  it('a tx the node holds already is passed over when its batch comes up, not added again', async () => {
    const pool = slowPool();
    const held = new Set<string>();
    const intake = new PeerTxIntake(pool.add, { maxQueued: 100, known: (hash) => held.has(hash) });
    void intake.take([tx('a1')], 'peer A');
    // queued behind a1: by the time its turn comes, b1 was committed through a block (held here)
    const second = intake.take([tx('b1'), tx('b2')], 'peer A');
    held.add(toHex(keccak256(tx('b1'))));
    await turn();
    expect(pool.started).toEqual(['a1']);
    pool.finishAll();
    await turn();
    expect(pool.started).toEqual(['a1', 'b2']);
    expect(intake.skippedKnown).toBe(1);
    expect(intake.isFromPeer(toHex(keccak256(tx('b1'))))).toBe(false);
    pool.finishAll();
    await second;
    expect(intake.backlog).toBe(0);
  });
});
