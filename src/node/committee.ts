import { mkdirSync, rmSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretKey } from '@chainsafe/blst';
import { RLP } from '@ethereumjs/rlp';
import type { Logger } from 'pino';
import { BlsConsensusCrypto, blsSigner } from '../consensus/bls-crypto.js';
import {
  type CommitProof,
  type Committee,
  decodeCommitProof,
  encodeCommitProof,
  proposalMessage,
  quorumFor,
} from '../consensus/certificate.js';
import {
  agreedChainHistory,
  decodeConsensusMessage,
  decodeProposals,
  encodeChainHistory,
  encodeConsensusMessage,
  encodeProposals,
} from '../consensus/codec.js';
import type { CoreStart } from '../consensus/core/hotstuff.js';
import type {
  BlockHeader,
  CommittedBlock,
  ConflictingCertificates,
  ConsensusMessage,
  Equivocation,
  Proposal,
} from '../consensus/core/types.js';
import { type ConsensusApp, ConsensusDriver, startFromWal } from '../consensus/driver/driver.js';
import { FileWal } from '../consensus/driver/file-wal.js';
import { AdaptiveViewTimeout } from '../consensus/driver/view-timeout.js';
import { type Instance, instanceBlockError, instanceRootQc, messageEpoch } from '../consensus/handover.js';
import { FileSafetyStorage } from '../consensus/safety/file-storage.js';
import { SafetyRules } from '../consensus/safety/safety-rules.js';
import { EpochSchedule } from '../election/epoch-schedule.js';
import { type LeaderSchedule, PoaSchedule, scheduleHooks } from '../election/schedule.js';
import type { Executor } from '../execution/executor.js';
import type { L1BlockRef, L1Message, L1Source } from '../l1/watcher.js';
import type { L2Output } from '../l1/withdrawals.js';
import type { Mempool } from '../mempool/mempool.js';
import { PeerTxIntake } from '../mempool/peer-intake.js';
import type { PoolTx } from '../mempool/pool-tx.js';
import type { Metrics } from '../metrics/metrics.js';
import type { OrderingPolicy } from '../ordering/policy.js';
import { loadOrCreateNodeKey, nodeKeyPath } from '../p2p/keys.js';
import { createNetwork, type Network } from '../p2p/network.js';
import { protocols, topics } from '../p2p/options.js';
import { decodeTxBatch, encodeTxBatch, TxGossip } from '../p2p/tx-gossip.js';
import type { SyncProgress } from '../rpc/context.js';
import type { BlockWal } from '../store/block-wal.js';
import type { ChainStore } from '../store/chain-store.js';
import {
  decodeSequencedBlock,
  encodeSequencedBlock,
  hashSequencedBlock,
  LAG_STATE_ROOT_DISTANCE,
  type SequencedBlock,
} from '../types/sequenced-block.js';
import { bigIntToBytes, bytesToBigInt, fromHex, type Hex, keccak256, toHex } from '../util/bytes.js';
import { sleep } from '../util/sleep.js';
import { type CommitteeOptions, checkFollower, fileIndexOf, memberIndexOf } from './committee-options.js';
import { MAX_UNWRITTEN_BLOCKS, persistExecutedBlock } from './durable-block.js';
import type { ChainEvents } from './events.js';
import {
  decodeMemberRecord,
  encodeMemberRecord,
  MemberDirectory,
  signMemberRecord,
} from './member-records.js';
import { committeeOutputCertifier, type OutputCertifier } from './output-certifier.js';
import { askInTurn, type SyncSource } from './sync-sources.js';
import { type EpochCommittees, provenSyncedBlocks, suffixKey } from './synced-blocks.js';

export { type CommitteeMember, type CommitteeOptions, committeeDefaults } from './committee-options.js';

export interface CommitteeDeps {
  dataDir: string;
  chainId: bigint;
  executor: Executor;
  mempool: Mempool;
  store: ChainStore;
  policy: OrderingPolicy;
  blsKey: SecretKey;
  events: ChainEvents;
  metrics: Metrics | null;
  logger: Logger;
  /** `poll`: read the L1 now, not at the next poll (a proposal named an L1 block not read here yet). */
  l1?: L1Source & { scannedThrough?(): bigint; poll?(): Promise<void> };
  /** Who leads each view (`--election`); default poa: round robin over the committee file. */
  schedule?: LeaderSchedule;
  /**
   * Told of every equivocation found, with the signer's BLS key (the node submits it to the L1
   * Slasher when it has one; a staker outside the committee file is slashed by its key too).
   */
  onEvidence?(e: Equivocation, signer: Hex): void;
  /**
   * Told of two verified QCs of one view on different blocks (submitted to the Slasher too), with the
   * keys of the committee that signed them (their signer bitmaps index it).
   */
  onConflictingCertificates?(c: ConflictingCertificates, committee: readonly Hex[]): void;
  onCommitted(): Promise<void>;
  /**
   * The node's block WAL: with it a committed block is announced once its record is written, while
   * lmdb writes it in the background (without it, after lmdb's write).
   */
  blockWal?: BlockWal;
  /**
   * The committee of each epoch that block sync checks commit proofs against: a follower with an L1
   * deployment reads them from the CommitteeVerifier, and so trusts the L1, not its committee file's
   * keys. Without it: the committee file's, for epoch 0.
   */
  committeeOf?: EpochCommittees;
  /** This member's output of a block it executed (for certified outputs); none: it signs no outputs. */
  outputAt?(l2Block: bigint): L2Output | undefined;
  /**
   * `--epoch-committees`: each epoch's certifying committee is the L1 election's, and the chain hands
   * over from one to the next at its boundary block (docs/ARCHITECTURE.md, "Committees that change").
   * `epochOf` maps an L1 block to its election epoch; `instanceFor` reads an epoch's committee (in the
   * L1's order, as the CommitteeVerifier installs it) and leader schedule, rejecting until it can.
   */
  epochs?: EpochCommitteeSource;
}

/** Where a node with `--epoch-committees` learns each epoch's committee. */
export interface EpochCommitteeSource {
  epochOf(l1Block: bigint): bigint;
  instanceFor(epoch: bigint): Promise<{ committee: Committee; schedule: LeaderSchedule }>;
  /** Told each time the node enters an instance (the dashboard's election summary follows it). */
  onEnter?(epoch: bigint): void;
}

/** One consensus instance as this node runs it: an epoch's committee on its root block. */
interface InstanceSetup {
  instance: Instance;
  rootHeight: bigint;
  committee: Committee;
  schedule: LeaderSchedule;
}

const SYNC_FETCH = 1;
const SYNC_BLOCKS = 2;
const SYNC_STATUS = 3;
const SYNC_HISTORY = 4;
/** A follower's long poll: the member answers its head once it is above the asked height (or after FOLLOW_WAIT_MS). */
const SYNC_WAIT = 5;
/** How long a member holds a follower's long poll before it answers its head as it is. */
const FOLLOW_WAIT_MS = 2_000;
/** Rounds of asking the members for a synced head's chain history (they may not have committed it yet). */
const HISTORY_ROUNDS = 5;
/** How long a block sync waits for f+1 members to answer before it syncs from fewer. */
const SYNC_WAIT_FOR_ANSWERS_MS = 10_000;
/** How long a member's connection must stay closed before a view it leads or collects is given up. */
const DISCONNECT_GRACE_MS = 50;
/** Blocks per sync answer. */
const SYNC_CHUNK = 64;
/**
 * A follower (`--follow`) is not in the consensus messages' way. It learns of new blocks by a long
 * poll to each member (SYNC_WAIT: answered as soon as the member executed a block above the
 * follower's head; `followMember`), and, as members do, by asking every member how far it committed
 * each second. A long poll that failed, or whose answer brought no block, is made again no sooner than
 * this (a lying member cannot make the follower spin).
 */
const FOLLOW_POLL_MS = 100;
/** Voters refuse blocks stamped further than this in the future (DECISIONS.md §3). */
const MAX_FUTURE_SECONDS = 5n;
/**
 * A leader takes no L1 origin stamped further ahead of its clock than this: the block's timestamp is
 * at least its origin's, and voters whose clocks are up to 2 s behind must still take it. Only an L1
 * whose clock jumped ahead (anvil's evm_increaseTime) has such blocks; before, the leader stamped
 * its block with the jumped time, every voter refused it, and the chain stood still until the wall
 * clock caught up.
 */
const MAX_ORIGIN_AHEAD_SECONDS = MAX_FUTURE_SECONDS - 2n;

/** A committed block on its way to execution (queueCommit → commitBlocks). */
interface CommittedForExecution {
  b: CommittedBlock;
  seq: SequencedBlock;
  /** The sequenced txs' hashes, in order. */
  txHashes: Hex[];
  proof: CommitProof;
}

/** Tx hashes of the blocks executed lately kept for PeerTxIntake (~30 s at 500 tx/s; ~2 MB). */
const RECENTLY_INCLUDED_KEPT = 16_384;

/** validate()'s answer for a block whose L1 origin this node has not read yet (not a fault of the block). */
const NOT_KNOWN_YET = 'L1 origin not known here yet';
/** At most one L1 scan out of turn per this many ms (a proposal naming an L1 block not read here). */
const L1_SCAN_ASK_MS = 100;

/** What the node looks up about a block by hash (its L1 origin, and its L1 message cursor). */
interface BlockFacts {
  origin: bigint;
  cursor: bigint;
}

/**
 * The decentralised sequencer: a committee member that orders with its peers through the BFT core
 * (src/consensus) over libp2p. The leader builds a sequenced block on the highest certified block
 * (pipelined: its parent may not be committed yet); voters check it; committed blocks are executed,
 * persisted with their commit proof and only then announced — the same soft confirmation as the
 * single sequencer, now certified by 2f+1 members (DECISIONS.md §1, §2, §6).
 */
