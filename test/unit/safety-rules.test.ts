import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { QuorumCertificate } from '../../src/consensus/certificate.js';
import type { Proposal } from '../../src/consensus/core/types.js';
import { FileSafetyStorage } from '../../src/consensus/safety/file-storage.js';
import { type MessageSigner, SafetyRules } from '../../src/consensus/safety/safety-rules.js';
import type { Hex } from '../../src/util/bytes.js';

const h = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;
const qc = (view: bigint, block: number): QuorumCertificate => ({
  epoch: 0n,
  view,
  blockHash: h(block),
  signers: 0b111n,
  signature: '0x01',
});
const proposal = (view: bigint, block: number, justify: QuorumCertificate): Proposal => ({
  epoch: 0n,
  view,
  author: 1,
  block: { hash: h(block), parent: justify.blockHash, height: BigInt(block), txCount: 1 },
  justify,
  payload: new Uint8Array(),
  signature: new Uint8Array(),
});

/** Records what it signed, so a test can see that nothing conflicting ever was. */
function recordingSigner(): MessageSigner & { votes: Array<[bigint, Hex]> } {
  const votes: Array<[bigint, Hex]> = [];
  return {
    votes,
    signVote: (_e, view, hash) => {
      votes.push([view, hash]);
      return new Uint8Array([1]);
    },
    signTimeout: () => new Uint8Array([2]),
    signProposal: () => new Uint8Array([3]),
  };
}

const dir = () => mkdtempSync(join(tmpdir(), 'seqnet-safety-'));

