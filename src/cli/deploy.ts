import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createPublicClient, type Hex, http, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  type DeployCommitteeOptions,
  type DeployedElection,
  deployL1Contracts,
  type L1Deployment,
  OPEN_MODES,
  type OpenMode,
} from '../l1/deploy.js';
import {
  DEFAULT_MAX_STAKERS,
  defaultMaxStakers,
  deployElectionContracts,
  INSTALL_GAS_BUDGET,
  installGasBound,
  MAX_STAKERS_LIMIT,
  maxStakersWithinBudget,
  setCommitteeSource,
} from '../l1/election.js';
import { isPrivateKey } from './flags.js';

interface DeployFlags {
  l1Rpc: string;
  privateKey?: string;
  sequencer?: string;
  finalisationDelay: number;
  committee?: string;
  quorum?: number;
  chainId: number;
  mode?: string;
  election?: string;
  governanceToken?: string;
  stakeInToken?: boolean;
  minStake: string;
  maxStakers?: string;
  unbondingDelay: string;
  epochLength: string;
  epochStart?: string;
  votingPeriod: string;
  auctionMinBid: string;
  auctionClose: string;
  out?: string;
}

/** The modes whose L1 contracts (StakeRegistry, Slasher, Governance, SequencerAuction) deploy adds. */
const ELECTIONS = ['pos', 'dpos', 'auction'] as const;

/** A whole number of L1 blocks from a flag. */
function blocksFlag(v: string, name: string, min = 0n): bigint {
  if (!/^\d+$/.test(v) || BigInt(v) < min)
    throw new Error(
      `--${name} must be a whole number of L1 blocks${min > 0n ? ` (at least ${min})` : ''}, got "${v}"`,
    );
  return BigInt(v);
}

/** An amount of ETH (or whole tokens) from a flag. */
function amountFlag(v: string, name: string): bigint {
  let x = -1n;
  try {
    x = parseEther(v);
  } catch {}
  if (x <= 0n) throw new Error(`--${name} must be a positive amount (ETH, or tokens), got "${v}"`);
  return x;
}

/**
 * With --election: checks every election flag (before anything is deployed, so a typo costs no gas)
 * and returns what deploys the election contracts next to the rollup's, for the committee of the
 * committee file (the most members a committee or an elected set holds), and what the deployment
 * JSON then says of them.
 */
async function prepareElection(
  flags: DeployFlags,
  key: Hex,
  committee: DeployCommitteeOptions,
): Promise<() => Promise<DeployedElection>> {
  const mode = flags.election as (typeof ELECTIONS)[number];
  const token = flags.governanceToken;
  if (!token || !isAddress(token))
    throw new Error(
      `--election ${mode} needs --governance-token ADDRESS: the rollup's ERC-20 token (dpos votes with it, its holders control the auction's treasury; --stake-in-token stakes it too)`,
    );
  const epochLength = blocksFlag(flags.epochLength, 'epoch-length', 10n);
  const closeBlocks = blocksFlag(flags.auctionClose, 'auction-close', 1n);
  if (closeBlocks >= epochLength)
    throw new Error(
      `--auction-close (${closeBlocks}) must be fewer L1 blocks than --epoch-length (${epochLength})`,
    );
  const minStake = amountFlag(flags.minStake, 'min-stake');
  const size = committee.publicKeys.length;
  const maxStakers = flags.maxStakers === undefined ? defaultMaxStakers(size) : Number(flags.maxStakers);
  if (!/^\d+$/.test(flags.maxStakers ?? '0') || maxStakers < size || maxStakers > MAX_STAKERS_LIMIT)
    throw new Error(
      `--max-stakers must be a whole number from the committee's size (${size}) to ${MAX_STAKERS_LIMIT}, got "${flags.maxStakers}"`,
    );
  const installGas = installGasBound(maxStakers, size);
  if (installGas > INSTALL_GAS_BUDGET)
    throw new Error(
      `installing a committee of ${size} from ${maxStakers} staker slots could take ${(installGas / 1e6).toFixed(1)}M gas, over the ${INSTALL_GAS_BUDGET / 1e6}M an L1 transaction may use (EIP-7825): ${
        maxStakersWithinBudget(size) >= size
          ? `give --max-stakers ${maxStakersWithinBudget(size)} or fewer`
          : 'use a smaller committee file'
      }`,
    );
  const minBid = amountFlag(flags.auctionMinBid, 'auction-min-bid');
  const unbondingDelay = blocksFlag(flags.unbondingDelay, 'unbonding-delay');
  const votingPeriod = blocksFlag(flags.votingPeriod, 'voting-period', 1n);
  const pub = createPublicClient({ transport: http(flags.l1Rpc) });
  const head = await pub.getBlockNumber();
  // Epoch 0's committee is the state at its first block: by default one epoch from now, so that
  // stakers (and dpos candidates and voters, auction bidders) can register before it.
  const genesisBlock =
    flags.epochStart !== undefined ? blocksFlag(flags.epochStart, 'epoch-start') : head + epochLength;
  if (genesisBlock <= head)
    throw new Error(
      `--epoch-start ${genesisBlock} is not after the L1 head (${head}): nobody could stake for epoch 0`,
    );
  return async () => {
    const contracts = await deployElectionContracts({
      rpcUrl: flags.l1Rpc,
      deployerKey: key,
      chainId: committee.chainId,
      clock: { genesisBlock, epochLength },
      ...(flags.stakeInToken && { stakeToken: token as Hex }),
      minStake,
      unbondingDelay,
      maxCommitteeSize: size,
      maxStakers,
      governanceToken: token as Hex,
      governanceCommitteeSize: size,
      votingPeriod,
      auction: { minBid, minIncrementBps: 500, closeBlocks },
      onProgress: (line) => console.error(`[deploy] ${line}`),
    });
    console.error(
      `[deploy] ${mode}: epoch 0 starts at L1 block ${genesisBlock}, ${epochLength} blocks an epoch; stakers register before it with \`seqnet stake register\``,
    );
    return {
      mode,
      genesisBlock: genesisBlock.toString(),
      epochLength: epochLength.toString(),
      contracts,
      token: token as Hex,
      ...(flags.stakeInToken && { stakeToken: true }),
    };
  };
}

