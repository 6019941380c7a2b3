import { RLP } from '@ethereumjs/rlp';
import type { TypedTransaction } from '@ethereumjs/tx';
import fc from 'fast-check';
import {
  type Hex,
  keccak256,
  parseTransaction,
  serializeTransaction,
  type TransactionSerializable,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { RpcError } from '../../src/errors.js';
import { createChainCommon } from '../../src/execution/executor.js';
import { devAccounts } from '../../src/execution/genesis.js';
import { type MempoolOptions, mempoolDefaults } from '../../src/mempool/options.js';
import { decodeAndCheck, feeFields } from '../../src/mempool/validate.js';
import {
  BlockDecodeError,
  decodeSequencedBlock,
  encodeSequencedBlock,
  type SequencedBlock,
} from '../../src/types/sequenced-block.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { signFeeMarketTx, uintBytes } from '../helpers/raw-tx.js';

const CHAIN_ID = 42069;
const common = createChainCommon(BigInt(CHAIN_ID));
const BLOCK_GAS_LIMIT = 30_000_000n;
/** No fee cap here, so that the generators can use the whole range of the fee fields. */
const noCap: MempoolOptions = { ...mempoolDefaults, rpcTxFeeCap: 0n };
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const U256_MAX = (1n << 256n) - 1n;
const MAX_TX_GAS = 1n << 24n;
const devKey = devAccounts(1)[0].privateKey;

const hexOf = (len: number) => fc.uint8Array({ minLength: len, maxLength: len }).map((b) => toHex(b));
const privateKey = fc.bigInt({ min: 1n, max: SECP256K1_N - 1n }).map((k) => toHex(bigTo32(k)));
const address = hexOf(20);
const accessList = fc.array(fc.record({ address, storageKeys: fc.array(hexOf(32), { maxLength: 3 }) }), {
  maxLength: 3,
});
/** Enough gas for any generated tx: create + 256 bytes of data at the EIP-7623 floor + 3×(2400 + 3×1900). */
const gas = fc.bigInt({ min: 200_000n, max: MAX_TX_GAS });
const common_fields = {
  nonce: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  gas,
  to: fc.option(address, { nil: undefined }),
  value: fc.bigInt({ min: 0n, max: U256_MAX }),
  data: fc.uint8Array({ maxLength: 256 }).map((b) => toHex(b)),
};
/** Fee fields up to where gas × fee still fits in 256 bits (beyond that, see the overflow test). */
const fee = fc.bigInt({ min: 0n, max: U256_MAX >> 24n });

const legacyTx = fc.record({
  type: fc.constant('legacy' as const),
  ...common_fields,
  gasPrice: fee,
});
const eip2930Tx = fc.record({
  type: fc.constant('eip2930' as const),
  ...common_fields,
  gasPrice: fee,
  accessList,
});
const eip1559Tx = fc
  .record({
    type: fc.constant('eip1559' as const),
    ...common_fields,
    maxFeePerGas: fee,
    tipShare: fc.bigInt({ min: 0n, max: 1000n }),
    accessList,
  })
  .map(({ tipShare, ...t }) => ({ ...t, maxPriorityFeePerGas: (t.maxFeePerGas * tipShare) / 1000n }));
type TxFields =
  typeof legacyTx | typeof eip2930Tx | typeof eip1559Tx extends fc.Arbitrary<infer T> ? T : never;
const txFields = fc.oneof(legacyTx, eip2930Tx, eip1559Tx);

function bigTo32(n: bigint): Uint8Array {
  return fromHex(n.toString(16).padStart(64, '0'));
}

async function sign(key: Hex, fields: TxFields): Promise<{ raw: Uint8Array; sender: Hex }> {
  const account = privateKeyToAccount(key);
  const tx = { ...fields, chainId: CHAIN_ID } as TransactionSerializable;
  const signed = await account.signTransaction(tx);
  return { raw: fromHex(signed), sender: account.address };
}

/** Every way decodeAndCheck may fail: an RpcError with geth's -32000 and a message. */
function expectRpcRejection(err: unknown): void {
  if (!(err instanceof RpcError)) throw new Error(`not an RpcError: ${String(err)}`, { cause: err });
  expect(err.code).toBe(-32000);
  expect(err.message.length).toBeGreaterThan(0);
}

/** Decodes, and if the input is accepted, checks that it is the canonical encoding of what was decoded. */
function decodeOrReject(raw: Uint8Array, opts: MempoolOptions = noCap): TypedTransaction | undefined {
  let tx: TypedTransaction;
  try {
    tx = decodeAndCheck(raw, common, opts, BLOCK_GAS_LIMIT).tx;
  } catch (err) {
    expectRpcRejection(err);
    return undefined;
  }
  // Anything accepted must be canonical: geth rejects non-canonical RLP, and the hash is over these bytes.
  expect(toHex(tx.serialize())).toBe(toHex(raw));
  return tx;
}

const signedTx = fc.tuple(privateKey, txFields);

describe('decodeAndCheck: well-formed signed transactions', () => {
  it('decode to the fields and the sender that were signed', async () => {
    await fc.assert(
      fc.asyncProperty(signedTx, async ([key, fields]) => {
        const { raw, sender } = await sign(key, fields);
        const decoded = decodeAndCheck(raw, common, noCap, BLOCK_GAS_LIMIT);
        const { tx } = decoded;
        expect(decoded.sender.toLowerCase()).toBe(sender.toLowerCase());
        expect(decoded.hash).toBe(keccak256(raw, 'hex'));
        expect(tx.type).toBe({ legacy: 0, eip2930: 1, eip1559: 2 }[fields.type]);
        expect(tx.nonce).toBe(BigInt(fields.nonce));
        expect(tx.gasLimit).toBe(fields.gas);
        expect(tx.to?.toString()).toBe(fields.to?.toLowerCase());
        expect(tx.value).toBe(fields.value);
        expect(toHex(tx.data)).toBe(fields.data);
        expect(tx.common.chainId()).toBe(BigInt(CHAIN_ID));
        const { maxFee, maxTip } = feeFields(tx);
        if (fields.type === 'eip1559') {
          expect(maxFee).toBe(fields.maxFeePerGas);
          expect(maxTip).toBe(fields.maxPriorityFeePerGas);
        } else {
          expect(maxFee).toBe(fields.gasPrice);
          expect(maxTip).toBe(fields.gasPrice);
        }
        if (fields.type !== 'legacy') {
          const list = (tx as { accessList: Array<[Uint8Array, Uint8Array[]]> }).accessList;
          expect(list.map(([a, keys]) => [toHex(a), keys.map((k) => toHex(k))])).toEqual(
            fields.accessList.map((e) => [
              e.address.toLowerCase(),
              e.storageKeys.map((k) => k.toLowerCase()),
            ]),
          );
        }
        expect(toHex(tx.serialize())).toBe(toHex(raw));
      }),
      { numRuns: 150 },
    );
  });

  it('a hand-built signer agrees on sender and nonce over the whole uint64 range', () => {
    fc.assert(
      fc.property(privateKey, fc.bigInt({ min: 0n, max: (1n << 64n) - 2n }), (key, nonce) => {
        const raw = signFeeMarketTx(key, { nonce, gas: 21_000n, maxFee: 7n, maxTip: 7n });
        const decoded = decodeAndCheck(raw, common, noCap, BLOCK_GAS_LIMIT);
        expect(decoded.tx.nonce).toBe(nonce);
        expect(decoded.sender).toBe(privateKeyToAccount(key).address.toLowerCase());
      }),
      { numRuns: 100 },
    );
  });

  it('rejects nonce 2^64-1 as geth does', () => {
    const raw = signFeeMarketTx(devKey, { nonce: (1n << 64n) - 1n, gas: 21_000n, maxFee: 7n, maxTip: 7n });
    expect(() => decodeAndCheck(raw, common, noCap, BLOCK_GAS_LIMIT)).toThrow(
      new RpcError(-32000, 'nonce has max value'),
    );
  });

  it("rejects a tip above the fee cap with geth's message", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        (f, extra) => {
          const raw = signFeeMarketTx(devKey, { nonce: 0n, gas: 21_000n, maxFee: f, maxTip: f + extra });
          expect(() => decodeAndCheck(raw, common, noCap, BLOCK_GAS_LIMIT)).toThrow(
            new RpcError(-32000, 'max priority fee per gas higher than max fee per gas'),
          );
        },
      ),
      { numRuns: 50 },
    );
  });

  it('rejects gas × fee above 2^256-1 as insufficient funds', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 21_000n, max: MAX_TX_GAS }),
        fc.bigInt({ min: 1n, max: U256_MAX }),
        (g, f) => {
          fc.pre(g * f > U256_MAX);
          const raw = signFeeMarketTx(devKey, { nonce: 0n, gas: g, maxFee: f, maxTip: 0n });
          expect(() => decodeAndCheck(raw, common, noCap, BLOCK_GAS_LIMIT)).toThrow(
            new RpcError(-32000, 'insufficient funds for gas * price + value'),
          );
        },
      ),
      { numRuns: 50 },
    );
  });

  it('rejects a high-s copy of any valid signature as invalid sender', async () => {
    await fc.assert(
      fc.asyncProperty(signedTx, async ([key, fields]) => {
        const account = privateKeyToAccount(key);
        const tx = { ...fields, chainId: CHAIN_ID } as TransactionSerializable;
        const { r, s, yParity } = parseTransaction(await account.signTransaction(tx));
        if (r === undefined || s === undefined || yParity === undefined) throw new Error('unsigned');
        const highS = toHex(bigTo32(SECP256K1_N - BigInt(s)));
        const flipped = yParity === 0 ? 1 : 0;
        const raw = fromHex(
          serializeTransaction(tx, { r, s: highS, yParity: flipped, v: 27n + BigInt(flipped) }),
        );
        expect(() => decodeAndCheck(raw, common, noCap, BLOCK_GAS_LIMIT)).toThrow(
          new RpcError(-32000, 'invalid sender'),
        );
      }),
      { numRuns: 50 },
    );
  });

  it('rejects a tx signed for any other chain id as invalid chain id for signer', async () => {
    await fc.assert(
      fc.asyncProperty(signedTx, fc.integer({ min: 1, max: 2 ** 32 }), async ([key, fields], chainId) => {
        fc.pre(chainId !== CHAIN_ID);
        const account = privateKeyToAccount(key);
        const raw = fromHex(await account.signTransaction({ ...fields, chainId } as TransactionSerializable));
        expect(() => decodeAndCheck(raw, common, noCap, BLOCK_GAS_LIMIT)).toThrow(
          new RpcError(-32000, 'invalid chain id for signer'),
        );
      }),
      { numRuns: 50 },
    );
  });

  it('are rejected by the fee cap exactly when gas × max fee exceeds it', async () => {
    await fc.assert(
      fc.asyncProperty(
        privateKey,
        fc.bigInt({ min: 21_000n, max: 100_000n }),
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        async (key, gasLimit, maxFeePerGas) => {
          const { raw } = await sign(key, {
            type: 'eip1559',
            nonce: 0,
            gas: gasLimit,
            to: `0x${'11'.repeat(20)}`,
            value: 0n,
            data: '0x',
            maxFeePerGas,
            maxPriorityFeePerGas: 0n,
            accessList: [],
          });
          const overCap = gasLimit * maxFeePerGas > mempoolDefaults.rpcTxFeeCap;
          try {
            decodeAndCheck(raw, common, mempoolDefaults, BLOCK_GAS_LIMIT);
            expect(overCap).toBe(false);
          } catch (err) {
            expectRpcRejection(err);
            expect(overCap).toBe(true);
            expect((err as Error).message).toMatch(
              /^tx fee \(\d+\.\d\d ether\) exceeds the configured cap \(1\.00 ether\)$/,
            );
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'append'; extra: Uint8Array }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'splice'; at: number; remove: number; insert: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: fc.nat(),
    remove: fc.integer({ min: 0, max: 8 }),
    insert: fc.uint8Array({ maxLength: 8 }),
  }),
);

function mutate(raw: Uint8Array, m: Mutation): Uint8Array {
  const out = Uint8Array.from(raw);
  switch (m.kind) {
    case 'flip':
      out[m.at % out.length] ^= 1 << m.bit;
      return out;
    case 'set':
      out[m.at % out.length] = m.value;
      return out;
    case 'truncate':
      return out.subarray(0, m.keep % out.length);
    case 'append':
      return Uint8Array.from([...out, ...m.extra]);
    case 'splice': {
      const at = m.at % out.length;
      return Uint8Array.from([...out.subarray(0, at), ...m.insert, ...out.subarray(at + m.remove)]);
    }
  }
}

/** Nested RLP-shaped values: what a decoder sees when the envelope is valid but the contents are not. */
const rlpItem: fc.Arbitrary<Uint8Array | unknown[]> = fc.letrec<{ item: Uint8Array | unknown[] }>((tie) => ({
  item: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('item'), { maxLength: 14 }),
  ),
})).item;

