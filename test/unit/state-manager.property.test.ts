import { MerklePatriciaTrie } from '@ethereumjs/mpt';
import { Caches, MerkleStateManager } from '@ethereumjs/statemanager';
import { Account, Address, MapDB, ValueEncoding } from '@ethereumjs/util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatchedStateManager } from '../../src/execution/state-manager.js';
import { toHex } from '../../src/util/bytes.js';

const addresses = Array.from({ length: 12 }, (_, i) => new Address(new Uint8Array(20).fill(i + 1)));
const slot = fc.constantFrom(...Array.from({ length: 6 }, (_, i) => new Uint8Array(32).fill(i)));
const change = fc.oneof(
  fc.record({
    kind: fc.constant('account' as const),
    at: fc.nat(11),
    nonce: fc.bigInt({ min: 0n, max: 5n }),
    balance: fc.bigInt({ min: 0n, max: 10n ** 20n }),
  }),
  fc.record({
    kind: fc.constant('storage' as const),
    at: fc.nat(11),
    slot,
    // Zero deletes the slot.
    value: fc.oneof(fc.constant(new Uint8Array()), fc.uint8Array({ minLength: 1, maxLength: 32 })),
  }),
  fc.record({
    kind: fc.constant('code' as const),
    at: fc.nat(11),
    code: fc.uint8Array({ minLength: 1, maxLength: 40 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(11) }),
);

function managers() {
  const map = new Map<string, Uint8Array>();
  const trie = new MerklePatriciaTrie({
    db: new MapDB(map),
    useKeyHashing: true,
    valueEncoding: ValueEncoding.Bytes,
  });
  const batched = new BatchedStateManager(
    { trie, caches: new Caches() },
    { get: (k) => map.get(k), put: (k, v) => map.set(k, v) },
  );
  const reference = new MerkleStateManager({ caches: new Caches() });
  return [batched, reference] as const;
}

describe('BatchedStateManager', () => {
  it('has the library’s state root after any rounds of account, storage, code changes and deletions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(change, { maxLength: 25 }), { minLength: 1, maxLength: 5 }),
        async (rounds) => {
          const sms = managers();
          for (const round of rounds) {
            for (const sm of sms) {
              for (const c of round) {
                const a = addresses[c.at];
                if (c.kind === 'account') await sm.putAccount(a, new Account(c.nonce, c.balance));
                else if (c.kind === 'delete') await sm.deleteAccount(a);
                else if ((await sm.getAccount(a)) === undefined) await sm.putAccount(a, new Account(1n, 1n));
                if (c.kind === 'storage') await sm.putStorage(a, c.slot, c.value);
                if (c.kind === 'code') await sm.putCode(a, c.code);
              }
            }
            const [mine, theirs] = await Promise.all(sms.map((sm) => sm.getStateRoot()));
            expect(toHex(mine)).toBe(toHex(theirs));
          }
          // And both read the same state back from their tries (caches dropped).
          const [batched, reference] = sms;
          await batched.setStateRoot(await batched.getStateRoot());
          // The library keeps a deleted account's storage trie cached, so it reads from its trie too.
          await reference.setStateRoot(await reference.getStateRoot());
          for (const a of addresses) {
            const [x, y] = [await batched.getAccount(a), await reference.getAccount(a)];
            expect(x ? toHex(x.serialize()) : null).toBe(y ? toHex(y.serialize()) : null);
            if (x)
              for (let i = 0; i < 6; i++) {
                const s = new Uint8Array(32).fill(i);
                expect(toHex(await batched.getStorage(a, s))).toBe(toHex(await reference.getStorage(a, s)));
              }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
