import type { Logger } from 'pino';
import { type Abi, encodeFunctionData, type Hex } from 'viem';
import type { Executor } from '../execution/executor.js';
import type { WithdrawalIndex } from '../execution/withdrawal-index.js';
import { l1Clients } from '../l1/clients.js';
import { latestOutputOnL1 } from '../l1/outputs.js';
import { toHex } from '../util/bytes.js';
import { sendWithFeeBumps } from './batcher.js';

export interface ProposerDeps {
  executor: Executor;
  withdrawals: WithdrawalIndex;
  /** The last L2 block whose batch is on L1: outputs never run ahead of the data. */
  postedTo(): bigint;
  l1Url: string;
  oracle: Hex;
  oracleAbi: Abi;
  key: Hex;
  logger: Logger;
}

/**
 * Proposes outputs (state root, withdrawals root, block hash) to the StateOracle for the last block
 * that is on L1, so withdrawals can be finalised there after the delay.
 */
export class OutputProposer {
  constructor(private readonly deps: ProposerDeps) {}

  latestOutput(): Promise<{ index: bigint; l2Block: bigint } | undefined> {
    return latestOutputOnL1(this.deps.l1Url, this.deps.oracle, this.deps.oracleAbi);
  }

  /** Runs in the batcher's loop, so the two never race for the same L1 key's nonce. */
  async proposeOnce(): Promise<void> {
    const { executor, withdrawals, oracle, oracleAbi, logger } = this.deps;
    const target = this.deps.postedTo();
    if (target < 1n) return;
    const latest = await this.latestOutput();
    if (latest && latest.l2Block >= target) return;
    const block = executor.blockByNumber(target);
    if (!block) return;
    const args = [
      target,
      toHex(block.header.stateRoot),
      withdrawals.rootAt(target),
      toHex(block.hash()),
    ] as const;
    const { account, pub, wallet } = await l1Clients(this.deps.l1Url, this.deps.key);
    const data = encodeFunctionData({ abi: oracleAbi, functionName: 'propose', args });
    const gas = await pub.estimateGas({ account, to: oracle, data });
    const receipt = await sendWithFeeBumps(
      pub,
      (nonce, fees) => wallet.sendTransaction({ to: oracle, data, gas: (gas * 12n) / 10n, nonce, ...fees }),
      account.address,
      logger,
    );
    if (receipt.status !== 'success') throw new Error(`output proposal ${receipt.transactionHash} reverted`);
    logger.info({ l2Block: Number(target), withdrawalsRoot: args[2] }, 'proposed output');
  }
}
