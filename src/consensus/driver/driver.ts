import type { Hex } from '../../util/bytes.js';
import type { QuorumCertificate } from '../certificate.js';
import { type CoreConfig, type CoreStart, HotStuffCore, type LedView } from '../core/hotstuff.js';
import type {
  BlockHeader,
  ChainHistory,
  CommittedBlock,
  ConflictingCertificates,
  ConsensusMessage,
  CoreInput,
  CoreOutput,
  Equivocation,
  Proposal,
  TimeoutCertificate,
  TimeoutVote,
  Vote,
} from '../core/types.js';
import type { SafetyRules } from '../safety/safety-rules.js';
import type { AdaptiveViewTimeout } from './view-timeout.js';

/** Checks signatures and certificates before a message reaches the core (BLS here, a stand-in in the simulator). */
export interface ConsensusCrypto {
  verifyProposal(p: Proposal): boolean;
  verifyVote(v: Vote): boolean;
  /**
   * Whether votes of one (epoch, view, block), of distinct members, verify together (BLS: one check of
   * their aggregate, what a QC of them needs). True does not vouch for each one alone: two byzantine
   * members could move part of one signature into the other, so evidence is checked vote by vote.
   */
  verifyVotes(votes: Vote[]): boolean;
  verifyTimeout(t: TimeoutVote): boolean;
  verifyQc(qc: QuorumCertificate): boolean;
  verifyTc(tc: TimeoutCertificate): boolean;
  aggregate(votes: Vote[]): QuorumCertificate;
}

/** How messages leave the node: libp2p in a real node, the simulated network in the simulator. */
export interface ConsensusTransport {
  broadcast(message: ConsensusMessage): void;
  sendTo(member: number, message: ConsensusMessage): void;
  /**
   * Ask `member` for the proposal of `hash` and its ancestors; the answer goes to `driver.onFetched`.
   * `height`: the block's height, when the core knows it.
   */
  fetch(member: number, hash: Hex, height?: bigint): void;
}

export interface ConsensusTimers {
  /** Calls `fire` after `ms` (virtual ms in the simulator). */
  schedule(ms: number, fire: () => void): void;
  /** The same clock's time in ms: needed for adaptive view timeouts only. */
  now?(): number;
}

/** The application above consensus: builds and checks block payloads, and takes committed blocks. */
export interface ConsensusApp {
  /** Build the next block on `parent`; `uncommitted` are the proposals between the committed head and it. */
  buildBlock(
    view: bigint,
    parent: Hex,
    height: bigint,
    uncommitted: Proposal[],
  ):
    | { block: BlockHeader; payload: Uint8Array }
    | undefined
    | Promise<{ block: BlockHeader; payload: Uint8Array } | undefined>;
  /**
   * Whether a proposal's payload is a valid block with that header (structure, links, rules);
   * 'later' when this node cannot judge it yet (its view of L1 lags the block's): the proposal is
   * dropped without blaming the sender, and comes back by fetch once it is needed.
   */
  validate(p: Proposal): boolean | 'later';
  commit(blocks: CommittedBlock[]): void;
  onEvidence?(e: Equivocation): void;
  /** Two verified QCs of one view on different blocks (f + 1 members double-signed). */
  onConflictingCertificates?(c: ConflictingCertificates): void;
  onView?(view: bigint, leader: number, via: 'qc' | 'tc'): void;
  /**
   * This member gave up on `view` while it had work (again each timeout until the view changes). Txs
   * only it holds — gossiped into a partition, or published with no peer — may never have reached the
   * others, who then have no work and let the views stand still: the app gossips its pending txs again.
   */
  onTimedOut?(view: bigint): void;
  /** A peer sent something that does not verify: the network layer may lower its score. */
  onInvalid?(from: number, why: string): void;
}

/**
 * check()'s verdict on a message: it verifies; it cannot be judged here yet (a proposal whose L1 origin
 * this node has not read: dropped, no blame); or it is refused, with why (the sender is blamed).
 * `signedBlock` marks a proposal whose signature verifies but whose block is invalid: its author
 * provably proposed it.
 */
type Verdict =
  | { ok: true }
  | { ok: false; later: true }
  | { ok: false; later?: false; why: string; signedBlock?: boolean };

