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
  certify?(
    l2Block: bigint,
  ): Promise<{ output: L2Output; certificate: OutputCertificate; committeeSize?: number } | undefined>;
  /**
   * Members in the committee that certifies (for the signer bitmap's length), unless the certificate
   * names its own (an epoch's committee, --epoch-committees).
   */
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
  /** Outputs this node put on L1, and the L1 gas they used. */
  readonly stats = { outputs: 0, l1Gas: 0n };

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
      const cert = outputCertificateForL1(
        certified.certificate,
        certified.committeeSize ?? this.deps.committeeSize,
      );
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
    this.stats.l1Gas += receipt.gasUsed;
    if (receipt.status !== 'success') throw new Error(`output proposal ${receipt.transactionHash} reverted`);
    this.stats.outputs++;
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

/**
 * How long the head's owner has before the next poster proposes the head's output itself: the owner
 * proposes within a submitter round (≤ 2 s while idle), a certificate (≤ 3 s) and an L1 block or two.
 */
export const OUTPUT_TAKEOVER_MS = 10_000;

/**
 * The block poster `self` of `n` (`based`, `free`) proposes the output of: its own newest block, or
 * the head once the head has stood for `d × graceMs` — d = 1 … n − 1 being how far this poster comes
 * after the head's owner. Outputs cover everything below them, so only the head can wait on one
 * member; without this, a withdrawal in the last block waited for its owner, which may be down, have
 * no L1 key, or never post again. The others take over one at a time, not all at once: no race, no
 * wasted gas while the owner is alive (it posts within a round, and the others then see the output
 * on L1 and stand down).
 */
export class OutputTarget {
  private head = -1n;
  private since = 0;

  constructor(
    private readonly self: number,
    private readonly n: number,
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  of(head: bigint): bigint {
    if (head !== this.head) {
      this.head = head;
      this.since = this.now();
    }
    const own = newestOwnBlock(head, this.self, this.n);
    if (own === head || head < 1n) return own;
    const owner = Number(head % BigInt(this.n));
    const after = (this.self - owner + this.n) % this.n;
    return this.now() - this.since >= after * this.graceMs ? head : own;
  }
}
