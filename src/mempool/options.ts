/** Intake limits (RELIABILITY.md; geth's defaults). Each maps to a CLI flag `--mempool.<kebab-name>`. */
export interface MempoolOptions {
  /** Largest raw tx accepted, bytes. */
  maxTxSize: number;
  /** Executable txs per sender. */
  maxPendingPerSender: number;
  /** Future-nonce (gapped) txs per sender. */
  maxQueuedPerSender: number;
  maxPending: number;
  maxQueued: number;
  /** Queued txs are dropped after this long, ms. */
  queuedLifetimeMs: number;
  /** A replacement must raise both fee fields by this percentage. */
  priceBumpPercent: number;
  /** Largest total fee (gas × max fee) accepted over RPC, wei; 0 disables the cap. */
  rpcTxFeeCap: bigint;
}

export const mempoolDefaults: MempoolOptions = {
  maxTxSize: 128 * 1024,
  maxPendingPerSender: 16,
  maxQueuedPerSender: 64,
  maxPending: 5120,
  maxQueued: 1024,
  queuedLifetimeMs: 3 * 60 * 60 * 1000,
  priceBumpPercent: 10,
  rpcTxFeeCap: 10n ** 18n,
};
