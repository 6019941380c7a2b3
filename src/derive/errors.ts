import { SeqnetError } from '../errors.js';

/**
 * What a derivation stage can report (op-node's convention); the driver decides what each means:
 * - `NotEnoughData`: nothing more on L1 yet; try again after the next L1 block.
 * - `Temporary`: the L1 RPC failed; retry the same step later, nothing was consumed.
 * - `Reset`: the L1 changed under us (a reorg); rewind the stages and read again.
 * - `Rewind`: (`based` / `free`) L1 no longer holds a batch the L2 was derived from; take the L2 back
 *   to where that batch started and derive again (`L2RewindNeeded`).
 * - `Critical`: the L1 data breaks a rule; derivation cannot go on past it.
 */
export type DeriveErrorCode = 'NotEnoughData' | 'Temporary' | 'Reset' | 'Rewind' | 'Critical';

export class DerivationError extends SeqnetError<DeriveErrorCode> {
  constructor(code: DeriveErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'DerivationError';
  }
}

/** `Rewind`: the L2 from Inbox batch `batchIndex` on is not what L1 now implies. */
export class L2RewindNeeded extends DerivationError {
  constructor(
    readonly batchIndex: bigint,
    message: string,
  ) {
    super('Rewind', message);
  }
}

export const notEnoughData = (message: string): DerivationError =>
  new DerivationError('NotEnoughData', message);
export const critical = (message: string, cause?: unknown): DerivationError =>
  new DerivationError('Critical', message, { cause });

/** Wraps an L1 RPC failure as Temporary; DerivationErrors pass through. */
export function asTemporary(err: unknown, what: string): DerivationError {
  if (err instanceof DerivationError) return err;
  return new DerivationError('Temporary', `${what}: ${(err as Error).message}`, { cause: err });
}
