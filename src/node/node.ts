import type { SecretKey } from '@chainsafe/blst';
import type { MerkleStateManager } from '@ethereumjs/statemanager';
import { createAddressFromString } from '@ethereumjs/util';
import type { Logger } from 'pino';
import type { Abi } from 'viem';
import { Batcher, batcherDefaults, storedCommitProofs } from '../batcher/batcher.js';
import { InclusionPromises } from '../batcher/inclusion-promise.js';
import { OpenSubmitter, type OpenSubmitterStats } from '../batcher/open-submitter.js';
import { OUTPUT_TAKEOVER_MS, OutputProposer, OutputTarget } from '../batcher/proposer.js';
import { type Committee, decodeCommitProof, quorumFor } from '../consensus/certificate.js';
import {
  type DerivedBlock,
  Deriver,
  type L2Rewind,
  type PassedOverBatch,
  type RewindStatus,
} from '../derive/deriver.js';
import { followL1Finality, runDerivation } from '../derive/loop.js';
import { SingleSchedule } from '../election/schedule.js';
import { CallPool } from '../execution/call-pool.js';
import { Executor } from '../execution/executor.js';
import { outputOf, WithdrawalIndex } from '../execution/withdrawal-index.js';
import { CertificateWatcher } from '../l1/certificate-watcher.js';
import { CommitteeInstaller } from '../l1/committee-installer.js';
import { l1Artifacts } from '../l1/deploy.js';
import { EvidenceReporter } from '../l1/evidence-reporter.js';
import { latestOutputOnL1 } from '../l1/outputs.js';
import { committeeReader } from '../l1/slash.js';
import { L1Watcher } from '../l1/watcher.js';
import { IntakePool } from '../mempool/intake-pool.js';
import { TxJournal } from '../mempool/journal.js';
import { Mempool } from '../mempool/mempool.js';
import { createMetrics, type LiveFigures, type Metrics, registerLiveMetrics } from '../metrics/metrics.js';
import { orderingPolicy } from '../ordering/index.js';
import type { RpcContext, TxIntake } from '../rpc/context.js';
import { ForwardingIntake } from '../rpc/forwarding-intake.js';
import { RpcServer } from '../rpc/server.js';
import { BlockWal } from '../store/block-wal.js';
import { ChainStore } from '../store/chain-store.js';
import { decodeSequencedBlock } from '../types/sequenced-block.js';
import { type Hex, toHex } from '../util/bytes.js';
import { sleep } from '../util/sleep.js';
import type { CommitteeSequencer, EpochCommitteeSource } from './committee.js';
import { fileIndexOf } from './committee-options.js';
import { type DepositionRecord, electedSchedule, epochCommitteeSource, isOpenMode } from './election.js';
import { ChainEvents } from './events.js';
import { loadOrCreateKeys } from './keys.js';
import type { NodeOptions } from './options.js';
import type { OutputSigners } from './output-certifier.js';
import { replayBlockWal, Sequencer } from './sequencer.js';

export const CLIENT_VERSION = 'seqnet/v0.1.0/node20';

/**
 * Worker threads for eth_sendRawTransaction's signature recovery and stateless checks (15% of the
 * main thread's time at 1,000 tx/s). One: the project's machine has 2 cores.
 */
const INTAKE_WORKERS = 1;

/** How long seqnet_getPreconfirmation waits for a based submitter that is still starting. */
const SUBMITTER_START_WAIT_MS = 10_000;

/**
 * Wires every component from options (explicit wiring, no container) and owns start/stop: one
 * AbortController stops the sequencer loop; then RPC and the store close in order.
 */

/** Numbers as JSON carries them: bigints become decimal strings or (block numbers, indices) numbers. */
type Jsonified<T, Strings extends keyof T, Numbers extends keyof T> = Omit<T, Strings | Numbers> & {
  [K in Strings]: string;
} & { [K in Numbers]: number };

/** `seqnet_status.open` (based / free): what derivation passed over and what this node's submitter did. */
export interface OpenModeStatus extends RewindStatus {
  /** The L1 block derivation has read batches up to. */
  l1Block: number;
  /** The highest block made only from batches in finalized L1 blocks: outputs go no higher. */
  finalHead: number;
  passedOverBatches: number;
  /** The latest (up to 10) batches derivation passed over, and why. */
  recentPassedOver: Array<Jsonified<PassedOverBatch, never, 'index' | 'l1Block'>>;
  skippedTxs: number;
  halted: string | null;
  submitter: Jsonified<OpenSubmitterStats, 'l1Gas' | 'wastedGas', never> | null;
  /** With a committee file: the members that certify outputs, and the signatures given and made. */
  outputs: Record<string, unknown> | null;
}
export class SeqnetNode {
  private expiryTimer?: NodeJS.Timeout;
  readonly startedAt = Date.now();
  private recentBlocks: Array<{ number: number; txs: number; gasUsed: number; buildMs: number; at: number }> =
    [];
  private recentLatencies: number[] = [];
  batcher?: Batcher;
  /** Proposes outputs to the StateOracle (with an L1 key). */
  outputProposer?: OutputProposer;
  /** The committee member, when the node runs in a committee (not as the single sequencer). */
  consensus?: CommitteeSequencer;
  /** based with `--preconf`: the inclusion promises this node's poster made (journaled). */
  inclusionPromises?: InclusionPromises;
  /** Submits equivocation evidence to the L1 Slasher (when the deployment has one and a key is set). */
  evidenceReporter?: EvidenceReporter;
  /** Compares the certified batches on L1 with this member's chain (with a Slasher and a key). */
  certificateWatcher?: CertificateWatcher;
  private certificateWatchDone?: Promise<void>;
  /** A member that pays for L1 txs installs each epoch's committee in the CommitteeVerifier. */
  committeeInstaller?: CommitteeInstaller;
  private committeeInstallDone?: Promise<void>;
  /** The election mode and what it read from L1 (for the dashboard). */
  election: Record<string, unknown> = { mode: 'single' };
  private batcherDone?: Promise<void>;
  /** The follower of L1 epochs (pos, dpos, auction), running until stop. */
  private epochsDone?: Promise<void>;
  /** `based` / `free`: the chain is derived from the OpenInbox, and this node posts to it. */
  open?: {
    deriver: Deriver;
    submitter?: OpenSubmitter;
    done: Promise<unknown>;
    halted?: string;
    skippedTxs: number;
    /** With a committee file: this member's part in certifying outputs. */
    outputSigners?: OutputSigners;
  };