export class CommitteeSequencer {
  /** The consensus driver; none in a follower. */
  private driver?: ConsensusDriver;
  /** A member's safety record and consensus WAL; a follower, which never signs, has neither. */
  private safety?: SafetyRules;
  private wal?: FileWal;
  private crypto!: BlsConsensusCrypto;
  /** The certifying committee of the instance this node is in (the file's, without --epoch-committees). */
  committee!: Committee;
  /** This node's index in the instance's committee; −1 in a follower (or a node outside the epoch's committee). */
  self = -1;
  schedule!: LeaderSchedule;
  /** The consensus instance the chain is in: its epoch and root block (epoch 0 on genesis, unless --epoch-committees). */
  private instance!: Instance;
  private instanceRootHeight = 0n;
  /**
   * --epoch-committees: the instance's boundary block is committed (queued for execution); later
   * blocks committed by this instance are its suffix, never part of the chain, and are dropped.
   */
  private instanceClosed = false;
  /** A message of a later instance came: the next block sync takes every block the others hold. */
  private instanceBehind = false;
  /** The instance's members' libp2p peers, by member index (from the committee file, by key). */
  private memberPeers: Array<string | undefined> = [];
  private peerToMember = new Map<string, number>();
  /** Committee-file peers: they serve block sync (with the instance's members: syncPeers). */
  private readonly filePeers: Set<string>;
  /** The peers of BLS keys: the committee file's, and those stakers outside it handed over (member-records.ts). */
  private readonly directory: MemberDirectory;
  /** This node's own member record, handed to each peer that asks. */
  private readonly ownRecord: Uint8Array;
  /** A follower's long polls are running (one per block source: syncPeers). */
  private following = false;
  /** The peers the follower's long polls go to, each with its poll's token (a poll ends when it changes). */
  private polled = new Map<string, object>();
  /**
   * A `--follow` node's view of who certifies now: the newest epoch of the proofs it took, and that
   * epoch's committee on L1. Their peers (by member records) are followed beside the file's, so a
   * follower keeps up after the file's members have left the committee, or are gone.
   */
  private followedCommittee: { epoch: bigint; publicKeys: readonly Hex[] } = { epoch: 0n, publicKeys: [] };
  /** Consensus messages of a later instance, by the peer they came from, kept for when this node enters it. */
  private early: Array<{ from: string; m: ConsensusMessage }> = [];
  private earlyTimer?: NodeJS.Timeout;
  private wakingOnL1 = false;
  private commitChain: Promise<void> = Promise.resolve();
  private executedCursor: bigint;
  /** The highest block announced as preconfirmed (committed, maybe not executed yet). */
  private preconfirmedHeight: bigint;
  /** When this member last asked its L1 watcher for a scan out of turn (a proposal it could not judge). */
  private l1ScanAskedAt = 0;
  /** Sequenced blocks committed lately, by hash: the parent of the next proposals. */
  private readonly recentSequenced = new Map<Hex, SequencedBlock>();
  /** Whether the schedule picks by the chain's L1 origins (the election's epochs): originOf works only then. */
  private followsOrigins = false;
  /** L1 origin and message cursor of blocks by hash, from every block built or judged (blockFacts). */
  private readonly factsByBlock = new Map<Hex, BlockFacts>();
  private readonly peerTxs: PeerTxIntake;
  /** Txs of blocks committed by consensus and waiting for execution. */
  private readonly committing = new Set<Hex>();
  /** Txs of the blocks executed lately (the newest RECENTLY_INCLUDED_KEPT): late gossip of them is passed over. */
  private readonly recentlyIncluded = new Set<Hex>();
  private txGossip!: TxGossip;
  private syncTimer?: NodeJS.Timeout;
  private syncing = false;
  /**
   * A block sync is taking blocks. The driver restarts on the synced head afterwards, so meanwhile
   * the ancestors its proposals lack are not fetched, nor are consensus messages checked: block sync
   * brings the blocks, one proof check per 64 blocks instead of a signature check per proposal (a
   * member back from a 30 s pause spent a quarter of its CPU fetching and checking ancestors that
   * the sync then brought again), and the restarted driver joins the view the next messages name. A
   * fetch not made is retried by the core at its next view timeout, should the sync fail.
   */
  private takingBlocks = false;
  /** While a block sync takes blocks: the head it started from and the height it syncs to. */
  private syncRange?: { from: bigint; to: bigint };
  /** Since when fewer than f+1 members have answered this member's sync status requests. */
  private fewAnswersSince: number | undefined;
  private lastCommitAt = Date.now();
  /** Woken each time a committed block is executed (a leader waiting for its lagged state root). */
  private executedWaiters: Array<() => void> = [];
  /** Followers' long polls waiting for a block above their head (SYNC_WAIT). */
  private readonly headWaiters = new Set<{ above: bigint; wake: () => void }>();
  /**
   * The highest head a follower's long polls named while a sync ran (each member answers each block):
   * synced to from that member once the sync ends, if it is still ahead.
   */
  private syncAgain?: SyncSource;
  private stopped = false;
  /** lmdb failed to write a committed block (see onWriteFailure). */
  private writeFailed = false;
  /** The view of the last timeout published by gossip (a re-send of it goes by direct streams). */
  private lastTimeoutView = -1n;
  readonly evidence: Equivocation[] = [];
  /** Pairs of QCs of one view on different blocks this member has seen (the last 100). */
  readonly conflictingCertificates: ConflictingCertificates[] = [];
  readonly live = {
    view: 0n,
    leader: 0,
    via: 'qc' as 'qc' | 'tc',
    votesSigned: 0,
    timeoutsSigned: 0,
    proposals: 0,
    /**
     * Views this node entered since it started, across consensus instances (an instance's views start
     * again from 1 at each epoch's handover, so the view number alone does not count them).
     */
    viewsEntered: 0,
    /** Views this node entered, by the member the schedule made leader (the election mode at work). */
    viewsLedBy: [] as number[],
    /**
     * Views this node entered, by the member the schedule draws when no view failed (leaderFor without
     * the chain's failed views). The failure rule moves views away from suspects, so viewsLedBy drifts
     * from the stakes whenever views fail; this is the election's own choice.
     */
    viewsDrawnFor: [] as number[],
    /** Views this member was in that ended by a timeout certificate, by their leader (missed proposals). */
    failedViewsLedBy: [] as number[],
    certificates: 0,
    lastCertificate: null as null | { view: string; signers: number; blockHash: Hex },
    /** Pending txs sent again (direct streams) after a view of this member timed out (see regossipPending). */
    txsRegossiped: 0,
    /**
     * Block syncs, and how many of them ended with the synced head's chain history agreed by f+1
     * members; the last one's head and outcome.
     */
    blockSync: {
      syncs: 0,
      historyAgreed: 0,
      last: null as null | { height: number; history: 'agreed' | 'unknown' },
      /** Blocks taken by block sync, and chunk requests that failed (another member was asked). */
      blocks: 0,
      failedRequests: 0,
      /** Sync attempts that ended in an error (the next starts within a second), and the last error. */
      failedAttempts: 0,
      lastError: null as null | string,
      /** Ancestor fetches not made because the block was further behind than a fetch brings (synced instead). */
      fetchesLeftToSync: 0,
    },
    /** Views given up before their timer because their leader or vote collector had disconnected. */
    disconnectTimeouts: 0,
  };
  /** Members seen connected since start, and of those the ones whose connection is now closed. */
  private everConnected = new Set<number>();
  private disconnected = new Set<number>();
  /** The view of this member's last vote and the member it went to (that view's vote collector). */
  private lastVote = { view: -1n, collector: -1 };
  /** Aborted on stop: ends the wait for the L1's next safe head. */
  private readonly stopping = new AbortController();
  private lastRegossipAt = 0;
  /** Kept across driver restarts (block sync): what this chain's views take does not change with them. */
  private readonly viewTimeout?: AdaptiveViewTimeout;
  private readonly outputs?: OutputCertifier;

  private constructor(
    readonly options: CommitteeOptions,
    private readonly deps: CommitteeDeps,
    readonly network: Network,
    setup: InstanceSetup,
  ) {
    const ownKey = toHex(deps.blsKey.toPublicKey().toBytes());
    if (options.follow) checkFollower(options.members, ownKey);
    // Without --epoch-committees the file is the committee: a key outside it must pass --follow.
    else if (!deps.epochs) memberIndexOf(options.members, ownKey);
    this.filePeers = new Set(options.members.map((m) => m.peerId));
    this.directory = new MemberDirectory(deps.chainId, options.members);
    this.ownRecord = encodeMemberRecord(
      signMemberRecord(deps.blsKey, deps.chainId, network.peerId, BigInt(Date.now())),
    );
    if (!options.fixedViewTimeout) this.viewTimeout = new AdaptiveViewTimeout(options.viewTimeoutMs);
    this.peerTxs = new PeerTxIntake((raw) => deps.mempool.add(raw), {
      known: (hash) => this.committing.has(hash) || this.recentlyIncluded.has(hash),
    });
    mkdirSync(join(deps.dataDir, 'consensus'), { recursive: true });
    const head = deps.executor.head.header.number;
    this.enterInstance(setup, { continuing: false });
    // Outputs are certified by the committee file's members (epoch 0's committee on L1), or with
    // --epoch-committees by each instance's committee: a staker outside the file signs too, and any
    // member of the instance may ask.
    const fileIndex = fileIndexOf(options.members, ownKey);
    if (deps.outputAt && !options.follow && (fileIndex >= 0 || deps.epochs)) {
      const publicKeys = options.members.map((m) => m.blsPublicKey);
      this.outputs = committeeOutputCertifier(
        network,
        options.members,
        { publicKeys, quorum: quorumFor(publicKeys.length) },
        fileIndex,
        { ...deps, outputAt: deps.outputAt },
        deps.epochs ? (peer) => this.peerToMember.has(peer) : undefined,
      );
    }
    const headSeq = this.sequencedAt(head);
    this.executedCursor = headSeq.l1MessageCursor;
    this.preconfirmedHeight = head;
    this.recentSequenced.set(hashSequencedBlock(headSeq), headSeq);
  }

  static async start(options: CommitteeOptions, deps: CommitteeDeps): Promise<CommitteeSequencer> {
    await checkHandoverRule(options, deps);
    const setup = await instanceSetupAt(options, deps, deps.executor.head.header.number, deps.logger);
    const key = await loadOrCreateNodeKey(nodeKeyPath(deps.dataDir));
    const network = await createNetwork(
      {
        listen: options.listen,
        bootstrap: options.bootnodes,
        privateKey: key.privateKey,
        // A follower is not in the consensus messages' way: it learns of blocks by block sync.
        topics: options.follow
          ? [topics.txs(deps.chainId)]
          : [topics.txs(deps.chainId), topics.consensus(deps.chainId)],
      },
      deps.logger.child({ module: 'p2p' }),
    );
    let node: CommitteeSequencer;
    try {
      node = new CommitteeSequencer(options, deps, network, setup);
    } catch (err) {
      await network.stop();
      throw err;
    }
    node.wire();
    node.runInstance();
    deps.logger.info(
      {
        member: node.self,
        epoch: Number(setup.instance.epoch),
        committee: node.committee.publicKeys.length,
        peerId: network.peerId,
        addresses: network.addresses(),
      },
      node.follower ? 'committee follower started' : 'committee member started',
    );
    return node;
  }

  /** Whether this node follows the instance (`--follow`, or a key outside the epoch's committee): no votes. */
  get follower(): boolean {
    return this.self < 0;
  }

  /**
   * Takes on an instance's committee, schedule and keys: this node's index in it (−1: it follows),
   * the members' peers, and, in a member, the instance's safety record and consensus WAL (one WAL
   * an instance: its entries are of the instance's epoch). `continuing`: this process goes on into
   * the instance (it left the one before, or took blocks by block sync), so no restart floor.
   */
  private enterInstance(setup: InstanceSetup, { continuing }: { continuing: boolean }): void {
    const { deps, options } = this;
    const ownKey = toHex(deps.blsKey.toPublicKey().toBytes()).toLowerCase();
    const previousWal = this.wal;
    this.instance = setup.instance;
    this.instanceRootHeight = setup.rootHeight;
    this.instanceClosed = false;
    this.committee = setup.committee;
    this.schedule = setup.schedule;
    this.followsOrigins = this.schedule instanceof EpochSchedule;
    const publicKeys = this.committee.publicKeys;
    if (this.schedule.committeeFor(setup.instance.epoch).length !== publicKeys.length)
      throw new Error(`the ${this.schedule.mode} schedule's committee differs in size from the committee's`);
    this.self = options.follow ? -1 : publicKeys.findIndex((k) => k.toLowerCase() === ownKey);
    this.crypto = new BlsConsensusCrypto(deps.chainId, this.committee, setup.instance);
    this.everConnected = new Set();
    this.disconnected = new Set();
    this.mapMemberPeers();
    this.live.viewsLedBy = publicKeys.map(() => 0);
    this.live.failedViewsLedBy = publicKeys.map(() => 0);
    this.live.viewsDrawnFor = publicKeys.map(() => 0);
    this.lastVote = { view: -1n, collector: -1 };
    this.lastTimeoutView = -1n;
    this.safety = undefined;
    this.wal = undefined;
    if (this.self >= 0) {
      const dir = join(deps.dataDir, 'consensus');
      this.wal = new FileWal(join(dir, walName(setup.instance.epoch)));
      if (this.wal.droppedTail)
        deps.logger.warn(
          { wal: this.wal.path },
          'the consensus WAL had a torn or damaged tail; cut it off and went on',
        );
      const head = deps.executor.head.header.number;
      this.safety = new SafetyRules(
        new FileSafetyStorage(join(dir, 'safety.json')),
        blsSigner(deps.blsKey, deps.chainId),
        this.self,
        setup.instance.epoch,
        { freshChain: head === 0n && this.wal.load().length === 0, continuing },
      );
    }
    deps.epochs?.onEnter?.(setup.instance.epoch);
    if (previousWal && previousWal.path !== this.wal?.path) {
      previousWal.close();
      rmSync(previousWal.path, { force: true });
    }
  }

  /**
   * The instance's members' peers, by their keys: the committee file's, or what a staker outside it
   * handed over in its member record. Again whenever a record teaches a new one.
   */
  private mapMemberPeers(): void {
    this.memberPeers = this.committee.publicKeys.map((k) => this.directory.peerOf(k));
    this.peerToMember = new Map();
    this.memberPeers.forEach((peer, i) => {
      if (peer) this.peerToMember.set(peer, i);
    });
    for (const p of this.network.peers()) {
      const member = this.peerToMember.get(p);
      if (member !== undefined) this.everConnected.add(member);
    }
  }

