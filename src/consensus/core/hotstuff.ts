import type { Hex } from '../../util/bytes.js';
import type { QuorumCertificate } from '../certificate.js';
import type {
  BlockHeader,
  ChainHistory,
  CommittedBlock,
  CoreInput,
  CoreOutput,
  Proposal,
  TimeoutCertificate,
  TimeoutVote,
  Vote,
} from './types.js';

/** Missing blocks the core waits for at once (proposals past that are dropped, the oldest first). */
const MAX_WAITING_PARENTS = 256;
/** How many views back the first QC of each view is kept, to find a second one on another block. */
const QC_VIEWS_KEPT = 256n;

/**
 * The consensus core: a deterministic state machine with no clock, timer, socket or disk. Feed it
 * inputs with `apply`; it returns what the driver must do. Same inputs, same outputs.
 *
 * The protocol is the two-chain, pipelined, responsive BFT of Jolteon / DiemBFT v4 (Gelashvili et
 * al., "Jolteon and Ditto", FC 2022; the DiemBFT v4 spec §4–§6), which is HotStuff-2's two-phase
 * commit (Malkhi & Nayak, 2023) with Jolteon's timeout certificates for view changes:
 * - a leader proposes a block extending the highest QC it knows; replicas vote to the next leader,
 *   who aggregates 2f+1 votes into a QC and proposes on it: one block per network round trip;
 * - block B is committed once QC(B) and the QC of B's direct child from the very next view exist
 *   (two-chain rule, DiemBFT v4 §5 "commit rule"; DECISIONS.md §2);
 * - a replica that hears nothing times out, broadcasting its highest QC; 2f+1 timeouts form a TC,
 *   and the next leader extends the highest QC in it (spec §6 "Pacemaker", "safe_to_extend").
 * Signatures are made by the safety rules (`sign-*` outputs) and checked by the driver before a
 * message gets here: the core only sees authenticated messages.
 */
export interface CoreConfig {
  self: number;
  /** Committee size and quorum (2f+1). */
  n: number;
  quorum: number;
  epoch: bigint;
  /**
   * The leader of `view` when its proposal extends the QC of view `justifyView` (views in between
   * failed), over a chain whose earlier failed views are `failedBefore` (ascending: views without a
   * block in the chain up to the certified block, FAILED_VIEWS_KEPT views back). A pure function of
   * its arguments, so every member that holds the chain names the same leader for a proposal.
   * `ledBefore`: the proposers of that chain's blocks over the same views (see TreeNode.led).
   * `justifyBlock`: the certified block the proposal extends (schedules that change with the chain,
   * the election's epochs, read its L1 origin).
   */
  leaderFor(
    view: bigint,
    justifyView: bigint,
    failedBefore: readonly bigint[],
    ledBefore: readonly LedView[],
    justifyBlock: Hex,
  ): number;
  /**
   * Told of every timeout certificate the core processes, before it enters the next view: a leader
   * schedule that reacts to failed views (the auction's silent winner) changes `leaderFor` here.
   * The same TC may be processed several times (alone, in a proposal, in later timeouts).
   * `highQcBlock`: the block of the TC's highest QC (the chain the failed views were on).
   */
  onTimeoutCertificate?(view: bigint, highQcView: bigint, highQcBlock: Hex): void;
  /**
   * The election epoch of a block's chain (the epoch of its L1 origin), for schedules that follow
   * epochs; undefined when unknown. The chain's failed views before the QC under its first block of
   * a later epoch were the epoch before's (its leaders, its vote collectors): that block's history
   * leaves them behind, so the new schedule does not replay them against its own members (an
   * innocent proposer of the new epoch sat out up to 32 views for them). The views that failed
   * since that QC stay: their votes went to the new epoch's collectors (a dead one is passed over).
   */
  epochOf?(block: Hex): bigint | undefined;
  /**
   * Base view timeout; from the second view in a row without a QC it doubles with each one (capped
   * at 2^3).
   */
  baseTimeoutMs: number;
  /**
   * Experimental, off unless true: wait a quarter of the timeout for members that failed views in a
   * row. Since the schedules remember the chain's failures (a dead member sits out 32 views), it
   * gains little (bench/dead-member.ts): see docs/ARCHITECTURE.md.
   */
  shortTimeoutForSuspects?: boolean;
  /** Aggregates a quorum of votes for one (view, block) into a QC (pure: BLS aggregation). */
  aggregate(votes: Vote[]): QuorumCertificate;
}

/** Where a (re)started core begins: the last committed block and what the safety rules kept. */
export interface CoreStart {
  /** `failedViews` and `led`: the root's, as the WAL kept them (see TreeNode); none known without. */
  root: {
    block: BlockHeader;
    qc: QuorumCertificate;
    failedViews?: readonly bigint[];
    led?: readonly LedView[];
  };
  highQc?: QuorumCertificate;
  lastTc?: TimeoutCertificate;
  /** Uncommitted proposals from the WAL, oldest first. */
  proposals?: Proposal[];
}

interface TreeNode {
  block: BlockHeader;
  /** Absent only for the root. */
  proposal?: Proposal;
  /**
   * Views without a block in the chain up to this one, the last FAILED_VIEWS_KEPT views before it,
   * ascending (the leader schedules pass over their suspects). A restarted member takes its root's
   * from the WAL; one that starts from a block sync does not know them, and may name other leaders
   * than the rest for that many views.
   */
  failedViews: readonly bigint[];
  /**
   * The proposers of this block and its ancestors over the same FAILED_VIEWS_KEPT views, ascending
   * by view (a member that led a certified block since a failure is cleared of it; the root's from
   * the WAL like failedViews).
   */
  led: readonly LedView[];
  /**
   * The same block proposed in other views, each with the history its own proposal makes (see
   * `reproposal`): the history of a block is the one of the proposal its QC certified.
   */
  others?: Map<bigint, ProposedTip>;
}

