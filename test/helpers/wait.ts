/** Polls `f` until it returns something other than undefined, or fails after `timeoutMs`. */
export async function until<T>(
  what: string,
  f: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  /** What the failure message should add: the state that did not come (a wait that fails now and then). */
  explain?: () => Promise<string>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      const why = explain ? await explain().catch((err: Error) => `(no explanation: ${err.message})`) : '';
      throw new Error(`timed out waiting for ${what}${why ? `\n${why}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A viem chain definition for a local endpoint. */
export const chainOf = (id: number, url: string) =>
  ({
    id,
    name: `chain-${id}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [url] } },
  }) as const;
