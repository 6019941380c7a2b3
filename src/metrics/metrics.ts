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
    preconfirmationLatency: new Histogram({
      name: 'seqnet_preconfirmation_seconds',
      help: "From tx acceptance to its block's commit proof (committed, before execution; a committee member's txs)",
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

/** What an operator watches that the node's parts already count: read at each scrape. */
export interface LiveFigures {
  /** Connected libp2p peers (committee members). */
  peers?: () => number;
  consensus?: () => {
    proposals: number;
    votesSigned: number;
    timeoutsSigned: number;
    /** Views this member was in that ended by a timeout, by their leader's committee index. */
    failedViewsLedBy: readonly number[];
  };
  /**
   * L2 blocks not on L1 yet; batches this node posted and their L1 gas; in based / free the gas of
   * its posts that made no block (present there only).
   */
  batches?: () => { backlogBlocks?: number; posted: number; l1Gas: bigint; wastedGas?: bigint };
  /** Outputs this node proposed to the StateOracle, and their L1 gas. */
  outputs?: () => { proposed: number; l1Gas: bigint };
  /** based with `--preconf`: txs this node promised inclusion of. */
  promises?: () => number;
}

/**
 * Registers the operator's figures (USERS.md: views, missed proposals, peers, batch backlog, L1 gas)
 * for the parts this node runs. Counters mirror counts the parts keep, so they are set at each scrape.
 */
export function registerLiveMetrics(metrics: Metrics, live: LiveFigures): void {
  const registers = [metrics.registry];
  const mirror = (counter: Counter, value: number | bigint, labels?: Record<string, string>) => {
    if (labels) counter.inc(labels, Number(value));
    else counter.inc(Number(value));
  };
  const { peers, consensus, batches, outputs, promises } = live;
  if (peers)
    new Gauge({
      name: 'seqnet_p2p_peers',
      help: 'Connected libp2p peers',
      registers,
      collect() {
        this.set(peers());
      },
    });
  if (consensus) {
    const counts = [
      ['seqnet_consensus_proposals_total', 'Blocks this member proposed', 'proposals'],
      ['seqnet_consensus_votes_signed_total', 'Votes this member signed', 'votesSigned'],
      [
        'seqnet_consensus_timeouts_signed_total',
        'Timeouts this member signed (views it gave up)',
        'timeoutsSigned',
      ],
    ] as const;
    for (const [name, help, key] of counts)
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          mirror(this, consensus()[key]);
        },
      });
    new Counter({
      name: 'seqnet_consensus_failed_views_total',
      help: 'Views this member was in that ended by a timeout certificate, by their leader (a member index): missed proposals',
      labelNames: ['leader'],
      registers,
      collect() {
        this.reset();
        consensus().failedViewsLedBy.forEach((n, leader) => {
          mirror(this, n, { leader: String(leader) });
        });
      },
    });
  }
  if (batches) {
    if (batches().backlogBlocks !== undefined)
      new Gauge({
        name: 'seqnet_batcher_backlog_blocks',
        help: 'L2 blocks this node has not seen on L1 yet',
        registers,
        collect() {
          this.set(batches().backlogBlocks ?? 0);
        },
      });
    new Counter({
      name: 'seqnet_batcher_batches_total',
      help: 'Batches this node posted to L1',
      registers,
      collect() {
        this.reset();
        mirror(this, batches().posted);
      },
    });
  }
  if (batches?.().wastedGas !== undefined)
    new Counter({
      name: 'seqnet_l1_wasted_gas_total',
      help: "based / free: L1 gas of this node's batches that made no block (another post took the height, or a revert)",
      registers,
      collect() {
        this.reset();
        mirror(this, batches?.().wastedGas ?? 0n);
      },
    });
  if (outputs)
    new Counter({
      name: 'seqnet_outputs_proposed_total',
      help: 'Outputs this node put on the StateOracle (L1)',
      registers,
      collect() {
        this.reset();
        mirror(this, outputs().proposed);
      },
    });
  if (promises)
    new Counter({
      name: 'seqnet_preconf_promises_total',
      help: 'based --preconf: txs this node promised (signed inclusion promises) to carry to L1',
      registers,
      collect() {
        this.reset();
        mirror(this, promises());
      },
    });
  if (batches || outputs)
    new Counter({
      name: 'seqnet_l1_gas_used_total',
      help: "L1 gas of this node's own L1 txs (execution gas), by what they carried",
      labelNames: ['purpose'],
      registers,
      collect() {
        this.reset();
        const b = batches?.();
        if (b) mirror(this, b.l1Gas, { purpose: 'batches' });
        const o = outputs?.();
        if (o) mirror(this, o.l1Gas, { purpose: 'outputs' });
      },
    });
}
