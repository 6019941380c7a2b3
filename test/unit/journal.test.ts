import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TxJournal } from '../../src/mempool/journal.js';

const tx = (n: number) => new Uint8Array(50 + n).fill(n);

describe('mempool journal', () => {
  it('keeps every appended tx across reopen, ignores a torn last record, and rotates to the live set', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'seqnet-journal-')), 'mempool.journal');
    const j = new TxJournal(path);
    for (let i = 0; i < 5; i++) j.append(tx(i));
    j.close();
    // A crash mid-write leaves half a record at the end.
    appendFileSync(path, Buffer.from([0, 0, 0, 200, 1, 2, 3]));
    const reopened = new TxJournal(path);
    expect(reopened.load()).toEqual([0, 1, 2, 3, 4].map(tx));
    reopened.rotate([tx(1), tx(3)]);
    reopened.append(tx(7));
    expect(reopened.load()).toEqual([tx(1), tx(3), tx(7)]);
    expect(readFileSync(path).length).toBe(3 * 4 + tx(1).length + tx(3).length + tx(7).length);
    expect(reopened.needsRotation(0)).toBe(false);
    reopened.close();
  });
});