  /**
   * Asks a peer that connected for its member record (which BLS key it speaks for). A node that does
   * not serve them (a follower of an older version) is no fault; a record that lies costs a penalty.
   */
  private async askMemberRecord(peer: string): Promise<void> {
    let raw: Uint8Array;
    try {
      raw = await this.network.request(
        peer,
        protocols.memberRecord(this.deps.chainId),
        new Uint8Array(0),
        3_000,
      );
    } catch (err) {
      this.deps.logger.debug({ peer, err: (err as Error).message }, 'no member record from a peer');
      return;
    }
    const record = decodeMemberRecord(raw);
    const outcome = record ? this.directory.offer(record, peer) : 'invalid';
    if (outcome === 'invalid') {
      this.network.penalise(peer, 'invalid member record');
      return;
    }
    if (outcome === 'future')
      this.deps.logger.warn(
        { peer, issuedAt: record?.issuedAt.toString() },
        "a peer's member record is dated more than a minute ahead of this node's clock: not taken (check both clocks)",
      );
    if (outcome !== 'learned' || !record) return;
    const key = record.blsPublicKey.toLowerCase();
    const member = this.committee.publicKeys.findIndex((k) => k.toLowerCase() === key);
    this.deps.logger.info(
      { peer, blsPublicKey: record.blsPublicKey, member: member >= 0 ? member : undefined },
      "learned a member's peer from its record",
    );
    if (member >= 0) this.mapMemberPeers();
    // A follower's sources may hold the key (the instance's members, or a --follow node's committee).
    this.followSources();
  }

  /**
   * Whether this node learns peers from member records: a node whose committees change, and a
   * `--follow` node that reads each epoch's committee from L1 (it follows that committee's peers).
   */
  private get asksMemberRecords(): boolean {
    return this.options.follow ? this.deps.committeeOf !== undefined : this.deps.epochs !== undefined;
  }

  /**
   * A `--follow` node took blocks certified in `epoch`: from a later epoch than before on, it follows
   * that epoch's committee (read from L1, as the proofs were checked) as well as the file's members.
   */
  private async followEpoch(epoch: bigint): Promise<void> {
    if (!this.options.follow || !this.deps.committeeOf || epoch <= this.followedCommittee.epoch) return;
    const committee = await this.deps.committeeOf(epoch);
    if (!committee || epoch <= this.followedCommittee.epoch) return;
    this.followedCommittee = { epoch, publicKeys: committee.publicKeys };
    this.followSources();
  }

  /**
   * Keeps one long poll to each block source (`syncPeers`): starts one to a peer learned since, ends
   * the one to a peer that no longer is (a staker of an older epoch's committee), so a follower's
   * polls do not grow with every staker it has ever seen.
   */
  private followSources(): void {
    if (!this.following || this.stopped) return;
    const sources = new Set(this.syncPeers());
    for (const peer of this.polled.keys()) if (!sources.has(peer)) this.polled.delete(peer);
    for (const peer of sources) {
      if (this.polled.has(peer)) continue;
      const token = {};
      this.polled.set(peer, token);
      void this.followMember(peer, token);
    }
  }

  /** Runs the instance this node is in: its consensus driver in a member, the long polls in a follower. */
  private runInstance(): void {
    if (this.stopped) return;
    // The instance's messages that came before this node entered it go to its driver now.
    const early = this.early.splice(0).filter((e) => messageEpoch(e.m) === this.instance.epoch);
    if (!this.follower) {
      this.following = false;
      this.startDriver();
      for (const { from, m } of early) this.driver?.onMessage(this.peerToMember.get(from) ?? -1, m);
      return;
    }
    // Already following (a later instance this node is not in either): its members' peers get polls.
    if (this.following) {
      this.followSources();
      return;
    }
    this.following = true;
    this.polled = new Map();
    this.followSources();
  }

  /**
   * Whom blocks are taken from: the committee file's members and the instance's (a staker outside the
   * file, by its member record), and in a `--follow` node the newest certifying committee it knows
   * of. Their proofs are checked either way; these are the nodes that hold them.
   */
  private syncPeers(): string[] {
    const peers = new Set(this.filePeers);
    for (const p of this.memberPeers) if (p) peers.add(p);
    for (const k of this.followedCommittee.publicKeys) {
      const p = this.directory.peerOf(k);
      if (p && p !== this.network.peerId) peers.add(p);
    }
    return [...peers];
  }

  /** The consensus driver, in a member (what runs only in one asks for it: a follower has none). */
  private get running(): ConsensusDriver {
    if (!this.driver) throw new Error('no consensus driver: this node follows the committee');
    return this.driver;
  }

  /** Where this node's libp2p listens (with /p2p/<id>), for the committee file of others. */
  addresses(): string[] {
    return this.network.addresses();
  }

  private sequencedAt(height: bigint): SequencedBlock {
    if (height === 0n) return this.deps.executor.genesisSequenced();
    return decodeSequencedBlock(this.deps.store.getSequenced(height)!);
  }

  private rootFor(height: bigint): CoreStart['root'] {
    const seq = this.sequencedAt(height);
    const hash = hashSequencedBlock(seq);
    const block: BlockHeader = { hash, parent: seq.parentHash, height, txCount: seq.txs.length };
    // The instance's root (genesis, or its boundary block): the view-0 QC of the instance's epoch. Its
    // chain history is known and empty (nothing failed in an instance before its view 1), as the
    // simulator starts an instance: without it a core started at a boundary block took its leaders
    // for unknown for its first 64 views (FAILED_VIEWS_KEPT) and sent every vote to every member,
    // four times the vote checks of a member (bench/modes.ts: pos-epochs ran fewer views a second).
    if (height === this.instanceRootHeight)
      return { block, qc: instanceRootQc(this.instance), failedViews: [], led: [] };
    const proof = decodeCommitProof(this.deps.store.getProof(height)!);
    if (proof.qcs.length < 2 || proof.blockHash !== hash)
      throw new Error(
        `block ${height} in ${this.deps.dataDir} was not committed by a committee (it holds a single sequencer's proof); start the committee on a new --data-dir`,
      );
    return { block, qc: proof.qcs[0] };
  }

  private startDriver(): void {
    const { logger } = this.deps;
    const { wal, safety } = this;
    if (!wal || !safety) throw new Error('a follower runs no consensus driver');
    const root = this.rootFor(this.deps.executor.head.header.number);
    const start = startFromWal(root, wal.load());
    // The core asks each restored proposal's epoch (CoreConfig.epochOf) while it is being built, before
    // `this.driver` can answer from its tree: note their origins first, or a restarted member would
    // keep failures at an epoch's first block that every other member left behind.
    if (this.followsOrigins)
      for (const p of start.proposals ?? []) {
        try {
          this.noteBlock(p.block.hash, decodeSequencedBlock(p.payload));
        } catch {
          // a WAL proposal this node judged valid once; if it cannot be decoded, its epoch is unknown
        }
      }
    const driver = new ConsensusDriver(
      {
        self: this.self,
        n: this.committee.publicKeys.length,
        quorum: this.committee.quorum,
        epoch: this.instance.epoch,
        ...scheduleHooks(this.schedule, (block) => this.originOf(block)),
        baseTimeoutMs: this.options.viewTimeoutMs,
        // SEQNET_SUSPECT_TIMEOUTS=1: the experimental short timeout for suspects (off: docs/ARCHITECTURE.md).
        shortTimeoutForSuspects: process.env.SEQNET_SUSPECT_TIMEOUTS === '1',
        aggregate: (votes) => this.crypto.aggregate(votes),
      },
      start,
      {
        safety,
        crypto: this.crypto,
        transport: {
          broadcast: (m) => this.broadcast(m),
          sendTo: (member, m) => this.sendTo(member, m),
          fetch: (member, hash, height) => void this.fetch(member, hash, height),
        },
        timers: {
          schedule: (ms, fire) => void setTimeout(() => !this.stopped && fire(), ms),
          now: () => performance.now(),
        },
        app: this.app(),
        wal,
        viewTimeout: this.viewTimeout,
      },
    );
    this.driver = driver;
    driver.start();
    this.signalWork();
    // L1 messages (deposits, a censored user's forced tx) are work too: with no user tx about, no view
    // would start for them (bench/modes.ts: a forced tx on an idle poa chain waited > 60 s). The single
    // sequencer wakes on the L1 the same way.
    const l1 = this.deps.l1;
    // Once per process: the driver restarts after each block sync and at each instance.
    if (l1 && !this.wakingOnL1) {
      this.wakingOnL1 = true;
      void this.wakeOnL1(l1);
    }
    logger.debug({ root: Number(root.block.height) }, 'consensus driver started');
  }

  private async wakeOnL1(l1: L1Source): Promise<void> {
    while (!this.stopped) {
      await l1.waitForChange(this.stopping.signal);
      this.driver?.judgeLaterProposals();
      this.signalWork();
    }
  }

  // ---- network ----

  private wire(): void {
    const { network } = this;
    const { chainId, mempool, logger } = this.deps;
    network.onPeerChange((peer, connected) => this.onPeerChange(peer, connected));
    // Member records: what key each peer speaks for (a staker outside the committee file is reached so).
    // Served always; asked for only where committees change (`asksMemberRecords`): without
    // --epoch-committees a member's file is the committee, and every member's peer is in it.
    network.handle(protocols.memberRecord(chainId), () => this.ownRecord);
    if (this.asksMemberRecords) for (const peer of network.peers()) void this.askMemberRecord(peer);
    // A follower (`--follow`) takes part in no consensus: it neither gets nor serves its messages. A
    // node with --epoch-committees outside the epoch's committee gets them (it may be a member of the
    // next) but passes them to no driver.
    if (!this.options.follow) {
      network.onMessage(topics.consensus(chainId), (data, via) => {
        let m: ConsensusMessage;
        try {
          m = decodeConsensusMessage(data);
        } catch {
          return 'reject';
        }
        if (this.takingBlocks || !this.ofThisInstance(m, via)) return 'ignore';
        // Messages name their signer; `via` (who relayed it) is who an invalid one is charged to.
        this.driver?.onMessage(this.peerToMember.get(via) ?? -1, m);
        return 'accept';
      });
      network.handle(protocols.consensus(chainId), (data, from) => {
        if (this.takingBlocks) return undefined;
        let m: ConsensusMessage;
        try {
          m = decodeConsensusMessage(data);
        } catch {
          network.penalise(from, 'undecodable consensus message');
          return undefined;
        }
        if (this.ofThisInstance(m, from)) this.driver?.onMessage(this.peerToMember.get(from) ?? -1, m);
        return undefined;
      });
    }
    network.handle(protocols.blockSync(chainId), (data) => this.serveSync(data));
    this.txGossip = new TxGossip(network, topics.txs(chainId), logger.child({ module: 'tx-gossip' }));
    network.onMessage(topics.txs(chainId), async (data, via) => {
      const txs = decodeTxBatch(data);
      if (!txs) return 'reject';
      await this.peerTxs.takeGossiped(txs, via);
      return 'accept';
    });
    network.handle(protocols.txsDirect(chainId), async (data, from) => {
      const txs = decodeTxBatch(data);
      if (txs) await this.peerTxs.take(txs, from);
      else network.penalise(from, 'undecodable tx batch');
      return undefined;
    });
    // Txs that arrive over RPC go to every member, in ~5 ms batches (DECISIONS.md §6); every tx new to
    // the pool, from RPC or gossip, is work.
    mempool.onNewPending((hash) => {
      if (!this.peerTxs.isFromPeer(hash)) {
        const t = mempool.get(hash);
        if (t) this.txGossip.send(t.raw);
      }
      this.signalWork(true);
    });
    // A follower learns of blocks by its long polls (followMember); this poll is its fallback too.
    this.syncTimer = setInterval(() => void this.maybeSync(), 1_000);
    this.outputs?.serve();
  }

