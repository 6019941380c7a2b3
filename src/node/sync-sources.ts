/** A member block sync may take blocks from, and the height it said it holds. */
export interface SyncSource {
  peer: string;
  height: bigint;
}

/**
 * Block sync's order of asking: the sources that hold blocks above `ours`, in `sources`' order, until
 * one brings blocks that check (`ask` returns them; none, or a throw, is a failure). After a pause the
 * peers' connections to a member are dropped and redialled, and a request on one of them can fail
 * mid-sync: asking the next member keeps the sync going instead of starting it again a second later.
 * A source that failed goes to the end of `sources` (mutated: the order holds for the rest of the
 * sync), so later chunks do not wait for it first. All failing rethrows the last error (or returns
 * nothing when none threw: every answer was empty or did not check).
 */
export async function askInTurn<T>(
  sources: SyncSource[],
  ours: bigint,
  ask: (peer: string) => Promise<T[]>,
  onFailure: (peer: string, err?: unknown) => void,
): Promise<T[]> {
  let lastError: unknown;
  let threw = false;
  for (const source of sources.filter((s) => s.height > ours)) {
    try {
      const got = await ask(source.peer);
      if (got.length) return got;
      onFailure(source.peer);
    } catch (err) {
      lastError = err;
      threw = true;
      onFailure(source.peer, err);
    }
    sources.splice(sources.indexOf(source), 1);
    sources.push(source);
  }
  if (threw) throw lastError;
  return [];
}
