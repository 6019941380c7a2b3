import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  type Abi,
  createPublicClient,
  decodeFunctionData,
  type Hex,
  http,
  keccak256,
  parseAbiItem,
} from 'viem';
import { BatchDecodeError, decodeBatch } from '../batcher/codec.js';
import { Executor } from '../execution/executor.js';
import type { ChainOptions } from '../execution/options.js';
import { type L1Deployment, l1Artifacts } from '../l1/deploy.js';
import { L1Watcher } from '../l1/watcher.js';
import { ChainStore } from '../store/chain-store.js';
import { encodeSequencedBlock, hashSequencedBlock, type SequencedBlock } from '../types/sequenced-block.js';
import { toHex } from '../util/bytes.js';

export interface VerifyOptions {
  l1Url: string;
  deployment: L1Deployment;
  chain: ChainOptions;
  /** The sequencer's RPC, to compare what it served with what L1 implies. */
  rpcUrl?: string;
  onProgress?: (line: string) => void;
}

export interface VerifyReport {
  batches: number;
  blocks: number;
  txs: number;
  l1Messages: number;
  /** Executed block hashes and state roots that differ from what the sequencer served. */
  mismatches: string[];
  /** Blocks whose sequencer broke the L1-message rule; derivation applied the due messages anyway. */
  faults: string[];
  /** Where each forced tx landed in the canonical chain, and how many L1 blocks after it was forced. */
  forced: Array<{ hash: Hex; l2Block: number; l1Block: number; l1Delay: number }>;
  headHash?: Hex;
  headStateRoot?: Hex;
}

const BATCH_POSTED = parseAbiItem(
  'event BatchPosted(uint256 indexed index, uint64 firstBlock, uint64 lastBlock, bytes32 lastBlockHash, bytes32 dataHash, uint256 l1MessageCursor, bool blobs)',
);

export class DerivationError extends Error {
  override name = 'DerivationError';
}

/**
 * Rebuilds the rollup from L1 alone: every batch in the Inbox, every L1 message in the queue; executes
 * each block with a fresh executor and checks that batches chain, that each block consumes exactly
 * the L1 messages that are due (DECISIONS.md §3), that lagged state roots match, and, given an RPC,
 * that the sequencer served the same block hashes and state roots.
 */
