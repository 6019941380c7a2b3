import { randomBytes } from 'node:crypto';
import { RpcCode, RpcError, serverError } from '../errors.js';
import type { Hex } from '../util/bytes.js';
import type { RpcContext, RpcHandler } from './context.js';
import type { RpcLog } from './format.js';
import {
  blockHashWithRange,
  invalidBlockRange,
  type LogFilter,
  matchesLog,
  parseLogFilter,
  queryLogs,
} from './methods/logs.js';
import { blockTag, bool, expectArgs, hash, object } from './params.js';

/** Limits of the polling filters (RpcOptions). */
export interface FilterLimits {
  /** A filter not polled for this long is uninstalled (geth: 5 min). */
  timeoutMs: number;
  /** Filters installed at once, over all clients. */
  maxFilters: number;
  /** Changes one filter holds between polls; past it the filter is uninstalled. */
  maxChanges: number;
}

/** What a log filter keeps of its criteria: the match, the block range, and the object itself. */
interface LogCriteria {
  match: LogFilter;
  /** Undefined: from the head on (`latest`). */
  from?: bigint;
  /** Undefined: no end (`latest`). */
  to?: bigint;
  blockHash?: Hex;
  /** As given: eth_getFilterLogs runs eth_getLogs with it. */
  query: Record<string, unknown>;
}

type Filter =
  | { kind: 'logs'; criteria: LogCriteria; changes: RpcLog[]; polledAt: number }
  | { kind: 'blocks'; changes: Hex[]; polledAt: number }
  | { kind: 'pendingTxs'; fullTx: boolean; changes: unknown[]; polledAt: number };

/**
 * geth's polling filters (eth_newFilter, eth_newBlockFilter, eth_newPendingTransactionFilter,
 * eth_getFilterChanges, eth_getFilterLogs, eth_uninstallFilter): what clients without a WebSocket
 * use (ethers' JsonRpcProvider for contract events and `pending`, viem's watchers over HTTP). Each
 * filter gathers its changes from the node's events until the next poll. After an L2 rewind a log
 * filter gets the removed blocks' matching logs again with `removed: true`, as geth's after a reorg.
 * Filters belong to nobody: the id is random, so one client cannot guess (and uninstall) another's.
 */
export class FilterRegistry {
  private readonly filters = new Map<string, Filter>();
  /** Filters uninstalled by the node (timeout, overflow): why, for the client's next poll. */
  private readonly gone = new Map<string, { reason: string; at: number }>();

  constructor(
    private readonly limits: FilterLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.filters.size;
  }

  installLogs(query: Record<string, unknown>): Hex {
    return this.install({ kind: 'logs', criteria: parseCriteria(query), changes: [], polledAt: this.now() });
  }

  installBlocks(): Hex {
    return this.install({ kind: 'blocks', changes: [], polledAt: this.now() });
  }

  installPendingTxs(fullTx: boolean): Hex {
    return this.install({ kind: 'pendingTxs', fullTx, changes: [], polledAt: this.now() });
  }

  /** The changes since the last poll (and the poll restarts the filter's timeout). */
  takeChanges(id: string): unknown[] {
    const f = this.find(id);
    f.polledAt = this.now();
    const changes = f.changes;
    f.changes = [];
    return changes;
  }

  /** The criteria of a log filter, for eth_getFilterLogs. */
  logQuery(id: string): Record<string, unknown> {
    const f = this.find(id);
    if (f.kind !== 'logs') throw filterNotFound();
    f.polledAt = this.now();
    return f.criteria.query;
  }

  uninstall(id: string): boolean {
    return this.filters.delete(id);
  }

  /** A block joined the chain: its hash, and its logs (computed once for all filters, if any asks). */
  onBlock(blockHash: Hex, logs: () => RpcLog[]): void {
    for (const [id, f] of this.filters) if (f.kind === 'blocks') this.push(id, f, [blockHash]);
    this.pushLogs(logs);
  }

  /** An L2 rewind took blocks off: their logs, newest first, marked `removed`. */
  onRemovedLogs(removed: RpcLog[]): void {
    this.pushLogs(() => removed);
  }

  /** Each log filter takes the logs its criteria match. */
  private pushLogs(logs: () => RpcLog[]): void {
    for (const [id, f] of this.filters)
      if (f.kind === 'logs')
        this.push(
          id,
          f,
          logs().filter((l) => logMatches(f.criteria, l)),
        );
  }

  /** A tx entered the pool: its hash, or the tx as eth_getTransactionByHash shows it. */
  onPendingTx(hash: Hex, full: () => unknown): void {
    // One view for all filters: they hold references to the same objects, not copies.
    let view: unknown;
    const viewOnce = () => {
      view ??= full();
      return view;
    };
    for (const [id, f] of this.filters)
      if (f.kind === 'pendingTxs') this.push(id, f, [f.fullTx ? viewOnce() : hash]);
  }