describe('safety rules', () => {
  it('signs one vote per view, and the same vote again after a restart, never a conflicting one', () => {
    const path = join(dir(), 'safety.json');
    const signer = recordingSigner();
    const a = new SafetyRules(new FileSafetyStorage(path), signer, 0, 0n, { freshChain: true });
    expect(a.signVote(proposal(1n, 1, qc(0n, 0)))).toBeDefined();
    expect(a.signVote(proposal(1n, 2, qc(0n, 0)))).toBeUndefined(); // same view, other block
    expect(a.signVote(proposal(2n, 3, qc(1n, 1)))).toBeDefined();
    // Restart from the file: the floor blocks the first view it sees, and view 2 stays voted.
    const b = new SafetyRules(new FileSafetyStorage(path), signer, 0, 0n, { freshChain: false });
    expect(b.state.lastVotedView).toBe(2n);
    expect(b.signVote(proposal(2n, 4, qc(1n, 1)))).toBeUndefined();
    b.observeView(3n);
    expect(b.signVote(proposal(3n, 5, qc(2n, 3)))).toBeUndefined(); // the restart view itself
    expect(b.signVote(proposal(4n, 6, qc(3n, 5)))).toBeDefined();
    const views = signer.votes.map(([v]) => v);
    expect(new Set(views).size).toBe(views.length);
  });

  it('times out before the restart floor is set, and still does not vote in that view', () => {
    const path = join(dir(), 'safety.json');
    const a = new SafetyRules(new FileSafetyStorage(path), recordingSigner(), 0, 0n, { freshChain: true });
    expect(a.signVote(proposal(6n, 1, qc(5n, 0)))).toBeDefined();
    // Restarted into view 7 from its WAL, before any message from the network: no floor yet.
    const b = new SafetyRules(new FileSafetyStorage(path), recordingSigner(), 0, 0n, { freshChain: false });
    expect(b.signVote(proposal(7n, 2, qc(6n, 1)))).toBeUndefined();
    const t = b.signTimeout(7n, qc(6n, 1));
    expect(t).toMatchObject({ view: 7n, voter: 0 });
    expect(b.state.lastVotedView).toBe(7n);
    // Timed out in 7: no vote there, also once the floor comes; the next view is voted in.
    b.observeView(7n);
    expect(b.signVote(proposal(7n, 2, qc(6n, 1)))).toBeUndefined();
    expect(b.signTimeout(6n, qc(5n, 0))).toBeUndefined(); // an older view
    expect(b.signVote(proposal(8n, 3, qc(7n, 2)))).toBeDefined();
  });

  it('votes only on a QC of the previous view or the highest QC of a TC of the previous view', () => {
    const s = new SafetyRules(new FileSafetyStorage(join(dir(), 's.json')), recordingSigner(), 0, 0n, {
      freshChain: true,
    });
    expect(s.signVote(proposal(5n, 1, qc(3n, 0)))).toBeUndefined(); // gap, no TC
    const tc = {
      epoch: 0n,
      view: 4n,
      timeouts: [
        { voter: 0, highQcView: 3n, signature: new Uint8Array() },
        { voter: 1, highQcView: 2n, signature: new Uint8Array() },
        { voter: 2, highQcView: 3n, signature: new Uint8Array() },
      ],
      highQc: qc(3n, 0),
    };
    expect(s.signVote({ ...proposal(5n, 1, qc(2n, 0)), lastViewTc: tc })).toBeUndefined(); // below the TC's high QC
    expect(s.signVote({ ...proposal(5n, 1, qc(3n, 0)), lastViewTc: tc })).toBeDefined();
  });

  it('after a timeout in a view, never votes in it; timeouts never go back', () => {
    const s = new SafetyRules(new FileSafetyStorage(join(dir(), 's.json')), recordingSigner(), 0, 0n, {
      freshChain: true,
    });
    expect(s.signTimeout(1n, qc(0n, 0))).toBeDefined();
    expect(s.signTimeout(1n, qc(0n, 0))).toBeDefined(); // re-sent
    expect(s.signVote(proposal(1n, 1, qc(0n, 0)))).toBeUndefined();
    expect(s.signProposal({ ...proposal(2n, 2, qc(1n, 1)), author: 0 })).toBeDefined();
    expect(s.signProposal({ ...proposal(2n, 3, qc(1n, 1)), author: 0 })).toBeUndefined(); // double proposal
  });

  it("enters a new epoch's instance with a fresh record; only a continuing process skips the floor", () => {
    const path = join(dir(), 'safety.json');
    const a = new SafetyRules(new FileSafetyStorage(path), recordingSigner(), 0, 0n, { freshChain: true });
    expect(a.signVote(proposal(9n, 1, qc(8n, 0)))).toBeDefined();
    // The same process leaves epoch 0's instance for epoch 1's: views count from 1 again, under epoch 1.
    const e1 = (p: Proposal): Proposal => ({ ...p, epoch: 1n, justify: { ...p.justify, epoch: 1n } });
    const b = new SafetyRules(new FileSafetyStorage(path), recordingSigner(), 0, 1n, {
      freshChain: false,
      continuing: true,
    });
    expect(b.state).toMatchObject({ epoch: 1n, lastVotedView: 0n });
    expect(b.signVote(proposal(1n, 2, qc(0n, 1)))).toBeUndefined(); // an epoch-0 proposal
    expect(b.signVote(e1(proposal(1n, 2, qc(0n, 1))))).toMatchObject({ epoch: 1n, view: 1n });
    expect(b.signVote(e1(proposal(1n, 3, qc(0n, 1))))).toBeUndefined(); // same (epoch, view), other block
    // A restart in epoch 1 (a record that may be a backup's): the floor again.
    const c = new SafetyRules(new FileSafetyStorage(path), recordingSigner(), 0, 1n, { freshChain: false });
    expect(c.state).toMatchObject({ epoch: 1n, lastVotedView: 1n });
    expect(c.signVote(e1(proposal(2n, 4, qc(1n, 2))))).toBeUndefined();
    c.observeView(2n);
    expect(c.signVote(e1(proposal(3n, 5, qc(2n, 4))))).toBeDefined();
  });

  it('refuses to start on a damaged or truncated record, saying what to do', () => {
    const path = join(dir(), 'safety.json');
    const s = new SafetyRules(new FileSafetyStorage(path), recordingSigner(), 0, 0n, { freshChain: true });
    s.signVote(proposal(1n, 1, qc(0n, 0)));
    const good = readFileSync(path, 'utf8');
    truncateSync(path, 20);
    expect(() => new FileSafetyStorage(path).load()).toThrow(/damaged.*refuses to start.*Restore the file/s);
    writeFileSync(path, good.replace('"lastVotedView":"1"', '"lastVotedView":"0"'));
    expect(() => new FileSafetyStorage(path).load()).toThrow(/checksum mismatch/);
    writeFileSync(path, good);
    expect(new FileSafetyStorage(path).load()?.lastVotedView).toBe(1n);
  });
});

