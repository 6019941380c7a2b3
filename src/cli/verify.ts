import type { Command } from 'commander';
import { FollowerNode } from '../derive/follower.js';
import { verifyFromL1 } from '../derive/verifier.js';
import { devChainOptions } from '../execution/genesis.js';
import { rpcDefaults } from '../rpc/options.js';
import { readDeploymentFile } from './flags.js';
import { createLogger } from './logger.js';
import { onShutdown } from './shutdown.js';

interface VerifyFlags {
  l1Rpc: string;
  deployment: string;
  rpc?: string;
  chainId: number;
  follow?: boolean;
  dataDir: string;
  rpcHost: string;
  rpcPort: number;
  sequencerRpc?: string;
  l1Confirmations: number;
  pollMs: number;
  logLevel: string;
}

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${v}"`);
  return n;
};

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description(
      'rebuild every L2 block from L1 data alone and check it (and, with --rpc, what the sequencer served); with --follow, keep following L1 and serve the derived chain over read-only JSON-RPC',
    )
    .requiredOption('--l1-rpc <url>', 'L1 JSON-RPC endpoint')
    .requiredOption(
      '--deployment <file>',
      'the L1 deployment JSON (from `seqnet deploy`, or <data-dir>/l1-deployment.json)',
    )
    .option('--rpc <url>', "the sequencer's RPC, to compare block hashes and state roots")
    .option('--chain-id <id>', 'the rollup chain id', int('chain-id'), 42069)
    .option('--follow', 'run as a follower node: derive live from L1 and serve read-only RPC')
    .option('--data-dir <dir>', 'follower: where the derived chain lives', '.data/follower')
    .option('--rpc-host <host>', 'follower: JSON-RPC listen address', '127.0.0.1')
    .option('--rpc-port <port>', 'follower: JSON-RPC (HTTP + WebSocket) port', int('rpc-port'), 9645)
    .option('--sequencer-rpc <url>', 'follower: forward eth_sendRawTransaction to this sequencer')
    .option(
      '--l1-confirmations <n>',
      'follower: derive only from L1 blocks with this many blocks on top',
      int('l1-confirmations'),
      2,
    )
    .option('--poll-ms <ms>', 'follower: how often to look for new L1 blocks', int('poll-ms'), 500)
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (flags: VerifyFlags) => {
      const deployment = readDeploymentFile(flags.deployment);
      const chain = devChainOptions({ chainId: BigInt(flags.chainId) });
      if (flags.follow) {
        const logger = createLogger(flags.logLevel);
        const node = await FollowerNode.start(
          {
            dataDir: flags.dataDir,
            chain,
            rpc: { ...rpcDefaults, host: flags.rpcHost, port: flags.rpcPort },
            l1Url: flags.l1Rpc,
            deployment,
            confirmations: flags.l1Confirmations,
            pollMs: flags.pollMs,
            sequencerRpc: flags.sequencerRpc,
          },
          logger,
        );
        console.log(
          `seqnet follower: RPC http://${flags.rpcHost}:${flags.rpcPort} (read-only, derived from L1), chain id ${flags.chainId}`,
        );
        onShutdown(logger, () => node.stop());
        return;
      }
      const report = await verifyFromL1({
        l1Url: flags.l1Rpc,
        deployment,
        chain,
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