  /** Uninstalls the filters nobody polled within the timeout; forgets old reasons. */
  sweep(): void {
    const now = this.now();
    for (const [id, f] of this.filters) {
      if (now - f.polledAt > this.limits.timeoutMs) {
        this.filters.delete(id);
        this.remember(id, `not polled for ${Math.round(this.limits.timeoutMs / 1000)} s`);
      }
    }
    for (const [id, g] of this.gone) if (now - g.at > this.limits.timeoutMs) this.gone.delete(id);
  }

  private install(f: Filter): Hex {
    if (this.filters.size >= this.limits.maxFilters)
      throw new RpcError(RpcCode.LimitExceeded, `too many filters (max ${this.limits.maxFilters})`);
    const id: Hex = `0x${randomBytes(16).toString('hex')}`;
    this.filters.set(id, f);
    return id;
  }

  private find(id: string): Filter {
    const f = this.filters.get(id);
    if (f) return f;
    // geth's message and code (-32000), which viem takes as "install the filter again"; why, in data.
    const gone = this.gone.get(id);
    throw gone ? filterNotFound(`uninstalled by the node: ${gone.reason}`) : filterNotFound();
  }

  private push(id: string, f: Filter, items: unknown[]): void {
    if (items.length === 0) return;
    if (f.changes.length + items.length > this.limits.maxChanges) {
      this.filters.delete(id);
      this.remember(
        id,
        `more than ${this.limits.maxChanges} changes waited for a poll; install a new filter and read the gap with eth_getLogs`,
      );
      return;
    }
    (f.changes as unknown[]).push(...items);
  }

  private remember(id: string, reason: string): void {
    // Bounded as the filters are: the oldest reason goes first.
    if (this.gone.size >= this.limits.maxFilters) this.gone.delete(this.gone.keys().next().value as string);
    this.gone.set(id, { reason, at: this.now() });
  }
}

const filterNotFound = (why?: string): RpcError => serverError('filter not found', why);

/** geth's SubscribeLogs rules: no `pending`; a range that ends at a number starts at one at or below it. */
function parseCriteria(query: Record<string, unknown>): LogCriteria {
  const match = parseLogFilter(query, 0);
  if (query.blockHash !== undefined) {
    if (query.fromBlock !== undefined || query.toBlock !== undefined) throw blockHashWithRange();
    return { match, blockHash: hash(query.blockHash, 0).toLowerCase() as Hex, query };
  }
  const bound = (v: unknown): bigint | undefined => {
    const tag = blockTag(v, 0);
    switch (tag.kind) {
      case 'number':
        return tag.number;
      case 'earliest':
        return 0n;
      case 'latest':
      case 'finalized':
        return undefined;
      case 'pending':
        throw serverError('pending logs are not supported');
      case 'hash':
        throw invalidBlockRange();
    }
  };
  const from = bound(query.fromBlock);
  const to = bound(query.toBlock);
  if (to !== undefined && (from === undefined || from > to)) throw invalidBlockRange();
  return { match, from, to, query };
}

function logMatches(c: LogCriteria, log: RpcLog): boolean {
  if (c.blockHash !== undefined && log.blockHash !== c.blockHash) return false;
  const n = BigInt(log.blockNumber);
  if (c.from !== undefined && n < c.from) return false;
  if (c.to !== undefined && n > c.to) return false;
  return matchesLog(c.match, log);
}

/** The filter methods, bound to one registry. */
export function filterMethods(filters: FilterRegistry): Record<string, RpcHandler> {
  const id = (p: unknown[]): string => {
    expectArgs(p, 1, 1);
    if (typeof p[0] !== 'string')
      throw new RpcError(RpcCode.InvalidParams, 'invalid argument 0: filter id must be a string');
    return p[0];
  };
  return {
    eth_newFilter: (p) => {
      expectArgs(p, 1, 1);
      return filters.installLogs(object(p[0], 0));
    },
    eth_newBlockFilter: (p) => {
      expectArgs(p, 0, 0);
      return filters.installBlocks();
    },
    eth_newPendingTransactionFilter: (p) => {
      expectArgs(p, 0, 1);
      return filters.installPendingTxs(p[0] === null ? false : bool(p[0], 0));
    },
    eth_getFilterChanges: (p) => filters.takeChanges(id(p)),
    eth_getFilterLogs: (p, ctx: RpcContext) => queryLogs(ctx, filters.logQuery(id(p))),
    eth_uninstallFilter: (p) => filters.uninstall(id(p)),
  };
}
