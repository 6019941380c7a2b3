import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SecretKey } from '@chainsafe/blst';
import { fromHex, toHex } from '../util/bytes.js';

export interface NodeKeys {
  bls: SecretKey;
  blsPublicKey: string;
}

/** Loads the node's BLS signing key from `<dataDir>/keys/bls.key`, creating it (mode 0600) on first start. */
export function loadOrCreateKeys(dataDir: string): NodeKeys {
  const file = join(dataDir, 'keys', 'bls.key');
  let bls: SecretKey;
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8').trim();
    try {
      bls = SecretKey.fromBytes(fromHex(text));
    } catch (err) {
      throw new Error(`${file} does not hold a BLS secret key (32 bytes hex): ${(err as Error).message}`);
    }
  } else {
    mkdirSync(dirname(file), { recursive: true });
    bls = SecretKey.fromKeygen(randomBytes(32));
    writeFileSync(file, `${toHex(bls.toBytes())}\n`, { mode: 0o600 });
  }
  return { bls, blsPublicKey: toHex(bls.toPublicKey().toBytes()) };
}
