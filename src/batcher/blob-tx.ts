import type { Logger } from 'pino';
import {
  type Abi,
  createWalletClient,
  decodeErrorResult,
  encodeFunctionData,
  type Hex,
  http,
  type TransactionReceipt,
  toHex,
} from 'viem';
import { l1Clients } from '../l1/clients.js';
import { blobSidecars, encodeBlobs } from './blobs.js';
import { sendWithFeeBumps } from './tx-manager.js';

/** Where a blob batch goes: an Inbox (committee or single key) or an OpenInbox, and who posts it. */
export interface BlobPoster {
  l1Url: string;
  key: Hex;
  inbox: Hex;
  inboxAbi: Abi;
  logger: Logger;
}

/** The mined receipt and how many blobs it carried, or the Inbox error a dry run reverted with. */
export type BlobPostResult = { receipt: TransactionReceipt; blobs: number } | { revert: string; data: Hex };

/**
 * Posts `data` (a compressed batch) in the blobs of one EIP-4844 tx calling `functionName(args)` on
 * the Inbox (`postBlobBatch`, `postCertifiedBlobBatch`). A dry run with the blobs' versioned hashes
 * comes first, so a batch the Inbox would refuse costs nothing; then the tx goes out with fee bumps
 * (100 %, as blob pools require) until it is mined.
 */
export async function postWithBlobs(
  poster: BlobPoster,
  functionName: string,
  args: unknown[],
  data: Uint8Array,
): Promise<BlobPostResult> {
  const { inbox, inboxAbi, logger } = poster;
  const { account, pub, wallet } = await l1Clients(poster.l1Url, poster.key);
  const sidecars = await blobSidecars(encodeBlobs(data));
  const blobVersionedHashes = sidecars.versionedHashes;
  const blobBaseFee = await pub.getBlobBaseFee();
  const maxFeePerBlobGas = blobBaseFee * 2n > 0n ? blobBaseFee * 2n : 1n;
  const callData = encodeFunctionData({ abi: inboxAbi, functionName, args });
  // viem's simulateContract/call drop blobVersionedHashes (blobhash(0) would read zero): ask the node.
  const revert = await callWithBlobs(poster.l1Url, functionName, {
    from: account.address,
    to: inbox,
    data: callData,
    blobVersionedHashes,
    maxFeePerBlobGas: toHex(maxFeePerBlobGas),
  });
  if (revert) {
    let name = 'unknown';
    try {
      name = decodeErrorResult({ abi: inboxAbi, data: revert }).errorName;
    } catch {
      // not one of the Inbox's errors
    }
    return { revert: name, data: revert };
  }
  const gas = await pub.estimateGas({
    account,
    to: inbox,
    data: callData,
    blobVersionedHashes,
    maxFeePerBlobGas,
  });
  // A blob tx is up to ~800 kB and the L1 node checks its KZG proofs before answering (anvil loads
  // its KZG setup on the first one: seconds): give the send more than the clients' 10 s.
  const blobWallet = createWalletClient({
    account,
    chain: wallet.chain,
    transport: http(poster.l1Url, { retryCount: 0, timeout: 60_000 }),
  });
  const receipt = await sendWithFeeBumps(
    pub,
    (nonce, fees, blobFee) =>
      blobWallet.sendTransaction({
        to: inbox,
        data: callData,
        gas: (gas * 12n) / 10n,
        nonce,
        blobs: sidecars.blobs,
        kzg: sidecars.kzg,
        ...fees,
        maxFeePerBlobGas: blobFee ?? maxFeePerBlobGas,
      }),
    account.address,
    logger,
    { bumpPercent: 100, maxFeePerBlobGas },
  );
  return { receipt, blobs: sidecars.blobs.length };
}

/** eth_call with the tx's blob versioned hashes; the revert data if it reverts, undefined if not. */
async function callWithBlobs(
  l1Url: string,
  functionName: string,
  request: { from: Hex; to: Hex; data: Hex; blobVersionedHashes: Hex[]; maxFeePerBlobGas: Hex },
): Promise<Hex | undefined> {
  const res = await fetch(l1Url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_call', params: [request, 'latest'] }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { result?: Hex; error?: { message: string; data?: Hex } };
  if (!body.error) return undefined;
  if (typeof body.error.data === 'string' && body.error.data.startsWith('0x')) return body.error.data;
  throw new Error(`eth_call ${functionName}: ${body.error.message}`);
}
