import { mnemonicToAccount } from 'viem/accounts';
import { compileContract } from '../l1/solc.js';
import type { Hex } from '../util/bytes.js';
import {
  type ChainOptions,
  chainDefaults,
  L2_TO_L1_MESSAGE_PASSER,
  ONE_ETHER,
  TEST_MNEMONIC,
} from './options.js';

export interface DevAccount {
  address: Hex;
  privateKey: Hex;
}

const derived: DevAccount[] = [];

/** The first `count` accounts of the standard test mnemonic, as anvil and hardhat derive them. */
export function devAccounts(count = 10): DevAccount[] {
  // Derivation runs PBKDF2 (~100 ms per account): do it once per process.
  for (let i = derived.length; i < count; i++) derived.push(deriveDevAccount(i));
  return derived.slice(0, count);
}

function deriveDevAccount(i: number): DevAccount {
  const account = mnemonicToAccount(TEST_MNEMONIC, { addressIndex: i });
  const key = account.getHdKey().privateKey;
  if (!key) throw new Error('mnemonic account without a private key');
  return { address: account.address, privateKey: `0x${Buffer.from(key).toString('hex')}` as Hex };
}

/** A dev chain: the first 10 test accounts hold 10,000 ETH each. */
export function devChainOptions(overrides: Partial<ChainOptions> = {}): ChainOptions {
  const alloc: Record<Hex, bigint> = {};
  for (const a of devAccounts(10)) alloc[a.address] = 10_000n * ONE_ETHER;
  return { ...chainDefaults, alloc, predeploys: systemContracts(), ...overrides };
}

/** Runtime code of the L2 system contracts, compiled from contracts/l2 (cached). */
export function systemContracts(): Record<Hex, Hex> {
  const passer = compileContract('l2/L2ToL1MessagePasser.sol', 'L2ToL1MessagePasser');
  return { [L2_TO_L1_MESSAGE_PASSER]: passer.deployedBytecode };
}
