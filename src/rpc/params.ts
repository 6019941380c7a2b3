import { invalidParams } from '../errors.js';
import { fromHex, type Hex } from '../util/bytes.js';

/** Parameter decoding with geth's messages ("invalid argument N: ..."). */
const bad = (i: number, why: string) => invalidParams(`invalid argument ${i}: ${why}`);

export function expectArgs(params: unknown[], min: number, max: number): void {
  if (params.length > max) throw invalidParams(`too many arguments, want at most ${max}`);
  if (params.length < min) throw invalidParams(`missing value for required argument ${params.length}`);
}

export function quantity(v: unknown, i: number): bigint {
  if (typeof v !== 'string')
    throw bad(i, 'json: cannot unmarshal non-string into Go value of type hexutil.Big');
  if (!v.startsWith('0x') && !v.startsWith('0X')) throw bad(i, 'hex string without 0x prefix');
  const body = v.slice(2);
  if (body.length === 0) throw bad(i, 'hex string "0x"');
  if (body.length > 1 && body[0] === '0') throw bad(i, 'hex number with leading zero digits');
  if (body.length > 64) throw bad(i, 'hex number > 256 bits');
  if (!/^[0-9a-fA-F]+$/.test(body)) throw bad(i, 'invalid hex string');
  return BigInt(v);
}

export function uint64(v: unknown, i: number): bigint {
  const n = quantity(v, i);
  if (n >= 1n << 64n) throw bad(i, 'hex number > 64 bits');
  return n;
}

export function data(v: unknown, i: number): Uint8Array {
  if (typeof v !== 'string')
    throw bad(i, 'json: cannot unmarshal non-string into Go value of type hexutil.Bytes');
  if (!v.startsWith('0x') && !v.startsWith('0X'))
    throw bad(i, 'json: cannot unmarshal hex string without 0x prefix into Go value of type hexutil.Bytes');
  if (v.length % 2 !== 0)
    throw bad(i, 'json: cannot unmarshal hex string of odd length into Go value of type hexutil.Bytes');
  if (!/^0[xX][0-9a-fA-F]*$/.test(v))
    throw bad(i, 'json: cannot unmarshal invalid hex string into Go value of type hexutil.Bytes');
  return fromHex(v);
}

function fixed(v: unknown, i: number, len: number, type: string): Hex {
  if (typeof v !== 'string') throw bad(i, `json: cannot unmarshal non-string into Go value of type ${type}`);
  if (!/^0[xX][0-9a-fA-F]*$/.test(v))
    throw bad(i, `json: cannot unmarshal hex string without 0x prefix into Go value of type ${type}`);
  if (v.length !== 2 + len * 2)
    throw bad(i, `hex string has length ${v.length - 2}, want ${len * 2} for ${type}`);
  return v.toLowerCase() as Hex;
}

export const address = (v: unknown, i: number): Hex => fixed(v, i, 20, 'common.Address');
export const hash = (v: unknown, i: number): Hex => fixed(v, i, 32, 'common.Hash');

export function bool(v: unknown, i: number): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw bad(i, 'json: cannot unmarshal non-bool into Go value of type bool');
  return v;
}

export type BlockTag =
  | { kind: 'number'; number: bigint }
  | { kind: 'hash'; hash: Hex }
  | { kind: 'latest' | 'pending' | 'earliest' };

export function blockTag(v: unknown, i: number, fallback: BlockTag = { kind: 'latest' }): BlockTag {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'string') {
    switch (v) {
      case 'latest':
      case 'safe':
      case 'finalized':
        // One sequencer: a sealed block is final as far as L2 goes (L1 finality comes with the batcher).
        return { kind: 'latest' };
      case 'pending':
        return { kind: 'pending' };
      case 'earliest':
        return { kind: 'earliest' };
      default:
        return { kind: 'number', number: uint64(v, i) };
    }
  }
  if (typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (o.blockHash !== undefined) return { kind: 'hash', hash: hash(o.blockHash, i) };
    if (o.blockNumber !== undefined) return blockTag(o.blockNumber, i);
  }
  throw bad(i, 'hex string without 0x prefix');
}

export function object(v: unknown, i: number): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw bad(i, 'json: cannot unmarshal non-object into Go value of type object');
  }
  return v as Record<string, unknown>;
}

/** A storage slot as geth takes it: any hex string of at most 32 bytes, quantity or padded. */
export function storageSlot(v: unknown): Uint8Array {
  if (typeof v !== 'string' || !/^0[xX][0-9a-fA-F]{1,64}$/.test(v)) {
    throw bad(1, 'unable to decode storage key: hex string invalid');
  }
  const out = new Uint8Array(32);
  out.set(Buffer.from(v.slice(2).padStart(64, '0'), 'hex'));
  return out;
}
