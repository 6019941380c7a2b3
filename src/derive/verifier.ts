import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { type Hex, keccak256 } from 'viem';
import { Executor } from '../execution/executor.js';
import type { ChainOptions } from '../execution/options.js';
import type { L1Deployment } from '../l1/deploy.js';
import { ChainStore } from '../store/chain-store.js';
import { toHex } from '../util/bytes.js';
import { sleep } from '../util/sleep.js';
import type { BatchDataFetcher } from './batch-retrieval.js';
import { type DerivedBlock, Deriver } from './deriver.js';
import { DerivationError } from './errors.js';

export { DerivationError } from './errors.js';

export interface VerifyOptions {
  l1Url: string;
  deployment: L1Deployment;
  chain: ChainOptions;
  /** The sequencer's RPC, to compare what it served with what L1 implies. */
  rpcUrl?: string;
  /** Reads batches carried in blobs. */
  blobs?: BatchDataFetcher;
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

/**
 * Rebuilds the rollup from L1 alone, up to the L1 head: runs the derivation stages (batches from the
 * Inbox, L1 messages from the queue, execution with a fresh executor) until L1 holds nothing more,
 * and, given an RPC, checks that the sequencer served the same block hashes and state roots.
 */
export async function verifyFromL1(opts: VerifyOptions): Promise<VerifyReport> {
  const log = opts.onProgress ?? (() => {});
  const silent = pino({ level: 'silent' });
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
    const deriver = new Deriver(
      { l1Url: opts.l1Url, deployment: opts.deployment, confirmations: 0, blobs: opts.blobs },
      { store, executor, logger: silent },
    );
    await deriver.init();
    let failures = 0;
    for (;;) {
      let d: DerivedBlock | undefined;
      try {
        d = await deriver.step();
      } catch (err) {
        // An L1 RPC hiccup: retry a few times before giving up.
        if (err instanceof DerivationError && err.code === 'Temporary' && ++failures < 5) {
          await sleep(1_000);
          continue;
        }
        throw err;
      }
      if (!d) break;
      failures = 0;
      const { block } = d.result;
      if (d.fault) report.faults.push(d.fault);
      const included = new Set(block.transactions.map((t) => toHex(t.hash())));
      for (const m of d.messages) {
        const hash = keccak256(m.data);
        if (m.kind === 'forced' && included.has(hash)) {
          report.forced.push({
            hash,
            l2Block: Number(d.sequenced.height),
            l1Block: Number(m.l1Block),
            l1Delay: Number(d.sequenced.l1Origin.number - m.l1Block),
          });
        }
      }
      if (opts.rpcUrl)
        await compareWithSequencer(
          opts.rpcUrl,
          block.header.number,
          toHex(block.hash()),
          toHex(block.header.stateRoot),
          report,
        );
      report.blocks++;
      report.txs += block.transactions.length;
      report.l1Messages += d.messages.length;
      if (d.lastOfBatch) {
        report.batches++;
        log(`batch ${d.batch.index}: blocks ${d.batch.firstBlock}..${d.batch.lastBlock} re-executed`);
      }
    }
    log(`read L1 up to block ${deriver.l1Progress.batches}: ${report.batches} batches`);
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
