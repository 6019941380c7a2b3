import { invalidParams, serverError } from '../errors.js';
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

const MAX_UINT64 = (1n << 64n) - 1n;

/** geth's hexutil.DecodeUint64 (block numbers, indices): checks, then strconv.ParseUint's left-to-right scan. */
export function uint64(v: unknown, i: number): bigint {
  if (typeof v !== 'string')
    throw bad(i, 'json: cannot unmarshal non-string into Go value of type hexutil.Uint64');
  if (v.length === 0) throw bad(i, 'empty hex string');
  if (!v.startsWith('0x') && !v.startsWith('0X')) throw bad(i, 'hex string without 0x prefix');
  const body = v.slice(2);
  if (body.length === 0) throw bad(i, 'hex string "0x"');
  if (body.length > 1 && body[0] === '0') throw bad(i, 'hex number with leading zero digits');
  // The first bad digit or the first overflow, whichever comes first, decides the error.
  let n = 0n;
  for (const c of body) {
    const d = Number.parseInt(c, 16);
    if (Number.isNaN(d)) throw bad(i, 'invalid hex string');
    n = n * 16n + BigInt(d);
    if (n > MAX_UINT64) throw bad(i, 'hex number > 64 bits');
  }
  return n;
}

export function data(v: unknown, i: number): Uint8Array {
  if (typeof v !== 'string')
    throw bad(i, 'json: cannot unmarshal non-string into Go value of type hexutil.Bytes');
  if (v === '') return new Uint8Array(); // geth takes "" as empty bytes
  if (!v.startsWith('0x') && !v.startsWith('0X'))
    throw bad(i, 'json: cannot unmarshal hex string without 0x prefix into Go value of type hexutil.Bytes');
  if (v.length % 2 !== 0)
    throw bad(i, 'json: cannot unmarshal hex string of odd length into Go value of type hexutil.Bytes');
  if (!/^0[xX][0-9a-fA-F]*$/.test(v))
    throw bad(i, 'json: cannot unmarshal invalid hex string into Go value of type hexutil.Bytes');
  return fromHex(v);
}

/** geth's hexutil.UnmarshalFixedJSON: prefix, odd length, then length, then digits. */
function fixed(v: unknown, i: number, len: number, type: string): Hex {
  if (typeof v !== 'string') throw bad(i, `json: cannot unmarshal non-string into Go value of type ${type}`);
  let body = v;
  if (v.length > 0) {
    if (!v.startsWith('0x') && !v.startsWith('0X'))
      throw bad(i, `json: cannot unmarshal hex string without 0x prefix into Go value of type ${type}`);
    body = v.slice(2);
    if (body.length % 2 !== 0)
      throw bad(i, `json: cannot unmarshal hex string of odd length into Go value of type ${type}`);
  }
  if (body.length !== len * 2)
    throw bad(i, `hex string has length ${body.length}, want ${len * 2} for ${type}`);
  if (!/^[0-9a-fA-F]*$/.test(body))
    throw bad(i, `json: cannot unmarshal invalid hex string into Go value of type ${type}`);
  return `0x${body.toLowerCase()}`;
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
  | { kind: 'latest' | 'pending' | 'earliest' | 'finalized' };

export function blockTag(v: unknown, i: number, fallback: BlockTag = { kind: 'latest' }): BlockTag {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'string') {
    switch (v) {
      case 'latest':
      case 'safe':
        // Every block is safe: certified by the committee (or sealed by the one sequencer), or in
        // `based` / `free` derived from L1 data.
        return { kind: 'latest' };
      case 'finalized':
        // The head too where the chain never rewinds; in `based` / `free` the L1-final head.
        return { kind: 'finalized' };
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

/** geth's BlockNumberOrHash: a tag, a number, `{ blockHash }` / `{ blockNumber }`, or a bare block hash. */
export function blockNumberOrHash(v: unknown, i: number): BlockTag {
  if (typeof v === 'string' && v.length === 66) return { kind: 'hash', hash: hash(v, i) };
  if (v === undefined || v === null) throw invalidParams(`missing value for required argument ${i}`);
  return blockTag(v, i);
}

export function object(v: unknown, i: number): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw bad(i, 'json: cannot unmarshal non-object into Go value of type object');
  }
  return v as Record<string, unknown>;
}

/**
 * A storage slot as geth's eth_getStorageAt takes it (decodeHash): a plain string, 0x optional, odd
 * length padded, at most 32 bytes. Its errors come from the method, not from argument decoding: -32000.
 */
export function storageSlot(v: unknown): Uint8Array {
  if (v === null || v === undefined) v = ''; // JSON null leaves a Go string empty
  if (typeof v !== 'string') {
    const kind = typeof v === 'boolean' ? 'bool' : Array.isArray(v) ? 'array' : typeof v;
    throw bad(1, `json: cannot unmarshal ${kind} into Go value of type string`);
  }
  let body = v.startsWith('0x') || v.startsWith('0X') ? v.slice(2) : v;
  if (body.length % 2) body = `0${body}`;
  if (!/^[0-9a-fA-F]*$/.test(body)) throw serverError('unable to decode storage key: hex string invalid');
  if (body.length > 64) {
    throw serverError('unable to decode storage key: hex string too long, want at most 32 bytes');
  }
  const out = new Uint8Array(32);
  out.set(Buffer.from(body.padStart(64, '0'), 'hex'));
  return out;
}
