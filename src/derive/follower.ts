import type { Logger } from 'pino';
import { CallPool } from '../execution/call-pool.js';
import { Executor } from '../execution/executor.js';
import type { ChainOptions } from '../execution/options.js';
import { WithdrawalIndex } from '../execution/withdrawal-index.js';
import type { L1Deployment } from '../l1/deploy.js';
import { latestOutputOnL1 } from '../l1/outputs.js';
import { createMetrics } from '../metrics/metrics.js';
import { ChainEvents } from '../node/events.js';
import type { RpcContext } from '../rpc/context.js';
import { ForwardingIntake } from '../rpc/forwarding-intake.js';
import type { RpcOptions } from '../rpc/options.js';
import { RpcServer } from '../rpc/server.js';
import { ChainStore } from '../store/chain-store.js';
import { toHex } from '../util/bytes.js';
import type { BatchDataFetcher } from './batch-retrieval.js';
import { Deriver } from './deriver.js';
import { followL1Finality, runDerivation } from './loop.js';

export const FOLLOWER_VERSION = 'seqnet-follower/v0.1.0/node20';

export interface FollowerOptions {
  dataDir: string;
  chain: ChainOptions;
  rpc: RpcOptions;
  l1Url: string;
  deployment: L1Deployment;
  /** Derive only from L1 blocks this deep (a reorg shallower than this never reaches the L2). */
  confirmations: number;
  /** How often to look for new L1 blocks when caught up, ms. */
  pollMs: number;
  /** Where eth_sendRawTransaction is forwarded (the sequencer's RPC); without it the node refuses txs. */
  sequencerRpc?: string;
  blobs?: BatchDataFetcher;
}

/**
 * A read-only node that rebuilds the rollup from L1 alone, live, and serves it over the same
 * JSON-RPC as the sequencer: the verifier running as a follower (op-node + op-geth in one process).
 * It trusts no sequencer: every block it serves came out of derivation.
 */
export class FollowerNode {
  private readonly abort = new AbortController();
  private loop?: Promise<void>;
  private halted?: string;
  private readonly startedAt = Date.now();
  private batchesSeen = 0;
  private faults: string[] = [];

  private constructor(
    readonly options: FollowerOptions,
    readonly store: ChainStore,
    readonly executor: Executor,
    readonly deriver: Deriver,
    readonly events: ChainEvents,
    readonly rpc: RpcServer,
    private readonly calls: CallPool,
    private readonly withdrawals: WithdrawalIndex,
    private readonly logger: Logger,
  ) {}

