import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** One factory for every metric the node exports on /metrics (Prometheus). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'seqnet_process_' });
  const latencyBuckets = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
  return {
    registry,
    blockHeight: new Gauge({
      name: 'seqnet_block_height',
      help: 'Height of the executed head',
      registers: [registry],
    }),
    finalizedHeight: new Gauge({
      name: 'seqnet_finalized_block_height',
      help: 'based / free: the highest block derived only from finalized L1 blocks (outputs go no higher)',
      registers: [registry],
    }),
    blocksTotal: new Counter({ name: 'seqnet_blocks_total', help: 'Blocks sealed', registers: [registry] }),
    txsIncluded: new Counter({
      name: 'seqnet_txs_included_total',
      help: 'Txs included in blocks',
      registers: [registry],
    }),
    txsSkipped: new Counter({
      name: 'seqnet_txs_skipped_total',
      help: 'Sequenced txs that execution skipped as invalid',
      registers: [registry],
    }),
    txsRejected: new Counter({
      name: 'seqnet_txs_rejected_total',
      help: 'Txs the mempool rejected',
      labelNames: ['reason'],
      registers: [registry],
    }),
    mempoolPending: new Gauge({
      name: 'seqnet_mempool_pending',
      help: 'Executable txs in the pool',
      registers: [registry],
    }),
    mempoolQueued: new Gauge({
      name: 'seqnet_mempool_queued',
      help: 'Gapped txs in the pool',
      registers: [registry],
    }),
    consensusView: new Gauge({
      name: 'seqnet_consensus_view',
      help: 'Current consensus view (committee mode)',
      registers: [registry],
    }),
    blockSyncBlocks: new Counter({
      name: 'seqnet_block_sync_blocks_total',
      help: 'Committed blocks taken from other members by block sync (committee mode)',
      registers: [registry],
    }),
    blockSyncFailedRequests: new Counter({
      name: 'seqnet_block_sync_failed_requests_total',
      help: 'Block sync requests that failed or brought no valid block (the next member is asked)',
      registers: [registry],
    }),
    l2Rewinds: new Counter({
      name: 'seqnet_l2_rewinds_total',
      help: 'L2 rewinds (based / free): an L1 reorg deeper than --l1-confirmations changed batches the chain was derived from',
      registers: [registry],
    }),
    l1CertificateConflicts: new Counter({
      name: 'seqnet_l1_certificate_conflicts_total',
      help: "Certified batches on L1 whose last block is not this node's at that height (by verdict: slashed, already-slashed, contradicted-other-view)",
      labelNames: ['verdict'],
      registers: [registry],
    }),
    softConfirmLatency: new Histogram({
      name: 'seqnet_soft_confirmation_seconds',
      help: 'From tx acceptance to its block being sealed (receipt available)',
      buckets: latencyBuckets,
      registers: [registry],
    }),
    blockBuild: new Histogram({
      name: 'seqnet_block_build_seconds',
      help: 'Time to order, execute and persist one block',
      buckets: latencyBuckets,
      registers: [registry],
    }),
    blockTxs: new Histogram({
      name: 'seqnet_block_txs',
      help: 'Txs per block',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
      registers: [registry],
    }),
    rpcRequests: new Counter({
      name: 'seqnet_rpc_requests_total',
      help: 'JSON-RPC calls by method',
      labelNames: ['method'],
      registers: [registry],
    }),
    rpcErrors: new Counter({
      name: 'seqnet_rpc_errors_total',
      help: 'JSON-RPC calls answered with an error',
      labelNames: ['method', 'code'],
      registers: [registry],
    }),
    outputSignatures: new Counter({
      name: 'seqnet_output_signatures_total',
      help: "Members' requests for this node's signature on its output of a block, by outcome (signed, refused: not executed here yet)",
      labelNames: ['outcome'],
      registers: [registry],
    }),
    outputsCertified: new Counter({
      name: 'seqnet_outputs_certified_total',
      help: 'Output certificates this node aggregated (a quorum of the committee) for the StateOracle',
      registers: [registry],
    }),
    wsConnections: new Gauge({
      name: 'seqnet_ws_connections',
      help: 'Open WebSocket connections',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
