import type { Logger } from 'pino';
import { type Abi, type Hex, zeroAddress } from 'viem';
import { type EpochClock, epochAt, pinnedBlockFor } from '../election/epochs.js';
import { sleep } from '../util/sleep.js';
import { customErrorOf, l1Clients } from './clients.js';
import { committeeVerifierArtifact } from './deploy.js';

/**
 * Keeps the CommitteeVerifier's committees current: once the L1 block that pins epoch e's committee
 * is final, a member installs that committee from the verifier's committee source (the StakeRegistry,
 * or the Governance for `dpos`) with `CommitteeVerifier.installCommittee(e)` — anyone may, and the
 * committee is fixed by the pinned block, whoever installs it when (DECISIONS.md §7). Certificates of
 * epoch e verify on L1 (batches, outputs, slashing) only once it is installed: the committee that
 * changes at an epoch needs it there before its first batch (docs/ARCHITECTURE.md, "Committees that
 * change").
 *
 * One tx an epoch, not one a member: member i waits i × `staggerMs` after the epoch can be installed
 * and first reads whether another member did; the call is simulated before it is sent, so a race lost
 * costs no gas (AlreadyInstalled). The next epoch, the current one and the LOOKBACK_EPOCHS before it
 * are looked at on each poll (each read once it is done), so an epoch nobody installed — every member
 * down, or started after it began — is installed late rather than never; older ones are left (no
 * batch or output waits that long for its committee).
 */
export interface CommitteeInstallerOptions {
  l1Url: string;
  /** The L1 key that pays for the installs (the member's reporter or batcher key). */
  key: Hex;
  verifier: Hex;
  clock: EpochClock;
  /** L1 blocks behind the head that count as final (the node's --l1-confirmations). */
  confirmations: number;
  /** This node's place in the install order (its committee-file index): it waits member × staggerMs first. */
  member: number;
  staggerMs?: number;
  pollMs: number;
  /** Runs an L1 tx after the others sent with the same key (the evidence reporter's queue: one nonce order). */
  serialise<T>(task: () => Promise<T>): Promise<T>;
}

export interface CommitteeInstall {
  epoch: bigint;
  /**
   * `installed`: this node's tx; `by-another`: found installed (another member, or anyone);
   * `no-stakers`: the source's committee at the pinned block is empty, so there is none to install
   * (certificates of that epoch cannot verify on L1: nobody could have signed them).
   */
  outcome: 'installed' | 'by-another' | 'no-stakers';
  members: number;
  tx?: Hex;
  gasUsed?: bigint;
}

/** Epochs before the current one that a poll still installs when nobody did. */
export const LOOKBACK_EPOCHS = 4n;

/** What the verifier's custom errors mean to the installer: the epoch is done, or not yet due. */
const DONE = 'AlreadyInstalled';
const NOT_YET = 'EpochNotFixed';
/** An empty committee (BadCommitteeSize(0)): nobody staked by the pinned block. */
const EMPTY = 'BadCommitteeSize';

export class CommitteeInstaller {
  /** The epochs this node saw installed (by itself or another), oldest first (the last 32). */
  readonly installs: CommitteeInstall[] = [];
  /** Set when the verifier has no committee source: committees come from its owner, nothing to install. */
  noSource = false;
  lastError: string | null = null;
  private readonly done = new Set<bigint>();
  /** When this node first saw each epoch installable (its stagger counts from then). */
  private readonly dueSince = new Map<bigint, number>();
  private clients?: Awaited<ReturnType<typeof l1Clients>>;
  private hasSource = false;

  constructor(
    private readonly options: CommitteeInstallerOptions,
    private readonly logger: Logger,
  ) {}

  /** Polls the L1 until `signal` aborts; never throws (an L1 that fails is tried again at the next poll). */
  async run(signal: AbortSignal): Promise<void> {
    const { pollMs } = this.options;
    while (!signal.aborted) {
      try {
        await this.poll();
        this.lastError = null;
      } catch (err) {
        const message = (err as Error).message.split('\n')[0];
        if (message !== this.lastError)
          this.logger.warn({ err: message }, 'installing the next committee on L1 failed; trying again');
        this.lastError = message;
      }
      await sleep(pollMs, signal);
    }
  }

