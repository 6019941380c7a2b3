import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { deployL1Contracts } from '../l1/deploy.js';

interface DeployFlags {
  l1Rpc: string;
  privateKey?: string;
  sequencer?: string;
  finalisationDelay: number;
  out?: string;
}

const isKey = (v: string) => /^0x[0-9a-fA-F]{64}$/.test(v);
const isAddress = (v: string) => /^0x[0-9a-fA-F]{40}$/.test(v);

export function registerDeploy(program: Command): void {
  program
    .command('deploy')
    .description("deploy the rollup's L1 contracts (inbox, message queue, state oracle, bridge) to any L1")
    .requiredOption('--l1-rpc <url>', 'L1 JSON-RPC endpoint')
    .option('--private-key <hex>', 'deployer key (or env SEQNET_DEPLOYER_KEY)')
    .option('--sequencer <address>', 'L1 address allowed to post batches and outputs (default: the deployer)')
    .option(
      '--finalisation-delay <seconds>',
      'delay before withdrawals can be finalised on L1',
      (v) => Number(v),
      3600,
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
      const deployment = await deployL1Contracts({
        rpcUrl: flags.l1Rpc,
        deployerKey: key as Hex,
        sequencer: sequencer as Hex,
        finalisationDelaySeconds: flags.finalisationDelay,
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