export async function verifyFromL1(opts: VerifyOptions): Promise<VerifyReport> {
  const log = opts.onProgress ?? (() => {});
  const silent = pino({ level: 'silent' });
  const pub = createPublicClient({ transport: http(opts.l1Url) });
  const inboxAbi = l1Artifacts().Inbox.abi as Abi;
  const { contracts, deployedAtBlock } = opts.deployment;

  // Stage 1: L1 messages (deposits, forced txs) up to the L1 head.
  const messages = new L1Watcher(
    {
      rpcUrl: opts.l1Url,
      queue: contracts.L1MessageQueue,
      fromBlock: BigInt(deployedAtBlock),
      confirmations: 0,
      pollMs: 1_000,
    },
    silent,
  );
  const stop = new AbortController();
  await messages.start(stop.signal);
  stop.abort();

  // Stage 2: batches, in Inbox order, from their L1 calldata.
  const logs = await pub.getLogs({
    address: contracts.Inbox,
    event: BATCH_POSTED,
    fromBlock: BigInt(deployedAtBlock),
    toBlock: 'latest',
  });
  log(`found ${logs.length} batches on L1`);

  const dir = mkdtempSync(join(tmpdir(), 'seqnet-verify-'));
  const store = new ChainStore(join(dir, 'chain'));
  const report: VerifyReport = {
    batches: 0,
    blocks: 0,
    txs: 0,
    l1Messages: 0,
    mismatches: [],
    faults: [],
    forced: [],
  };
  try {
    const executor = await Executor.open(opts.chain, store, silent);
    let parent: SequencedBlock = executor.genesisSequenced();
    // The canonical count of consumed L1 messages: what the rule says, whatever a sequencer claimed.
    let cursor = 0n;
    for (const entry of logs) {
      const args = entry.args;
      if (args.blobs)
        throw new DerivationError(`batch ${args.index} is in blobs: reading blobs is not supported yet`);
      const tx = await pub.getTransaction({ hash: entry.transactionHash });
      const call = decodeFunctionData({ abi: inboxAbi, data: tx.input });
      if (call.functionName !== 'postBatch')
        throw new DerivationError(`batch ${args.index}: tx ${tx.hash} is not a postBatch call`);
      const data = (call.args as readonly unknown[])[4] as Hex;
      let blocks: SequencedBlock[];
      try {
        blocks = decodeBatch(Buffer.from(data.slice(2), 'hex'), args.lastBlockHash);
      } catch (err) {
        if (err instanceof BatchDecodeError)
          throw new DerivationError(`batch ${args.index} (L1 tx ${tx.hash}) is invalid: ${err.message}`);
        throw err;
      }
      const last = blocks[blocks.length - 1];
      if (blocks[0].height !== args.firstBlock || last.height !== args.lastBlock) {
        throw new DerivationError(
          `batch ${args.index}: blocks ${blocks[0].height}..${last.height} do not match the Inbox's ${args.firstBlock}..${args.lastBlock}`,
        );
      }
      if (hashSequencedBlock(last) !== args.lastBlockHash) {
        throw new DerivationError(
          `batch ${args.index}: its last block does not hash to the Inbox's lastBlockHash`,
        );
      }
      for (const seq of blocks) {
        if (seq.chainId !== opts.chain.chainId)
          throw new DerivationError(
            `block ${seq.height}: chain id ${seq.chainId}, expected ${opts.chain.chainId}`,
          );
        if (seq.parentHash !== hashSequencedBlock(parent))
          throw new DerivationError(`block ${seq.height} does not link to block ${parent.height}`);
        if (seq.l1Origin.number < parent.l1Origin.number)
          throw new DerivationError(`block ${seq.height}: L1 origin goes backwards`);
        // L1 messages are part of the chain whatever the batch says (DECISIONS.md §3): a sequencer that
        // leaves them out only makes its own soft confirmations wrong.
        const due = messages.messagesFor(cursor, seq.l1Origin.number);
        if (seq.l1MessageCursor !== cursor + BigInt(due.length)) {
          report.faults.push(
            `block ${seq.height}: claims ${seq.l1MessageCursor - parent.l1MessageCursor} L1 messages, ${due.length} were due`,
          );
        }
        cursor += BigInt(due.length);
        if (seq.lagStateRoot !== executor.lagStateRootFor(seq.height)) {
          throw new DerivationError(
            `block ${seq.height}: lagged state root ${seq.lagStateRoot} differs from the executed ${executor.lagStateRootFor(seq.height)}`,
          );
        }
        const result = await executor.execute(seq, undefined, due);
        const included = new Set(result.block.transactions.map((t) => toHex(t.hash())));
        for (const m of due) {
          const hash = keccak256(m.data);
          if (m.kind === 'forced' && included.has(hash)) {
            report.forced.push({
              hash,
              l2Block: Number(seq.height),
              l1Block: Number(m.l1Block),
              l1Delay: Number(seq.l1Origin.number - m.l1Block),
            });
          }
        }
        await store.putBlock({
          height: seq.height,
          sequenced: encodeSequencedBlock(seq),
          executed: result.block.serialize(),
          executedHash: toHex(result.block.hash()),
          receipts: result.receipts,
          proof: new Uint8Array(),
          txHashes: result.block.transactions.map((t) => toHex(t.hash())),
        });
        executor.commit(result.block);
        if (opts.rpcUrl)
          await compareWithSequencer(
            opts.rpcUrl,
            result.block.header.number,
            toHex(result.block.hash()),
            toHex(result.block.header.stateRoot),
            report,
          );
        report.blocks++;
        report.txs += result.block.transactions.length;
        report.l1Messages += due.length;
        parent = seq;
      }
      report.batches++;
      log(`batch ${args.index}: blocks ${args.firstBlock}..${args.lastBlock} re-executed`);
    }
    report.headHash = toHex(executor.head.hash());
    report.headStateRoot = toHex(executor.head.header.stateRoot);
    return report;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function compareWithSequencer(
  rpcUrl: string,
  n: bigint,
  hash: Hex,
  stateRoot: Hex,
  report: VerifyReport,
): Promise<void> {
  const res = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_getBlockByNumber',
      params: [`0x${n.toString(16)}`, false],
    }),
  });
  const served = ((await res.json()) as { result?: { hash: Hex; stateRoot: Hex } | null }).result;
  if (!served) report.mismatches.push(`block ${n}: the sequencer serves no such block`);
  else if (served.hash !== hash || served.stateRoot !== stateRoot) {
    report.mismatches.push(
      `block ${n}: sequencer served ${served.hash} (state ${served.stateRoot}), L1 implies ${hash} (state ${stateRoot})`,
    );
  }
}