/** One proposal of a block and the chain history it makes. */
interface ProposedTip {
  proposal: Proposal;
  failedViews: readonly bigint[];
  led: readonly LedView[];
}

/** A block of a chain by its view and its proposer's committee index. */
export interface LedView {
  readonly view: bigint;
  readonly leader: number;
}

/** How far back (in views) each block keeps the failed views of its chain (see leaderFor). */
export const FAILED_VIEWS_KEPT = 64n;

export class HotStuffCore {
  private view = 0n;
  private highQc: QuorumCertificate;
  private lastTc?: TimeoutCertificate;
  private readonly tree = new Map<Hex, TreeNode>();
  private root: TreeNode;
  /** Best known QC per block (for commit proofs). */
  private readonly qcs = new Map<Hex, QuorumCertificate>();
  /**
   * The first QC seen for each recent view (any block): a second one on another block proves that
   * f + 1 members signed two votes in that view (quorums of 2f + 1 intersect in f + 1).
   */
  private readonly qcByView = new Map<bigint, QuorumCertificate>();
  private readonly conflictsReported = new Set<bigint>();
  private votedView = 0n;
  private timedOutView = 0n;
  private readonly votes = new Map<bigint, Map<Hex, Map<number, Vote>>>();
  private readonly timeouts = new Map<bigint, Map<number, TimeoutVote>>();
  private readonly proposalsSeen = new Map<bigint, Map<number, Proposal>>();
  private readonly votesSeen = new Map<bigint, Map<number, Vote>>();
  private requestedView = 0n;
  private proposedView = 0n;
  private timerView = 0n;
  private timerBackoff = 0;
  /** Timers scheduled for the current view that have not fired yet (one re-send chain: onTimer). */
  private timersPending = 0;
  /**
   * Views this member saw fail because of another member, in a row (cleared by a proposal from it):
   * the leader that sent nothing, or the member our vote went to that proposed nothing with it. Local
   * knowledge, so it never decides who leads — only how long this member waits for a suspect.
   */
  private readonly strikes = new Map<number, number>();
  /** The leader of the current view, as named on entering it, and whether its proposal came. */
  private viewLeader = -1;
  /** The member this member's vote in `votedView` went to. */
  private votedTo = -1;
  /**
   * Up to this view the failed views under this member's root are unknown (it started from a block
   * sync's root): the leaders it names may differ from the others', so it takes a proposal from any
   * member (which leads never touches safety: one vote per view) and sends its votes to every member.
   */
  private leadersUncertainUntil = 0n;
  private leaderProposed = false;
  private pendingWork = false;
  private lastCommitted: Proposal[] = [];
  /** The proposal whose QC committed our root (the two-chain's second block), with that QC. */
  private lastCommitProof?: { proposal: Proposal; qc: QuorumCertificate };
  /** Proposals waiting for a missing ancestor, by the hash they wait for. */
  private readonly waiting = new Map<Hex, Proposal[]>();
  private readonly fetching = new Set<Hex>();
  /** The member the last retried fetch went to (retries go to the members in turn). */
  private fetchTurn = 0;
  private started = false;
  private out: CoreOutput[] = [];
  /** What restoring the WAL produced (e.g. a commit the crash interrupted): emitted on start. */
  private readonly restored: CoreOutput[];

  constructor(
    readonly config: CoreConfig,
    start: CoreStart,
  ) {
    this.root = {
      block: start.root.block,
      failedViews: start.root.failedViews ?? [],
      led: start.root.led ?? [],
    };
    if (start.root.failedViews === undefined && start.root.block.height > 0n)
      this.leadersUncertainUntil = start.root.qc.view + FAILED_VIEWS_KEPT;
    this.tree.set(start.root.block.hash, this.root);
    this.qcs.set(start.root.block.hash, start.root.qc);
    this.highQc = start.root.qc;
    if (start.highQc && start.highQc.view > this.highQc.view) this.highQc = start.highQc;
    this.lastTc = start.lastTc;
    // The schedule hears of the restored TCs too (the auction's deposition is read from them).
    for (const tc of [start.lastTc, ...(start.proposals ?? []).map((p) => p.lastViewTc)])
      if (tc && tc.epoch === config.epoch)
        config.onTimeoutCertificate?.(tc.view, tc.highQc.view, tc.highQc.blockHash);
    for (const p of start.proposals ?? []) this.insert(p);
    this.restored = this.out;
  }

