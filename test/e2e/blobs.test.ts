import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import {
  type Abi,
  concat,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  keccak256,
  parseGwei,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendWithFeeBumps } from '../../src/batcher/batcher.js';
import { blobCapacity, blobSidecars, encodeBlobs, GAS_PER_BLOB } from '../../src/batcher/blobs.js';
import { decodeBatch } from '../../src/batcher/codec.js';
import { BlobSourceError, fetchBlobBatch } from '../../src/derive/blob-source.js';
import { verifyFromL1 } from '../../src/derive/verifier.js';
import { devAccounts, devChainOptions } from '../../src/execution/genesis.js';
import { Anvil, waitForRpc } from '../../src/l1/anvil.js';
import { deployL1Contracts, type L1Deployment, l1Artifacts } from '../../src/l1/deploy.js';
import { hashSequencedBlock, type SequencedBlock } from '../../src/types/sequenced-block.js';
import { freePort, rpcCall } from '../helpers/devnet.js';
import { chainOf, until } from '../helpers/wait.js';

const root = resolve(import.meta.dirname, '../..');
const inboxAbi = l1Artifacts().Inbox.abi as Abi;

/**
 * A JSON-RPC proxy in front of the L1 that corrupts the blobs it serves: one byte of blob 0 of every
 * `anvil_getBlobsByTransactionHash` answer is changed (inside a field element, so it is still a valid
 * blob, just not the one the tx committed to).
 */
