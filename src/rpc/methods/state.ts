import { getMerkleStateProof } from '@ethereumjs/statemanager';
import { createAddressFromString } from '@ethereumjs/util';
import { RpcCode, RpcError } from '../../errors.js';
import { quantity as q, toHex } from '../../util/bytes.js';
import { type RpcHandler, stateBlock } from '../context.js';
import { address, blockTag, expectArgs, storageSlot } from '../params.js';

/** eth_getProof: most storage keys in one call. */
const MAX_PROOF_KEYS = 1_024;

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
  /**
   * EIP-1186: the account and storage slots with their Merkle proofs against the block's state root,
   * which anyone can check offline (a bridge or light client trusting only the block header).
   */
  eth_getProof: async (p, ctx) => {
    expectArgs(p, 2, 3);
    const addr = address(p[0], 0);
    const keys = p[1];
    if (!Array.isArray(keys))
      throw new RpcError(
        RpcCode.InvalidParams,
        'invalid argument 1: json: cannot unmarshal non-array into Go value of type []string',
      );
    if (keys.length > MAX_PROOF_KEYS)
      throw new RpcError(RpcCode.LimitExceeded, `too many storage keys (max ${MAX_PROOF_KEYS})`);
    const slots = keys.map((k) => storageSlot(k));
    const sm = await ctx.executor.stateAt(stateBlock(ctx, blockTag(p[2], 2)));
    const proof = await getMerkleStateProof(sm, createAddressFromString(addr), slots);
    // As geth: the keys as the caller gave them, values without leading zeros.
    return {
      ...proof,
      address: addr,
      storageProof: proof.storageProof.map((s, i) => ({ ...s, key: keys[i] as string })),
    };
  },
};
