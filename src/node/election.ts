import type { Logger } from 'pino';
import { createPublicClient, http, type PublicClient } from 'viem';
import { type Committee, quorumFor } from '../consensus/certificate.js';
import { AuctionSchedule } from '../election/auction.js';
import { EpochSchedule, SubsetSchedule } from '../election/epoch-schedule.js';
import { type EpochClock, epochAt } from '../election/epochs.js';
import { StakeWeightedSchedule } from '../election/pos.js';
import { type LeaderSchedule, PoaSchedule } from '../election/schedule.js';
import type { DeployedElection } from '../l1/deploy.js';
import { readAuctionWinner, readElectedCommittee, readStakedCommittee } from '../l1/election.js';
import type { Hex } from '../util/bytes.js';
import { sleep } from '../util/sleep.js';
import type { EpochCommitteeSource } from './committee.js';

/**
 * `--election`: who leads. single and poa need no L1; pos, dpos and auction read the election
 * contracts; based and free have no committee: anyone posts to an OpenInbox and L1 order decides.
 */
export const ELECTION_MODES = ['single', 'poa', 'pos', 'dpos', 'auction', 'based', 'free'] as const;
export type ElectionMode = (typeof ELECTION_MODES)[number];
export type CommitteeElectionMode = Exclude<ElectionMode, 'based' | 'free'>;

export function isOpenMode(mode: ElectionMode): mode is 'based' | 'free' {
  return mode === 'based' || mode === 'free';
}

export function parseElectionMode(v: string): ElectionMode {
  if ((ELECTION_MODES as readonly string[]).includes(v)) return v as ElectionMode;
  throw new Error(`unknown --election "${v}": use one of ${ELECTION_MODES.join(', ')}`);
}

export interface ElectedSchedule {
  schedule: LeaderSchedule;
  /** The L1 epoch whose committee the schedule was read for. */
  epoch: bigint;
  /** What the log and the dashboard say about the choice. */
  summary: Record<string, unknown>;
  /**
   * pos, dpos, auction: follows L1 and reads each epoch's schedule ahead (until the signal aborts);
   * `onSwitch` gets an epoch's summary when the chain enters it.
   */
  follow?: (signal: AbortSignal, onSwitch: (summary: Record<string, unknown>) => void) => Promise<void>;
}

/**
 * Where an auction member keeps the first view its epoch's rotation leads (the winner's deposition):
 * read back at start, since the TC that deposed it leaves the WAL once its blocks commit.
 */
export interface DepositionRecord {
  get(epoch: bigint): bigint | undefined;
  set(epoch: bigint, from: bigint): void;
}

interface L1Election {
  rpcUrl: string;
  election?: DeployedElection;
  confirmations: number;
}

/**
 * The leader schedule of a committee member for `mode`. The committee file gives the members (keys
 * and libp2p identities) and their index order; for pos, dpos and auction the L1 epoch's committee
 * (read from finalised L1 state, DECISIONS.md §7) names who proposes: all of the file's members or
 * some of them (a member voted out, slashed or unstaked stops proposing; it still certifies). A key
 * on L1 that is not in the committee file cannot be reached: at start that is an error, at a later
 * epoch it is left out with a warning.
 *
 * The returned schedule is an EpochSchedule: `follow` reads each epoch's committee, stakes, seed or
 * auction winner from L1 as soon as its pinned block is final (an epoch ahead), and the chain switches
 * to it, without stopping consensus, at its first block whose L1 origin is in it.
 */
