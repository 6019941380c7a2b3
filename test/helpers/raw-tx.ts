import { RLP } from '@ethereumjs/rlp';
import secp256k1 from 'secp256k1';
import { fromHex, type Hex, keccak256, toHex } from '../../src/util/bytes.js';

/** Minimal big-endian bytes of an unsigned integer, as RLP wants them. */
export function uintBytes(n: bigint): Uint8Array {
  if (n === 0n) return new Uint8Array();
  const h = n.toString(16);
  return fromHex(h.length % 2 ? `0${h}` : h);
}

export interface FeeMarketFields {
  chainId?: bigint;
  nonce: bigint;
  gas: bigint;
  maxFee: bigint;
  maxTip: bigint;
  to?: Hex;
  value?: bigint;
}

/**
 * A signed EIP-1559 tx built by hand with native secp256k1: fast (model tests sign thousands), and
 * free to use field values that client libraries refuse to sign (nonce 2^64-1, fees past 2^256 / gas).
 */
export function signFeeMarketTx(key: Hex, f: FeeMarketFields): Uint8Array {
  const fields = [
    uintBytes(f.chainId ?? 42069n),
    uintBytes(f.nonce),
    uintBytes(f.maxTip),
    uintBytes(f.maxFee),
    uintBytes(f.gas),
    fromHex(f.to ?? `0x${'22'.repeat(20)}`),
    uintBytes(f.value ?? 0n),
    new Uint8Array(),
    [],
  ];
  const unsigned = Uint8Array.from([2, ...RLP.encode(fields)]);
  const { signature, recid } = secp256k1.ecdsaSign(keccak256(unsigned), fromHex(key));
  const r = BigInt(toHex(signature.subarray(0, 32)));
  const s = BigInt(toHex(signature.subarray(32)));
  return Uint8Array.from([
    2,
    ...RLP.encode([...fields, uintBytes(BigInt(recid)), uintBytes(r), uintBytes(s)]),
  ]);
}
