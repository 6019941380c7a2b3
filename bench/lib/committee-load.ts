/**
 * Load generators for a committee: one client process sends pre-signed txs with
 * eth_sendRawTransaction to every member (each sender account to one member, senders spread round
 * robin over the members, so no sender's nonces race between two pools), and takes each tx's soft
 * confirmation from the CommitteeWatcher. Statistics as bench/lib/load.ts (`summarise`).
 */
import type { Hex } from 'viem';
import type { CommitteeWatcher, Vantage } from './committee-watch.js';
import { type RunStats, type Sample, summarise } from './load.js';
import type { HttpRpc } from './rpc.js';
import type { SignedTx } from './txs.js';

export type MemberSample = Sample & { member: number };

export interface LoadOptions {
  label: string;
  /** Member a tx goes to; undefined: do not send it (its member is down). Called at send time. */
  route: (tx: SignedTx) => number | undefined;
  /** Where the soft confirmation is read: the member sent to, or the first member to announce it. */
  vantage: (member: number) => Vantage;
  /** After the last send, how long to wait for confirmations. */
  drainMs: number;
  /** Open loop: stop sending once this returns true (the txs not sent yet are left out). */
  stopWhen?: () => boolean;
  log: (line: string) => void;
}

export interface LoadRun {
  samples: MemberSample[];
  stats: RunStats;
  /** performance.now(): first scheduled send, last send. */
  t0: number;
  sendEnd: number;
  confirmedHashes: Hex[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function progress(label: string, samples: MemberSample[], log: (l: string) => void): () => void {
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
      `  [${label}] ${((now - t0) / 1000).toFixed(1)} s  sent ${sent}  confirmed ${confirmed} (${rate.toFixed(0)} tx/s)  in flight ${sent - confirmed - rejected}${rejected ? `  rejected ${rejected}` : ''}`,
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

function finish(
  watcher: CommitteeWatcher,
  all: MemberSample[],
  t0: number,
  sendEnd: number,
  sendRate?: number,
): LoadRun {
  watcher.forget(all.filter((s) => !s.inclusion).map((s) => s.tx.hash));
  if (watcher.error) throw watcher.error;
  const samples = all.filter((s) => s.sentAt !== undefined);
  const { stats, confirmedHashes } = summarise(samples, sendRate);
  return { samples, stats, t0, sendEnd, confirmedHashes };
}

/**
 * Open loop: txs go out on a fixed schedule (`rate` a second) whatever the committee does; latency
 * is taken from each tx's scheduled time (no coordinated omission).
 */
export async function openLoop(
  rpcs: HttpRpc[],
  watcher: CommitteeWatcher,
  txs: SignedTx[],
  rate: number,
  opts: LoadOptions,
): Promise<LoadRun> {
  const samples = txs.map((tx): MemberSample => ({ tx, startAt: 0, member: -1 }));
  const stop = progress(opts.label, samples, opts.log);
  const pending: Array<Promise<void>> = [];
  const interval = 1000 / rate;
  const t0 = performance.now();
  let next = 0;
  let drainTimer: NodeJS.Timeout | undefined;
  let startDrain: () => void = () => {};
  const drained = new Promise<'drained'>((r) => {
    startDrain = () => {
      drainTimer = setTimeout(() => r('drained'), opts.drainMs);
    };
  });
  try {
    while (next < samples.length && !opts.stopWhen?.()) {
      const now = performance.now();
      while (next < samples.length && t0 + next * interval <= now) {
        const s = samples[next];
        s.startAt = t0 + next * interval;
        next++;
        const member = opts.route(s.tx);
        if (member === undefined) continue;
        s.member = member;
        const included = watcher.confirmed(s.tx.hash, opts.vantage(member));
        pending.push(
          send(rpcs[member], s).then(async (ok) => {
            if (!ok) return;
            const r = await Promise.race([included, drained]);
            if (r !== 'drained') s.inclusion = r;
          }),
        );
      }
      await sleep(1);
    }
    const sendEnd = performance.now();
    startDrain();
    const sent = samples.filter((s) => s.sentAt !== undefined);
    const lastSend = sent.reduce((m, s) => Math.max(m, s.sentAt!), t0);
    await Promise.all(pending);
    const sendSeconds = (lastSend - t0) / 1000;
    return finish(
      watcher,
      samples,
      t0,
      sendEnd,
      sendSeconds > 0 ? (sent.length - 1) / sendSeconds : undefined,
    );
  } finally {
    clearTimeout(drainTimer);
    stop();
  }
}

/**
 * Closed loop: one virtual user per lane (one sender each, on one member), each sends its next tx once
 * the previous is soft-confirmed, until durationMs has passed; then in-flight txs get drainMs.
 */
export async function closedLoop(
  rpcs: HttpRpc[],
  watcher: CommitteeWatcher,
  lanes: SignedTx[][],
  durationMs: number,
  opts: LoadOptions,
): Promise<LoadRun> {
  const laneSamples = lanes.map((lane) => lane.map((tx): MemberSample => ({ tx, startAt: 0, member: -1 })));
  const samples = laneSamples.flat();
  const stop = progress(opts.label, samples, opts.log);
  const t0 = performance.now();
  let drainTimer: NodeJS.Timeout | undefined;
  const drained = new Promise<'drained'>((r) => {
    drainTimer = setTimeout(() => r('drained'), durationMs + opts.drainMs);
  });
  const user = async (lane: MemberSample[]) => {
    for (const s of lane) {
      if (performance.now() - t0 >= durationMs) return;
      const member = opts.route(s.tx);
      if (member === undefined) return;
      s.member = member;
      const included = watcher.confirmed(s.tx.hash, opts.vantage(member));
      s.startAt = performance.now();
      if (!(await send(rpcs[member], s))) return;
      const r = await Promise.race([included, drained]);
      if (r === 'drained') return;
      s.inclusion = r;
    }
  };
  try {
    await Promise.all(laneSamples.map(user));
    return finish(watcher, samples, t0, Math.min(performance.now(), t0 + durationMs));
  } finally {
    clearTimeout(drainTimer);
    stop();
  }
}
