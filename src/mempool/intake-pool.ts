import { Worker } from 'node:worker_threads';
import type { Common } from '@ethereumjs/common';
import { createTxFromRLP, type TypedTransaction } from '@ethereumjs/tx';
import type { Logger } from 'pino';
import { RpcError } from '../errors.js';
import { fromHex } from '../util/bytes.js';
import type { IntakeJob, IntakeResult, IntakeWorkerData } from './intake-worker.js';
import type { MempoolOptions } from './options.js';
import { type DecodedTx, decodeAndCheck } from './validate.js';

interface Waiting {
  raw: Uint8Array;
  resolve: (d: DecodedTx) => void;
  reject: (e: unknown) => void;
}

/**
 * Runs the stateless intake checks of eth_sendRawTransaction (see intake-worker.ts) in worker
 * threads. Txs that arrive in one turn of the event loop go to a worker as one message. The main
 * thread then only decodes the tx object (~10% of the checks' cost) and hands it the recovered public
 * key, its hash and, when the encoding is canonical, its raw bytes as its serialisation, so neither
 * the pool nor the executor recovers, re-encodes or re-hashes it.
 *
 * Without a live worker (not started, or one died) a tx is checked inline, with the same result.
 */
export class IntakePool {
  private readonly workers: Array<{ worker: Worker; inFlight: Map<number, Waiting> }> = [];
  private batch: Array<IntakeJob & { waiting: Waiting }> = [];
  private flushScheduled = false;
  private nextId = 1;
  private next = 0;
  private closed = false;

  constructor(
    private readonly common: Common,
    private readonly options: MempoolOptions,
    private readonly blockGasLimit: bigint,
    private readonly size: number,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.size }, () => this.spawn()));
  }

  private spawn(): Promise<void> {
    const data: IntakeWorkerData = {
      entry: new URL('./intake-worker.ts', import.meta.url).href,
      chainId: this.common.chainId(),
      options: this.options,
      blockGasLimit: this.blockGasLimit,
    };
    const worker = new Worker(new URL('../execution/worker-boot.mjs', import.meta.url), { workerData: data });
    const slot = { worker, inFlight: new Map<number, Waiting>() };
    return new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (msg: IntakeResult[] | 'ready') => {
        if (msg === 'ready') {
          worker.off('error', reject);
          worker.on('error', (err) => this.onWorkerDeath(slot, err));
          worker.on('exit', (code) => this.onWorkerDeath(slot, new Error(`exited with code ${code}`)));
          this.workers.push(slot);
          resolve();
          return;
        }
        for (const r of msg) {
          const w = slot.inFlight.get(r.id);
          if (!w) continue;
          slot.inFlight.delete(r.id);
          if ('error' in r) w.reject(new RpcError(r.error.code, r.error.message, r.error.data));
          else {
            try {
              w.resolve({ tx: this.rebuild(w.raw, r), hash: r.hash, sender: r.sender });
            } catch (err) {
              w.reject(err);
            }
          }
        }
      });
    });
  }

  /** The tx object for a raw tx the worker accepted, with what the worker computed in its caches. */
  private rebuild(raw: Uint8Array, r: Extract<IntakeResult, { hash: string }>): TypedTransaction {
    const tx = createTxFromRLP(raw, { common: this.common, freeze: false });
    if (r.canonical) Object.defineProperty(tx, 'serialize', { value: () => raw });
    // Frozen, as the library's default: only then does it use its caches.
    Object.freeze(tx);
    tx.cache.senderPubKey = r.publicKey;
    tx.cache.hash = fromHex(r.hash);
    return tx;
  }

  private onWorkerDeath(slot: (typeof this.workers)[number], err: Error): void {
    const i = this.workers.indexOf(slot);
    if (i < 0) return;
    this.workers.splice(i, 1);
    // Whatever it had in hand is checked here instead.
    for (const w of slot.inFlight.values()) this.inline(w);
    slot.inFlight.clear();
    if (!this.closed) {
      this.logger.warn({ err }, 'intake worker died; starting another');
      this.spawn().catch((e) => this.logger.error({ err: e }, 'could not restart an intake worker'));
    }
  }

  private inline(w: Waiting): void {
    try {
      w.resolve(decodeAndCheck(w.raw, this.common, this.options, this.blockGasLimit));
    } catch (err) {
      w.reject(err);
    }
  }

  /** decodeAndCheck, in a worker when one is up. Rejects with the same RpcError it would throw. */
  decode(raw: Uint8Array): Promise<DecodedTx> {
    return new Promise((resolve, reject) => {
      const waiting = { raw, resolve, reject };
      if (this.workers.length === 0) return this.inline(waiting);
      this.batch.push({ id: this.nextId++, raw, waiting });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Sends the txs waiting for a worker now rather than at the next setImmediate: the sequencer calls it
   * before it builds a block, so the workers check them while the block executes.
   */
  flush(): void {
    this.flushScheduled = false;
    const jobs = this.batch;
    this.batch = [];
    if (jobs.length === 0) return;
    if (this.workers.length === 0) {
      for (const j of jobs) this.inline(j.waiting);
      return;
    }
    const slot = this.workers[this.next++ % this.workers.length];
    for (const j of jobs) slot.inFlight.set(j.id, j.waiting);
    slot.worker.postMessage(jobs.map(({ id, raw }) => ({ id, raw })));
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.workers.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
    for (const s of slots) for (const w of s.inFlight.values()) this.inline(w);
  }
}