  /**
   * Whether a consensus message is for the instance this node runs (and it runs a driver). One of a
   * later instance is kept (up to EARLY_KEPT) for when this node enters it — the others entered it
   * first: they executed the boundary block sooner, and the new instance's first proposal and votes
   * come before this node is there (the bench saw a view time out after most handovers). If this node
   * is still short of that instance EARLY_SYNC_MS later, it missed the boundary block and syncs the
   * blocks it lacks. Others are dropped unjudged: not the sender's fault.
   */
  private ofThisInstance(m: ConsensusMessage, from: string): boolean {
    const epoch = messageEpoch(m);
    if (epoch > this.instance.epoch && this.deps.epochs) {
      if (this.early.length < EARLY_KEPT) this.early.push({ from, m });
      if (!this.earlyTimer)
        this.earlyTimer = setTimeout(() => {
          this.earlyTimer = undefined;
          if (this.stopped || this.instance.epoch >= epoch) return;
          this.instanceBehind = true;
          void this.maybeSync();
        }, EARLY_SYNC_MS).unref();
    }
    return epoch === this.instance.epoch && !this.instanceClosed && this.driver !== undefined;
  }

  /**
   * A quorum certificate over this member's output of `l2Block` (what the StateOracle takes), or
   * undefined while too few members have executed the block.
   */
  async certifyOutput(
    l2Block: bigint,
  ): Promise<
    (NonNullable<Awaited<ReturnType<OutputCertifier['certify']>>> & { committeeSize: number }) | undefined
  > {
    if (!this.outputs) throw new Error('this member was started without outputAt: it certifies no outputs');
    if (!this.deps.epochs) {
      const got = await this.outputs.certify(l2Block);
      return got && { ...got, committeeSize: this.options.members.length };
    }
    // --epoch-committees: the instance's committee certifies, in its epoch (its keys on L1).
    const committee = this.committee;
    const got = await this.outputs.certify(l2Block, {
      epoch: this.instance.epoch,
      committee,
      self: this.self,
      peerIds: this.memberPeers,
    });
    return got && { ...got, committeeSize: committee.publicKeys.length };
  }

  private peerOf(member: number): string | undefined {
    return this.memberPeers[member];
  }

  private broadcast(m: ConsensusMessage): void {
    // A proposal of another member is relayed (the core passes an equivocating leader's pair on).
    const own = m.kind === 'proposal' && m.proposal.author === this.self;
    if (own) this.live.proposals++;
    if (own && this.options.misbehave?.equivocate) this.publishTwin(m.proposal);
    // A QC is small and on the latency path (members commit on it): direct streams reach a member a few
    // ms sooner than gossip's validation pipeline on a busy event loop.
    if (m.kind === 'qc') {
      this.toOtherMembers((member) => this.sendTo(member, m));
      return;
    }
    if (m.kind === 'timeout') {
      this.live.timeoutsSigned++;
      // Sent again because the view did not change. Gossip drops bytes it has seen (its seen cache
      // keeps 2 min) and a re-signed timeout is the same bytes, so a first copy lost on the way would
      // never be replaced: a member that missed it stays a view behind, and with one member down the
      // others need its timeout for every TC (bench/modes.ts saw the auction stop so for good).
      if (this.lastTimeoutView === m.timeout.view) {
        this.toOtherMembers((member) => this.sendTo(member, m));
        return;
      }
      this.lastTimeoutView = m.timeout.view;
    }
    void this.network.publish(topics.consensus(this.deps.chainId), encodeConsensusMessage(m)).catch((err) => {
      this.deps.logger.debug({ err: (err as Error).message }, 'consensus publish failed');
    });
  }

  /**
   * TESTING ONLY (`--misbehave.equivocate`): a byzantine leader. Beside each proposal it signs and
   * publishes a second valid block for the same view (one second later), with its key directly —
   * the safety rules would refuse. Honest members keep both as evidence; the Slasher takes the stake.
   */
  private publishTwin(p: Proposal): void {
    const seq = decodeSequencedBlock(p.payload);
    const twin: SequencedBlock = { ...seq, timestamp: seq.timestamp + 1n };
    const hash = hashSequencedBlock(twin);
    const signature = this.deps.blsKey
      .sign(proposalMessage(this.deps.chainId, p.epoch, p.view, hash))
      .toBytes();
    const proposal: Proposal = {
      ...p,
      block: { ...p.block, hash },
      payload: encodeSequencedBlock(twin),
      signature,
    };
    this.deps.logger.warn({ view: Number(p.view) }, 'misbehave: publishing a conflicting proposal');
    void this.network
      .publish(topics.consensus(this.deps.chainId), encodeConsensusMessage({ kind: 'proposal', proposal }))
      .catch(() => {});
  }

  /** Calls `send` for every committee member but this one that has a libp2p peer id. */
  private toOtherMembers(send: (member: number, peer: string) => void): void {
    for (let member = 0; member < this.memberPeers.length; member++) {
      const peer = this.peerOf(member);
      if (member !== this.self && peer) send(member, peer);
    }
  }

  private sendTo(member: number, m: ConsensusMessage): void {
    if (m.kind === 'vote') {
      this.live.votesSigned++;
      // Until the leaders are known (a root whose chain history is unknown) a vote goes to every
      // member: then no single member is the collector.
      if (this.driver && m.vote.view > this.driver.core.leadersUnknownUntil) {
        this.lastVote = { view: m.vote.view, collector: member };
        if (this.isDown(member)) this.giveUpView(m.vote.view, member, 'its vote collector is down');
      }
    }
    const peer = this.peerOf(member);
    if (!peer) return;
    void this.network
      .sendTo(peer, protocols.consensus(this.deps.chainId), encodeConsensusMessage(m))
      .catch((err) => {
        this.deps.logger.debug({ member, err: (err as Error).message }, 'vote not delivered');
      });
  }

  /**
   * A member whose process is gone (SIGKILL, a crash) closes its connections at once; a view it leads
   * or collects the votes of cannot succeed, so waiting out its timer only delays the view change.
   * (A machine that vanishes without closing its connections, or a paused process, still costs a
   * view timeout.) Only members seen connected count: at start-up nobody is "down" yet.
   */
  private onPeerChange(peer: string, connected: boolean): void {
    if (connected && this.asksMemberRecords && !this.stopped) void this.askMemberRecord(peer);
    const member = this.peerToMember.get(peer);
    if (member === undefined || member === this.self) return;
    if (connected) {
      this.everConnected.add(member);
      this.disconnected.delete(member);
      // A block sync waiting for f+1 members to answer (back from a pause, its peers redialling)
      // asks again now, not at its next poll.
      if (this.fewAnswersSince !== undefined) void this.maybeSync();
      return;
    }
    this.disconnected.add(member);
    if (!this.options.disconnectTimeouts || this.stopped || this.follower) return;
    // A dropped connection that a redial restores at once is no reason to give a view up.
    setTimeout(() => {
      if (!this.isDown(member) || this.stopped) return;
      const view = this.live.view;
      const votedHere = this.lastVote.view === view;
      if (member === this.live.leader && !votedHere) this.giveUpView(view, member, 'its leader is down');
      else if (votedHere && this.lastVote.collector === member)
        this.giveUpView(view, member, 'its vote collector is down');
    }, DISCONNECT_GRACE_MS).unref();
  }

  private isDown(member: number): boolean {
    return this.everConnected.has(member) && this.disconnected.has(member);
  }

  private giveUpView(view: bigint, member: number, why: string): void {
    if (!this.options.disconnectTimeouts || view !== this.live.view) return;
    this.live.disconnectTimeouts++;
    this.deps.logger.info({ view: Number(view), member }, `giving the view up now: ${why}`);
    this.driver?.giveUp(view);
  }

  private async fetch(member: number, hash: Hex, height?: bigint): Promise<void> {
    if (this.takingBlocks) return;
    // Further behind than one fetch brings (a member back from a pause): block sync brings those
    // blocks at a fraction of the CPU (one proof check per chunk, not a signature check per
    // proposal), and it starts now rather than at its next poll. Honest members hold a block a
    // verified proposal builds on, so the sync is due (`maybeSync`). A leader that signs a block
    // with a false height costs this member at most a view timeout: the core asks again then,
    // without a height.
    const driver = this.driver;
    if (!driver) return;
    if (height !== undefined && height > driver.core.committedHeight + BigInt(SYNC_CHUNK)) {
      this.live.blockSync.fetchesLeftToSync++;
      void this.maybeSync();
      return;
    }
    const peers = [this.peerOf(member), ...this.network.peers()].filter((p): p is string => !!p);
    for (const peer of peers.slice(0, 3)) {
      try {
        const res = await this.network.request(
          peer,
          protocols.blockSync(this.deps.chainId),
          RLP.encode([Uint8Array.of(SYNC_FETCH), fromHex(hash)]),
          2_000,
        );
        const proposals = decodeProposals(res);
        // A sync that started meanwhile brings these blocks; checking them would only cost CPU.
        if (this.takingBlocks) return;
        if (proposals.length) {
          // Not if the instance changed meanwhile: its driver is gone.
          if (this.driver === driver) driver.onFetched(this.peerToMember.get(peer) ?? -1, proposals);
          return;
        }
      } catch {
        // try the next peer
      }
    }
  }

  private serveSync(data: Uint8Array): Uint8Array | undefined | Promise<Uint8Array> {
    const [kind, arg] = RLP.decode(data) as unknown as [Uint8Array, Uint8Array];
    if (kind?.[0] === SYNC_WAIT) return this.headAbove(bytesToBigInt(arg));
    if (kind?.[0] === SYNC_FETCH) return encodeProposals(this.driver?.serveFetch(toHex(arg)) ?? []);
    if (kind?.[0] === SYNC_HISTORY) {
      const hash = toHex(arg);
      const history = this.driver?.historyFor(hash);
      return history ? encodeChainHistory(hash, history) : new Uint8Array();
    }
    if (kind?.[0] === SYNC_STATUS) return RLP.encode(bigIntToBytes(this.deps.executor.head.header.number));
    if (kind?.[0] === SYNC_BLOCKS) {
      const from = bytesToBigInt(arg);
      const head = this.deps.executor.head.header.number;
      const out: Array<Array<Uint8Array | Uint8Array[]>> = [];
      for (let h = from; h <= head && out.length < SYNC_CHUNK; h++) {
        // A boundary block committed through its instance's suffix comes with the suffix blocks.
        const suffix = this.deps.store.getMeta(suffixKey(h));
        const entry = [this.deps.store.getSequenced(h)!, this.deps.store.getProof(h)!];
        out.push(suffix ? [...entry, (JSON.parse(suffix) as Hex[]).map(fromHex)] : entry);
      }
      return RLP.encode(out);
    }
    return undefined;
  }

  /**
   * A follower's long poll: this node's head (RLP) once it has executed a block above `above`, or
   * after FOLLOW_WAIT_MS, or at once when stopping.
   */
  private async headAbove(above: bigint): Promise<Uint8Array> {
    if (this.deps.executor.head.header.number <= above && !this.stopped) {
      await new Promise<void>((resolve) => {
        const waiter = {
          above,
          wake: () => {
            clearTimeout(timer);
            this.headWaiters.delete(waiter);
            resolve();
          },
        };
        const timer = setTimeout(waiter.wake, FOLLOW_WAIT_MS);
        this.headWaiters.add(waiter);
      });
    }
    return RLP.encode(bigIntToBytes(this.deps.executor.head.header.number));
  }

  /**
   * A follower's long poll to one member (`peer`), for as long as the node runs. It asks for a head
   * above both its own and the one this member last told (so a member whose blocks another member's
   * sync is bringing waits for its next block instead of answering at once). Each answer above that
   * starts a block sync from this member, or, while a sync runs, is kept for the sync after it. A
   * sync of its own that brought no block (the member lied, or failed), a failure, or a member not
   * connected wait FOLLOW_POLL_MS before the next request.
   */
  private async followMember(peer: string, token: object): Promise<void> {
    let told = -1n;
    // Until this node is a member (of a later epoch's committee) or runs newer polls.
    while (!this.stopped && this.follower && this.polled.get(peer) === token) {
      const ours = this.deps.executor.head.header.number;
      const above = ours > told ? ours : told;
      let theirs = -1n;
      if (this.network.peers().includes(peer)) {
        try {
          const raw = await this.network.request(
            peer,
            protocols.blockSync(this.deps.chainId),
            RLP.encode([Uint8Array.of(SYNC_WAIT), bigIntToBytes(above)]),
            FOLLOW_WAIT_MS + 2_000,
          );
          theirs = bytesToBigInt(RLP.decode(raw) as Uint8Array);
        } catch {
          // a member that does not serve long polls (an older version), is down or is redialled
        }
      }
      if (theirs < 0n) await sleep(FOLLOW_POLL_MS, this.stopping.signal);
      if (theirs <= above) continue;
      told = theirs;
      if (this.syncing) {
        if (!this.syncAgain || theirs > this.syncAgain.height) this.syncAgain = { peer, height: theirs };
        continue;
      }
      await this.maybeSync({ peer, height: theirs });
      if (this.deps.executor.head.header.number <= ours) await sleep(FOLLOW_POLL_MS, this.stopping.signal);
    }
  }

