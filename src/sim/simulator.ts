import { RLP } from '@ethereumjs/rlp';
import {
  proposalMessage,
  type QuorumCertificate,
  quorumFor,
  timeoutMessage,
  voteMessage,
} from '../consensus/certificate.js';
import type {
  BlockHeader,
  CommittedBlock,
  ConsensusMessage,
  Proposal,
  TimeoutCertificate,
  TimeoutVote,
  Vote,
} from '../consensus/core/types.js';
import {
  type ConsensusApp,
  type ConsensusCrypto,
  ConsensusDriver,
  startFromWal,
  type WalEntry,
} from '../consensus/driver/driver.js';
import { AdaptiveViewTimeout } from '../consensus/driver/view-timeout.js';
import {
  closesInstance,
  type Instance,
  instanceBlockError,
  instanceRootQc,
  isInstanceRootQc,
  messageEpoch,
  originForBlock,
  syncedBlockError,
} from '../consensus/handover.js';
import { MemorySafetyStorage } from '../consensus/safety/file-storage.js';
import { type MessageSigner, SafetyRules } from '../consensus/safety/safety-rules.js';
import { AuctionSchedule } from '../election/auction.js';
import { EpochSchedule, SubsetSchedule } from '../election/epoch-schedule.js';
import { StakeWeightedSchedule } from '../election/pos.js';
import { type LeaderSchedule, PoaSchedule, scheduleHooks } from '../election/schedule.js';
import {
  bigIntToBytes,
  bytesToBigInt,
  fromHex,
  type Hex,
  keccak256,
  toHex,
  ZERO_HASH,
} from '../util/bytes.js';
import { Heap } from '../util/heap.js';
import { Rng } from './random.js';

/**
 * The deterministic simulator (ARCHITECTURE.md convention 2): the real driver, core and safety rules
 * of every node in one process, over a simulated network with a virtual clock, seeded delays, drops,
 * partitions, crashes and restarts, twins (two nodes with one key) and byzantine output transformers.
 * A global checker asserts agreement, no fork, valid chains and no double signing by honest nodes,
 * and liveness once the faults heal. The same seed replays the same run exactly.
 *
 * What is simulated rather than real: the transport (not libp2p), the clock, the disk (the safety
 * record and WAL survive a crash because the simulator keeps them), and the signature scheme (a keyed
 * hash that the simulator can check; BLS itself is tested against blst elsewhere).
 */

/**
 * What a byzantine member does: sign two blocks for a view, propose an invalid block, send no votes or
 * timeouts, crash right after proposing once, or (`flaky-proposer`) send no proposal in odd views — a
 * leader that fails every other view and never two in a row.
 */
export type Behaviour =
  | 'equivocate'
  | 'invalid-block'
  | 'withhold-votes'
  | 'crash-on-propose'
  | 'flaky-proposer';

export type Fault =
  | { kind: 'crash'; node: number; at: number; restartAt?: number }
  | { kind: 'partition'; groups: number[][]; from: number; to: number };

export interface SimConfig {
  seed: number;
  /** Committee size (members); twins add nodes. */
  n: number;
  durationMs: number;
  baseTimeoutMs: number;
  delayMs: [number, number];
  dropRate: number;
  /** Mean ms between client txs (each goes to one random node and is gossiped from there). */
  txIntervalMs: number;
  /** Faults, and twins/byzantine behaviours, stop mattering after this (partitions heal, nodes restart, drops end). */
  healAtMs: number;
  /** Txs stop arriving after this, so the end of the run can check that every one committed. */
  txUntilMs: number;
  faults: Fault[];
  /** Members that get a twin node (same key, own state). */
  twins: number[];
  byzantine: Array<{ member: number; behaviour: Behaviour; fromMs?: number }>;
  /** Check liveness at the end (off when the scenario is meant to break the protocol). */
  checkLiveness: boolean;
  /**
   * Who leads: poa's round robin (default), pos's stake-weighted draw with these stakes (one per
   * member) and seed — both pass over the suspects of failed views (src/election/schedule.ts) — or an
   * auction winner (`npm run sim -- --auction`). Each node runs its own schedule, as real nodes do.
   */
  leaders?:
    | { kind: 'stake'; stakes: number[]; seed: Hex }
    | {
        kind: 'auction';
        winner: number;
        /** AuctionSchedule's sitOutAfter (default 4). */
        sitOutAfter?: number;
      };
  /** The experimental short timeouts for suspects (CoreConfig; `npm run sim -- --short-timeouts`). */
  shortTimeoutForSuspects?: boolean;
  /**
   * Adaptive view timeouts, as nodes run by default (AdaptiveViewTimeout, over the virtual clock;
   * `baseTimeoutMs` is the ceiling).
   */
  adaptiveTimeouts?: boolean;
  /**
   * Disconnect timeouts, as nodes run by default: a member gives a view up (the core's `give-up`)
   * 50 ms after entering it when its leader is crashed, or after sending its vote to a crashed
   * collector — a crashed process's connections close; a partitioned one's do not, so it does not count.
   */
  disconnectTimeouts?: boolean;
  /**
   * Honest blocks hold their txs only, not their author and view, as a node's block holds its
   * content only: a leader that rebuilds a failed view's block on the same parent with the same txs
   * makes the same hash (a re-proposal).
   */
  contentAddressed?: boolean;
  /**
   * Each node can judge a proposal only this many ms after it first sees it, as a node whose L1 read
   * lags the block's origin: before, its application answers 'later'; then it is told to judge the
   * proposals kept again, as a node is when its L1 watcher moves (ConsensusDriver.judgeLaterProposals).
   */
  judgeAfterMs?: number;
  /**
   * Election epochs (`npm run sim -- --epochs`): each `lengthMs` of virtual time is an epoch whose
   * proposers are `proposers[e % proposers.length]` (committee indices; the whole committee still
   * certifies), as a node's EpochSchedule follows the L1 epochs of its chain. A block's origin epoch
   * is its leader's clock's, never below its parent's, so the chain, not each member's clock,
   * switches the schedule; each node has every epoch's schedule from the start (read ahead).
   * `winners`: each epoch is an auction won by `winners[e % winners.length]` (one of the epoch's
   * proposers, whose rotation replaces a silent winner), as `--election auction`.
   */
  epochs?: { lengthMs: number; proposers: number[][]; winners?: number[] };
  /**
   * Committees that change (`npm run sim -- --committees`): each `lengthMs` of virtual time is an
   * epoch whose *certifying* committee is `members[e % members.length]` (node ids of the universe of
   * `n`; each a 3f+1 of its own), in the handover of docs/ARCHITECTURE.md ("Committees that change"):
   * the first committed block whose origin is a later epoch (B) ends the instance; it and the blocks
   * after it in that instance are empty, and those after it (the suffix that commits B) are not part of
   * the chain; the next epoch's instance starts on B as its root, with its own views from 1, votes and
   * QCs of its own epoch, and its committee's members; nodes outside it follow by block sync.
   * Leaders within an instance: its members in rotation, drawn by stake when `leaders` stakes, or
   * `winners[e % winners.length]` (a member of the epoch's committee) as the epoch's auction winner.
   */
  committees?: { lengthMs: number; members: number[][]; winners?: number[] };
}

/** How long the simulated shell waits on a crashed member's closed connection (DISCONNECT_GRACE_MS). */
const DISCONNECT_GRACE_MS = 50;

