import type { Command } from 'commander';
import { SeqnetNode } from '../node/node.js';
import { addNodeFlags, type CommonFlags, nodeOptionsFromFlags } from './flags.js';
import { createLogger } from './logger.js';
import { onShutdown } from './shutdown.js';

export function registerNode(program: Command): void {
  const cmd = program.command('node').description('run one sequencer node from a config file or flags');
  addNodeFlags(cmd).action(async (flags: CommonFlags) => {
    const logger = createLogger(flags.logLevel);
    const options = nodeOptionsFromFlags(flags, cmd);
    const node = await SeqnetNode.start(options, logger);
    console.log(
      `seqnet node: RPC http://${options.rpc.host}:${options.rpc.port} (ws on the same port), chain id ${options.chain.chainId}`,
    );
    onShutdown(logger, () => node.stop());
  });
}
