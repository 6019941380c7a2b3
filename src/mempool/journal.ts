import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

/**
 * Append-only journal of accepted txs (as geth's transactions.rlp): each record is a 4-byte big-endian
 * length and the raw tx. An append is one write(2) and no fsync, so an acknowledged tx survives the
 * process being killed (the kernel has the bytes), not a power cut. Removals are not journaled: on
 * restart every tx is validated again and included ones drop out. A torn last record is ignored.
 */
export class TxJournal {
  private fd: number;
  private appendedSinceRotate = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
  }

  /** Every complete record in the journal, oldest first. */
  load(): Uint8Array[] {
    if (!existsSync(this.path)) return [];
    const data = readFileSync(this.path);
    const out: Uint8Array[] = [];
    let at = 0;
    while (at + 4 <= data.length) {
      const len = data.readUInt32BE(at);
      if (len === 0 || at + 4 + len > data.length) break;
      out.push(new Uint8Array(data.subarray(at + 4, at + 4 + len)));
      at += 4 + len;
    }
    return out;
  }

  append(raw: Uint8Array): void {
    const record = Buffer.allocUnsafe(4 + raw.length);
    record.writeUInt32BE(raw.length, 0);
    record.set(raw, 4);
    writeSync(this.fd, record);
    this.appendedSinceRotate++;
  }

  /** True when the journal holds many more records than the pool: time to rewrite it. */
  needsRotation(poolSize: number): boolean {
    return this.appendedSinceRotate > Math.max(10_000, 4 * poolSize);
  }

  /** Replaces the journal with exactly `txs` (write a new file, fsync, rename over the old one). */
  rotate(txs: Iterable<Uint8Array>): void {
    const tmp = `${this.path}.new`;
    const fd = openSync(tmp, 'w');
    for (const raw of txs) {
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32BE(raw.length, 0);
      writeSync(fd, len);
      writeSync(fd, raw);
    }
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.path);
    closeSync(this.fd);
    this.fd = openSync(this.path, 'a');
    this.appendedSinceRotate = 0;
  }

  close(): void {
    closeSync(this.fd);
  }
}