export interface SimResult {
  seed: number;
  violations: string[];
  /** Commit height per node at the end. */
  heights: number[];
  views: number;
  /**
   * Views up to the last block that member 0 committed which have no block in its committed chain
   * (timed out, or their block was left behind).
   */
  viewsWithoutBlock: number;
  messages: number;
  txsSubmitted: number;
  txsCommitted: number;
  evidence: number;
  /** Pairs of QCs of one view on different blocks found (only possible with more than f faulty members). */
  conflictingCertificates: number;
  /** Virtual ms from healing until every live honest node committed past its height at the heal. */
  recoveryMs?: number;
  /**
   * Client txs committed by every honest node alive when the faults healed, counted at the heal: with
   * at most f members down, txs must commit before it (a scripted scenario can assert this).
   */
  txsCommittedAtHeal?: number;
  /** Client txs submitted before the heal. */
  txsSubmittedAtHeal?: number;
  /**
   * With `epochs`: the highest origin epoch in member 0's committed chain, and how many of its blocks
   * have an author that is not a proposer of their parent's epoch (whose schedule named the leader).
   */
  epochsEntered?: number;
  blocksOffSchedule?: number;
  /** With `committees`: how many times member 0's chain changed its certifying committee. */
  committeesEntered?: number;
  /** With `committees`: blocks nodes took by block sync (verified commit proofs), all nodes together. */
  blocksSynced?: number;
  /**
   * With `committees`: for each committee change in member 0's chain built after the heal, the virtual
   * ms from its boundary block's build to the next instance's first block's build; and, to compare,
   * the ms between consecutive blocks of one instance built after the heal.
   */
  handoverMs?: number[];
  blockIntervalMs?: number[];
  /**
   * With `epochs`: blocks of member 0's chain built after the heal on their parent's QC (no view
   * failed right before) whose author is not the member the epoch's schedule names without failures,
   * though that member is honest: passed over for the failures the chain remembers (all are up then).
   */
  passedOverAfterHeal?: number;
}

/**
 * Txs a byzantine leader makes up for its second block start here; client txs count from 1. They can
 * be committed (an equivocating leader's second block is valid), and must not count for a client tx
 * that never was.
 */
const FAKE_TX_BASE = 1_000_000;
const realTxs = (txs: Set<number>) => [...txs].filter((t) => t < FAKE_TX_BASE).length;

const GENESIS: Hex = toHex(keccak256(new TextEncoder().encode('seqnet/sim/genesis')));
const CHAIN_ID = 42069n;
const EPOCH = 0n;

interface Disk {
  safety: MemorySafetyStorage;
  /** The WAL of the instance the node is in (a new instance starts with an empty one). */
  wal: WalEntry[];
  committed: CommittedBlock[];
  /**
   * The consensus instances this node's chain went through, oldest first: each one's epoch and the
   * height of its root (the boundary block B that ended the one before; 0 for genesis).
   */
  roots: InstanceRoot[];
}

interface InstanceRoot {
  epoch: bigint;
  height: number;
}

/** Blocks one block-sync answer carries, and the least time between two requests of one node. */
const SYNC_MAX_BLOCKS = 64;
const SYNC_GAP_MS = 50;
/** How often a node outside its epoch's committee asks a peer for the blocks it lacks. */
const SYNC_POLL_MS = 100;

interface SimNode {
  id: number;
  member: number;
  honest: boolean;
  behaviour?: Behaviour;
  behaviourFrom: number;
  alive: boolean;
  /** Bumped on each crash: events of an earlier life are dropped. */
  life: number;
  disk: Disk;
  driver?: ConsensusDriver;
  pool: Set<number>;
  committedTxs: Set<number>;
  crashedOnPropose: boolean;
  /** When each proposal (view/hash) was first seen, for `judgeAfterMs`. */
  firstSeen: Map<string, number>;
  /** The drivers of instances this node left in this life (stopped; they serve fetches of their blocks). */
  oldDrivers: Map<bigint, ConsensusDriver>;
  /** When this node last asked a peer for blocks (SYNC_GAP_MS), and whose turn it is to be asked. */
  lastSyncAt: number;
  syncTurn: number;
  /** The life whose block-sync polling runs (a node outside its committee polls; -1: none). */
  pollLife: number;
}

interface SimEvent {
  at: number;
  seq: number;
  run: () => void;
}

/** The simulator's stand-in signatures: keccak(secret ‖ message), checkable by the simulator. */
class SimCrypto implements ConsensusCrypto {
  private readonly signatures = new Map<string, Uint8Array>();

  /** `instance`: the epoch and root block of the instance's view-0 QC (genesis, or its boundary block). */
  constructor(
    private readonly secrets: Uint8Array[],
    private readonly quorum: number,
    private readonly instance: Instance = { epoch: EPOCH, root: GENESIS },
  ) {}

  sign(member: number, msg: Uint8Array): Uint8Array {
    return keccak256(concatBytes(this.secrets[member], msg));
  }

  /** A member's signature of a vote, memoised: QC checks recompute them for every signer. */
  private voteSig(member: number, epoch: bigint, view: bigint, hash: Hex): Uint8Array {
    const key = `${member}/${epoch}/${view}/${hash}`;
    let sig = this.signatures.get(key);
    if (!sig) {
      sig = this.sign(member, voteMessage(CHAIN_ID, epoch, view, hash));
      this.signatures.set(key, sig);
    }
    return sig;
  }

  private check(member: number, msg: Uint8Array, sig: Uint8Array): boolean {
    if (member < 0 || member >= this.secrets.length) return false;
    return toHex(this.sign(member, msg)) === toHex(sig);
  }

  aggregate(votes: Vote[]): QuorumCertificate {
    const sorted = [...votes].sort((a, b) => a.voter - b.voter);
    let signers = 0n;
    for (const v of sorted) signers |= 1n << BigInt(v.voter);
    const v0 = sorted[0];
    return {
      epoch: v0.epoch,
      view: v0.view,
      blockHash: v0.blockHash,
      signers,
      signature: toHex(keccak256(concatBytes(...sorted.map((v) => v.signature)))),
    };
  }

  verifyQc(qc: QuorumCertificate): boolean {
    if (qc.view === 0n) return isInstanceRootQc(qc, this.instance);
    const sigs: Uint8Array[] = [];
    for (let i = 0; i < this.secrets.length; i++)
      if ((qc.signers >> BigInt(i)) & 1n)
        sigs.push(this.sign(i, voteMessage(CHAIN_ID, qc.epoch, qc.view, qc.blockHash)));
    if (qc.signers >> BigInt(this.secrets.length) !== 0n || sigs.length < this.quorum) return false;
    return toHex(keccak256(concatBytes(...sigs))) === qc.signature;
  }

  verifyTc(tc: TimeoutCertificate): boolean {
    const voters = new Set(tc.timeouts.map((t) => t.voter));
    if (voters.size !== tc.timeouts.length || voters.size < this.quorum) return false;
    let max = 0n;
    for (const t of tc.timeouts) {
      if (!this.check(t.voter, timeoutMessage(CHAIN_ID, tc.epoch, tc.view, t.highQcView), t.signature))
        return false;
      if (t.highQcView > max) max = t.highQcView;
    }
    return tc.highQc.view >= max && this.verifyQc(tc.highQc);
  }

  verifyVotes(votes: Vote[]): boolean {
    return votes.every((v) => this.verifyVote(v));
  }

  verifyVote(v: Vote): boolean {
    if (v.voter < 0 || v.voter >= this.secrets.length) return false;
    return toHex(this.voteSig(v.voter, v.epoch, v.view, v.blockHash)) === toHex(v.signature);
  }

  verifyTimeout(t: TimeoutVote): boolean {
    if (!this.check(t.voter, timeoutMessage(CHAIN_ID, t.epoch, t.view, t.highQc.view), t.signature))
      return false;
    if (!this.verifyQc(t.highQc)) return false;
    return !t.lastViewTc || this.verifyTc(t.lastViewTc);
  }

  verifyProposal(p: Proposal): boolean {
    if (!this.check(p.author, proposalMessage(CHAIN_ID, p.epoch, p.view, p.block.hash), p.signature))
      return false;
    if (!this.verifyQc(p.justify)) return false;
    return !p.lastViewTc || this.verifyTc(p.lastViewTc);
  }
}

/** A block's payload in the simulator: its author, view, tx ids and origin epoch (SimConfig.epochs). */
function encodePayload(author: number, view: bigint, txs: number[], epoch = 0n): Uint8Array {
  return RLP.encode([
    bigIntToBytes(BigInt(author)),
    bigIntToBytes(view),
    txs.map((t) => bigIntToBytes(BigInt(t))),
    bigIntToBytes(epoch),
  ]);
}

function decodeEpoch(payload: Uint8Array): bigint | undefined {
  try {
    const fields = RLP.decode(payload) as unknown as Uint8Array[];
    const epoch = fields[3];
    return epoch instanceof Uint8Array ? bytesToBigInt(epoch) : undefined;
  } catch {
    return undefined;
  }
}

