import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { L1Deployment } from '../l1/deploy.js';
import { SeqnetNode } from '../node/node.js';
import { l1Defaults } from '../node/options.js';
import { addNodeFlags, type CommonFlags, nodeOptionsFromFlags } from './flags.js';
import { createLogger } from './logger.js';
import { onShutdown } from './shutdown.js';

interface NodeFlags extends CommonFlags {
  l1Rpc?: string;
  l1Deployment?: string;
  l1Confirmations: number;
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
    .action(async (flags: NodeFlags) => {
      const logger = createLogger(flags.logLevel);
      const options = nodeOptionsFromFlags(flags, cmd);
      if (Boolean(flags.l1Rpc) !== Boolean(flags.l1Deployment)) {
        throw new Error('--l1-rpc and --l1-deployment go together');
      }
      if (flags.l1Rpc && flags.l1Deployment) {
        const batcherKey = process.env.SEQNET_BATCHER_KEY;
        if (batcherKey !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(batcherKey)) {
          throw new Error('SEQNET_BATCHER_KEY must be a 32-byte hex private key (0x…)');
        }
        options.l1 = {
          rpcUrl: flags.l1Rpc,
          deployment: JSON.parse(readFileSync(flags.l1Deployment, 'utf8')) as L1Deployment,
          confirmations: flags.l1Confirmations,
          pollMs: l1Defaults.pollMs,
          batcherKey: batcherKey as `0x${string}` | undefined,
        };
        if (!batcherKey) logger.warn('no SEQNET_BATCHER_KEY: following the L1 but not posting batches');
      }
      const node = await SeqnetNode.start(options, logger);
      console.log(
        `seqnet node: RPC http://${options.rpc.host}:${options.rpc.port} (ws on the same port), chain id ${options.chain.chainId}`,
      );
      onShutdown(logger, () => node.stop());
    });
}
