import type { Logger } from 'pino';
import { type Abi, createPublicClient, http, type PublicClient } from 'viem';
import type { ExecutionResult, Executor } from '../execution/executor.js';
import { type L1Deployment, l1Artifacts } from '../l1/deploy.js';
import { type L1Message, L1Watcher } from '../l1/watcher.js';
import type { ChainStore } from '../store/chain-store.js';
import {
  decodeSequencedBlock,
  encodeSequencedBlock,
  hashSequencedBlock,
  type SequencedBlock,
} from '../types/sequenced-block.js';
import {
  type BatchDataFetcher,
  type BatchRef,
  BatchRetrieval,
  blobFetcher,
  calldataFetcher,
} from './batch-retrieval.js';
import { BlockQueue } from './block-queue.js';
import { critical, DerivationError } from './errors.js';

export interface DeriverOptions {
  l1Url: string;
  deployment: L1Deployment;
  /** Read L1 only this many blocks below its head (0: up to the head). */
  confirmations: number;
  /** Reads batches carried in blobs (default: from the L1 node, as anvil serves them). */
  blobs?: BatchDataFetcher;
}

/** One block derived from L1 and now the head of the local chain. */
export interface DerivedBlock {
  sequenced: SequencedBlock;
  result: ExecutionResult;
  /** The L1 messages it consumed (canonically, whatever the batch claimed). */
  messages: L1Message[];
  batch: BatchRef;
  lastOfBatch: boolean;
  /** Set when the poster broke the L1-message rule; derivation applied the due messages anyway. */
  fault?: string;
}

/** Meta key holding `height:cursor`: the canonical L1 message cursor after the head block. */
const CURSOR_KEY = 'derive.cursor';

/**
 * The last stage and the driver of derivation: pulls sequenced blocks from L1 (BatchRetrieval →
 * BlockQueue), applies the L1 messages that are due by the canonical rule (DECISIONS.md §3), checks
 * links, origins and lagged state roots, executes each block and persists it, so the local chain is
 * exactly what L1 implies. Already-derived blocks that L1 shows again (after a reorg, or a restart)
 * are checked against the stored ones: a different block at a derived height is Critical.
 */
export class Deriver {
  private readonly pub: PublicClient;
  private messages!: L1Watcher;
  private readonly retrieval: BatchRetrieval;
  private readonly queue: BlockQueue;
  private parent!: SequencedBlock;
  private cursor = 0n;

  constructor(
    private readonly options: DeriverOptions,
    private readonly deps: { store: ChainStore; executor: Executor; logger: Logger },
  ) {
    this.pub = createPublicClient({ transport: http(options.l1Url, { retryCount: 0, timeout: 10_000 }) });
    this.retrieval = new BatchRetrieval(this.pub, {
      inbox: options.deployment.contracts.Inbox,
      fromBlock: BigInt(options.deployment.deployedAtBlock),
      calldata: calldataFetcher(l1Artifacts().Inbox.abi as Abi),
      blobs: options.blobs ?? blobFetcher(options.l1Url, l1Artifacts().Inbox.abi as Abi),
    });
    this.queue = new BlockQueue(this.retrieval, deps.executor.options.chainId);
  }

  /** Loads the local head and its cursor; reads the L1 messages once. */
  async init(): Promise<void> {
    const { store, executor } = this.deps;
    const head = executor.head.header.number;
    if (head === 0n) {
      this.parent = executor.genesisSequenced();
      this.cursor = 0n;
    } else {
      const saved = store.getMeta(CURSOR_KEY);
      const [h, c] = saved?.split(':') ?? [];
      if (h === undefined || BigInt(h) !== head)
        throw critical(
          `the chain in this data dir was not built by derivation (no cursor for head ${head}); use an empty --data-dir`,
        );
      this.parent = decodeSequencedBlock(store.getSequenced(head)!);
      this.cursor = BigInt(c);
    }
    this.newWatcher();
    await this.messages.poll();
  }

  /** How far L1 has been read: Inbox logs, and L1 messages. */
  get l1Progress(): { batches: bigint; messages: bigint } {
    return { batches: this.retrieval.l1Progress, messages: this.messages.scannedThrough() };
  }