  static async start(options: FollowerOptions, logger: Logger): Promise<FollowerNode> {
    const store = new ChainStore(`${options.dataDir}/chain`);
    const storedChainId = store.getMeta('chainId');
    if (storedChainId !== undefined && storedChainId !== options.chain.chainId.toString()) {
      await store.close();
      throw new Error(
        `data dir ${options.dataDir} belongs to chain ${storedChainId}, not ${options.chain.chainId}; pass --chain-id ${storedChainId} or use another --data-dir`,
      );
    }
    await store.putMeta('chainId', options.chain.chainId.toString());
    const executor = await Executor.open(options.chain, store, logger);
    const withdrawals = new WithdrawalIndex();
    const metrics = createMetrics();
    const events = new ChainEvents();
    const deriver = new Deriver(
      {
        l1Url: options.l1Url,
        deployment: options.deployment,
        confirmations: options.confirmations,
        blobs: options.blobs,
      },
      {
        store,
        executor,
        logger: logger.child({ module: 'derive' }),
        onRewind: (rewind) => {
          withdrawals.rewindTo(rewind.to);
          metrics.l2Rewinds.inc();
          metrics.blockHeight.set(Number(rewind.to));
          events.emit('rewind', rewind);
        },
      },
    );
    try {
      await deriver.init();
    } catch (err) {
      await store.close();
      throw err;
    }
    for (let h = 1n; h <= executor.head.header.number; h++)
      withdrawals.onBlock(executor.blockByNumber(h)!, store.getReceipts(h) ?? []);
    const calls = new CallPool(`${options.dataDir}/chain`, options.chain, options.rpc.callWorkers, logger);
    await calls.start();
    let node: FollowerNode | undefined;
    const ctx: RpcContext = {
      chainId: options.chain.chainId,
      executor,
      calls,
      mempool: new ForwardingIntake(
        executor.txCommon,
        options.chain.gasLimit,
        options.sequencerRpc,
        'this node is a read-only follower: send transactions to the sequencer, or start it with --sequencer-rpc URL to forward them',
      ),
      store,
      events,
      committee: { publicKeys: [], quorum: 0 },
      metrics,
      options: options.rpc,
      clientVersion: FOLLOWER_VERSION,
      withdrawals,
      latestOutput: () => latestOutputOnL1(options.l1Url, options.deployment.contracts.StateOracle),
      ...(options.deployment.openMode && { finalizedHead: () => deriver.l1FinalHead }),
      status: () => node!.status(),
    };
    const rpc = new RpcServer(ctx, logger.child({ module: 'rpc' }));
    node = new FollowerNode(options, store, executor, deriver, events, rpc, calls, withdrawals, logger);
    const address = await rpc.start();
    metrics.blockHeight.set(Number(executor.head.header.number));
    events.on('block', () => metrics.blockHeight.set(Number(executor.head.header.number)));
    node.loop = node.follow((h) => metrics.finalizedHeight.set(Number(h)));
    logger.info(
      { rpc: `http://${address.address}:${address.port}`, head: Number(executor.head.header.number) },
      'seqnet follower started: deriving the chain from L1',
    );
    return node;
  }

  /** Derives block after block; stops for good on a Critical error (and keeps serving). */
  private async follow(onFinalHead: (head: bigint) => void): Promise<void> {
    const finality = this.options.deployment.openMode
      ? followL1Finality(this.deriver, {
          pollMs: this.options.pollMs,
          signal: this.abort.signal,
          logger: this.logger,
          onFinalHead,
        })
      : undefined;
    this.halted = await runDerivation(this.deriver, {
      pollMs: this.options.pollMs,
      signal: this.abort.signal,
      logger: this.logger,
      onBlock: (d) => {
        if (d.fault) {
          this.faults.push(d.fault);
          this.logger.warn(
            { fault: d.fault },
            'the batch broke the L1-message rule; applied the due messages',
          );
        }
        if (d.lastOfBatch) this.batchesSeen++;
        const { block, receipts, sequencedHash } = d.result;
        this.withdrawals.onBlock(block, receipts);
        this.events.emit('block', { block, receipts, sequencedHash, latenciesMs: [], buildMs: 0 });
      },
    });
    await finality;
  }

  status(): Record<string, unknown> {
    const progress = this.deriver.l1Progress;
    return {
      chainId: Number(this.options.chain.chainId),
      clientVersion: FOLLOWER_VERSION,
      mode: 'follower',
      ordering: 'from L1',
      blockTimeMs: null,
      head: Number(this.executor.head.header.number),
      headHash: toHex(this.executor.head.hash()),
      mempool: { pending: 0, queued: 0 },
      committee: { publicKeys: [], quorum: 0 },
      latencyMs: { p50: null, p99: null, samples: 0 },
      txPerSecond: 0,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      batcher: null,
      derivation: {
        l1Block: Number(progress.batches),
        l1MessagesThrough: Number(progress.messages),
        l1MessageCursor: Number(this.deriver.l1MessageCursor),
        batches: this.batchesSeen,
        faults: this.faults.slice(-20),
        halted: this.halted ?? null,
        finalHead: Number(this.deriver.l1FinalHead),
        ...this.deriver.rewindStatus(),
      },
    };
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.rpc.stop();
    await this.calls.close();
    await this.store.close();
    this.logger.info('seqnet follower stopped');
  }
}