/** What the driver writes ahead of acting, so a restarted node can rebuild its uncommitted state. */
export type WalEntry =
  | { kind: 'proposal'; proposal: Proposal }
  | { kind: 'qc'; qc: QuorumCertificate }
  | { kind: 'tc'; tc: TimeoutCertificate }
  /**
   * The failed views of the chain up to a committed block (the core's root): the leader schedules
   * look back over them, and a restarted member that did not know them named other leaders than the
   * rest (the simulator's restart seeds stalled). `led`: the chain's proposers over the same views
   * (TreeNode.led; empty in records written before it was kept).
   */
  | { kind: 'history'; blockHash: Hex; failedViews: bigint[]; led: LedView[] };

export interface ConsensusWal {
  append(entry: WalEntry): void;
  /** Drops what the committed height makes useless. */
  prune(committedHeight: bigint): void;
}

/** Rebuilds a core's start from the last committed block and the WAL's entries. */
export function startFromWal(root: CoreStart['root'], entries: WalEntry[]): CoreStart {
  let highQc: QuorumCertificate | undefined;
  let lastTc: TimeoutCertificate | undefined;
  const proposals: Proposal[] = [];
  let rootHistory: { failedViews: bigint[]; led: LedView[] } | undefined;
  for (const e of entries) {
    if (e.kind === 'history') {
      if (e.blockHash === root.block.hash) rootHistory = { failedViews: e.failedViews, led: e.led };
    } else if (e.kind === 'proposal') {
      if (e.proposal.block.height > root.block.height) proposals.push(e.proposal);
      if (!highQc || e.proposal.justify.view > highQc.view) highQc = e.proposal.justify;
    } else if (e.kind === 'qc') {
      if (!highQc || e.qc.view > highQc.view) highQc = e.qc;
    } else if (!lastTc || e.tc.view > lastTc.view) lastTc = e.tc;
  }
  proposals.sort((a, b) => (a.block.height < b.block.height ? -1 : a.block.height > b.block.height ? 1 : 0));
  return {
    root: rootHistory ? { ...root, ...rootHistory } : root,
    highQc,
    lastTc,
    proposals,
  };
}

/**
 * The thin shell around the pure core: verifies what arrives, runs the core's outputs (signing through
 * the safety rules, sending, timers, payloads, commits, fetches) and writes the WAL. The same driver
 * runs in a real node and in the simulator; only the transport, timers, crypto and storage differ.
 */
export class ConsensusDriver {
  readonly core: HotStuffCore;
  private readonly queue: CoreInput[] = [];
  private running = false;
  private readonly committedProposals = new Map<Hex, Proposal>();
  /** Proposals the application could not judge yet, oldest first (judgeLaterProposals). */
  private readonly laterProposals: Proposal[] = [];
  /** The chain history of recently committed blocks, for members that catch up by block sync. */
  private readonly committedHistory = new Map<Hex, ChainHistory>();
  private stopped = false;
  /** Set once a message from the network was processed: only views entered after that count as seen. */
  private heardNetwork = false;
  /** Per member, our view when we last sent it our newest certified proposal (helpLaggard). */
  private readonly helped = new Map<number, bigint>();
  /** Per member, the view of its last timeout that came in with a QC as high as ours (helpLaggard). */
  private readonly lateTimeoutView = new Map<number, bigint>();
  /** Per member, the view of the commit QC we last sent it (helpLaggard). */
  private readonly commitProofSent = new Map<number, bigint>();
  /**
   * Votes not checked yet, per view and voter, with the member whose connection brought each: a
   * block's votes are checked together once they would certify it (onVote). The vote collector had
   * checked each vote alone as it came, the late ones too: ~28 % of a member's BLS time (a profile at
   * 5 tx/s, committee of 4).
   */
  private readonly uncheckedVotes = new Map<bigint, Map<number, { vote: Vote; from: number }>>();
  /** The view whose timer was armed last, and when (adaptive view timeouts measure views from it). */
  private armedView = -1n;
  private armedAt = 0;

  constructor(
    config: CoreConfig,
    start: CoreStart,
    private readonly deps: {
      safety: SafetyRules;
      crypto: ConsensusCrypto;
      transport: ConsensusTransport;
      timers: ConsensusTimers;
      app: ConsensusApp;
      wal: ConsensusWal;
      /** Adapts the view timeout to the chain's views (needs `timers.now`); the core's base is its ceiling. */
      viewTimeout?: AdaptiveViewTimeout;
    },
  ) {
    this.core = new HotStuffCore(config, start);
  }

  start(): void {
    this.input({ type: 'start' });
  }

  /** Stops acting (a crashed node in the simulator, or shutdown): nothing more is sent or signed. */
  stop(): void {
    this.stopped = true;
  }