/** Lists shaped like tx payloads (8–14 fields of plausible sizes), so decoding gets past the envelope. */
const txShapedList = fc.array(
  fc.oneof(
    fc.bigInt({ min: 0n, max: U256_MAX }).map(uintBytes),
    fc.uint8Array({ minLength: 20, maxLength: 20 }),
    fc.uint8Array({ minLength: 32, maxLength: 32 }),
    fc.uint8Array({ maxLength: 3 }),
    fc.array(fc.array(fc.uint8Array({ maxLength: 33 }), { maxLength: 3 }), { maxLength: 2 }),
  ),
  { minLength: 8, maxLength: 14 },
);

describe('decodeAndCheck: hostile bytes', () => {
  it('mutations of valid txs are accepted canonically or rejected with an RpcError -32000', async () => {
    await fc.assert(
      fc.asyncProperty(signedTx, fc.array(mutation, { minLength: 1, maxLength: 3 }), async ([key, f], ms) => {
        const { raw } = await sign(key, f);
        let bad = raw;
        for (const m of ms) bad = bad.length === 0 ? bad : mutate(bad, m);
        decodeOrReject(bad);
      }),
      { numRuns: 200 },
    );
  });

  it('truncating a valid tx anywhere or appending bytes to it is always rejected', async () => {
    await fc.assert(
      fc.asyncProperty(
        signedTx,
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        async ([key, f], cut, extra) => {
          const { raw } = await sign(key, f);
          expect(decodeOrReject(raw.subarray(0, cut % raw.length))).toBeUndefined();
          expect(decodeOrReject(Uint8Array.from([...raw, ...extra]))).toBeUndefined();
        },
      ),
      { numRuns: 100 },
    );
  });

  it('random bytes never throw anything but an RpcError -32000', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        decodeOrReject(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('random RLP structures behind every type byte never throw anything but an RpcError -32000', () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 0, max: 0x7f }), { nil: undefined }),
        fc.oneof(rlpItem, txShapedList),
        (type, item) => {
          const body = RLP.encode(item as Uint8Array);
          const raw = type === undefined ? body : Uint8Array.from([type, ...body]);
          decodeOrReject(raw);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("names malformed envelopes with geth's messages", async () => {
    const valid = fromHex(
      await privateKeyToAccount(devKey).signTransaction({
        type: 'eip1559',
        chainId: CHAIN_ID,
        nonce: 0,
        to: `0x${'11'.repeat(20)}`,
        gas: 21_000n,
        maxFeePerGas: 1n,
        maxPriorityFeePerGas: 1n,
      }),
    );
    const fields = RLP.decode(valid.subarray(1)) as Uint8Array[];
    const cases: Array<[Uint8Array, string]> = [
      [new Uint8Array(), 'typed transaction too short'],
      [Uint8Array.of(2), 'typed transaction too short'],
      [Uint8Array.of(5), 'typed transaction too short'],
      [Uint8Array.of(5, 0xc0), 'transaction type not supported'],
      [Uint8Array.of(3, 0xc0), 'transaction type not supported'],
      [Uint8Array.of(2, 0xc0), 'rlp: too few elements for types.DynamicFeeTx'],
      [Uint8Array.of(1, 0xc0), 'rlp: too few elements for types.AccessListTx'],
      [Uint8Array.of(4, 0xc0), 'rlp: too few elements for types.SetCodeTx'],
      [Uint8Array.of(2, 0x80), 'rlp: expected input list for types.DynamicFeeTx'],
      [Uint8Array.of(0xc0), 'rlp: too few elements for types.LegacyTx'],
      [Uint8Array.of(0x81, 0xff), 'rlp: expected input list for types.LegacyTx'],
      [Uint8Array.of(0xf8), 'rlp: value size exceeds available input length'],
      [Uint8Array.of(2, 0x81, 0x01), 'rlp: expected input list for types.DynamicFeeTx'],
      // geth adds the field's type and path here ("... for *uint256.Int, decoding into ...").
      [Uint8Array.of(2, 0xc2, 0x81, 0x01), 'rlp: non-canonical size information'],
      [valid.subarray(0, valid.length - 1), 'rlp: value size exceeds available input length'],
      [Uint8Array.from([...valid, 0]), 'rlp: input contains more than one value'],
      [
        Uint8Array.from([2, ...RLP.encode([...fields, Uint8Array.of(1)])]),
        'rlp: input list has too many elements for types.DynamicFeeTx',
      ],
      [
        Uint8Array.from([2, ...RLP.encode(fields.slice(0, 9))]),
        'rlp: too few elements for types.DynamicFeeTx',
      ],
      [
        RLP.encode([
          new Uint8Array(),
          Uint8Array.of(1),
          Uint8Array.of(0x52, 0x08),
          new Uint8Array(20),
          new Uint8Array(),
          new Uint8Array(),
        ]),
        'rlp: too few elements for types.LegacyTx',
      ],
    ];
    for (const [raw, message] of cases) {
      expect(() => decodeAndCheck(raw, common, noCap, BLOCK_GAS_LIMIT), toHex(raw)).toThrow(
        new RpcError(-32000, message),
      );
    }
  });

  it('oversized input is rejected as oversized data before decoding', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1024 }), (over) => {
        const raw = new Uint8Array(mempoolDefaults.maxTxSize + over).fill(0x02, 0, 1);
        expect(() => decodeAndCheck(raw, common, mempoolDefaults, BLOCK_GAS_LIMIT)).toThrow(
          new RpcError(-32000, 'oversized data'),
        );
      }),
      { numRuns: 20 },
    );
  });
});

