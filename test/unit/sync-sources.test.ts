import { describe, expect, it } from 'vitest';
import { askInTurn, type SyncSource } from '../../src/node/sync-sources.js';

/** Sources a, b, c holding `heights`; `answers` says what each does when asked (a fault or blocks). */
function setup(heights: Record<string, bigint>, answers: Record<string, () => Promise<number[]>>) {
  const sources: SyncSource[] = Object.entries(heights).map(([peer, height]) => ({ peer, height }));
  const asked: string[] = [];
  const failures: Array<{ peer: string; err?: string }> = [];
  const ask = (peer: string) => {
    asked.push(peer);
    return answers[peer]();
  };
  const onFailure = (peer: string, err?: unknown) =>
    failures.push({ peer, err: err === undefined ? undefined : (err as Error).message });
  return { sources, asked, failures, ask, onFailure };
}

const closed = () => Promise.reject(new Error('Cannot write to a stream that is closed'));
const blocks =
  (...b: number[]) =>
  () =>
    Promise.resolve(b);

describe('block sync: asking the members that hold the blocks in turn', () => {
  it('a stream that closes mid-sync: the next member is asked, and the failed one goes last for later chunks', async () => {
    const s = setup({ a: 500n, b: 500n, c: 480n }, { a: closed, b: blocks(101, 102), c: blocks(101) });
    expect(await askInTurn(s.sources, 100n, s.ask, s.onFailure)).toEqual([101, 102]);
    expect(s.asked).toEqual(['a', 'b']);
    expect(s.failures).toEqual([{ peer: 'a', err: 'Cannot write to a stream that is closed' }]);
    expect(s.sources.map((x) => x.peer)).toEqual(['b', 'c', 'a']);
    // The next chunk starts with the member that answered.
    expect(await askInTurn(s.sources, 102n, s.ask, s.onFailure)).toEqual([101, 102]);
    expect(s.asked).toEqual(['a', 'b', 'b']);
  });

  it('an answer with no block that checks counts as a failure: the next member is asked', async () => {
    const s = setup({ a: 500n, b: 500n }, { a: blocks(), b: blocks(7) });
    expect(await askInTurn(s.sources, 6n, s.ask, s.onFailure)).toEqual([7]);
    expect(s.failures).toEqual([{ peer: 'a', err: undefined }]);
    expect(s.sources.map((x) => x.peer)).toEqual(['b', 'a']);
  });

  it('members that do not hold a block above ours are not asked', async () => {
    const s = setup({ a: 100n, b: 99n, c: 101n }, { a: closed, b: closed, c: blocks(101) });
    expect(await askInTurn(s.sources, 100n, s.ask, s.onFailure)).toEqual([101]);
    expect(s.asked).toEqual(['c']);
    expect(s.failures).toEqual([]);
  });

  it('every member failing: the last error is rethrown (the attempt fails and is counted)', async () => {
    const timedOut = () => Promise.reject(new Error('/seqnet/42069/block-sync/1 timed out'));
    const s = setup({ a: 500n, b: 500n }, { a: closed, b: timedOut });
    await expect(askInTurn(s.sources, 1n, s.ask, s.onFailure)).rejects.toThrow('block-sync/1 timed out');
    expect(s.asked).toEqual(['a', 'b']);
    expect(s.failures.map((f) => f.peer)).toEqual(['a', 'b']);
  });

  it('every member answering with nothing that checks: no blocks, no error', async () => {
    const s = setup({ a: 500n, b: 500n }, { a: blocks(), b: blocks() });
    expect(await askInTurn(s.sources, 1n, s.ask, s.onFailure)).toEqual([]);
    expect(s.failures).toHaveLength(2);
  });
});