  get currentView(): bigint {
    return this.view;
  }
  get highestQc(): QuorumCertificate {
    return this.highQc;
  }
  get lastTimeoutCertificate(): TimeoutCertificate | undefined {
    return this.lastTc;
  }
  get committedHeight(): bigint {
    return this.root.block.height;
  }
  get committedHash(): Hex {
    return this.root.block.hash;
  }
  /** Up to this view this member takes any member's proposal: its root's history is unknown (0: known). */
  get leadersUnknownUntil(): bigint {
    return this.leadersUncertainUntil;
  }
  /** Uncommitted blocks on the highest-QC chain, oldest first: what a leader must not re-include. */
  uncommittedChain(tip: Hex = this.highQc.blockHash): Proposal[] {
    const chain: Proposal[] = [];
    let node = this.tree.get(tip);
    // The root keeps its proposal once committed here, but it is not uncommitted.
    while (node?.proposal && node !== this.root) {
      chain.push(node.proposal);
      node = this.tree.get(node.block.parent);
    }
    return chain.reverse();
  }
  /**
   * The proposal that carries our highest QC (the newest one extending it), or else the proposal of the
   * highest QC's block: what a member lagging behind needs to reach our view.
   */
  newestCertifiedProposal(): Proposal | undefined {
    let best: Proposal | undefined;
    for (const node of this.tree.values()) {
      const p = node.proposal;
      if (p && p.justify.blockHash === this.highQc.blockHash && p.justify.view === this.highQc.view)
        if (!best || p.view > best.view) best = p;
    }
    return best ?? this.tree.get(this.highQc.blockHash)?.proposal;
  }

  /**
   * The proposal whose QC committed our last committed block, with that QC: what a member that holds
   * a later QC but not this one needs to commit what we did (a QC of a later, non-consecutive view
   * does not commit it, and an idle chain makes no block that would).
   */
  get commitProof(): { proposal: Proposal; qc: QuorumCertificate } | undefined {
    return this.lastCommitProof;
  }

  /** The proposal of a known block (for peers that fetch it). */
  proposalOf(hash: Hex): Proposal | undefined {
    return this.tree.get(hash)?.proposal;
  }

  apply(input: CoreInput): CoreOutput[] {
    this.out = [];
    switch (input.type) {
      case 'start':
        if (this.started) break;
        this.out.push(...this.restored);
        this.started = true;
        this.enterView(this.entryView(), 'qc');
        break;
      case 'proposal':
        if (this.started) this.onProposal(input.proposal, input.from);
        break;
      case 'vote':
        if (this.started) this.onVote(input.vote);
        break;
      case 'timeout':
        if (this.started) this.onTimeout(input.timeout);
        break;
      case 'tc':
        if (this.started) this.processTc(input.tc);
        break;
      case 'qc':
        if (this.started) this.processQc(input.qc);
        break;
      case 'timer':
        this.onTimer(input.view);
        break;
      case 'give-up':
        if (input.view !== this.view || !this.started || this.timedOutView >= this.view) break;
        this.timeOut();
        this.armTimer();
        break;
      case 'payload':
        this.onPayload(input.view, input.block, input.payload);
        break;
      case 'work':
        this.pendingWork = input.pending;
        if (this.started) {
          this.armTimer();
          this.tryPropose();
        }
        break;
      case 'vote-signed':
        this.onVoteSigned(input.vote);
        break;
      case 'timeout-signed':
        this.out.push({ type: 'broadcast', message: { kind: 'timeout', timeout: input.timeout } });
        this.onTimeout(input.timeout);
        break;
      case 'proposal-signed':
        if (input.proposal.view === this.view) {
          this.out.push({ type: 'broadcast', message: { kind: 'proposal', proposal: input.proposal } });
          this.onProposal(input.proposal, this.config.self);
        }
        break;
      case 'fetched':
        for (const p of input.proposals) this.onFetched(p);
        break;
      case 'invalid-proposal':
        if (this.started) this.onInvalidProposal(input.proposal);
        break;
    }
    return this.out;
  }

  private get f(): number {
    return this.config.n - this.config.quorum;
  }

  /**
   * Where votes for `blockHash` in `view` go: the leader of the next view, which proposes on the QC
   * they form.
   */
  private nextLeader(view: bigint, blockHash: Hex): number {
    return this.leaderOver(view + 1n, view, blockHash);
  }

  /** The leader of `view` for a proposal on this member's highest QC. */
  private leaderOnHighQc(view: bigint): number {
    return this.leaderOver(view, this.highQc.view, this.highQc.blockHash);
  }

  /** The leader of `view` for a proposal on the QC of `justifyView` for `blockHash`, over that block's chain. */
  private leaderOver(view: bigint, justifyView: bigint, blockHash: Hex): number {
    const { failedViews, led } = this.historyOf(blockHash, justifyView);
    return this.config.leaderFor(view, justifyView, failedViews, led, blockHash);
  }

  /**
   * The chain history of a proposed block this member holds (committed or not), when it knows it
   * whole: a block's history reaches FAILED_VIEWS_KEPT views back, so not near a synced root. Honest
   * members that hold the same block derive the same history (what block sync asks f+1 of them for).
   */
  knownHistoryOf(blockHash: Hex, certifiedView?: bigint): ChainHistory | undefined {
    const node = this.tree.get(blockHash);
    if (!node) return undefined;
    const tip = historyAt(node, certifiedView);
    // The root this member started from has no proposal here: its history is known when it came
    // with one (from the WAL, or agreed by f+1 members after a block sync).
    const known = tip.proposal
      ? tip.proposal.view > this.leadersUncertainUntil
      : this.leadersUncertainUntil === 0n;
    return known ? { failedViews: tip.failedViews, led: tip.led } : undefined;
  }

  /**
   * The failed views and the proposers of the chain up to `blockHash`, as the proposal of
   * `certifiedView` made them when the block was proposed in more than one view (see TreeNode; none
   * when it is not here).
   */
  private historyOf(blockHash: Hex, certifiedView?: bigint): ChainHistory {
    const node = this.tree.get(blockHash);
    if (!node) return { failedViews: [], led: [] };
    const { failedViews, led } = historyAt(node, certifiedView);
    return { failedViews, led };
  }

