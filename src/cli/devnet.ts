import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createPublicClient, type Hex, http } from 'viem';
import { devAccounts } from '../execution/genesis.js';
import { Anvil } from '../l1/anvil.js';
import type { OpenMode } from '../l1/deploy.js';
import { deployL1Contracts, type L1Deployment } from '../l1/deploy.js';
import { setCommitteeSource } from '../l1/election.js';
import { ELECTION_MODES, type ElectionMode, isOpenMode, parseElectionMode } from '../node/election.js';
import { loadOrCreateKeys } from '../node/keys.js';
import { SeqnetNode } from '../node/node.js';
import type { NodeOptions } from '../node/options.js';
import { prepareCommitteeMembers, startCommitteeDevnet } from './committee-devnet.js';
import { DEVNET_EPOCH_LENGTH, setUpDevnetElection } from './election-devnet.js';
import { addNodeFlags, type CommonFlags, nodeOptionsFromFlags } from './flags.js';
import { createLogger } from './logger.js';
import { onShutdown } from './shutdown.js';

interface DevnetFlags extends CommonFlags {
  nodes: number;
  epochLength: number;
  unstakedMembers?: string;
  epochCommittees?: boolean;
  stakeToken?: boolean;
  posters?: number;
  preconf?: boolean;
  followers: number;
  election: string;
  p2pPort: number;
  l1Port: number;
  l1: boolean;
  l1Confirmations: number;
}

