import { parentPort, workerData } from 'node:worker_threads';
import { RpcCode, RpcError } from '../errors.js';
import { createTxCommon } from '../execution/executor.js';
import { equalBytes } from '../util/bytes.js';
import type { MempoolOptions } from './options.js';
import { decodeAndCheck } from './validate.js';

export interface IntakeWorkerData {
  entry: string;
  chainId: bigint;
  options: MempoolOptions;
  blockGasLimit: bigint;
}

export interface IntakeJob {
  id: number;
  raw: Uint8Array;
}

export type IntakeResult =
  | {
      id: number;
      hash: `0x${string}`;
      sender: `0x${string}`;
      /** The recovered 64-byte public key, so the main thread does not recover it again. */
      publicKey: Uint8Array;
      /** The library re-encodes the tx to exactly `raw`, so `raw` can stand in for its serialisation. */
      canonical: boolean;
    }
  | { id: number; error: { code: number; message: string; data?: unknown } };

/**
 * Stateless intake checks (decodeAndCheck: decoding, signature recovery, gas and fee fields) in a
 * worker thread, off the thread that runs the RPC server and seals blocks. Jobs come in batches and
 * are answered in order, as one batch.
 */
function main(): void {
  const port = parentPort;
  if (!port) throw new Error('intake-worker must run in a worker thread');
  const { chainId, options, blockGasLimit } = workerData as IntakeWorkerData;
  const common = createTxCommon(chainId);
  port.on('message', (jobs: IntakeJob[]) => {
    const out: IntakeResult[] = jobs.map(({ id, raw }) => {
      try {
        const { tx, hash, sender } = decodeAndCheck(raw, common, options, blockGasLimit);
        return {
          id,
          hash,
          sender,
          publicKey: tx.getSenderPublicKey(),
          canonical: equalBytes(tx.serialize(), raw),
        };
      } catch (err) {
        if (err instanceof RpcError)
          return { id, error: { code: err.code, message: err.message, data: err.data } };
        return {
          id,
          error: { code: RpcCode.Internal, message: (err as Error)?.message ?? 'internal error' },
        };
      }
    });
    port.postMessage(out);
  });
  port.postMessage('ready');
}

main();
