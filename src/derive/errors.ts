import { SeqnetError } from '../errors.js';

/**
 * What a derivation stage can report (op-node's convention); the driver decides what each means:
 * - `NotEnoughData`: nothing more on L1 yet; try again after the next L1 block.
 * - `Temporary`: the L1 RPC failed; retry the same step later, nothing was consumed.
 * - `Reset`: the L1 changed under us (a reorg); rewind the stages and read again.
 * - `Critical`: the L1 data breaks a rule; derivation cannot go on past it.
 */
export type DeriveErrorCode = 'NotEnoughData' | 'Temporary' | 'Reset' | 'Critical';

export class DerivationError extends SeqnetError<DeriveErrorCode> {
  constructor(code: DeriveErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'DerivationError';
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
