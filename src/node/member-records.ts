import { PublicKey, type SecretKey, Signature, verify } from '@chainsafe/blst';
import { RLP } from '@ethereumjs/rlp';
import { peerIdFromString } from '@libp2p/peer-id';
import { bigIntToBytes, bytesToBigInt, fromHex, type Hex, keccak256, toHex } from '../util/bytes.js';
import type { CommitteeMember } from './committee-options.js';

/**
 * Member records: which libp2p peer speaks for a BLS key. With `--epoch-committees` an epoch's
 * committee is whoever staked on L1 — keys the committee file need not list — and the members must
 * know each one's peer to send it votes, QCs and timeouts and to ask it for output signatures.
 *
 * A node hands its record to each peer that connects (a direct request, answered on the
 * noise-authenticated connection of the peer it names): the record's BLS signature shows the peer
 * holds the key, the connection that the peer is who it says. Neither alone would do: a signature
 * relayed by another peer could name any peer id, and a peer could claim any key it does not hold.
 */
export interface MemberRecord {
  /** BLS public key (48 bytes compressed, hex). */
  blsPublicKey: Hex;
  /** The libp2p peer that speaks for the key. */
  peerId: string;
  /** When the key's holder signed it (ms since the epoch): a newer record replaces an older one. */
  issuedAt: bigint;
  /** BLS signature over memberRecordMessage (96 bytes, hex). */
  signature: Hex;
}

const RECORD_DOMAIN = new TextEncoder().encode('seqnet/member-record/v1');
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The 32 bytes a key's holder signs to name its peer (its own domain: never a vote, timeout or proposal). */
export function memberRecordMessage(
  chainId: bigint,
  blsPublicKey: Hex,
  peerId: string,
  issuedAt: bigint,
): Uint8Array {
  return keccak256(
    RLP.encode([
      RECORD_DOMAIN,
      bigIntToBytes(chainId),
      fromHex(blsPublicKey),
      utf8.encode(peerId),
      bigIntToBytes(issuedAt),
    ]),
  );
}

export function signMemberRecord(
  key: SecretKey,
  chainId: bigint,
  peerId: string,
  issuedAt: bigint,
): MemberRecord {
  const blsPublicKey = toHex(key.toPublicKey().toBytes());
  const signature = toHex(key.sign(memberRecordMessage(chainId, blsPublicKey, peerId, issuedAt)).toBytes());
  return { blsPublicKey, peerId, issuedAt, signature };
}

export function encodeMemberRecord(r: MemberRecord): Uint8Array {
  return RLP.encode([
    fromHex(r.blsPublicKey),
    utf8.encode(r.peerId),
    bigIntToBytes(r.issuedAt),
    fromHex(r.signature),
  ]);
}

/** The record in `bytes`, or undefined when they are not one (wrong shape, lengths or peer id). */
export function decodeMemberRecord(bytes: Uint8Array): MemberRecord | undefined {
  try {
    const fields = RLP.decode(bytes);
    if (!Array.isArray(fields) || fields.length !== 4) return undefined;
    const [key, peer, issuedAt, sig] = fields;
    if (!(key instanceof Uint8Array) || key.length !== 48) return undefined;
    if (!(peer instanceof Uint8Array) || peer.length === 0 || peer.length > 128) return undefined;
    if (!(issuedAt instanceof Uint8Array) || issuedAt.length > 8) return undefined;
    if (!(sig instanceof Uint8Array) || sig.length !== 96) return undefined;
    const peerId = peerIdFromString(fromUtf8.decode(peer)).toString();
    return { blsPublicKey: toHex(key), peerId, issuedAt: bytesToBigInt(issuedAt), signature: toHex(sig) };
  } catch {
    return undefined;
  }
}

/** Whether `r` is signed by its key for this chain. */
export function verifyMemberRecord(r: MemberRecord, chainId: bigint): boolean {
  try {
    return verify(
      memberRecordMessage(chainId, r.blsPublicKey, r.peerId, r.issuedAt),
      PublicKey.fromBytes(fromHex(r.blsPublicKey), true),
      Signature.fromBytes(fromHex(r.signature), true),
    );
  } catch {
    return false; // not a point on the curve
  }
}

/**
 * What offering a record did: `invalid` is the peer's fault (a signature or peer that does not hold);
 * `future` is dated more than a minute ahead of this node's clock (a clock off: not taken, no fault).
 */
export type RecordOutcome = 'learned' | 'known' | 'stale' | 'future' | 'invalid';

/** How far ahead of this node's clock a record may be dated (clocks differ; a record is not a vote). */
const MAX_FUTURE_MS = 60_000n;

/**
 * The peers of BLS keys: the committee file's, then what signed records taught (newest per key; a
 * record overrides the file, whose keys' holders may have moved to a new peer id). Bounded: the
 * oldest learned record goes first once `max` keys are known.
 */
export class MemberDirectory {
  private readonly learned = new Map<string, MemberRecord>();
  private readonly fromFile: Map<string, string>;

  constructor(
    private readonly chainId: bigint,
    fileMembers: readonly CommitteeMember[],
    private readonly options: { max?: number; now?: () => number } = {},
  ) {
    this.fromFile = new Map(fileMembers.map((m) => [m.blsPublicKey.toLowerCase(), m.peerId]));
  }

  /** The peer that speaks for `blsPublicKey`, if this node knows one. */
  peerOf(blsPublicKey: Hex): string | undefined {
    const key = blsPublicKey.toLowerCase();
    return this.learned.get(key)?.peerId ?? this.fromFile.get(key);
  }

  /** Keys learned from records (the file's are not counted). */
  get size(): number {
    return this.learned.size;
  }

  /**
   * Takes a record that `from` handed over on its own connection: it must name `from` and be signed
   * by its key for this chain.
   */
  offer(r: MemberRecord, from: string): RecordOutcome {
    if (r.peerId !== from) return 'invalid';
    const now = BigInt((this.options.now ?? Date.now)());
    // Newest wins: a record dated far ahead would keep its key's holder from moving for that long.
    if (r.issuedAt > now + MAX_FUTURE_MS) return 'future';
    const key = r.blsPublicKey.toLowerCase();
    const had = this.learned.get(key);
    if (had && had.issuedAt >= r.issuedAt) return had.peerId === r.peerId ? 'known' : 'stale';
    if (!had && this.fromFile.get(key) === r.peerId) return 'known';
    if (!verifyMemberRecord(r, this.chainId)) return 'invalid';
    this.learned.delete(key);
    this.learned.set(key, r);
    const max = this.options.max ?? 1_024;
    if (this.learned.size > max) this.learned.delete(this.learned.keys().next().value as string);
    return 'learned';
  }
}
