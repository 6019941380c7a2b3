import type { Common } from '@ethereumjs/common';
import { RLP } from '@ethereumjs/rlp';
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
  const first = raw[0];
  // geth: a typed envelope needs a type byte and a payload, before the type is looked at.
  if (raw.length <= 1 && !(first > 0x7f)) throw serverError('typed transaction too short');
  if (first <= 0x7f && !SUPPORTED_TYPES.has(first)) throw serverError('transaction type not supported');
  let tx: TypedTransaction;
  try {
    tx = createTxFromRLP(raw, { common });
  } catch (err) {
    const message = (err as Error).message;
    if (/chain ?id/i.test(message)) throw serverError('invalid chain id for signer');
    if (/s-values? greater|s value/i.test(message)) throw serverError('invalid sender');
    if (/invalid signature|v value|y-parity/i.test(message)) throw serverError('invalid sender');
    // @ethereumjs/tx refuses to construct these; geth decodes them and rejects them later, with its
    // own messages: tip above fee cap, nonce 2^64-1 (ErrNonceMax), and a gas × fee product above
    // 2^256-1 at the balance check (no account can hold that much).
    const nonce = /^nonce cannot equal or exceed MAX_UINT64 \(2\^64-1\), given (\d+)/.exec(message);
    if (nonce && BigInt(nonce[1]) === MAX_NONCE) throw serverError('nonce has max value');
    if (/^maxFeePerGas cannot be less than maxPriorityFeePerGas/.test(message)) {
      throw serverError('max priority fee per gas higher than max fee per gas');
    }
    if (/^gas ?limit \* (gasPrice|maxFeePerGas) cannot exceed MAX_INTEGER/i.test(message)) {
      throw serverError('insufficient funds for gas * price + value');
    }
    throw serverError(envelopeError(raw) ?? `rlp: ${message.replace(/\s*\(.*$/s, '')}`);
  }
  // geth's tx structs have no optional signature fields: an unsigned encoding is short of elements.
  if (tx.v === undefined || tx.r === undefined || tx.s === undefined) {
    throw serverError(`rlp: too few elements for ${TYPE_NAMES[tx.type]}`);
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

/** geth's Go type names, as its rlp errors name them. */
const TYPE_NAMES: Record<number, string> = {
  0: 'types.LegacyTx',
  1: 'types.AccessListTx',
  2: 'types.DynamicFeeTx',
  4: 'types.SetCodeTx',
};
/** Elements of a signed tx of each type. */
const SIGNED_FIELDS: Record<number, number> = { 0: 9, 1: 11, 2: 12, 4: 13 };

/**
 * geth's message for an envelope that is not a well-formed RLP list of the type's fields, or undefined
 * when the envelope is fine (the problem is in a field). Only runs on the rejection path.
 */
function envelopeError(raw: Uint8Array): string | undefined {
  const type = raw[0] > 0x7f ? 0 : raw[0];
  const name = TYPE_NAMES[type];
  const payload = type === 0 ? raw : raw.subarray(1);
  if (payload[0] < 0xc0) return `rlp: expected input list for ${name}`;
  let decoded: { data: Uint8Array | unknown[]; remainder: Uint8Array };
  try {
    decoded = RLP.decode(payload, true) as { data: Uint8Array | unknown[]; remainder: Uint8Array };
  } catch (err) {
    const message = (err as Error).message;
    if (/out-of-bounds|larger than the data|not enough bytes/.test(message)) {
      return 'rlp: value size exceeds available input length';
    }
    return 'rlp: non-canonical size information';
  }
  const fields = decoded.data as unknown[];
  if (fields.length < SIGNED_FIELDS[type]) return `rlp: too few elements for ${name}`;
  if (fields.length > SIGNED_FIELDS[type]) return `rlp: input list has too many elements for ${name}`;
  if (decoded.remainder.length > 0) return 'rlp: input contains more than one value';
  return undefined;
}

export function feeFields(tx: TypedTransaction): { maxFee: bigint; maxTip: bigint } {
  if ('maxFeePerGas' in tx) return { maxFee: tx.maxFeePerGas, maxTip: tx.maxPriorityFeePerGas };
  const price = (tx as { gasPrice: bigint }).gasPrice;
  return { maxFee: price, maxTip: price };
}