  get l1MessageCursor(): bigint {
    return this.cursor;
  }

  /**
   * Derives the next block. Returns undefined when L1 holds nothing more yet (NotEnoughData);
   * throws a DerivationError `Temporary` (retry later) or `Critical` (stop). Resets itself on a reorg.
   */
  async step(): Promise<DerivedBlock | undefined> {
    let polled = false;
    for (;;) {
      try {
        const queued = await this.queue.next(this.messages.scannedThrough());
        const derived = await this.apply(queued.block, queued.batch, queued.lastOfBatch);
        if (derived) return derived;
      } catch (err) {
        if (!(err instanceof DerivationError)) throw err;
        if (err.code === 'Reset') {
          this.reset(err.message);
          continue;
        }
        if (err.code !== 'NotEnoughData') throw err;
        if (polled) return undefined;
        // Read the L1 messages further, then try once more: batches are never read past them.
        await this.messages.poll();
        polled = true;
      }
    }
  }

  private reset(why: string): void {
    this.deps.logger.warn({ why }, 'L1 reorg: reading L1 again from before it');
    const back = this.retrieval.l1Progress - 64n;
    this.queue.reset();
    this.retrieval.reset(back);
    this.newWatcher();
  }

  private newWatcher(): void {
    const { deployment, l1Url, confirmations } = this.options;
    this.messages = new L1Watcher(
      {
        rpcUrl: l1Url,
        queue: deployment.contracts.L1MessageQueue,
        fromBlock: BigInt(deployment.deployedAtBlock),
        confirmations,
        pollMs: 1_000,
      },
      this.deps.logger.child({ stage: 'l1-messages' }),
    );
  }

  /** Executes and persists one block; undefined when it was derived before (and matches). */
  private async apply(
    seq: SequencedBlock,
    batch: BatchRef,
    lastOfBatch: boolean,
  ): Promise<DerivedBlock | undefined> {
    const { store, executor } = this.deps;
    const head = executor.head.header.number;
    if (seq.height <= head) {
      const stored = store.getSequenced(seq.height);
      if (!stored || hashSequencedBlock(decodeSequencedBlock(stored)) !== hashSequencedBlock(seq))
        throw critical(
          `L1 now holds a different block ${seq.height} than the one derived here (batch ${batch.index}); the L2 reorged: resync into an empty --data-dir`,
        );
      return undefined;
    }
    if (seq.height !== head + 1n)
      throw critical(`batch ${batch.index}: block ${seq.height} does not follow the derived head ${head}`);
    const parent = this.parent;
    if (seq.parentHash !== hashSequencedBlock(parent))
      throw critical(`block ${seq.height} does not link to block ${parent.height}`);
    if (seq.l1Origin.number < parent.l1Origin.number)
      throw critical(`block ${seq.height}: L1 origin goes backwards`);
    // L1 messages are part of the chain whatever the batch says (DECISIONS.md §3): a sequencer that
    // leaves them out only makes its own soft confirmations wrong.
    const due = this.messages.messagesFor(this.cursor, seq.l1Origin.number);
    const fault =
      seq.l1MessageCursor !== this.cursor + BigInt(due.length)
        ? `block ${seq.height}: claims ${seq.l1MessageCursor - parent.l1MessageCursor} L1 messages, ${due.length} were due`
        : undefined;
    const lag = executor.lagStateRootFor(seq.height);
    if (seq.lagStateRoot !== lag)
      throw critical(
        `block ${seq.height}: lagged state root ${seq.lagStateRoot} differs from the executed ${lag}`,
      );
    const result = await executor.execute(seq, undefined, due);
    const cursor = this.cursor + BigInt(due.length);
    await executor.persistAndCommit(result, {
      sequenced: encodeSequencedBlock(seq),
      proof: new Uint8Array(),
      meta: { [CURSOR_KEY]: `${seq.height}:${cursor}` },
    });
    this.parent = seq;
    this.cursor = cursor;
    return { sequenced: seq, result, messages: due, batch, lastOfBatch, fault };
  }
}
