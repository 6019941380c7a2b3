import { invalidParams } from '../../errors.js';
import { quantity as q } from '../../util/bytes.js';
import { findBlock, type RpcHandler } from '../context.js';
import { effectiveGasPrice } from '../format.js';
import { blockTag, expectArgs, quantity } from '../params.js';

/** Suggested tip: order is first-come-first-served by default, so a token tip (0.001 gwei) suffices. */
export const SUGGESTED_TIP = 1_000_000n;

export const feeMethods: Record<string, RpcHandler> = {
  eth_gasPrice: (p, ctx) => {
    expectArgs(p, 0, 0);
    return q(ctx.executor.nextBaseFee() + SUGGESTED_TIP);
  },
  eth_maxPriorityFeePerGas: (p, _ctx) => {
    expectArgs(p, 0, 0);
    return q(SUGGESTED_TIP);
  },
  eth_feeHistory: (p, ctx) => {
    expectArgs(p, 2, 3);
    let count = Number(typeof p[0] === 'number' ? BigInt(p[0]) : quantity(p[0], 0));
    if (count < 1) return { oldestBlock: '0x0', baseFeePerGas: [], gasUsedRatio: [], reward: [] };
    if (count > 1024) count = 1024;
    const newest = findBlock(ctx, blockTag(p[1], 1));
    if (!newest) throw invalidParams('request beyond head block');
    const percentiles = p[2] === undefined || p[2] === null ? undefined : (p[2] as unknown[]);
    if (percentiles !== undefined) {
      if (!Array.isArray(percentiles) || percentiles.length > 100)
        throw invalidParams('invalid reward percentiles');
      let prev = -1;
      for (const x of percentiles) {
        if (typeof x !== 'number' || x < 0 || x > 100 || x < prev)
          throw invalidParams(`invalid reward percentile: ${x}`);
        prev = x;
      }
    }
    const newestN = newest.header.number;
    const oldest = newestN + 1n - BigInt(count) < 0n ? 0n : newestN + 1n - BigInt(count);
    const baseFees: string[] = [];
    const ratios: number[] = [];
    const rewards: string[][] = [];
    for (let n = oldest; n <= newestN; n++) {
      const block = ctx.executor.blockByNumber(n)!;
      const baseFee = block.header.baseFeePerGas ?? 0n;
      baseFees.push(q(baseFee));
      ratios.push(Number(block.header.gasUsed) / Number(block.header.gasLimit));
      if (percentiles) {
        const receipts = ctx.store.getReceipts(n) ?? [];
        const tips = block.transactions
          .map((tx, i) => ({
            tip: effectiveGasPrice(tx, baseFee) - baseFee,
            gas: receipts[i]?.gasUsed ?? 0n,
          }))
          .sort((a, b) => (a.tip < b.tip ? -1 : a.tip > b.tip ? 1 : 0));
        const total = tips.reduce((s, t) => s + t.gas, 0n);
        rewards.push(
          (percentiles as number[]).map((pct) => {
            if (tips.length === 0) return '0x0';
            const threshold = (Number(total) * pct) / 100;
            let acc = 0;
            for (const t of tips) {
              acc += Number(t.gas);
              if (acc >= threshold) return q(t.tip);
            }
            return q(tips[tips.length - 1].tip);
          }),
        );
      }
    }
    baseFees.push(q(ctx.executor.nextBaseFee(newest.header)));
    return {
      oldestBlock: q(oldest),
      baseFeePerGas: baseFees,
      gasUsedRatio: ratios,
      baseFeePerBlobGas: baseFees.map(() => '0x1'),
      blobGasUsedRatio: ratios.map(() => 0),
      ...(percentiles ? { reward: rewards } : {}),
    };
  },
};