  /**
   * Judges again the proposals the application could not judge yet ('later': its view of L1 lagged the
   * block's); the application calls it when that view moves. Those still 'later' are kept again.
   */
  judgeLaterProposals(): void {
    for (const p of this.laterProposals.splice(0))
      this.onMessage(p.author, { kind: 'proposal', proposal: p });
  }

  setWork(pending: boolean): void {
    this.input({ type: 'work', pending });
  }

  onMessage(from: number, message: ConsensusMessage): void {
    if (this.stopped) return;
    if (message.kind === 'vote') {
      this.onVote(from, message.vote);
      return;
    }
    const verdict = this.check(message);
    if (!verdict.ok) {
      if (verdict.later) {
        // Kept to be judged again (judgeLaterProposals); the newest few: one view needs one.
        if (
          message.kind === 'proposal' &&
          !this.laterProposals.some((q) => sameProposal(q, message.proposal))
        ) {
          this.laterProposals.push(message.proposal);
          if (this.laterProposals.length > LATER_PROPOSALS_KEPT) this.laterProposals.shift();
        }
        return;
      }
      this.deps.app.onInvalid?.(from, verdict.why);
      // Signed by its author, refused by the application: if the author leads this view, the view is lost.
      if (message.kind === 'proposal' && verdict.signedBlock)
        this.input({ type: 'invalid-proposal', proposal: message.proposal });
      return;
    }
    // Signatures name the sender: gossip may relay a message through any peer.
    if (message.kind === 'proposal')
      this.input({ type: 'proposal', from: message.proposal.author, proposal: message.proposal });
    else if (message.kind === 'tc') this.input({ type: 'tc', tc: message.tc });
    else if (message.kind === 'qc') this.input({ type: 'qc', qc: message.qc });
    else {
      this.helpLaggard(message.timeout);
      this.input({ type: 'timeout', from: message.timeout.voter, timeout: message.timeout });
    }
  }

  /**
   * A vote waits, unchecked, until the votes in for its block (this member's own among them) and those
   * waiting would make a QC; then the waiting ones are checked together, in one aggregate check, and
   * one by one only when that fails (a bad signature among them: its sender is blamed). A vote for a
   * block certified already waits for good, unchecked: it adds nothing, unless its member votes again
   * in that view for another block — then both are checked alone and go to the core, which keeps them
   * as evidence.
   */
  private onVote(from: number, vote: Vote): void {
    const standing = this.core.voteStanding(vote);
    if (standing === 'ignored' || standing === 'known') return;
    const oldest = this.core.currentView - 2n;
    for (const view of this.uncheckedVotes.keys()) if (view < oldest) this.uncheckedVotes.delete(view);
    let byVoter = this.uncheckedVotes.get(vote.view);
    if (!byVoter) {
      byVoter = new Map();
      this.uncheckedVotes.set(vote.view, byVoter);
    }
    const earlier = byVoter.get(vote.voter);
    if (earlier?.vote.blockHash === vote.blockHash) return; // the same vote again (relayed, re-sent)
    if (earlier || standing === 'conflicting') {
      if (earlier) {
        byVoter.delete(vote.voter);
        this.inputVoteAlone(earlier.from, earlier.vote);
      }
      this.inputVoteAlone(from, vote);
      return;
    }
    byVoter.set(vote.voter, { vote, from });
    if (standing !== 'late') this.checkWaitingVotes();
  }

  /**
   * Checks together the waiting votes of each block whose votes in the core (this member's own may
   * come after the others') and waiting would now make a QC; a block certified meanwhile keeps its
   * waiting votes unchecked (onVote). Called as votes come and after each input the core took.
   */
  private checkWaitingVotes(): void {
    for (const [view, byVoter] of this.uncheckedVotes) {
      const byBlock = new Map<Hex, Array<{ vote: Vote; from: number }>>();
      for (const u of byVoter.values()) {
        const list = byBlock.get(u.vote.blockHash);
        if (list) list.push(u);
        else byBlock.set(u.vote.blockHash, [u]);
      }
      for (const group of byBlock.values()) {
        let inCore = 0;
        const waiting: typeof group = [];
        for (const u of group) {
          // Taken meanwhile by a nested call (the core's input below checks again when it ends).
          if (byVoter.get(u.vote.voter) !== u) continue;
          const standing = this.core.voteStanding(u.vote);
          if (typeof standing === 'number') {
            inCore = standing;
            waiting.push(u);
            continue;
          }
          if (standing === 'late') continue;
          // Its member's vote reached the core meanwhile (a twin's, this member's own key): as in onVote.
          byVoter.delete(u.vote.voter);
          if (standing === 'conflicting') this.inputVoteAlone(u.from, u.vote);
        }
        if (waiting.length === 0 || inCore + waiting.length < this.core.config.quorum) continue;
        for (const u of waiting) byVoter.delete(u.vote.voter);
        if (this.deps.crypto.verifyVotes(waiting.map((u) => u.vote)))
          for (const u of waiting) this.input({ type: 'vote', from: u.vote.voter, vote: u.vote });
        else for (const u of waiting) this.inputVoteAlone(u.from, u.vote);
      }
      if (byVoter.size === 0) this.uncheckedVotes.delete(view);
    }
  }

