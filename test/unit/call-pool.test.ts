import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { CallPool } from '../../src/execution/call-pool.js';
import { Executor } from '../../src/execution/executor.js';
import { devAccounts, devChainOptions } from '../../src/execution/genesis.js';
import { ChainStore } from '../../src/store/chain-store.js';

const logger = pino({ level: 'silent' });

describe('call workers', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'seqnet-calls-')), 'chain');
  let pool: CallPool | undefined;
  afterAll(async () => {
    await pool?.close();
  });

  it('run calls off the main thread, stop a call past its time limit for real, and keep serving', async () => {
    const chain = devChainOptions();
    const store = new ChainStore(dir);
    await Executor.open(chain, store, logger);
    pool = new CallPool(dir, chain, 1, logger);
    await pool.start();
    const [alice, bob] = devAccounts(2);

    // JUMPDEST PUSH1 0 JUMP: creation code that loops until its gas runs out (seconds at 50M gas).
    const looping = pool.run('call', { data: '0x5b600056' }, 0n, 50_000_000n, 150);
    // The main thread is free meanwhile.
    const ticks = await new Promise<number>((resolve) => {
      let n = 0;
      const t = setInterval(() => n++, 10);
      setTimeout(() => {
        clearInterval(t);
        resolve(n);
      }, 100);
    });
    expect(ticks).toBeGreaterThan(5);
    await expect(looping).rejects.toThrow(/^execution timeout/);

    // A fresh worker takes over: a plain transfer estimate is 21000.
    const est = await pool.run(
      'estimate',
      { from: alice.address, to: bob.address, value: 1n },
      0n,
      30_000_000n,
      5_000,
    );
    expect(est).toEqual({ gas: 21000n });
    const call = await pool.run('call', { from: alice.address, to: bob.address }, 0n, 50_000_000n, 5_000);
    expect('gas' in call ? undefined : call.error).toBeUndefined();
    await expect(pool.run('call', { to: bob.address }, 99n, 1_000_000n, 5_000)).rejects.toThrow(
      /block 99 not found/,
    );
    await store.close();
  });
});