export function registerDevnet(program: Command): void {
  const cmd = program
    .command('devnet')
    .description('start a local devnet: embedded L1 (anvil), a sequencer node with RPC and dashboard');
  addNodeFlags(cmd)
    .option(
      '--nodes <n>',
      'sequencer nodes: 1 = the single sequencer; 4 = a BFT committee of 4 processes',
      (v) => Number(v),
      1,
    )
    .option(
      '--followers <k>',
      "committee: also start k followers (`seqnet node --follow`: not members; they take the committed blocks with their proofs from the members and serve RPC on the ports after the members')",
      (v) => Number(v),
      0,
    )
    .option(
      '--p2p-port <port>',
      'committee: libp2p port of node 0 (node i listens on port + i)',
      (v) => Number(v),
      9745,
    )
    .option(
      '--election <mode>',
      `who sequences: ${ELECTION_MODES.filter((m) => m !== 'single').join(' | ')} (pos, dpos, auction: the devnet deploys and seeds the election contracts; based, free: N nodes that each post to an OpenInbox; their committee only certifies outputs)`,
      'poa',
    )
    .option(
      '--epoch-length <blocks>',
      'pos, dpos, auction: L1 blocks per election epoch (committees, seeds and auctions change at each boundary)',
      (v) => Number(v),
      Number(DEVNET_EPOCH_LENGTH),
    )
    .option(
      '--epoch-committees',
      "pos, dpos, auction: each epoch's certifying committee is the L1 election's (the nodes' `--epoch-committees`): a node whose stake is not in an epoch's committee follows the chain until it is again",
    )
    .option(
      '--unstaked-members <i,j>',
      'pos, dpos: these committee members do not stake at set-up (they certify, and can stake later to propose)',
    )
    .option(
      '--posters <k>',
      'based, free: only the first k nodes post batches and outputs with an L1 key; the others forward txs to them, serve RPC and certify outputs (default: all)',
      (v) => Number(v),
    )
    .option(
      '--preconf',
      'based: the nodes that post opt in to preconfirmations (each tx they accept gets a signed promise that their batch carries it to L1, served by seqnet_getPreconfirmation)',
    )
    .option(
      '--stake-token',
      "pos, dpos, auction: stakes are in the devnet's ERC-20 token (SEQ, 100 to each member's L1 account) instead of ETH",
    )
    .option(
      '--misbehave.equivocate-node <i>',
      'TESTING ONLY: committee node i signs and publishes a conflicting proposal in each view it leads',
    )
    .option('--l1-port <port>', 'port of the embedded L1 (anvil)', (v) => Number(v), 8545)
    .option('--no-l1', 'do not start the embedded L1')
    .option(
      '--l1-confirmations <n>',
      'L1 blocks on top before an L1 block can be an L2 origin',
      (v) => Number(v),
      1,
    )
    .action(async (flags: DevnetFlags) => {
      const logger = createLogger(flags.logLevel);
      const options = nodeOptionsFromFlags(flags, cmd);
      mkdirSync(options.dataDir, { recursive: true });
      const step = (msg: string) => console.error(`[devnet] ${msg}`);
      // Flags first: a refused flag must not leave an L1 running.
      const election = parseElectionMode(flags.election);
      const open = isOpenMode(election);
      if (flags.epochCommittees && !['pos', 'dpos', 'auction'].includes(election))
        throw new Error(
          `--epoch-committees takes each epoch's committee from the L1 election: use --election pos | dpos | auction (got ${election})`,
        );
      if (open && !flags.l1) throw new Error(`--election ${election} orders by L1: leave out --no-l1`);
      if (
        flags.posters !== undefined &&
        (!open || !Number.isInteger(flags.posters) || flags.posters < 1 || flags.posters > flags.nodes)
      )
        throw new Error(
          `--posters is for --election based | free and takes a whole number from 1 to --nodes (${flags.nodes}); got ${flags.posters}`,
        );
      if (!Number.isInteger(flags.followers) || flags.followers < 0 || flags.followers > 16)
        throw new Error(`--followers takes a whole number from 0 to 16; got ${flags.followers}`);
      if (flags.followers > 0 && (open || flags.nodes < 2))
        throw new Error(
          `--followers follow a committee: use --nodes 4 (or more) with --election poa | pos | dpos | auction; got --nodes ${flags.nodes} --election ${election}`,
        );
      if (flags.preconf && election !== 'based')
        throw new Error(
          `--preconf is for --election based (its posters promise inclusion; a committee preconfirms with certificates); got --election ${election}`,
        );
      let anvil: Anvil | undefined;
      if (flags.l1) {
        step(`starting L1 (anvil) on 127.0.0.1:${flags.l1Port}…`);
        anvil = await Anvil.start({
          host: '127.0.0.1',
          port: flags.l1Port,
          chainId: 31337,
          blockTime: 1,
          // L1 finality 8 s behind the head, not Ethereum's ~13 min: `based` / `free` outputs wait for it.
          slotsInAnEpoch: 4,
          statePath: join(resolve(options.dataDir), 'l1-state.json'),
        });
      }
      // A committee's keys come first: the L1 Inbox is deployed to accept that committee's certificates.
      const members =
        flags.nodes > 1 || open
          ? await prepareCommitteeMembers({
              nodes: flags.nodes,
              dataDir: options.dataDir,
              rpcHost: options.rpc.host,
              rpcPort: options.rpc.port,
              p2pPort: flags.p2pPort,
            })
          : undefined;
      let deployment: L1Deployment | undefined;
      if (anvil)
        deployment = await ensureL1Contracts(
          anvil.url,
          options.dataDir,
          step,
          // based / free: the members do not order, but they certify outputs (withdrawals).
          members
            ? { publicKeys: members.map((m) => m.blsPublicKey), chainId: options.chain.chainId }
            : undefined,
          open ? election : undefined,
        );
      if (!open && election !== 'poa' && election !== 'single') {
        if (flags.nodes < 2 || !anvil || !deployment || !members)
          throw new Error(
            `--election ${election} needs a committee and the L1: use --nodes 4 (and not --no-l1)`,
          );
        if (!Number.isInteger(flags.epochLength) || flags.epochLength < 10)
          throw new Error(
            `--epoch-length must be a whole number of L1 blocks, at least 10; got ${flags.epochLength}`,
          );
        const unstaked = (flags.unstakedMembers ?? '')
          .split(',')
          .filter((x) => x !== '')
          .map(Number);
        if (unstaked.some((i) => !Number.isInteger(i) || i < 0 || i >= flags.nodes))
          throw new Error(`--unstaked-members takes node indices below ${flags.nodes}, e.g. 3 or 2,3`);
        if (unstaked.length >= flags.nodes)
          throw new Error('--unstaked-members: at least one member must stake');
        deployment = await ensureElection(anvil.url, options, deployment, election, members, step, {
          epochLength: BigInt(flags.epochLength),
          unstaked,
          stakeToken: flags.stakeToken === true,
        });
      }
      if (flags.nodes > 1 || open) {
        await runCommittee(flags, options, anvil, deployment, step, members!, election);
        return;
      }
      step(`starting sequencer (data dir ${options.dataDir})…`);
      let node: SeqnetNode;
      try {
        node = await SeqnetNode.start(
          anvil && deployment
            ? {
                ...options,
                // The devnet's L1 makes a block a second; one confirmation keeps deposits quick.
                l1: {
                  rpcUrl: anvil.url,
                  deployment,
                  confirmations: flags.l1Confirmations,
                  pollMs: 250,
                  // The devnet's sequencer posts with test account 1, the key the Inbox authorises.
                  batcherKey: devAccounts(2)[1].privateKey,
                },
              }
            : options,
          logger,
        );
      } catch (err) {
        await anvil?.stop();
        throw err;
      }
      const rpcUrl = `http://${options.rpc.host}:${options.rpc.port}`;
      const accounts = devAccounts(10);
      const info = {
        chainId: Number(options.chain.chainId),
        rpc: rpcUrl,
        ws: rpcUrl.replace('http', 'ws'),
        dashboard: `${rpcUrl}/`,
        metrics: `${rpcUrl}/metrics`,
        l1: anvil ? { rpc: anvil.url, chainId: 31337, contracts: deployment?.contracts } : null,
        blockTimeMs: options.sequencer.blockTimeMs,
        ordering: options.ordering,
        accounts: accounts.map((a) => ({
          address: a.address,
          privateKey: a.privateKey,
          balance: '10000 ETH',
        })),
      };
      writeFileSync(join(options.dataDir, 'devnet.json'), `${JSON.stringify(info, null, 2)}\n`);
      console.log(
        [
          '',
          'seqnet devnet is running',
          `  rollup RPC   ${info.rpc}   (WebSocket ${info.ws})`,
          `  chain id     ${info.chainId}`,
          `  dashboard    ${info.dashboard}`,
          `  metrics      ${info.metrics}`,
          `  L1 (anvil)   ${anvil ? anvil.url : 'not started (--no-l1)'}`,
          ...(deployment
            ? Object.entries(deployment.contracts).map(
                ([name, address]) => `    ${name.padEnd(20)} ${address}`,
              )
            : []),
          `  block time   ${info.blockTimeMs === 0 ? 'a block as soon as txs arrive' : `${info.blockTimeMs} ms`}`,
          '',
          'Funded accounts (10,000 ETH each, mnemonic "test test … junk"):',
          ...accounts.map((a, i) => `  (${i}) ${a.address}  ${a.privateKey}`),
          '',
          `Written to ${join(options.dataDir, 'devnet.json')}. Ctrl-C stops everything; run again to resume.`,
          '',
        ].join('\n'),
      );
      onShutdown(logger, async () => {
        await node.stop();
        await anvil?.stop();
      });
    });
}