  private inputVoteAlone(from: number, vote: Vote): void {
    const verdict = this.check({ kind: 'vote', vote });
    if (verdict.ok) this.input({ type: 'vote', from: vote.voter, vote });
    else if (!verdict.later) this.deps.app.onInvalid?.(from, verdict.why);
  }

  /**
   * A member that times out with a QC older than ours — in an older view, or in ours after missing
   * the QC that moved us (it came alone, or with a block this member refused) — cannot commit what we
   * did; if no member has work left, no later proposal will reach it and it stays behind (its txs
   * uncommitted there). Send it the proposal that carries our highest QC, or else that QC's block, and
   * the QC itself when no proposal carries it (as DiemBFT answers a stale message with its sync info):
   * the QC moves the member on, and it fetches the blocks it lacks under it. Once per member and view
   * of ours: a member far behind after a restart times out in old views often, and sending it whole
   * chains each time cost the committee CPU it needed.
   *
   * A member whose QC is ours but whose view is older missed the TC that moved us on (its timeouts
   * may have formed it: with one member down, every TC needs all the others). Once it sends that
   * timeout again, it is sent our last TC (a small message): otherwise it waits for a timeout of ours
   * that carries the TC, and ours back off to 8 × the base (bench/modes.ts, the auction's kill: 9 s).
   *
   * Our highest QC may be of a view after a failed one: it does not commit its parent (a two-chain
   * needs consecutive views), so a member holding it may still lack the QC that committed our last
   * block. That one goes first to a member whose QC is older than it; and a member that sends the
   * timeout of a view again while we are in it with a QC as high as its own (we have nothing left to
   * commit, it has: it lacks that QC) is sent it once per commit of ours. Simulator seed 702411 of
   * `--auction`: one member never committed the chain's last block (the QC of the view after it
   * reached the others only), and its timeouts, with a QC as high as everyone's, went unanswered.
   */
  private helpLaggard(t: TimeoutVote): void {
    const view = this.core.currentView;
    if (t.voter === this.core.config.self) return;
    const highQc = this.core.highestQc;
    const proof = this.core.commitProof;
    const sendProof = () => {
      if (!proof) return;
      this.commitProofSent.set(t.voter, proof.qc.view);
      this.deps.transport.sendTo(t.voter, { kind: 'proposal', proposal: proof.proposal });
      this.deps.transport.sendTo(t.voter, { kind: 'qc', qc: proof.qc });
    };
    if (t.highQc.view >= highQc.view) {
      // Its first timeout of a view may just be late (it may form the TC itself); a second one of the
      // same view is a re-send: it is stuck there.
      const stuck = this.lateTimeoutView.get(t.voter) === t.view;
      this.lateTimeoutView.set(t.voter, t.view);
      if (t.view >= view) {
        if (stuck && t.view === view && proof && this.commitProofSent.get(t.voter) !== proof.qc.view)
          sendProof();
        return;
      }
      const tc = this.core.lastTimeoutCertificate;
      if (stuck && tc && tc.view >= t.view) this.deps.transport.sendTo(t.voter, { kind: 'tc', tc });
      return;
    }
    if (this.helped.get(t.voter) === view) return;
    this.helped.set(t.voter, view);
    if (proof && proof.qc.view > t.highQc.view && proof.qc.view !== highQc.view) sendProof();
    const newest = this.core.newestCertifiedProposal();
    if (newest) this.deps.transport.sendTo(t.voter, { kind: 'proposal', proposal: newest });
    if (!newest || newest.justify.view !== highQc.view)
      this.deps.transport.sendTo(t.voter, { kind: 'qc', qc: highQc });
  }

