import { quantity as q, toHex } from '../../util/bytes.js';
import { type RpcHandler, stateBlock } from '../context.js';
import { address, blockTag, expectArgs, storageSlot } from '../params.js';

export const stateMethods: Record<string, RpcHandler> = {
  eth_getBalance: async (p, ctx) => {
    expectArgs(p, 1, 2);
    const addr = address(p[0], 0);
    const view = await ctx.executor.view(stateBlock(ctx, blockTag(p[1], 1)));
    return q((await view.getAccount(addr))?.balance ?? 0n);
  },
  eth_getTransactionCount: async (p, ctx) => {
    expectArgs(p, 1, 2);
    const addr = address(p[0], 0);
    const tag = blockTag(p[1], 1);
    const view = await ctx.executor.view(stateBlock(ctx, tag));
    const nonce = (await view.getAccount(addr))?.nonce ?? 0n;
    return q(tag.kind === 'pending' ? ctx.mempool.pendingNonce(addr, nonce) : nonce);
  },
  eth_getCode: async (p, ctx) => {
    expectArgs(p, 1, 2);
    const addr = address(p[0], 0);
    const view = await ctx.executor.view(stateBlock(ctx, blockTag(p[1], 1)));
    return toHex(await view.getCode(addr));
  },
  eth_getStorageAt: async (p, ctx) => {
    expectArgs(p, 2, 3);
    const addr = address(p[0], 0);
    const slot = storageSlot(p[1]);
    const view = await ctx.executor.view(stateBlock(ctx, blockTag(p[2], 2)));
    const value = await view.getStorage(addr, slot);
    const out = new Uint8Array(32);
    out.set(value, 32 - value.length);
    return toHex(out);
  },
};
