import { request } from 'node:http';
import { connect } from 'node:net';
import { RLP } from '@ethereumjs/rlp';
import { type Hex, parseTransaction, serializeTransaction, type TransactionSerializable } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/execution/genesis.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { type DevnetProcess, rpcCall, startDevnet } from '../helpers/devnet.js';
import { signFeeMarketTx } from '../helpers/raw-tx.js';

/**
 * RELIABILITY.md scenario 7: the bad-input corpus against a real devnet process. Every rejection is a
 * JSON-RPC error with geth's code and message; the node keeps serving, and a good tx from another
 * sender, sent in the middle of the corpus, is included.
 */
const CHAIN_ID = 42069;
const GWEI = 10n ** 9n;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const MAX_QUEUED_PER_SENDER = 2;

const [spammer, good, other] = devAccounts(3).map((a) => privateKeyToAccount(a.privateKey));
const otherKey = devAccounts(3)[2].privateKey;
const unfunded = privateKeyToAccount(generatePrivateKey());
const recipient: Hex = '0x00000000000000000000000000000000000c0ffe';

type RpcReply = { jsonrpc: string; id: unknown; result?: unknown; error?: { code: number; message: string } };

/** A plain EIP-1559 transfer; override any field. */
function transfer(over: Partial<TransactionSerializable> = {}): TransactionSerializable {
  return {
    type: 'eip1559',
    chainId: CHAIN_ID,
    nonce: 0,
    to: recipient,
    value: 1n,
    gas: 21_000n,
    maxFeePerGas: GWEI,
    maxPriorityFeePerGas: GWEI / 10n,
    ...over,
  } as TransactionSerializable;
}