  /**
   * Block sync: a member that was down or paused asks a peer how far it committed and, when it is
   * far behind, takes the committed blocks with their commit proofs (checked against the committee's
   * keys), executes them, and restarts its consensus driver on the new head.
   */
  private async maybeSync(known?: SyncSource): Promise<void> {
    if (this.syncing || this.stopped) return;
    this.syncing = true;
    try {
      const connected = new Set(this.network.peers());
      const peers = this.syncPeers().filter((p) => connected.has(p));
      if (!peers.length) return;
      const proto = protocols.blockSync(this.deps.chainId);
      // Ask every peer how far it committed; take blocks from the one furthest ahead. A follower's
      // long poll names a member and its head (`known`): that member is asked for the blocks at once,
      // not after every member's answer (the slowest of them set the pace: 36 ms behind at 10 tx/s).
      const heights = known
        ? [known]
        : await Promise.all(
            peers.map(async (p) => {
              try {
                const raw = await this.network.request(
                  p,
                  proto,
                  RLP.encode([Uint8Array.of(SYNC_STATUS), new Uint8Array()]),
                  2_000,
                );
                return { peer: p, height: bytesToBigInt(RLP.decode(raw) as Uint8Array) };
              } catch {
                return { peer: p, height: -1n };
              }
            }),
          );
      // Fewer than f+1 answers (a member back from a pause whose peers dropped its connections is
      // still redialling): wait for them, up to SYNC_WAIT_FOR_ANSWERS_MS — a sync to a head that f+1
      // members hold is one whose chain history they can agree on.
      const answered = heights.filter((h) => h.height >= 0n).length;
      // A follower restarts no driver, so it needs no agreed chain history: the proofs are enough.
      if (answered < this.oneHonest() && !this.follower) {
        if (this.fewAnswersSince === undefined) {
          this.fewAnswersSince = Date.now();
          this.deps.logger.info(
            { answered, needed: this.oneHonest() },
            'block sync: waiting for f+1 members to answer (redialling)',
          );
        }
        if (Date.now() - this.fewAnswersSince < SYNC_WAIT_FOR_ANSWERS_MS) return;
      } else {
        this.fewAnswersSince = undefined;
      }
      const sorted = [...heights].sort((x, y) => (y.height > x.height ? 1 : y.height < x.height ? -1 : 0));
      // f+1 members hold this height, so they can agree on its chain history (takeSyncedHistory).
      const held = sorted[Math.min(this.oneHonest(), sorted.length) - 1].height;
      await this.commitChain;
      let ours = this.deps.executor.head.header.number;
      const stale = Date.now() - this.lastCommitAt > 3_000;
      // A follower takes every block up to the furthest member's head: each comes with a commit proof
      // it checks, and it has no consensus to bring the tail.
      const behind = this.instanceBehind;
      this.instanceBehind = false;
      const due =
        this.follower || behind
          ? (h: bigint) => h > ours
          : (h: bigint) => h > ours + 16n || (h > ours && stale);
      // Far behind: up to the height f+1 members hold (the few blocks past it come by consensus).
      // Behind with nothing committed here lately: up to the furthest member, as consensus alone will
      // not bring that tail (the others hold those last blocks uncommitted, so they can still answer
      // for their history: ConsensusDriver.historyFor).
      const furthest = sorted[0].height;
      const theirs = !this.follower && !behind && due(held) ? held : due(furthest) ? furthest : undefined;
      if (theirs === undefined) {
        // A follower's txs wait in its pool until a member's block holds them: one the gossip lost on
        // the way (sent before the mesh formed) would wait for good; sent again directly after a second.
        if (this.follower) this.regossipPending(REGOSSIP_INTERVAL_MS);
        return;
      }
      this.takingBlocks = true;
      // A follower syncs a block or two at each long poll's answer: only a longer way is "syncing"
      // (eth_syncing, the log).
      const far = !this.follower || theirs - ours > BigInt(SYNC_CHUNK);
      if (far) {
        this.syncRange = { from: ours, to: theirs };
        this.deps.logger.info(
          { ours: Number(ours), theirs: Number(theirs) },
          'behind the committee: syncing blocks',
        );
      }
      const sources = sorted.filter((s) => s.height >= 0n);
      while (ours < theirs && !this.stopped) {
        const blocks = await this.syncChunk(sources, ours, theirs);
        if (!blocks.length) break;
        this.queueCommit(blocks, { synced: true });
        // An L1 that fails this read costs the follower nothing taken: the next sync reads again.
        void this.followEpoch(blocks[blocks.length - 1].qcs[0].epoch).catch(() => {});
        await this.commitChain;
        const before = ours;
        ours = this.deps.executor.head.header.number;
        this.live.blockSync.blocks += Number(ours - before);
        this.deps.metrics?.blockSyncBlocks.inc(Number(ours - before));
      }
      // The synced blocks may have crossed boundary blocks: go on in the instance the head is in.
      if (this.deps.epochs) {
        const setup = await this.headInstance();
        if (setup.instance.root !== this.instance.root) {
          this.driver?.stop();
          this.driver = undefined;
          this.enterInstance(setup, { continuing: true });
          this.logInstance('block sync reached');
          if (this.follower) {
            this.runInstance();
            return;
          }
        }
      }
      if (this.follower) return;
      this.driver?.stop();
      // An instance's root has no history: the instance starts from it with views from 1.
      if (this.deps.executor.head.header.number > this.instanceRootHeight) await this.takeSyncedHistory();
      this.startDriver();
    } catch (err) {
      this.live.blockSync.failedAttempts++;
      const repeated = this.live.blockSync.lastError === (err as Error).message;
      this.live.blockSync.lastError = (err as Error).message;
      // A follower syncs at every block: the same failure again (an L1 it cannot read) is logged once.
      this.deps.logger[repeated && this.follower ? 'debug' : 'info'](
        { err: (err as Error).message },
        'block sync attempt failed; trying again',
      );
    } finally {
      this.takingBlocks = false;
      this.syncRange = undefined;
      this.syncing = false;
    }
    const again = this.syncAgain;
    this.syncAgain = undefined;
    if (again && again.height > this.deps.executor.head.header.number && !this.stopped)
      void this.maybeSync(again);
  }

  /**
   * The committed blocks above `ours` (at most a chunk, none past `theirs`), checked, from the first
   * member in `sources` that holds them and answers (`askInTurn`: a member that fails goes last).
   */
  private syncChunk(sources: SyncSource[], ours: bigint, theirs: bigint): Promise<CommittedBlock[]> {
    return askInTurn(
      sources,
      ours,
      async (peer) => {
        const res = RLP.decode(
          await this.network.request(
            peer,
            protocols.blockSync(this.deps.chainId),
            RLP.encode([Uint8Array.of(SYNC_BLOCKS), bigIntToBytes(ours + 1n)]),
            10_000,
          ),
        ) as unknown as Array<Array<Uint8Array | Uint8Array[]>>;
        // Not past the target: a head the others have not even heard of has no f+1 to agree on its history.
        // At most a chunk: the answer's blocks commit through its last proof, and a preconfirmation
        // carries the blocks up to it (MAX_PRECONFIRMATION_BLOCKS).
        const taken = res.slice(0, Math.min(Number(theirs - ours), SYNC_CHUNK));
        const blocks = await provenSyncedBlocks(
          taken,
          { height: ours, hash: hashSequencedBlock(this.sequencedAt(ours)) },
          // Certificates carry epoch 0 (one committee, the file's) unless the L1's committees are given.
          this.deps.committeeOf ?? ((epoch) => (epoch === 0n ? this.committee : undefined)),
        );
        // The last block proven by the suffix it came with (a boundary block): kept, as its committer keeps it.
        const last = blocks[blocks.length - 1];
        const suffix = last ? taken[blocks.length - 1]?.[2] : undefined;
        if (last && last.through !== last.proposal.block.hash && Array.isArray(suffix))
          await this.deps.store.putMeta(
            suffixKey(last.proposal.block.height),
            JSON.stringify(suffix.map((raw) => toHex(raw))),
          );
        return blocks;
      },
      () => {
        this.live.blockSync.failedRequests++;
        this.deps.metrics?.blockSyncFailedRequests.inc();
      },
    );
  }

  /**
   * After a block sync: the synced head's chain history (its failed views and proposers, which the
   * leader schedules read), taken when f+1 members answer alike — one of them is honest — and kept in
   * the consensus WAL, where the restarted driver finds its root's history. Without it the member
   * takes any member's proposal for FAILED_VIEWS_KEPT views (HotStuffCore.leadersUnknownUntil).
   */
  private async takeSyncedHistory(): Promise<void> {
    const height = this.deps.executor.head.header.number;
    if (height === 0n) return;
    const hash = hashSequencedBlock(this.sequencedAt(height));
    const n = this.committee.publicKeys.length;
    const needed = this.oneHonest();
    const proto = protocols.blockSync(this.deps.chainId);
    const answers: { member: number; raw: Uint8Array }[] = [];
    for (let round = 0; round < HISTORY_ROUNDS && !this.stopped; round++) {
      if (round > 0) await new Promise((r) => setTimeout(r, 400));
      const peers = this.network.peers().filter((p) => this.peerToMember.has(p));
      const got = await Promise.all(
        peers.map(async (peer) => {
          try {
            const raw = await this.network.request(
              peer,
              proto,
              RLP.encode([Uint8Array.of(SYNC_HISTORY), fromHex(hash)]),
              2_000,
            );
            return { member: this.peerToMember.get(peer)!, raw };
          } catch {
            return undefined;
          }
        }),
      );
      answers.push(
        ...got.filter((a): a is { member: number; raw: Uint8Array } => a !== undefined && a.raw.length > 0),
      );
      const history = agreedChainHistory(answers, hash, n, needed);
      if (history) {
        this.wal?.append({
          kind: 'history',
          blockHash: hash,
          failedViews: [...history.failedViews],
          led: [...history.led],
        });
        this.live.blockSync.syncs++;
        this.live.blockSync.historyAgreed++;
        this.live.blockSync.last = { height: Number(height), history: 'agreed' };
        this.deps.logger.info(
          { height: Number(height), failedViews: history.failedViews.length, proposers: history.led.length },
          "block sync: the head's chain history agreed by f+1 members",
        );
        return;
      }
    }
    this.live.blockSync.syncs++;
    this.live.blockSync.last = { height: Number(height), history: 'unknown' };
    this.deps.logger.info(
      { height: Number(height), answeredBy: [...new Set(answers.map((a) => a.member))] },
      "block sync: no f+1 members agree on the head's chain history; taking any member's proposal for 64 views",
    );
  }

  /** f+1: that many members include an honest one. */
  private oneHonest(): number {
    return this.committee.publicKeys.length - this.committee.quorum + 1;
  }

  // ---- the application: build, check, commit ----