  private constructor(
    readonly options: NodeOptions,
    readonly store: ChainStore,
    readonly executor: Executor,
    readonly mempool: Mempool,
    readonly sequencer: Sequencer,
    readonly rpc: RpcServer,
    readonly events: ChainEvents,
    readonly metrics: Metrics,
    readonly committee: Committee,
    private readonly journal: TxJournal,
    private readonly calls: CallPool,
    private readonly intake: IntakePool,
    private readonly abort: AbortController,
    private readonly logger: Logger,
  ) {}

  static async start(options: NodeOptions, logger: Logger): Promise<SeqnetNode> {
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
    // Blocks announced before a crash whose lmdb write had not landed: written now, before anything
    // reads the head.
    const blockWal = new BlockWal(`${options.dataDir}/blocks.wal`);
    await replayBlockWal(blockWal, executor, logger.child({ module: 'sequencer' }));
    const keys = loadOrCreateKeys(options.dataDir);
    const schedule = new SingleSchedule(keys.blsPublicKey);
    const publicKeys = options.committee
      ? options.committee.members.map((m) => m.blsPublicKey)
      : (schedule.committeeFor(0n) as Hex[]);
    const committee: Committee = { publicKeys, quorum: quorumFor(publicKeys.length) };
    const metrics = createMetrics();
    const events = new ChainEvents();

    const journal = new TxJournal(`${options.dataDir}/mempool.journal`);
    const intake = new IntakePool(
      executor.txCommon,
      options.mempool,
      options.chain.gasLimit,
      INTAKE_WORKERS,
      logger.child({ module: 'intake' }),
    );
    await intake.start();
    let headState: MerkleStateManager = await executor.stateAt(executor.head);
    const mempool = new Mempool(options.mempool, {
      common: executor.txCommon,
      accounts: {
        async nonceAndBalance(address: Hex) {
          const a = await headState.getAccount(createAddressFromString(address));
          return { nonce: a?.nonce ?? 0n, balance: a?.balance ?? 0n };
        },
      },
      baseFee: () => executor.nextBaseFee(),
      blockGasLimit: options.chain.gasLimit,
      decode: (raw) => intake.decode(raw),
      persist: async (t) => {
        journal.append(t.raw);
      },
      logger: logger.child({ module: 'mempool' }),
    });
    let l1: L1Watcher | undefined;
    const abort = new AbortController();
    if (options.l1) {
      l1 = new L1Watcher(
        {
          rpcUrl: options.l1.rpcUrl,
          queue: options.l1.deployment.contracts.L1MessageQueue,
          fromBlock: BigInt(options.l1.deployment.deployedAtBlock),
          confirmations: options.l1.confirmations,
          pollMs: options.l1.pollMs,
          onReorg: (reorg) => {
            // Messages an L2 block already applied are part of the L2 now; L1 no longer has them.
            const raw = store.getSequenced(executor.head.header.number);
            const cursor = raw ? decodeSequencedBlock(raw).l1MessageCursor : 0n;
            const applied = reorg.droppedMessages.filter((m) => m.index < cursor);
            // In `based` / `free` derivation rewinds the L2 to what L1 now holds (Deriver.rewind).
            if (applied.length && !options.l1?.deployment.openMode)
              logger.error(
                {
                  messages: applied.map((m) => Number(m.index)),
                  commonAncestor: Number(reorg.commonAncestor),
                },
                'an L1 reorg deeper than --l1-confirmations removed L1 messages the L2 already applied; raise --l1-confirmations',
              );
          },
        },
        logger.child({ module: 'l1' }),
      );
      await l1.start(abort.signal);
    }
    const onCommitted = async () => {
      headState = await executor.stateAt(executor.head);
      if (journal.needsRotation(mempool.pendingCount + mempool.queuedCount)) journal.rotate(mempool.rawTxs());
    };
    const sequencer = new Sequencer(options.sequencer, {
      l1,
      executor,
      mempool,
      store,
      policy: orderingPolicy(options.ordering),
      signingKey: keys.bls,
      events,
      metrics,
      logger: logger.child({ module: 'sequencer' }),
      wal: blockWal,
      onCommitted,
      beforeBlock: () => intake.flush(),
    });

    // Txs that were acknowledged before a crash or stop go back through full validation.
    const saved = journal.load();
    let restored = 0;
    for (const raw of saved) {
      try {
        await mempool.add(raw);
        restored++;
      } catch {
        // Included before the stop, or no longer valid: nothing to keep.
      }
    }
    journal.rotate(mempool.rawTxs());
    if (saved.length) logger.info({ restored, dropped: saved.length - restored }, 'restored mempool');

    let node: SeqnetNode | undefined;
    const calls = new CallPool(
      `${options.dataDir}/chain`,
      options.chain,
      options.rpc.callWorkers,
      logger.child({ module: 'calls' }),
    );
    await calls.start();
    // The withdrawals tree is rebuilt from the stored receipts, then kept current block by block.
    const withdrawals = new WithdrawalIndex();
    for (let h = 1n; h <= executor.head.header.number; h++) {
      withdrawals.onBlock(executor.blockByNumber(h)!, store.getReceipts(h) ?? []);
    }
    const ctx: RpcContext = {
      withdrawals,
      chainId: options.chain.chainId,
      executor,
      calls,
      mempool: postsItsMempool(options) ? mempool : keylessIntake(executor, options),
      store,
      events,
      committee,
      metrics,
      options: options.rpc,
      clientVersion: CLIENT_VERSION,
      status: () => node!.status(),
      syncing: () => node!.consensus?.syncProgress(),
      peerCount: () => node!.consensus?.peerCount() ?? 0,
      // based / free: the L1-final head (the deriver starts later, with the open mode).
      finalizedHead: () => node!.open?.deriver.l1FinalHead ?? executor.head.header.number,
    };
    const rpc = new RpcServer(ctx, logger.child({ module: 'rpc' }));
    node = new SeqnetNode(
      options,
      store,
      executor,
      mempool,
      sequencer,
      rpc,
      events,
      metrics,
      committee,
      journal,
      calls,
      intake,
      abort,
      logger,
    );
    events.on('block', (b) => withdrawals.onBlock(b.block, b.receipts));
    events.on('block', (b) =>
      node!.recordBlock(
        b.block.header.number,
        b.block.transactions.length,
        b.block.header.gasUsed,
        b.buildMs,
        b.latenciesMs,
      ),
    );
    const openMode = options.l1?.deployment.openMode;
    // based --preconf: the promises made before a restart bind from the RPC's first request on: their
    // txs (restored to the pool above) must not be replaceable while the node starts (seconds).
    if (openMode === 'based' && options.l1?.preconf && options.l1.batcherKey) {
      const promises = new InclusionPromises({
        key: options.l1.batcherKey,
        l2ChainId: options.chain.chainId,
        l1ChainId: BigInt(options.l1.deployment.l1ChainId),
        inbox: options.l1.deployment.contracts.Inbox,
        journal: `${options.dataDir}/preconf-promises.jsonl`,
      });
      // A promised tx stays until a batch carries it: its sender cannot swap it, a richer tx cannot evict it.
      mempool.protect((h) => promises.has(h));
      node.inclusionPromises = promises;
    }
    // A committee member joins the committee before its RPC answers, so a ready RPC means a member.
    // (based / free: the committee file names who certifies outputs; startOpen starts that part.)
    if (options.committee && !openMode) {
      // Loaded only in committee mode: libp2p and gossipsub add seconds to a single node's start.
      const { CommitteeSequencer } = await import('./committee.js');
      const memberKeys = options.committee.members.map((m) => m.blsPublicKey);
      const mode = options.election ?? 'poa';
      if (isOpenMode(mode))
        throw new Error(
          `--election ${mode} orders by L1: pass --l1-rpc and an --l1-deployment with an OpenInbox (\`seqnet deploy --mode ${mode}\`)`,
        );
      const follows = options.committee.follow === true;
      // Where an auction member keeps the first view its epoch's rotation leads (its winner's deposition).
      const depositions: DepositionRecord = {
        get: (epoch) => {
          const kept = store.getMeta(`auction/deposedFrom/${epoch}`);
          return kept === undefined ? undefined : BigInt(kept);
        },
        set: (epoch, from) => {
          store.putMeta(`auction/deposedFrom/${epoch}`, from.toString()).catch((err: unknown) => {
            logger.warn({ err: (err as Error).message }, 'could not keep the auction deposition');
          });
        },
      };
      // A follower leads no view: it reads no election (nor has an L1 committee to check its file by).
      const elected = await electedSchedule(
        follows ? 'poa' : mode,
        memberKeys,
        options.l1 && {
          rpcUrl: options.l1.rpcUrl,
          election: options.l1.deployment.election,
          confirmations: options.l1.confirmations,
        },
        logger.child({ module: 'election' }),
        depositions,
        options.committee.epochCommittees === true && !follows,
      );
      // --epoch-committees: each epoch's certifying committee from the L1 election (kept here for the
      // RPC's preconfirmations and block sync's checks, once read).
      let epochs: EpochCommitteeSource | undefined;
      if (options.committee.epochCommittees && !follows) {
        if (
          !options.l1?.deployment.election ||
          !options.l1.deployment.contracts.CommitteeVerifier ||
          (mode !== 'pos' && mode !== 'dpos' && mode !== 'auction')
        )
          throw new Error(
            "--epoch-committees takes each epoch's committee from the L1 election: run --election pos | dpos | auction with --l1-rpc and an --l1-deployment that has the election contracts and a CommitteeVerifier",
          );
        const source = epochCommitteeSource(
          mode,
          {
            rpcUrl: options.l1.rpcUrl,
            election: options.l1.deployment.election,
            confirmations: options.l1.confirmations,
          },
          logger.child({ module: 'election' }),
          depositions,
        );
        const known = new Map<bigint, Committee>([[0n, committee]]);
        const summaries = new Map<bigint, Record<string, unknown>>();
        const instanceFor = async (epoch: bigint) => {
          const got = await source.instanceFor(epoch);
          known.set(epoch, got.committee);
          summaries.set(epoch, got.summary);
          // The recent ones (an older proof's committee is read again when asked for).
          for (const m of [known, summaries])
            for (const e of m.keys()) if (e !== 0n && e < epoch - 256n) m.delete(e);
          return got;
        };
        epochs = {
          epochOf: source.epochOf,
          instanceFor,
          // The dashboard's election summary is the instance's the chain is in.
          onEnter: (epoch) => {
            const summary = summaries.get(epoch);
            if (summary && node)
              node.election = {
                ...summary,
                committee: known.get(epoch)?.publicKeys.length,
                switchedAt: new Date().toISOString(),
              };
          },
        };
        ctx.committeeOf = (epoch) => known.get(epoch);
        ctx.committeeReady = async (epoch) => {
          if (!known.has(epoch)) await instanceFor(epoch);
        };
      }
      node.election = elected.summary;
      // pos, dpos, auction: each new L1 epoch brings its proposers, stakes, seed or winner.
      const follower = elected.follow;
      if (follower)
        node.epochsDone = follower(node.abort.signal, (summary) => {
          node!.election = { ...summary, switchedAt: new Date().toISOString() };
        });
      const reporterKey = options.l1?.reporterKey ?? options.l1?.batcherKey;
      const slasher = options.l1?.deployment.election?.contracts.Slasher;
      if (options.l1 && slasher && reporterKey)
        node.evidenceReporter = new EvidenceReporter(
          { rpcUrl: options.l1.rpcUrl, key: reporterKey, slasher, publicKeys: memberKeys },
          logger.child({ module: 'slasher' }),
        );
      const reporter = node.evidenceReporter;
      // Every member also compares the certified batches on L1 with its own chain (`seqnet slash`'s
      // check, run on its own): a quorum certificate on L1 for another block in a view this node holds
      // a certificate of slashes the double signers.
      if (options.l1 && reporter && reporterKey && options.l1.deployment.contracts.CommitteeVerifier) {
        const cursorKey = 'certificateWatch/nextL1Block';
        let kept = store.getMeta(cursorKey);
        node.certificateWatcher = new CertificateWatcher(
          {
            l1Url: options.l1.rpcUrl,
            deployment: options.l1.deployment,
            key: reporterKey,
            pollMs: Math.max(1000, options.l1.pollMs),
            proofAt: (height) => {
              const raw = store.getProof(height);
              return raw ? decodeCommitProof(raw) : undefined;
            },
            blockHashAt: (height) => store.sequencedHashAt(height),
            serialise: (task) => reporter.run(task),
            cursor: {
              get: () => (kept === undefined ? undefined : BigInt(kept)),
              set: (l1Block) => {
                if (kept === l1Block.toString()) return;
                kept = l1Block.toString();
                store.putMeta(cursorKey, kept).catch((err: unknown) => {
                  logger.warn({ err: (err as Error).message }, 'could not keep the certificate watch cursor');
                });
              },
            },
            onConflict: (c) => metrics.l1CertificateConflicts.inc({ verdict: c.verdict }),
          },
          logger.child({ module: 'slasher' }),
        );
        node.certificateWatchDone = node.certificateWatcher.run(node.abort.signal);
      }
      node.consensus = await CommitteeSequencer.start(options.committee, {
        schedule: elected.schedule,
        onEvidence: (e, signer) => reporter?.report(e, signer),
        onConflictingCertificates: (c, keys) => reporter?.reportCertificates(c, keys),
        dataDir: options.dataDir,
        chainId: options.chain.chainId,
        executor,
        mempool,
        store,
        policy: orderingPolicy(options.ordering),
        blsKey: keys.bls,
        events,
        metrics,
        logger: logger.child({ module: 'consensus' }),
        l1,
        onCommitted,
        blockWal,
        // A follower signs nothing, outputs included.
        ...(!follows && { outputAt: (h: bigint) => outputOf(executor, withdrawals, h) }),
        ...(epochs && {
          epochs,
          // Block sync checks each proof against its epoch's committee, as the L1 election has it.
          committeeOf: (epoch: bigint) =>
            epochs.instanceFor(epoch).then(
              (got) => got.committee,
              () => undefined,
            ),
        }),
        // A follower with the rollup's L1 checks the blocks it takes against the committee the
        // CommitteeVerifier holds for each proof's epoch: it trusts the L1, not the file's keys.
        ...(follows &&
          options.l1?.deployment.contracts.CommitteeVerifier && {
            committeeOf: committeeReader(
              options.l1.rpcUrl,
              options.l1.deployment.contracts.CommitteeVerifier,
            ),
          }),
      });
    }
    // pos, dpos, auction with --epoch-committees: a member with an L1 key installs each epoch's
    // committee on L1 once its pinned block is final (one member's tx an epoch; `CommitteeInstaller`).
    // Without the flag every certificate is epoch 0's (the file's, installed at deploy), so a later
    // epoch's committee on L1 would check nothing: ~350k gas an epoch for 4 stakers, not spent.
    const electionOnL1 = options.l1?.deployment.election;
    const verifierOnL1 = options.l1?.deployment.contracts.CommitteeVerifier;
    const installerKey = options.l1?.reporterKey ?? options.l1?.batcherKey;
    // Staggered by the committee-file index (a member of one epoch's committee may not be in the next);
    // a staker outside the file after all of the file's members, spread by its key (several such may
    // run), so it installs when the file's members are gone or have no L1 key.
    const ownBls = keys.bls.toPublicKey().toBytes();
    const fileIndex = options.committee ? fileIndexOf(options.committee.members, toHex(ownBls)) : -1;
    const installOrder =
      fileIndex >= 0 ? fileIndex : (options.committee?.members.length ?? 0) + (ownBls[ownBls.length - 1] % 8);
    const certifiersChange = options.committee?.epochCommittees === true && !options.committee.follow;
    if (options.l1 && node.consensus && certifiersChange && electionOnL1 && verifierOnL1 && installerKey) {
      const reporter = node.evidenceReporter;
      node.committeeInstaller = new CommitteeInstaller(
        {
          l1Url: options.l1.rpcUrl,
          key: installerKey,
          verifier: verifierOnL1,
          clock: {
            genesisBlock: BigInt(electionOnL1.genesisBlock),
            epochLength: BigInt(electionOnL1.epochLength),
          },
          confirmations: options.l1.confirmations,
          member: installOrder,
          pollMs: Math.max(1000, options.l1.pollMs),
          serialise: (task) => (reporter ? reporter.run(task) : task()),
        },
        logger.child({ module: 'committee-install' }),
      );
      node.committeeInstallDone = node.committeeInstaller.run(node.abort.signal);
    }
    let address: Awaited<ReturnType<RpcServer['start']>>;
    try {
      address = await rpc.start();
    } catch (err) {
      await node.consensus?.stop();
      throw err;
    }
    if (openMode && options.l1 && l1) {
      const opening = node.startOpen(l1, onCommitted, withdrawals, keys.bls);
      ctx.openPreconfirmations = {
        mode: openMode,
        optedIn: node.inclusionPromises !== undefined,
        promise: async (h) => {
          const promises = node.inclusionPromises;
          if (!promises) return undefined;
          // The RPC takes txs while the submitter is still starting (L1 reads; libp2p for the output
          // signers: seconds), and the submitter promises those once it runs: wait for it, not answer
          // null. A promise made before a restart is served at once.
          if (!promises.has(h) && !node.open?.submitter) {
            const waited = new AbortController();
            await Promise.race([opening.catch(() => {}), sleep(SUBMITTER_START_WAIT_MS, waited.signal)]);
            waited.abort();
          }
          return promises.get(h);
        },
      };
      await opening;
    } else if (!options.committee) sequencer.start(node.abort.signal);
    // Every node that follows the L1 proves withdrawals against the StateOracle's newest output.
    if (options.l1) {
      const { rpcUrl, deployment } = options.l1;
      ctx.latestOutput = () => latestOutputOnL1(rpcUrl, deployment.contracts.StateOracle);
    }
    if (options.l1?.batcherKey && !openMode) {
      const batcherKey = options.l1.batcherKey;
      const l1Url = options.l1.rpcUrl;
      const contracts = options.l1.deployment.contracts;
      let batcher: Batcher | undefined;
      const consensus = node.consensus;
      const proposer = new OutputProposer({
        outputAt: (h) => outputOf(executor, withdrawals, h),
        // With a committee on L1, every output carries its certificate; no single key posts one.
        certify: contracts.CommitteeVerifier && consensus ? (h) => consensus.certifyOutput(h) : undefined,
        committeeSize: options.committee?.members.length ?? 1,
        postedTo: () => batcher?.stats.postedTo ?? 0n,
        l1Url,
        oracle: contracts.StateOracle,
        oracleAbi: l1Artifacts().StateOracle.abi as Abi,
        key: batcherKey,
        logger: logger.child({ module: 'proposer' }),
      });
      const batcherOptions = {
        ...(options.l1.batcher ?? batcherDefaults),
        ...(options.da && { da: options.da }),
      };
      batcher = new Batcher(batcherOptions, {
        store,
        head: () => executor.head.header.number,
        l1Url,
        inbox: contracts.Inbox,
        inboxAbi: l1Artifacts().Inbox.abi as Abi,
        key: batcherKey,
        logger: logger.child({ module: 'batcher' }),
        afterPost: () => proposer.proposeOnce(),
        // With a committee on L1, every batch carries the commit proof of its last block.
        proofFor: contracts.CommitteeVerifier ? storedCommitProofs(store) : undefined,
      });
      node.batcher = batcher;
      node.outputProposer = proposer;
      node.batcherDone = node.batcher.start(node.abort.signal);
    }
    registerLiveMetrics(metrics, node.liveFigures());
    node.expiryTimer = setInterval(() => mempool.expireQueued(), 60_000);
    node.expiryTimer.unref();
    metrics.blockHeight.set(Number(executor.head.header.number));
    logger.info(
      {
        rpc: `http://${address.address}:${address.port}`,
        head: Number(executor.head.header.number),
        chainId: Number(options.chain.chainId),
      },
      'seqnet node started',
    );
    return node;
  }

