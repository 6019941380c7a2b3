import type { Logger } from 'pino';
import type { Hex, PublicClient, TransactionReceipt } from 'viem';

export type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };

export interface FeeBumpOptions {
  /** How much each replacement raises every fee, percent (default 25; blob txs need 100). */
  bumpPercent?: number;
  /** A blob tx's first blob fee cap; bumped like the others. */
  maxFeePerBlobGas?: bigint;
  /** How long a version may stay unmined before it is replaced, ms (default 12 s). */
  replaceAfterMs?: number;
}

/**
 * The tx manager: sends a tx and, while it is not mined, replaces it (same nonce) with fees raised
 * by 25 % (100 % for blob txs, as geth's blob pool requires, the blob fee cap too), up to six times;
 * whichever version gets mined is the receipt.
 */
export async function sendWithFeeBumps(
  pub: PublicClient,
  /** Sends one version; `maxFeePerBlobGas` is set when `options.maxFeePerBlobGas` is. */
  send: (nonce: number, fees: Fees, maxFeePerBlobGas: bigint | undefined) => Promise<Hex>,
  from: Hex,
  logger: Logger,
  options: FeeBumpOptions = {},
): Promise<TransactionReceipt> {
  const bump = BigInt(options.bumpPercent ?? 25);
  const raise = (fee: bigint) => (fee * (100n + bump)) / 100n + 1n;
  // 'latest', not 'pending': one batch tx is in flight at a time, and after an L1 reorg the node's
  // pending count can still include txs the reorg dropped (seen with anvil), leaving a nonce gap.
  let nonce = await pub.getTransactionCount({ address: from, blockTag: 'latest' });
  const estimate = await pub.estimateFeesPerGas();
  let fees: Fees = {
    maxFeePerGas: estimate.maxFeePerGas,
    maxPriorityFeePerGas: estimate.maxPriorityFeePerGas,
  };
  let blobFee = options.maxFeePerBlobGas;
  let hashes: Hex[] = [];
  for (let attempt = 0; attempt < 6; attempt++) {
    try {
      hashes.push(await send(nonce, fees, blobFee));
    } catch (err) {
      // An earlier version got mined or is still known: look for its receipt below.
      if (!/nonce too low|already known|underpriced/i.test((err as Error).message) || hashes.length === 0)
        throw err;
    }
    const deadline = Date.now() + (options.replaceAfterMs ?? 12_000);
    while (Date.now() < deadline) {
      for (const h of hashes) {
        const r = await pub.getTransactionReceipt({ hash: h }).catch(() => undefined);
        if (r) return r;
      }
      await new Promise((res) => setTimeout(res, 250));
    }
    // Right after an L1 reorg a node can report a stale nonce; once the chain says otherwise, a tx at
    // the old nonce can never be mined (gap) or was replaced: start over at the nonce the chain has.
    const current = await pub.getTransactionCount({ address: from, blockTag: 'latest' });
    if (current !== nonce) {
      for (const h of hashes) {
        const r = await pub.getTransactionReceipt({ hash: h }).catch(() => undefined);
        if (r) return r;
      }
      if (current > nonce) throw new Error(`nonce ${nonce} was used by another tx; reading the Inbox again`);
      logger.warn(
        { was: nonce, now: current },
        'L1 nonce went back (reorg): sending again at the chain nonce',
      );
      nonce = current;
      hashes = [];
      continue;
    }
    fees = {
      maxFeePerGas: raise(fees.maxFeePerGas),
      maxPriorityFeePerGas: raise(fees.maxPriorityFeePerGas),
    };
    if (blobFee !== undefined) blobFee = raise(blobFee);
    logger.warn(
      {
        nonce,
        hashes,
        attempt: attempt + 1,
        maxFeePerGas: fees.maxFeePerGas.toString(),
        ...(blobFee !== undefined ? { maxFeePerBlobGas: blobFee.toString() } : {}),
      },
      'batch tx not mined: replacing it with higher fees',
    );
  }
  throw new Error(`batch tx with nonce ${nonce} not mined after 6 fee bumps`);
}