export async function electedSchedule(
  mode: CommitteeElectionMode,
  memberKeys: readonly Hex[],
  l1: L1Election | undefined,
  logger: Logger,
  /** auction: keeps the winner's deposition across restarts. */
  depositions?: DepositionRecord,
  /**
   * --epoch-committees: each epoch's committee and schedule come from epochCommitteeSource; this one
   * is epoch 0's (the committee file's instance) and follows no epochs.
   */
  epochCommittees = false,
): Promise<ElectedSchedule> {
  if (mode === 'single' || mode === 'poa')
    return { schedule: new PoaSchedule(memberKeys), epoch: 0n, summary: { mode } };
  if (!l1?.election)
    throw new Error(
      `--election ${mode} reads the election contracts on L1: give --l1-rpc and an --l1-deployment that lists them (\`seqnet devnet --nodes 4 --election ${mode}\` deploys them)`,
    );
  const { election } = l1;
  const clock: EpochClock = {
    genesisBlock: BigInt(election.genesisBlock),
    epochLength: BigInt(election.epochLength),
  };
  const pub = createPublicClient({ transport: http(l1.rpcUrl) }) as PublicClient;
  const finalisedNow = async () => {
    const f = (await pub.getBlockNumber({ cacheTime: 0 })) - BigInt(l1.confirmations);
    return f < 0n ? 0n : f;
  };
  const finalised = await finalisedNow();
  const epoch = epochCommittees ? 0n : epochAt(clock, finalised);
  const first = await scheduleForEpoch(
    mode,
    memberKeys,
    pub,
    election,
    clock,
    epoch,
    finalised,
    logger,
    epochCommittees ? 'drop' : 'refuse',
    depositions,
  );
  const schedule = new EpochSchedule(epoch, first.schedule, clock);
  const summaries = new Map<bigint, Record<string, unknown>>([[epoch, first.summary]]);
  let switched: (summary: Record<string, unknown>) => void = () => {};
  // Called from inside the consensus core (a leaderFor over a chain that entered a new epoch): only
  // a log line and the dashboard's summary.
  schedule.onEnter = (entered) => {
    const summary = summaries.get(entered) ?? { mode, epoch: entered.toString() };
    logger.info({ epoch: Number(entered), ...summary }, `${mode}: the chain entered epoch ${entered}`);
    switched(summary);
    for (const e of summaries.keys()) if (e < entered - 1n) summaries.delete(e);
  };
  const follow = async (signal: AbortSignal, onSwitch: (summary: Record<string, unknown>) => void) => {
    switched = onSwitch;
    while (!signal.aborted) {
      await sleep(EPOCH_POLL_MS, signal);
      if (signal.aborted) break;
      // The epoch L1 is in, and the next one as soon as its pinned block is final (an epoch ahead):
      // the chain switches at its first block with an origin in it, which must find it here.
      const f = await finalisedNow().catch(() => undefined);
      if (f === undefined) continue;
      const now = epochAt(clock, f);
      for (const next of [now, now + 1n]) {
        if (next <= schedule.epoch || schedule.has(next)) continue;
        try {
          const read = await scheduleForEpoch(
            mode,
            memberKeys,
            pub,
            election,
            clock,
            next,
            f,
            logger,
            'warn',
            depositions,
          );
          summaries.set(next, read.summary);
          if (schedule.add(next, read.schedule))
            logger.info({ epoch: Number(next), ...read.summary }, `${mode}: read epoch ${next} from L1`);
        } catch (err) {
          // The next epoch's pinned block is not final yet: normal for most of an epoch.
          if (next > now) continue;
          logger.warn(
            { err: (err as Error).message },
            `${mode}: cannot read epoch ${next} from L1 yet; retrying`,
          );
        }
      }
    }
  };
  return { schedule, epoch, summary: first.summary, follow: epochCommittees ? undefined : follow };
}

/**
 * `--epoch-committees`: each epoch's certifying committee and leader schedule, from L1. The committee
 * is the election contract's at the epoch's pinned block — the StakeRegistry's for pos and auction
 * (the stakers certify), the Governance's for dpos — in the L1's order, exactly what
 * `CommitteeVerifier.installCommittee` installs, so certificates of the epoch verify on L1. Its
 * schedule is the mode's over that committee. Rejects while the pinned block is not final (or the
 * L1 cannot be read); each epoch is read once.
 */
