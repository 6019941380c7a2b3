import { Bloom } from '@ethereumjs/vm';
import { invalidParams, RpcCode, RpcError } from '../../errors.js';
import { fromHex, type Hex } from '../../util/bytes.js';
import { finalizedNumber, findBlock, type RpcContext, type RpcHandler } from '../context.js';
import { blockLogs, type RpcLog } from '../format.js';
import { address, blockTag, expectArgs, hash, object } from '../params.js';

export interface LogFilter {
  addresses: Hex[];
  /** Per position: null = any, else one of these. */
  topics: Array<Hex[] | null>;
}

export function parseLogFilter(o: Record<string, unknown>, i: number): LogFilter {
  const addresses =
    o.address === undefined || o.address === null
      ? []
      : Array.isArray(o.address)
        ? o.address.map((a) => address(a, i))
        : [address(o.address, i)];
  if (o.topics !== undefined && o.topics !== null && !Array.isArray(o.topics)) {
    throw invalidParams(`invalid argument ${i}: topics must be an array`);
  }
  const rawTopics = (o.topics as unknown[] | undefined) ?? [];
  if (rawTopics.length > 4) throw invalidParams('invalid argument 0: too many topics, at most 4');
  const topics = rawTopics.map((t) =>
    t === null ? null : Array.isArray(t) ? t.map((x) => hash(x, i)) : [hash(t, i)],
  );
  return { addresses, topics };
}

export function matchesLog(f: LogFilter, log: RpcLog): boolean {
  if (f.addresses.length && !f.addresses.includes(log.address.toLowerCase() as Hex)) return false;
  for (let k = 0; k < f.topics.length; k++) {
    const want = f.topics[k];
    if (want === null || want.length === 0) continue;
    const have = log.topics[k];
    if (!have || !want.includes(have.toLowerCase() as Hex)) return false;
  }
  return true;
}

/** Cheap pre-check with the block's logs bloom: false means the block surely has no match. */
function bloomMayMatch(bloom: Bloom, f: LogFilter): boolean {
  if (f.addresses.length && !f.addresses.some((a) => bloom.check(fromHex(a)))) return false;
  for (const want of f.topics) {
    if (want?.length && !want.some((t) => bloom.check(fromHex(t)))) return false;
  }
  return true;
}

export function logsOfBlock(ctx: RpcContext, n: bigint, f: LogFilter): RpcLog[] {
  const block = ctx.executor.blockByNumber(n);
  if (!block || block.transactions.length === 0) return [];
  if (!bloomMayMatch(new Bloom(block.header.logsBloom), f)) return [];
  return blockLogs(block, ctx.store.getReceipts(n) ?? []).filter((l) => matchesLog(f, l));
}

/**
 * eth_getLogs over a filter object (`address`, `topics`, and `blockHash` or `fromBlock`/`toBlock`):
 * also what eth_getFilterLogs runs with a filter's criteria.
 */
export function queryLogs(ctx: RpcContext, o: Record<string, unknown>): RpcLog[] {
  const filter = parseLogFilter(o, 0);
  let from: bigint;
  let to: bigint;
  if (o.blockHash !== undefined) {
    if (o.fromBlock !== undefined || o.toBlock !== undefined) throw blockHashWithRange();
    const block = findBlock(ctx, { kind: 'hash', hash: hash(o.blockHash, 0) });
    if (!block) throw new RpcError(RpcCode.Server, 'unknown block');
    from = to = block.header.number;
  } else {
    const head = ctx.executor.head.header.number;
    const resolve = (v: unknown): bigint => {
      const tag = blockTag(v, 0);
      if (tag.kind === 'number') return tag.number > head ? head + 1n : tag.number;
      if (tag.kind === 'earliest') return 0n;
      if (tag.kind === 'finalized') return finalizedNumber(ctx);
      return head;
    };
    from = resolve(o.fromBlock);
    to = resolve(o.toBlock);
    if (from > to) throw invalidBlockRange();
    if (to > head) to = head;
    if (to - from >= BigInt(ctx.options.maxLogBlockRange)) {
      throw new RpcError(
        RpcCode.LimitExceeded,
        `block range greater than ${ctx.options.maxLogBlockRange} max`,
      );
    }
  }
  const out: RpcLog[] = [];
  for (let n = from; n <= to; n++) {
    out.push(...logsOfBlock(ctx, n, filter));
    if (out.length > ctx.options.maxLogResults) {
      throw new RpcError(
        RpcCode.LimitExceeded,
        `query returned more than ${ctx.options.maxLogResults} results`,
      );
    }
  }
  return out;
}

export const blockHashWithRange = (): RpcError =>
  invalidParams(
    'invalid argument 0: cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other',
  );
export const invalidBlockRange = (): RpcError => invalidParams('invalid block range params');

export const logMethods: Record<string, RpcHandler> = {
  eth_getLogs: (p, ctx) => {
    expectArgs(p, 1, 1);
    return queryLogs(ctx, object(p[0], 0));
  },
};
