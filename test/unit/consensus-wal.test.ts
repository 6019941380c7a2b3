import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { QuorumCertificate } from '../../src/consensus/certificate.js';
import type { Proposal } from '../../src/consensus/core/types.js';
import { startFromWal } from '../../src/consensus/driver/driver.js';
import { FileWal } from '../../src/consensus/driver/file-wal.js';
import type { Hex } from '../../src/util/bytes.js';

const h = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;
const qc = (view: number, block: number): QuorumCertificate => ({
  epoch: 0n,
  view: BigInt(view),
  blockHash: h(block),
  signers: 7n,
  signature: `0x${'ab'.repeat(96)}`,
});
const proposal = (n: number): Proposal => ({
  epoch: 0n,
  view: BigInt(n),
  author: n % 4,
  block: { hash: h(n), parent: h(n - 1), height: BigInt(n), txCount: 1 },
  justify: qc(n - 1, n - 1),
  payload: new Uint8Array(200).fill(n % 256),
  signature: new Uint8Array(96).fill(1),
});

describe('consensus WAL (file)', () => {
  it('keeps the uncommitted proposals and newest certificates across a reopen, and compacts once most records are dead', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'seqnet-wal-')), 'wal');
    const wal = new FileWal(path);
    let biggest = 0;
    for (let n = 1; n <= 600; n++) {
      wal.append({ kind: 'proposal', proposal: proposal(n) });
      wal.append({ kind: 'qc', qc: qc(n, n) });
      // Block n−2 commits once block n is certified (two-chain rule).
      if (n > 2) wal.prune(BigInt(n - 2));
      biggest = Math.max(biggest, statSync(path).size);
    }
    wal.close();
    // Commits no longer rewrite the file each time, but it stays bounded.
    expect(biggest).toBeLessThan(256 * 2 * 400);
    const back = new FileWal(path).load();
    const live = back.filter((e) => e.kind === 'proposal' && e.proposal.block.height > 598n);
    expect(live.map((e) => (e.kind === 'proposal' ? e.proposal.block.height : 0n))).toEqual([599n, 600n]);
    const views = back.flatMap((e) => (e.kind === 'qc' ? [e.qc.view] : []));
    expect(views).toContain(600n);
    expect(back.length).toBeLessThanOrEqual(512);
  });
  it("keeps the newest root's failed views and proposers across a reopen, and a restart starts its root with them", () => {
    const path = join(mkdtempSync(join(tmpdir(), 'seqnet-wal-')), 'wal');
    const wal = new FileWal(path);
    for (let n = 1; n <= 300; n++) {
      wal.append({ kind: 'proposal', proposal: proposal(n) });
      if (n > 2) {
        wal.append({
          kind: 'history',
          blockHash: h(n - 2),
          failedViews: [BigInt(n), BigInt(n) + 7n],
          led: [{ view: BigInt(n) + 1n, leader: n % 4 }],
        });
        wal.prune(BigInt(n - 2));
      }
    }
    wal.close();
    const back = new FileWal(path).load();
    const histories = back.filter((e) => e.kind === 'history');
    // (Records since the last rewrite come back; a rewrite keeps only the newest.)
    expect(histories.at(-1)).toEqual({
      kind: 'history',
      blockHash: h(298),
      failedViews: [300n, 307n],
      led: [{ view: 301n, leader: 0 }],
    });
    expect(histories.length).toBeLessThan(256);
    const root = { block: proposal(298).block, qc: qc(298, 298) };
    expect(startFromWal(root, back).root.failedViews).toEqual([300n, 307n]);
    expect(startFromWal(root, back).root.led).toEqual([{ view: 301n, leader: 0 }]);
    // Another root (e.g. one a block sync brought): its failed views are not known.
    const other = { block: proposal(299).block, qc: qc(299, 299) };
    expect(startFromWal(other, back).root.failedViews).toBeUndefined();
  });
});
