import type { ChainOptions } from '../execution/options.js';
import { type MempoolOptions, mempoolDefaults } from '../mempool/options.js';
import { type RpcOptions, rpcDefaults } from '../rpc/options.js';
import { type SequencerOptions, sequencerDefaults } from './sequencer.js';

export interface NodeOptions {
  dataDir: string;
  chain: ChainOptions;
  mempool: MempoolOptions;
  sequencer: SequencerOptions;
  rpc: RpcOptions;
  /** Block-building policy: fcfs | priority-fee. */
  ordering: string;
}

export const nodeDefaults = {
  mempool: mempoolDefaults,
  sequencer: sequencerDefaults,
  rpc: rpcDefaults,
  ordering: 'fcfs',
};