const isAddress = (v: string) => /^0x[0-9a-fA-F]{40}$/.test(v);

/** The committee file of `seqnet node --committee`: {"members": [{"blsPublicKey", "peerId"}, …]}. */
function readCommittee(flags: DeployFlags): DeployCommitteeOptions {
  const file = flags.committee!;
  let json: { members?: Array<{ blsPublicKey?: string }> };
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the committee file ${file}: ${(err as Error).message}`);
  }
  const members = json.members ?? [];
  if (!members.length || members.some((m) => !/^0x[0-9a-fA-F]{96}$/.test(m.blsPublicKey ?? '')))
    throw new Error(
      `the committee file ${file} needs "members": [{"blsPublicKey": "0x…(48 bytes)", "peerId": "12D3…"}], one per member (\`seqnet keys\` prints them)`,
    );
  if (!Number.isSafeInteger(flags.chainId) || flags.chainId <= 0)
    throw new Error(`--chain-id must be a positive integer, got ${flags.chainId}`);
  if (flags.quorum !== undefined && !Number.isInteger(flags.quorum))
    throw new Error(`--quorum must be a whole number of members, got ${flags.quorum}`);
  return {
    publicKeys: members.map((m) => m.blsPublicKey as Hex),
    quorum: flags.quorum,
    chainId: BigInt(flags.chainId),
  };
}