  /** The view to (re)start in: after the highest certificate known. */
  private entryView(): bigint {
    const afterQc = this.highQc.view + 1n;
    const afterTc = this.lastTc ? this.lastTc.view + 1n : 0n;
    return afterQc > afterTc ? afterQc : afterTc;
  }

  // ---- certificates and views (spec §6: process_certificates, advance_round_qc/tc) ----

  private processQc(qc: QuorumCertificate): void {
    if (qc.epoch !== this.config.epoch) return;
    this.recordQc(qc);
    if (qc.view > this.highQc.view) this.highQc = qc;
    this.tryCommit(qc);
    if (qc.view >= this.view) this.enterView(qc.view + 1n, 'qc');
    else if (qc.view === this.highQc.view) this.shortenTimer();
  }

  /** Keeps a verified QC as its block's best, and checks it against the view's other QCs. */
  private recordQc(qc: QuorumCertificate): void {
    const best = this.qcs.get(qc.blockHash);
    if (!best || qc.view > best.view) this.qcs.set(qc.blockHash, qc);
    const first = this.qcByView.get(qc.view);
    if (!first) this.qcByView.set(qc.view, qc);
    else if (first.blockHash !== qc.blockHash && !this.conflictsReported.has(qc.view)) {
      this.conflictsReported.add(qc.view);
      this.out.push({
        type: 'conflicting-certificates',
        conflict: { epoch: qc.epoch, view: qc.view, first, second: qc },
      });
    }
  }

  private processTc(tc: TimeoutCertificate): void {
    if (tc.epoch !== this.config.epoch) return;
    this.config.onTimeoutCertificate?.(tc.view, tc.highQc.view, tc.highQc.blockHash);
    this.processQc(tc.highQc);
    if (tc.view >= this.view) {
      // The experiment's bookkeeping (a leaderFor per TC) only when it is on.
      if (tc.view === this.view && this.config.shortTimeoutForSuspects === true) this.noteFailedView();
      this.lastTc = tc;
      this.enterView(tc.view + 1n, 'tc');
    } else if (!this.lastTc || tc.view > this.lastTc.view) {
      this.lastTc = tc;
    }
  }

  private enterView(view: bigint, via: 'qc' | 'tc'): void {
    if (view <= this.view) return;
    this.view = view;
    // Views in a row without a QC lengthen the timeout, so an honest leader eventually has time. The
    // first doubling waits for the second such view: one dead member fails two views in a row (its
    // own, and the one before, whose votes it should have aggregated), and with the base timeout
    // for both the chain stalls 2× the base instead of 3× (bench/committee.ts, leader kill).
    this.timerBackoff = this.backoffIn(view);
    this.timerView = 0n;
    this.timersPending = 0;
    this.viewLeader = this.leaderOnHighQc(view);
    this.leaderProposed = false;
    this.out.push({ type: 'view', view, leader: this.viewLeader, via });
    this.prune();
    this.armTimer();
    this.tryPropose();
    this.joinTimeouts();
  }

  /** The timer's doublings in `view`: the views without a QC since our highest, less one, at most 3. */
  private backoffIn(view: bigint): number {
    const backoff = view - this.highQc.view - 2n;
    return Number(backoff > 3n ? 3n : backoff < 0n ? 0n : backoff);
  }

  private armTimer(): void {
    if (!this.started || this.timerView === this.view || !this.needsProgress()) return;
    this.timerView = this.view;
    const ms = this.isSuspect(this.viewLeader)
      ? this.suspectTimeoutMs()
      : this.config.baseTimeoutMs * 2 ** this.timerBackoff;
    this.scheduleTimer(ms);
  }

  private scheduleTimer(ms: number): void {
    this.timersPending++;
    this.out.push({ type: 'schedule-timer', view: this.view, ms });
  }

  /**
   * A QC of a view after the highest one we had, come after the TC we entered this view by: fewer
   * views failed in a row than the timer was backed off for, so it gets the timeout the members that
   * entered by that QC have (the earlier timer, when it fires, only re-sends). Until stop 47 it kept
   * the backed-off one: with a byzantine winner and an equivocator among 7 (simulator seed 701847 of
   * `--epochs`), five members waited 1.2 s in a view two others had timed out of after 300 ms,
   * re-sending their timeouts alone, and the last 3 txs were not committed at the end of the run.
   */
  private shortenTimer(): void {
    if (this.timerView !== this.view || this.timedOutView >= this.view) return;
    const shorter = this.backoffIn(this.view);
    if (shorter >= this.timerBackoff) return;
    this.timerBackoff = shorter;
    if (!this.isSuspect(this.viewLeader)) this.scheduleTimer(this.config.baseTimeoutMs * 2 ** shorter);
  }

  /**
   * The current view ends in a TC: blame what this member saw fail. A dead member fails a view in
   * every round of the rotation — as the member the votes of the view before its turn go to (the view
   * after the TC passes over it) — and each cost a whole view timeout: with one of four members down,
   * single txs waited ~1 s at a 1 s timeout (bench/dead-member.ts).
   */
  private noteFailedView(): void {
    const strike = (m: number) => {
      if (m !== this.config.self && m >= 0) this.strikes.set(m, (this.strikes.get(m) ?? 0) + 1);
    };
    if (!this.leaderProposed) strike(this.viewLeader);
    else if (this.votedView === this.view) strike(this.votedTo);
  }