async function startTamperingProxy(target: string): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const upstream = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    let text = await upstream.text();
    if (JSON.parse(body.toString()).method === 'anvil_getBlobsByTransactionHash') {
      const answer = JSON.parse(text) as { result: string[] };
      const blob = answer.result[0];
      // Hex offset 2 + 2 * 100: byte 100 is byte 4 of field element 3, never the zero high byte.
      const at = 2 + 2 * 100;
      const flipped = blob[at] === 'f' ? 'e' : 'f';
      answer.result[0] = blob.slice(0, at) + flipped + blob.slice(at + 1);
      text = JSON.stringify(answer);
    }
    res.writeHead(upstream.status, { 'content-type': 'application/json' });
    res.end(text);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${port}`, server };
}

/** `seqnet node --da blobs` against anvil: batches go to L1 as EIP-4844 blobs and come back intact. */
describe('blobs (--da blobs)', () => {
  let anvil: Anvil;
  let node: ChildProcess;
  let url: string;
  let deployment: L1Deployment;
  let nodeLog = '';
  const [deployer, sequencer, alice, bob] = devAccounts(4);
  const account = privateKeyToAccount(alice.privateKey);

  beforeAll(async () => {
    anvil = await Anvil.start({ host: '127.0.0.1', port: await freePort(), chainId: 31337, blockTime: 1 });
    deployment = await deployL1Contracts({
      rpcUrl: anvil.url,
      deployerKey: deployer.privateKey,
      sequencer: sequencer.address,
      finalisationDelaySeconds: 60,
    });
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-blobs-'));
    writeFileSync(join(dir, 'deployment.json'), JSON.stringify(deployment));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    node = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'node',
        '--data-dir',
        join(dir, 'data'),
        '--rpc-port',
        String(port),
        '--block-time',
        '0',
        '--log-level',
        'warn',
        '--l1-rpc',
        anvil.url,
        '--l1-deployment',
        join(dir, 'deployment.json'),
        '--l1-confirmations',
        '1',
        '--da',
        'blobs',
      ],
      {
        cwd: root,
        env: { ...process.env, SEQNET_BATCHER_KEY: sequencer.privateKey },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    node.stderr?.on('data', (d) => {
      nodeLog += d.toString();
    });
    await waitForRpc(url, 60_000);
  });
  afterAll(async () => {
    node?.kill('SIGINT');
    await new Promise((r) => (node?.exitCode !== null ? r(null) : node.once('exit', r)));
    await anvil?.stop();
  });

  const l1 = () => createPublicClient({ transport: http(anvil.url) });
  const l2 = () => createPublicClient({ chain: chainOf(42069, url), transport: http(url) });
  const blobBatchTxs = async () => {
    const logs = await l1().getContractEvents({
      address: deployment.contracts.Inbox,
      abi: inboxAbi,
      eventName: 'BatchPosted',
      fromBlock: 0n,
    });
    return logs as unknown as Array<{
      transactionHash: Hex;
      args: { firstBlock: bigint; lastBlock: bigint; lastBlockHash: Hex; dataHash: Hex; blobs: boolean };
    }>;
  };

  it('posts batches as type-3 txs whose blobs decode to exactly the blocks the node sequenced', async () => {
    let nonce = 0;
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 5; i++) {
        const raw = await account.signTransaction({
          chainId: 42069,
          type: 'eip1559',
          nonce: nonce++,
          to: bob.address,
          value: BigInt(1 + round * 5 + i),
          gas: 21000n,
          maxFeePerGas: parseGwei('1'),
          maxPriorityFeePerGas: 0n,
        });
        const r = await rpcCall(url, {
          jsonrpc: '2.0',
          id: 1,
          method: 'eth_sendRawTransaction',
          params: [raw],
        });
        expect((r.json as { error?: unknown }).error).toBeUndefined();
      }
      // Let some batches go out in between, so the run spans several blob batches.
      await new Promise((r) => setTimeout(r, 1_500));
    }
    const head = await l2().getBlockNumber({ cacheTime: 0 });
    await until(
      `batches up to L2 block ${head}`,
      async () => {
        const next = (await l1().readContract({
          address: deployment.contracts.Inbox,
          abi: inboxAbi,
          functionName: 'nextBlock',
        })) as bigint;
        return next > head ? next : undefined;
      },
      90_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nnode log:\n${nodeLog.slice(-3000)}`);
    });

    const posted = await blobBatchTxs();
    expect(posted.length).toBeGreaterThan(0);
    const derived: SequencedBlock[] = [];
    for (const log of posted) {
      expect(log.args.blobs).toBe(true);
      const tx = await l1().getTransaction({ hash: log.transactionHash });
      expect(tx.type).toBe('eip4844');
      expect(tx.typeHex).toBe('0x3');
      const hashes = tx.blobVersionedHashes!;
      expect(hashes.length).toBeGreaterThan(0);
      // The Inbox recorded keccak256 of the concatenated versioned hashes.
      expect(log.args.dataHash).toBe(keccak256(concat(hashes)));
      const receipt = await l1().getTransactionReceipt({ hash: log.transactionHash });
      expect(receipt.status).toBe('success');
      expect(receipt.blobGasUsed).toBe(BigInt(GAS_PER_BLOB * hashes.length));
      expect(tx.maxFeePerBlobGas).toBeGreaterThan(0n);

      const bytes = await fetchBlobBatch(anvil.url, log.transactionHash);
      const blocks = decodeBatch(bytes, log.args.lastBlockHash);
      expect(blocks[0].height).toBe(log.args.firstBlock);
      expect(blocks[blocks.length - 1].height).toBe(log.args.lastBlock);
      derived.push(...blocks);
    }
    // Every L2 block from 1 to the head, once, in order …
    expect(derived.map((b) => b.height)).toEqual(
      Array.from({ length: Number(head) }, (_, i) => BigInt(i + 1)),
    );
    // … and each is the block the node sequenced: same txs as it served, same sequenced-block hash as
    // its commit proof.
    let txs = 0;
    for (const block of derived) {
      const served = await l2().getBlock({ blockNumber: block.height });
      expect(block.txs.map((t) => keccak256(t))).toEqual(served.transactions);
      txs += block.txs.length;
      if (block.txs.length === 0) continue;
      const pre = await rpcCall(url, {
        jsonrpc: '2.0',
        id: 1,
        method: 'seqnet_getPreconfirmation',
        params: [served.transactions[0]],
      });
      expect((pre.json as { result: { sequencedBlockHash: string } }).result.sequencedBlockHash).toBe(
        hashSequencedBlock(block),
      );
    }
    expect(txs).toBe(20);

    const status = (
      (await rpcCall(url, { jsonrpc: '2.0', id: 1, method: 'seqnet_status', params: [] })).json as {
        result: { batcher: { blobs: number; blobGas: number; batches: number } };
      }
    ).result.batcher;
    expect(status.blobs).toBeGreaterThanOrEqual(status.batches);
    expect(status.blobGas).toBe(status.blobs * GAS_PER_BLOB);
  }, 150_000);

  it('rejects blobs that do not match the versioned hashes of the tx', async () => {
    const [log] = await blobBatchTxs();
    const proxy = await startTamperingProxy(anvil.url);
    try {
      // Straight from the L1 it decodes …
      expect((await fetchBlobBatch(anvil.url, log.transactionHash)).length).toBeGreaterThan(0);
      // … tampered, it is refused with a clear error.
      const err = await fetchBlobBatch(proxy.url, log.transactionHash).catch((e: Error) => e);
      expect(err).toBeInstanceOf(BlobSourceError);
      expect((err as Error).message).toMatch(/blob 0 does not match its versioned hash/);
    } finally {
      proxy.server.close();
    }
    // A tx without blobs (one of the L1 contract deployments) is refused too.
    const deployBlock = await l1().getBlock({
      blockNumber: BigInt(deployment.deployedAtBlock),
      includeTransactions: true,
    });
    await expect(fetchBlobBatch(anvil.url, deployBlock.transactions[0].hash)).rejects.toThrow(
      /not a blob \(type 0x3\) tx/,
    );
  });

  it('replaces a stuck blob tx with every fee doubled, the blob fee included', async () => {
    // A second L1 that mines only when told to.
    const stuck = await Anvil.start({
      host: '127.0.0.1',
      port: await freePort(),
      chainId: 31337,
      blockTime: 0,
    });
    try {
      await rpcCall(stuck.url, { jsonrpc: '2.0', id: 1, method: 'evm_setAutomine', params: [false] });
      const sender = privateKeyToAccount(bob.privateKey);
      const pub = createPublicClient({ transport: http(stuck.url) });
      const wallet = createWalletClient({
        account: sender,
        chain: chainOf(31337, stuck.url),
        transport: http(stuck.url),
      });
      // Two blobs' worth, so the multi-blob path goes through the L1 too.
      const payload = new Uint8Array(blobCapacity(1) + 1000).map((_, i) => (i * 131 + 7) & 0xff);
      const sidecars = await blobSidecars(encodeBlobs(payload));
      expect(sidecars.blobs.length).toBe(2);
      const sent: Hex[] = [];
      const firstBlobFee = parseGwei('3');
      const done = sendWithFeeBumps(
        pub,
        async (nonce, fees, maxFeePerBlobGas) => {
          const h = await wallet.sendTransaction({
            to: sender.address,
            gas: 21000n,
            nonce,
            blobs: sidecars.blobs,
            kzg: sidecars.kzg,
            ...fees,
            maxFeePerBlobGas: maxFeePerBlobGas!,
          });
          sent.push(h);
          return h;
        },
        sender.address,
        pino({ level: 'silent' }),
        { bumpPercent: 100, maxFeePerBlobGas: firstBlobFee, replaceAfterMs: 1_000 },
      );
      await until('a replacement', async () => (sent.length >= 2 ? true : undefined), 20_000);
      await rpcCall(stuck.url, { jsonrpc: '2.0', id: 1, method: 'evm_mine', params: [] });
      const receipt = await done;
      const first = await pub.getTransaction({ hash: sent[0] }).catch(() => undefined);
      const mined = await pub.getTransaction({ hash: receipt.transactionHash });
      expect(receipt.transactionHash).toBe(sent[1]);
      expect(mined.type).toBe('eip4844');
      expect(mined.maxFeePerBlobGas).toBe(firstBlobFee * 2n + 1n);
      // The replaced version is gone; its fees were half.
      expect(first?.blockNumber ?? null).toBeNull();
      expect(receipt.blobGasUsed).toBe(BigInt(2 * GAS_PER_BLOB));
      // And the blob source reads both blobs back into the payload.
      const back = await fetchBlobBatch(stuck.url, receipt.transactionHash);
      expect(Buffer.from(back).equals(Buffer.from(payload))).toBe(true);
    } finally {
      await stuck.stop();
    }
  }, 60_000);

  it('the versioned hashes the batcher computes are the ones the L1 reports', async () => {
    const [log] = await blobBatchTxs();
    const tx = await l1().getTransaction({ hash: log.transactionHash });
    const bytes = await fetchBlobBatch(anvil.url, log.transactionHash);
    expect((await blobSidecars(encodeBlobs(bytes))).versionedHashes).toEqual(tx.blobVersionedHashes);
  });

  it('seqnet verify rebuilds the chain from the blob batches alone and agrees with the node', async () => {
    const posted = await blobBatchTxs();
    expect(posted.length).toBeGreaterThan(0);
    const report = await verifyFromL1({
      l1Url: anvil.url,
      deployment,
      chain: devChainOptions({ chainId: 42069n }),
      rpcUrl: url,
    });
    expect(report.mismatches).toEqual([]);
    expect(report.batches).toBe(posted.length);
    expect(BigInt(report.blocks)).toBe(posted[posted.length - 1].args.lastBlock);
    expect(report.txs).toBeGreaterThanOrEqual(20);
  }, 120_000);
});