export function registerDeploy(program: Command): void {
  program
    .command('deploy')
    .description(
      "deploy the rollup's L1 contracts (inbox, message queue, state oracle, bridge; with --committee a committee verifier) to any L1",
    )
    .requiredOption('--l1-rpc <url>', 'L1 JSON-RPC endpoint')
    .option('--private-key <hex>', 'deployer key (or env SEQNET_DEPLOYER_KEY)')
    .option('--sequencer <address>', 'L1 address allowed to post batches and outputs (default: the deployer)')
    .option(
      '--finalisation-delay <seconds>',
      'delay before withdrawals can be finalised on L1',
      (v) => Number(v),
      3600,
    )
    .option(
      '--committee <file>',
      'committee mode: deploy a CommitteeVerifier for these members (the JSON of `seqnet node --committee`) and an Inbox and StateOracle that take batches and outputs certified by them (with --mode: outputs only)',
    )
    .option('--quorum <n>', 'with --committee: signers a QC needs (default 2f + 1)', (v) => Number(v))
    .option(
      '--chain-id <id>',
      'with --committee: the rollup chain id the committee signs votes for',
      (v) => Number(v),
      42069,
    )
    .option(
      '--mode <mode>',
      `${OPEN_MODES.join(' | ')}: deploy an OpenInbox that anyone posts batches to, ordered by L1 (a --committee then certifies outputs only)`,
    )
    .option(
      '--election <mode>',
      `${ELECTIONS.join(' | ')}: also deploy the election contracts (StakeRegistry, Slasher, Governance, SequencerAuction) for the --committee; run the nodes with --election MODE`,
    )
    .option('--governance-token <address>', "with --election: the rollup's ERC-20 governance token")
    .option('--stake-in-token', 'with --election: stakes are in the governance token, not ETH')
    .option('--min-stake <amount>', 'with --election: the least stake, in ETH (or tokens)', '1')
    .option(
      '--max-stakers <n>',
      `with --election: how many stakers can be bonded at once (${DEFAULT_MAX_STAKERS}, or fewer where installing a committee from them would not fit one L1 transaction); when all slots are taken a newcomer must out-stake the smallest, who is evicted`,
    )
    .option(
      '--unbonding-delay <blocks>',
      'with --election: L1 blocks from unbond to withdraw (7 days)',
      '50400',
    )
    .option('--epoch-length <blocks>', 'with --election: L1 blocks per epoch (a day)', '7200')
    .option(
      '--epoch-start <block>',
      "with --election: epoch 0's first L1 block (default: one epoch from now)",
    )
    .option('--voting-period <blocks>', 'with --election: dpos vote-out period, in L1 blocks', '7200')
    .option('--auction-min-bid <eth>', "with --election: the auction's least bid", '0.1')
    .option(
      '--auction-close <blocks>',
      'with --election: the auction closes this many L1 blocks before its epoch',
      '5',
    )
    .option('--out <file>', 'write the deployment JSON here (default: print it)')
    .action(async (flags: DeployFlags) => {
      const key = flags.privateKey ?? process.env.SEQNET_DEPLOYER_KEY;
      if (!key || !isPrivateKey(key)) {
        throw new Error(
          'pass the deployer key as --private-key 0x… (32 bytes hex) or in SEQNET_DEPLOYER_KEY',
        );
      }
      const sequencer = flags.sequencer ?? privateKeyToAccount(key as Hex).address;
      if (!isAddress(sequencer))
        throw new Error(`--sequencer must be a 20-byte hex address, got "${sequencer}"`);
      if (!Number.isInteger(flags.finalisationDelay) || flags.finalisationDelay < 0) {
        throw new Error('--finalisation-delay must be a non-negative number of seconds');
      }
      if (flags.mode !== undefined && !(OPEN_MODES as readonly string[]).includes(flags.mode))
        throw new Error(
          `unknown --mode "${flags.mode}": use ${OPEN_MODES.join(' or ')} (leave it out for a single key or --committee)`,
        );
      if (flags.election !== undefined) {
        if (!(ELECTIONS as readonly string[]).includes(flags.election))
          throw new Error(
            `unknown --election "${flags.election}": use ${ELECTIONS.join(', ')} (poa needs only --committee; based and free are --mode)`,
          );
        if (!flags.committee)
          throw new Error(
            `--election ${flags.election} needs --committee FILE: the members that certify blocks (\`seqnet keys\` on each prints its entry)`,
          );
        if (flags.mode !== undefined)
          throw new Error(
            `--election ${flags.election} and --mode ${flags.mode} do not go together: an election picks who orders`,
          );
      }
      const committee = flags.committee ? readCommittee(flags) : undefined;
      const deployElection =
        flags.election && committee ? await prepareElection(flags, key as Hex, committee) : undefined;
      const deployment: L1Deployment = await deployL1Contracts({
        rpcUrl: flags.l1Rpc,
        deployerKey: key as Hex,
        sequencer: sequencer as Hex,
        finalisationDelaySeconds: flags.finalisationDelay,
        ...(committee && { committee }),
        ...(flags.mode && { openMode: flags.mode as OpenMode }),
        onProgress: (line) => console.error(`[deploy] ${line}`),
      });
      if (deployElection) {
        deployment.election = await deployElection();
        const verifier = deployment.contracts.CommitteeVerifier;
        if (verifier) {
          const handed = await setCommitteeSource({
            rpcUrl: flags.l1Rpc,
            ownerKey: key as Hex,
            verifier,
            mode: flags.election!,
            contracts: deployment.election.contracts,
          });
          console.error(
            `[deploy] CommitteeVerifier: epoch 0's committee is the committee file's; later epochs' are installed from ${handed.source} (the ${flags.election === 'dpos' ? 'Governance' : 'StakeRegistry'}) by the members once each epoch's pinned L1 block is final`,
          );
        }
      }
      const json = `${JSON.stringify(deployment, null, 2)}\n`;
      if (flags.out) {
        writeFileSync(flags.out, json);
        console.error(`[deploy] written to ${flags.out}`);
      } else {
        process.stdout.write(json);
      }
    });
}