  /**
   * Whether to wait the short timeout for `member`: it failed views in a row, and this is not every
   * eighth of them (a suspect that is alive but slower than the short timeout still gets a full one
   * now and then; a proposal from it clears it).
   */
  private isSuspect(member: number): boolean {
    if (this.config.shortTimeoutForSuspects !== true) return false;
    const n = this.strikes.get(member) ?? 0;
    return n > 0 && n % 8 !== 0;
  }

  /**
   * A quarter of the view's timeout, backoff included: when views fail in a row for everyone (a slow
   * network, not one dead member) the short timeouts double with the others, so they cannot keep every
   * leader from finishing a view.
   */
  private suspectTimeoutMs(): number {
    return Math.max(1, Math.floor((this.config.baseTimeoutMs * 2 ** this.timerBackoff) / 4));
  }

  /** Views only need to move while there is something to commit (DECISIONS.md §6). */
  private needsProgress(): boolean {
    if (this.pendingWork || this.timedOutView === this.view) return true;
    return this.uncommittedChain().some((p) => p.block.txCount > 0);
  }

  // ---- commit (spec §5: two-chain rule) ----

  private tryCommit(qc: QuorumCertificate): void {
    const node = this.tree.get(qc.blockHash);
    // The proposal this QC certified (a block proposed in two views has two, with their own QCs).
    const certified = node && historyAt(node, qc.view).proposal;
    const justify = certified?.justify;
    if (
      !node ||
      !certified ||
      !justify ||
      justify.view + 1n !== qc.view ||
      node.block.parent !== justify.blockHash
    )
      return;
    const parent = this.tree.get(justify.blockHash);
    if (!parent || parent.block.height <= this.root.block.height) return;
    // Each block with the proposal its QC certified (a block proposed in two views has two).
    const chain: Array<{ proposal: Proposal; certifiedView: bigint }> = [];
    let cur: TreeNode | undefined = parent;
    let certifiedView = justify.view;
    while (cur?.proposal && cur.block.height > this.root.block.height) {
      const proposal = historyAt(cur, certifiedView).proposal ?? cur.proposal;
      chain.push({ proposal, certifiedView });
      certifiedView = proposal.justify.view;
      cur = this.tree.get(cur.block.parent);
    }
    if (cur !== this.root) return; // does not extend what is committed: cannot happen with ≤ f faults
    chain.reverse();
    const committed: CommittedBlock[] = chain.map(({ proposal, certifiedView: v }) => {
      const history = this.knownHistoryOf(proposal.block.hash, v);
      return { proposal, qcs: [justify, qc], through: parent.block.hash, ...(history ? { history } : {}) };
    });
    this.root = parent;
    this.lastCommitted = chain.map((c) => c.proposal);
    this.lastCommitProof = { proposal: certified, qc };
    this.out.push({ type: 'commit', blocks: committed });
    this.prune();
  }

  /** Whether blocks committed above `height` (the last commit) hold txs. */
  private committedTxsSince(height: bigint): boolean {
    return this.lastCommitted.some((p) => p.block.height > height && p.block.txCount > 0);
  }

  /** Forgets blocks at or below the committed height that are not the root, and old vote books. */
  private prune(): void {
    const h = this.root.block.height;
    for (const [hash, node] of this.tree) {
      if (node !== this.root && node.block.height <= h) this.tree.delete(hash);
    }
    for (const hash of this.qcs.keys()) if (!this.tree.has(hash)) this.qcs.delete(hash);
    // A proposal at or below the committed height can never join the tree.
    for (const [hash, list] of this.waiting) {
      const live = list.filter((w) => w.block.height > h);
      if (live.length) this.waiting.set(hash, live);
      else this.waiting.delete(hash);
    }
    const keepFrom = this.view - 2n;
    for (const m of [this.votes, this.timeouts, this.proposalsSeen, this.votesSeen]) {
      for (const v of m.keys()) if (v < keepFrom) m.delete(v);
    }
    const qcsFrom = this.view - QC_VIEWS_KEPT;
    for (const v of this.qcByView.keys()) if (v < qcsFrom) this.qcByView.delete(v);
    for (const v of this.conflictsReported) if (v < qcsFrom) this.conflictsReported.delete(v);
  }

  // ---- proposals and votes (spec §4: process_proposal_msg, safe_to_vote) ----

  private onProposal(p: Proposal, from: number): void {
    if (p.epoch !== this.config.epoch) return;
    this.processQc(p.justify);
    if (p.lastViewTc) this.processTc(p.lastViewTc);
    if (p.author !== from || p.block.parent !== p.justify.blockHash) return;
    const parent = this.tree.get(p.block.parent);
    if (!parent) {
      // Judged once the parent is here: the history under it can change who leads (a proposal that
      // deposed the auction's winner carries the TC this member may have missed).
      this.waitFor(p.block.parent, p, from);
      return;
    }
    if (
      p.author !== this.leaderOver(p.view, p.justify.view, parent.block.hash) &&
      p.view > this.leadersUncertainUntil
    )
      return;
    // A signed proposal from its leader: that member is alive.
    this.strikes.delete(p.author);
    if (p.view === this.view) this.leaderProposed = true;
    const earlier = this.noteProposal(p);
    if (earlier) {
      // The leader of this view signed two blocks: its view cannot be trusted to finish. Give it up at
      // once rather than after the timer (with backoff, six such views cost seconds before the
      // auction's rule deposed an equivocating winner: sim seed 1503), and pass both proposals on so
      // every member sees the equivocation (gossip floods both; a direct send may have split them).
      if (p.view === this.view && this.timedOutView < this.view) {
        this.out.push({ type: 'broadcast', message: { kind: 'proposal', proposal: earlier } });
        this.out.push({ type: 'broadcast', message: { kind: 'proposal', proposal: p } });
        this.timeOut();
      }
      // Kept as history, not voted on: a QC may form on either block, and a member commits through
      // it only with the block here (sim seed 1455).
      if (p.block.height === parent.block.height + 1n) this.insert(p);
      return;
    }
    if (p.block.height !== parent.block.height + 1n) return;
    this.insert(p);
    if (p.view !== this.view) return;
    if (!this.safeToVote(p)) return;
    this.votedView = p.view;
    const to = this.nextLeader(p.view, p.block.hash);
    this.votedTo = to;
    this.out.push({ type: 'sign-vote', proposal: p, to });
    // Our vote goes to a suspect: wait for its proposal only the short timeout.
    if (this.isSuspect(to) && this.timedOutView < p.view) this.scheduleTimer(this.suspectTimeoutMs());
  }