export function epochCommitteeSource(
  mode: 'pos' | 'dpos' | 'auction',
  l1: L1Election,
  logger: Logger,
  depositions?: DepositionRecord,
): Pick<EpochCommitteeSource, 'epochOf'> & {
  instanceFor(
    epoch: bigint,
  ): Promise<{ committee: Committee; schedule: LeaderSchedule; summary: Record<string, unknown> }>;
} {
  const election = l1.election;
  if (!election)
    throw new Error('--epoch-committees reads the L1 election: the deployment lists no election contracts');
  const clock: EpochClock = {
    genesisBlock: BigInt(election.genesisBlock),
    epochLength: BigInt(election.epochLength),
  };
  const pub = createPublicClient({ transport: http(l1.rpcUrl) }) as PublicClient;
  const read = new Map<
    bigint,
    Promise<{ committee: Committee; schedule: LeaderSchedule; summary: Record<string, unknown> }>
  >();
  const load = async (epoch: bigint) => {
    const finalised = (await pub.getBlockNumber({ cacheTime: 0 })) - BigInt(l1.confirmations);
    const keys =
      mode === 'dpos'
        ? (await readElectedCommittee(pub, election.contracts.Governance, clock, epoch, finalised)).publicKeys
        : (await readStakedCommittee(pub, election.contracts.StakeRegistry, clock, epoch, finalised))
            .publicKeys;
    if (keys.length === 0)
      throw new Error(
        `the committee of epoch ${epoch} on L1 is empty: nobody had staked by its pinned block`,
      );
    const { schedule, summary } = await scheduleForEpoch(
      mode,
      keys,
      pub,
      election,
      clock,
      epoch,
      finalised,
      logger,
      'drop',
      depositions,
      false,
    );
    logger.info({ ...summary, committee: keys.length }, `epoch ${epoch}'s committee read from L1`);
    return { committee: { publicKeys: keys, quorum: quorumFor(keys.length) }, schedule, summary };
  };
  return {
    epochOf: (l1Block) => epochAt(clock, l1Block),
    instanceFor: (epoch) => {
      let p = read.get(epoch);
      if (!p) {
        p = load(epoch);
        read.set(epoch, p);
        p.catch(() => read.delete(epoch));
        for (const e of read.keys()) if (e < epoch - 8n) read.delete(e);
      }
      return p;
    },
  };
}

/** How often a member looks for a new epoch on L1 (the devnet's L1 makes a block a second). */
const EPOCH_POLL_MS = 500;

/**
 * What a key on L1 outside the committee file means: at start, an error (`refuse`); at a later epoch,
 * a member left out with a warning (`warn`). With --epoch-committees (`drop`) each epoch's committee
 * is read whole from L1 (epochCommitteeSource) and the file's schedule is epoch 0's only, so such a
 * key (a staker reached by its member record) is just not in it.
 */
type OutsideKeys = 'refuse' | 'warn' | 'drop';

/** Committee-file indices of `keys` (some of the members); keys not in the file are refused or dropped. */
function indicesIn(
  memberKeys: readonly Hex[],
  keys: readonly Hex[],
  what: string,
  epoch: bigint,
  outside: OutsideKeys,
  logger: Logger,
): number[] {
  const index = new Map(memberKeys.map((k, i) => [k.toLowerCase(), i]));
  const missing = keys.filter((k) => !index.has(k.toLowerCase()));
  if (missing.length && outside === 'refuse')
    throw new Error(
      `the ${what} of epoch ${epoch} on L1 has members that are not in the committee file: ${missing.join(', ')}. Write the L1 committee into the committee file and restart`,
    );
  if (missing.length && outside === 'warn')
    logger.warn(
      { epoch: Number(epoch), missing },
      `the ${what} has members that are not in the committee file: they cannot be reached and are left out (add them to the committee file and restart)`,
    );
  // In committee order, whatever order L1 lists them in (by stake or votes): every node gets the same.
  const out = keys
    .filter((k) => index.has(k.toLowerCase()))
    .map((k) => index.get(k.toLowerCase())!)
    .sort((a, b) => a - b);
  if (out.length === 0)
    throw new Error(`the ${what} of epoch ${epoch} on L1 has none of the committee file's members`);
  if (out.length < memberKeys.length)
    logger.info(
      { epoch: Number(epoch), proposers: out },
      `${memberKeys.length - out.length} member(s) of the committee file are not in the ${what}: they certify but do not propose`,
    );
  return out;
}

