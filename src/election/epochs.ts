/**
 * Epochs are fixed runs of L1 blocks, as contracts/l1/election/Epochs.sol counts them: epoch e is
 * [genesisBlock + e·length, genesisBlock + (e+1)·length). Committees and seeds of epoch e come from
 * L1 state one epoch ahead (DECISIONS.md §7): the block `pinnedBlockFor(e)`.
 */
export interface EpochClock {
  genesisBlock: bigint;
  epochLength: bigint;
}

export function epochAt(clock: EpochClock, l1Block: bigint): bigint {
  if (clock.epochLength <= 0n) throw new Error('epoch length must be positive');
  return l1Block < clock.genesisBlock ? 0n : (l1Block - clock.genesisBlock) / clock.epochLength;
}

export function epochStart(clock: EpochClock, epoch: bigint): bigint {
  return clock.genesisBlock + epoch * clock.epochLength;
}

/** The L1 block whose state and prevrandao fix epoch e's committee and seed: the start of e − 1 (genesis for 0). */
export function pinnedBlockFor(clock: EpochClock, epoch: bigint): bigint {
  return epoch === 0n ? clock.genesisBlock : epochStart(clock, epoch - 1n);
}
