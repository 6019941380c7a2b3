import { randomBytes } from 'node:crypto';
import { SecretKey } from '@chainsafe/blst';
import { describe, expect, it } from 'vitest';
import {
  decodeMemberRecord,
  encodeMemberRecord,
  MemberDirectory,
  type MemberRecord,
  signMemberRecord,
  verifyMemberRecord,
} from '../../src/node/member-records.js';
import { generateNodeKey, peerIdOf } from '../../src/p2p/keys.js';
import { type Hex, toHex } from '../../src/util/bytes.js';

const chainId = 42069n;
const now = 1_800_000_000_000;
const bls = () => SecretKey.fromKeygen(randomBytes(32));
const peer = async () => peerIdOf(await generateNodeKey());
const keyOf = (k: SecretKey) => toHex(k.toPublicKey().toBytes());

describe('member records', () => {
  it('round-trip through their bytes and verify with their own key, for their chain only', async () => {
    const key = bls();
    const p = await peer();
    const r = signMemberRecord(key, chainId, p, BigInt(now));
    const back = decodeMemberRecord(encodeMemberRecord(r));
    expect(back).toEqual(r);
    expect(verifyMemberRecord(r, chainId)).toBe(true);
    expect(verifyMemberRecord(r, chainId + 1n)).toBe(false);
    // Another key cannot vouch: the signature is over the key named, by that key.
    const forged: MemberRecord = { ...r, blsPublicKey: keyOf(bls()) };
    expect(verifyMemberRecord(forged, chainId)).toBe(false);
    // Another peer id or date under the same signature fails.
    expect(verifyMemberRecord({ ...r, peerId: await peer() }, chainId)).toBe(false);
    expect(verifyMemberRecord({ ...r, issuedAt: r.issuedAt + 1n }, chainId)).toBe(false);
  });

  it('refuse bytes that are not a record', async () => {
    const r = signMemberRecord(bls(), chainId, await peer(), BigInt(now));
    const good = encodeMemberRecord(r);
    expect(decodeMemberRecord(new Uint8Array(0))).toBeUndefined();
    expect(decodeMemberRecord(good.subarray(0, good.length - 1))).toBeUndefined();
    expect(decodeMemberRecord(randomBytes(200))).toBeUndefined();
    // A peer id that is not one.
    const { RLP } = await import('@ethereumjs/rlp');
    const fields = RLP.decode(good) as Uint8Array[];
    expect(
      decodeMemberRecord(
        RLP.encode([fields[0], new TextEncoder().encode('not-a-peer'), fields[2], fields[3]]),
      ),
    ).toBeUndefined();
    expect(
      decodeMemberRecord(RLP.encode([fields[0].subarray(1), fields[1], fields[2], fields[3]])),
    ).toBeUndefined();
    expect(decodeMemberRecord(RLP.encode([fields[0], fields[1], fields[2]]))).toBeUndefined();
    // A signature that is not a curve point verifies as false, not a throw.
    expect(verifyMemberRecord({ ...r, signature: toHex(new Uint8Array(96).fill(7)) }, chainId)).toBe(false);
  });

  it('teach a directory the peer of a key outside the committee file, from that peer only', async () => {
    const fileKey = bls();
    const filePeer = await peer();
    const dir = new MemberDirectory(chainId, [{ blsPublicKey: keyOf(fileKey), peerId: filePeer }], {
      now: () => now,
    });
    expect(dir.peerOf(keyOf(fileKey))).toBe(filePeer);

    const staker = bls();
    const stakerPeer = await peer();
    expect(dir.peerOf(keyOf(staker))).toBeUndefined();
    const r = signMemberRecord(staker, chainId, stakerPeer, BigInt(now));
    // Handed over by another peer than the one it names: not taken (the connection vouches for the peer).
    expect(dir.offer(r, await peer())).toBe('invalid');
    expect(dir.offer(r, stakerPeer)).toBe('learned');
    expect(dir.peerOf(keyOf(staker).toUpperCase().replace('0X', '0x') as Hex)).toBe(stakerPeer);
    expect(dir.size).toBe(1);
    expect(dir.offer(r, stakerPeer)).toBe('known');

    // The key's holder on a new peer (a newer record) replaces it; an older one does not come back.
    const movedPeer = await peer();
    const moved = signMemberRecord(staker, chainId, movedPeer, BigInt(now + 1_000));
    expect(dir.offer(moved, movedPeer)).toBe('learned');
    expect(dir.peerOf(keyOf(staker))).toBe(movedPeer);
    expect(dir.offer(r, stakerPeer)).toBe('stale');
    expect(dir.peerOf(keyOf(staker))).toBe(movedPeer);

    // A peer that names a key it does not hold, or another chain's record, or one dated far ahead.
    const liar = await peer();
    expect(
      dir.offer(
        { ...signMemberRecord(bls(), chainId, liar, BigInt(now)), blsPublicKey: keyOf(fileKey) },
        liar,
      ),
    ).toBe('invalid');
    expect(dir.peerOf(keyOf(fileKey))).toBe(filePeer);
    expect(dir.offer(signMemberRecord(bls(), chainId + 1n, liar, BigInt(now)), liar)).toBe('invalid');
    expect(dir.offer(signMemberRecord(bls(), chainId, liar, BigInt(now + 3_600_000)), liar)).toBe('future');
    expect(dir.size).toBe(1);

    // The file's own binding, handed over again, changes nothing; its key's holder on a new peer does.
    expect(dir.offer(signMemberRecord(fileKey, chainId, filePeer, BigInt(now)), filePeer)).toBe('known');
    expect(dir.size).toBe(1);
    const newFilePeer = await peer();
    expect(dir.offer(signMemberRecord(fileKey, chainId, newFilePeer, BigInt(now)), newFilePeer)).toBe(
      'learned',
    );
    expect(dir.peerOf(keyOf(fileKey))).toBe(newFilePeer);
  });

  it('keep at most `max` learned keys, the oldest going first', async () => {
    const dir = new MemberDirectory(chainId, [], { max: 2, now: () => now });
    const keys = [bls(), bls(), bls()];
    const peers = await Promise.all(keys.map(() => peer()));
    for (const [i, k] of keys.entries())
      expect(dir.offer(signMemberRecord(k, chainId, peers[i], BigInt(now)), peers[i])).toBe('learned');
    expect(dir.size).toBe(2);
    expect(dir.peerOf(keyOf(keys[0]))).toBeUndefined();
    expect(dir.peerOf(keyOf(keys[2]))).toBe(peers[2]);
  });
});
