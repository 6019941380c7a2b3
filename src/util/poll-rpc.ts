import { sleep } from './sleep.js';

/**
 * Calls JSON-RPC `method` at `url` every `intervalMs` until `accept` says yes to the response, or
 * `timeoutMs` passes. A failed request, or an `accept` that throws, counts as not yet and is tried
 * again. Resolves true once accepted, false at the deadline: the caller says what went wrong.
 */
export async function pollRpc(
  url: string,
  method: string,
  params: readonly unknown[],
  accept: (res: Response) => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      });
      if (await accept(res)) return true;
    } catch {
      // not up yet, or busy between polls: try again
    }
    await sleep(intervalMs);
  }
  return false;
}