/**
 * Deploys the L1 contracts on the devnet's anvil once per data dir; a restart finds them in anvil's
 * saved state. If the L1 state was lost (no code at the recorded address), they are deployed again.
 */
async function ensureL1Contracts(
  l1Url: string,
  dataDir: string,
  step: (msg: string) => void,
  committee?: { publicKeys: Hex[]; chainId: bigint },
  openMode?: OpenMode,
): Promise<L1Deployment> {
  const file = join(dataDir, 'l1-deployment.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as L1Deployment;
    const sameCommittee =
      JSON.stringify(saved.committee?.publicKeys ?? null) === JSON.stringify(committee?.publicKeys ?? null) &&
      saved.openMode === openMode;
    if (sameCommittee && (await hasCode(l1Url, saved.contracts.Bridge))) return saved;
    step(
      sameCommittee
        ? 'L1 state was reset: deploying the L1 contracts again'
        : 'the committee or mode changed: deploying L1 contracts for it',
    );
  }
  const [deployer, sequencer] = devAccounts(2);
  const deployment = await deployL1Contracts({
    rpcUrl: l1Url,
    deployerKey: deployer.privateKey,
    sequencer: sequencer.address,
    finalisationDelaySeconds: 60,
    committee,
    openMode,
    onProgress: step,
  });
  writeFileSync(file, `${JSON.stringify(deployment, null, 2)}\n`);
  return deployment;
}

