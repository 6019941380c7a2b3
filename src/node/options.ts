import type { ChainOptions } from '../execution/options.js';
import { mempoolDefaults, type MempoolOptions } from '../mempool/options.js';
import { rpcDefaults, type RpcOptions } from '../rpc/options.js';
import { sequencerDefaults, type SequencerOptions } from './sequencer.js';

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
