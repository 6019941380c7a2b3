import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitBatch } from '../../src/batcher/batch-size.js';
import { readBlocks } from '../../src/batcher/batcher.js';
import { decodeBatch, encodeBatch, encodeBatchAsync } from '../../src/batcher/codec.js';
import { ChainStore } from '../../src/store/chain-store.js';
import {
  encodeSequencedBlock,
  hashSequencedBlock,
  type SequencedBlock,
} from '../../src/types/sequenced-block.js';
import { linkedBlocks, signedTransfers } from '../helpers/blocks.js';

const TXS_PER_BLOCK = 10;
const BLOCKS = 120;
/** A limit ~8× below the whole chain's compressed size (1,200 signed transfers, ~85 KB). */
const MAX_BYTES = 10_000;

let chain: SequencedBlock[];
const encode = (b: SequencedBlock[]) => encodeBatchAsync(b, 'brotli');

beforeAll(async () => {
  const txs = await signedTransfers(BLOCKS * TXS_PER_BLOCK);
  const lists = Array.from({ length: BLOCKS }, (_, h) =>
    txs.slice(h * TXS_PER_BLOCK, (h + 1) * TXS_PER_BLOCK),
  );
  chain = linkedBlocks(lists);
});

describe('fitBatch and readBlocks: the next batch out of a backlog', () => {
  it('cuts a backlog many times the limit in a few encodings, to a batch nearly full and under the limit', async () => {
    expect(encodeBatch(chain).length).toBeGreaterThan(6 * MAX_BYTES);
    const ends = chain.map((_, i) => i);
    const fitted = await fitBatch(chain, ends, MAX_BYTES, encode);
    expect(fitted.data.length).toBeLessThanOrEqual(MAX_BYTES);
    expect(fitted.data.length).toBeGreaterThan(0.8 * MAX_BYTES);
    // Halving would take five (85 KB → 43 → 21 → 11 → 5.3 KB) and leave the batch half full.
    expect(fitted.encodes).toBeLessThanOrEqual(3);
    expect(fitted.blocks).toEqual(chain.slice(0, fitted.blocks.length));
    expect(decodeBatch(fitted.data)).toEqual(fitted.blocks);
    // Nearly as long as it could be: two blocks more would not fit (each is ~0.7 KB compressed).
    const longer = await encode(chain.slice(0, fitted.blocks.length + 2));
    expect(longer.length).toBeGreaterThan(MAX_BYTES);
  });

  it("places the next batch by the last one's ratio: one encoding, never the backlog whole; a wrong ratio costs one or two more", async () => {
    const ends = (b: SequencedBlock[]) => b.map((_, i) => i);
    const first = await fitBatch(chain, ends(chain), MAX_BYTES, encode);
    const rest = chain.slice(first.blocks.length);
    const next = await fitBatch(rest, ends(rest), MAX_BYTES, encode, first.ratio);
    expect(next.encodes).toBe(1);
    expect(next.data.length).toBeLessThanOrEqual(MAX_BYTES);
    expect(next.data.length).toBeGreaterThan(0.8 * MAX_BYTES);
    expect(decodeBatch(next.data)).toEqual(rest.slice(0, next.blocks.length));

    // A ratio 4× too high cuts a quarter batch: lengthened by its own ratio.
    const short = await fitBatch(rest, ends(rest), MAX_BYTES, encode, first.ratio * 4);
    expect(short.encodes).toBeLessThanOrEqual(3);
    expect(short.data.length).toBeLessThanOrEqual(MAX_BYTES);
    expect(short.data.length).toBeGreaterThan(0.8 * MAX_BYTES);
    // 4× too low: a cut four batches long, shortened by its own ratio.
    const long = await fitBatch(rest, ends(rest), MAX_BYTES, encode, first.ratio / 4);
    expect(long.encodes).toBeLessThanOrEqual(3);
    expect(long.data.length).toBeLessThanOrEqual(MAX_BYTES);
    expect(long.data.length).toBeGreaterThan(0.8 * MAX_BYTES);
  });

  it('ends only where a batch may end (a committee block its own proof commits)', async () => {
    const ends = chain.map((_, i) => i).filter((i) => i % 7 === 3 || i === chain.length - 1);
    const fitted = await fitBatch(chain, ends, MAX_BYTES, encode);
    expect(ends).toContain(fitted.blocks.length - 1);
    expect(fitted.data.length).toBeLessThanOrEqual(MAX_BYTES);
    // The allowed end after it would not fit.
    const next = ends.find((i) => i > fitted.blocks.length - 1);
    expect(next).toBeDefined();
    expect((await encode(chain.slice(0, (next ?? 0) + 1))).length).toBeGreaterThan(MAX_BYTES);
  });

  it('takes everything in one encoding when it fits, and a lone oversized block as it is', async () => {
    const few = chain.slice(0, 2);
    const whole = await fitBatch(few, [0, 1], MAX_BYTES, encode);
    expect(whole).toMatchObject({ blocks: few, data: encodeBatch(few), encodes: 1 });

    // The shortest batch that may end is still over the limit: it goes (calldata has no hard limit;
    // the batcher refuses it for blobs).
    const tight = await fitBatch(chain, [5, chain.length - 1], 1_000, encode);
    expect(tight.blocks).toEqual(chain.slice(0, 6));
    expect(tight.data.length).toBeGreaterThan(1_000);
  });

  it('reads a backlog from the chain store only about as deep as the byte budget', async () => {
    const store = new ChainStore(join(mkdtempSync(join(tmpdir(), 'seqnet-batch-read-')), 'chain'));
    try {
      // One lmdb write for all (each putBlock awaited alone is a commit of its own).
      await Promise.all(
        chain.map((b) =>
          store.putBlock({
            height: b.height,
            sequenced: encodeSequencedBlock(b),
            executed: new Uint8Array(),
            executedHash: `0x${b.height.toString(16).padStart(64, '0')}`,
            receipts: [],
            proof: new Uint8Array(),
            txHashes: [],
          }),
        ),
      );
      const hashes = (bs: SequencedBlock[]) => bs.map(hashSequencedBlock);
      const to = BigInt(chain.length);
      expect(hashes(readBlocks(store, 1n, to))).toEqual(hashes(chain));
      const size = encodeSequencedBlock(chain[0]).length;
      // Blocks until the one whose bytes reach the budget, that one included.
      const read = readBlocks(store, 1n, to, 10.5 * size);
      expect(read.length).toBeGreaterThanOrEqual(10);
      expect(read.length).toBeLessThanOrEqual(12);
      expect(hashes(read)).toEqual(hashes(chain.slice(0, read.length)));
      const bytes = read.reduce((n, b) => n + encodeSequencedBlock(b).length, 0);
      expect(bytes).toBeGreaterThanOrEqual(10.5 * size - size / 2);
      expect(hashes(readBlocks(store, 5n, 5n, 1))).toEqual(hashes([chain[4]]));
      expect(() => readBlocks(store, to, to + 1n)).toThrow(
        `sequenced block ${to + 1n} missing from the store`,
      );
    } finally {
      await store.close();
    }
  });

  it('refuses an empty batch and one that cannot end at its last block', async () => {
    await expect(fitBatch([], [], MAX_BYTES, encode)).rejects.toThrow('at least one block');
    await expect(fitBatch(chain, [3], MAX_BYTES, encode)).rejects.toThrow('end at its last block');
  });
});
