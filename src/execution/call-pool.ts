import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { serverError } from '../errors.js';
import type { CallJob, CallReply, CallResult, CallResultOf, CallWorkerData } from './call-worker.js';
import type { CallRequest } from './executor.js';
import type { ChainOptions } from './options.js';

interface Slot {
  worker: Worker;
  job?: { id: number; resolve: (r: CallResult) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };
}

interface Queued {
  job: Omit<CallJob, 'id'>;
  timeoutMs: number;
  resolve: (r: CallResult) => void;
  reject: (e: Error) => void;
}

/**
 * A small pool of call workers (see call-worker.ts). Each call gets a wall-clock limit; past it the
 * worker is terminated and replaced, and the caller gets geth's "execution timeout".
 */
export class CallPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Queued[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly storePath: string,
    private readonly chain: ChainOptions,
    private readonly size: number,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.size }, () => this.spawn()));
  }

  private spawn(): Promise<void> {
    const data: CallWorkerData = {
      entry: new URL('./call-worker.ts', import.meta.url).href,
      storePath: this.storePath,
      chain: this.chain,
    };
    const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: data });
    const slot: Slot = { worker };
    return new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (msg: CallReply) => {
        if ('ready' in msg) {
          worker.off('error', reject);
          worker.on('error', (err) => this.onWorkerDeath(slot, err));
          worker.on('exit', (code) =>
            this.onWorkerDeath(slot, new Error(`call worker exited with code ${code}`)),
          );
          this.slots.push(slot);
          this.pump();
          resolve();
          return;
        }
        const job = slot.job;
        if (!job || job.id !== msg.id) return;
        clearTimeout(job.timer);
        slot.job = undefined;
        if ('error' in msg) job.reject(serverError(msg.error));
        else job.resolve(msg.result);
        this.pump();
      });
    });
  }

  private onWorkerDeath(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    if (slot.job) {
      clearTimeout(slot.job.timer);
      slot.job.reject(serverError(`call failed: ${err.message}`));
    }
    if (!this.closed) {
      this.logger.warn({ err }, 'call worker died; starting another');
      this.spawn().catch((e) => this.logger.error({ err: e }, 'could not restart a call worker'));
    }
  }

  run<K extends CallJob['kind']>(
    kind: K,
    req: CallRequest,
    blockNumber: bigint,
    gas: bigint,
    timeoutMs: number,
  ): Promise<CallResultOf<K>> {
    if (this.closed) return Promise.reject(serverError('node is shutting down'));
    return new Promise<CallResult>((resolve, reject) => {
      this.queue.push({ job: { kind, req, blockNumber, gas }, timeoutMs, resolve, reject });
      this.pump();
    }) as Promise<CallResultOf<K>>;
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job) continue;
      const next = this.queue.shift();
      if (!next) return;
      const id = this.nextId++;
      const timer = setTimeout(() => {
        // A call past its limit: stop it for real by replacing the worker.
        const job = slot.job;
        slot.job = undefined;
        const i = this.slots.indexOf(slot);
        if (i >= 0) this.slots.splice(i, 1);
        void slot.worker.terminate();
        job?.reject(serverError(`execution timeout (${next.timeoutMs / 1000}s)`));
        if (!this.closed)
          this.spawn().catch((e) => this.logger.error({ err: e }, 'could not restart a call worker'));
      }, next.timeoutMs);
      slot.job = { id, resolve: next.resolve, reject: next.reject, timer };
      slot.worker.postMessage({ id, ...next.job } satisfies CallJob);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(serverError('node is shutting down'));
    await Promise.all(
      this.slots.splice(0).map((s) => {
        if (s.job) {
          clearTimeout(s.job.timer);
          s.job.reject(serverError('node is shutting down'));
        }
        return s.worker.terminate();
      }),
    );
  }
}