/** Flags every committee node gets from the devnet's command line: chain, ordering, logs, mempool limits. */
function passThroughArgs(flags: DevnetFlags): string[] {
  const out = [
    '--chain-id',
    String(flags.chainId),
    '--ordering',
    flags.ordering,
    '--log-level',
    flags.logLevel,
    '--da',
    flags.da,
    ...(flags.epochCommittees ? ['--epoch-committees'] : []),
  ];
  const argv = process.argv;
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--mempool.')) continue;
    if (argv[i].includes('=')) out.push(argv[i]);
    else out.push(argv[i], argv[i + 1]);
  }
  return out;
}

/** `--misbehave.equivocate-node i`: the flag node i gets. */
function equivocator(flags: DevnetFlags): Record<number, string[]> | undefined {
  const raw = flags['misbehave.equivocateNode'] ?? flags['misbehave.equivocate-node'];
  if (raw === undefined) return undefined;
  const i = Number(raw);
  if (!Number.isInteger(i) || i < 0 || i >= flags.nodes)
    throw new Error(
      `--misbehave.equivocate-node must be a node index below ${flags.nodes}, got "${String(raw)}"`,
    );
  return { [i]: ['--misbehave.equivocate'] };
}

async function runCommittee(
  flags: DevnetFlags,
  options: NodeOptions,
  anvil: Anvil | undefined,
  deployment: L1Deployment | undefined,
  step: (msg: string) => void,
  members: Awaited<ReturnType<typeof prepareCommitteeMembers>>,
  election: ElectionMode,
): Promise<void> {
  let net: Awaited<ReturnType<typeof startCommitteeDevnet>>;
  try {
    net = await startCommitteeDevnet(
      {
        nodes: flags.nodes,
        dataDir: options.dataDir,
        rpcHost: options.rpc.host,
        rpcPort: options.rpc.port,
        p2pPort: flags.p2pPort,
        nodeArgs: passThroughArgs(flags),
        perNodeArgs: equivocator(flags),
        election,
        ...(flags.posters !== undefined && { posters: flags.posters }),
        ...(flags.preconf && { preconf: true }),
        followers: flags.followers,
        l1:
          anvil && deployment
            ? {
                rpc: anvil.url,
                deploymentFile: join(resolve(options.dataDir), 'l1-deployment.json'),
                confirmations: flags.l1Confirmations,
              }
            : undefined,
        step,
      },
      members,
    );
  } catch (err) {
    await anvil?.stop();
    throw err;
  }
  const accounts = devAccounts(10);
  const info = {
    chainId: Number(options.chain.chainId),
    rpc: net.rpcs[0],
    ws: net.rpcs[0].replace('http', 'ws'),
    dashboard: `${net.rpcs[0]}/`,
    metrics: `${net.rpcs[0]}/metrics`,
    committee: { file: net.committeeFile, size: flags.nodes, election },
    nodes: net.members.map((m, i) => ({
      index: i,
      rpc: m.rpc,
      p2p: m.p2p,
      blsPublicKey: m.blsPublicKey,
      log: m.log,
      pid: m.pid,
      // based / free: whether this node posts with an L1 key (--posters).
      ...(isOpenMode(election) && { posts: i < (flags.posters ?? flags.nodes) }),
      ...(flags.preconf && { preconfirms: i < (flags.posters ?? flags.nodes) }),
    })),
    followers: net.followers.map((f, k) => ({ index: k, rpc: f.rpc, log: f.log, pid: f.pid })),
    l1: anvil
      ? {
          rpc: anvil.url,
          chainId: 31337,
          contracts: { ...deployment?.contracts, ...deployment?.election?.contracts },
          ...(deployment?.election?.token
            ? { token: deployment.election.token, stakesIn: deployment.election.stakeToken ? 'token' : 'ETH' }
            : {}),
        }
      : null,
    ordering: options.ordering,
    accounts: accounts.map((a) => ({ address: a.address, privateKey: a.privateKey, balance: '10000 ETH' })),
  };
  writeFileSync(join(options.dataDir, 'devnet.json'), `${JSON.stringify(info, null, 2)}\n`);
  console.log(
    [
      '',
      isOpenMode(election)
        ? `seqnet devnet is running: ${flags.nodes} ${election} nodes, ${flags.posters !== undefined && flags.posters < flags.nodes ? `the first ${flags.posters} posting their txs to the L1 OpenInbox (the others forward txs to them)` : 'each posting its txs to the L1 OpenInbox'}; the chain is what L1 order makes of them`
        : `seqnet devnet is running: a committee of ${flags.nodes} sequencer nodes (${election}, BFT over libp2p)`,
      ...net.members.map((m, i) => `  node ${i}       RPC ${m.rpc}   dashboard ${m.rpc}/   log ${m.log}`),
      ...net.followers.map((f, k) => `  follower ${k}   RPC ${f.rpc}   (not a member)   log ${f.log}`),
      `  chain id     ${info.chainId}`,
      `  committee    ${net.committeeFile}`,
      `  L1 (anvil)   ${anvil ? anvil.url : 'not started (--no-l1)'}`,
      ...(isOpenMode(election)
        ? [
            '  outputs      certified by the committee once L1 has finalized their batches (8 L1 blocks here; `finalized` block tag)',
          ]
        : []),
      '',
      'Send txs to any node; every node serves the same chain. Funded accounts (10,000 ETH each):',
      ...accounts.map((a, i) => `  (${i}) ${a.address}  ${a.privateKey}`),
      '',
      `Written to ${join(options.dataDir, 'devnet.json')}. Ctrl-C stops everything; run again to resume.`,
      '',
    ].join('\n'),
  );
  const logger = createLogger(flags.logLevel);
  onShutdown(logger, async () => {
    await net.stop();
    await anvil?.stop();
  });
}

