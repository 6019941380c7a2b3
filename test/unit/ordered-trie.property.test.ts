import { MerklePatriciaTrie } from '@ethereumjs/mpt';
import { RLP } from '@ethereumjs/rlp';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { orderedTrieRoot } from '../../src/execution/ordered-trie.js';
import { toHex } from '../../src/util/bytes.js';

async function referenceRoot(values: Uint8Array[]): Promise<string> {
  const trie = new MerklePatriciaTrie();
  for (let i = 0; i < values.length; i++) await trie.put(RLP.encode(i), values[i]);
  return toHex(trie.root());
}

describe('orderedTrieRoot', () => {
  it('equals the general trie root for any list of values (sizes across the RLP(i) key boundaries)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 80 }), { maxLength: 300 }),
        async (values) => {
          expect(toHex(orderedTrieRoot(values))).toBe(await referenceRoot(values));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('matches at the sizes where RLP(i) changes length', async () => {
    for (const n of [0, 1, 2, 16, 17, 127, 128, 129, 256, 1000]) {
      const values = Array.from({ length: n }, (_, i) => new Uint8Array(40 + (i % 50)).fill(i & 0xff));
      expect(toHex(orderedTrieRoot(values)), `n=${n}`).toBe(await referenceRoot(values));
    }
  });
});
