import { createPublicClient, createWalletClient, type Hex, http, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/execution/genesis.js';
import { startCommittee, statusOf, type TestCommittee, untilFullyConnected } from '../helpers/committee.js';
import { chainOf, until } from '../helpers/wait.js';

/**
 * RELIABILITY.md's crash matrix with n = 7 (f = 2), real processes: a member paused and resumed
 * catches up; two members killed at once, the leader one of them, and the five left go on, with
 * every preconfirmed tx where it was.
 */
describe('a BFT committee of 7 node processes (f = 2)', () => {
  const n = 7;
  let c: TestCommittee;
  const senders = devAccounts(8).map((a) => privateKeyToAccount(a.privateKey));
  const nonces = new Map<string, number>();
  const pub = (url: string) => createPublicClient({ chain: chainOf(42069, url), transport: http(url) });
  /** Preconfirmed txs: where each was when its receipt was first served. */
  const confirmed = new Map<Hex, { blockHash: Hex; index: number }>();

  const send = async (sender: number, via: number) => {
    const url = c.nodes[via].url;
    const account = senders[sender];
    const nonce = nonces.get(account.address) ?? 0;
    nonces.set(account.address, nonce + 1);
    return createWalletClient({ chain: chainOf(42069, url), transport: http(url), account }).sendTransaction({
      to: senders[(sender + 1) % senders.length].address,
      value: parseEther('0.001'),
      nonce,
      gas: 21000n,
    });
  };
  const receiptOn = async (url: string, hash: Hex) => {
    const r = await pub(url).waitForTransactionReceipt({ hash, pollingInterval: 25, timeout: 60_000 });
    if (!confirmed.has(hash)) confirmed.set(hash, { blockHash: r.blockHash, index: r.transactionIndex });
    return r;
  };
  const heads = (members: number[]) =>
    Promise.all(
      members.map(async (i) => (await statusOf(c.nodes[i].url).catch(() => undefined))?.head ?? -1),
    );
  /** Sends a transfer every `gapMs` through `via` in turn until stopped; returns the hashes acknowledged. */
  const loadThrough = (via: number[], gapMs: number) => {
    let on = true;
    const sent: Hex[] = [];
    const done = (async () => {
      for (let k = 0; on; k++) {
        try {
          sent.push(await send(k % senders.length, via[k % via.length]));
        } catch {
          // a member being killed may refuse or drop the request
        }
        await new Promise((r) => setTimeout(r, gapMs));
      }
    })();
    return {
      sent,
      stop: async () => {
        on = false;
        await done;
      },
    };
  };
  /** Every member in `members` serves the same block at each height up to the lowest of their heads. */
  const expectOneChain = async (members: number[]) => {
    const top = Math.min(...(await heads(members)));
    for (let h = 1n; h <= BigInt(top); h += 7n) {
      const blocks = await Promise.all(members.map((i) => pub(c.nodes[i].url).getBlock({ blockNumber: h })));
      expect(new Set(blocks.map((b) => b.hash)).size, `height ${h}`).toBe(1);
    }
    return top;
  };

  beforeAll(async () => {
    c = await startCommittee(n, ['--view-timeout', '1000']);
    await untilFullyConnected(c, 120_000);
  }, 300_000);
  afterAll(async () => {
    await c?.stopAll();
  });

  it('SIGSTOP a member for 20 s under load, then SIGCONT: it catches up and serves the same chain', async () => {
    const paused = 4;
    const others = [0, 1, 2, 3, 5, 6];
    c.nodes[paused].proc.kill('SIGSTOP');
    const load = loadThrough(others, 100);
    try {
      await new Promise((r) => setTimeout(r, 20_000));
    } finally {
      // Also on a failure: a member left stopped would fail the test after this one too.
      c.nodes[paused].proc.kill('SIGCONT');
    }
    await load.stop();
    expect(load.sent.length).toBeGreaterThan(20);
    for (const h of load.sent) await receiptOn(c.nodes[others[0]].url, h);
    const top = Math.max(...(await heads(others)));
    await until(
      'the paused member caught up',
      async () => ((await statusOf(c.nodes[paused].url)).head >= top ? true : undefined),
      120_000,
    );
    await until('every member at that height', async () =>
      (await heads([...others, paused])).every((h) => h >= top) ? true : undefined,
    );
    expect(await expectOneChain([...others, paused])).toBeGreaterThanOrEqual(top);
    // The txs sent while it was stopped are on its chain where the others put them.
    for (const h of load.sent.slice(0, 10)) {
      const r = await pub(c.nodes[paused].url).getTransactionReceipt({ hash: h });
      expect({ blockHash: r.blockHash, index: r.transactionIndex }).toEqual(confirmed.get(h));
    }
  }, 240_000);

  it('SIGKILL f = 2 members at once, the leader one of them, under load: the five left go on and lose no preconfirmed tx', async () => {
    const leader = (await statusOf(c.nodes[0].url)).consensus.leader;
    const victims = [leader, (leader + 3) % n];
    const alive = Array.from({ length: n }, (_, i) => i).filter((i) => !victims.includes(i));
    const load = loadThrough(alive, 50);
    await until('load flowing', async () => (load.sent.length >= 10 ? true : undefined));
    for (const h of load.sent.slice(0, 5)) await receiptOn(c.nodes[alive[0]].url, h);
    const heightAtKill = (await statusOf(c.nodes[alive[0]].url)).head;
    await Promise.all(victims.map((i) => c.kill(i, 'SIGKILL')));
    await until(
      'blocks committed after the kill',
      async () => ((await statusOf(c.nodes[alive[0]].url)).head > heightAtKill + 5 ? true : undefined),
      60_000,
    );
    await new Promise((r) => setTimeout(r, 2_000));
    await load.stop();
    // Every tx acknowledged to a surviving member is included (five members are a quorum of 7).
    for (const h of load.sent) {
      const r = await receiptOn(c.nodes[alive[1]].url, h);
      expect(r.status).toBe('success');
    }
    const top = Math.max(...(await heads(alive)));
    await until('the five at that height', async () =>
      (await heads(alive)).every((h) => h >= top) ? true : undefined,
    );
    await expectOneChain(alive);
    // No preconfirmation moved: each tx is where its receipt first put it, on every survivor.
    for (const [hash, at] of confirmed) {
      for (const i of alive) {
        const r = await pub(c.nodes[i].url).getTransactionReceipt({ hash });
        expect({ hash, blockHash: r.blockHash, index: r.transactionIndex }).toEqual({ hash, ...at });
      }
    }
  }, 240_000);
});
