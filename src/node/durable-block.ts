import type { ExecutionResult, Executor } from '../execution/executor.js';
import type { L1Message } from '../l1/watcher.js';
import type { BlockWal } from '../store/block-wal.js';
import type { ChainStore } from '../store/chain-store.js';
import type { Hex } from '../util/bytes.js';

/** Blocks whose lmdb write may be in flight at once before a producer waits for the oldest. */
export const MAX_UNWRITTEN_BLOCKS = 8;
/** The block WAL is emptied once it holds this many records and lmdb has written them all. */
const WAL_RESET_BLOCKS = 1_000;

/**
 * Makes an executed block the head, durable against the process being killed, and returns its tx
 * hashes. With a block WAL, the block is durable once its record is appended (one write(2): the kernel
 * keeps the bytes) and lmdb writes it in the background while the store serves it from memory; a
 * restart executes again the records above lmdb's head (`replayBlockWal`). An lmdb write that fails
 * goes to `onWriteFailure`, and the record stays in the WAL for the next start. Without a WAL, it
 * waits for lmdb.
 */
export async function persistExecutedBlock(
  deps: { executor: Executor; store: ChainStore; wal?: BlockWal },
  result: ExecutionResult,
  record: { height: bigint; sequenced: Uint8Array; proof: Uint8Array; messages: L1Message[] },
  onWriteFailure: (err: Error) => void,
): Promise<Hex[]> {
  const { executor, store, wal } = deps;
  const stored = { sequenced: record.sequenced, proof: record.proof };
  if (!wal) return executor.persistAndCommit(result, stored);
  wal.append(record);
  const out = executor.persistInBackground(result, stored);
  out.written.then(
    () => {
      if (wal.size >= WAL_RESET_BLOCKS && store.unwrittenCount === 0) wal.reset();
    },
    (err: unknown) => {
      wal.markWriteFailed();
      onWriteFailure(err instanceof Error ? err : new Error(String(err)));
    },
  );
  return out.txHashes;
}