  /**
   * `based` / `free`: no sequencer loop and no committee. The chain is what derivation makes of the
   * OpenInbox, block by block (receipts are served once a block is derived from L1), and, with an L1
   * key, an OpenSubmitter posts this node's mempool to it.
   */
  private async startOpen(
    l1: L1Watcher,
    onCommitted: () => Promise<void>,
    withdrawals: WithdrawalIndex,
    blsKey: SecretKey,
  ): Promise<void> {
    const { options, executor, store, mempool, metrics, events, logger } = this;
    const l1Options = options.l1!;
    const mode = l1Options.deployment.openMode!;
    this.election = { mode };
    // A deep L1 reorg took blocks back (the deriver rewound the chain): their txs go back in the pool
    // at the senders' rewound nonces, as geth does after a reorg, and this node posts them again.
    const onRewind = async (rewind: L2Rewind) => {
      await onCommitted();
      withdrawals.rewindTo(rewind.to);
      metrics.l2Rewinds.inc();
      metrics.blockHeight.set(Number(rewind.to));
      events.emit('rewind', rewind);
      const state = await executor.stateAt(executor.head);
      const txs = rewind.removed.flatMap((r) => r.block.transactions);
      const nonces = new Map<Hex, bigint>();
      for (const t of txs) {
        const sender = t.getSenderAddress();
        const key = toHex(sender.bytes);
        if (!nonces.has(key)) nonces.set(key, (await state.getAccount(sender))?.nonce ?? 0n);
      }
      mempool.onBlock(nonces, []);
      let back = 0;
      for (const t of txs) {
        try {
          await mempool.add(t.serialize());
          back++;
        } catch {
          // Refused: no longer valid at the rewound state, or already in the pool.
        }
      }
      logger.warn(
        { to: Number(rewind.to), removedTxs: txs.length, backInPool: back },
        "the L2 was rewound: the removed blocks' txs are back in the pool",
      );
    };
    const deriver = new Deriver(
      { l1Url: l1Options.rpcUrl, deployment: l1Options.deployment, confirmations: l1Options.confirmations },
      { store, executor, logger: logger.child({ module: 'derive' }), onRewind },
    );
    await deriver.init();
    const onDerived = async (d: DerivedBlock) => {
      const { block, receipts, sequencedHash, skipped } = d.result;
      const now = Date.now();
      const latenciesMs: number[] = [];
      // Every executed tx advances its sender's nonce, also txs other submitters posted.
      const newNonces = new Map<Hex, bigint>();
      for (const [i, t] of block.transactions.entries()) {
        const sender = receipts[i].from;
        const next = t.nonce + 1n;
        if ((newNonces.get(sender) ?? 0n) < next) newNonces.set(sender, next);
        const pooled = mempool.get(toHex(t.hash()));
        if (pooled) latenciesMs.push(now - pooled.addedAt);
      }
      await onCommitted();
      mempool.onBlock(
        newNonces,
        skipped.map((x) => x.hash),
      );
      open.skippedTxs += skipped.length;
      metrics.blocksTotal.inc();
      metrics.blockHeight.set(Number(block.header.number));
      metrics.txsIncluded.inc(block.transactions.length);
      metrics.txsSkipped.inc(skipped.length);
      for (const l of latenciesMs) metrics.softConfirmLatency.observe(l / 1000);
      events.emit('block', { block, receipts, sequencedHash, latenciesMs, buildMs: 0 });
    };
    const open: NonNullable<SeqnetNode['open']> = { deriver, done: Promise.resolve(), skippedTxs: 0 };
    this.open = open;
    // Posting stops with the node, and when derivation halts: a post built on a chain that L1 no
    // longer implies could only waste L1 gas.
    const posting = new AbortController();
    this.abort.signal.addEventListener('abort', () => posting.abort(), { once: true });
    open.done = runDerivation(deriver, {
      pollMs: Math.min(l1Options.pollMs, 250),
      signal: this.abort.signal,
      logger: logger.child({ module: 'derive' }),
      onBlock: onDerived,
    }).then((halted) => {
      open.halted = halted;
      if (halted && open.submitter) {
        logger.warn('derivation halted: this node stops posting batches');
        posting.abort();
      }
    });
    // With a committee file (and a CommitteeVerifier on L1), the committee certifies outputs here too
    // (DECISIONS.md §4), so withdrawals reach L1; every member that posts proposes its own blocks' outputs.
    const verifier = l1Options.deployment.contracts.CommitteeVerifier;
    if (options.committee && !verifier)
      throw new Error(
        `--committee in ${mode} mode certifies outputs, but the L1 deployment has no CommitteeVerifier: deploy with \`seqnet deploy --mode ${mode} --committee FILE\` or leave out --committee`,
      );
    // An L1 reorg can rewind the L2 here, so outputs wait for L1 finality: the committee signs, and
    // posters propose, only outputs of blocks whose batches finalized L1 blocks hold.
    const finality = followL1Finality(deriver, {
      pollMs: Math.max(250, l1Options.pollMs),
      signal: this.abort.signal,
      logger,
      onFinalHead: (h) => metrics?.finalizedHeight.set(Number(h)),
    });
    open.done = Promise.all([open.done, finality]);
    const finalOutputAt = (h: bigint) =>
      h <= deriver.l1FinalHead ? outputOf(executor, withdrawals, h) : undefined;
    let proposer: OutputProposer | undefined;
    if (options.committee) {
      // Loaded only here: libp2p adds seconds to the start of a node without a committee.
      const { OutputSigners } = await import('./output-certifier.js');
      const signers = await OutputSigners.start(options.committee, {
        dataDir: options.dataDir,
        chainId: options.chain.chainId,
        blsKey,
        outputAt: finalOutputAt,
        logger,
        metrics,
      });
      open.outputSigners = signers;
      if (l1Options.batcherKey) {
        const outputTarget = new OutputTarget(signers.self, signers.size, OUTPUT_TAKEOVER_MS);
        proposer = new OutputProposer({
          outputAt: finalOutputAt,
          certify: (h) => signers.certifier.certify(h),
          committeeSize: signers.size,
          // Derived blocks are on L1 already; outputs wait for their batches' L1 blocks to be final.
          postedTo: () => deriver.l1FinalHead,
          // Member i proposes outputs of blocks i, i + n, …: posters do not race for one output; a
          // head its owner leaves unproposed is taken over after a grace.
          targetOf: (head) => outputTarget.of(head),
          l1Url: l1Options.rpcUrl,
          oracle: l1Options.deployment.contracts.StateOracle,
          oracleAbi: l1Artifacts().StateOracle.abi as Abi,
          key: l1Options.batcherKey,
          logger: logger.child({ module: 'proposer' }),
        });
        this.outputProposer = proposer;
      }
    }
    if (l1Options.batcherKey) {
      open.submitter = new OpenSubmitter(
        {
          mode,
          intervalMs: 500,
          maxBlockBytes: options.sequencer.maxBlockBytes,
          maxBlockTxs: options.sequencer.maxBlockTxs,
          ...(options.da && { da: options.da }),
        },
        {
          l1Url: l1Options.rpcUrl,
          key: l1Options.batcherKey,
          inbox: l1Options.deployment.contracts.Inbox,
          inboxAbi: l1Artifacts().Inbox.abi as Abi,
          mempool,
          executor,
          store,
          deriver,
          l1,
          policy: orderingPolicy(options.ordering),
          logger: logger.child({ module: 'submitter' }),
          ...(this.inclusionPromises && { promises: this.inclusionPromises }),
          ...(proposer && { afterRound: () => proposer.proposeOnce() }),
        },
      );
      const posted = open.submitter.start(posting.signal);
      const deriving = open.done;
      open.done = Promise.all([deriving, posted]);
    }
    logger.info(
      { mode, posting: Boolean(l1Options.batcherKey) },
      `${mode}: the chain is derived from L1 order${l1Options.batcherKey ? "; posting this node's txs" : ''}`,
    );
  }