  /** Whether a message verifies (signatures, and the application's judgement of a proposal's block). */
  private check(message: ConsensusMessage): Verdict {
    const { crypto, app } = this.deps;
    const ok: Verdict = { ok: true };
    const refused = (why: string): Verdict => ({ ok: false, why });
    switch (message.kind) {
      case 'proposal': {
        const p = message.proposal;
        if (!crypto.verifyProposal(p)) return refused(`proposal for view ${p.view} does not verify`);
        const valid = app.validate(p);
        if (valid === 'later') return { ok: false, later: true };
        if (!valid)
          return { ok: false, why: `proposal for view ${p.view} holds an invalid block`, signedBlock: true };
        return ok;
      }
      case 'vote':
        return crypto.verifyVote(message.vote)
          ? ok
          : refused(`vote for view ${message.vote.view} does not verify`);
      case 'timeout':
        return crypto.verifyTimeout(message.timeout)
          ? ok
          : refused(`timeout for view ${message.timeout.view} does not verify`);
      case 'tc':
        return crypto.verifyTc(message.tc) ? ok : refused(`TC for view ${message.tc.view} does not verify`);
      case 'qc':
        return crypto.verifyQc(message.qc) ? ok : refused(`QC for view ${message.qc.view} does not verify`);
    }
  }

  /** A peer's answer to `fetch`: verified, then handed to the core as history. */
  onFetched(from: number, proposals: Proposal[]): void {
    if (this.stopped) return;
    const verdicts = proposals.map((p) => this.deps.crypto.verifyProposal(p) && this.deps.app.validate(p));
    const ok = proposals.filter((_, i) => verdicts[i] === true);
    if (verdicts.includes(false)) this.deps.app.onInvalid?.(from, 'fetched proposals do not verify');
    if (ok.length) this.input({ type: 'fetched', proposals: ok });
  }

  /** Serves a peer's fetch: the proposal of `hash` and up to `max` ancestors, oldest first. */
  serveFetch(hash: Hex, max = 64): Proposal[] {
    const chain: Proposal[] = [];
    let cur: Hex | undefined = hash;
    while (cur && chain.length < max) {
      const p: Proposal | undefined = this.core.proposalOf(cur) ?? this.committedProposals.get(cur);
      if (!p) break;
      chain.push(p);
      cur = p.block.parent;
    }
    return chain.reverse();
  }

  /**
   * Gives `view` up now, as its timer would, if it is still the view (the core ignores it
   * otherwise): the shell knows the view cannot succeed, e.g. its leader's or its vote collector's
   * process is gone. A timeout is always safe; this only makes it early.
   */
  giveUp(view: bigint): void {
    this.input({ type: 'give-up', view });
  }

