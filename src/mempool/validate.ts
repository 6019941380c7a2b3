import type { Common } from '@ethereumjs/common';
import { Capability, createTxFromRLP, type TypedTransaction } from '@ethereumjs/tx';
import { serverError } from '../errors.js';
import { MAX_TX_GAS } from '../execution/options.js';
import { type Hex, keccak256, toHex } from '../util/bytes.js';
import type { MempoolOptions } from './options.js';

const SUPPORTED_TYPES = new Set([0, 1, 2, 4]);
const SECP256K1_N_DIV_2 = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
const MAX_NONCE = (1n << 64n) - 1n;

export interface DecodedTx {
  tx: TypedTransaction;
  hash: Hex;
  sender: Hex;
}

function formatEther(wei: bigint): string {
  const whole = wei / 10n ** 18n;
  const frac = ((wei % 10n ** 18n) / 10n ** 16n).toString().padStart(2, '0');
  return `${whole}.${frac}`;
}

/**
 * Stateless checks, in geth's order and with geth's messages: size, envelope, type, chain id,
 * signature, gas and fee fields. Throws an RpcError (-32000) naming the first problem.
 */
export function decodeAndCheck(
  raw: Uint8Array,
  common: Common,
  opts: MempoolOptions,
  blockGasLimit: bigint,
): DecodedTx {
  if (raw.length > opts.maxTxSize) throw serverError('oversized data');
  if (raw.length === 0) throw serverError('typed transaction too short');
  const first = raw[0];
  if (first <= 0x7f && !SUPPORTED_TYPES.has(first)) throw serverError('transaction type not supported');
  let tx: TypedTransaction;
  try {
    tx = createTxFromRLP(raw, { common });
  } catch (err) {
    const message = (err as Error).message;
    if (/chain ?id/i.test(message)) throw serverError('invalid chain id for signer');
    if (/s-values? greater|s value/i.test(message)) throw serverError('invalid sender');
    if (/invalid signature|v value/i.test(message)) throw serverError('invalid sender');
    throw serverError(`rlp: ${message.replace(/\s*\(.*$/s, '')}`);
  }
  // EIP-155 replay protection: only replay-protected txs over RPC (geth's default).
  if (tx.type === 0 && !tx.supports(Capability.EIP155ReplayProtection)) {
    throw serverError('only replay-protected (EIP-155) transactions allowed over RPC');
  }
  if (tx.common.chainId() !== common.chainId()) throw serverError('invalid chain id for signer');
  if (tx.s === undefined || tx.r === undefined || tx.s > SECP256K1_N_DIV_2 || tx.s === 0n || tx.r === 0n) {
    throw serverError('invalid sender');
  }
  let sender: Hex;
  try {
    sender = tx.getSenderAddress().toString() as Hex;
  } catch {
    throw serverError('invalid sender');
  }
  if (tx.nonce >= MAX_NONCE) throw serverError('nonce has max value');
  if (tx.gasLimit > blockGasLimit) throw serverError('exceeds block gas limit');
  if (tx.gasLimit > MAX_TX_GAS) {
    throw serverError(`transaction gas limit too high (cap: ${MAX_TX_GAS}, tx: ${tx.gasLimit})`);
  }
  const minimum = tx.getMinimumGasLimit();
  if (tx.gasLimit < minimum) {
    throw serverError(`intrinsic gas too low: gas ${tx.gasLimit}, minimum needed ${minimum}`);
  }
  const { maxFee, maxTip } = feeFields(tx);
  if (maxTip > maxFee) throw serverError('max priority fee per gas higher than max fee per gas');
  if (opts.rpcTxFeeCap > 0n) {
    const fee = maxFee * tx.gasLimit;
    if (fee > opts.rpcTxFeeCap) {
      throw serverError(
        `tx fee (${formatEther(fee)} ether) exceeds the configured cap (${formatEther(opts.rpcTxFeeCap)} ether)`,
      );
    }
  }
  return { tx, hash: toHex(keccak256(raw)), sender };
}

export function feeFields(tx: TypedTransaction): { maxFee: bigint; maxTip: bigint } {
  if ('maxFeePerGas' in tx) return { maxFee: tx.maxFeePerGas, maxTip: tx.maxPriorityFeePerGas };
  const price = (tx as { gasPrice: bigint }).gasPrice;
  return { maxFee: price, maxTip: price };
}
