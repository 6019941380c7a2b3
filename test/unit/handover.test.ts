import { describe, expect, it } from 'vitest';
import type { QuorumCertificate } from '../../src/consensus/certificate.js';
import type { CommittedBlock, Proposal } from '../../src/consensus/core/types.js';
import {
  closesInstance,
  type Instance,
  instanceBlockError,
  instanceRootQc,
  isInstanceRootQc,
  messageEpoch,
  originForBlock,
  syncedBlockError,
} from '../../src/consensus/handover.js';
import type { Hex } from '../../src/util/bytes.js';

const h = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;
const instance: Instance = { epoch: 3n, root: h(10) };
const qc = (epoch: bigint, view: bigint, block: number): QuorumCertificate => ({
  epoch,
  view,
  blockHash: h(block),
  signers: 0b111n,
  signature: '0x01',
});
const proposal = (epoch: bigint, view: bigint, block: number, parent: number): Proposal => ({
  epoch,
  view,
  author: 0,
  block: { hash: h(block), parent: h(parent), height: BigInt(block), txCount: 0 },
  justify: qc(epoch, view - 1n, parent),
  payload: new Uint8Array(),
  signature: new Uint8Array([1]),
});
const committed = (over: Partial<CommittedBlock> = {}): CommittedBlock => ({
  proposal: proposal(3n, 2n, 12, 11),
  qcs: [qc(3n, 2n, 12), qc(3n, 3n, 13)],
  through: h(12),
  ...over,
});
const verifying = { verifyProposal: () => true, verifyQc: () => true };

describe('handing certification to the next committee', () => {
  it('starts an instance from a view-0 QC of its own epoch on its root, and takes no other as one', () => {
    const root = instanceRootQc(instance);
    expect(root).toMatchObject({ epoch: 3n, view: 0n, blockHash: h(10), signers: 0n });
    expect(isInstanceRootQc(root, instance)).toBe(true);
    expect(isInstanceRootQc(root, { epoch: 4n, root: h(10) })).toBe(false); // another epoch's
    expect(isInstanceRootQc(root, { epoch: 3n, root: h(11) })).toBe(false); // another root
    expect(isInstanceRootQc({ ...root, signers: 1n }, instance)).toBe(false);
    expect(isInstanceRootQc(qc(3n, 1n, 10), instance)).toBe(false);
  });

  it("keeps the root's epoch in an instance's first block, then follows the clock, never going back", () => {
    expect(originForBlock(instance, h(10), 3n, 7n)).toBe(3n); // first block: the clock is ahead
    expect(originForBlock(instance, h(11), 3n, 7n)).toBe(7n);
    expect(originForBlock(instance, h(11), 5n, 4n)).toBe(5n); // never below the parent's
    expect(closesInstance(3n, 3n)).toBe(false);
    expect(closesInstance(3n, 4n)).toBe(true);
  });

  it('lets a block past the epoch in only empty, and never as the first block', () => {
    expect(instanceBlockError(instance, { parent: h(11), txCount: 5 }, 3n)).toBeNull();
    expect(instanceBlockError(instance, { parent: h(11), txCount: 0 }, 4n)).toBeNull(); // B or the suffix
    expect(instanceBlockError(instance, { parent: h(11), txCount: 1 }, 4n)).toMatch(
      /origin epoch 4 in epoch 3's instance holds 1 txs: it closes the instance and must be empty/,
    );
    expect(instanceBlockError(instance, { parent: h(10), txCount: 0 }, 4n)).toMatch(
      /first block of epoch 3's instance has origin epoch 4: it keeps its root's/,
    );
  });

  it("takes a synced block only with a proof of its instance's epoch, through the block it names, in consecutive views", () => {
    expect(syncedBlockError(instance, committed(), verifying)).toBeNull();
    // Committed through a descendant: the pair is the descendant's.
    expect(
      syncedBlockError(
        instance,
        committed({ qcs: [qc(3n, 5n, 14), qc(3n, 6n, 15)], through: h(14) }),
        verifying,
      ),
    ).toBeNull();
    expect(
      syncedBlockError(instance, committed({ qcs: [qc(3n, 2n, 12), qc(2n, 3n, 13)] }), verifying),
    ).toMatch(/certified in epoch 3 \(QCs 3, 2\), not in the instance's 3/);
    expect(syncedBlockError(instance, committed({ proposal: proposal(2n, 2n, 12, 11) }), verifying)).toMatch(
      /certified in epoch 2/,
    );
    expect(syncedBlockError(instance, committed({ through: h(13) }), verifying)).toMatch(
      /first QC is not of the block it was committed through/,
    );
    expect(
      syncedBlockError(instance, committed({ qcs: [qc(3n, 2n, 12), qc(3n, 4n, 13)] }), verifying),
    ).toMatch(/second QC is not of the next view/);
    expect(syncedBlockError(instance, committed(), { ...verifying, verifyQc: () => false })).toMatch(
      /its proof does not verify/,
    );
    expect(syncedBlockError(instance, committed(), { ...verifying, verifyProposal: () => false })).toMatch(
      /its proposal does not verify/,
    );
  });

  it('names the instance of every kind of consensus message', () => {
    const p = proposal(6n, 1n, 12, 11);
    const tc = { epoch: 9n, view: 1n, timeouts: [], highQc: qc(6n, 0n, 11) };
    expect([
      messageEpoch({ kind: 'proposal', proposal: p }),
      messageEpoch({
        kind: 'vote',
        vote: { epoch: 7n, view: 1n, blockHash: h(12), voter: 1, signature: new Uint8Array() },
      }),
      messageEpoch({
        kind: 'timeout',
        timeout: { epoch: 8n, view: 1n, highQc: qc(6n, 0n, 11), voter: 1, signature: new Uint8Array() },
      }),
      messageEpoch({ kind: 'tc', tc }),
      messageEpoch({ kind: 'qc', qc: qc(10n, 1n, 12) }),
    ]).toEqual([6n, 7n, 8n, 9n, 10n]);
  });
});