  private input(i: CoreInput): void {
    if (this.stopped) return;
    this.queue.push(i);
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length) {
        const next = this.queue.shift()!;
        if (
          next.type === 'proposal' ||
          next.type === 'vote' ||
          next.type === 'timeout' ||
          next.type === 'fetched'
        )
          this.heardNetwork = true;
        // A block is built last: one apply can ask for it and then commit its ancestors (a fetched
        // proposal completes the chain under the highest QC), and the app must have seen those
        // commits, or it re-includes their txs — the core's tree no longer holds them.
        const outputs = this.core.apply(next);
        for (const o of outputs) if (o.type !== 'request-payload') this.run(o);
        for (const o of outputs) if (o.type === 'request-payload') this.run(o);
      }
    } finally {
      this.running = false;
    }
    if (this.uncheckedVotes.size) this.checkWaitingVotes();
  }

  private run(o: CoreOutput): void {
    if (this.stopped) return;
    const { safety, transport, timers, app, wal } = this.deps;
    switch (o.type) {
      case 'broadcast':
        transport.broadcast(o.message);
        break;
      case 'send':
        transport.sendTo(o.to, o.message);
        break;
      case 'sign-vote': {
        // Written ahead: a restarted node must know the block it voted for.
        wal.append({ kind: 'proposal', proposal: o.proposal });
        const vote = safety.signVote(o.proposal);
        if (vote) this.queue.push({ type: 'vote-signed', vote });
        break;
      }
      case 'sign-timeout': {
        const timeout = safety.signTimeout(o.view, o.highQc, this.lastTcFor(o.view));
        if (timeout) this.queue.push({ type: 'timeout-signed', timeout });
        app.onTimedOut?.(o.view);
        break;
      }
      case 'sign-proposal': {
        const signed = safety.signProposal(o.proposal);
        if (signed) {
          wal.append({ kind: 'proposal', proposal: signed });
          this.queue.push({ type: 'proposal-signed', proposal: signed });
        }
        break;
      }
      case 'schedule-timer': {
        const view = o.view;
        const adaptive = this.deps.viewTimeout;
        if (adaptive && timers.now && view !== this.armedView) {
          this.armedView = view;
          this.armedAt = timers.now();
        }
        timers.schedule(adaptive ? adaptive.scale(o.ms) : o.ms, () => this.input({ type: 'timer', view }));
        break;
      }
      case 'request-payload': {
        const built = app.buildBlock(o.view, o.parent, o.height, this.core.uncommittedChain(o.parent));
        const deliver = (b: { block: BlockHeader; payload: Uint8Array } | undefined) => {
          if (b) this.input({ type: 'payload', view: o.view, block: b.block, payload: b.payload });
        };
        if (built instanceof Promise) built.then(deliver, () => {});
        else deliver(built);
        break;
      }
      case 'commit': {
        const last = o.blocks[o.blocks.length - 1];
        wal.append({ kind: 'qc', qc: last.qcs[1] });
        // Only a history this member knows: a partial one (near a synced root) would be taken as
        // whole after a restart, and the member would name other leaders than the rest.
        if (last.history)
          wal.append({
            kind: 'history',
            blockHash: last.proposal.block.hash,
            failedViews: [...last.history.failedViews],
            led: [...last.history.led],
          });
        for (const b of o.blocks) {
          this.committedProposals.set(b.proposal.block.hash, b.proposal);
          if (b.history) this.committedHistory.set(b.proposal.block.hash, b.history);
        }
        dropOldest(this.committedProposals, COMMITTED_KEPT);
        dropOldest(this.committedHistory, COMMITTED_KEPT);
        app.commit(o.blocks);
        wal.prune(last.proposal.block.height);
        break;
      }
      case 'fetch':
        transport.fetch(o.from, o.hash, o.height);
        break;
      case 'evidence': {
        // Votes checked together (onVote) are checked alone here: evidence is two valid signatures.
        const { first, second } = o.equivocation;
        const alone = (m: ConsensusMessage) => m.kind !== 'vote' || this.deps.crypto.verifyVote(m.vote);
        if (alone(first) && alone(second)) app.onEvidence?.(o.equivocation);
        break;
      }
      case 'conflicting-certificates':
        app.onConflictingCertificates?.(o.conflict);
        break;
      case 'view': {
        // The certificate that moved the view goes to the WAL: a restart resumes from it.
        const tc = this.core.lastTimeoutCertificate;
        if (o.via === 'tc' && tc) wal.append({ kind: 'tc', tc });
        else wal.append({ kind: 'qc', qc: this.core.highestQc });
        // The restart floor (safety-rules.ts) is the first view the network shows, not one restored here.
        if (this.heardNetwork) safety.observeView(o.view);
        if (o.via === 'qc' && this.armedView === o.view - 1n && timers.now)
          this.deps.viewTimeout?.observe(timers.now() - this.armedAt);
        app.onView?.(o.view, o.leader, o.via);
        break;
      }
    }
  }

  /**
   * The chain history of a recently committed block, or of one this member holds uncommitted (a
   * member synced to the head of the member furthest ahead asks the others, who may hold that block
   * without the QC that commits it yet), when this member knows it (see CommittedBlock).
   */
  historyFor(hash: Hex): ChainHistory | undefined {
    return this.committedHistory.get(hash) ?? this.core.knownHistoryOf(hash);
  }

  private lastTcFor(view: bigint): TimeoutCertificate | undefined {
    const tc = this.core.lastTimeoutCertificate;
    return tc && tc.view + 1n === view ? tc : undefined;
  }
}

/** Recently committed blocks a driver answers for (fetches, chain histories). */
const COMMITTED_KEPT = 256;
/** How many proposals waiting for the application's judgement are kept (the newest). */
const LATER_PROPOSALS_KEPT = 8;

function sameProposal(a: Proposal, b: Proposal): boolean {
  return a.view === b.view && a.author === b.author && a.block.hash === b.block.hash;
}

function dropOldest<K, V>(map: Map<K, V>, keep: number): void {
  let drop = map.size - keep;
  for (const k of map.keys()) {
    if (drop-- <= 0) break;
    map.delete(k);
  }
}
