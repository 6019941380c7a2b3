import { MerklePatriciaTrie } from '@ethereumjs/mpt';
import { RLP } from '@ethereumjs/rlp';
import { MapDB, ValueEncoding } from '@ethereumjs/util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRlp, type NodeStore, type TrieOp, updateTrie } from '../../src/execution/batch-trie.js';
import { toHex } from '../../src/util/bytes.js';

/** Keys that share prefixes often (the first two bytes come from a few values), so that extension
 * nodes, splits and collapses all happen. */
const key = fc
  .tuple(
    fc.constantFrom(0x00, 0x01, 0x10, 0xff),
    fc.constantFrom(0x00, 0x0f, 0x80),
    fc.uint8Array({ minLength: 30, maxLength: 30 }),
  )
  .map(([a, b, rest]) => Uint8Array.from([a, b, ...rest]));
const value = fc.uint8Array({ minLength: 1, maxLength: 70 });
/** Deletes often name keys that exist (`pick` indexes the keys seen so far). */
const op = fc.oneof(
  fc.tuple(key, value).map(([k, v]) => ({ kind: 'put' as const, key: k, value: v })),
  fc.tuple(key, fc.boolean()).map(([k, existing]) => ({ kind: 'del' as const, key: k, existing })),
  fc.tuple(fc.nat(), value).map(([pick, v]) => ({ kind: 'update' as const, pick, value: v })),
);

describe('updateTrie', () => {
  it('gives @ethereumjs/mpt’s root for any sequence of batches of puts and deletes, in a store the library reads', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(op, { maxLength: 40 }), { minLength: 1, maxLength: 6 }),
        async (batches) => {
          const map = new Map<string, Uint8Array>();
          const store: NodeStore = { get: (k) => map.get(k), put: (k, v) => map.set(k, v) };
          const reference = new MerklePatriciaTrie({
            db: new MapDB(new Map()),
            valueEncoding: ValueEncoding.Bytes,
          });
          let root = reference.root();
          const live = new Map<string, Uint8Array>();
          const seen: Uint8Array[] = [];
          for (const batch of batches) {
            const ops: TrieOp[] = [];
            for (const o of batch) {
              if (o.kind === 'put') {
                ops.push([o.key, o.value]);
                seen.push(o.key);
              } else if (o.kind === 'del') {
                ops.push([o.existing && seen.length ? seen[o.key[5] % seen.length] : o.key, null]);
              } else if (seen.length) {
                ops.push([seen[o.pick % seen.length], o.value]);
              }
            }
            for (const [k, v] of ops) {
              if (v) await reference.put(k, v);
              else await reference.del(k);
              if (v) live.set(toHex(k), v);
              else live.delete(toHex(k));
            }
            root = updateTrie(root, ops, store);
            expect(toHex(root)).toBe(toHex(reference.root()));
          }
          // The library finds every live key, and only those, under our root in our store.
          const reader = new MerklePatriciaTrie({
            db: new MapDB(map),
            valueEncoding: ValueEncoding.Bytes,
            root,
          });
          for (const k of seen) {
            const got = await reader.get(k);
            const want = live.get(toHex(k));
            expect(got ? toHex(got) : null).toBe(want ? toHex(want) : null);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('encodes node structures exactly as @ethereumjs/rlp does', () => {
    type Item = Uint8Array | Item[];
    const { item } = fc.letrec<{ item: Item }>((tie) => ({
      item: fc.oneof(
        { depthSize: 'small' },
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ minLength: 1, maxLength: 1 }),
        fc.array(tie('item'), { maxLength: 20 }),
      ),
    }));
    fc.assert(
      fc.property(item, (x) => {
        expect(toHex(encodeRlp(x))).toBe(toHex(RLP.encode(x)));
      }),
      { numRuns: 500 },
    );
  });
});
