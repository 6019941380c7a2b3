import type { Logger } from 'pino';
import { type Abi, type Hex, toHex } from 'viem';
import type { ConflictingCertificates, Equivocation } from '../consensus/core/types.js';
import { g1ToEip2537 } from './bls-encoding.js';
import { customErrorOf, l1Clients } from './clients.js';
import { doubleSignArgs, electionArtifacts } from './election.js';
import { reportSameViewConflict } from './slash.js';

export interface EvidenceReporterOptions {
  rpcUrl: string;
  /** L1 key that sends the reports (and receives the reporter's reward). */
  key: Hex;
  slasher: Hex;
  /** The committee's BLS keys (compressed), in member index order. */
  publicKeys: readonly Hex[];
}

/** Errors that mean "nothing to do": another node reported first, or the member has no stake. */
const SETTLED = new Set(['AlreadySlashed', 'UnknownKey']);

/**
 * Submits every equivocation a node finds to the L1 Slasher (DECISIONS.md §5), one at a time. Each
 * report is simulated first: when another member already reported it (AlreadySlashed) or the key has
 * no stake (UnknownKey), nothing is sent.
 */
export class EvidenceReporter {
  private queue: Promise<void> = Promise.resolve();
  private readonly reported = new Set<string>();
  /** Reports made: the signer's committee-file index (−1: a staker outside the file), its key, … */
  readonly results: Array<{ member: number; key: Hex; view: bigint; outcome: string; tx?: Hex }> = [];
  private readonly reportedCertificates = new Set<string>();
  /** Reports of conflicting certificates seen over the network (`reportCertificates`). */
  readonly certificateResults: Array<{ view: bigint; verdict: string; slashed: number; tx?: Hex }> = [];

  constructor(
    private readonly options: EvidenceReporterOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * Reports `e`, signed by `signer` (default: the committee file's member `e.member`; with
   * --epoch-committees the instance's committee names the key, which may be outside the file).
   */
  report(e: Equivocation, signer: Hex | undefined = this.options.publicKeys[e.member]): void {
    if (!signer) return;
    const id = `${signer.toLowerCase()}/${e.epoch}/${e.view}/${e.phase}`;
    if (this.reported.has(id)) return;
    this.reported.add(id);
    const member = this.options.publicKeys.findIndex((k) => k.toLowerCase() === signer.toLowerCase());
    this.run(() => this.submit({ ...e, member }, signer)).catch((err) => {
      this.logger.error(
        { err, member: e.member, view: Number(e.view) },
        'reporting equivocation to the Slasher failed',
      );
    });
  }

  /**
   * Runs `task` in this reporter's queue, after the reports before it: every L1 tx sent with the
   * reporter key goes through one queue, so two reports never race for a nonce.
   */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task);
    this.queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /**
   * Submits two QCs of one view on different blocks, seen over the network, to
   * `Slasher.slashConflictingCertificates` (every member in both signer sets loses its stake).
   */
  reportCertificates(
    c: ConflictingCertificates,
    /** The keys of the committee that certified the QCs' epoch (--epoch-committees); default the file's. */
    publicKeys: readonly Hex[] = this.options.publicKeys,
  ): void {
    const id = `${c.epoch}/${c.view}`;
    if (this.reportedCertificates.has(id)) return;
    this.reportedCertificates.add(id);
    this.run(async () => {
      const keys = publicKeys.map((k) => toHex(g1ToEip2537(k)));
      const outcome = await reportSameViewConflict({
        l1Url: this.options.rpcUrl,
        key: this.options.key,
        slasher: this.options.slasher,
        keys,
        ours: c.first,
        theirs: c.second,
      });
      this.certificateResults.push({ view: c.view, ...outcome });
      this.logger.warn(
        { view: Number(c.view), outcome: outcome.verdict, slashed: outcome.slashed, tx: outcome.tx },
        'conflicting certificates reported to the L1 Slasher',
      );
    }).catch((err) => {
      this.logger.error(
        { err, view: Number(c.view) },
        'reporting conflicting certificates to the Slasher failed',
      );
    });
  }

  /** `e.member`: the signer's committee-file index, −1 outside the file (for the results). */
  private async submit(e: Equivocation, key: Hex): Promise<void> {
    const { pub, wallet, account } = await l1Clients(this.options.rpcUrl, this.options.key);
    const abi = electionArtifacts().Slasher.abi as Abi;
    const args = doubleSignArgs(e, key);
    let request: unknown;
    try {
      ({ request } = await pub.simulateContract({
        address: this.options.slasher,
        abi,
        functionName: 'slashDoubleSign',
        args,
        account,
      }));
    } catch (err) {
      const name = customErrorOf(err)?.name;
      if (name && SETTLED.has(name)) {
        this.results.push({ member: e.member, key, view: e.view, outcome: name });
        this.logger.info(
          { member: e.member, view: Number(e.view), outcome: name },
          'equivocation needs no report',
        );
        return;
      }
      throw err;
    }
    const tx = await wallet.writeContract(request as never);
    const receipt = await pub.waitForTransactionReceipt({ hash: tx, pollingInterval: 250 });
    const outcome = receipt.status === 'success' ? 'slashed' : 'reverted';
    this.results.push({ member: e.member, key, view: e.view, outcome, tx });
    this.logger.warn(
      { member: e.member, view: Number(e.view), phase: e.phase, tx, outcome },
      'equivocation reported to the L1 Slasher',
    );
  }
}
