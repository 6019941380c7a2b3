import type { Logger } from 'pino';
import { sleep } from '../util/sleep.js';
import type { DerivedBlock, Deriver } from './deriver.js';
import { DerivationError } from './errors.js';

export interface DerivationLoopOptions {
  /** How often to look for new L1 blocks when caught up, ms. */
  pollMs: number;
  signal: AbortSignal;
  logger: Logger;
  /** Each derived block, in order, once it is persisted. */
  onBlock(derived: DerivedBlock): Promise<void> | void;
}

/**
 * Derives block after block until the signal aborts: sleeps when L1 has nothing new, retries
 * Temporary errors (the L1 RPC), and stops for good on a Critical error, returning its message (the
 * caller keeps serving what was derived). Used by the follower and by `based` / `free` nodes.
 */
export async function runDerivation(deriver: Deriver, o: DerivationLoopOptions): Promise<string | undefined> {
  let failing = false;
  while (!o.signal.aborted) {
    try {
      const d = await deriver.step();
      if (failing) o.logger.info('L1 reachable again: derivation resumes');
      failing = false;
      if (!d) {
        await sleep(o.pollMs, o.signal);
        continue;
      }
      await o.onBlock(d);
    } catch (err) {
      if (err instanceof DerivationError && err.code === 'Temporary') {
        if (!failing) o.logger.warn({ err: err.message }, 'L1 read failed; retrying');
        failing = true;
        await sleep(1_000, o.signal);
        continue;
      }
      const halted = (err as Error).message;
      o.logger.error(
        { err: halted },
        'derivation stopped: the L1 data breaks a rule; the node keeps serving what it derived',
      );
      return halted;
    }
  }
  return undefined;
}

/**
 * `based` / `free`: keeps the deriver's l1FinalHead (outputs, the `finalized` block tag) up with the
 * L1's finalized block until the signal aborts; a failed read is retried at the next poll.
 */
export async function followL1Finality(
  deriver: Deriver,
  o: Pick<DerivationLoopOptions, 'pollMs' | 'signal' | 'logger'> & { onFinalHead?: (head: bigint) => void },
): Promise<void> {
  while (!o.signal.aborted) {
    try {
      o.onFinalHead?.(await deriver.refreshFinalHead());
    } catch (err) {
      o.logger.debug({ err: (err as Error).message }, "reading the L1's finalized block failed; retrying");
    }
    await sleep(o.pollMs, o.signal);
  }
}
