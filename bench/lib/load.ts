import type { Hex } from 'viem';
import type { HttpRpc } from './rpc.js';
import type { SignedTx } from './txs.js';
import type { BlockWatcher, Inclusion } from './watcher.js';

/** One tx as the client lived it; all times are performance.now() ms. */
export interface Sample {
  tx: SignedTx;
  /** When the tx was due: the send time in closed loop, the schedule's time in open loop. */
  startAt: number;
  sentAt?: number;
  ackAt?: number;
  error?: string;
  inclusion?: Inclusion;
}

export interface LatencyStats {
  /** Txs counted: confirmed ones plus `censored`. */
  n: number;
  /** Accepted txs not confirmed by the deadline: counted as slower than every confirmed one, so a
   * percentile that falls among them is null (in JSON) rather than flattering. */
  censored: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Over confirmed txs only. */
  mean: number;
}

export interface RunStats {
  txs: number;
  confirmed: number;
  /** Refused by eth_sendRawTransaction, or never sent because an earlier nonce was refused. */
  rejected: number;
  /** Accepted but not in a block by the deadline. */
  unconfirmed: number;
  wallSeconds: number;
  /** Confirmed txs / (last soft confirmation − first send). */
  txPerSecond: number;
  /** Send → newHeads of the block holding the tx (the soft confirmation). */
  latencyMs: LatencyStats;
  /** Send → the block's tx hashes in hand (one eth_getBlockByNumber round trip later). */
  observedLatencyMs: LatencyStats;
  /** Send → eth_sendRawTransaction reply. */
  ackLatencyMs: LatencyStats;
  /** Open loop: the rate sends actually went out at. */
  sendRate?: number;
  blocks: number;
  txsPerBlock: { mean: number; max: number };
  errors: string[];
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

export function latencyStats(values: number[], censored = 0): LatencyStats {
  const n = values.length + censored;
  if (n === 0)
    return {
      n,
      censored,
      p50: Number.NaN,
      p90: Number.NaN,
      p99: Number.NaN,
      max: Number.NaN,
      mean: Number.NaN,
    };
  const s = Float64Array.from(values).sort();
  // Nearest rank; ranks past the confirmed ones land on the censored (infinite) tail.
  const pct = (p: number) => {
    const rank = Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
    return rank < s.length ? round(s[rank]) : Number.POSITIVE_INFINITY;
  };
  const mean = s.length ? s.reduce((x, y) => x + y, 0) / s.length : Number.NaN;
  return {
    n,
    censored,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: censored ? Number.POSITIVE_INFINITY : round(s[s.length - 1]),
    mean: round(mean),
  };
}

export interface RunOutcome {
  stats: RunStats;
  /** Hashes of the txs that were soft-confirmed, for receipt checks. */
  confirmedHashes: Hex[];
}

export function summarise(samples: Sample[], sendRate?: number): RunOutcome {
  const confirmed = samples.filter((s) => s.inclusion);
  const rejected = samples.filter((s) => s.error !== undefined);
  const firstSend = samples.reduce((m, s) => Math.min(m, s.sentAt ?? m), Number.POSITIVE_INFINITY);
  const lastConfirm = confirmed.reduce((m, s) => Math.max(m, s.inclusion!.announcedAt), 0);
  const wall = confirmed.length ? (lastConfirm - firstSend) / 1000 : 0;
  const perBlock = new Map<number, number>();
  for (const s of confirmed) perBlock.set(s.inclusion!.block, (perBlock.get(s.inclusion!.block) ?? 0) + 1);
  const counts = [...perBlock.values()];
  const errors = [...new Set(rejected.map((s) => s.error!))].slice(0, 5);
  const unconfirmed = samples.length - confirmed.length - rejected.length;
  const stats: RunStats = {
    txs: samples.length,
    confirmed: confirmed.length,
    rejected: rejected.length,
    unconfirmed,
    wallSeconds: round(wall, 3),
    txPerSecond: wall > 0 ? round(confirmed.length / wall, 1) : 0,
    latencyMs: latencyStats(
      confirmed.map((s) => s.inclusion!.announcedAt - s.startAt),
      unconfirmed,
    ),
    observedLatencyMs: latencyStats(
      confirmed.map((s) => s.inclusion!.seenAt - s.startAt),
      unconfirmed,
    ),
    ackLatencyMs: latencyStats(
      samples.filter((s) => s.ackAt !== undefined).map((s) => s.ackAt! - (s.sentAt ?? s.startAt)),
    ),
    ...(sendRate !== undefined ? { sendRate: round(sendRate, 1) } : {}),
    blocks: counts.length,
    txsPerBlock: {
      mean: counts.length ? round(confirmed.length / counts.length, 1) : 0,
      max: counts.length ? Math.max(...counts) : 0,
    },
    errors,
  };
  return { stats, confirmedHashes: confirmed.map((s) => s.tx.hash) };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface RunOptions {
  label: string;
  /** Hard stop for the whole run, ms from its start. */
  timeoutMs: number;
  log: (line: string) => void;
}

/** Prints confirmed count and rate once a second while a run goes on. */
function progress(label: string, samples: Sample[], log: (l: string) => void): () => void {
  const t0 = performance.now();
  let lastConfirmed = 0;
  let lastAt = t0;
  const timer = setInterval(() => {
    const now = performance.now();
    let confirmed = 0;
    let sent = 0;
    let rejected = 0;
    for (const s of samples) {
      if (s.inclusion) confirmed++;
      if (s.sentAt !== undefined) sent++;
      if (s.error !== undefined) rejected++;
    }
    const rate = ((confirmed - lastConfirmed) * 1000) / (now - lastAt);
    lastConfirmed = confirmed;
    lastAt = now;
    log(
      `  [${label}] ${((now - t0) / 1000).toFixed(1)} s  sent ${sent}/${samples.length}  confirmed ${confirmed} (${rate.toFixed(0)} tx/s)  in flight ${sent - confirmed - rejected}${rejected ? `  rejected ${rejected}` : ''}`,
    );
  }, 1000);
  return () => clearInterval(timer);
}

async function send(rpc: HttpRpc, s: Sample): Promise<boolean> {
  s.sentAt = performance.now();
  try {
    await rpc.call<Hex>('eth_sendRawTransaction', [s.tx.raw]);
    s.ackAt = performance.now();
    return true;
  } catch (err) {
    s.ackAt = performance.now();
    s.error = (err as Error).message.slice(0, 200);
    return false;
  }
}

function deadline(ms: number): { promise: Promise<'timeout'>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

function byLane(txs: SignedTx[]): SignedTx[][] {
  const lanes = new Map<number, SignedTx[]>();
  for (const tx of txs) {
    const lane = lanes.get(tx.from) ?? [];
    lane.push(tx);
    lanes.set(tx.from, lane);
  }
  for (const lane of lanes.values()) lane.sort((a, b) => a.nonce - b.nonce);
  return [...lanes.values()];
}

/**
 * Closed loop: one virtual user per sender, each sends its next tx only once the previous one is
 * soft-confirmed, so at most (number of senders) txs are in flight and nonces never arrive out of order.
 */
export async function closedLoop(
  rpc: HttpRpc,
  watcher: BlockWatcher,
  txs: SignedTx[],
  opts: RunOptions,
): Promise<RunOutcome> {
  const lanes = byLane(txs).map((lane) => lane.map((tx): Sample => ({ tx, startAt: 0 })));
  const samples = lanes.flat();
  const stop = progress(opts.label, samples, opts.log);
  const limit = deadline(opts.timeoutMs);
  let timedOut = false;
  void limit.promise.then(() => {
    timedOut = true;
  });
  const user = async (lane: Sample[]) => {
    for (let i = 0; i < lane.length && !timedOut; i++) {
      const s = lane[i];
      const included = watcher.confirmed(s.tx.hash);
      s.startAt = performance.now();
      if (!(await send(rpc, s))) {
        // Later nonces of this sender can never be included: count them as refused too.
        for (const later of lane.slice(i + 1)) later.error = `not sent: nonce ${s.tx.nonce} was refused`;
        watcher.forget([s.tx.hash]);
        return;
      }
      const r = await Promise.race([included, limit.promise]);
      if (r === 'timeout') return;
      s.inclusion = r;
    }
  };
  try {
    await Promise.all(lanes.map(user));
  } finally {
    limit.cancel();
    stop();
    watcher.forget(samples.filter((s) => !s.inclusion).map((s) => s.tx.hash));
  }
  if (watcher.error) throw watcher.error;
  return summarise(samples);
}

/**
 * Open loop: txs go out on a fixed schedule (`rate` a second) whatever the chain does, and latency is
 * taken from each tx's scheduled time, so a stalling chain cannot hide its stalls (no coordinated
 * omission).
 */
export async function openLoop(
  rpc: HttpRpc,
  watcher: BlockWatcher,
  txs: SignedTx[],
  rate: number,
  opts: RunOptions,
): Promise<RunOutcome> {
  const samples = txs.map((tx): Sample => ({ tx, startAt: 0 }));
  const stop = progress(opts.label, samples, opts.log);
  const limit = deadline(opts.timeoutMs);
  const pending: Array<Promise<void>> = [];
  const interval = 1000 / rate;
  const t0 = performance.now();
  let next = 0;
  try {
    while (next < samples.length) {
      const now = performance.now();
      while (next < samples.length && t0 + next * interval <= now) {
        const s = samples[next++];
        s.startAt = t0 + (next - 1) * interval;
        const included = watcher.confirmed(s.tx.hash);
        pending.push(
          send(rpc, s).then(async (ok) => {
            if (!ok) {
              watcher.forget([s.tx.hash]);
              return;
            }
            const r = await Promise.race([included, limit.promise]);
            if (r !== 'timeout') s.inclusion = r;
          }),
        );
      }
      if (performance.now() - t0 > opts.timeoutMs) break;
      await sleep(1);
    }
    const lastSend = samples.reduce((m, s) => Math.max(m, s.sentAt ?? m), t0);
    const sendSeconds = (lastSend - t0) / 1000;
    await Promise.all(pending);
    if (watcher.error) throw watcher.error;
    return summarise(samples, sendSeconds > 0 ? (samples.length - 1) / sendSeconds : undefined);
  } finally {
    limit.cancel();
    stop();
    watcher.forget(samples.filter((s) => !s.inclusion).map((s) => s.tx.hash));
  }
}

/**
 * Setup traffic: each lane's txs are sent in nonce order (each waits only for the previous ack), lanes
 * in parallel; then every tx must be included. Throws on any refusal or timeout.
 */
export async function sendAndConfirm(
  rpc: HttpRpc,
  watcher: BlockWatcher,
  lanes: SignedTx[][],
  timeoutMs: number,
): Promise<Map<Hex, Inclusion>> {
  const all = lanes.flat();
  const waits = all.map((tx) => watcher.confirmed(tx.hash).then((inc) => [tx.hash, inc] as const));
  await Promise.all(
    lanes.map(async (lane) => {
      for (const tx of lane) await rpc.call<Hex>('eth_sendRawTransaction', [tx.raw]);
    }),
  );
  const limit = deadline(timeoutMs);
  try {
    const r = await Promise.race([Promise.all(waits), limit.promise]);
    if (r === 'timeout') throw new Error(`setup: txs not included within ${timeoutMs} ms`);
    return new Map(r);
  } finally {
    limit.cancel();
    watcher.forget(all.map((t) => t.hash));
  }
}
