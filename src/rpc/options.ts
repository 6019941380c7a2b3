/** RPC server options (RELIABILITY.md limits); flags `--rpc.<kebab-name>`. */
export interface RpcOptions {
  host: string;
  port: number;
  /** Largest HTTP body, bytes (geth: 5 MiB). */
  maxBodyBytes: number;
  /** Most calls in one batch (geth: 1000). */
  maxBatch: number;
  /** Gas cap of eth_call / eth_estimateGas. */
  gasCap: bigint;
  /** Wall-clock limit of one eth_call, ms (eth_estimateGas gets four times this). */
  evmTimeoutMs: number;
  /** Worker threads that run eth_call / eth_estimateGas off the sequencer's thread. */
  callWorkers: number;
  /** Subscriptions per WebSocket connection. */
  maxSubscriptionsPerConnection: number;
  /** eth_getLogs: widest block range and most results. */
  maxLogBlockRange: number;
  maxLogResults: number;
  /** Polling filters (eth_newFilter …): uninstalled after this long without a poll (geth: 5 min). */
  filterTimeoutMs: number;
  /** Polling filters installed at once, all clients together. */
  maxFilters: number;
  /** Changes one filter holds between two polls; past it the node uninstalls the filter. */
  maxFilterChanges: number;
}

export const rpcDefaults: RpcOptions = {
  host: '127.0.0.1',
  port: 9545,
  maxBodyBytes: 5 * 1024 * 1024,
  maxBatch: 1000,
  gasCap: 50_000_000n,
  evmTimeoutMs: 5_000,
  callWorkers: 2,
  maxSubscriptionsPerConnection: 1024,
  maxLogBlockRange: 10_000,
  maxLogResults: 10_000,
  filterTimeoutMs: 5 * 60_000,
  maxFilters: 1_024,
  maxFilterChanges: 10_000,
};