function decodePayload(payload: Uint8Array): number[] | undefined {
  try {
    const [, , txs] = RLP.decode(payload) as unknown as [Uint8Array, Uint8Array, Uint8Array[]];
    if (!Array.isArray(txs)) return undefined;
    return txs.map((t) => Number(bytesToBigInt(t)));
  } catch {
    return undefined;
  }
}

function blockHash(parent: Hex, height: bigint, payload: Uint8Array): Hex {
  return toHex(keccak256(concatBytes(fromHex(parent), bigIntToBytes(height), payload)));
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

export class Simulator {
  readonly rng: Rng;
  private now = 0;
  private seq = 0;
  private readonly events = new Heap<SimEvent>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
  readonly nodes: SimNode[] = [];
  /** Every member's signing secret, by node id of the universe (`member`). */
  private readonly secrets: Uint8Array[];
  /** Each instance's checker of signatures, by epoch and root block. */
  private readonly cryptos = new Map<string, SimCrypto>();
  private blocksSynced = 0;
  private messages = 0;
  private maxView = 0n;
  private txCounter = 0;
  private readonly evidence: string[] = [];
  /** Pairs of QCs of one view on different blocks that honest nodes found. */
  private conflictingCertificates = 0;
  /** Every signature an honest node's safety rules made: (member, view, kind) → what it signed. */
  private readonly signed = new Map<string, Hex>();
  private readonly violations: string[] = [];
  private heightsAtHeal?: number[];
  private recoveryMs?: number;
  private txsAtHeal?: { committed: number; submitted: number };
  /**
   * Origin epoch of every block built or judged valid (SimConfig.epochs). One map for all nodes: a
   * block's hash commits to its payload, so this is what any node holding the block would decode.
   */
  private readonly blockEpochs = new Map<Hex, bigint>([[GENESIS, 0n]]);
  /** When each block was built (virtual ms), for SimResult.passedOverAfterHeal. */
  private readonly blockBuiltAt = new Map<Hex, number>();

  constructor(readonly config: SimConfig) {
    this.rng = new Rng(config.seed);
    this.secrets = Array.from({ length: config.n }, (_, i) =>
      keccak256(new TextEncoder().encode(`seqnet/sim/member/${i}`)),
    );
    const byz = new Map(config.byzantine.map((b) => [b.member, b]));
    const addNode = (member: number, twin: boolean) => {
      const b = byz.get(member);
      this.nodes.push({
        id: this.nodes.length,
        member,
        honest: !twin && !config.twins.includes(member) && !b,
        behaviour: twin ? undefined : b?.behaviour,
        behaviourFrom: b?.fromMs ?? 0,
        alive: true,
        life: 0,
        disk: {
          safety: new MemorySafetyStorage(),
          wal: [],
          committed: [],
          roots: [{ epoch: EPOCH, height: 0 }],
        },
        pool: new Set(),
        committedTxs: new Set(),
        crashedOnPropose: false,
        firstSeen: new Map(),
        oldDrivers: new Map(),
        lastSyncAt: -Infinity,
        syncTurn: 0,
        pollLife: -1,
      });
    };
    for (let m = 0; m < config.n; m++) addNode(m, false);
    for (const m of config.twins) addNode(m, true);
  }

  private at(delay: number, run: () => void): void {
    this.events.push({ at: this.now + delay, seq: this.seq++, run });
  }

  /** Runs every event up to the configured duration and checks the invariants. */
  run(): SimResult {
    const { config } = this;
    for (const node of this.nodes) this.boot(node);
    for (const f of config.faults) {
      if (f.kind === 'crash') {
        this.events.push({ at: f.at, seq: this.seq++, run: () => this.crash(this.nodes[f.node]) });
        if (f.restartAt !== undefined)
          this.events.push({ at: f.restartAt, seq: this.seq++, run: () => this.restart(this.nodes[f.node]) });
      }
    }
    this.events.push({
      at: config.healAtMs,
      seq: this.seq++,
      run: () => {
        const live = this.nodes.filter((n) => n.honest && n.alive);
        this.txsAtHeal = {
          committed: live.length ? Math.min(...live.map((n) => realTxs(n.committedTxs))) : 0,
          submitted: this.txCounter,
        };
        for (const node of this.nodes) if (!node.alive) this.restart(node);
        this.heightsAtHeal = this.nodes.map((n) => n.disk.committed.length);
      },
    });
    this.scheduleTx();
    for (;;) {
      const e = this.events.pop();
      if (!e || e.at > config.durationMs) break;
      this.now = e.at;
      e.run();
      if (this.heightsAtHeal && this.recoveryMs === undefined) this.checkRecovered();
    }
    this.checkInvariants();
    const honestHeights = this.nodes.filter((n) => n.honest).map((n) => n.disk.committed.length);
    return {
      seed: config.seed,
      violations: this.violations,
      heights: this.nodes.map((n) => n.disk.committed.length),
      views: Number(this.maxView),
      viewsWithoutBlock: this.viewsWithoutBlock(this.nodes[0]),
      messages: this.messages,
      txsSubmitted: this.txCounter,
      txsCommitted: Math.min(
        ...honestHeights.map((_, i) => realTxs(this.nodes.filter((n) => n.honest)[i].committedTxs)),
      ),
      evidence: this.evidence.length,
      conflictingCertificates: this.conflictingCertificates,
      recoveryMs: this.recoveryMs,
      txsCommittedAtHeal: this.txsAtHeal?.committed,
      txsSubmittedAtHeal: this.txsAtHeal?.submitted,
      ...this.epochFigures(this.nodes[0]),
      ...(config.committees
        ? {
            committeesEntered: this.nodes[0].disk.roots.length - 1,
            blocksSynced: this.blocksSynced,
            ...this.handoverTimes(this.nodes[0]),
          }
        : {}),
    };
  }

  /** SimResult's handoverMs and blockIntervalMs for `node`'s chain. */
  private handoverTimes(node: SimNode): Pick<SimResult, 'handoverMs' | 'blockIntervalMs'> {
    const handoverMs: number[] = [];
    const blockIntervalMs: number[] = [];
    const boundaries = new Set(node.disk.roots.map((r) => r.height));
    const chain = node.disk.committed;
    for (let i = 1; i < chain.length; i++) {
      const before = this.blockBuiltAt.get(chain[i - 1].proposal.block.hash);
      const after = this.blockBuiltAt.get(chain[i].proposal.block.hash);
      if (before === undefined || after === undefined || before < this.config.healAtMs) continue;
      // Block i - 1 (height i) is a boundary when an instance starts on it.
      (boundaries.has(i) ? handoverMs : blockIntervalMs).push(after - before);
    }
    return { handoverMs, blockIntervalMs };
  }

  /** Members whose key some faulty node holds: twins and byzantine behaviours. */
  private faultyMembers(): number {
    return new Set([...this.config.twins, ...this.config.byzantine.map((b) => b.member)]).size;
  }

  // ---- committees and instances ----

  /** The certifying committee of `epoch`'s instance: node ids of the universe, in index order. */
  private committeeOf(epoch: bigint): number[] {
    const c = this.config.committees;
    if (c) return c.members[Number(epoch) % c.members.length];
    return Array.from({ length: this.config.n }, (_, i) => i);
  }

  /** The instance a node is in: the one its chain's last root started. */
  private instanceOf(node: SimNode): InstanceRoot {
    return node.disk.roots[node.disk.roots.length - 1];
  }

  /** The block an instance starts on, as `node` committed it (genesis for the first). */
  private rootBlockOf(node: SimNode, root: InstanceRoot): BlockHeader {
    return root.height === 0
      ? { hash: GENESIS, parent: ZERO_HASH, height: 0n, txCount: 0 }
      : node.disk.committed[root.height - 1].proposal.block;
  }

  /** The signature checker of the instance of `epoch` that starts on `root`. */
  private cryptoFor(epoch: bigint, root: Hex): SimCrypto {
    const key = `${epoch}/${root}`;
    let crypto = this.cryptos.get(key);
    if (!crypto) {
      const committee = this.committeeOf(epoch);
      crypto = new SimCrypto(
        committee.map((m) => this.secrets[m]),
        quorumFor(committee.length),
        { epoch, root },
      );
      this.cryptos.set(key, crypto);
    }
    return crypto;
  }

  /** A universe member's signature (any instance's checker computes the same for its index). */
  private signAs(member: number, msg: Uint8Array): Uint8Array {
    return keccak256(concatBytes(this.secrets[member], msg));
  }

  /** The epoch a block's origin is in (its payload's); the instance's for an undecodable one. */
  private originOf(p: Proposal, instance: bigint): bigint {
    return decodeEpoch(p.payload) ?? instance;
  }

  // ---- nodes ----

  /**
   * A fresh leader schedule for one node's life (a restarted node rebuilds its own). With changing
   * committees, each instance's members in rotation.
   */
  private leadersFor(instance = EPOCH): LeaderSchedule {
    const { leaders, n, epochs, committees } = this.config;
    const publicKeys = Array.from({ length: n }, (_, i) => `0x${i.toString(16).padStart(2, '0')}` as Hex);
    if (committees) {
      const members = this.committeeOf(instance);
      const keys = members.map((m) => publicKeys[m]);
      const winner = committees.winners?.[Number(instance) % committees.winners.length];
      // The first instance gives its winner the start-up grace (peers still dialling); a later one
      // starts among connected members, as the node's later instances do (AuctionSchedule's
      // `startsChain`): otherwise an equivocating winner cost each instance up to 6 views of
      // doubling timeouts (4 of seeds 1001..4000 left txs uncommitted at the end of their 8 s).
      if (winner !== undefined)
        return new AuctionSchedule(keys, members.indexOf(winner), { startsChain: instance === EPOCH });
      if (leaders?.kind === 'stake')
        return new StakeWeightedSchedule({
          epoch: instance,
          publicKeys: keys,
          stakes: members.map((m) => BigInt(leaders.stakes[m])),
          seed: leaders.seed,
        });
      return new PoaSchedule(keys);
    }
    if (epochs) return this.epochLeaders(epochs, publicKeys);
    if (leaders?.kind === 'stake')
      return new StakeWeightedSchedule({
        epoch: EPOCH,
        publicKeys,
        stakes: leaders.stakes.map(BigInt),
        seed: leaders.seed,
      });
    if (leaders?.kind === 'auction')
      return new AuctionSchedule(publicKeys, leaders.winner, { sitOutAfter: leaders.sitOutAfter });
    return new PoaSchedule(publicKeys);
  }

  /**
   * Every epoch's proposers (round robin, drawn by stake when the scenario stakes, or an auction
   * winner with the others in rotation), as a node's EpochSchedule holds the epochs it read ahead; a
   * block's "L1 origin" is its epoch number.
   */
  private epochLeaders(epochs: NonNullable<SimConfig['epochs']>, publicKeys: Hex[]): LeaderSchedule {
    const { leaders } = this.config;
    const scheduleOf = (epoch: bigint) => {
      const members = epochs.proposers[Number(epoch) % epochs.proposers.length];
      const keys = members.map((m) => publicKeys[m]);
      const winner = epochs.winners?.[Number(epoch) % epochs.winners.length];
      const inner =
        winner !== undefined
          ? new AuctionSchedule(keys, members.indexOf(winner))
          : leaders?.kind === 'stake'
            ? new StakeWeightedSchedule({
                epoch,
                publicKeys: keys,
                stakes: members.map((m) => BigInt(leaders.stakes[m])),
                seed: leaders.seed,
              })
            : new PoaSchedule(keys);
      return new SubsetSchedule(inner, members, publicKeys);
    };
    const schedule = new EpochSchedule(0n, scheduleOf(0n), { genesisBlock: 0n, epochLength: 1n });
    const last = BigInt(Math.ceil(this.config.durationMs / epochs.lengthMs));
    for (let e = 1n; e <= last; e++) schedule.add(e, scheduleOf(e));
    return schedule;
  }

  /** How long an epoch lasts (election epochs or changing committees); undefined without epochs. */
  private epochLengthMs(): number | undefined {
    return this.config.epochs?.lengthMs ?? this.config.committees?.lengthMs;
  }

  /** The epoch the clock is in (0 without epochs). */
  private clockEpoch(): bigint {
    const lengthMs = this.epochLengthMs();
    return lengthMs ? BigInt(Math.floor(this.now / lengthMs)) : 0n;
  }

  /** The epoch a block built now on `parent` takes: the clock's, never below its parent's. */
  private epochForBlock(parent: Hex): bigint {
    const lengthMs = this.epochLengthMs();
    if (!lengthMs) return 0n;
    const now = this.clockEpoch();
    const before = this.blockEpochs.get(parent) ?? 0n;
    return now > before ? now : before;
  }

  /**
   * Starts a node's consensus in the instance its chain is in: as a member of that instance's
   * committee, a driver over its own safety record and WAL; outside it, polling block sync.
   * `continuing`: the same process goes on (it entered a new instance, or took blocks by block sync).
   */
  private boot(node: SimNode, continuing = false): void {
    const { config } = this;
    const instance = this.instanceOf(node);
    const committee = this.committeeOf(instance.epoch);
    const self = committee.indexOf(node.member);
    node.alive = true;
    node.driver = undefined;
    if (self < 0) {
      this.pollSync(node);
      return;
    }
    const rootBlock = this.rootBlockOf(node, instance);
    const last = node.disk.committed[node.disk.committed.length - 1];
    // Past its first block, an instance's root is the last committed block with its proof; at its
    // start, the boundary block with a view-0 QC of the instance's epoch (nothing before it failed).
    const root =
      last && node.disk.committed.length > instance.height
        ? { block: last.proposal.block, qc: last.qcs[0] }
        : {
            block: rootBlock,
            qc: instanceRootQc({ epoch: instance.epoch, root: rootBlock.hash }),
            ...(instance.height > 0 ? { failedViews: [], led: [] } : {}),
          };
    const crypto = this.cryptoFor(instance.epoch, rootBlock.hash);
    const signer = this.signerFor(node);
    const safety = new SafetyRules(node.disk.safety, signer, self, instance.epoch, {
      freshChain: node.disk.committed.length === 0 && node.disk.wal.length === 0,
      continuing,
    });
    const life = node.life;
    const schedule = this.leadersFor(instance.epoch);
    const inInstance = () => this.instanceOf(node) === instance;
    const driver: ConsensusDriver = new ConsensusDriver(
      {
        self,
        n: committee.length,
        quorum: quorumFor(committee.length),
        epoch: instance.epoch,
        ...scheduleHooks(schedule, (block) => this.blockEpochs.get(block)),
        baseTimeoutMs: config.baseTimeoutMs,
        shortTimeoutForSuspects: config.shortTimeoutForSuspects,
        aggregate: (votes) => crypto.aggregate(votes),
      },
      startFromWal(root, node.disk.wal),
      {
        safety,
        crypto,
        transport: {
          broadcast: (m) => this.send(node, life, undefined, m),
          sendTo: (member, m) => this.send(node, life, committee[member], m),
          fetch: (member, hash) => this.fetch(node, life, committee[member], hash, instance.epoch),
        },
        timers: {
          schedule: (ms, fire) =>
            this.at(ms, () => {
              if (node.alive && node.life === life) fire();
            }),
          now: () => this.now,
        },
        // A restarted process starts adapting afresh.
        viewTimeout: config.adaptiveTimeouts ? new AdaptiveViewTimeout(config.baseTimeoutMs) : undefined,
        app: this.appFor(node, instance, committee),
        wal: {
          // The instance left behind writes no more: the next one starts with an empty WAL.
          append: (e) => {
            if (inInstance()) node.disk.wal.push(e);
          },
          prune: (h) => {
            if (!inInstance()) return;
            node.disk.wal = node.disk.wal.filter((e) => e.kind !== 'proposal' || e.proposal.block.height > h);
            if (node.disk.wal.length > 200) node.disk.wal.splice(0, node.disk.wal.length - 200);
          },
        },
      },
    );
    node.driver = driver;
    driver.start();
    driver.setWork(node.pool.size > 0);
  }

  /** Leaves the driver of the instance the node's chain just ended, and starts the next one's. */
  private enterNextInstance(node: SimNode, life: number): void {
    if (!node.alive || node.life !== life) return;
    if (node.driver?.core.config.epoch === this.instanceOf(node).epoch) return;
    this.retireDriver(node);
    this.boot(node, true);
  }

  /** Stops the running driver, kept (stopped) to serve fetches of its instance's blocks. */
  private retireDriver(node: SimNode): void {
    const driver = node.driver;
    if (!driver) return;
    driver.stop();
    node.oldDrivers.set(driver.core.config.epoch, driver);
    node.driver = undefined;
  }

  /**
   * A block's origin epoch, as a node judges an L1 origin: not below its parent's (when the parent is
   * known), not ahead of the clock. Always 0 without epochs.
   */
  private epochIsValid(p: Proposal): boolean {
    const epoch = decodeEpoch(p.payload);
    if (epoch === undefined) return false;
    const lengthMs = this.epochLengthMs();
    if (!lengthMs) return epoch === 0n;
    const parent = this.blockEpochs.get(p.block.parent);
    return (parent === undefined || epoch >= parent) && epoch <= BigInt(Math.floor(this.now / lengthMs));
  }

  private crash(node: SimNode): void {
    if (!node.alive) return;
    node.alive = false;
    node.life++;
    node.driver?.stop();
    node.driver = undefined;
    node.oldDrivers = new Map();
  }

  private restart(node: SimNode): void {
    if (node.alive) return;
    node.life++;
    // The mempool is memory: it is gone; txs come back through gossip only if clients resend.
    node.pool = new Set([...node.pool].filter((t) => !node.committedTxs.has(t)));
    this.boot(node);
  }

  private signerFor(node: SimNode): MessageSigner {
    const record = (kind: string, epoch: bigint, view: bigint, what: Hex) => {
      if (!node.honest) return;
      const key = `${node.member}/${epoch}/${kind}/${view}`;
      const before = this.signed.get(key);
      if (before !== undefined && before !== what)
        this.violations.push(
          `honest member ${node.member} signed two ${kind}s in epoch ${epoch} view ${view}: ${before} and ${what}`,
        );
      this.signed.set(key, what);
    };
    return {
      signVote: (epoch, view, hash) => {
        record('vote', epoch, view, hash);
        return this.signAs(node.member, voteMessage(CHAIN_ID, epoch, view, hash));
      },
      signTimeout: (epoch, view, highQcView) =>
        this.signAs(node.member, timeoutMessage(CHAIN_ID, epoch, view, highQcView)),
      signProposal: (epoch, view, hash) => {
        record('proposal', epoch, view, hash);
        return this.signAs(node.member, proposalMessage(CHAIN_ID, epoch, view, hash));
      },
    };
  }

  /**
   * The application of one instance of a node. With changing committees a block whose origin is a
   * later epoch than the instance's is empty (the boundary block, and the suffix that commits it).
   */
  private appFor(node: SimNode, instance: InstanceRoot, committee: number[]): ConsensusApp {
    const changing = this.config.committees !== undefined;
    const at: Instance = { epoch: instance.epoch, root: this.rootBlockOf(node, instance).hash };
    return {
      buildBlock: (view, parent, height, uncommitted) => {
        const taken = new Set<number>();
        for (const p of uncommitted) for (const t of decodePayload(p.payload) ?? []) taken.add(t);
        const epoch = changing
          ? originForBlock(at, parent, this.blockEpochs.get(parent) ?? 0n, this.clockEpoch())
          : this.epochForBlock(parent);
        const closing = changing && closesInstance(at.epoch, epoch);
        const txs = closing
          ? []
          : [...node.pool].filter((t) => !taken.has(t) && !node.committedTxs.has(t)).slice(0, 20);
        const payload = this.config.contentAddressed
          ? encodePayload(0, 0n, txs, epoch)
          : encodePayload(node.member, view, txs, epoch);
        const block: BlockHeader = {
          hash: blockHash(parent, height, payload),
          parent,
          height,
          txCount: txs.length,
        };
        this.blockEpochs.set(block.hash, epoch);
        if (!this.blockBuiltAt.has(block.hash)) this.blockBuiltAt.set(block.hash, this.now);
        return { block, payload };
      },
      validate: (p) => {
        const lag = this.config.judgeAfterMs;
        if (lag) {
          const key = `${p.view}/${p.block.hash}`;
          const seen = node.firstSeen.get(key);
          if (seen === undefined) {
            node.firstSeen.set(key, this.now);
            const life = node.life;
            this.at(lag, () => {
              if (node.alive && node.life === life) node.driver?.judgeLaterProposals();
            });
          }
          if (this.now < (seen ?? this.now) + lag) return 'later';
        }
        const txs = decodePayload(p.payload);
        const valid =
          txs !== undefined &&
          txs.length === p.block.txCount &&
          blockHash(p.block.parent, p.block.height, p.payload) === p.block.hash &&
          this.epochIsValid(p) &&
          !(changing && instanceBlockError(at, p.block, this.originOf(p, at.epoch)) !== null);
        if (valid) this.blockEpochs.set(p.block.hash, decodeEpoch(p.payload) ?? 0n);
        return valid;
      },
      commit: (blocks) => {
        for (const b of blocks) {
          // The instance ended at its boundary block: what it commits after it is the suffix.
          if (this.instanceOf(node) !== instance) break;
          const expected = BigInt(node.disk.committed.length + 1);
          if (b.proposal.block.height !== expected) {
            if (b.proposal.block.height < expected) continue;
            this.violations.push(
              `node ${node.id} committed height ${b.proposal.block.height} after ${expected - 1n}: a gap`,
            );
          }
          this.append(node, b);
        }
        if (this.instanceOf(node) !== instance) {
          const life = node.life;
          this.at(0, () => this.enterNextInstance(node, life));
        }
        node.driver?.setWork([...node.pool].some((t) => !node.committedTxs.has(t)));
      },
      onEvidence: (e) => this.evidence.push(`member ${e.member} equivocated (${e.phase}) in view ${e.view}`),
      onConflictingCertificates: (c) => {
        this.conflictingCertificates++;
        // Two quorums of one view intersect in f + 1 members: with at most f faulty, never.
        if (this.faultyMembers() <= Math.floor((this.committeeOf(c.epoch).length - 1) / 3))
          this.violations.push(`node ${node.id}: two QCs of view ${c.view} on different blocks`);
      },
      onView: (view, leader) => {
        if (view > this.maxView) this.maxView = view;
        this.giveUpIfCrashed(node, view, committee[leader]);
      },
      onTimedOut: () => {
        for (const tx of node.pool) if (!node.committedTxs.has(tx)) this.gossipTx(node, tx);
      },
    };
  }

  /**
   * Adds a committed block to a node's chain; with changing committees, a block whose origin is a
   * later epoch than the instance's is its boundary: the next instance starts on it (with a new WAL).
   */
  private append(node: SimNode, b: CommittedBlock): void {
    node.disk.committed.push(b);
    for (const t of decodePayload(b.proposal.payload) ?? []) {
      if (node.committedTxs.has(t)) this.violations.push(`node ${node.id}: tx ${t} committed twice`);
      node.committedTxs.add(t);
      node.pool.delete(t);
    }
    if (!this.config.committees) return;
    const instance = this.instanceOf(node).epoch;
    const origin = this.originOf(b.proposal, instance);
    if (closesInstance(instance, origin)) {
      node.disk.roots.push({ epoch: origin, height: node.disk.committed.length });
      node.disk.wal = [];
    }
  }

  // ---- block sync (changing committees) ----

  /**
   * A node outside its instance's committee follows by block sync: it asks a peer in turn every
   * SYNC_POLL_MS, and sends its uncommitted txs on now and then (it never proposes them itself).
   */
  private pollSync(node: SimNode): void {
    const life = node.life;
    if (node.pollLife === life) return;
    node.pollLife = life;
    let round = 0;
    const tick = () => {
      if (!node.alive || node.life !== life || node.driver) {
        if (node.life === life) node.pollLife = -1;
        return;
      }
      const peers = this.nodes.filter((n) => n !== node && n.alive);
      if (peers.length) this.requestSync(node, peers[node.syncTurn++ % peers.length]);
      if (++round % 5 === 0)
        for (const tx of node.pool) if (!node.committedTxs.has(tx)) this.gossipTx(node, tx);
      this.at(SYNC_POLL_MS, tick);
    };
    this.at(SYNC_POLL_MS, tick);
  }

  /** Asks `peer` for the committed blocks above `node`'s chain (at most one request per SYNC_GAP_MS). */
  private requestSync(node: SimNode, peer: SimNode): void {
    if (!node.alive || this.now - node.lastSyncAt < SYNC_GAP_MS) return;
    node.lastSyncAt = this.now;
    const life = node.life;
    const from = node.disk.committed.length;
    this.deliverLater(node, peer, () => {
      const answer = peer.disk.committed.slice(from, from + SYNC_MAX_BLOCKS);
      if (answer.length === 0) return;
      this.deliverLater(peer, node, () => {
        if (node.life === life) this.applySync(node, answer);
      });
    });
  }

  /**
   * Takes the blocks of a sync answer that extend the chain and whose commit proofs verify under the
   * committee of the instance they are in (the QC pair of the block or of the descendant it was
   * committed through, both of that instance's epoch, in consecutive views), then restarts the node's
   * consensus on the new tip: in the next instance when a boundary block came.
   */
  private applySync(node: SimNode, blocks: CommittedBlock[]): void {
    let taken = 0;
    for (const b of blocks) {
      const have = node.disk.committed.length;
      const { block } = b.proposal;
      if (block.height <= BigInt(have)) continue;
      const tip = have ? node.disk.committed[have - 1].proposal.block.hash : GENESIS;
      if (block.height !== BigInt(have + 1) || block.parent !== tip) break;
      const instance = this.instanceOf(node);
      const root = this.rootBlockOf(node, instance).hash;
      const why = syncedBlockError({ epoch: instance.epoch, root }, b, this.cryptoFor(instance.epoch, root));
      if (why) {
        this.violations.push(`node ${node.id}: a block-sync answer does not verify: ${why}`);
        break;
      }
      this.blockEpochs.set(block.hash, this.originOf(b.proposal, instance.epoch));
      this.append(node, b);
      taken++;
    }
    if (taken === 0) return;
    this.blocksSynced += taken;
    this.retireDriver(node);
    this.boot(node, true);
    // A full answer: there may be more.
    if (taken === SYNC_MAX_BLOCKS) node.lastSyncAt = -Infinity;
  }

  /**
   * Hands a consensus message to a node. With changing committees it goes to the driver of the
   * message's instance; a message of a later instance (or of its own, for a node that only follows)
   * makes the node ask the sender for blocks, and one of an earlier instance makes the sender ask it.
   */
  private receive(to: SimNode, from: SimNode, m: ConsensusMessage): void {
    if (!this.config.committees) {
      to.driver?.onMessage(from.member, m);
      return;
    }
    const epoch = messageEpoch(m);
    const instance = this.instanceOf(to).epoch;
    if (epoch === instance && to.driver) {
      const index = this.committeeOf(epoch).indexOf(from.member);
      if (index >= 0) to.driver.onMessage(index, m);
    } else if (epoch >= instance) this.requestSync(to, from);
    else this.requestSync(from, to);
  }

  // ---- network ----

  private reachable(from: SimNode, to: SimNode): boolean {
    if (!to.alive) return false;
    if (this.now >= this.config.healAtMs) return true;
    for (const f of this.config.faults) {
      if (f.kind !== 'partition' || this.now < f.from || this.now >= f.to) continue;
      const g = f.groups.find((grp) => grp.includes(from.id));
      if (!g?.includes(to.id)) return false;
    }
    return true;
  }

  private deliverLater(from: SimNode, to: SimNode, run: () => void): void {
    const { config } = this;
    if (!this.reachable(from, to)) return;
    if (this.now < config.healAtMs && this.rng.chance(config.dropRate)) return;
    this.messages++;
    const life = to.life;
    this.at(this.rng.int(config.delayMs[0], config.delayMs[1]), () => {
      if (to.alive && to.life === life) run();
    });
  }

  /** The simulated shell's disconnect timeouts (SimConfig.disconnectTimeouts). */
  private giveUpIfCrashed(node: SimNode, view: bigint, member: number): void {
    if (!this.config.disconnectTimeouts || member === node.member) return;
    const crashed = () => this.nodes.every((n) => n.member !== member || !n.alive);
    if (!crashed()) return;
    const life = node.life;
    this.at(DISCONNECT_GRACE_MS, () => {
      if (node.alive && node.life === life && crashed()) node.driver?.giveUp(view);
    });
  }

  private send(node: SimNode, life: number, member: number | undefined, message: ConsensusMessage): void {
    if (!node.alive || node.life !== life) return;
    // (Until the leaders are known a vote goes to every member: no single one is the collector.)
    if (
      message.kind === 'vote' &&
      member !== undefined &&
      node.driver &&
      message.vote.view > node.driver.core.leadersUnknownUntil
    )
      this.giveUpIfCrashed(node, message.vote.view, member);
    const targets = this.nodes.filter(
      (n) => n.id !== node.id && (member === undefined || n.member === member),
    );
    const active = node.behaviour && this.now >= node.behaviourFrom;
    if (active && node.behaviour === 'withhold-votes' && message.kind !== 'proposal') return;
    if (
      active &&
      node.behaviour === 'flaky-proposer' &&
      message.kind === 'proposal' &&
      message.proposal.view % 2n === 1n
    )
      return;
    if (message.kind === 'proposal' && active) {
      const p = message.proposal;
      if (node.behaviour === 'crash-on-propose' && !node.crashedOnPropose) {
        // A leader that dies holding a fresh QC: one peer at most hears its proposal.
        node.crashedOnPropose = true;
        const one = this.rng.pick(targets);
        this.deliverLater(node, one, () => this.receive(one, node, message));
        this.crash(node);
        this.at(this.config.baseTimeoutMs * 3, () => this.restart(node));
        return;
      }
      if (node.behaviour === 'equivocate' || node.behaviour === 'invalid-block') {
        const other = this.conflicting(node, p, node.behaviour === 'invalid-block');
        const second: ConsensusMessage = { kind: 'proposal', proposal: other };
        for (const [i, t] of targets.entries()) {
          const m = i % 2 === 0 ? message : second;
          this.deliverLater(node, t, () => this.receive(t, node, m));
        }
        // Gossip relays: some peer gets to see both (that peer turns them into evidence).
        const witness = this.rng.pick(targets);
        this.deliverLater(node, witness, () => this.receive(witness, node, second));
        this.deliverLater(node, witness, () => this.receive(witness, node, message));
        return;
      }
    }
    for (const t of targets) this.deliverLater(node, t, () => this.receive(t, node, message));
  }

  /** A second proposal for the same view, signed with the member's key (bypassing its safety rules). */
  private conflicting(node: SimNode, p: Proposal, invalid: boolean): Proposal {
    const payload = encodePayload(
      node.member,
      p.view,
      [FAKE_TX_BASE + this.rng.int(0, 1_000_000)],
      decodeEpoch(p.payload),
    );
    const hash = invalid ? toHex(keccak256(payload)) : blockHash(p.block.parent, p.block.height, payload);
    const block = { ...p.block, hash, txCount: 1 };
    return {
      ...p,
      block,
      payload,
      signature: this.signAs(node.member, proposalMessage(CHAIN_ID, p.epoch, p.view, hash)),
    };
  }

  /** Asks `member` (a node id), or any live peer when it is down, for a block of instance `epoch`. */
  private fetch(node: SimNode, life: number, member: number, hash: Hex, epoch: bigint): void {
    const peers = this.nodes.filter((n) => n.id !== node.id && n.alive);
    const named = peers.filter((n) => n.member === member);
    const peer = named.length ? this.rng.pick(named) : peers.length ? this.rng.pick(peers) : undefined;
    if (!peer) return;
    this.deliverLater(node, peer, () => {
      // A peer that left the instance serves it from the driver it kept.
      const driver = peer.driver?.core.config.epoch === epoch ? peer.driver : peer.oldDrivers.get(epoch);
      const answer = driver?.serveFetch(hash) ?? [];
      this.deliverLater(peer, node, () => {
        if (node.life !== life || node.driver?.core.config.epoch !== epoch) return;
        node.driver.onFetched(this.committeeOf(epoch).indexOf(peer.member), answer);
      });
    });
  }

  // ---- clients ----

  private scheduleTx(): void {
    const { config } = this;
    const gap = Math.max(1, Math.round(-Math.log(1 - this.rng.next()) * config.txIntervalMs));
    if (this.now + gap > config.txUntilMs) return;
    this.at(gap, () => {
      const tx = ++this.txCounter;
      const entry = this.rng.pick(this.nodes.filter((n) => n.alive));
      if (entry) {
        entry.pool.add(tx);
        entry.driver?.setWork(true);
        this.gossipTx(entry, tx);
      }
      this.scheduleTx();
    });
  }

  /** Gossip: every other node hears of the tx, with the network's delays and faults. */
  private gossipTx(from: SimNode, tx: number): void {
    for (const n of this.nodes)
      if (n !== from)
        this.deliverLater(from, n, () => {
          if (!n.committedTxs.has(tx) && !n.pool.has(tx)) {
            n.pool.add(tx);
            n.driver?.setWork(true);
          }
        });
  }

  // ---- checks ----

  private checkRecovered(): void {
    const at = this.heightsAtHeal!;
    const live = this.nodes.filter((n) => n.honest && n.alive);
    const top = Math.max(...at);
    if (live.length && live.every((n) => n.disk.committed.length > top))
      this.recoveryMs = this.now - this.config.healAtMs;
  }

  /** SimResult's epochsEntered and blocksOffSchedule for `node`'s committed chain (with epochs). */
  private epochFigures(
    node: SimNode,
  ): Pick<SimResult, 'epochsEntered' | 'blocksOffSchedule' | 'passedOverAfterHeal'> {
    const epochs = this.config.epochs;
    if (!epochs) return {};
    const plain = this.leadersFor();
    const honest = new Set(this.nodes.filter((n) => n.honest).map((n) => n.member));
    let entered = 0n;
    let offSchedule = 0;
    let passedOver = 0;
    let parentEpoch = 0n;
    for (const c of node.disk.committed) {
      const { view, author, justify, block } = c.proposal;
      const proposers = epochs.proposers[Number(parentEpoch) % epochs.proposers.length];
      if (!proposers.includes(author)) offSchedule++;
      const named = plain.leaderFor(view, view - 1n, [], [], parentEpoch);
      const builtAt = this.blockBuiltAt.get(block.hash) ?? 0;
      if (
        builtAt >= this.config.healAtMs &&
        justify.view === view - 1n &&
        named !== author &&
        honest.has(named)
      )
        passedOver++;
      parentEpoch = decodeEpoch(c.proposal.payload) ?? parentEpoch;
      if (parentEpoch > entered) entered = parentEpoch;
    }
    return {
      epochsEntered: Number(entered),
      blocksOffSchedule: offSchedule,
      passedOverAfterHeal: passedOver,
    };
  }

  /** Per instance (each counts its views from 1): its last block's view less its blocks. */
  private viewsWithoutBlock(node: SimNode): number {
    const last = new Map<bigint, { view: bigint; blocks: number }>();
    for (const c of node.disk.committed) {
      const seen = last.get(c.proposal.epoch);
      last.set(c.proposal.epoch, { view: c.proposal.view, blocks: (seen?.blocks ?? 0) + 1 });
    }
    let without = 0;
    for (const { view, blocks } of last.values()) without += Number(view) - blocks;
    return without;
  }

  /**
   * With changing committees: every block of a node's chain is certified by the instance its chain is
   * in (the proposal, and both QCs of its proof, carry that instance's epoch), and the instance changes
   * at a block whose origin is a later epoch, which holds no txs. Returns how often it changed.
   */
  private checkInstances(node: SimNode): number {
    let instance = EPOCH;
    let changes = 0;
    for (const b of node.disk.committed) {
      const { proposal, qcs } = b;
      const h = proposal.block.height;
      if (proposal.epoch !== instance || qcs.some((q) => q.epoch !== instance))
        this.violations.push(
          `node ${node.id}: block ${h} is certified in epoch ${proposal.epoch} (QCs ${qcs.map((q) => q.epoch).join('/')}), its chain's instance is ${instance}`,
        );
      const origin = this.originOf(proposal, instance);
      if (origin > instance) {
        if (proposal.block.txCount > 0)
          this.violations.push(`node ${node.id}: boundary block ${h} holds txs`);
        instance = origin;
        changes++;
      }
    }
    return changes;
  }

  private checkInvariants(): void {
    const honest = this.nodes.filter((n) => n.honest);
    if (this.config.committees) for (const n of honest) this.checkInstances(n);
    // Agreement / no fork: one block per height across honest nodes.
    const byHeight = new Map<number, Hex>();
    for (const n of honest) {
      let parent: Hex = GENESIS;
      for (const [i, b] of n.disk.committed.entries()) {
        const h = b.proposal.block;
        if (h.parent !== parent)
          this.violations.push(`node ${n.id}: block ${h.height} does not link to its parent`);
        parent = h.hash;
        const seen = byHeight.get(i);
        if (seen === undefined) byHeight.set(i, h.hash);
        else if (seen !== h.hash)
          this.violations.push(
            `fork at height ${i + 1}: ${seen.slice(0, 10)} vs ${h.hash.slice(0, 10)} (node ${n.id})`,
          );
      }
    }
    if (!this.config.checkLiveness) return;
    const live = honest.filter((n) => n.alive);
    if (this.recoveryMs === undefined)
      this.violations.push(
        `no progress after healing at ${this.config.healAtMs} ms (heights ${this.nodes.map((n) => n.disk.committed.length).join(',')})`,
      );
    for (const n of live) {
      const missing = this.txCounter - realTxs(n.committedTxs);
      if (missing > 0)
        this.violations.push(`node ${n.id}: ${missing} of ${this.txCounter} txs never committed`);
    }
  }
}

/** One of the standard fault scenarios, chosen and shaped by the seed. */
/**
 * Who leads in `scenarioFor`: `mixed` (the default, what `npm test` runs): every other run of six seeds
 * draws by stake as pos does, the others rotate as poa does; `auction`: every seed has an auction
 * winner (a known weakness: see docs/ARCHITECTURE.md, "auction in the simulator").
 */
export type LeaderMix = 'mixed' | 'auction';

/**
 * What every seeded scenario shares: 8 s with txs until 5.5 s, faults healed at 4 s, a 300 ms view
 * timeout (adaptive for half the seeds), no faults yet. Draws the delays, then the tx interval, from `rng` (seeds replay exactly).
 */
function baseScenario(seed: number, n: number, rng: Rng, maxDelayMs: number): SimConfig {
  return {
    seed,
    n,
    durationMs: 8_000,
    baseTimeoutMs: 300,
    delayMs: [rng.int(1, 10), rng.int(20, maxDelayMs)],
    dropRate: 0,
    txIntervalMs: rng.int(20, 80),
    healAtMs: 4_000,
    txUntilMs: 5_500,
    faults: [],
    twins: [],
    byzantine: [],
    checkLiveness: true,
    // Every other run of twelve seeds adapts its view timeouts as nodes do by default (below the
    // ceiling: 4 × the slowest recent view); the others wait the fixed timeout.
    adaptiveTimeouts: Math.floor(seed / 12) % 2 === 0,
    // Half the seeds, crossing the adaptive halves: members give up a crashed member's views at once.
    disconnectTimeouts: Math.floor(seed / 24) % 2 === 0,
    // Half the seeds, crossing both: blocks named by their content, so re-proposals happen.
    contentAddressed: Math.floor(seed / 48) % 2 === 0,
  };
}

/** A node crashed between 0.3 and 2.8 s, and half the time restarted 0.2–1.5 s later. */
function crashFault(rng: Rng, node: number): Fault {
  const at = rng.int(300, 2_800);
  return { kind: 'crash', node, at, restartAt: rng.chance(0.5) ? at + rng.int(200, 1_500) : undefined };
}

export function scenarioFor(seed: number, leaders: LeaderMix = 'mixed'): SimConfig {
  const rng = new Rng(seed ^ 0x5eed);
  const n = rng.chance(0.25) ? 7 : 4;
  const f = Math.floor((n - 1) / 3);
  const base = baseScenario(seed, n, rng, 100);
  const members = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const faulty = members.slice(0, f);
  switch (seed % 6) {
    case 0: // crashes (some restart), with drops
      base.dropRate = 0.05;
      for (const m of faulty) base.faults.push(crashFault(rng, m));
      break;
    case 1: {
      // partition: a minority cut off, then healed
      const minority = members.slice(0, rng.int(1, f));
      const rest = members.filter((m) => !minority.includes(m));
      base.faults.push({
        kind: 'partition',
        groups: [minority, rest],
        from: rng.int(200, 1_400),
        to: rng.int(2_000, 3_800),
      });
      break;
    }
    case 2: {
      // flapping partition between two halves (no quorum on either side while it lasts)
      const half = members.slice(0, Math.floor(n / 2));
      const other = members.filter((m) => !half.includes(m));
      for (let t = 300; t < 3_500; t += 700)
        base.faults.push({ kind: 'partition', groups: [half, other], from: t, to: t + rng.int(200, 600) });
      break;
    }
    case 3: // byzantine leaders: equivocating or invalid proposals
      for (const m of faulty)
        base.byzantine.push({ member: m, behaviour: rng.chance(0.5) ? 'equivocate' : 'invalid-block' });
      break;
    case 4: // withheld votes, and a leader that crashes holding a fresh QC
      base.byzantine.push({
        member: faulty[0],
        behaviour: rng.chance(0.5) ? 'withhold-votes' : 'crash-on-propose',
        fromMs: rng.int(200, 2_000),
      });
      base.dropRate = 0.02;
      break;
    case 5: // twins: f members run twice with one key, across a partition that splits the twins
      base.twins = faulty;
      base.faults.push({
        kind: 'partition',
        groups: [
          members.filter((_, i) => i % 2 === 0),
          [...members.filter((_, i) => i % 2 === 1), ...faulty.map((_, i) => n + i)],
        ],
        from: rng.int(200, 800),
        to: rng.int(1_500, 3_500),
      });
      break;
  }
  // Every other run of six seeds elects leaders as pos does, with uneven stakes (from a generator of
  // their own, so the faults above are the same as with the round robin).
  if (leaders === 'auction') {
    // One member wins the epoch and leads until a TC shows 3 failed views in a row (6 before a QC).
    base.leaders = { kind: 'auction', winner: new Rng(seed ^ 0xa0c7).int(0, n - 1) };
  } else if (Math.floor(seed / 6) % 2 === 1) {
    const stakeRng = new Rng(seed ^ 0x57a4e);
    base.leaders = {
      kind: 'stake',
      stakes: Array.from({ length: n }, () => stakeRng.int(1, 40)),
      seed: toHex(keccak256(new TextEncoder().encode(`seqnet/sim/seed/${seed}`))),
    };
  }
  return base;
}

/**
 * `scenarioFor`'s faults and leaders (round robin or by stake) under election epochs: epochs of
 * 500–1,500 ms, six in turn, each with f+1 … n proposers drawn from the committee (so at least one
 * is neither faulty nor crashed), as pos, dpos or an election would change who proposes. Every third
 * seed auctions each epoch to one of its proposers (a faulty one too: the rotation replaces it).
 */
export function epochScenario(seed: number): SimConfig {
  const base = scenarioFor(seed);
  const rng = new Rng(seed ^ 0xe90c);
  const f = Math.floor((base.n - 1) / 3);
  const members = Array.from({ length: base.n }, (_, i) => i);
  const proposers = Array.from({ length: 6 }, () =>
    rng
      .shuffle([...members])
      .slice(0, rng.int(f + 1, base.n))
      .sort((a, b) => a - b),
  );
  const lengthMs = rng.int(500, 1_500);
  const winners = seed % 3 === 0 ? proposers.map((p) => rng.pick(p)) : undefined;
  return { ...base, epochs: { lengthMs, proposers, ...(winners ? { winners } : {}) } };
}

/**
 * Committees that change (`SimConfig.committees`): a universe of 6 nodes, epochs of 1,000–2,500 ms whose
 * certifying committees are 4 of them (f = 1), six in turn, drawn by the seed, and one faulty node in
 * the universe (so at most f in any committee), by seed % 5: crashed (half the time restarted before
 * the heal), byzantine leader (equivocating or invalid proposals), withheld votes or a leader that
 * crashes holding a fresh QC, a twin across a partition; or no faulty node but one or two honest
 * nodes cut off by a partition. Drops and delays as `scenarioFor`'s. Leaders within an instance: its
 * members in rotation, by stake (seed % 3 = 1), or each epoch's auction winner (seed % 3 = 0).
 */
export function committeeScenario(seed: number): SimConfig {
  const rng = new Rng(seed ^ 0xc033);
  const n = 6;
  const base = baseScenario(seed, n, rng, 100);
  const nodes = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const faulty = nodes[0];
  switch (seed % 5) {
    case 0:
      base.dropRate = 0.05;
      base.faults.push(crashFault(rng, faulty));
      break;
    case 1: {
      const cut = nodes.slice(0, rng.int(1, 2));
      base.faults.push({
        kind: 'partition',
        groups: [cut, nodes.filter((m) => !cut.includes(m))],
        from: rng.int(200, 1_400),
        to: rng.int(2_000, 3_800),
      });
      break;
    }
    case 2:
      base.byzantine.push({ member: faulty, behaviour: rng.chance(0.5) ? 'equivocate' : 'invalid-block' });
      break;
    case 3:
      base.byzantine.push({
        member: faulty,
        behaviour: rng.chance(0.5) ? 'withhold-votes' : 'crash-on-propose',
        fromMs: rng.int(200, 2_000),
      });
      base.dropRate = 0.02;
      break;
    case 4:
      base.twins = [faulty];
      base.faults.push({
        kind: 'partition',
        groups: [nodes.filter((_, i) => i % 2 === 0), [...nodes.filter((_, i) => i % 2 === 1), n]],
        from: rng.int(200, 800),
        to: rng.int(1_500, 3_500),
      });
      break;
  }
  const members = Array.from({ length: 6 }, () =>
    rng
      .shuffle(Array.from({ length: n }, (_, i) => i))
      .slice(0, 4)
      .sort((a, b) => a - b),
  );
  const lengthMs = rng.int(1_000, 2_500);
  // A third of the seeds auction each epoch to a member of its committee, a third draw leaders by
  // stake (from generators of their own: the faults and committees above stay the same).
  const winners = seed % 3 === 0 ? members.map((c) => new Rng(seed ^ 0xa0c7).pick(c)) : undefined;
  if (seed % 3 === 1) {
    const stakeRng = new Rng(seed ^ 0x57a4e);
    base.leaders = {
      kind: 'stake',
      stakes: Array.from({ length: n }, () => stakeRng.int(1, 40)),
      seed: toHex(keccak256(new TextEncoder().encode(`seqnet/sim/seed/${seed}`))),
    };
  }
  return { ...base, committees: { lengthMs, members, ...(winners ? { winners } : {}) } };
}

/**
 * An auction whose winner withholds its proposal in every odd view (`flaky-proposer`) from the start,
 * and nothing else goes wrong: never two failed views in a row, so only the window rule
 * (AuctionSchedule's `sitOutAfter`) takes its views away. `sitOutAfter` 32 turns that rule off.
 */
export function flakyWinnerScenario(seed: number, sitOutAfter?: number): SimConfig {
  const rng = new Rng(seed ^ 0xf1a4);
  const n = rng.chance(0.25) ? 7 : 4;
  const winner = rng.int(0, n - 1);
  return {
    ...baseScenario(seed, n, rng, 60),
    byzantine: [{ member: winner, behaviour: 'flaky-proposer' }],
    leaders: { kind: 'auction', winner, sitOutAfter },
  };
}

/** f+1 twins across the partition that the Twins paper uses to break a BFT protocol: the checker must see a fork. */
export function brokenTwinsScenario(seed: number): SimConfig {
  // n = 4, f = 1, but members 0 and 1 both have twins (nodes 4 and 5).
  // Side A: 0, 1, 2 — side B: twin 0, twin 1, 3. Each side holds three identities: a quorum.
  return {
    seed,
    n: 4,
    durationMs: 4_000,
    baseTimeoutMs: 200,
    delayMs: [1, 5],
    dropRate: 0,
    txIntervalMs: 10,
    healAtMs: 4_000,
    txUntilMs: 3_500,
    faults: [
      {
        kind: 'partition',
        groups: [
          [0, 1, 2],
          [4, 5, 3],
        ],
        from: 0,
        to: 4_000,
      },
    ],
    twins: [0, 1],
    byzantine: [],
    checkLiveness: false,
  };
}
