import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { verifyFromL1 } from '../derive/verifier.js';
import { devChainOptions } from '../execution/genesis.js';
import type { L1Deployment } from '../l1/deploy.js';

interface VerifyFlags {
  l1Rpc: string;
  deployment: string;
  rpc?: string;
  chainId: number;
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description(
      'rebuild every L2 block from L1 data alone and check it (and, with --rpc, what the sequencer served)',
    )
    .requiredOption('--l1-rpc <url>', 'L1 JSON-RPC endpoint')
    .requiredOption(
      '--deployment <file>',
      'the L1 deployment JSON (from `seqnet deploy`, or <data-dir>/l1-deployment.json)',
    )
    .option('--rpc <url>', "the sequencer's RPC, to compare block hashes and state roots")
    .option('--chain-id <id>', 'the rollup chain id', (v) => Number(v), 42069)
    .action(async (flags: VerifyFlags) => {
      const deployment = JSON.parse(readFileSync(flags.deployment, 'utf8')) as L1Deployment;
      const report = await verifyFromL1({
        l1Url: flags.l1Rpc,
        deployment,
        chain: devChainOptions({ chainId: BigInt(flags.chainId) }),
        rpcUrl: flags.rpc,
        onProgress: (line) => console.error(`[verify] ${line}`),
      });
      console.log(
        JSON.stringify(
          { ...report, ok: report.mismatches.length === 0 },
          (_k, v) => (typeof v === 'bigint' ? v.toString() : v),
          2,
        ),
      );
      if (report.mismatches.length) {
        console.error(`[verify] ${report.mismatches.length} blocks differ from what the sequencer served`);
        process.exit(2);
      }
      console.error(
        `[verify] ok: ${report.blocks} blocks in ${report.batches} batches re-executed from L1; every one matches`,
      );
    });
}