describe('bad-input corpus against a devnet process', () => {
  let devnet: DevnetProcess;
  let nextId = 1;
  let goodHash: Hex | undefined;

  beforeAll(async () => {
    devnet = await startDevnet({
      blockTime: 0,
      args: ['--mempool.max-queued-per-sender', String(MAX_QUEUED_PER_SENDER)],
    });
  });
  afterAll(async () => {
    expect(await devnet.stop()).toBe(0);
  });

  async function call(method: string, params: unknown[]): Promise<RpcReply> {
    const { status, json } = await rpcCall(devnet.url, { jsonrpc: '2.0', id: nextId++, method, params });
    expect(status).toBe(200);
    return json as RpcReply;
  }

  async function expectError(
    reply: Promise<RpcReply>,
    code: number,
    message: string | RegExp,
  ): Promise<void> {
    const { error, result } = await reply;
    expect(result).toBeUndefined();
    expect(error?.code).toBe(code);
    if (typeof message === 'string') expect(error?.message).toBe(message);
    else expect(error?.message).toMatch(message);
  }

  const sendRaw = (raw: string) => call('eth_sendRawTransaction', [raw]);
  const rejectTx = (raw: string, message: string | RegExp) => expectError(sendRaw(raw), -32000, message);

  async function receipt(hash: Hex): Promise<{ status: Hex; blockNumber: Hex }> {
    for (let i = 0; i < 400; i++) {
      const { result } = await call('eth_getTransactionReceipt', [hash]);
      if (result) return result as { status: Hex; blockNumber: Hex };
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no receipt for ${hash}`);
  }

  describe('transactions', () => {
    it('oversized data (> 128 KiB)', async () => {
      const raw = await other.signTransaction(
        transfer({ gas: 10_000_000n, data: `0x${'ab'.repeat(128 * 1024 + 1)}` }),
      );
      await rejectTx(raw, 'oversized data');
    });

    it('account limit exceeded (queued per sender)', async () => {
      // Nonces 5 and 6 leave a gap: queued. The limit is 2, so nonce 7 is one too many.
      for (const nonce of [5, 6]) {
        const { result, error } = await sendRaw(await spammer.signTransaction(transfer({ nonce })));
        expect(error).toBeUndefined();
        expect(result).toMatch(/^0x[0-9a-f]{64}$/);
      }
      await rejectTx(await spammer.signTransaction(transfer({ nonce: 7 })), 'account limit exceeded');
    });

    it('replacement transaction underpriced, and a replacement with the 10 % bump accepted', async () => {
      const same = await spammer.signTransaction(transfer({ nonce: 5, value: 2n }));
      await rejectTx(same, 'replacement transaction underpriced');
      const tipOnly = await spammer.signTransaction(
        transfer({ nonce: 5, maxPriorityFeePerGas: GWEI / 5n }), // tip doubled, fee cap unchanged
      );
      await rejectTx(tipOnly, 'replacement transaction underpriced');
      const bumped = await spammer.signTransaction(
        transfer({ nonce: 5, maxFeePerGas: (GWEI * 11n) / 10n, maxPriorityFeePerGas: (GWEI * 11n) / 100n }),
      );
      const { result, error } = await sendRaw(bumped);
      expect(error).toBeUndefined();
      expect(result).toMatch(/^0x[0-9a-f]{64}$/);
    });

    it('a good tx from another sender, in the middle of the corpus', async () => {
      const { result, error } = await sendRaw(await good.signTransaction(transfer({ nonce: 0, value: 7n })));
      expect(error).toBeUndefined();
      goodHash = result as Hex;
      expect(goodHash).toMatch(/^0x[0-9a-f]{64}$/);
    });

    it('exceeds block gas limit; transaction gas limit too high (EIP-7825)', async () => {
      await rejectTx(await other.signTransaction(transfer({ gas: 30_000_001n })), 'exceeds block gas limit');
      await rejectTx(
        await other.signTransaction(transfer({ gas: (1n << 24n) + 1n })),
        'transaction gas limit too high (cap: 16777216, tx: 16777217)',
      );
    });

    it('nonce too low', async () => {
      // The good tx (nonce 0) is in a block by now.
      expect((await receipt(goodHash!)).status).toBe('0x1');
      await rejectTx(
        await good.signTransaction(transfer({ nonce: 0, value: 8n })),
        'nonce too low: next nonce 1, tx nonce 0',
      );
    });

    it('invalid chain id for signer', async () => {
      await rejectTx(await other.signTransaction(transfer({ chainId: 1 })), 'invalid chain id for signer');
      await rejectTx(
        await other.signTransaction({
          type: 'legacy',
          chainId: 1,
          nonce: 0,
          to: recipient,
          gas: 21_000n,
          gasPrice: GWEI,
        }),
        'invalid chain id for signer',
      );
    });

    it('only replay-protected (EIP-155) transactions allowed over RPC', async () => {
      const raw = await other.signTransaction({
        type: 'legacy',
        nonce: 0,
        to: recipient,
        gas: 21_000n,
        gasPrice: GWEI,
      });
      expect(parseTransaction(raw).chainId).toBeUndefined();
      await rejectTx(raw, 'only replay-protected (EIP-155) transactions allowed over RPC');
    });

    it('invalid sender (high-s signature)', async () => {
      const tx = transfer();
      const { r, s, yParity } = parseTransaction(await other.signTransaction(tx));
      const highS = `0x${(SECP256K1_N - BigInt(s!)).toString(16).padStart(64, '0')}` as Hex;
      const raw = serializeTransaction(tx, { r: r!, s: highS, yParity: yParity === 0 ? 1 : 0 });
      await rejectTx(raw, 'invalid sender');
    });

    it('tx fee exceeds the configured cap (1 ETH)', async () => {
      // 21000 gas × 100,000 gwei = 2.1 ETH.
      const raw = await other.signTransaction(
        transfer({ maxFeePerGas: 100_000n * GWEI, maxPriorityFeePerGas: GWEI }),
      );
      await rejectTx(raw, 'tx fee (2.10 ether) exceeds the configured cap (1.00 ether)');
    });

    it('intrinsic gas too low', async () => {
      await rejectTx(
        await other.signTransaction(transfer({ gas: 20_000n })),
        'intrinsic gas too low: gas 20000, minimum needed 21000',
      );
    });

    it('insufficient funds', async () => {
      const raw = await unfunded.signTransaction(transfer());
      await rejectTx(raw, /^insufficient funds for gas \* price \+ value: /);
    });

    it('max priority fee per gas higher than max fee per gas', async () => {
      // viem refuses to sign this one: build it by hand.
      const raw = signFeeMarketTx(otherKey, { nonce: 0n, gas: 21_000n, maxFee: GWEI, maxTip: 2n * GWEI });
      await rejectTx(toHex(raw), 'max priority fee per gas higher than max fee per gas');
    });

    it('malformed RLP', async () => {
      await rejectTx('0x', 'typed transaction too short');
      await rejectTx('0x02', 'typed transaction too short');
      await rejectTx('0x02c0', 'rlp: too few elements for types.DynamicFeeTx');
      await rejectTx('0x0280', 'rlp: expected input list for types.DynamicFeeTx');
      await rejectTx('0xc0', 'rlp: too few elements for types.LegacyTx');
      await rejectTx('0x80', 'rlp: expected input list for types.LegacyTx');
      await rejectTx('0xf8', 'rlp: value size exceeds available input length');
      const valid = await other.signTransaction(transfer());
      await rejectTx(`${valid}00`, 'rlp: input contains more than one value');
      await rejectTx(valid.slice(0, -4), 'rlp: value size exceeds available input length');
      const fields = RLP.decode(fromHex(`0x${valid.slice(4)}`)) as Uint8Array[];
      const extra = toHex(Uint8Array.from([2, ...RLP.encode([...fields, new Uint8Array([1])])]));
      await rejectTx(extra, 'rlp: input list has too many elements for types.DynamicFeeTx');
      // A well-formed but unsigned legacy tx: geth's struct has no optional signature.
      const unsigned = toHex(
        RLP.encode([
          new Uint8Array(),
          new Uint8Array([1]),
          new Uint8Array([0x52, 0x08]),
          fromHex(recipient),
          new Uint8Array(),
          new Uint8Array(),
        ]),
      );
      await rejectTx(unsigned, 'rlp: too few elements for types.LegacyTx');
    });

    it('transaction type not supported', async () => {
      const valid = await other.signTransaction(transfer());
      await rejectTx(`0x05${valid.slice(4)}`, 'transaction type not supported');
      await rejectTx('0x7f00', 'transaction type not supported');
    });
  });

  describe('JSON-RPC envelope and params', () => {
    it('parse error (-32700)', async () => {
      const { status, json } = await rpcCall(devnet.url, '{"jsonrpc":"2.0","id":1,"method":');
      expect(status).toBe(200);
      expect(json).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } });
    });

    it('invalid request (-32600)', async () => {
      for (const body of [{ jsonrpc: '2.0', id: 1 }, { jsonrpc: '2.0', id: 1, method: 7 }, 42, []]) {
        const { json } = await rpcCall(devnet.url, body);
        expect((json as RpcReply).error?.code).toBe(-32600);
      }
      const { json } = await rpcCall(devnet.url, { jsonrpc: '2.0', id: 9, params: [] });
      expect(json).toEqual({ jsonrpc: '2.0', id: 9, error: { code: -32600, message: 'invalid request' } });
    });

    it('method not found (-32601)', async () => {
      await expectError(
        call('eth_doesNotExist', []),
        -32601,
        'the method eth_doesNotExist does not exist/is not available',
      );
    });

    it('invalid params (-32602): missing 0x, odd hex, wrong length, huge numbers', async () => {
      const addr = spammer.address.toLowerCase();
      await expectError(
        call('eth_getBalance', [addr.slice(2), 'latest']),
        -32602,
        'invalid argument 0: json: cannot unmarshal hex string without 0x prefix into Go value of type common.Address',
      );
      await expectError(
        call('eth_sendRawTransaction', ['0x123']),
        -32602,
        'invalid argument 0: json: cannot unmarshal hex string of odd length into Go value of type hexutil.Bytes',
      );
      await expectError(
        call('eth_sendRawTransaction', ['0xzz']),
        -32602,
        'invalid argument 0: json: cannot unmarshal invalid hex string into Go value of type hexutil.Bytes',
      );
      await expectError(
        call('eth_getBalance', [addr.slice(0, -2), 'latest']),
        -32602,
        'invalid argument 0: hex string has length 38, want 40 for common.Address',
      );
      await expectError(
        call('eth_getBalance', [`${addr}0`, 'latest']),
        -32602,
        'invalid argument 0: json: cannot unmarshal hex string of odd length into Go value of type common.Address',
      );
      await expectError(
        call('eth_getTransactionByHash', ['0x1234']),
        -32602,
        'invalid argument 0: hex string has length 4, want 64 for common.Hash',
      );
      await expectError(
        call('eth_getBlockByNumber', [`0x1${'0'.repeat(16)}`, false]),
        -32602,
        'invalid argument 0: hex number > 64 bits',
      );
      await expectError(
        call('eth_getBlockByNumber', [`0x${'f'.repeat(80)}`, false]),
        -32602,
        'invalid argument 0: hex number > 64 bits',
      );
      await expectError(
        call('eth_getBalance', [addr, `0x${'f'.repeat(65)}`]),
        -32602,
        'invalid argument 1: hex number > 64 bits',
      );
      await expectError(
        call('eth_getBlockByNumber', ['0x01', false]),
        -32602,
        'invalid argument 0: hex number with leading zero digits',
      );
      // geth names the struct field: "json: cannot unmarshal hex number > 256 bits into Go struct field
      // TransactionArgs.value of type *hexutil.Big".
      await expectError(
        call('eth_call', [{ to: recipient, value: `0x1${'0'.repeat(64)}` }, 'latest']),
        -32602,
        /^invalid argument 0: .*hex number > 256 bits/,
      );
      await expectError(
        call('eth_getBalance', [`0x${'zz'.repeat(20)}`, 'latest']),
        -32602,
        'invalid argument 0: json: cannot unmarshal invalid hex string into Go value of type common.Address',
      );
      // geth decodes the storage key in the method: a plain -32000.
      await expectError(
        call('eth_getStorageAt', [addr, `0x${'1'.repeat(66)}`, 'latest']),
        -32000,
        'unable to decode storage key: hex string too long, want at most 32 bytes',
      );
      await expectError(
        call('eth_getStorageAt', [addr, '0xzz', 'latest']),
        -32000,
        'unable to decode storage key: hex string invalid',
      );
      await expectError(call('eth_getBalance', []), -32602, 'missing value for required argument 0');
      await expectError(call('eth_chainId', [1]), -32602, 'too many arguments, want at most 0');
    });

    it('polling filters: bad criteria, unknown ids; names that are not methods', async () => {
      await expectError(
        call('eth_newFilter', [{ fromBlock: 'pending' }]),
        -32000,
        'pending logs are not supported',
      );
      await expectError(
        call('eth_newFilter', [{ fromBlock: '0x5', toBlock: '0x2' }]),
        -32602,
        'invalid block range params',
      );
      await expectError(call('eth_newFilter', ['latest']), -32602, /cannot unmarshal non-object/);
      await expectError(
        call('eth_newFilter', [{ topics: [null, null, null, null, null] }]),
        -32602,
        /too many topics/,
      );
      await expectError(call('eth_newBlockFilter', [1]), -32602, 'too many arguments, want at most 0');
      await expectError(call('eth_newPendingTransactionFilter', ['yes']), -32602, /non-bool/);
      await expectError(call('eth_getFilterChanges', [`0x${'ab'.repeat(16)}`]), -32000, 'filter not found');
      await expectError(call('eth_getFilterLogs', [7]), -32602, /filter id must be a string/);
      // A block filter has no logs to query.
      const blocks = (await call('eth_newBlockFilter', [])).result as string;
      await expectError(call('eth_getFilterLogs', [blocks]), -32000, 'filter not found');
      expect((await call('eth_uninstallFilter', [blocks])).result).toBe(true);
      for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty'])
        await expectError(call(name, []), -32601, `the method ${name} does not exist/is not available`);
    });

    it('eth_getProof and block-receipt queries: bad keys, too many keys, bad block ids', async () => {
      const addr = spammer.address;
      await expectError(
        call('eth_getProof', [addr, ['0xzz'], 'latest']),
        -32000,
        'unable to decode storage key: hex string invalid',
      );
      await expectError(
        call('eth_getProof', [addr, Array.from({ length: 1025 }, () => '0x0'), 'latest']),
        -32005,
        'too many storage keys (max 1024)',
      );
      await expectError(call('eth_getProof', [addr, '0x0', 'latest']), -32602, /non-array/);
      await expectError(call('eth_getProof', [addr, [], '0x99999999']), -32000, 'header not found');
      await expectError(call('eth_getBlockReceipts', ['nonsense']), -32602, /invalid argument 0/);
      await expectError(
        call('eth_getBlockReceipts', [null]),
        -32602,
        'missing value for required argument 0',
      );
      expect((await call('eth_getBlockReceipts', ['0xffffff'])).result).toBeNull();
    });

    it('HTTP 413 for a 6 MiB body', async () => {
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'eth_sendRawTransaction',
        params: [`0x${'00'.repeat(3 * 1024 * 1024)}`],
      });
      expect(body.length).toBeGreaterThan(6 * 1024 * 1024);
      // Declared in content-length: refused from the header, before the body is read.
      const head = await rawHttp(devnet.url, Buffer.byteLength(body));
      expect(head).toMatch(/^HTTP\/1\.1 413 /);
      // Streamed without a content-length (chunked): refused once the server has counted past 5 MiB.
      expect(await postChunked(devnet.url, body)).toBe(413);
      // Declared and sent in full, as a client library does: the 413 still arrives (no reset socket).
      for (let i = 0; i < 5; i++) {
        const res = await fetch(devnet.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        expect(res.status).toBe(413);
      }
    });

    it('batch too large (1,001 calls); a batch of 3 works', async () => {
      const batch = (n: number) =>
        Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'eth_chainId', params: [] }));
      const big = await rpcCall(devnet.url, batch(1001));
      expect(big.status).toBe(200);
      expect(big.json).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32600, message: 'batch too large' },
      });

      const { json } = await rpcCall(devnet.url, [
        { jsonrpc: '2.0', id: 'a', method: 'eth_chainId', params: [] },
        { jsonrpc: '2.0', id: 'b', method: 'eth_blockNumber', params: [] },
        { jsonrpc: '2.0', id: 'c', method: 'eth_getBalance', params: [good.address, 'latest'] },
      ]);
      const replies = json as RpcReply[];
      expect(replies.map((r) => r.id).sort()).toEqual(['a', 'b', 'c']);
      const byId = Object.fromEntries(replies.map((r) => [String(r.id), r]));
      expect(byId.a.result).toBe(`0x${CHAIN_ID.toString(16)}`);
      expect(byId.b.result).toMatch(/^0x[0-9a-f]+$/);
      expect(BigInt(byId.c.result as string)).toBeGreaterThan(0n);
      for (const r of replies) expect(r.error).toBeUndefined();
    });
  });

  it('after the corpus: the node still serves and the good tx from another sender was included', async () => {
    const { result } = await call('eth_blockNumber', []);
    expect(BigInt(result as string)).toBeGreaterThanOrEqual(1n);
    const r = await receipt(goodHash!);
    expect(r.status).toBe('0x1');
    const { result: count } = await call('eth_getTransactionCount', [good.address, 'latest']);
    expect(count).toBe('0x1');
    // The spammer's gapped txs are still queued, not lost, and its nonce did not move.
    const { result: spammerNonce } = await call('eth_getTransactionCount', [spammer.address, 'latest']);
    expect(spammerNonce).toBe('0x0');
    // And a new good tx still goes through.
    const { result: hash, error } = await sendRaw(await other.signTransaction(transfer({ nonce: 0 })));
    expect(error).toBeUndefined();
    expect((await receipt(hash as Hex)).status).toBe('0x1');
  });
});

/**
 * Sends only the request head of a POST declaring `length` body bytes and returns what the server
 * answers: the server refuses from the header alone, before any body byte arrives.
 */
function rawHttp(url: string, length: number): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let got = '';
    socket.on('data', (d) => {
      got += d.toString('latin1');
      // The answer's head is enough; the server keeps the connection open for the body it expects.
      if (got.includes('\r\n\r\n')) {
        socket.destroy();
        resolve(got);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(got));
    socket.write(
      `POST / HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`,
    );
  });
}

/** POSTs a body in chunks (no content-length) and returns the HTTP status. */
function postChunked(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      answered = true;
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    // The server closes the connection after its 413: a write error after the answer is expected.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    for (let at = 0; at < body.length; at += 256 * 1024) req.write(body.slice(at, at + 256 * 1024));
    req.end();
  });
}
