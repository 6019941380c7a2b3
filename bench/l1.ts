/**
 * L1 figures of the rollup (issue 3): bytes and L1 gas per L2 transfer, the compression ratio of each
 * codec, time from soft confirmation to L1 inclusion, and how long a forced tx takes to land.
 * Starts `seqnet devnet` (anvil L1 with 1 s blocks, batcher on) as a real process, twice: batches as
 * calldata, then the same txs with `--da blobs` (EIP-4844 blobs; execution gas and blob gas apart).
 * Writes bench/results/l1.json (l1-quick.json with --quick).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Abi, createWalletClient, type Hex, http, keccak256, parseGwei } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { blobSidecars, encodeBlobs } from '../src/batcher/blobs.js';
import { type Compression, encodeBatch } from '../src/batcher/codec.js';
import { devAccounts } from '../src/execution/genesis.js';
import { l1Artifacts } from '../src/l1/deploy.js';
import { hashSequencedBlock, type SequencedBlock } from '../src/types/sequenced-block.js';
import { fromHex, ZERO_HASH } from '../src/util/bytes.js';
import { freePort } from './lib/chains.js';

const { values: flags } = parseArgs({
  options: { quick: { type: 'boolean', default: false } },
  strict: false,
});
const quick = flags.quick === true;
const TXS = quick ? 400 : 2_000;
const root = resolve(import.meta.dirname, '..');
const log = (line: string) => process.stderr.write(`${line}\n`);

async function rpc<T>(url: string, method: string, params: unknown[]): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] : Number.NaN;
};

type BatcherStatus = {
  batches: number;
  blocks: number;
  txs: number;
  rawBytes: number;
  compressedBytes: number;
  l1Gas: string;
  blobs?: number;
  blobGas?: number;
};

interface Run {
  url: string;
  info: { l1: { rpc: string; contracts: Record<string, Hex> } };
  softAt: Map<Hex, { at: number; block: number }>;
  toL1: number[];
  stats: BatcherStatus;
}

/** Signs the workload once: the same txs go to both runs (each starts from the same genesis). */
async function signTransfers(): Promise<Hex[]> {
  const senders = devAccounts(10)
    .slice(2)
    .map((a) => privateKeyToAccount(a.privateKey));
  const raws: Hex[] = [];
  for (let n = 0; n < TXS / senders.length; n++) {
    for (const s of senders) {
      raws.push(
        await s.signTransaction({
          chainId: 42069,
          type: 'eip1559',
          nonce: n,
          to: senders[0].address,
          value: 1n,
          gas: 21000n,
          maxFeePerGas: parseGwei('1'),
          maxPriorityFeePerGas: 0n,
        }),
      );
    }
  }
  return raws;
}

/**
 * One devnet with `--da da`: sends `raws`, waits for their soft confirmations and for the batcher to
 * post them all, then runs `more` (further measurements) while the devnet is still up.
 */