/**
 * The election contracts for `mode`, deployed and seeded once per data dir (kept in
 * l1-deployment.json); again when the L1 state was lost, or the mode or the stake currency changed.
 */
async function ensureElection(
  l1Url: string,
  options: NodeOptions,
  deployment: L1Deployment,
  mode: ElectionMode,
  members: Awaited<ReturnType<typeof prepareCommitteeMembers>>,
  step: (msg: string) => void,
  seed: { epochLength: bigint; unstaked: number[]; stakeToken: boolean },
): Promise<L1Deployment> {
  const file = join(options.dataDir, 'l1-deployment.json');
  const saved = deployment.election;
  let updated = deployment;
  const kept =
    saved &&
    saved.mode === mode &&
    (saved.stakeToken === true) === seed.stakeToken &&
    (await hasCode(l1Url, saved.contracts.Slasher));
  if (!kept) {
    const election = await setUpDevnetElection({
      mode,
      l1Url,
      chainId: options.chain.chainId,
      memberKeys: members.map((m) => loadOrCreateKeys(m.dataDir).bls),
      ...seed,
      step,
    });
    updated = { ...deployment, election: { ...election, mode } };
    writeFileSync(file, `${JSON.stringify(updated, null, 2)}\n`);
  }
  const verifier = updated.contracts.CommitteeVerifier;
  if (verifier && updated.election) {
    const handed = await setCommitteeSource({
      rpcUrl: l1Url,
      ownerKey: devAccounts(1)[0].privateKey,
      verifier,
      mode,
      contracts: updated.election.contracts,
    });
    step(
      handed.outcome === 'other'
        ? `the CommitteeVerifier installs later epochs' committees from ${handed.current}, an earlier election's contract: start on a fresh --data-dir to have them follow this ${mode} election`
        : `the CommitteeVerifier installs each later epoch's committee from the ${mode === 'dpos' ? 'Governance' : 'StakeRegistry'} (members with --epoch-committees send installCommittee)`,
    );
  }
  return updated;
}

/** Whether the L1 has code at `address` (deployed contracts survive in anvil's saved state). */
async function hasCode(l1Url: string, address: Hex): Promise<boolean> {
  const code = await createPublicClient({ transport: http(l1Url) }).getCode({ address });
  return code !== undefined && code !== '0x';
}