const hash32 = hexOf(32);
const u256 = fc.bigInt({ min: 0n, max: U256_MAX });
const sequencedBlock: fc.Arbitrary<SequencedBlock> = fc.record({
  version: fc.constant(1 as const),
  chainId: u256,
  height: u256,
  parentHash: hash32,
  timestamp: u256,
  l1Origin: fc.record({ number: u256, hash: hash32 }),
  l1MessageCursor: u256,
  txs: fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 8 }),
  lagStateRoot: hash32,
});

function expectBlockDecodeError(data: Uint8Array): SequencedBlock | undefined {
  try {
    return decodeSequencedBlock(data);
  } catch (err) {
    if (!(err instanceof BlockDecodeError)) throw new Error(`not a BlockDecodeError: ${String(err)}`);
    return undefined;
  }
}

describe('sequenced block encoding', () => {
  it('decode(encode(b)) is b', () => {
    fc.assert(
      fc.property(sequencedBlock, (b) => {
        const decoded = decodeSequencedBlock(encodeSequencedBlock(b));
        expect({ ...decoded, txs: decoded.txs.map(toHex) }).toEqual({ ...b, txs: b.txs.map(toHex) });
      }),
      { numRuns: 200 },
    );
  });

  it('a decodable input is canonical: it re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(sequencedBlock, fc.array(mutation, { minLength: 1, maxLength: 3 }), (b, ms) => {
        let data = encodeSequencedBlock(b);
        for (const m of ms) data = data.length === 0 ? data : mutate(data, m);
        const decoded = expectBlockDecodeError(data);
        if (decoded) expect(toHex(encodeSequencedBlock(decoded))).toBe(toHex(data));
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes and random RLP only ever throw BlockDecodeError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          rlpItem.map((item) => RLP.encode(item as Uint8Array)),
          fc
            .array(rlpItem, { minLength: 9, maxLength: 9 })
            .map((fields) => RLP.encode(fields as Uint8Array[])),
        ),
        (data) => {
          expectBlockDecodeError(data);
        },
      ),
      { numRuns: 500 },
    );
  });
});