async function runDevnet<T>(
  da: 'calldata' | 'blobs',
  raws: Hex[],
  more: (run: Run) => Promise<T>,
  before?: (info: Run['info']) => Promise<void>,
): Promise<{ run: Run; extra: T }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'seqnet-bench-l1-'));
  const rpcPort = await freePort();
  const l1Port = await freePort();
  const proc: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'devnet',
      '--data-dir',
      dataDir,
      '--rpc-port',
      String(rpcPort),
      '--l1-port',
      String(l1Port),
      '--block-time',
      '0',
      '--log-level',
      'warn',
      '--mempool.max-pending-per-sender',
      '100000',
      '--mempool.max-pending',
      '100000',
      '--da',
      da,
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const url = `http://127.0.0.1:${rpcPort}`;
  try {
    for (let i = 0; ; i++) {
      try {
        await rpc(url, 'eth_chainId', []);
        break;
      } catch {
        if (i > 600) throw new Error('devnet did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const info = JSON.parse(readFileSync(join(dataDir, 'devnet.json'), 'utf8')) as Run['info'];
    await before?.(info);
    log(`[l1:${da}] devnet up; sending ${raws.length} ETH transfers`);
    const sentAt = new Map<Hex, number>();
    const softAt = new Map<Hex, { at: number; block: number }>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < raws.length) {
          const raw = raws[next++];
          const hash = keccak256(raw);
          sentAt.set(hash, performance.now());
          await rpc(url, 'eth_sendRawTransaction', [raw]);
        }
      }),
    );
    log(`[l1:${da}] sent; waiting for soft confirmations`);
    while (softAt.size < raws.length) {
      for (const hash of sentAt.keys()) {
        if (softAt.has(hash)) continue;
        const r = await rpc<{ blockNumber: string } | null>(url, 'eth_getTransactionReceipt', [hash]);
        if (r) softAt.set(hash, { at: performance.now(), block: Number(r.blockNumber) });
      }
    }
    const head = Math.max(...[...softAt.values()].map((s) => s.block));
    log(`[l1:${da}] all in L2 blocks ≤ ${head}; waiting for the batcher`);
    const postedAt = new Map<number, number>();
    for (;;) {
      const st = await rpc<{ batcher: { postedTo: number } }>(url, 'seqnet_status', []);
      const now = performance.now();
      for (let b = 1; b <= st.batcher.postedTo; b++) if (!postedAt.has(b)) postedAt.set(b, now);
      if (st.batcher.postedTo >= head) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const toL1 = [...softAt.values()].map((s) => (postedAt.get(s.block) ?? Number.NaN) - s.at);
    const stats = (await rpc<{ batcher: BatcherStatus }>(url, 'seqnet_status', [])).batcher;
    const run: Run = { url, info, softAt, toL1, stats };
    return { run, extra: await more(run) };
  } finally {
    proc.kill('SIGINT');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * anvil loads its KZG setup on the first blob tx it sees (~3–9 s on this machine): one blob tx from
 * L1 account 0 first, so that one-time cost is not in the batcher's figures.
 */
async function warmUpBlobs(info: Run['info']): Promise<void> {
  const account = privateKeyToAccount(devAccounts(1)[0].privateKey);
  const chain = {
    id: 31337,
    name: 'anvil',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [info.l1.rpc] } },
  } as const;
  const wallet = createWalletClient({ account, chain, transport: http(info.l1.rpc, { timeout: 60_000 }) });
  const sidecars = await blobSidecars(encodeBlobs(new Uint8Array(32)));
  const t0 = performance.now();
  await wallet.sendTransaction({
    to: account.address,
    gas: 21000n,
    blobs: sidecars.blobs,
    kzg: sidecars.kzg,
    maxFeePerBlobGas: parseGwei('1'),
  });
  log(`[l1:blobs] warm-up blob tx accepted by anvil in ${Math.round(performance.now() - t0)} ms`);
}