  /**
   * The leader of this view signed a block the application refused: no honest member votes for it, so
   * the view cannot reach a QC. Give it up at once instead of after the timer (a winner proposing
   * invalid blocks cost six backed-off views, ~7 s, before the auction's rule deposed it: sim seed
   * 3855). Only the view's own leader counts: a member cannot end another's view by signing junk.
   */
  private onInvalidProposal(p: Proposal): void {
    if (p.epoch !== this.config.epoch || p.view !== this.view || this.timedOutView >= this.view) return;
    if (p.author !== this.leaderOver(p.view, p.justify.view, p.justify.blockHash)) return;
    this.timeOut();
  }

  /**
   * The block of `known` proposed in another view: a leader after a failed view rebuilt it unchanged
   * (same parent, txs and timestamp second, so the same hash: view and author are outside it). Each
   * proposal keeps the history it makes — under the later one the earlier view failed and the later
   * leader led the block — and the block's history is the one of the proposal its QC certified, so
   * members agree whichever proposal they saw first. With one history per block the first proposal's
   * stood: the failed view and its suspects vanished from the chain, and a dead vote collector was
   * never passed over (bench/dead-member.ts, views given up in tens of ms: re-proposals in the same
   * second).
   */
  private reproposal(known: TreeNode, p: Proposal): void {
    if (!known.proposal || known.proposal.view === p.view || known.others?.has(p.view)) return;
    const parent = this.tree.get(p.block.parent);
    if (!parent) return;
    if (!known.others) known.others = new Map();
    known.others.set(p.view, historyUnder(parent, p, this.entersEpoch(parent, p)));
    this.recordQc(p.justify);
  }

  /** Whether `p`'s block is its chain's first of a later election epoch than its parent's (CoreConfig.epochOf). */
  private entersEpoch(parent: TreeNode, p: Proposal): boolean {
    const epochOf = this.config.epochOf;
    if (!epochOf) return false;
    const before = epochOf(parent.block.hash);
    const after = epochOf(p.block.hash);
    return before !== undefined && after !== undefined && after > before;
  }

  /** Records a proposal; returns the earlier one when its author already proposed something else in that view. */
  private noteProposal(p: Proposal): Proposal | undefined {
    const byAuthor = getOrInit(this.proposalsSeen, p.view, () => new Map<number, Proposal>());
    const earlier = byAuthor.get(p.author);
    if (!earlier) {
      byAuthor.set(p.author, p);
      return undefined;
    }
    if (earlier.block.hash === p.block.hash) return undefined;
    this.out.push({
      type: 'evidence',
      equivocation: {
        member: p.author,
        epoch: p.epoch,
        view: p.view,
        phase: 'proposal',
        first: { kind: 'proposal', proposal: earlier },
        second: { kind: 'proposal', proposal: p },
      },
    });
    return earlier;
  }

  private insert(p: Proposal): void {
    const known = this.tree.get(p.block.hash);
    if (known) {
      this.reproposal(known, p);
      return;
    }
    if (p.block.height <= this.root.block.height) return;
    const parent = this.tree.get(p.block.parent);
    if (!parent || p.block.height !== parent.block.height + 1n) return;
    this.tree.set(p.block.hash, { block: p.block, ...historyUnder(parent, p, this.entersEpoch(parent, p)) });
    this.recordQc(p.justify);
    // A QC we already had for this block may now commit its parent.
    // (The highest QC may have come alone, before its block: a QC broadcast.)
    const qc =
      this.qcs.get(p.block.hash) ?? (p.block.hash === this.highQc.blockHash ? this.highQc : undefined);
    if (qc) this.tryCommit(qc);
    if (p.block.hash === this.highQc.blockHash) {
      this.fetching.delete(p.block.hash);
      this.tryPropose();
    }
    const waiters = this.waiting.get(p.block.hash);
    if (waiters) {
      this.waiting.delete(p.block.hash);
      this.fetching.delete(p.block.hash);
      for (const w of waiters) this.onProposal(w, w.author);
    }
  }

  private waitFor(hash: Hex, p: Proposal, from: number): void {
    const list = this.waiting.get(hash) ?? [];
    if (!list.some((w) => w.block.hash === p.block.hash)) list.push(p);
    this.waiting.set(hash, list);
    // Bounded: a member can send proposals over blocks nobody has; the oldest waits are given up.
    if (this.waiting.size > MAX_WAITING_PARENTS) {
      const oldest = this.waiting.keys().next().value;
      if (oldest !== undefined) this.waiting.delete(oldest);
    }
    this.requestFetch(hash, from, p.block.height - 1n);
  }

