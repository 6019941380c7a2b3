import type { BatcherOptions, DataAvailability } from '../batcher/batcher.js';
import type { ChainOptions } from '../execution/options.js';
import type { L1Deployment } from '../l1/deploy.js';
import { type MempoolOptions, mempoolDefaults } from '../mempool/options.js';
import { type RpcOptions, rpcDefaults } from '../rpc/options.js';
import type { CommitteeOptions } from './committee-options.js';
import type { ElectionMode } from './election.js';
import { type SequencerOptions, sequencerDefaults } from './sequencer.js';

export interface NodeOptions {
  dataDir: string;
  chain: ChainOptions;
  mempool: MempoolOptions;
  sequencer: SequencerOptions;
  rpc: RpcOptions;
  /** Block-building policy: fcfs | priority-fee. */
  ordering: string;
  /** The L1 the rollup lives on; absent for an L2-only node (no deposits, no forced txs). */
  l1?: L1Options;
  /** Where the batcher posts batches (`--da`): calldata or EIP-4844 blobs; overrides `l1.batcher.da`. */
  da?: DataAvailability;
  /** Run as a member of this committee (BFT over libp2p) instead of as the single sequencer. */
  committee?: CommitteeOptions;
  /** Who leads a committee's views (`--election`): poa (default), pos, dpos, auction. */
  election?: ElectionMode;
}

export interface L1Options {
  rpcUrl: string;
  deployment: L1Deployment;
  /** An L1 block serves as origin once it has this many blocks on top. */
  confirmations: number;
  pollMs: number;
  /** Post batches with this L1 key (the authorised sequencer's); no batcher without it. */
  batcherKey?: `0x${string}`;
  /** based / free without a batcher key: forward eth_sendRawTransaction to this RPC (a node that posts). */
  forwardTxsTo?: string;
  /** based with a batcher key (`--preconf`): promise inclusion of each tx put in a batch (preconfirmations). */
  preconf?: boolean;
  /** Report equivocation to the L1 Slasher with this key (default: the batcher key). */
  reporterKey?: `0x${string}`;
  batcher?: BatcherOptions;
}

export const l1Defaults = { confirmations: 2, pollMs: 500 };

export const nodeDefaults = {
  mempool: mempoolDefaults,
  sequencer: sequencerDefaults,
  rpc: rpcDefaults,
  ordering: 'fcfs',
};
