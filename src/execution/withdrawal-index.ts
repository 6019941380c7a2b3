import type { Block } from '@ethereumjs/block';
import { decodeEventLog, type Hex, parseAbiItem } from 'viem';
import {
  type L2Output,
  l2Output,
  type Withdrawal,
  withdrawalLeaf,
  withdrawalProof,
  withdrawalsRoot,
} from '../l1/withdrawals.js';
import { decodeReceipt } from '../rpc/format.js';
import type { StoredReceipt } from '../store/chain-store.js';
import { toHex } from '../util/bytes.js';
import type { Executor } from './executor.js';
import { L2_TO_L1_MESSAGE_PASSER } from './options.js';

const WITHDRAWAL_INITIATED = parseAbiItem(
  'event WithdrawalInitiated(uint256 indexed nonce, address indexed from, address indexed to, uint256 value)',
);

/**
 * Every withdrawal the L2 system contract recorded, in nonce order, with the block that holds it:
 * the leaves of the withdrawals tree whose root goes into each certified output.
 */
export class WithdrawalIndex {
  private readonly entries: Array<{ withdrawal: Withdrawal; leaf: Hex; block: bigint }> = [];
  /** The last block taken in: `rootAt` is complete up to here. */
  indexedTo = 0n;

  /** Takes a sealed block's receipts in; blocks must come in order. */
  onBlock(block: Block, receipts: StoredReceipt[]): void {
    this.indexedTo = block.header.number;
    for (const r of receipts) {
      for (const log of decodeReceipt(r.encoded).logs) {
        if (toHex(log.address) !== L2_TO_L1_MESSAGE_PASSER) continue;
        const topics = log.topics.map(toHex) as [Hex, ...Hex[]];
        const ev = decodeEventLog({ abi: [WITHDRAWAL_INITIATED], data: toHex(log.data), topics });
        const w: Withdrawal = {
          nonce: ev.args.nonce,
          from: ev.args.from,
          to: ev.args.to,
          value: ev.args.value,
        };
        if (w.nonce !== BigInt(this.entries.length)) throw new Error(`withdrawal ${w.nonce} out of order`);
        this.entries.push({ withdrawal: w, leaf: withdrawalLeaf(w), block: block.header.number });
      }
    }
  }

  /** Forgets the blocks above `height` (an L2 rewind took them off the chain). */
  rewindTo(height: bigint): void {
    while (this.entries.length && this.entries[this.entries.length - 1].block > height) this.entries.pop();
    if (this.indexedTo > height) this.indexedTo = height;
  }

  private leavesAt(blockNumber: bigint): Hex[] {
    return this.entries.filter((e) => e.block <= blockNumber).map((e) => e.leaf);
  }

  /** Root over the withdrawals made up to and including `blockNumber`. */
  rootAt(blockNumber: bigint): Hex {
    return withdrawalsRoot(this.leavesAt(blockNumber));
  }

  get(nonce: bigint): { withdrawal: Withdrawal; block: bigint } | undefined {
    return this.entries[Number(nonce)];
  }

  /** The Merkle proof of withdrawal `nonce` against the root at `blockNumber`. */
  proof(nonce: bigint, blockNumber: bigint): Hex[] {
    return withdrawalProof(this.leavesAt(blockNumber), Number(nonce));
  }
}

/** Block `l2Block`'s output (state root, withdrawals root, hash); undefined until it is executed and indexed. */
export function outputOf(
  executor: Executor,
  withdrawals: WithdrawalIndex,
  l2Block: bigint,
): L2Output | undefined {
  if (l2Block < 1n || l2Block > withdrawals.indexedTo) return undefined;
  const block = executor.blockByNumber(l2Block);
  if (!block) return undefined;
  return l2Output(l2Block, toHex(block.header.stateRoot), withdrawals.rootAt(l2Block), toHex(block.hash()));
}
