import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { QuorumCertificate } from '../../src/consensus/certificate.js';
import {
  agreedChainHistory,
  ConsensusDecodeError,
  decodeChainHistory,
  decodeConsensusMessage,
  decodeProposals,
  encodeChainHistory,
  encodeConsensusMessage,
  encodeProposals,
} from '../../src/consensus/codec.js';
import type { ConsensusMessage, Proposal, TimeoutCertificate } from '../../src/consensus/core/types.js';
import { type Hex, toHex } from '../../src/util/bytes.js';

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b) as Hex);
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const sig = fc.uint8Array({ minLength: 0, maxLength: 96 });
const qc: fc.Arbitrary<QuorumCertificate> = fc.record({
  epoch: u64,
  view: u64,
  blockHash: hash,
  signers: fc.bigInt({ min: 0n, max: 2n ** 100n }),
  signature: sig.map((b) => toHex(b) as Hex),
});
const tc: fc.Arbitrary<TimeoutCertificate> = fc.record({
  epoch: u64,
  view: u64,
  timeouts: fc.array(
    fc.record({ voter: fc.integer({ min: 0, max: 1000 }), highQcView: u64, signature: sig }),
    {
      maxLength: 7,
    },
  ),
  highQc: qc,
});
const proposal: fc.Arbitrary<Proposal> = fc.record(
  {
    epoch: u64,
    view: u64,
    author: fc.integer({ min: 0, max: 1000 }),
    block: fc.record({ hash, parent: hash, height: u64, txCount: fc.integer({ min: 0, max: 100_000 }) }),
    justify: qc,
    lastViewTc: tc,
    payload: fc.uint8Array({ maxLength: 300 }),
    signature: sig,
  },
  { requiredKeys: ['epoch', 'view', 'author', 'block', 'justify', 'payload', 'signature'] },
);
const message: fc.Arbitrary<ConsensusMessage> = fc.oneof(
  proposal.map((p) => ({ kind: 'proposal' as const, proposal: p })),
  fc
    .record({
      epoch: u64,
      view: u64,
      blockHash: hash,
      voter: fc.integer({ min: 0, max: 1000 }),
      signature: sig,
    })
    .map((vote) => ({ kind: 'vote' as const, vote })),
  fc
    .record(
      {
        epoch: u64,
        view: u64,
        highQc: qc,
        voter: fc.integer({ min: 0, max: 1000 }),
        signature: sig,
        lastViewTc: tc,
      },
      { requiredKeys: ['epoch', 'view', 'highQc', 'voter', 'signature'] },
    )
    .map((timeout) => ({ kind: 'timeout' as const, timeout })),
  tc.map((t) => ({ kind: 'tc' as const, tc: t })),
  qc.map((q) => ({ kind: 'qc' as const, qc: q })),
);

describe('consensus message codec', () => {
  it('round-trips every message', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodeConsensusMessage(encodeConsensusMessage(m))).toEqual(m);
      }),
    );
    fc.assert(
      fc.property(fc.array(proposal, { maxLength: 4 }), (ps) => {
        expect(decodeProposals(encodeProposals(ps))).toEqual(ps);
      }),
    );
  });

  it('rejects any mutation with a ConsensusDecodeError or decodes it to a well-formed message', () => {
    fc.assert(
      fc.property(message, fc.nat(), fc.integer({ min: 1, max: 255 }), (m, at, x) => {
        const raw = encodeConsensusMessage(m);
        const bad = raw.slice();
        bad[at % bad.length] ^= x;
        try {
          const back = decodeConsensusMessage(bad);
          // Whatever decodes re-encodes to the same bytes: no two encodings of one message.
          expect(encodeConsensusMessage(back)).toEqual(bad);
        } catch (err) {
          expect(err).toBeInstanceOf(ConsensusDecodeError);
        }
      }),
    );
  });

  it('rejects truncated input and junk', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
        try {
          decodeConsensusMessage(junk);
        } catch (err) {
          expect(err).toBeInstanceOf(ConsensusDecodeError);
        }
      }),
    );
  });
});

describe('chain history for a synced member (f+1 answers alike)', () => {
  const block = `0x${'ab'.repeat(32)}` as Hex;
  const history = fc
    .tuple(
      fc.uniqueArray(fc.bigInt({ min: 1n, max: 10_000n }), { maxLength: 64 }),
      fc.uniqueArray(fc.bigInt({ min: 1n, max: 10_000n }), { maxLength: 64 }),
      fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 64, maxLength: 64 }),
    )
    .map(([failed, led, leaders]) => ({
      failedViews: [...failed].sort((a, b) => (a < b ? -1 : 1)),
      led: [...led].sort((a, b) => (a < b ? -1 : 1)).map((view, i) => ({ view, leader: leaders[i] })),
    }));

  it('round-trips, and refuses shapes no chain has', () => {
    fc.assert(
      fc.property(history, (h) => {
        expect(decodeChainHistory(encodeChainHistory(block, h), 7)).toEqual({ blockHash: block, history: h });
      }),
    );
    const h = { failedViews: [3n, 2n], led: [] };
    expect(() => decodeChainHistory(encodeChainHistory(block, h), 7)).toThrow(/ascending/);
    const outside = { failedViews: [], led: [{ view: 1n, leader: 7 }] };
    expect(() => decodeChainHistory(encodeChainHistory(block, outside), 7)).toThrow(/committee index/);
    expect(() => decodeChainHistory(new Uint8Array([1, 2, 3]), 7)).toThrow(ConsensusDecodeError);
  });

  it('takes a history only when f+1 distinct members sent the same one for that block', () => {
    const good = { failedViews: [5n], led: [{ view: 6n, leader: 2 }] };
    const lie = { failedViews: [], led: [{ view: 6n, leader: 3 }] };
    const raw = (h: typeof good) => encodeChainHistory(block, h);
    // One member twice is one member; a liar and junk count for nothing.
    expect(
      agreedChainHistory(
        [
          { member: 1, raw: raw(good) },
          { member: 1, raw: raw(good) },
          { member: 3, raw: raw(lie) },
          { member: 2, raw: new Uint8Array([0xc0]) },
        ],
        block,
        4,
        2,
      ),
    ).toBeUndefined();
    expect(
      agreedChainHistory(
        [
          { member: 3, raw: raw(lie) },
          { member: 1, raw: raw(good) },
          { member: 2, raw: raw(good) },
        ],
        block,
        4,
        2,
      ),
    ).toEqual(good);
    // The same history for another block does not count.
    const other = `0x${'cd'.repeat(32)}` as Hex;
    expect(
      agreedChainHistory(
        [
          { member: 1, raw: encodeChainHistory(other, good) },
          { member: 2, raw: encodeChainHistory(other, good) },
        ],
        block,
        4,
        2,
      ),
    ).toBeUndefined();
  });
});
