import type { Hex } from '../../util/bytes.js';
import type { QuorumCertificate } from '../certificate.js';

/**
 * The consensus core's view of a block: what it needs to order and commit, nothing more. `hash` is the
 * sequenced block's hash (DECISIONS.md §1); view and certificates live outside it, in the proposal.
 */
export interface BlockHeader {
  hash: Hex;
  parent: Hex;
  height: bigint;
  /** Txs in the block: a leader keeps proposing while uncommitted blocks hold txs (DECISIONS.md §6). */
  txCount: number;
}

/** A leader's proposal for `view`: the block, the QC it extends, and the TC when the last view failed. */
export interface Proposal {
  epoch: bigint;
  view: bigint;
  author: number;
  block: BlockHeader;
  /** QC of the parent block (`block.parent === justify.blockHash`). */
  justify: QuorumCertificate;
  /** Present when the leader entered `view` through a timeout certificate of `view − 1`. */
  lastViewTc?: TimeoutCertificate;
  /** The encoded sequenced block; opaque to the core. */
  payload: Uint8Array;
  /** The author's signature over proposalMessage(epoch, view, block.hash): two of them for one view are slashable. */
  signature: Uint8Array;
}

/** A member's vote for a block in a view (signed over `voteMessage`). */
export interface Vote {
  epoch: bigint;
  view: bigint;
  blockHash: Hex;
  voter: number;
  signature: Uint8Array;
}

/** A member gave up on `view`; it carries the highest QC it knows (Jolteon's timeout message). */
export interface TimeoutVote {
  epoch: bigint;
  view: bigint;
  highQc: QuorumCertificate;
  voter: number;
  /** Signature over timeoutMessage(epoch, view, highQc.view). */
  signature: Uint8Array;
  /** Not signed: the TC through which the sender entered `view`, so laggards can follow (view sync). */
  lastViewTc?: TimeoutCertificate;
}

/** 2f+1 timeouts for one view: lets the next leader propose without a QC of the last view. */
export interface TimeoutCertificate {
  epoch: bigint;
  view: bigint;
  timeouts: Array<{ voter: number; highQcView: bigint; signature: Uint8Array }>;
  /** The highest QC among the timeouts: a block proposed after the TC must extend at least it. */
  highQc: QuorumCertificate;
}

export type ConsensusMessage =
  | { kind: 'proposal'; proposal: Proposal }
  | { kind: 'vote'; vote: Vote }
  | { kind: 'timeout'; timeout: TimeoutVote }
  /** A TC sent to a member that is views behind (view sync: it moves it on without the timeouts). */
  | { kind: 'tc'; tc: TimeoutCertificate }
  /**
   * A QC that commits txs, sent to every member by the leader that formed it: they commit on it at
   * once, rather than when the next proposal carries it (which never comes when no member has work).
   */
  | { kind: 'qc'; qc: QuorumCertificate };

/** Two signed messages by one member for the same (epoch, view, phase) on different things. */
export interface Equivocation {
  member: number;
  epoch: bigint;
  view: bigint;
  phase: 'proposal' | 'vote';
  first: ConsensusMessage;
  second: ConsensusMessage;
}

/** Two quorum certificates of one (epoch, view) on different blocks: the members in both signer sets double-signed. */
export interface ConflictingCertificates {
  epoch: bigint;
  view: bigint;
  first: QuorumCertificate;
  second: QuorumCertificate;
}

export type CoreInput =
  | { type: 'start' }
  | { type: 'proposal'; from: number; proposal: Proposal }
  | { type: 'vote'; from: number; vote: Vote }
  | { type: 'timeout'; from: number; timeout: TimeoutVote }
  | { type: 'tc'; tc: TimeoutCertificate }
  | { type: 'qc'; qc: QuorumCertificate }
  /** The view timer the core scheduled has fired. */
  | { type: 'timer'; view: bigint }
  /**
   * The shell knows `view` cannot succeed (its leader's or its vote collector's process is gone):
   * time it out now, also without work of our own — the members with work need our timeout for a
   * TC, and would otherwise wait for their timers to make f+1 of them.
   */
  | { type: 'give-up'; view: bigint }
  /** The block the core asked for (request-payload) is built. */
  | { type: 'payload'; view: bigint; block: BlockHeader; payload: Uint8Array }
  /** Whether the node's mempool holds txs to sequence. */
  | { type: 'work'; pending: boolean }
  /** Safety rules signed (or refused) the vote the core asked for. */
  | { type: 'vote-signed'; vote: Vote }
  | { type: 'timeout-signed'; timeout: TimeoutVote }
  | { type: 'proposal-signed'; proposal: Proposal }
  /** Blocks a peer sent for a fetch: proposals, oldest first. */
  | { type: 'fetched'; proposals: Proposal[] }
  /** A proposal whose signature verifies but whose block the application refused. */
  | { type: 'invalid-proposal'; proposal: Proposal };

export type CoreOutput =
  | { type: 'broadcast'; message: ConsensusMessage }
  | { type: 'send'; to: number; message: ConsensusMessage }
  /** Ask safety rules to sign a vote; the signed vote comes back as `vote-signed`. */
  | { type: 'sign-vote'; proposal: Proposal; to: number }
  /** Leader: ask safety rules to sign the proposal; it comes back as `proposal-signed`. */
  | { type: 'sign-proposal'; proposal: Proposal }
  /** Ask safety rules to sign a timeout for `view` carrying `highQc`. */
  | { type: 'sign-timeout'; view: bigint; highQc: QuorumCertificate }
  | { type: 'schedule-timer'; view: bigint; ms: number }
  /** Leader: build a block on `parent` (height `height`) for `view`, excluding the uncommitted txs. */
  | { type: 'request-payload'; view: bigint; parent: Hex; height: bigint }
  /** Blocks are final, oldest first; `proof` is the QC pair that committed the newest (DECISIONS.md §2). */
  | { type: 'commit'; blocks: CommittedBlock[] }
  /**
   * Ask peers for the proposal of a block (and its ancestors) this node lacks; `height` is the block's
   * height when a verified child names it (not when only a QC does).
   */
  | { type: 'fetch'; hash: Hex; from: number; height?: bigint }
  | { type: 'evidence'; equivocation: Equivocation }
  /** Two verified QCs of one view on different blocks (slashable: DECISIONS.md §5). */
  | { type: 'conflicting-certificates'; conflict: ConflictingCertificates }
  /** The view changed (for metrics and the dashboard). */
  | { type: 'view'; view: bigint; leader: number; via: 'qc' | 'tc' };

export interface CommittedBlock {
  proposal: Proposal;
  /** QC of this block and the QC of its child in the next view; for blocks committed through a
   * descendant, the descendant's pair (`through` names it). */
  qcs: [QuorumCertificate, QuorumCertificate];
  through: Hex;
  /**
   * The chain's failed views and proposers up to this block (the core's TreeNode history): what a
   * member that catches up by block sync needs to name the same leaders as the rest. Absent when this
   * member does not know them itself (it started from a block sync less than FAILED_VIEWS_KEPT views
   * before this block).
   */
  history?: ChainHistory;
}

/** Views without a block in a chain, and its blocks' proposers, over the last FAILED_VIEWS_KEPT views. */
export interface ChainHistory {
  readonly failedViews: readonly bigint[];
  readonly led: readonly { readonly view: bigint; readonly leader: number }[];
}
