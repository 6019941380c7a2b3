import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyTypedData } from 'ethers';
import { type Hex, keccak256, toHex } from 'viem';
import { describe, expect, it } from 'vitest';
import {
  INCLUSION_PROMISE_TYPES,
  INCLUSION_PROMISE_WINDOW,
  InclusionPromises,
  inclusionPromiseDomain,
  verifyInclusionPromise,
} from '../../src/batcher/inclusion-promise.js';
import { devAccounts } from '../../src/execution/genesis.js';

const [poster, other] = devAccounts(2);
const inbox: Hex = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const txHash = (i: number): Hex => keccak256(toHex(`tx ${i}`));
const made = (key: Hex = poster.privateKey, limit?: number) =>
  new InclusionPromises({ key, l2ChainId: 901n, l1ChainId: 31337n, inbox, ...(limit && { limit }) });

describe('based inclusion promises (seqnet node --preconf)', () => {
  it('a promise is the poster’s EIP-712 signature: it verifies offline, here and with ethers', async () => {
    const promises = made();
    expect(promises.promise([txHash(1), txHash(2)], 100n)).toBe(2);
    const p = await promises.get(txHash(1));
    expect(p).toMatchObject({
      kind: 'inclusion',
      transactionHash: txHash(1),
      l2ChainId: '0x385',
      l1ChainId: '0x7a69',
      inbox,
      poster: poster.address,
      issuedAtL1Block: '0x64',
      deadlineL1Block: toHex(100n + INCLUSION_PROMISE_WINDOW),
    });
    if (!p) throw new Error('no promise');
    expect(await verifyInclusionPromise(p)).toBe(true);
    // ethers, another implementation of EIP-712, recovers the same poster from the same fields.
    const domain = inclusionPromiseDomain(31337n, inbox);
    const signer = verifyTypedData(
      domain,
      { InclusionPromise: [...INCLUSION_PROMISE_TYPES.InclusionPromise] },
      {
        l2ChainId: 901n,
        txHash: txHash(1),
        issuedAtL1Block: 100n,
        deadlineL1Block: 100n + INCLUSION_PROMISE_WINDOW,
      },
      p.signature,
    );
    expect(signer).toBe(poster.address);
    // Asked again: the same signature (signed once, on first request).
    expect((await promises.get(txHash(1)))?.signature).toBe(p.signature);
    expect(await promises.get(txHash(3))).toBeUndefined();
  });

  it('a changed field or another signer does not verify; a malformed promise is refused with what is wrong', async () => {
    const p = await promiseOf(txHash(1));
    expect(
      await verifyInclusionPromise({ ...p, deadlineL1Block: toHex(BigInt(p.deadlineL1Block) + 100n) }),
    ).toBe(false);
    expect(await verifyInclusionPromise({ ...p, transactionHash: txHash(9) })).toBe(false);
    expect(await verifyInclusionPromise({ ...p, poster: other.address })).toBe(false);
    const byOther = await promiseOf(txHash(1), other.privateKey);
    expect(await verifyInclusionPromise({ ...byOther, poster: poster.address })).toBe(false);
    await expect(verifyInclusionPromise({ ...p, signature: '0x1234' })).rejects.toThrow(/"signature"/);
    await expect(verifyInclusionPromise({ ...p, inbox: '0xnope' as Hex })).rejects.toThrow(/"inbox"/);
    await expect(verifyInclusionPromise({ ...p, deadlineL1Block: '12' as Hex })).rejects.toThrow(
      /"deadlineL1Block"/,
    );
    await expect(verifyInclusionPromise({ ...p, kind: 'commit' as 'inclusion' })).rejects.toThrow(/"kind"/);
  });

  it('a tx keeps its first promise when posted again; the oldest are forgotten past the limit', async () => {
    const promises = made(poster.privateKey, 3);
    expect(promises.promise([txHash(1)], 100n)).toBe(1);
    expect(promises.promise([txHash(1), txHash(2)], 105n)).toBe(1);
    expect((await promises.get(txHash(1)))?.issuedAtL1Block).toBe(toHex(100n));
    expect((await promises.get(txHash(2)))?.issuedAtL1Block).toBe(toHex(105n));
    promises.promise([txHash(3), txHash(4)], 106n);
    expect(promises.size).toBe(3);
    expect(await promises.get(txHash(1))).toBeUndefined();
    expect(await promises.get(txHash(4))).toBeDefined();
  });
});

describe('the promises journal (a restarted submitter keeps its promises)', () => {
  it('reads back every promise made, with the same window and signature; a torn last line is ignored', async () => {
    const journal = join(mkdtempSync(join(tmpdir(), 'seqnet-promises-')), 'promises.jsonl');
    const opts = { key: poster.privateKey, l2ChainId: 901n, l1ChainId: 31337n, inbox, journal };
    const before = new InclusionPromises(opts);
    expect(before.restored).toEqual([]);
    before.promise([txHash(1), txHash(2)], 100n);
    before.promise([txHash(3)], 104n);
    const signed = await before.get(txHash(3));
    before.close();
    appendFileSync(journal, '{"h":"0xab'); // killed mid-write
    const after = new InclusionPromises(opts);
    expect(after.restored).toEqual([txHash(1), txHash(2), txHash(3)]);
    expect(await after.get(txHash(3))).toEqual(signed);
    expect((await after.get(txHash(1)))?.deadlineL1Block).toBe(toHex(100n + INCLUSION_PROMISE_WINDOW));
    // Rewritten at start: the torn line is gone, new promises append after the old ones.
    after.promise([txHash(4)], 110n);
    after.close();
    const lines = readFileSync(journal, 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { h: Hex }).h)).toEqual([1, 2, 3, 4].map(txHash));
    // Another L1 key reading the same data dir serves none of them: they are not its promises.
    const otherKey = new InclusionPromises({ ...opts, key: other.privateKey });
    expect(otherKey.restored).toEqual([]);
    expect(await otherKey.get(txHash(1))).toBeUndefined();
    otherKey.close();
  });
});

async function promiseOf(h: Hex, key: Hex = poster.privateKey) {
  const promises = made(key);
  promises.promise([h], 100n);
  const p = await promises.get(h);
  if (!p) throw new Error('no promise');
  return p;
}
