import { RLP } from '@ethereumjs/rlp';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTxBatch, encodeTxBatch } from '../../src/p2p/tx-gossip.js';

describe('TxGossip batch codec', () => {
  it('round-trips any non-empty list of non-empty txs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 50 }),
        (txs) => {
          expect(decodeTxBatch(encodeTxBatch(txs))).toEqual(txs);
        },
      ),
    );
  });

  it('rejects what is not a flat non-empty list of non-empty byte strings', () => {
    expect(decodeTxBatch(RLP.encode([]))).toBeUndefined();
    expect(decodeTxBatch(RLP.encode(Uint8Array.from([1, 2])))).toBeUndefined();
    expect(decodeTxBatch(RLP.encode([Uint8Array.from([1]), [Uint8Array.from([2])]]))).toBeUndefined();
    expect(decodeTxBatch(RLP.encode([new Uint8Array(0)]))).toBeUndefined();
    expect(decodeTxBatch(Uint8Array.from([0xf8]))).toBeUndefined();
    const ok = RLP.encode([Uint8Array.from([1])]);
    expect(decodeTxBatch(Uint8Array.from([...ok, 0]))).toBeUndefined(); // trailing byte
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        decodeTxBatch(bytes);
      }),
    );
  });
});
