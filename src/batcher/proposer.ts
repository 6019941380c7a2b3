import type { Logger } from 'pino';
import { type Abi, encodeFunctionData, type Hex } from 'viem';
import type { OutputCertificate } from '../consensus/certificate.js';
import { outputCertificateForL1 } from '../l1/bls-encoding.js';
import { l1Clients } from '../l1/clients.js';
import { latestOutputOnL1 } from '../l1/outputs.js';
import type { L2Output } from '../l1/withdrawals.js';
import { sendWithFeeBumps } from './batcher.js';

export interface ProposerDeps {
  /** The output of an executed block (state root, withdrawals root, hash). */
  outputAt(l2Block: bigint): L2Output | undefined;
  /**
   * With a committee on L1: a quorum certificate over this node's output of a block (the
   * StateOracle then takes it from anyone, `proposeCertified`, and from no single key).
   */
  certify?(l2Block: bigint): Promise<{ output: L2Output; certificate: OutputCertificate } | undefined>;
  /** Members in the committee that certifies (for the signer bitmap's length). */
  committeeSize: number;
  /** The last L2 block whose batch is on L1: outputs never run ahead of the data. */
  postedTo(): bigint;
  /**
   * The block to propose the output of, given postedTo (default: that block). With several posters
   * (`based`, `free`), each takes its own blocks, so they do not race for the same output.
   */
  targetOf?(postedTo: bigint): bigint;
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
    const { oracle, oracleAbi, logger } = this.deps;
    const postedTo = this.deps.postedTo();
    const target = this.deps.targetOf ? this.deps.targetOf(postedTo) : postedTo;
    if (target < 1n) return;
    const latest = await this.latestOutput();
    if (latest && latest.l2Block >= target) return;
    let call: { functionName: 'propose' | 'proposeCertified'; args: readonly unknown[] };
    let output: L2Output | undefined;
    if (this.deps.certify) {
      const certified = await this.deps.certify(target);
      if (!certified) return;
      output = certified.output;
      const cert = outputCertificateForL1(certified.certificate, this.deps.committeeSize);
      call = { functionName: 'proposeCertified', args: [...outputArgs(output), cert] };
    } else {
      output = this.deps.outputAt(target);
      if (!output) return;
      call = { functionName: 'propose', args: outputArgs(output) };
    }
    const { account, pub, wallet } = await l1Clients(this.deps.l1Url, this.deps.key);
    const data = encodeFunctionData({ abi: oracleAbi, ...call });
    const gas = await pub.estimateGas({ account, to: oracle, data });
    const receipt = await sendWithFeeBumps(
      pub,
      (nonce, fees) => wallet.sendTransaction({ to: oracle, data, gas: (gas * 12n) / 10n, nonce, ...fees }),
      account.address,
      logger,
    );
    if (receipt.status !== 'success') throw new Error(`output proposal ${receipt.transactionHash} reverted`);
    logger.info(
      {
        l2Block: Number(target),
        withdrawalsRoot: output.withdrawalsRoot,
        certified: call.functionName === 'proposeCertified',
        gasUsed: Number(receipt.gasUsed),
      },
      'proposed output',
    );
  }
}

/** (l2Block, stateRoot, withdrawalsRoot, blockHash): the first arguments of both ways in. */
function outputArgs(o: L2Output): readonly [bigint, Hex, Hex, Hex] {
  return [o.l2Block, o.stateRoot, o.withdrawalsRoot, o.blockHash] as const;
}

/**
 * The newest block at or below `head` in member `self`'s share of `n` posters (heights ≡ self mod n),
 * below 1 when there is none yet: with several posters each proposes only its own blocks' outputs.
 */
export function newestOwnBlock(head: bigint, self: number, n: number): bigint {
  const size = BigInt(n);
  return head - ((((head - BigInt(self)) % size) + size) % size);
}