  private requestFetch(hash: Hex, from: number, height?: bigint): void {
    if (this.fetching.has(hash)) return;
    this.fetching.add(hash);
    this.out.push({ type: 'fetch', hash, from, height });
  }

  private onFetched(p: Proposal): void {
    // Fetched proposals are history: their certificates count, but they are not voted on.
    this.processQc(p.justify);
    if (p.lastViewTc) this.processTc(p.lastViewTc);
    if (this.tree.has(p.block.parent)) this.insert(p);
    else if (p.block.height > this.root.block.height + 1n) this.waitFor(p.block.parent, p, p.author);
  }

  /** DiemBFT v4 safe_to_vote: one vote per view, extending the last view's QC or the TC's highest QC. */
  private safeToVote(p: Proposal): boolean {
    if (p.view <= this.votedView || p.view <= this.timedOutView) return false;
    if (p.justify.view + 1n === p.view) return true;
    const tc = p.lastViewTc;
    return !!tc && tc.view + 1n === p.view && p.justify.view >= maxHighQcView(tc);
  }

  private onVoteSigned(vote: Vote): void {
    if (vote.view <= this.leadersUncertainUntil) {
      for (let m = 0; m < this.config.n; m++)
        if (m !== this.config.self) this.out.push({ type: 'send', to: m, message: { kind: 'vote', vote } });
      this.onVote(vote);
      return;
    }
    const to = this.nextLeader(vote.view, vote.blockHash);
    if (to === this.config.self) this.onVote(vote);
    else this.out.push({ type: 'send', to, message: { kind: 'vote', vote } });
  }

  /**
   * How a vote would stand if it came in now (the driver checks votes together once enough are in to
   * certify their block): 'ignored' (another epoch, or too old), 'known' (this voter's vote for that
   * block is in), 'conflicting' (this voter voted for another block in that view: evidence), 'late'
   * (the block is certified here already: it would only be kept), or how many votes for the block are
   * in so far (this member's own among them).
   */
  voteStanding(v: Vote): 'ignored' | 'known' | 'conflicting' | 'late' | number {
    if (this.isStale(v)) return 'ignored';
    const earlier = this.votesSeen.get(v.view)?.get(v.voter);
    if (earlier) return earlier.blockHash === v.blockHash ? 'known' : 'conflicting';
    const count = this.votes.get(v.view)?.get(v.blockHash)?.size ?? 0;
    return count >= this.config.quorum ? 'late' : count;
  }

  /** Another epoch's vote, or one too old to count (votes are kept for the last three views). */
  private isStale(v: Vote): boolean {
    return v.epoch !== this.config.epoch || v.view + 2n < this.view;
  }

  private onVote(v: Vote): void {
    if (this.isStale(v)) return;
    const byVoter = getOrInit(this.votesSeen, v.view, () => new Map<number, Vote>());
    const earlier = byVoter.get(v.voter);
    if (earlier) {
      if (earlier.blockHash !== v.blockHash)
        this.out.push({
          type: 'evidence',
          equivocation: {
            member: v.voter,
            epoch: v.epoch,
            view: v.view,
            phase: 'vote',
            first: { kind: 'vote', vote: earlier },
            second: { kind: 'vote', vote: v },
          },
        });
      return;
    }
    byVoter.set(v.voter, v);
    const byBlock = getOrInit(this.votes, v.view, () => new Map<Hex, Map<number, Vote>>());
    const voters = getOrInit(byBlock, v.blockHash, () => new Map<number, Vote>());
    voters.set(v.voter, v);
    if (voters.size === this.config.quorum) {
      const qc = this.config.aggregate([...voters.values()]);
      const before = this.root.block.height;
      const at = this.out.length;
      this.processQc(qc);
      // A QC that commits txs while this leader has nothing to propose goes to every member at once:
      // they commit on it (and answer their users) rather than wait for a proposal that does not come.
      // A leader that proposes sends the QC in its proposal: sent alone as well, it had the members
      // execute the committed block before they checked and voted on the proposal, and under overload
      // views timed out (bench/committee.ts, 500 tx/s: 7 timeouts and p50 11 s, against 2 and 4 s).
      if (this.committedTxsSince(before) && this.requestedView < this.view)
        this.out.splice(at, 0, { type: 'broadcast', message: { kind: 'qc', qc } });
    }
  }

  // ---- leader (spec §4: process_new_round_event) ----

  private tryPropose(): void {
    const view = this.view;
    // This member proposes on its highest QC, so that QC's view is the one its proposal is judged by.
    if (!this.started || this.leaderOnHighQc(view) !== this.config.self) return;
    if (this.requestedView >= view || !this.needsProgress()) return;
    const viaQc = this.highQc.view + 1n === view;
    const viaTc = this.lastTc?.view !== undefined && this.lastTc.view + 1n === view;
    if (!viaQc && !viaTc) return;
    const parent = this.tree.get(this.highQc.blockHash);
    if (!parent) {
      // The certified block is not here (missed, or lost in a crash): fetch it, propose once it arrives.
      this.requestFetch(
        this.highQc.blockHash,
        this.config.leaderFor(this.highQc.view, this.highQc.view - 1n, [], [], this.highQc.blockHash),
      );
      return;
    }
    this.requestedView = view;
    this.out.push({
      type: 'request-payload',
      view,
      parent: parent.block.hash,
      height: parent.block.height + 1n,
    });
  }

