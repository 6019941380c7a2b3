import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { describe, expect, it } from 'vitest';
import { P2pError } from '../../src/p2p/errors.js';
import {
  generateNodeKey,
  loadNodeKey,
  loadOrCreateNodeKey,
  nodeKeyPath,
  peerIdOf,
  saveNodeKey,
} from '../../src/p2p/keys.js';

describe('p2p node keys', () => {
  it('creates a key (mode 0600) on first start and loads the same identity afterwards', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-p2p-keys-'));
    const file = nodeKeyPath(dir);
    const first = await loadOrCreateNodeKey(file);
    expect(first.created).toBe(true);
    expect(first.peerId).toMatch(/^12D3KooW/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^0x[0-9a-f]+\n$/);
    const again = await loadOrCreateNodeKey(file);
    expect(again.created).toBe(false);
    expect(again.peerId).toBe(first.peerId);
    expect(again.privateKey).toEqual(first.privateKey);
  });

  it('refuses to overwrite a key unless asked, and rejects what is not an Ed25519 key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-p2p-keys-'));
    const file = join(dir, 'p2p.key');
    const key = await generateNodeKey();
    saveNodeKey(file, key);
    expect(() => saveNodeKey(file, key)).toThrow(P2pError);
    const other = await generateNodeKey();
    saveNodeKey(file, other, true);
    expect(peerIdOf(loadNodeKey(file))).toBe(peerIdOf(other));

    writeFileSync(file, 'not hex\n');
    expect(() => loadNodeKey(file)).toThrow(P2pError);
    writeFileSync(file, '0x0102\n');
    expect(() => loadNodeKey(file)).toThrow(P2pError);
    const secp = privateKeyToProtobuf(await generateKeyPair('secp256k1'));
    expect(() => peerIdOf(secp)).toThrow(/Ed25519/);
  });
});
