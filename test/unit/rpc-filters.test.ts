import { describe, expect, it } from 'vitest';
import { RpcError } from '../../src/errors.js';
import { FilterRegistry } from '../../src/rpc/filters.js';
import type { RpcLog } from '../../src/rpc/format.js';
import type { Hex } from '../../src/util/bytes.js';

const token: Hex = '0x00000000000000000000000000000000000000aa';
const other: Hex = '0x00000000000000000000000000000000000000bb';
const transferTopic: Hex = `0x${'11'.repeat(32)}`;

function log(block: number, address: Hex, logIndex = 0): RpcLog {
  return {
    address,
    topics: [transferTopic],
    data: '0x',
    blockNumber: `0x${block.toString(16)}`,
    blockHash: `0x${block.toString(16).padStart(64, '0')}`,
    blockTimestamp: '0x1',
    transactionHash: `0x${'cd'.repeat(32)}`,
    transactionIndex: '0x0',
    logIndex: `0x${logIndex.toString(16)}`,
    removed: false,
  };
}

function registry(limits: Partial<{ timeoutMs: number; maxFilters: number; maxChanges: number }> = {}) {
  let now = 0;
  const filters = new FilterRegistry(
    { timeoutMs: 1_000, maxFilters: 8, maxChanges: 100, ...limits },
    () => now,
  );
  return { filters, advance: (ms: number) => (now += ms) };
}

function rpcErrorOf(f: () => unknown): RpcError {
  try {
    f();
  } catch (err) {
    if (err instanceof RpcError) return err;
    throw err;
  }
  throw new Error('expected an RpcError');
}

