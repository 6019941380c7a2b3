import { keccak256, quantity as q, toHex } from '../../util/bytes.js';
import { findBlock, type RpcContext, type RpcHandler, sendersOf } from '../context.js';
import { formatBlock, formatReceipt } from '../format.js';
import { blockNumberOrHash, blockTag, bool, data, expectArgs, hash, uint64 } from '../params.js';

export const chainMethods: Record<string, RpcHandler> = {
  eth_chainId: (p, ctx) => {
    expectArgs(p, 0, 0);
    return q(ctx.chainId);
  },
  net_version: (p, ctx) => {
    expectArgs(p, 0, 0);
    return ctx.chainId.toString();
  },
  net_listening: () => true,
  net_peerCount: (p, ctx) => {
    expectArgs(p, 0, 0);
    return q(BigInt(ctx.peerCount?.() ?? 0));
  },
  web3_clientVersion: (p, ctx) => {
    expectArgs(p, 0, 0);
    return ctx.clientVersion;
  },
  // As geth: false, or the progress of a committee member's block sync (a member back from a pause
  // or a crash takes the committed blocks it lacks from its peers).
  eth_syncing: (p, ctx) => {
    expectArgs(p, 0, 0);
    const s = ctx.syncing?.();
    return s
      ? {
          startingBlock: q(s.startingBlock),
          currentBlock: q(s.currentBlock),
          highestBlock: q(s.highestBlock),
        }
      : false;
  },
  eth_accounts: () => [],
  eth_blockNumber: (p, ctx) => {
    expectArgs(p, 0, 0);
    return q(ctx.executor.head.header.number);
  },
  eth_getBlockByNumber: (p, ctx) => {
    expectArgs(p, 2, 2);
    const block = findBlock(ctx, blockTag(p[0], 0));
    return block ? formatBlock(block, bool(p[1], 1), bool(p[1], 1) ? sendersOf(ctx, block) : []) : null;
  },
  eth_getBlockByHash: (p, ctx) => {
    expectArgs(p, 2, 2);
    const block = findBlock(ctx, { kind: 'hash', hash: hash(p[0], 0) });
    return block ? formatBlock(block, bool(p[1], 1), bool(p[1], 1) ? sendersOf(ctx, block) : []) : null;
  },
  eth_getBlockTransactionCountByNumber: (p, ctx) => {
    expectArgs(p, 1, 1);
    const block = findBlock(ctx, blockTag(p[0], 0));
    return block ? q(block.transactions.length) : null;
  },
  eth_getBlockTransactionCountByHash: (p, ctx) => {
    expectArgs(p, 1, 1);
    const block = findBlock(ctx, { kind: 'hash', hash: hash(p[0], 0) });
    return block ? q(block.transactions.length) : null;
  },
  eth_getBlockReceipts: (p, ctx) => {
    expectArgs(p, 1, 1);
    const block = findBlock(ctx, blockNumberOrHash(p[0], 0));
    if (!block) return null;
    const receipts = ctx.store.getReceipts(block.header.number) ?? [];
    return receipts.map((_, i) => formatReceipt(block, receipts, i));
  },
  // No uncles on an L2: a known block has none.
  eth_getUncleCountByBlockNumber: (p, ctx) => {
    expectArgs(p, 1, 1);
    return findBlock(ctx, blockTag(p[0], 0)) ? '0x0' : null;
  },
  eth_getUncleCountByBlockHash: (p, ctx) => {
    expectArgs(p, 1, 1);
    return findBlock(ctx, { kind: 'hash', hash: hash(p[0], 0) }) ? '0x0' : null;
  },
  eth_getUncleByBlockNumberAndIndex: (p) => {
    expectArgs(p, 2, 2);
    blockTag(p[0], 0);
    uint64(p[1], 1);
    return null;
  },
  eth_getUncleByBlockHashAndIndex: (p) => {
    expectArgs(p, 2, 2);
    hash(p[0], 0);
    uint64(p[1], 1);
    return null;
  },
  web3_sha3: (p) => {
    expectArgs(p, 1, 1);
    return toHex(keccak256(data(p[0], 0)));
  },
  seqnet_status: (_p, ctx: RpcContext) => ctx.status(),
};