  /** One look at the L1. True when there is nothing to do: the verifier has no committee source (yet). */
  async poll(now = Date.now()): Promise<boolean> {
    const { l1Url, key, verifier, clock, confirmations, member } = this.options;
    this.clients ??= await l1Clients(l1Url, key);
    const { pub, wallet, account } = this.clients;
    const abi = committeeVerifierArtifact().abi as Abi;
    const read = <T>(functionName: string, args: readonly unknown[] = []) =>
      pub.readContract({ address: verifier, abi, functionName, args }) as Promise<T>;
    // Set once for good (CommitteeVerifier.setCommitteeSource): read until it is there.
    if (!this.hasSource && (await read<Hex>('committeeSource')) === zeroAddress) {
      if (!this.noSource)
        this.logger.info(
          { verifier },
          "the CommitteeVerifier has no committee source: its owner sets each epoch's committee, this node installs none (until the owner names one)",
        );
      this.noSource = true;
      return true;
    }
    this.hasSource = true;
    this.noSource = false;
    const head = await pub.getBlockNumber({ cacheTime: 0 });
    const final = head - BigInt(confirmations);
    const current = epochAt(clock, head);
    const oldest = current > LOOKBACK_EPOCHS ? current - LOOKBACK_EPOCHS : 1n;
    for (const e of this.done) if (e < oldest) this.done.delete(e);
    // The current epoch and the next first (the chain certifies in them now), then the late ones.
    const epochs = [current, current + 1n];
    for (let e = current - 1n; e >= oldest; e--) epochs.push(e);
    for (const epoch of epochs) {
      if (epoch < 1n || this.done.has(epoch)) continue;
      // installCommittee needs the pinned block mined; the node reads a committee only once it is final.
      if (pinnedBlockFor(clock, epoch) > final || pinnedBlockFor(clock, epoch) >= head) continue;
      const since = this.dueSince.get(epoch) ?? now;
      this.dueSince.set(epoch, since);
      if (now - since < member * (this.options.staggerMs ?? 3_000)) continue;
      const installed = await read<{ size: number }>('committee', [epoch]).catch(() => undefined);
      if (installed) {
        this.record({ epoch, outcome: 'by-another', members: Number(installed.size) });
        continue;
      }
      await this.options.serialise(async () => {
        let request: unknown;
        try {
          ({ request } = await pub.simulateContract({
            address: verifier,
            abi,
            functionName: 'installCommittee',
            args: [epoch],
            account,
          }));
        } catch (err) {
          const name = customErrorOf(err)?.name;
          if (name === DONE) {
            const c = await read<{ size: number }>('committee', [epoch]);
            this.record({ epoch, outcome: 'by-another', members: Number(c.size) });
            return;
          }
          if (name === NOT_YET) return;
          if (name === EMPTY) {
            this.record({ epoch, outcome: 'no-stakers', members: 0 });
            return;
          }
          throw err;
        }
        // Another member's install may land between the simulation and this tx (its estimate then
        // fails, or the tx reverts): a race lost, not a failure.
        const lost = async (err: Error) => {
          const c = await read<{ size: number }>('committee', [epoch]).catch(() => undefined);
          if (!c) throw err;
          this.record({ epoch, outcome: 'by-another', members: Number(c.size) });
        };
        let tx: Hex;
        try {
          tx = await wallet.writeContract(request as never);
        } catch (err) {
          return lost(err as Error);
        }
        const receipt = await pub.waitForTransactionReceipt({ hash: tx, pollingInterval: 250 });
        if (receipt.status !== 'success')
          return lost(
            new Error(`installCommittee(${epoch}) reverted in L1 block ${receipt.blockNumber} (tx ${tx})`),
          );
        const c = await read<{ size: number }>('committee', [epoch]);
        this.record({ epoch, outcome: 'installed', members: Number(c.size), tx, gasUsed: receipt.gasUsed });
      });
    }
    return false;
  }

  private record(install: CommitteeInstall): void {
    this.done.add(install.epoch);
    this.dueSince.delete(install.epoch);
    this.installs.push(install);
    if (this.installs.length > 32) this.installs.shift();
    const fields = {
      epoch: Number(install.epoch),
      members: install.members,
      ...(install.tx && { tx: install.tx, gasUsed: Number(install.gasUsed) }),
    };
    if (install.outcome === 'installed')
      this.logger.info(fields, "installed the epoch's committee in the L1 CommitteeVerifier");
    else if (install.outcome === 'no-stakers')
      this.logger.warn(
        fields,
        "the epoch's committee on L1 is empty (nobody staked by its pinned block): there is none to install",
      );
    else this.logger.debug(fields, "the epoch's committee is installed on L1 (by another)");
  }
}
