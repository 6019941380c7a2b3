import { SeqnetError } from '../../errors.js';
import type { Hex } from '../../util/bytes.js';
import type { QuorumCertificate } from '../certificate.js';
import { maxHighQcView } from '../core/hotstuff.js';
import type { Proposal, TimeoutCertificate, TimeoutVote, Vote } from '../core/types.js';

/**
 * What the safety rules keep across crashes (CometBFT's privval state, EIP-3076's slashing
 * protection): written and fsynced before any signature leaves the process.
 */
export interface SafetyRecord {
  epoch: bigint;
  /** Highest view voted or timed out in (DiemBFT v4's highest_vote_round). */
  lastVotedView: bigint;
  /** Highest view of a QC seen in a signed message (highest_qc_round). */
  highestQcView: bigint;
  /** Highest view a proposal was signed for. */
  lastProposalView: bigint;
  /** The last vote and proposal signed, so re-sending the same one after a restart is allowed. */
  lastVote?: { view: bigint; blockHash: Hex };
  lastProposal?: { view: bigint; blockHash: Hex };
}

export interface SafetyStorage {
  /** The record, or undefined for a key that never signed. Throws when the record is damaged. */
  load(): SafetyRecord | undefined;
  /** Durable (fsynced) before it returns. */
  save(record: SafetyRecord): void;
}

/** The one holder of the signing key: signs the 32-byte messages of certificate.ts. */
export interface MessageSigner {
  signVote(epoch: bigint, view: bigint, blockHash: Hex): Uint8Array;
  signTimeout(epoch: bigint, view: bigint, highQcView: bigint): Uint8Array;
  signProposal(epoch: bigint, view: bigint, blockHash: Hex): Uint8Array;
}

export class SafetyError extends SeqnetError<'Damaged' | 'Refused'> {}

/**
 * The only code that signs consensus messages. It re-checks DiemBFT v4's rules (§4 safe_to_vote,
 * §6 safe_to_timeout) against its own persisted record — not the core's memory — and persists the
 * record before it signs, so a node never signs two conflicting votes, also across a crash.
 *
 * A restart may come from an old backup, whose record is behind what the key already signed. So a
 * restarted node does not vote or propose in the first view it sees the network in: it only votes in
 * views it enters after that, which cannot be views it signed in before the restart. (It does time
 * out: see signTimeout.)
 */
export class SafetyRules {
  private record: SafetyRecord;
  /** Set on a restart until the first view is observed. */
  private awaitingFloor: boolean;

  constructor(
    private readonly storage: SafetyStorage,
    private readonly signer: MessageSigner,
    readonly self: number,
    epoch: bigint,
    opts: {
      freshChain: boolean;
      /**
       * This process wrote the record itself and never stopped: it enters `epoch` from the one before
       * (an epoch's consensus instance ended) or starts again after taking blocks by block sync. The
       * record is current, so no floor (a floor is for a record that may be an old backup's).
       */
      continuing?: boolean;
    },
  ) {
    const loaded = storage.load();
    this.record = loaded ?? { epoch, lastVotedView: 0n, highestQcView: 0n, lastProposalView: 0n };
    // A key with no record on a chain with no history has never signed anything: no floor needed.
    this.awaitingFloor = !(loaded === undefined && opts.freshChain) && !opts.continuing;
    if (this.record.epoch < epoch)
      this.record = { epoch, lastVotedView: 0n, highestQcView: 0n, lastProposalView: 0n };
  }

  get state(): Readonly<SafetyRecord> {
    return this.record;
  }

  /** The driver reports each view the core enters; after a restart the first one is never signed in. */
  observeView(view: bigint): void {
    if (!this.awaitingFloor) return;
    this.awaitingFloor = false;
    if (view > this.record.lastVotedView) this.persist({ ...this.record, lastVotedView: view });
  }

  signVote(p: Proposal): Vote | undefined {
    const r = this.record;
    if (this.awaitingFloor || p.epoch !== r.epoch) return undefined;
    const same = r.lastVote && r.lastVote.view === p.view && r.lastVote.blockHash === p.block.hash;
    if (!same) {
      if (p.view <= r.lastVotedView) return undefined;
      const consecutive = p.justify.view + 1n === p.view;
      const tc = p.lastViewTc;
      const extendsTc = !!tc && tc.view + 1n === p.view && p.justify.view >= maxHighQcView(tc);
      if (!consecutive && !extendsTc) return undefined;
      this.persist({
        ...r,
        lastVotedView: p.view,
        highestQcView: p.justify.view > r.highestQcView ? p.justify.view : r.highestQcView,
        lastVote: { view: p.view, blockHash: p.block.hash },
      });
    }
    return {
      epoch: p.epoch,
      view: p.view,
      blockHash: p.block.hash,
      voter: this.self,
      signature: this.signer.signVote(p.epoch, p.view, p.block.hash),
    };
  }

  signTimeout(view: bigint, highQc: QuorumCertificate, lastTc?: TimeoutCertificate): TimeoutVote | undefined {
    const r = this.record;
    // Signed also while the restart floor is not set: a timeout conflicts with no vote (nothing of the
    // kind is evidence), and a member restarted into the view the others are stuck in enters no new
    // view without its timeout when another member is down — waiting for one stood the committee still.
    if (highQc.epoch !== r.epoch) return undefined;
    if (highQc.view < r.highestQcView) return undefined;
    const votedHere = r.lastVotedView === view;
    // Timing out again in the view of the last timeout or vote is fine: nothing conflicting is signed.
    if (!votedHere && view <= r.lastVotedView) return undefined;
    if (view <= highQc.view) return undefined;
    const consecutive = highQc.view + 1n === view || (!!lastTc && lastTc.view + 1n === view);
    if (!consecutive) return undefined;
    if (!votedHere || highQc.view > r.highestQcView)
      this.persist({ ...r, lastVotedView: view, highestQcView: highQc.view });
    return {
      epoch: r.epoch,
      view,
      highQc,
      voter: this.self,
      signature: this.signer.signTimeout(r.epoch, view, highQc.view),
      lastViewTc: lastTc && lastTc.view + 1n === view ? lastTc : undefined,
    };
  }

  signProposal(p: Proposal): Proposal | undefined {
    const r = this.record;
    if (this.awaitingFloor || p.epoch !== r.epoch || p.author !== this.self) return undefined;
    const same =
      r.lastProposal && r.lastProposal.view === p.view && r.lastProposal.blockHash === p.block.hash;
    if (!same) {
      if (p.view <= r.lastProposalView) return undefined;
      this.persist({
        ...r,
        lastProposalView: p.view,
        lastProposal: { view: p.view, blockHash: p.block.hash },
      });
    }
    return { ...p, signature: this.signer.signProposal(p.epoch, p.view, p.block.hash) };
  }

  private persist(next: SafetyRecord): void {
    this.storage.save(next);
    this.record = next;
  }
}
