import type { Hex } from '../util/bytes.js';

export interface ChainOptions {
  chainId: bigint;
  /** Block gas limit of executed blocks. */
  gasLimit: bigint;
  /** Floor under the EIP-1559 base fee (Arbitrum keeps 0.01 gwei). */
  minBaseFee: bigint;
  /** Genesis timestamp in seconds; part of the chain's identity. */
  genesisTimestamp: bigint;
  /** Genesis balances. */
  alloc: Record<Hex, bigint>;
  /** Genesis code: the L2 system contracts. */
  predeploys?: Record<Hex, Hex>;
}

export const ONE_ETHER = 10n ** 18n;

/** The standard test mnemonic every Ethereum dev tool funds (anvil, hardhat). */
export const TEST_MNEMONIC = 'test test test test test test test test test test test junk';

export const chainDefaults = {
  chainId: 42069n,
  gasLimit: 30_000_000n,
  minBaseFee: 10_000_000n,
  genesisTimestamp: 1_700_000_000n,
} as const;

/** EIP-7825: no tx may ask for more than 2^24 gas. */
export const MAX_TX_GAS = 1n << 24n;

/** Where the L2 system contract that records withdrawals lives (as on OP Stack). */
export const L2_TO_L1_MESSAGE_PASSER = '0x4200000000000000000000000000000000000016';