  private onPayload(view: bigint, block: BlockHeader, payload: Uint8Array): void {
    if (view !== this.view || this.proposedView >= view || block.parent !== this.highQc.blockHash) return;
    this.proposedView = view;
    const proposal: Proposal = {
      epoch: this.config.epoch,
      view,
      author: this.config.self,
      block,
      justify: this.highQc,
      lastViewTc: this.highQc.view + 1n === view ? undefined : this.lastTc,
      payload,
      signature: new Uint8Array(),
    };
    this.out.push({ type: 'sign-proposal', proposal });
  }

  // ---- timeouts (spec §6: local_timeout_round, process_remote_timeout) ----

  private onTimer(view: bigint): void {
    if (view !== this.view || !this.started) return;
    if (this.timersPending > 0) this.timersPending--;
    this.timerView = 0n;
    if (!this.needsProgress()) return;
    // Fetches whose answer never came (lost, the peer was down, or it restarted without the blocks)
    // are asked again, of the members in turn: one peer that cannot answer must not hold us back.
    const pending = [...this.fetching];
    this.fetching.clear();
    for (const hash of pending) this.requestFetch(hash, this.nextFetchPeer());
    // The highest QC's block is not here (its proposal came refused, or never): without it this member
    // cannot commit what the QC commits, nor lead on it. Only the leader fetched it, so a member that
    // got the byzantine leader's invalid twin of the next proposal stayed behind with work it could
    // never finish — and, with too few others holding work to time out, the view never ended (sim
    // seed 189 with adaptive timeouts and a 1 s ceiling).
    if (
      !this.tree.has(this.highQc.blockHash) &&
      this.highQc.view > (this.qcs.get(this.root.block.hash)?.view ?? 0n)
    )
      this.requestFetch(this.highQc.blockHash, this.nextFetchPeer());
    this.timeOut();
    // Keep re-sending the timeout until the view changes: messages can be lost. One chain of timers:
    // while an earlier timer of this view is still to fire (shortenTimer), that one re-sends.
    if (this.timersPending > 0) this.timerView = this.view;
    else this.armTimer();
  }

  private nextFetchPeer(): number {
    const { n, self } = this.config;
    this.fetchTurn = (this.fetchTurn + 1) % n;
    if (this.fetchTurn === self) this.fetchTurn = (this.fetchTurn + 1) % n;
    return this.fetchTurn;
  }

  /**
   * f+1 timeouts for our view mean at least one honest member gave up: join it (Bracha-style
   * amplification). Checked also on entering a view: timeouts that came while we were behind are kept,
   * and a member with no work of its own joined them only on a new one — re-sent ones are no news —
   * so the others, who needed its timeout for a TC (one member down), waited for good (core script
   * test "a member behind, with no work of its own, joins…").
   */
  private joinTimeouts(): void {
    const byVoter = this.timeouts.get(this.view);
    if (!byVoter || byVoter.size < this.f + 1 || this.timedOutView >= this.view) return;
    this.timeOut();
    // Re-sent until the view changes, as after our own timer.
    this.armTimer();
  }

  private timeOut(): void {
    if (this.timedOutView < this.view) this.timedOutView = this.view;
    this.out.push({ type: 'sign-timeout', view: this.view, highQc: this.highQc });
  }

  private onTimeout(t: TimeoutVote): void {
    if (t.epoch !== this.config.epoch) return;
    this.processQc(t.highQc);
    if (t.lastViewTc) this.processTc(t.lastViewTc);
    if (t.view < this.view) return;
    const byVoter = getOrInit(this.timeouts, t.view, () => new Map<number, TimeoutVote>());
    if (byVoter.has(t.voter)) return;
    byVoter.set(t.voter, t);
    this.joinTimeouts();
    if (byVoter.size === this.config.quorum) {
      const all = [...byVoter.values()];
      let highQc = all[0].highQc;
      for (const x of all) if (x.highQc.view > highQc.view) highQc = x.highQc;
      this.processTc({
        epoch: t.epoch,
        view: t.view,
        timeouts: all.map((x) => ({ voter: x.voter, highQcView: x.highQc.view, signature: x.signature })),
        highQc,
      });
    }
  }
}

export function maxHighQcView(tc: TimeoutCertificate): bigint {
  let m = 0n;
  for (const t of tc.timeouts) if (t.highQcView > m) m = t.highQcView;
  return m;
}

function getOrInit<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

/** The proposal of `node` certified in `view` and the history it makes (the first one's otherwise). */
function historyAt(node: TreeNode, view?: bigint): Omit<ProposedTip, 'proposal'> & { proposal?: Proposal } {
  if (view === undefined || !node.proposal || node.proposal.view === view) return node;
  return node.others?.get(view) ?? node;
}

/**
 * The history `p` makes over `parent`, as the QC it carries certified the parent. A block that enters
 * a later election epoch leaves the failed views before that QC behind (CoreConfig.epochOf).
 */
function historyUnder(parent: TreeNode, p: Proposal, entersEpoch = false): ProposedTip {
  const under = historyAt(parent, p.justify.view);
  // Views after the parent's QC and before this block failed in this chain.
  const first = p.view - FAILED_VIEWS_KEPT;
  const failedViews = entersEpoch ? [] : under.failedViews.filter((u) => u >= first);
  for (let u = p.justify.view + 1n > first ? p.justify.view + 1n : first; u < p.view; u++)
    failedViews.push(u);
  const led = under.led.filter((b) => b.view >= first);
  led.push({ view: p.view, leader: p.author });
  return { proposal: p, failedViews, led };
}
