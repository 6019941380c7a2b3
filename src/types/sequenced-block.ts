import { RLP } from '@ethereumjs/rlp';
import { bigIntToBytes, bytesToBigInt, fromHex, type Hex, keccak256, toHex } from '../util/bytes.js';

/**
 * What sequencers agree on: ordering and execution inputs only (DECISIONS.md §1). View, epoch and
 * certificates live outside its hash. The executed EVM block is derived from it deterministically.
 * Later versions add fields only through a new `version`.
 */
export interface SequencedBlock {
  version: 1;
  /** The rollup's chain id: the namespace that lets one network sequence several rollups. */
  chainId: bigint;
  height: bigint;
  /** Hash of the parent sequenced block. */
  parentHash: Hex;
  /** Seconds; may equal the parent's, so many blocks fit in one second. */
  timestamp: bigint;
  l1Origin: { number: bigint; hash: Hex };
  /** Number of L1 messages (deposits, forced txs) consumed up to and including this block. */
  l1MessageCursor: bigint;
  /** Raw signed transactions (EIP-2718 envelopes), in order. */
  txs: Uint8Array[];
  /** Executed state root of block height − LAG_STATE_ROOT_DISTANCE (zero while that is before genesis). */
  lagStateRoot: Hex;
}

export const SEQUENCED_BLOCK_VERSION = 1;
export const LAG_STATE_ROOT_DISTANCE = 4n;

/** RLP: [version, chainId, height, parentHash, timestamp, [l1Number, l1Hash], cursor, [txs], lagStateRoot]. */
export function encodeSequencedBlock(b: SequencedBlock): Uint8Array {
  return RLP.encode([
    bigIntToBytes(BigInt(b.version)),
    bigIntToBytes(b.chainId),
    bigIntToBytes(b.height),
    fromHex(b.parentHash),
    bigIntToBytes(b.timestamp),
    [bigIntToBytes(b.l1Origin.number), fromHex(b.l1Origin.hash)],
    bigIntToBytes(b.l1MessageCursor),
    b.txs,
    fromHex(b.lagStateRoot),
  ]);
}

export class BlockDecodeError extends Error {
  override name = 'BlockDecodeError';
}

function asBytes(v: unknown, what: string, len?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new BlockDecodeError(`${what}: expected bytes`);
  if (len !== undefined && v.length !== len) throw new BlockDecodeError(`${what}: expected ${len} bytes`);
  return v;
}

function asUint(v: unknown, what: string): bigint {
  const b = asBytes(v, what);
  if (b.length > 32) throw new BlockDecodeError(`${what}: integer too large`);
  if (b.length > 0 && b[0] === 0) throw new BlockDecodeError(`${what}: non-canonical integer`);
  return bytesToBigInt(b);
}

export function decodeSequencedBlock(data: Uint8Array): SequencedBlock {
  let decoded: unknown;
  try {
    decoded = RLP.decode(data);
  } catch (err) {
    throw new BlockDecodeError(`invalid RLP: ${(err as Error).message}`);
  }
  if (!Array.isArray(decoded) || decoded.length !== 9)
    throw new BlockDecodeError('expected a list of 9 fields');
  const [version, chainId, height, parentHash, timestamp, origin, cursor, txs, lag] = decoded as unknown[];
  const v = asUint(version, 'version');
  if (v !== 1n) throw new BlockDecodeError(`unsupported sequenced block version ${v}`);
  if (!Array.isArray(origin) || origin.length !== 2)
    throw new BlockDecodeError('l1Origin: expected [number, hash]');
  if (!Array.isArray(txs)) throw new BlockDecodeError('txs: expected a list');
  return {
    version: 1,
    chainId: asUint(chainId, 'chainId'),
    height: asUint(height, 'height'),
    parentHash: toHex(asBytes(parentHash, 'parentHash', 32)),
    timestamp: asUint(timestamp, 'timestamp'),
    l1Origin: {
      number: asUint(origin[0], 'l1Origin.number'),
      hash: toHex(asBytes(origin[1], 'l1Origin.hash', 32)),
    },
    l1MessageCursor: asUint(cursor, 'l1MessageCursor'),
    txs: txs.map((t, i) => asBytes(t, `txs[${i}]`)),
    lagStateRoot: toHex(asBytes(lag, 'lagStateRoot', 32)),
  };
}

export const hashSequencedBlock = (b: SequencedBlock): Hex => toHex(keccak256(encodeSequencedBlock(b)));