  private recordBlock(
    number: bigint,
    txs: number,
    gasUsed: bigint,
    buildMs: number,
    latencies: number[],
  ): void {
    this.recentBlocks.push({
      number: Number(number),
      txs,
      gasUsed: Number(gasUsed),
      buildMs,
      at: Date.now(),
    });
    if (this.recentBlocks.length > 50) this.recentBlocks.shift();
    this.recentLatencies.push(...latencies);
    if (this.recentLatencies.length > 2000)
      this.recentLatencies.splice(0, this.recentLatencies.length - 2000);
  }

  /** The operator's figures on /metrics, for the parts this node runs. */
  private liveFigures(): LiveFigures {
    const { consensus, batcher, outputProposer, open, executor } = this;
    const submitter = open?.submitter;
    return {
      ...(consensus && {
        peers: () => consensus.network.peers().length,
        consensus: () => consensus.live,
      }),
      ...(batcher && {
        batches: () => ({
          backlogBlocks: Math.max(0, Number(executor.head.header.number - batcher.stats.postedTo)),
          posted: batcher.stats.batches,
          l1Gas: batcher.stats.l1Gas,
        }),
      }),
      // based / free: every block is derived from a batch on L1, so there is no backlog of blocks.
      ...(submitter && {
        batches: () => ({
          posted: submitter.stats.posted,
          l1Gas: submitter.stats.l1Gas,
          wastedGas: submitter.stats.wastedGas,
        }),
      }),
      ...(outputProposer && {
        outputs: () => ({ proposed: outputProposer.stats.outputs, l1Gas: outputProposer.stats.l1Gas }),
      }),
      ...(submitter?.preconf && { promises: () => submitter.stats.promised }),
    };
  }

