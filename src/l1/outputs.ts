import { type Abi, createPublicClient, type Hex, http } from 'viem';
import { l1Artifacts } from './deploy.js';

/** The newest output the StateOracle holds (index and L2 block), or undefined when none is. */
export async function latestOutputOnL1(
  l1Url: string,
  oracle: Hex,
  oracleAbi: Abi = l1Artifacts().StateOracle.abi as Abi,
): Promise<{ index: bigint; l2Block: bigint } | undefined> {
  const pub = createPublicClient({ transport: http(l1Url, { retryCount: 0, timeout: 10_000 }) });
  const count = (await pub.readContract({
    address: oracle,
    abi: oracleAbi,
    functionName: 'outputCount',
  })) as bigint;
  if (count === 0n) return undefined;
  const out = (await pub.readContract({
    address: oracle,
    abi: oracleAbi,
    functionName: 'output',
    args: [count - 1n],
  })) as { l2Block: bigint };
  return { index: count - 1n, l2Block: out.l2Block };
}