describe('the safety record on disk (two slots, written in place)', () => {
  const record = (view: bigint) => ({
    epoch: 3n,
    lastVotedView: view,
    highestQcView: view - 1n,
    lastProposalView: 0n,
    lastVote: { view, blockHash: h(Number(view)) },
  });
  /** Tears slot `i` as a crash mid-write would: its second half never reached the disk. */
  const tear = (path: string, i: number) => {
    const bytes = readFileSync(path);
    bytes.fill(0, i * 1024 + 40, (i + 1) * 1024);
    writeFileSync(path, bytes);
  };

  it('writes record n to slot n mod 2 and reads back the newest, across storage objects', () => {
    const path = join(dir(), 'safety.json');
    const a = new FileSafetyStorage(path);
    expect(a.load()).toBeUndefined();
    a.save(record(1n));
    expect(readFileSync(path).length).toBe(2048);
    a.save(record(2n));
    a.save(record(3n));
    const text = readFileSync(path, 'utf8');
    expect(text.slice(0, 1024)).toMatch(/^seqnet-safety-slot 2 2\n/);
    expect(text.slice(1024)).toMatch(/^seqnet-safety-slot 2 3\n/);
    // Another object (a restart, or the next epoch's instance) goes on numbering from the file.
    const b = new FileSafetyStorage(path);
    expect(b.load()).toEqual(record(3n));
    b.save(record(4n));
    expect(readFileSync(path, 'utf8').slice(0, 1024)).toMatch(/^seqnet-safety-slot 2 4\n/);
    expect(new FileSafetyStorage(path).load()).toEqual(record(4n));
  });

  it('a write torn by a crash leaves the record before it; the next save writes that slot again', () => {
    const path = join(dir(), 'safety.json');
    const s = new FileSafetyStorage(path);
    for (const v of [1n, 2n, 3n]) s.save(record(v));
    tear(path, 1); // record 3, in slot 1
    const back = new FileSafetyStorage(path);
    expect(back.load()).toEqual(record(2n));
    back.save(record(5n)); // number 3 again: slot 1, over the torn one
    expect(new FileSafetyStorage(path).load()).toEqual(record(5n));
    expect(readFileSync(path, 'utf8').slice(1024)).toMatch(/^seqnet-safety-slot 2 3\n/);
  });

  it('refuses to start when no slot holds a whole record, naming what is wrong with each', () => {
    const path = join(dir(), 'safety.json');
    const s = new FileSafetyStorage(path);
    s.save(record(1n));
    s.save(record(2n));
    tear(path, 0);
    tear(path, 1);
    expect(() => new FileSafetyStorage(path).load()).toThrow(
      /damaged \(slot 0: .*; slot 1: .*\).*refuses to start.*Restore the file/s,
    );
    // A record in the slot its number does not belong to is not taken either.
    const other = join(dir(), 'safety.json');
    new FileSafetyStorage(other).save(record(1n));
    const bytes = readFileSync(other);
    writeFileSync(other, Buffer.concat([bytes.subarray(1024), bytes.subarray(0, 1024)]));
    expect(() => new FileSafetyStorage(other).load()).toThrow(/record 1 in slot 0/);
  });

  it('reads a record of the one-record format, and its first save converts the file', () => {
    const path = join(dir(), 'safety.json');
    const body = JSON.stringify({
      version: 1,
      epoch: '3',
      lastVotedView: '7',
      highestQcView: '6',
      lastProposalView: '0',
      lastVote: { view: '7', blockHash: h(7) },
    });
    writeFileSync(path, `${body}\n${createHash('sha256').update(body).digest('hex')}\n`);
    const s = new FileSafetyStorage(path);
    expect(s.load()).toEqual(record(7n));
    s.save(record(8n));
    expect(readFileSync(path).length).toBe(2048);
    expect(new FileSafetyStorage(path).load()).toEqual(record(8n));
  });

  it('a record one signature behind (its newer slot damaged) cannot make the node vote twice in a view', () => {
    const path = join(dir(), 'safety.json');
    const signer = recordingSigner();
    const a = new SafetyRules(new FileSafetyStorage(path), signer, 0, 0n, { freshChain: true });
    expect(a.signVote(proposal(1n, 1, qc(0n, 0)))).toBeDefined();
    expect(a.signVote(proposal(2n, 2, qc(1n, 1)))).toBeDefined();
    // The record of the view-2 vote is lost: the file says view 1.
    const newest = readFileSync(path, 'utf8').slice(0, 1024).includes('"lastVotedView":"2"') ? 0 : 1;
    tear(path, newest);
    const b = new SafetyRules(new FileSafetyStorage(path), signer, 0, 0n, { freshChain: false });
    expect(b.state.lastVotedView).toBe(1n);
    // The network is still in view 2: the restart floor keeps the node out of it.
    b.observeView(2n);
    expect(b.signVote(proposal(2n, 3, qc(1n, 1)))).toBeUndefined();
    expect(b.signVote(proposal(3n, 4, qc(2n, 2)))).toBeDefined();
    const views = signer.votes.map(([v]) => v);
    expect(new Set(views).size).toBe(views.length);
  });
});