  /** Live figures for the dashboard (seqnet_status). */
  status(): Record<string, unknown> {
    const sorted = [...this.recentLatencies].sort((a, b) => a - b);
    const pct = (p: number) =>
      sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] : null;
    const windowStart = Date.now() - 10_000;
    const recentTxs = this.recentBlocks.filter((b) => b.at >= windowStart).reduce((s, b) => s + b.txs, 0);
    return {
      chainId: Number(this.options.chain.chainId),
      clientVersion: CLIENT_VERSION,
      mode: this.consensus || this.open ? String(this.election.mode) : 'single',
      election: this.election,
      consensus: this.consensus?.status() ?? null,
      open: this.open
        ? ({
            l1Block: Number(this.open.deriver.l1Progress.batches),
            finalHead: Number(this.open.deriver.l1FinalHead),
            passedOverBatches: this.open.deriver.passedOverCount,
            recentPassedOver: this.open.deriver.recentPassedOver.slice(-10).map((b) => ({
              ...b,
              index: Number(b.index),
              l1Block: Number(b.l1Block),
            })),
            skippedTxs: this.open.skippedTxs,
            halted: this.open.halted ?? null,
            ...this.open.deriver.rewindStatus(),
            outputs: this.open.outputSigners?.status() ?? null,
            submitter: this.open.submitter
              ? {
                  ...this.open.submitter.stats,
                  l1Gas: this.open.submitter.stats.l1Gas.toString(),
                  wastedGas: this.open.submitter.stats.wastedGas.toString(),
                }
              : null,
          } satisfies OpenModeStatus)
        : null,
      slashReports: (this.evidenceReporter?.results ?? []).map((r) => ({ ...r, view: r.view.toString() })),
      certificateSlashReports: (this.evidenceReporter?.certificateResults ?? []).map((r) => ({
        ...r,
        view: r.view.toString(),
      })),
      committeeInstalls: this.committeeInstaller
        ? {
            source: this.committeeInstaller.noSource ? 'owner' : 'election',
            lastError: this.committeeInstaller.lastError,
            epochs: this.committeeInstaller.installs.map((i) => ({
              ...i,
              epoch: Number(i.epoch),
              ...(i.gasUsed !== undefined && { gasUsed: Number(i.gasUsed) }),
            })),
          }
        : null,
      certificateWatch: this.certificateWatcher
        ? {
            ...this.certificateWatcher.status(),
            recentConflicts: this.certificateWatcher.conflicts.slice(-10).map((c) => ({
              ...c,
              batchIndex: Number(c.batchIndex),
              height: Number(c.height),
              view: c.view === undefined ? null : c.view.toString(),
            })),
          }
        : null,
      ordering: this.options.ordering,
      // based / free: blocks come from L1 batches, not a block timer.
      blockTimeMs: this.open ? null : this.options.sequencer.blockTimeMs,
      head: Number(this.executor.head.header.number),
      headHash: `0x${Buffer.from(this.executor.head.hash()).toString('hex')}`,
      mempool: { pending: this.mempool.pendingCount, queued: this.mempool.queuedCount },
      committee: this.committee,
      latencyMs: { p50: pct(50), p99: pct(99), samples: sorted.length },
      txPerSecond: recentTxs / 10,
      recentBlocks: this.recentBlocks.slice(-20).reverse(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      batcher: this.batcher
        ? {
            ...this.batcher.stats,
            l1Gas: this.batcher.stats.l1Gas.toString(),
            postedTo: Number(this.batcher.stats.postedTo),
          }
        : null,
    };
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearInterval(this.expiryTimer);
    await this.consensus?.stop();
    await this.sequencer.stopped();
    await this.batcherDone;
    await this.open?.done;
    await this.open?.outputSigners?.stop();
    this.inclusionPromises?.close();
    await this.epochsDone;
    await this.certificateWatchDone;
    await this.committeeInstallDone;
    await this.rpc.stop();
    await this.calls.close();
    await this.intake.close();
    this.journal.rotate(this.mempool.rawTxs());
    this.journal.close();
    await this.store.close();
    this.logger.info('seqnet node stopped');
  }
}

/** Whether something orders and posts what this node's mempool holds: all but based / free without an L1 key. */
function postsItsMempool(options: NodeOptions): boolean {
  return !options.l1?.deployment.openMode || options.l1.batcherKey !== undefined;
}

/**
 * based / free without an L1 key: nothing here would ever post a tx sent to this node (these nodes
 * gossip no txs), so the RPC forwards it to a node that posts (`--sequencer-rpc`) or refuses it
 * with what to do instead of holding it for ever.
 */
function keylessIntake(executor: Executor, options: NodeOptions): TxIntake {
  return new ForwardingIntake(
    executor.txCommon,
    options.chain.gasLimit,
    options.l1?.forwardTxsTo,
    `this ${options.l1?.deployment.openMode} node posts no batches (no SEQNET_BATCHER_KEY), so nothing would include your transaction: send it to a node that posts, start this one with --sequencer-rpc URL of one to forward it, or post a batch to the OpenInbox yourself`,
  );
}