describe('polling filters (eth_newFilter and friends)', () => {
  it('a log filter gets each matching log once, in order, and only new ones', () => {
    const { filters } = registry();
    const id = filters.installLogs({ address: token });
    expect(id).toMatch(/^0x[0-9a-f]{32}$/);
    filters.onBlock('0x01', () => [log(1, token), log(1, other, 1)]);
    filters.onBlock('0x02', () => [log(2, token)]);
    expect(filters.takeChanges(id)).toEqual([log(1, token), log(2, token)]);
    expect(filters.takeChanges(id)).toEqual([]);
    filters.onBlock('0x03', () => [log(3, token)]);
    expect(filters.takeChanges(id)).toEqual([log(3, token)]);
  });

  it("keeps to the criteria's block range and topics", () => {
    const { filters } = registry();
    const ranged = filters.installLogs({ fromBlock: '0x2', toBlock: '0x3' });
    const byTopic = filters.installLogs({ topics: [[`0x${'22'.repeat(32)}`, transferTopic]] });
    const noMatch = filters.installLogs({ topics: [`0x${'22'.repeat(32)}`] });
    for (const n of [1, 2, 3, 4]) filters.onBlock(`0x0${n}`, () => [log(n, token)]);
    expect(filters.takeChanges(ranged).map((l) => (l as RpcLog).blockNumber)).toEqual(['0x2', '0x3']);
    expect(filters.takeChanges(byTopic)).toHaveLength(4);
    expect(filters.takeChanges(noMatch)).toEqual([]);
  });

  it('after an L2 rewind a log filter gets the removed logs with removed: true', () => {
    const { filters } = registry();
    const id = filters.installLogs({});
    filters.onBlock('0x05', () => [log(5, token)]);
    expect(filters.takeChanges(id)).toHaveLength(1);
    filters.onRemovedLogs([{ ...log(5, token), removed: true }]);
    filters.onBlock('0x05', () => [log(5, other)]);
    expect(filters.takeChanges(id)).toEqual([{ ...log(5, token), removed: true }, log(5, other)]);
  });

  it('block and pending-tx filters get hashes (or whole txs), log queries only log filters', () => {
    const { filters } = registry();
    const blocks = filters.installBlocks();
    const hashes = filters.installPendingTxs(false);
    const full = filters.installPendingTxs(true);
    filters.onBlock('0xb1', () => {
      throw new Error('no log filter: logs are not computed');
    });
    const fullToo = filters.installPendingTxs(true);
    let views = 0;
    filters.onPendingTx('0x7a', () => ({ hash: '0x7a', view: ++views }));
    expect(filters.takeChanges(blocks)).toEqual(['0xb1']);
    expect(filters.takeChanges(hashes)).toEqual(['0x7a']);
    // One view of the tx, shared by the filters that want whole txs.
    expect(filters.takeChanges(full)).toEqual([{ hash: '0x7a', view: 1 }]);
    expect(filters.takeChanges(fullToo)).toEqual([{ hash: '0x7a', view: 1 }]);
    expect(views).toBe(1);
    expect(rpcErrorOf(() => filters.logQuery(blocks)).message).toBe('filter not found');
    const logs = filters.installLogs({ address: token, fromBlock: '0x1' });
    expect(filters.logQuery(logs)).toEqual({ address: token, fromBlock: '0x1' });
  });

  it('uninstall: true once, then the id is unknown', () => {
    const { filters } = registry();
    const id = filters.installBlocks();
    expect(filters.uninstall(id)).toBe(true);
    expect(filters.uninstall(id)).toBe(false);
    const err = rpcErrorOf(() => filters.takeChanges(id));
    expect([err.code, err.message, err.data]).toEqual([-32000, 'filter not found', undefined]);
  });

  it('a filter nobody polls within the timeout is uninstalled; each poll restarts the timeout', () => {
    const { filters, advance } = registry({ timeoutMs: 1_000 });
    const polled = filters.installBlocks();
    const idle = filters.installBlocks();
    advance(800);
    filters.takeChanges(polled);
    advance(800);
    filters.sweep();
    expect(filters.size).toBe(1);
    expect(filters.takeChanges(polled)).toEqual([]);
    const err = rpcErrorOf(() => filters.takeChanges(idle));
    expect([err.code, err.message, err.data]).toEqual([
      -32000,
      'filter not found',
      'uninstalled by the node: not polled for 1 s',
    ]);
  });

  it('a filter whose changes outgrow the limit is uninstalled, saying why; others go on', () => {
    const { filters } = registry({ maxChanges: 3 });
    const slow = filters.installBlocks();
    const fast = filters.installBlocks();
    for (let i = 0; i < 4; i++) {
      filters.onBlock(`0x0${i}`, () => []);
      if (i === 1) filters.takeChanges(fast);
    }
    expect(filters.takeChanges(fast)).toEqual(['0x02', '0x03']);
    const err = rpcErrorOf(() => filters.takeChanges(slow));
    expect(err.message).toBe('filter not found');
    expect(err.data).toMatch(/more than 3 changes waited for a poll; install a new filter/);
  });

  it('refuses bad criteria with geth-style errors, and more filters than the limit', () => {
    const { filters } = registry({ maxFilters: 2 });
    const cases: Array<[Record<string, unknown>, number, string | RegExp]> = [
      [{ fromBlock: 'pending' }, -32000, 'pending logs are not supported'],
      [{ fromBlock: '0x5', toBlock: '0x2' }, -32602, 'invalid block range params'],
      [{ toBlock: '0x2' }, -32602, 'invalid block range params'],
      [{ blockHash: `0x${'00'.repeat(32)}`, fromBlock: '0x1' }, -32602, /cannot specify both BlockHash/],
      [{ topics: [null, null, null, null, null] }, -32602, /too many topics/],
      [{ address: '0x1234' }, -32602, /hex string has length 4, want 40/],
    ];
    for (const [query, code, message] of cases) {
      const err = rpcErrorOf(() => filters.installLogs(query));
      expect(err.code).toBe(code);
      expect(err.message).toMatch(message);
    }
    expect(filters.size).toBe(0);
    filters.installLogs({ fromBlock: 'earliest', toBlock: '0x0' });
    filters.installBlocks();
    const err = rpcErrorOf(() => filters.installPendingTxs(false));
    expect([err.code, err.message]).toEqual([-32005, 'too many filters (max 2)']);
  });
});
