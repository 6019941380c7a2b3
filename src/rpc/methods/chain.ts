import { quantity as q } from '../../util/bytes.js';
import { findBlock, type RpcContext, type RpcHandler, sendersOf } from '../context.js';
import { formatBlock } from '../format.js';
import { blockTag, bool, expectArgs, hash } from '../params.js';

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
  seqnet_status: (_p, ctx: RpcContext) => ctx.status(),
};