  private app(): ConsensusApp {
    return {
      buildBlock: (view, parent, height, uncommitted) => this.buildBlock(view, parent, height, uncommitted),
      validate: (p) => {
        const why = this.validate(p);
        if (why === NOT_KNOWN_YET) {
          this.deps.logger.debug(
            { view: Number(p.view) },
            'proposal not judged: its L1 origin is not known here yet',
          );
          // Read the L1 now: the driver judges the proposal again when it moves (wakeOnL1), in time
          // to vote in its view rather than let the view time out. Not more often than every
          // L1_SCAN_ASK_MS: any peer can send proposals, and each one must not cost an L1 read.
          if (Date.now() - this.l1ScanAskedAt >= L1_SCAN_ASK_MS) {
            this.l1ScanAskedAt = Date.now();
            void this.deps.l1?.poll?.();
          }
          return 'later';
        }
        if (why !== undefined) this.deps.logger.debug({ view: Number(p.view), why }, 'invalid block');
        return why === undefined;
      },
      commit: (blocks) => this.queueCommit(blocks),
      onEvidence: (e) => this.onEvidence(e),
      onConflictingCertificates: (c) => this.onConflictingCertificates(c),
      onView: (view, leader, via) => {
        const highQc = this.running.core.highestQc;
        const drawn = this.schedule.leaderFor(
          view,
          undefined,
          undefined,
          undefined,
          this.originOf(highQc.blockHash),
        );
        this.deps.logger.debug(
          { view: Number(view), leader, drawn, via, highQc: Number(highQc.view) },
          'view',
        );
        // The view this member was in ended without a QC: its leader missed its turn (as seen here).
        if (via === 'tc' && this.live.view === view - 1n) {
          const missed = this.live.leader;
          if (missed >= 0 && missed < this.live.failedViewsLedBy.length) this.live.failedViewsLedBy[missed]++;
        }
        this.live.view = view;
        this.live.leader = leader;
        this.live.viewsEntered++;
        if (leader !== this.self && this.isDown(leader)) this.giveUpView(view, leader, 'its leader is down');
        if (leader >= 0 && leader < this.live.viewsLedBy.length) this.live.viewsLedBy[leader]++;
        if (drawn >= 0 && drawn < this.live.viewsDrawnFor.length) this.live.viewsDrawnFor[drawn]++;
        this.live.via = via;
        this.deps.metrics?.consensusView.set(Number(view));
        // A new view comes with a new highest QC, so the uncommitted chain took a block: what it holds
        // is no longer work. Left as it was, the collector of the QC that commits a block of L1
        // messages alone still had that work and proposed an empty block nobody needed.
        this.signalWork();
      },
      onTimedOut: () => this.regossipPending(),
      onInvalid: (from, why) => {
        const peer = this.peerOf(from);
        this.deps.logger.debug({ from, why }, 'invalid consensus message');
        if (peer) this.network.penalise(peer, why);
      },
    };
  }

  /**
   * The L1 origin of a block this member holds (committed lately, or in the consensus tree): the
   * election's epoch schedule picks the epoch of a proposal's chain by it. Cached: the core asks
   * for every vote and timeout. Other schedules need none: no block is decoded for them.
   */
  private originOf(block: Hex): bigint | undefined {
    return this.followsOrigins ? this.blockFacts(block)?.origin : undefined;
  }

  /**
   * A held block's L1 origin and message cursor, cached (a committed block leaves the tree): filled
   * from every block built or judged, else decoded once.
   */
  private blockFacts(block: Hex): BlockFacts | undefined {
    const cached = this.factsByBlock.get(block);
    if (cached) return cached;
    const seq = this.parentSequenced(block, []);
    return seq ? this.noteBlock(block, seq) : undefined;
  }

  /**
   * The newest L1 block a leader may take as its block's origin at `nowSeconds` (none stamped more
   * than MAX_ORIGIN_AHEAD_SECONDS ahead): one rule for the origin a block takes and for the L1
   * messages that count as work, so a leader never sees work it cannot include.
   */
  private usableOrigin(nowSeconds: bigint): L1BlockRef | undefined {
    return this.deps.l1?.safeHead(nowSeconds + MAX_ORIGIN_AHEAD_SECONDS);
  }

  private noteBlock(block: Hex, seq: SequencedBlock): BlockFacts {
    const facts = { origin: seq.l1Origin.number, cursor: seq.l1MessageCursor };
    this.factsByBlock.set(block, facts);
    if (this.factsByBlock.size > 1024) this.factsByBlock.delete(this.factsByBlock.keys().next().value as Hex);
    return facts;
  }

  private parentSequenced(parent: Hex, uncommitted: Proposal[]): SequencedBlock | undefined {
    const last = uncommitted[uncommitted.length - 1];
    if (last && last.block.hash === parent) return decodeSequencedBlock(last.payload);
    const known = this.recentSequenced.get(parent);
    if (known) return known;
    // The core asks for origins while it is being built (restored TCs): then only what was committed.
    const p = this.driver?.core.proposalOf(parent);
    return p ? decodeSequencedBlock(p.payload) : undefined;
  }

