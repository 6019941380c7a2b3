import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { INCLUSION_PROMISE_WINDOW } from '../batcher/inclusion-promise.js';
import type { L1Deployment } from '../l1/deploy.js';
import { type CommitteeMember, type CommitteeOptions, committeeDefaults } from '../node/committee-options.js';
import { ELECTION_MODES, isOpenMode, parseElectionMode } from '../node/election.js';
import { SeqnetNode } from '../node/node.js';
import { l1Defaults } from '../node/options.js';
import { addNodeFlags, type CommonFlags, isPrivateKey, nodeOptionsFromFlags } from './flags.js';
import { createLogger } from './logger.js';
import { onShutdown } from './shutdown.js';

interface NodeFlags extends CommonFlags {
  election: string;
  committee?: string;
  p2pListen: string;
  bootnodes?: string;
  viewTimeout: number;
  fixedViewTimeout?: boolean;
  /** commander's `--no-disconnect-timeouts`: false when given. */
  disconnectTimeouts?: boolean;
  follow?: boolean;
  epochCommittees?: boolean;
  l1Rpc?: string;
  l1Deployment?: string;
  l1Confirmations: number;
  sequencerRpc?: string;
  preconf?: boolean;
}

/**
 * The committee from `--committee FILE`, or from the `--config` file's `committee` key (a path, or
 * the object inline) with `p2pListen`, `bootnodes`, `viewTimeout`, `fixedViewTimeout`,
 * `disconnectTimeouts` and `follow` beside it; flags win.
 */
function readCommittee(flags: NodeFlags, cmd: Command): CommitteeOptions | undefined {
  const config = flags.config
    ? (JSON.parse(readFileSync(flags.config, 'utf8')) as Record<string, unknown>)
    : {};
  const fromCli = (name: string) => cmd.getOptionValueSource(name) === 'cli';
  const source =
    flags.committee ?? (config.committee as string | { members?: CommitteeMember[] } | undefined);
  if (source === undefined) return undefined;
  let file: { members?: CommitteeMember[]; bootnodes?: string[] };
  if (typeof source === 'string') {
    try {
      file = JSON.parse(readFileSync(source, 'utf8'));
    } catch (err) {
      throw new Error(`cannot read the committee file ${source}: ${(err as Error).message}`);
    }
  } else file = source;
  const where = typeof source === 'string' ? `the committee file ${source}` : 'the config\'s "committee"';
  const members = file.members ?? [];
  if (!members.length || members.some((m) => !/^0x[0-9a-fA-F]{96}$/.test(m.blsPublicKey ?? '') || !m.peerId))
    throw new Error(
      `${where} needs "members": [{"blsPublicKey": "0x…(48 bytes)", "peerId": "12D3…"}], one per member (\`seqnet keys\` prints them)`,
    );
  const cliBoot = flags.bootnodes ? flags.bootnodes.split(',') : [];
  const configBoot = Array.isArray(config.bootnodes) ? (config.bootnodes as string[]) : [];
  return {
    ...committeeDefaults,
    members,
    listen: fromCli('p2pListen') || typeof config.p2pListen !== 'string' ? flags.p2pListen : config.p2pListen,
    bootnodes: [...(file.bootnodes ?? []), ...configBoot, ...cliBoot],
    viewTimeoutMs:
      fromCli('viewTimeout') || typeof config.viewTimeout !== 'number'
        ? flags.viewTimeout
        : config.viewTimeout,
    fixedViewTimeout: flags.fixedViewTimeout === true || config.fixedViewTimeout === true,
    disconnectTimeouts: flags.disconnectTimeouts !== false && config.disconnectTimeouts !== false,
    follow: flags.follow === true || config.follow === true,
    epochCommittees: flags.epochCommittees === true || config.epochCommittees === true,
  };
}

