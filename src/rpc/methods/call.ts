import { RpcCode, RpcError, serverError } from '../../errors.js';
import type { CallOutcome, CallRequest } from '../../execution/executor.js';
import { type Hex, quantity as q, toHex } from '../../util/bytes.js';
import { type RpcContext, type RpcHandler, stateBlock } from '../context.js';
import { address, blockTag, data, expectArgs, object, quantity } from '../params.js';

/** Decodes a call object (geth's TransactionArgs); `input` wins over `data` as in geth. */
export function callRequest(v: unknown, i: number): CallRequest {
  const o = object(v, i);
  const req: CallRequest = {};
  if (o.from !== undefined && o.from !== null) req.from = address(o.from, i);
  if (o.to !== undefined && o.to !== null) req.to = address(o.to, i);
  if (o.gas !== undefined && o.gas !== null) req.gas = quantity(o.gas, i);
  if (o.gasPrice !== undefined && o.gasPrice !== null) req.gasPrice = quantity(o.gasPrice, i);
  if (o.maxFeePerGas !== undefined && o.maxFeePerGas !== null) req.maxFeePerGas = quantity(o.maxFeePerGas, i);
  if (o.maxPriorityFeePerGas !== undefined && o.maxPriorityFeePerGas !== null) {
    req.maxPriorityFeePerGas = quantity(o.maxPriorityFeePerGas, i);
  }
  if (
    req.gasPrice !== undefined &&
    (req.maxFeePerGas !== undefined || req.maxPriorityFeePerGas !== undefined)
  ) {
    throw serverError('both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified');
  }
  if (o.value !== undefined && o.value !== null) req.value = quantity(o.value, i);
  if (o.nonce !== undefined && o.nonce !== null) req.nonce = quantity(o.nonce, i);
  const input = o.input ?? o.data;
  if (o.input !== undefined && o.data !== undefined && o.input !== o.data) {
    throw serverError(
      'both "data" and "input" are set and not equal. Please use "input" to pass transaction call data',
    );
  }
  if (input !== undefined && input !== null) req.data = toHex(data(input, i));
  if (Array.isArray(o.accessList)) req.accessList = o.accessList as CallRequest['accessList'];
  return req;
}

/** geth's revert error: code 3, "execution reverted[: reason]", data = the revert bytes. */
function revertError(out: CallOutcome): RpcError {
  const ret = out.returnValue;
  let reason = '';
  // Error(string) selector 0x08c379a0
  if (ret.length >= 68 && toHex(ret.subarray(0, 4)) === '0x08c379a0') {
    const len = Number(BigInt(toHex(ret.subarray(36, 68))));
    if (68 + len <= ret.length) reason = Buffer.from(ret.subarray(68, 68 + len)).toString('utf8');
  }
  return new RpcError(
    RpcCode.ExecutionReverted,
    reason ? `execution reverted: ${reason}` : 'execution reverted',
    toHex(ret),
  );
}

/** The gas a simulated tx may use: its own `gas` if lower, else the block gas limit or the RPC cap. */
function gasCeiling(ctx: RpcContext, req: CallRequest): bigint {
  const limit =
    ctx.executor.options.gasLimit < ctx.options.gasCap ? ctx.executor.options.gasLimit : ctx.options.gasCap;
  return req.gas !== undefined && req.gas < limit ? req.gas : limit;
}

export const callMethods: Record<string, RpcHandler> = {
  eth_call: async (p, ctx) => {
    expectArgs(p, 1, 3);
    const req = callRequest(p[0], 0);
    const block = stateBlock(ctx, blockTag(p[1], 1));
    const gas = req.gas === undefined || req.gas > ctx.options.gasCap ? ctx.options.gasCap : req.gas;
    // Call workers read lmdb: a just-announced block may still be in flight to it.
    await ctx.store.written(block.header.number);
    const out = await ctx.calls.run('call', req, block.header.number, gas, ctx.options.evmTimeoutMs);
    if ('gas' in out) throw serverError('internal error: call returned an estimate');
    if (out.error?.reverted) throw revertError(out);
    if (out.error) throw serverError(out.error.message);
    return toHex(out.returnValue);
  },
  eth_estimateGas: async (p, ctx) => {
    expectArgs(p, 1, 3);
    const req = callRequest(p[0], 0);
    const block = stateBlock(ctx, blockTag(p[1], 1));
    const cap = gasCeiling(ctx, req);
    await ctx.store.written(block.header.number);
    const out = await ctx.calls.run(
      'estimate',
      { ...req, gas: cap },
      block.header.number,
      cap,
      ctx.options.evmTimeoutMs * 4,
    );
    if ('gas' in out) return q(out.gas);
    if (out.error?.reverted) throw revertError(out);
    const msg = out.error?.message ?? 'unknown error';
    if (/out of gas|gas limit|intrinsic/i.test(msg))
      throw serverError(`gas required exceeds allowance (${cap})`);
    throw serverError(msg.replace(/ -> .*$/s, ''));
  },
  /**
   * geth's eth_createAccessList: the addresses and slots the call touches (EIP-2930), and the gas it
   * uses with that list; a call that fails still answers, with its `error`.
   */
  eth_createAccessList: async (p, ctx) => {
    expectArgs(p, 1, 2);
    const req = callRequest(p[0], 0);
    const block = stateBlock(ctx, blockTag(p[1], 1));
    const gas = gasCeiling(ctx, req);
    await ctx.store.written(block.header.number);
    const out = await ctx.calls.run(
      'accessList',
      req,
      block.header.number,
      gas,
      ctx.options.evmTimeoutMs * 4,
    );
    return {
      accessList: out.accessList,
      gasUsed: q(out.gasUsed),
      ...(out.error && {
        error: out.error.reverted ? 'execution reverted' : out.error.message.replace(/ -> .*$/s, ''),
      }),
    };
  },
};

export type { Hex };