  private async buildBlock(
    _view: bigint,
    parent: Hex,
    height: bigint,
    uncommitted: Proposal[],
  ): Promise<{ block: BlockHeader; payload: Uint8Array } | undefined> {
    const { executor, mempool, policy, l1 } = this.deps;
    const parentSeq = this.parentSequenced(parent, uncommitted);
    if (!parentSeq) return undefined;
    // The lagged state root needs block height − L executed: wait for the commit pipeline a little.
    const need = height - LAG_STATE_ROOT_DISTANCE;
    const deadline = Date.now() + 1_000;
    while (executor.head.header.number < need && Date.now() < deadline) {
      // Woken by the next executed block, not by polling: the proposal goes out as soon as it can.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.executedWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (executor.head.header.number < need) return undefined;
    const now = BigInt(Math.floor(Date.now() / 1000));
    const safe = this.usableOrigin(now);
    // An instance's first block keeps its root's origin (so its epoch: handover.ts originForBlock).
    const origin =
      safe && safe.number > parentSeq.l1Origin.number && parent !== this.instance.root
        ? { number: safe.number, hash: safe.hash, timestamp: safe.timestamp }
        : { ...parentSeq.l1Origin, timestamp: undefined };
    // A block of a later epoch closes the instance (its boundary block, or the suffix that commits
    // it): it holds no txs — those wait for the next epoch's committee.
    const originEpoch = this.deps.epochs?.epochOf(origin.number);
    const closing = originEpoch !== undefined && originEpoch > this.instance.epoch;
    if (closing) this.readAhead(originEpoch);
    const taken = new Set<Hex>(this.committing);
    for (const p of uncommitted)
      for (const raw of decodeSequencedBlock(p.payload).txs) taken.add(toHex(keccak256(raw)));
    const candidates: PoolTx[][] = [];
    for (const list of closing ? [] : mempool.candidates()) {
      const rest = list.filter((t) => !taken.has(t.hash));
      if (rest.length) candidates.push(rest);
    }
    const chosen = policy.order(candidates, {
      baseFee: executor.nextBaseFee(),
      gasLimit: executor.options.gasLimit,
      maxBytes: this.options.maxBlockBytes,
      maxTxs: this.options.maxBlockTxs,
    });
    const due: L1Message[] = l1 ? l1.messagesFor(parentSeq.l1MessageCursor, origin.number) : [];
    let timestamp = now > parentSeq.timestamp ? now : parentSeq.timestamp;
    if (origin.timestamp !== undefined && timestamp < origin.timestamp) timestamp = origin.timestamp;
    const seq: SequencedBlock = {
      version: 1,
      chainId: this.deps.chainId,
      height,
      parentHash: parent,
      timestamp,
      l1Origin: { number: origin.number, hash: origin.hash },
      l1MessageCursor: parentSeq.l1MessageCursor + BigInt(due.length),
      txs: chosen.map((t) => t.raw),
      lagStateRoot: executor.lagStateRootFor(height),
    };
    const hash = hashSequencedBlock(seq);
    this.noteBlock(hash, seq);
    return {
      block: { hash, parent, height, txCount: seq.txs.length + due.length },
      payload: encodeSequencedBlock(seq),
    };
  }

  /** Why a proposed block is refused, or undefined. Checks what can be checked with what is known here. */
  validate(p: Proposal): string | undefined {
    let seq: SequencedBlock;
    try {
      seq = decodeSequencedBlock(p.payload);
    } catch (err) {
      return `undecodable block: ${(err as Error).message}`;
    }
    if (hashSequencedBlock(seq) !== p.block.hash) return 'block hash does not match the block';
    this.noteBlock(p.block.hash, seq);
    if (seq.height !== p.block.height || seq.parentHash !== p.block.parent)
      return 'header does not match the block';
    if (seq.chainId !== this.deps.chainId) return `chain id ${seq.chainId}`;
    const now = BigInt(Math.floor(Date.now() / 1000));
    if (seq.timestamp > now + MAX_FUTURE_SECONDS) return 'timestamp in the future';
    const parent = this.parentSequenced(seq.parentHash, []);
    if (!parent) return undefined; // the core fetches the parent; the rest is checked once it is here
    const l1 = this.deps.l1;
    // Before the checks that count L1 messages: a node whose L1 reading lags cannot count them yet,
    // and must not blame the honest peer that relayed the block (10 such blames ban a peer).
    const read = l1 ? (l1.scannedThrough?.() ?? l1.safeHead()?.number ?? 0n) : 0n;
    if (l1 && seq.l1Origin.number > read + 1n) return NOT_KNOWN_YET;
    const due = l1 ? l1.messagesFor(parent.l1MessageCursor, seq.l1Origin.number).length : 0;
    // An origin one block past what was read here is judged (most L1 blocks hold no message), but a
    // count short of the proposer's may be that block's messages, unread here: not the proposer's
    // fault. Blamed, an honest leader lost its view to members whose L1 poll came a moment later.
    if (p.block.txCount !== seq.txs.length + due)
      return seq.l1Origin.number > read ? NOT_KNOWN_YET : 'tx count does not match';
    if (seq.timestamp < parent.timestamp) return 'timestamp before the parent';
    if (seq.l1Origin.number < parent.l1Origin.number) return 'L1 origin goes back';
    if (this.deps.epochs) {
      const originEpoch = this.deps.epochs.epochOf(seq.l1Origin.number);
      const why = instanceBlockError(
        this.instance,
        { parent: seq.parentHash, txCount: seq.txs.length },
        originEpoch,
      );
      if (why) return why;
      this.readAhead(originEpoch);
    }
    if (l1) {
      if (seq.l1MessageCursor !== parent.l1MessageCursor + BigInt(due)) return 'leaves out due L1 messages';
    }
    const lagHeight = seq.height - LAG_STATE_ROOT_DISTANCE;
    if (lagHeight >= 0n && this.deps.executor.head.header.number >= lagHeight) {
      if (seq.lagStateRoot !== this.deps.executor.lagStateRootFor(seq.height))
        return 'wrong lagged state root';
    }
    return undefined;
  }

  /**
   * Hands committed blocks to execution, announcing each as preconfirmed first. With
   * --epoch-committees, blocks this instance's consensus commits after its boundary block (the suffix
   * that committed it) are not part of the chain: they are dropped, and once the boundary block is
   * executed the node goes on in the next instance. Blocks taken by block sync (`synced`) are the
   * chain itself, across instances.
   */
  private queueCommit(committed: CommittedBlock[], { synced = false } = {}): void {
    const epochs = this.deps.epochs;
    if (epochs && !synced && this.instanceClosed) return;
    const hashes: Hex[] = [];
    // A block committed through a descendant carries the descendant's proof, at the descendant's
    // height (the proof names that block; the parent links join the two).
    const heightOf = new Map(committed.map((b) => [b.proposal.block.hash, b.proposal.block.height]));
    const all = committed.map((b): CommittedForExecution => {
      const seq = decodeSequencedBlock(b.proposal.payload);
      const proof = {
        chainId: seq.chainId,
        height: heightOf.get(b.through) ?? seq.height,
        blockHash: b.through,
        qcs: b.qcs,
      };
      return { b, seq, txHashes: seq.txs.map((raw) => toHex(keccak256(raw))), proof };
    });
    // The blocks a proof commits through, for the pushed preconfirmations (one chain per call: each
    // block's proof is the last block's, `through`).
    const throughAt = all.findIndex((d) => d.b.proposal.block.hash === d.b.through);
    // --epoch-committees: the chain ends this instance at its boundary block; the blocks after it
    // (the suffix) only commit it, and the ones up to `through` are kept beside it so that its proof
    // (and the proofs of the blocks committed with it) can be checked offline and by block sync.
    const boundaryAt =
      epochs && !synced
        ? all.findIndex((d) => epochs.epochOf(d.seq.l1Origin.number) > this.instance.epoch)
        : -1;
    const decoded = boundaryAt >= 0 ? all.slice(0, boundaryAt + 1) : all;
    const suffix = boundaryAt >= 0 && throughAt > boundaryAt ? all.slice(boundaryAt + 1, throughAt + 1) : [];
    if (boundaryAt >= 0) this.instanceClosed = true;
    for (const [i, { b, seq, txHashes, proof }] of decoded.entries()) {
      hashes.push(...txHashes);
      // The order is final now and the commit proof exists: announced before execution, which is off
      // the latency path (DECISIONS.md §1). A quorum holds the block, so this member's crash loses nothing.
      if (seq.height > this.preconfirmedHeight) {
        this.preconfirmedHeight = seq.height;
        try {
          this.deps.events.emit('preconfirmed', {
            height: seq.height,
            blockHash: b.proposal.block.hash,
            txHashes,
            proof,
            sequencedBlocks: all
              .slice(i, throughAt >= i ? throughAt + 1 : i + 1)
              .map((d) => d.b.proposal.payload),
          });
        } catch (err) {
          // A listener's fault (the RPC's push) must not reach the consensus driver that called us.
          this.deps.logger.warn({ err }, 'announcing a preconfirmed block failed');
        }
        const now = Date.now();
        for (const h of txHashes) {
          const t = this.deps.mempool.get(h);
          if (t) this.deps.metrics?.preconfirmationLatency.observe((now - t.addedAt) / 1000);
        }
      }
    }
    // Committed but not executed yet: their txs are still in the mempool, and a leader must not
    // propose them again (they would be skipped at execution, after costing bytes and L1 gas).
    for (const h of hashes) this.committing.add(h);
    this.signalWork();
    this.commitChain = this.commitChain
      .then(() => this.commitBlocks(decoded))
      .catch((err) => {
        this.deps.logger.error({ err }, 'executing committed blocks failed');
      })
      .finally(() => {
        for (const h of hashes) this.committing.delete(h);
        // Executed txs left the pool: what is still pending may now be work nobody holds.
        this.signalWork();
      });
    if (boundaryAt >= 0)
      this.commitChain = this.commitChain
        .then(async () => {
          if (suffix.length)
            await this.deps.store.putMeta(
              suffixKey(decoded[boundaryAt].seq.height),
              JSON.stringify(suffix.map((d) => toHex(d.b.proposal.payload))),
            );
        })
        .then(() => this.nextInstance())
        .catch((err) => {
          this.deps.logger.error({ err }, 'entering the next consensus instance failed');
        });
  }

  /**
   * The boundary block is executed: this instance's driver stops, and the node goes on in the instance
   * of the block's origin epoch, rooted at it — as a member of its committee, or following it.
   */
  private async nextInstance(): Promise<void> {
    if (this.stopped) return;
    this.driver?.stop();
    this.driver = undefined;
    const setup = await this.headInstance();
    if (this.stopped) return;
    this.enterInstance(setup, { continuing: true });
    this.logInstance('entered');
    this.runInstance();
  }

  /** The instance the executed head is in, with its committee (waiting for the L1 if need be). */
  private headInstance(): Promise<InstanceSetup> {
    const head = this.deps.executor.head.header.number;
    return instanceSetupAt(this.options, this.deps, head, this.deps.logger, this.stopping.signal);
  }

  /**
   * A block of a later epoch is on its way to commit: read that epoch's committee from L1 now, so the
   * handover does not wait for it once the boundary block is executed.
   */
  private readAhead(epoch: bigint): void {
    if (epoch > this.instance.epoch) this.deps.epochs?.instanceFor(epoch).catch(() => {});
  }

  private logInstance(how: string): void {
    this.deps.logger.info(
      {
        epoch: Number(this.instance.epoch),
        root: Number(this.instanceRootHeight),
        committee: this.committee.publicKeys.length,
        member: this.self,
      },
      `${how} epoch ${this.instance.epoch}'s consensus instance: ${this.follower ? "following it (this node is not in the epoch's committee)" : `member ${this.self} of ${this.committee.publicKeys.length}`}`,
    );
  }

  /** Executes committed blocks in order and persists each with its commit proof; then announces it. */
  private async commitBlocks(blocks: CommittedForExecution[]): Promise<void> {
    const { executor, mempool, events, metrics, store } = this.deps;
    for (const { b, seq, txHashes: sequencedHashes, proof } of blocks) {
      if (this.writeFailed) return;
      if (seq.height <= executor.head.header.number) continue;
      if (seq.height !== executor.head.header.number + 1n) {
        this.deps.logger.warn(
          { height: Number(seq.height) },
          'committed block does not follow the executed head; waiting for sync',
        );
        return;
      }
      const started = performance.now();
      const count = Number(seq.l1MessageCursor - this.executedCursor);
      const messages = await this.l1MessagesFor(seq, count);
      if (!messages) return; // stopped while waiting for the L1
      // Each tx this member's pool holds is executed as the pool decoded it (its sender recovered by
      // the intake worker): under load about half of a block's txs are not gossiped here yet, and
      // decoding the whole block again cost an ecrecover per tx on the main thread. Those are decoded
      // here: recovering them in the intake worker instead (from the commit, or from the proposal) saved
      // the main thread that time but not the machine — on two cores it only moved the work, and the
      // worker's late or duplicate decodes made it more (bench/results/experiments/overload-stop33-*).
      const pool = sequencedHashes.map((h) => mempool.get(h));
      const result = await executor.execute(
        seq,
        pool.map((t) => t?.tx),
        messages,
      );
      // Bound the blocks served from memory while lmdb catches up.
      if (store.unwrittenCount >= MAX_UNWRITTEN_BLOCKS)
        await store.written(executor.head.header.number - BigInt(MAX_UNWRITTEN_BLOCKS) + 1n);
      const txHashes = await persistExecutedBlock(
        { executor, store, wal: this.deps.blockWal },
        result,
        { height: seq.height, sequenced: b.proposal.payload, proof: encodeCommitProof(proof), messages },
        (err) => this.onWriteFailure(err),
      );
      for (const h of txHashes) this.recentlyIncluded.add(h);
      for (const h of this.recentlyIncluded) {
        if (this.recentlyIncluded.size <= RECENTLY_INCLUDED_KEPT) break;
        this.recentlyIncluded.delete(h);
      }
      this.executedCursor = seq.l1MessageCursor;
      this.lastCommitAt = Date.now();
      for (const wake of this.executedWaiters.splice(0)) wake();
      for (const w of this.headWaiters) if (seq.height > w.above) w.wake();
      const hash = hashSequencedBlock(seq);
      this.recentSequenced.set(hash, seq);
      if (this.recentSequenced.size > 512)
        this.recentSequenced.delete(this.recentSequenced.keys().next().value as Hex);
      await this.deps.onCommitted();
      // Every executed tx advances its sender's nonce, also txs this node never saw.
      const newNonces = new Map<Hex, bigint>();
      for (const [i, t] of result.block.transactions.entries()) {
        const sender = result.receipts[i].from;
        const next = t.nonce + 1n;
        if ((newNonces.get(sender) ?? 0n) < next) newNonces.set(sender, next);
      }
      const included = new Set(txHashes);
      const now = Date.now();
      const latenciesMs = pool.filter((t) => t && included.has(t.hash)).map((t) => now - (t?.addedAt ?? now));
      mempool.onBlock(
        newNonces,
        result.skipped.map((s) => s.hash),
      );
      const buildMs = performance.now() - started;
      if (metrics) {
        metrics.blocksTotal.inc();
        metrics.blockHeight.set(Number(seq.height));
        metrics.txsIncluded.inc(txHashes.length);
        metrics.txsSkipped.inc(result.skipped.length);
        for (const l of latenciesMs) metrics.softConfirmLatency.observe(l / 1000);
      }
      this.live.certificates++;
      this.live.lastCertificate = {
        view: b.qcs[1].view.toString(),
        signers: popcount(b.qcs[1].signers),
        blockHash: b.qcs[1].blockHash,
      };
      events.emit('block', {
        block: result.block,
        receipts: result.receipts,
        proof,
        sequencedHash: hash,
        latenciesMs,
        buildMs,
      });
    }
    this.signalWork();
  }

  /**
   * The `count` L1 messages a committed block applies first (those of its origin and before, from the
   * executed cursor on), or undefined when the node stopped first. A member voted for its blocks only
   * once it had read their origin, but a block taken by block sync — every block of a follower — may
   * name an L1 block this node has not read yet: executed without its deposits or forced txs, it
   * became another block than the members' (the devnet's follower, after an L1 clock jump). So the L1
   * is read until they are there.
   */
  private async l1MessagesFor(seq: SequencedBlock, count: number): Promise<L1Message[] | undefined> {
    const l1 = this.deps.l1;
    if (!l1 || count === 0) return [];
    for (let waited = 0; ; waited++) {
      const messages = l1.messagesFor(this.executedCursor, seq.l1Origin.number).slice(0, count);
      if (messages.length === count) return messages;
      if (this.stopped) return undefined;
      if (waited === 0 || waited % 50 === 0)
        this.deps.logger.info(
          {
            height: Number(seq.height),
            origin: Number(seq.l1Origin.number),
            have: messages.length,
            need: count,
          },
          'a committed block applies L1 messages not read here yet: reading the L1 before executing it',
        );
      await l1.poll?.().catch(() => {});
      if (l1.messagesFor(this.executedCursor, seq.l1Origin.number).length < count)
        await Promise.race([l1.waitForChange(this.stopping.signal), sleep(L1_SCAN_ASK_MS)]);
    }
  }

  /**
   * Tells consensus whether this member holds txs no block holds yet. A tx that just arrived is such a
   * tx (`fresh`). Otherwise pending txs already in a committed block not yet executed, or under the
   * highest QC, are no reason for more views: counted, they made the leader that formed a committing
   * QC propose one more, empty, block after every commit (a whole view per tx at low rates). Block tx
   * counts include L1 messages and txs this member may not hold, so this may undercount; it can do so
   * only while the uncommitted chain holds txs, and then views go on regardless (the core's
   * needsProgress) and the next block takes the txs no block holds.
   */
  private signalWork(fresh = false): void {
    if (this.stopped || !this.driver) return;
    if (fresh) {
      this.driver.setWork(true);
      return;
    }
    const l1 = this.deps.l1;
    const uncommitted = this.driver.core.uncommittedChain();
    // Messages a block can take now: not those above an origin a leader may not take yet, nor those a
    // block holds already (committed, or under the highest QC: counted, a leader that formed the QC
    // committing a block of L1 messages alone proposed one more, empty, block after it).
    const usable = this.usableOrigin(BigInt(Math.floor(Date.now() / 1000)));
    const dueMessages = l1
      ? l1.messagesFor(this.messageCursorAfter(), usable?.number ?? 0n).length > 0
      : false;
    let inFlight = 0;
    for (const h of this.committing) if (this.deps.mempool.has(h)) inFlight++;
    for (const p of uncommitted) inFlight += p.block.txCount;
    // --epoch-committees: the L1 is in a later epoch, or the chain holds a boundary block not
    // committed yet — blocks are due until the next instance starts, idle chain or not.
    const epochs = this.deps.epochs;
    const later = (origin: bigint | undefined) =>
      epochs !== undefined && origin !== undefined && epochs.epochOf(origin) > this.instance.epoch;
    const boundary =
      later(usable?.number) || uncommitted.some((p) => later(this.blockFacts(p.block.hash)?.origin));
    this.driver.setWork(this.deps.mempool.pendingCount > inFlight || dueMessages || boundary);
  }

  /**
   * The L1 message cursor after the blocks held here: the highest QC's block (the uncommitted chain's
   * tip, or the last committed block when nothing is uncommitted), or the executed head when block
   * sync took it further.
   */
  private messageCursorAfter(): bigint {
    const held = this.blockFacts(this.running.core.highestQc.blockHash)?.cursor;
    return held !== undefined && held > this.executedCursor ? held : this.executedCursor;
  }

  /**
   * A view of ours timed out while we had work: txs published while no member was reachable (a
   * partition, or start-up) never reached the others, and if only we hold txs the others see no work
   * and let the views stand still — while a stake-weighted draw may seldom make us leader. So pending
   * txs (each sender's in nonce order, up to REGOSSIP_MAX_TXS) go out again, at most once a second;
   * peers drop the ones they hold. They go by direct streams to each member: gossip drops a message
   * whose bytes it has seen (for 2 min), and a batch of the same txs is the same bytes — a tx first
   * sent alone, as after a quiet spell, was never sent again.
   */
  private regossipPending(olderThanMs = 0): void {
    const now = Date.now();
    if (now - this.lastRegossipAt < REGOSSIP_INTERVAL_MS) return;
    this.lastRegossipAt = now;
    const txs = this.deps.mempool
      .candidates()
      .flat()
      .filter((t) => t.addedAt <= now - olderThanMs)
      .slice(0, REGOSSIP_MAX_TXS);
    const sent = txs.length;
    if (sent === 0) return;
    const batch = encodeTxBatch(txs.map((t) => t.raw));
    this.toOtherMembers((member, peer) => {
      void this.network.sendTo(peer, protocols.txsDirect(this.deps.chainId), batch).catch((err) => {
        this.deps.logger.debug({ member, err: (err as Error).message }, 'pending txs not re-sent');
      });
    });
    this.live.txsRegossiped += sent;
    this.deps.logger.debug(
      { txs: sent, view: Number(this.live.view) },
      'pending txs sent again, directly to every member',
    );
  }

  private onEvidence(e: Equivocation): void {
    this.evidence.push(e);
    // The Slasher takes the signer's key (the instance's index means nothing outside it).
    const signer = this.committee.publicKeys[e.member];
    if (signer) this.deps.onEvidence?.(e, signer);
    this.deps.logger.warn(
      { member: e.member, view: Number(e.view), phase: e.phase },
      'equivocation: kept as evidence',
    );
    this.keepEvidence(e);
  }

  private onConflictingCertificates(c: ConflictingCertificates): void {
    this.conflictingCertificates.push(c);
    if (this.conflictingCertificates.length > 100) this.conflictingCertificates.shift();
    this.deps.onConflictingCertificates?.(c, this.committee.publicKeys);
    const signedBoth = c.first.signers & c.second.signers;
    this.deps.logger.error(
      {
        view: Number(c.view),
        blocks: [c.first.blockHash, c.second.blockHash],
        signedBoth: this.committee.publicKeys.map((_, i) => i).filter((i) => (signedBoth >> BigInt(i)) & 1n),
      },
      'two quorum certificates of one view on different blocks: more than f members double-signed; kept as evidence',
    );
    this.keepEvidence({ kind: 'conflicting-certificates', ...c });
  }

  /** Appends to `<data-dir>/consensus/evidence.jsonl`, one JSON object a line. */
  private keepEvidence(e: object): void {
    const line = JSON.stringify(e, (_k, v) =>
      typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? toHex(v) : v,
    );
    void appendFile(join(this.deps.dataDir, 'consensus', 'evidence.jsonl'), `${line}\n`).catch(() => {});
  }

  /** While block sync takes blocks (`eth_syncing`, as geth): where it started, where it is, its target. */
  syncProgress(): SyncProgress | undefined {
    if (!this.syncRange) return undefined;
    return {
      startingBlock: this.syncRange.from,
      currentBlock: this.deps.executor.head.header.number,
      highestBlock: this.syncRange.to,
    };
  }

  /** Peers connected over libp2p (`net_peerCount`). */
  peerCount(): number {
    return this.network.peers().length;
  }

  /** Live figures for the dashboard. */
  status(): Record<string, unknown> {
    const head = this.deps.executor.head.header.number;
    return {
      // A follower (`--follow`) is not a member: self −1, no views, votes or safety record.
      role: this.follower ? 'follower' : 'member',
      // The consensus instance: its epoch, root block and certifying committee (--epoch-committees).
      instance: {
        epoch: this.instance.epoch.toString(),
        rootHeight: Number(this.instanceRootHeight),
        committee: this.committee.publicKeys,
        perEpoch: this.deps.epochs !== undefined,
      },
      // What block sync checks commit proofs against: the CommitteeVerifier on L1, or the committee file.
      proofsCheckedAgainst: this.deps.committeeOf ? 'L1 CommitteeVerifier' : 'committee file',
      self: this.self,
      members: this.committee.publicKeys.map((blsPublicKey, i) => ({
        index: i,
        peerId: this.memberPeers[i] ?? null,
        blsPublicKey,
        connected:
          i === this.self ||
          (this.memberPeers[i] !== undefined && this.network.peers().includes(this.memberPeers[i]!)),
      })),
      // Keys whose peer a member record taught (stakers outside the committee file among them).
      memberRecordsLearned: this.directory.size,
      // A --follow node: the newest epoch it took blocks of, and its committee's peers it follows.
      followedCommittee: this.followedCommittee.publicKeys.length
        ? {
            epoch: this.followedCommittee.epoch.toString(),
            members: this.followedCommittee.publicKeys.map((blsPublicKey) => ({
              blsPublicKey,
              peerId: this.directory.peerOf(blsPublicKey) ?? null,
            })),
          }
        : null,
      // Whom this follower's long polls go to.
      followedPeers: this.following ? [...this.polled.keys()] : null,
      quorum: this.committee.quorum,
      view: this.live.view.toString(),
      leader: this.live.leader,
      via: this.live.via,
      highQcView: this.driver?.core.highestQc.view.toString() ?? null,
      committedHeight: Number(head),
      votesSigned: this.live.votesSigned,
      timeoutsSigned: this.live.timeoutsSigned,
      proposals: this.live.proposals,
      viewsEntered: this.live.viewsEntered,
      viewsLedBy: this.live.viewsLedBy,
      viewsDrawnFor: this.live.viewsDrawnFor,
      failedViewsLedBy: this.live.failedViewsLedBy,
      certificates: this.live.certificates,
      lastCertificate: this.live.lastCertificate,
      txsRegossiped: this.live.txsRegossiped,
      // Gossiped txs passed over before the pool's checks: in a block committed here lately (see
      // PeerTxIntake).
      peerTxsAlreadyHeld: this.peerTxs.skippedKnown,
      // While a sync takes blocks: from, to, and the head now.
      blockSync: {
        ...this.live.blockSync,
        syncing: this.syncRange
          ? { from: Number(this.syncRange.from), to: Number(this.syncRange.to), head: Number(head) }
          : null,
      },
      disconnectTimeouts: this.live.disconnectTimeouts,
      // The base view timeout now (adaptive: under the --view-timeout ceiling), before backoff, and
      // what the recent views that reached a QC took here (what it adapts to).
      viewTimeoutMs: this.viewTimeout?.baseMs ?? this.options.viewTimeoutMs,
      recentViewsMs: this.viewTimeout?.recentStats() ?? null,
      // Up to this view the member takes any member's proposal (its root's history unknown; "0": known).
      leadersUnknownUntil: this.driver?.core.leadersUnknownUntil.toString() ?? null,
      evidence: this.evidence.length,
      conflictingCertificates: this.conflictingCertificates.length,
      // Certified outputs: signatures given to members that post, certificates made here.
      outputs: this.outputs?.stats ?? null,
      safety: this.safety
        ? {
            lastVotedView: this.safety.state.lastVotedView.toString(),
            highestQcView: this.safety.state.highestQcView.toString(),
          }
        : null,
    };
  }

  /**
   * lmdb could not write a committed block: the block is in the block WAL, but this node cannot go on
   * executing. It leaves consensus (the others carry on without it, as with a crashed member).
   */
  private onWriteFailure(err: Error): void {
    if (this.writeFailed) return;
    this.writeFailed = true;
    this.driver?.stop();
    this.deps.logger.fatal(
      { err },
      'lmdb could not write a committed block; this member stops voting and executing. The block is in the block WAL: fix the disk (space, permissions) and restart the node to write it',
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    for (const w of this.headWaiters) w.wake();
    clearInterval(this.syncTimer);
    this.driver?.stop();
    await this.txGossip.flush().catch(() => {});
    await this.commitChain;
    await this.network.stop();
    this.wal?.close();
  }
}

/** Consensus messages of a later instance kept for it (ofThisInstance), and how long before a sync. */
const EARLY_KEPT = 1_024;
const EARLY_SYNC_MS = 1_000;

/** Re-gossip after a timeout: at most this often, and at most this many pending txs. */
const REGOSSIP_INTERVAL_MS = 1_000;
const REGOSSIP_MAX_TXS = 512;

function popcount(n: bigint): number {
  let c = 0;
  for (let x = n; x > 0n; x >>= 1n) if (x & 1n) c++;
  return c;
}

/** The consensus WAL of an instance (epoch 0's keeps the name it always had). */
function walName(epoch: bigint): string {
  return epoch === 0n ? 'wal' : `wal-${epoch}`;
}

/**
 * The instance the chain at `head` is in, with its committee and schedule. Without --epoch-committees:
 * epoch 0 on genesis, the committee file's. With it, the rule of docs/ARCHITECTURE.md ("Committees
 * that change"): the blocks of epoch e's instance have origin epoch e, but for its boundary block,
 * whose later origin epoch e' makes it the root of e''s instance — so the instance is the head's
 * origin epoch, rooted at the chain's first block of that origin epoch. Waits (logging) until the
 * L1 election gives that epoch's committee.
 */
async function instanceSetupAt(
  options: CommitteeOptions,
  deps: CommitteeDeps,
  head: bigint,
  logger: Logger,
  signal?: AbortSignal,
): Promise<InstanceSetup> {
  const fileKeys = options.members.map((m) => m.blsPublicKey);
  const genesis = hashSequencedBlock(deps.executor.genesisSequenced());
  const first: InstanceSetup = {
    instance: { epoch: 0n, root: genesis },
    rootHeight: 0n,
    committee: { publicKeys: fileKeys, quorum: quorumFor(fileKeys.length) },
    schedule: deps.schedule ?? new PoaSchedule(fileKeys),
  };
  const epochs = deps.epochs;
  if (!epochs || head === 0n) return first;
  const seqAt = (h: bigint) =>
    h === 0n ? deps.executor.genesisSequenced() : decodeSequencedBlock(deps.store.getSequenced(h)!);
  const epochAtHeight = (h: bigint) => epochs.epochOf(seqAt(h).l1Origin.number);
  const epoch = epochAtHeight(head);
  if (epoch === 0n) return first;
  let rootHeight = head;
  while (rootHeight > 0n && epochAtHeight(rootHeight - 1n) === epoch) rootHeight--;
  const instance = { epoch, root: hashSequencedBlock(seqAt(rootHeight)) };
  for (let tries = 0; ; tries++) {
    try {
      return { instance, rootHeight, ...(await epochs.instanceFor(epoch)) };
    } catch (err) {
      if (signal?.aborted) throw err;
      if (tries % 20 === 0)
        logger.info(
          { epoch: Number(epoch), err: (err as Error).message },
          "waiting for the epoch's committee from the L1 election",
        );
      await sleep(500, signal);
    }
  }
}

/**
 * A chain hands over between committees (--epoch-committees) from its first block or never: its
 * blocks' certificates are of one epoch or of their instance's. A member or follower that committed
 * blocks under one rule refuses to go on under the other.
 */
async function checkHandoverRule(options: CommitteeOptions, deps: CommitteeDeps): Promise<void> {
  if (options.follow) return;
  const key = 'consensus/epochCommittees';
  const rule = deps.epochs ? 'on' : 'off';
  const kept = deps.store.getMeta(key);
  if (kept === undefined) {
    if (deps.executor.head.header.number > 0n && rule === 'on')
      throw new Error(
        `the chain in ${deps.dataDir} was committed by one committee for good (no --epoch-committees): leave the flag out, or start the committee with it on a new --data-dir`,
      );
    await deps.store.putMeta(key, rule);
    return;
  }
  if (kept !== rule)
    throw new Error(
      kept === 'on'
        ? `the chain in ${deps.dataDir} hands over to each epoch's committee: pass --epoch-committees (with --election pos | dpos | auction), or start on a new --data-dir`
        : `the chain in ${deps.dataDir} was committed by one committee for good (no --epoch-committees): leave the flag out, or start the committee with it on a new --data-dir`,
    );
}