export function registerNode(program: Command): void {
  const cmd = program.command('node').description('run one sequencer node from a config file or flags');
  addNodeFlags(cmd)
    .option(
      '--l1-rpc <url>',
      'L1 JSON-RPC endpoint (with --l1-deployment): follow deposits and forced txs, post batches',
    )
    .option('--l1-deployment <file>', 'the L1 deployment JSON from `seqnet deploy`')
    .option(
      '--l1-confirmations <n>',
      'L1 blocks on top before an L1 block can be an L2 origin',
      (v) => Number(v),
      l1Defaults.confirmations,
    )
    .option(
      '--sequencer-rpc <url>',
      'based / free without SEQNET_BATCHER_KEY: forward eth_sendRawTransaction to this RPC, a node that posts (otherwise such a node refuses txs)',
    )
    .option(
      '--preconf',
      `based with SEQNET_BATCHER_KEY: opt in to preconfirmations: promise, signed by the L1 key that posts (EIP-712), that a batch of this node's carries each tx it accepts to L1 within ${INCLUSION_PROMISE_WINDOW} L1 blocks (seqnet_getPreconfirmation serves the promise)`,
    )
    .option(
      '--committee <file>',
      'run as a member of this committee (JSON: {"members": [{"blsPublicKey", "peerId"}], "bootnodes": [...]}); in based / free it only certifies outputs',
    )
    .option('--p2p-listen <multiaddr>', 'committee: libp2p listen address', '/ip4/127.0.0.1/tcp/9745')
    .option(
      '--bootnodes <multiaddrs>',
      'committee: comma-separated multiaddrs (with /p2p/<id>) of other members',
    )
    .option(
      '--election <mode>',
      `who sequences: ${ELECTION_MODES.filter((m) => m !== 'single').join(' | ')} (pos, dpos and auction: a committee reading the election contracts on L1; based and free: no committee, an --l1-deployment with an OpenInbox)`,
      'poa',
    )
    .option(
      '--misbehave.equivocate',
      'TESTING ONLY: as leader, also sign and publish a conflicting proposal for each view',
    )
    .option(
      '--view-timeout <ms>',
      'committee: view timeout ceiling (the timeout adapts below it to 4 × the slowest recent view, at least a quarter of it)',
      (v) => Number(v),
      committeeDefaults.viewTimeoutMs,
    )
    .option('--fixed-view-timeout', 'committee: always wait the whole --view-timeout (no adapting)')
    .option(
      '--follow',
      "committee: follow the committee without being a member (this node's key is not in the committee file): take its committed blocks with their commit proofs from the members, check and serve them, send txs on to the members",
    )
    .option(
      '--epoch-committees',
      "pos | dpos | auction: each epoch's certifying committee is the L1 election's (stakers, or the elected), not the committee file's; the chain hands over at the epoch's first block, and a node outside an epoch's committee follows the chain meanwhile (the file lists every node that may be in one)",
    )
    .option(
      '--no-disconnect-timeouts',
      "committee: wait out a view's timeout even when its leader or vote collector has closed its connections (default: give such a view up at once)",
    )
    .action(async (flags: NodeFlags) => {
      const logger = createLogger(flags.logLevel);
      const options = nodeOptionsFromFlags(flags, cmd);
      options.committee = readCommittee(flags, cmd);
      options.election = parseElectionMode(flags.election);
      const open = isOpenMode(options.election);
      if (!options.committee && !open && options.election !== 'poa' && options.election !== 'single')
        throw new Error(`--election ${options.election} needs a committee: pass --committee FILE`);
      // based / free: a committee does not order; with --committee it certifies outputs (withdrawals).
      if (options.committee && (flags['misbehave.equivocate'] === true || flags.misbehaveEquivocate === true))
        options.committee.misbehave = { equivocate: true };
      if (options.committee?.epochCommittees && !['pos', 'dpos', 'auction'].includes(options.election))
        throw new Error(
          `--epoch-committees takes each epoch's committee from the L1 election: use --election pos | dpos | auction (got ${options.election})`,
        );
      if (flags.epochCommittees && !options.committee)
        throw new Error(
          "--epoch-committees needs --committee FILE: the nodes that may be in an epoch's committee",
        );
      if (flags.follow && !options.committee)
        throw new Error('--follow follows a committee: pass --committee FILE (the members to follow)');
      if (options.committee?.follow && open)
        throw new Error(
          `--follow follows a committee's chain; in ${options.election} the chain is L1 order: \`seqnet verify --follow\` follows it from L1`,
        );
      if (Boolean(flags.l1Rpc) !== Boolean(flags.l1Deployment)) {
        throw new Error('--l1-rpc and --l1-deployment go together');
      }
      if (flags.l1Rpc && flags.l1Deployment) {
        const batcherKey = process.env.SEQNET_BATCHER_KEY;
        const reporterKey = process.env.SEQNET_REPORTER_KEY;
        for (const [name, key] of [
          ['SEQNET_BATCHER_KEY', batcherKey],
          ['SEQNET_REPORTER_KEY', reporterKey],
        ] as const)
          if (key !== undefined && !isPrivateKey(key))
            throw new Error(`${name} must be a 32-byte hex private key (0x…)`);
        options.l1 = {
          rpcUrl: flags.l1Rpc,
          deployment: JSON.parse(readFileSync(flags.l1Deployment, 'utf8')) as L1Deployment,
          confirmations: flags.l1Confirmations,
          pollMs: l1Defaults.pollMs,
          batcherKey: batcherKey as `0x${string}` | undefined,
          reporterKey: reporterKey as `0x${string}` | undefined,
          ...(flags.sequencerRpc && { forwardTxsTo: flags.sequencerRpc }),
        };
        if (batcherKey && options.committee?.follow)
          throw new Error(
            'a follower (--follow) posts nothing: unset SEQNET_BATCHER_KEY (the members post the batches), or run this node as a member',
          );
        if (!batcherKey && !options.committee?.follow)
          logger.warn('no SEQNET_BATCHER_KEY: following the L1 but not posting batches');
      }
      const openMode = options.l1?.deployment.openMode;
      if (open && openMode !== options.election)
        throw new Error(
          `--election ${options.election} needs --l1-rpc and an --l1-deployment with an OpenInbox for it (\`seqnet deploy --mode ${options.election}\`)${openMode ? `; this one is for ${openMode}` : ''}`,
        );
      if (!open && openMode)
        throw new Error(
          `the L1 deployment is for --election ${openMode} (an OpenInbox that anyone posts to): pass --election ${openMode}`,
        );
      if (flags.preconf) {
        if (options.election !== 'based' || !options.l1?.batcherKey)
          throw new Error(
            `--preconf is for a based node that posts (--election based, an --l1-deployment for it and SEQNET_BATCHER_KEY): its promises are kept by its own batches${options.election === 'based' ? '; this node has no SEQNET_BATCHER_KEY' : `; this node runs --election ${options.election}`}`,
          );
        options.l1.preconf = true;
      }
      if (flags.sequencerRpc !== undefined) {
        if (!open || options.l1?.batcherKey)
          throw new Error(
            '--sequencer-rpc is for a based / free node without SEQNET_BATCHER_KEY (it forwards txs to a node that posts); this node orders or posts its own',
          );
        if (!/^https?:\/\/\S+$/.test(flags.sequencerRpc))
          throw new Error(
            `--sequencer-rpc takes an http(s) URL, e.g. http://127.0.0.1:9545; got "${flags.sequencerRpc}"`,
          );
      }
      const node = await SeqnetNode.start(options, logger);
      console.log(
        `seqnet node: RPC http://${options.rpc.host}:${options.rpc.port} (ws on the same port), chain id ${options.chain.chainId}`,
      );
      onShutdown(logger, () => node.stop());
    });
}