async function main(): Promise<void> {
  log(`[l1] signing ${TXS} ETH transfers`);
  const raws = await signTransfers();
  const { run: calldata, extra } = await runDevnet('calldata', raws, async ({ url, info, softAt }) => {
    // The same txs, grouped as the chain grouped them, under each codec.
    const byBlock = new Map<number, Uint8Array[]>();
    for (const raw of raws) {
      const b = softAt.get(keccak256(raw))!.block;
      byBlock.set(b, [...(byBlock.get(b) ?? []), fromHex(raw)]);
    }
    const blocks: SequencedBlock[] = [];
    for (const [height, txs] of [...byBlock.entries()].sort((a, b) => a[0] - b[0])) {
      blocks.push({
        version: 1,
        chainId: 42069n,
        height: BigInt(height),
        parentHash: blocks.length ? hashSequencedBlock(blocks[blocks.length - 1]) : ZERO_HASH,
        timestamp: 1_700_000_000n,
        l1Origin: { number: 1n, hash: ZERO_HASH },
        l1MessageCursor: 0n,
        txs,
        lagStateRoot: ZERO_HASH,
      });
    }
    const rawTxBytes = raws.reduce((n, r) => n + (r.length - 2) / 2, 0);
    const codecs: Record<string, { bytes: number; bytesPerTx: number; ratio: number; encodeMs: number }> = {};
    for (const c of ['none', 'deflate', 'brotli'] as Compression[]) {
      const t0 = performance.now();
      const size = encodeBatch(blocks, c).length;
      codecs[c] = {
        bytes: size,
        bytesPerTx: Number((size / raws.length).toFixed(1)),
        ratio: Number((rawTxBytes / size).toFixed(2)),
        encodeMs: Number((performance.now() - t0).toFixed(1)),
      };
    }

    log('[l1] forcing a tx through L1');
    const l1 = createWalletClient({
      chain: {
        id: 31337,
        name: 'anvil',
        nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
        rpcUrls: { default: { http: [info.l1.rpc] } },
      },
      transport: http(info.l1.rpc),
      account: privateKeyToAccount(devAccounts(1)[0].privateKey),
    });
    const forcer = privateKeyToAccount(devAccounts(2)[1].privateKey);
    const forced = await forcer.signTransaction({
      chainId: 42069,
      type: 'eip1559',
      nonce: 0,
      to: forcer.address,
      value: 1n,
      gas: 21000n,
      maxFeePerGas: parseGwei('1'),
      maxPriorityFeePerGas: 0n,
    });
    const l1Before = Number.parseInt(await rpc<string>(info.l1.rpc, 'eth_blockNumber', []), 16);
    const tForce = performance.now();
    await l1.writeContract({
      address: info.l1.contracts.L1MessageQueue,
      abi: l1Artifacts().L1MessageQueue.abi as Abi,
      functionName: 'forceTransaction',
      args: [forced],
    });
    while (!(await rpc<unknown>(url, 'eth_getTransactionReceipt', [keccak256(forced)])))
      await new Promise((r) => setTimeout(r, 50));
    const forcedMs = performance.now() - tForce;
    const l1After = Number.parseInt(await rpc<string>(info.l1.rpc, 'eth_blockNumber', []), 16);
    return { blocks, codecs, forcedMs, forcedL1Blocks: l1After - l1Before };
  });
  const { run: blob } = await runDevnet('blobs', raws, async () => undefined, warmUpBlobs);

  const stats = calldata.stats;
  const b = blob.stats;
  const perTx = (x: number, txs: number) => Number((x / txs).toFixed(1));
  const report = {
    benchmark: 'l1',
    quick,
    date: new Date().toISOString(),
    method:
      'seqnet devnet (anvil L1, 1 s blocks, prague), --block-time 0; ETH transfers from 8 senders; batcher posts brotli batches every 2 s, as calldata, then (a second devnet, the same signed txs) with --da blobs; soft confirmation = receipt seen by polling; L1 inclusion = the batcher reporting the Inbox past that block',
    l2: { txs: raws.length, blocks: extra.blocks.length },
    batches: {
      count: stats.batches,
      l2Txs: stats.txs,
      compressedBytes: stats.compressedBytes,
      rawTxBytes: stats.rawBytes,
      l1Gas: stats.l1Gas,
    },
    perL2Transfer: {
      calldataBytes: Number((stats.compressedBytes / stats.txs).toFixed(1)),
      l1Gas: Number((Number(stats.l1Gas) / stats.txs).toFixed(0)),
      rawTxBytes: Number((stats.rawBytes / stats.txs).toFixed(1)),
    },
    compressionRatio: Number((stats.rawBytes / stats.compressedBytes).toFixed(2)),
    codecs: extra.codecs,
    blobs: {
      method:
        'the same txs with --da blobs: one type-3 postBlobBatch tx per batch, batch framed 31 bytes per 32-byte field element (docs/batch-format.md), as few blobs as fit, at most 6 per tx; blob gas = 131072 per blob, priced by the blob base fee, apart from execution gas; one warm-up blob tx to anvil first (its one-time KZG setup)',
      l2: { txs: b.txs, blocks: b.blocks },
      batches: {
        count: b.batches,
        blobs: b.blobs ?? 0,
        compressedBytes: b.compressedBytes,
        blobBytes: (b.blobs ?? 0) * 131072,
        executionGas: b.l1Gas,
        blobGas: b.blobGas ?? 0,
        blobFill: Number((b.compressedBytes / ((b.blobs ?? 0) * 126976)).toFixed(3)),
      },
      perL2Transfer: {
        batchBytes: perTx(b.compressedBytes, b.txs),
        blobBytes: perTx((b.blobs ?? 0) * 131072, b.txs),
        executionGas: Math.round(Number(b.l1Gas) / b.txs),
        blobGas: Math.round((b.blobGas ?? 0) / b.txs),
      },
      softConfirmationToL1Ms: { p50: Math.round(pct(blob.toL1, 50)), p99: Math.round(pct(blob.toL1, 99)) },
    },
    softConfirmationToL1Ms: {
      p50: Math.round(pct(calldata.toL1, 50)),
      p99: Math.round(pct(calldata.toL1, 99)),
    },
    forcedTx: { ms: Math.round(extra.forcedMs), l1Blocks: extra.forcedL1Blocks },
  };
  const out = join(root, 'bench', 'results', quick ? 'l1-quick.json' : 'l1.json');
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log(JSON.stringify(report, null, 2));
  log(`wrote ${out}`);
}

main().catch((err: Error) => {
  log(`bench failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
