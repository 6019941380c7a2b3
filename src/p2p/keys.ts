import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { fromHex, toHex } from '../util/bytes.js';
import { P2pError, P2pErrorCode } from './errors.js';

/**
 * The node's libp2p identity: an Ed25519 key, kept as libp2p's protobuf encoding (key type + key),
 * which is what `createNetwork` takes. On disk: one line of hex, mode 0600.
 */

/** Where a node keeps its libp2p key, beside its BLS key. */
export const nodeKeyPath = (dataDir: string): string => join(dataDir, 'keys', 'p2p.key');

/** A fresh Ed25519 key, protobuf-encoded. */
export async function generateNodeKey(): Promise<Uint8Array> {
  return privateKeyToProtobuf(await generateKeyPair('Ed25519'));
}

/** Decodes a protobuf-encoded key and checks that it is Ed25519. */
export function decodeNodeKey(key: Uint8Array): PrivateKey {
  let decoded: PrivateKey;
  try {
    decoded = privateKeyFromProtobuf(key);
  } catch (err) {
    throw new P2pError(P2pErrorCode.BadKey, `not a libp2p private key: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (decoded.type !== 'Ed25519') {
    throw new P2pError(P2pErrorCode.BadKey, `the node key must be Ed25519, not ${decoded.type}`);
  }
  return decoded;
}

/** The peer id (`12D3KooW…`) of a protobuf-encoded key. */
export function peerIdOf(key: Uint8Array): string {
  return peerIdFromPrivateKey(decodeNodeKey(key)).toString();
}

/** Reads a key written by `saveNodeKey`. */
export function loadNodeKey(file: string): Uint8Array {
  const text = readFileSync(file, 'utf8').trim();
  let key: Uint8Array;
  try {
    key = fromHex(text);
  } catch (err) {
    throw new P2pError(P2pErrorCode.BadKey, `${file} does not hold a hex-encoded libp2p key`, { cause: err });
  }
  decodeNodeKey(key);
  return key;
}

/**
 * Writes the key as hex, mode 0600, atomically (a temporary file renamed over the target), creating
 * the directory. Refuses to overwrite an existing key unless `overwrite` is set: a node that loses
 * its key loses its identity in the committee.
 */
export function saveNodeKey(file: string, key: Uint8Array, overwrite = false): void {
  decodeNodeKey(key);
  if (!overwrite && existsSync(file)) {
    throw new P2pError(P2pErrorCode.BadKey, `${file} already exists; not overwriting a node key`);
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${toHex(key)}\n`, { mode: 0o600, flag: 'w' });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** Loads the key at `file`, or creates and saves one on first start. */
export async function loadOrCreateNodeKey(
  file: string,
): Promise<{ privateKey: Uint8Array; peerId: string; created: boolean }> {
  if (existsSync(file)) {
    const privateKey = loadNodeKey(file);
    return { privateKey, peerId: peerIdOf(privateKey), created: false };
  }
  const privateKey = await generateNodeKey();
  saveNodeKey(file, privateKey);
  return { privateKey, peerId: peerIdOf(privateKey), created: true };
}
