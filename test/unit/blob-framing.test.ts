import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BLOB_FRAMING_HEADER,
  BlobFramingError,
  BYTES_PER_BLOB,
  BYTES_PER_FIELD_ELEMENT,
  blobCapacity,
  blobSidecars,
  blobsNeeded,
  decodeBlobs,
  encodeBlobs,
  FIELD_ELEMENTS_PER_BLOB,
  MAX_BLOBS_PER_TX,
  USABLE_BYTES_PER_BLOB,
} from '../../src/batcher/blobs.js';
import { BlobSourceError, batchFromBlobs } from '../../src/derive/blob-source.js';

const ONE_BLOB = blobCapacity(1); // 126971: the most one blob carries

/** Lengths around every edge, plus random ones up to what one tx's six blobs carry. */
const lengths = fc.oneof(
  fc.constantFrom(
    0,
    1,
    30,
    31,
    32,
    USABLE_BYTES_PER_BLOB - BLOB_FRAMING_HEADER - 1,
    ONE_BLOB,
    ONE_BLOB + 1,
    blobCapacity(2),
    blobCapacity(2) + 1,
    blobCapacity(MAX_BLOBS_PER_TX),
  ),
  fc.integer({ min: 0, max: 3 * USABLE_BYTES_PER_BLOB }),
  fc.integer({ min: 0, max: blobCapacity(MAX_BLOBS_PER_TX) }),
);

describe('blob framing', () => {
  it('round-trips any payload, in as few blobs as fit, every field element below the modulus', () => {
    fc.assert(
      fc.property(lengths, (length) => {
        const data = new Uint8Array(randomBytes(length));
        const blobs = encodeBlobs(data);
        expect(blobs.length).toBe(blobsNeeded(length));
        expect(blobs.length).toBe(
          Math.max(1, Math.ceil((length + BLOB_FRAMING_HEADER) / USABLE_BYTES_PER_BLOB)),
        );
        for (const blob of blobs) {
          expect(blob.length).toBe(BYTES_PER_BLOB);
          let high = 0;
          for (let i = 0; i < FIELD_ELEMENTS_PER_BLOB; i++) high |= blob[i * BYTES_PER_FIELD_ELEMENT];
          expect(high).toBe(0);
        }
        // Buffer.equals: vitest's deep equality is slow on arrays of ~750 kB.
        expect(Buffer.from(decodeBlobs(blobs)).equals(Buffer.from(data))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('fills exactly one blob at its capacity and spills into a second one byte later', () => {
    expect(ONE_BLOB).toBe(4096 * 31 - 5);
    expect(encodeBlobs(new Uint8Array(ONE_BLOB).fill(0xff))).toHaveLength(1);
    const full = encodeBlobs(new Uint8Array(ONE_BLOB).fill(0xff))[0];
    // Every payload byte of the last field element is used.
    expect(full.subarray(BYTES_PER_BLOB - 31)).toEqual(new Uint8Array(31).fill(0xff));
    expect(encodeBlobs(new Uint8Array(ONE_BLOB + 1))).toHaveLength(2);
    expect(encodeBlobs(new Uint8Array(0))).toHaveLength(1);
    expect(decodeBlobs(encodeBlobs(new Uint8Array(0)))).toEqual(new Uint8Array(0));
  });

  it('lays the stream out as documented: version 1, 4-byte big-endian length, data, zero padding', () => {
    const data = Uint8Array.from({ length: 40 }, (_, i) => i + 1);
    const [blob] = encodeBlobs(data);
    // Field element 0: 0x00, then version, length (00 00 00 28), then the first 26 data bytes.
    expect([...blob.subarray(0, 6)]).toEqual([0, 1, 0, 0, 0, 40]);
    expect([...blob.subarray(6, 32)]).toEqual([...data.subarray(0, 26)]);
    // Field element 1: 0x00, then data bytes 27..40, then zeros.
    expect(blob[32]).toBe(0);
    expect([...blob.subarray(33, 33 + 14)]).toEqual([...data.subarray(26)]);
    expect(blob.subarray(33 + 14).every((b) => b === 0)).toBe(true);
  });

  it('refuses anything but the canonical framing', () => {
    const data = new Uint8Array(randomBytes(1000));
    const good = () => encodeBlobs(data).map((b) => new Uint8Array(b));
    const expectRefused = (blobs: Uint8Array[], why: RegExp) => {
      expect(() => decodeBlobs(blobs)).toThrow(BlobFramingError);
      expect(() => decodeBlobs(blobs)).toThrow(why);
    };
    expectRefused([], /no blobs/);
    const highByte = good();
    highByte[0][32 * 7] = 1;
    expectRefused(highByte, /field element 7: first byte/);
    const version = good();
    version[0][1] = 2;
    expectRefused(version, /unknown blob framing version 2/);
    const padding = good();
    padding[0][BYTES_PER_BLOB - 1] = 1;
    expectRefused(padding, /non-zero padding/);
    const tooLong = good();
    tooLong[0][2] = 0xff; // length 0xff0003e8
    expectRefused(tooLong, /exceeds/);
    expectRefused([...good(), new Uint8Array(BYTES_PER_BLOB)], /2 blobs for 1000 bytes, which need 1/);
    expectRefused([good()[0].subarray(0, 1000)], /is 1000 bytes/);
  });
});

describe('batchFromBlobs (versioned hashes)', () => {
  it('returns the payload when every blob matches its versioned hash, and refuses any mismatch', async () => {
    const data = new Uint8Array(randomBytes(ONE_BLOB + 5000));
    const { blobs, versionedHashes } = await blobSidecars(encodeBlobs(data));
    expect(blobs).toHaveLength(2);
    for (const h of versionedHashes) expect(h).toMatch(/^0x01[0-9a-f]{62}$/);
    expect(await batchFromBlobs(blobs, versionedHashes)).toEqual(data);

    // One payload byte changed: still a valid blob, but not the one committed to.
    const tampered = blobs.map((b) => new Uint8Array(b));
    tampered[1][100] ^= 1;
    await expect(batchFromBlobs(tampered, versionedHashes)).rejects.toThrow(BlobSourceError);
    await expect(batchFromBlobs(tampered, versionedHashes)).rejects.toThrow(
      /blob 1 does not match its versioned hash/,
    );
    // Blobs in the wrong order, a missing blob, a blob that is no field-element vector at all.
    await expect(batchFromBlobs([blobs[1], blobs[0]], versionedHashes)).rejects.toThrow(
      /blob 0 does not match/,
    );
    await expect(batchFromBlobs([blobs[0]], versionedHashes)).rejects.toThrow(
      /1 blobs for 2 versioned hashes/,
    );
    const overModulus = blobs.map((b) => new Uint8Array(b));
    overModulus[0].fill(0xff, 0, 32);
    await expect(batchFromBlobs(overModulus, versionedHashes)).rejects.toThrow(/blob 0 is not a valid blob/);
  });
});
