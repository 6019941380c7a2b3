import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcError } from '../../src/errors.js';
import { createTxCommon } from '../../src/execution/executor.js';
import { devAccounts } from '../../src/execution/genesis.js';
import { IntakePool } from '../../src/mempool/intake-pool.js';
import { mempoolDefaults } from '../../src/mempool/options.js';
import { decodeAndCheck } from '../../src/mempool/validate.js';
import { toHex } from '../../src/util/bytes.js';
import { signFeeMarketTx } from '../helpers/raw-tx.js';

const common = createTxCommon(42069n);
const GAS_LIMIT = 30_000_000n;
const keys = devAccounts(3).map((a) => a.privateKey);
const pool = new IntakePool(common, mempoolDefaults, GAS_LIMIT, 1, pino({ level: 'silent' }));

type Outcome =
  | { hash: string; sender: string; serialized: string; txHash: string; senderOfTx: string; nonce: bigint }
  | { code: number; message: string };

async function outcome(f: () => Promise<ReturnType<typeof decodeAndCheck>>): Promise<Outcome> {
  try {
    const { tx, hash, sender } = await f();
    return {
      hash,
      sender,
      serialized: toHex(tx.serialize()),
      txHash: toHex(tx.hash()),
      senderOfTx: tx.getSenderAddress().toString(),
      nonce: tx.nonce,
    };
  } catch (err) {
    expect(err).toBeInstanceOf(RpcError);
    return { code: (err as RpcError).code, message: (err as RpcError).message };
  }
}

beforeAll(() => pool.start());
afterAll(() => pool.close());

describe('IntakePool', () => {
  it('gives what decodeAndCheck gives inline, for valid and mangled txs sent together', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            key: fc.constantFrom(...keys),
            nonce: fc.bigInt({ min: 0n, max: 1000n }),
            gas: fc.constantFrom(20_000n, 21_000n, 50_000n, 40_000_000n),
            maxFee: fc.bigInt({ min: 1n, max: 10n ** 12n }),
            maxTip: fc.bigInt({ min: 0n, max: 10n ** 12n }),
            // Flip one byte, or none.
            flip: fc.option(fc.nat(), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        async (specs) => {
          const raws = specs.map((s) => {
            const raw = signFeeMarketTx(s.key, s);
            if (s.flip !== undefined) raw[s.flip % raw.length] ^= 0x5a;
            return raw;
          });
          const viaPool = await Promise.all(raws.map((r) => outcome(() => pool.decode(r))));
          const inline = await Promise.all(
            raws.map((r) => outcome(async () => decodeAndCheck(r, common, mempoolDefaults, GAS_LIMIT))),
          );
          expect(viaPool).toEqual(inline);
        },
      ),
      { numRuns: 40 },
    );
  });
});
