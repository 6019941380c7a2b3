import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { ChainStore } from '../store/chain-store.js';
import { type AccessListOutcome, type CallOutcome, type CallRequest, Executor } from './executor.js';
import type { ChainOptions } from './options.js';

/** One eth_call / eth_estimateGas, run on the state of a persisted block. */
export interface CallJob {
  id: number;
  kind: 'call' | 'estimate' | 'accessList';
  req: CallRequest;
  blockNumber: bigint;
  gas: bigint;
}

export type CallResult = CallOutcome | { gas: bigint } | AccessListOutcome;
/** What each kind of job answers. */
export type CallResultOf<K extends CallJob['kind']> = K extends 'call'
  ? CallOutcome
  : K extends 'estimate'
    ? CallOutcome | { gas: bigint }
    : AccessListOutcome;
export type CallReply = { id: number; result: CallResult } | { id: number; error: string } | { ready: true };

export interface CallWorkerData {
  entry: string;
  storePath: string;
  chain: ChainOptions;
}

/**
 * Runs calls in a worker thread with its own EVM over the same lmdb database (read-only use), so a
 * call that loops for seconds never stalls the sequencer, and a call past its time limit can be
 * stopped for real by terminating the worker.
 */
async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('call-worker must run in a worker thread');
  const { storePath, chain } = workerData as CallWorkerData;
  const store = new ChainStore(storePath);
  const executor = await Executor.open(chain, store, pino({ level: 'silent' }));
  port.on('message', async (job: CallJob) => {
    try {
      // See the main thread's latest commits, not the snapshot of an earlier read.
      store.root.resetReadTxn();
      const block = executor.blockByNumber(job.blockNumber);
      if (!block) throw new Error(`block ${job.blockNumber} not found`);
      const result =
        job.kind === 'call'
          ? await executor.call(job.req, block, job.gas)
          : job.kind === 'accessList'
            ? await executor.createAccessList(job.req, block, job.gas)
            : await executor.estimateGas(job.req, block, job.gas);
      port.postMessage({ id: job.id, result } satisfies CallReply);
    } catch (err) {
      port.postMessage({ id: job.id, error: (err as Error).message } satisfies CallReply);
    }
  });
  port.postMessage({ ready: true } satisfies CallReply);
}

await main();
