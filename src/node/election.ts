import type { Logger } from 'pino';
import { createPublicClient, http, type PublicClient } from 'viem';
import { AuctionSchedule } from '../election/auction.js';
import { type EpochClock, epochAt } from '../election/epochs.js';
import { StakeWeightedSchedule } from '../election/pos.js';
import { type LeaderSchedule, PoaSchedule } from '../election/schedule.js';
import type { DeployedElection } from '../l1/deploy.js';
import { readAuctionWinner, readElectedCommittee, readStakedCommittee } from '../l1/election.js';
import type { Hex } from '../util/bytes.js';

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
}

/**
 * The leader schedule of a committee member for `mode`. The committee file gives the members (keys
 * and libp2p identities) and their index order; for pos, dpos and auction the current L1 epoch's
 * committee (read from finalised L1 state, DECISIONS.md §7) must be the same set, and gives the
 * stakes, the seed or the auction winner.
 *
 * The committee is read once, at start: switching committees at an epoch boundary while running is
 * not built yet, so a node must be restarted with the new committee file when the L1 committee changes.
 */
export async function electedSchedule(
  mode: CommitteeElectionMode,
  memberKeys: readonly Hex[],
  l1: { rpcUrl: string; election?: DeployedElection; confirmations: number } | undefined,
  logger: Logger,
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
  const finalised = (await pub.getBlockNumber({ cacheTime: 0 })) - BigInt(l1.confirmations);
  const epoch = epochAt(clock, finalised < 0n ? 0n : finalised);
  const index = new Map(memberKeys.map((k, i) => [k.toLowerCase(), i]));
  const sameSet = (keys: readonly Hex[], what: string) => {
    const missing = keys.filter((k) => !index.has(k.toLowerCase()));
    const extra = memberKeys.filter((k) => !keys.some((x) => x.toLowerCase() === k.toLowerCase()));
    if (missing.length || extra.length)
      throw new Error(
        `the ${what} of epoch ${epoch} on L1 is not the committee file's: ${missing.length ? `not in the file: ${missing.join(', ')}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `not on L1: ${extra.join(', ')}` : ''}. Write the L1 committee into the committee file and restart`,
      );
  };
  if (mode === 'pos') {
    const staked = await readStakedCommittee(pub, election.contracts.StakeRegistry, clock, epoch, finalised);
    sameSet(staked.publicKeys, 'staked committee');
    const stakes = memberKeys.map(
      (k) => staked.stakes[staked.publicKeys.findIndex((x) => x.toLowerCase() === k.toLowerCase())],
    );
    const schedule = new StakeWeightedSchedule({
      epoch,
      publicKeys: [...memberKeys],
      stakes,
      seed: staked.seed,
    });
    logger.info(
      { epoch: Number(epoch), stakes: stakes.map(String), seed: staked.seed },
      'pos: committee and seed from L1',
    );
    return {
      schedule,
      epoch,
      summary: { mode, epoch: epoch.toString(), stakes: stakes.map(String), seed: staked.seed },
    };
  }
  if (mode === 'dpos') {
    const elected = await readElectedCommittee(pub, election.contracts.Governance, clock, epoch, finalised);
    sameSet(elected.publicKeys, 'elected committee');
    logger.info(
      { epoch: Number(epoch), votes: elected.votes.map(String) },
      'dpos: elected committee from L1',
    );
    return {
      schedule: new PoaSchedule(memberKeys),
      epoch,
      summary: { mode, epoch: epoch.toString(), elected: elected.members },
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
  return {
    schedule: new AuctionSchedule(memberKeys, winner.index),
    epoch,
    summary: { mode, epoch: epoch.toString(), winner: winner.index, bid: winner.amount.toString() },
  };
}
