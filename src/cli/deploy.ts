import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { type DeployCommitteeOptions, deployL1Contracts, OPEN_MODES, type OpenMode } from '../l1/deploy.js';

interface DeployFlags {
  l1Rpc: string;
  privateKey?: string;
  sequencer?: string;
  finalisationDelay: number;
  committee?: string;
  quorum?: number;
  chainId: number;
  mode?: string;
  out?: string;
}

const isKey = (v: string) => /^0x[0-9a-fA-F]{64}$/.test(v);
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
    .option('--out <file>', 'write the deployment JSON here (default: print it)')
    .action(async (flags: DeployFlags) => {
      const key = flags.privateKey ?? process.env.SEQNET_DEPLOYER_KEY;
      if (!key || !isKey(key)) {
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
      const deployment = await deployL1Contracts({
        rpcUrl: flags.l1Rpc,
        deployerKey: key as Hex,
        sequencer: sequencer as Hex,
        finalisationDelaySeconds: flags.finalisationDelay,
        ...(flags.committee && { committee: readCommittee(flags) }),
        ...(flags.mode && { openMode: flags.mode as OpenMode }),
        onProgress: (line) => console.error(`[deploy] ${line}`),
      });
      const json = `${JSON.stringify(deployment, null, 2)}\n`;
      if (flags.out) {
        writeFileSync(flags.out, json);
        console.error(`[deploy] written to ${flags.out}`);
      } else {
        process.stdout.write(json);
      }
    });
}
