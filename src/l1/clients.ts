import { createPublicClient, createWalletClient, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

/**
 * viem clients for one L1 key: no transport retries (the callers retry with their own backoff and
 * say what they wait for), and the chain id read from the endpoint.
 */
export async function l1Clients(l1Url: string, key: Hex) {
  const account = privateKeyToAccount(key);
  const transport = http(l1Url, { retryCount: 0, timeout: 10_000 });
  const pub = createPublicClient({ transport });
  const chain = {
    id: await pub.getChainId(),
    name: 'l1',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [l1Url] } },
  } as const;
  return { account, pub, wallet: createWalletClient({ account, chain, transport }) };
}

/** The decoded custom error (name and arguments) somewhere in a viem error's cause chain, if any. */
export function customErrorOf(err: unknown): { name: string; args?: readonly unknown[] } | undefined {
  let e: unknown = err;
  while (e && typeof e === 'object') {
    const data = (e as { data?: unknown }).data;
    if (data && typeof data === 'object' && 'errorName' in data) {
      const d = data as { errorName: string; args?: readonly unknown[] };
      return { name: d.errorName, args: d.args };
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
