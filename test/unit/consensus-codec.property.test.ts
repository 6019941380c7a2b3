import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { QuorumCertificate } from '../../src/consensus/certificate.js';
import {
  ConsensusDecodeError,
  decodeConsensusMessage,
  decodeProposals,
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