/** One epoch's schedule from L1: who proposes (committee indices), with stakes, seed or winner. */
async function scheduleForEpoch(
  mode: 'pos' | 'dpos' | 'auction',
  memberKeys: readonly Hex[],
  pub: PublicClient,
  election: DeployedElection,
  clock: EpochClock,
  epoch: bigint,
  finalised: bigint,
  logger: Logger,
  outside: OutsideKeys,
  depositions?: DepositionRecord,
  /** False for the instances of --epoch-committees after the first: they start on a boundary block. */
  startsChain = true,
): Promise<{ schedule: LeaderSchedule; summary: Record<string, unknown> }> {
  if (mode === 'pos') {
    const staked = await readStakedCommittee(pub, election.contracts.StakeRegistry, clock, epoch, finalised);
    const indices = indicesIn(memberKeys, staked.publicKeys, 'staked committee', epoch, outside, logger);
    const stakeOf = (i: number) =>
      staked.stakes[staked.publicKeys.findIndex((x) => x.toLowerCase() === memberKeys[i].toLowerCase())];
    const stakes = indices.map(stakeOf);
    const inner = new StakeWeightedSchedule({
      epoch,
      publicKeys: indices.map((i) => memberKeys[i]),
      stakes,
      seed: staked.seed,
    });
    logger.info(
      { epoch: Number(epoch), proposers: indices, stakes: stakes.map(String), seed: staked.seed },
      'pos: committee and seed from L1',
    );
    return {
      schedule: new SubsetSchedule(inner, indices, memberKeys),
      summary: {
        mode,
        epoch: epoch.toString(),
        proposers: indices,
        stakes: memberKeys.map((_, i) => (indices.includes(i) ? stakeOf(i).toString() : '0')),
        seed: staked.seed,
      },
    };
  }
  if (mode === 'dpos') {
    const elected = await readElectedCommittee(pub, election.contracts.Governance, clock, epoch, finalised);
    const indices = indicesIn(memberKeys, elected.publicKeys, 'elected committee', epoch, outside, logger);
    logger.info(
      { epoch: Number(epoch), proposers: indices, votes: elected.votes.map(String) },
      'dpos: elected committee from L1',
    );
    return {
      schedule: new SubsetSchedule(new PoaSchedule(indices.map((i) => memberKeys[i])), indices, memberKeys),
      summary: { mode, epoch: epoch.toString(), proposers: indices, elected: elected.members },
    };
  }
  const winner = await readAuctionWinner(
    pub,
    election.contracts.SequencerAuction,
    epoch,
    memberKeys,
    finalised,
  );
  logger.info(
    { epoch: Number(epoch), winner: winner.index, bidder: winner.bidder, bid: winner.amount.toString() },
    'auction: epoch winner from L1',
  );
  const auction = new AuctionSchedule(memberKeys, winner.index, { startsChain });
  const kept = depositions?.get(epoch);
  if (kept !== undefined) {
    auction.restoreDeposition(kept);
    logger.info(
      { epoch: Number(epoch), from: Number(kept) },
      'auction: the winner was deposed before the restart',
    );
  }
  auction.onDeposed = (from) => {
    logger.info({ epoch: Number(epoch), from: Number(from) }, 'auction: winner deposed, the rotation leads');
    depositions?.set(epoch, from);
  };
  return {
    schedule: auction,
    summary: { mode, epoch: epoch.toString(), winner: winner.index, bid: winner.amount.toString() },
  };
}
