import type { Block } from '@ethereumjs/block';
import { commitProofToJson, decodeCommitProof } from '../../consensus/certificate.js';
import { MAX_PRECONFIRMATION_BLOCKS } from '../../consensus/preconfirmation.js';
import { serverError } from '../../errors.js';
import { suffixKey } from '../../node/synced-blocks.js';
import { type Hex, quantity as q, toHex } from '../../util/bytes.js';
import {
  findBlock,
  type OpenPreconfirmations,
  proofCommittee,
  type RpcContext,
  type RpcHandler,
  sendersOf,
} from '../context.js';
import { formatReceipt, formatTx } from '../format.js';
import { blockTag, bool, data, expectArgs, hash, uint64 } from '../params.js';

function located(ctx: RpcContext, txHash: Hex) {
  const loc = ctx.store.getTxLocation(txHash);
  if (!loc) return undefined;
  const block = ctx.executor.blockByNumber(loc.height);
  const receipts = ctx.store.getReceipts(loc.height);
  // The index can be ahead of the head only while a block is being written: not yet confirmed.
  if (!block || !receipts || loc.height > ctx.executor.head.header.number) return undefined;
  return { block, receipts, index: loc.index };
}

/** Where a located tx is, as seqnet_getPreconfirmation reports it. */
function positionOf(at: NonNullable<ReturnType<typeof located>>) {
  return {
    blockNumber: q(at.block.header.number),
    blockHash: `0x${Buffer.from(at.block.hash()).toString('hex')}`,
    transactionIndex: q(at.index),
  };
}

/** The encoded sequenced blocks `from`..`to` (a tx's block up to the block its proof commits). */
function sequencedBlocksUpTo(ctx: RpcContext, from: bigint, to: bigint): Hex[] {
  const last = to < from ? from : to;
  if (last - from >= BigInt(MAX_PRECONFIRMATION_BLOCKS))
    throw serverError(
      `the commit proof of block ${from} is block ${to}'s, more than ${MAX_PRECONFIRMATION_BLOCKS} blocks on: ask without the blocks (one argument)`,
    );
  const blocks: Hex[] = [];
  for (let height = from; height <= last; height++) {
    const raw = ctx.store.getSequenced(height);
    // The blocks a proof commits through are stored together; a moment apart at most.
    if (!raw)
      throw serverError(
        `sequenced block ${height}, on the way to the block the proof commits, is not stored here yet: ask again in a moment`,
      );
    blocks.push(toHex(raw));
    // A boundary block committed through its instance's suffix (--epoch-committees): the proof's
    // block is the suffix's last, kept beside it, not the chain's block at that height.
    const suffix = height < last ? ctx.store.getMeta(suffixKey(height)) : undefined;
    if (suffix) {
      blocks.push(...(JSON.parse(suffix) as Hex[]));
      break;
    }
  }
  return blocks;
}

/** The tx at index argument `rawIndex` (argument 1) of `block`, or null when either is missing. */
function txInBlock(ctx: RpcContext, block: Block | undefined, rawIndex: unknown) {
  const index = Number(uint64(rawIndex, 1));
  if (!block || index >= block.transactions.length) return null;
  return formatTx(block.transactions[index], sendersOf(ctx, block)[index], { block, index });
}

/**
 * based / free: no committee certifies blocks before L1 holds them. An opted-in based submitter's
 * inclusion promise (with where the tx is once derived), null while the tx is not yet in a batch of
 * this node's; otherwise an error that says where a confirmation comes from.
 */
async function openPreconfirmation(
  open: OpenPreconfirmations,
  h: Hex,
  at: ReturnType<typeof located>,
): Promise<unknown> {
  if (!open.optedIn)
    throw serverError(
      `this ${open.mode} node does not preconfirm: L1 order decides, and a tx is final with the L1 batch that carries it (eth_getTransactionReceipt)${open.mode === 'based' ? '; for an early promise ask a node that opted in (seqnet node --preconf)' : ''}`,
    );
  const promise = await open.promise(h);
  const included = at && positionOf(at);
  if (!promise && included)
    throw serverError(
      `this node made no inclusion promise for ${h}: another submitter's batch carried it, to L2 block ${BigInt(included.blockNumber)} (eth_getTransactionReceipt)`,
    );
  return promise ? { ...promise, included: included ?? null } : null;
}

export const txMethods: Record<string, RpcHandler> = {
  eth_sendRawTransaction: async (p, ctx) => {
    expectArgs(p, 1, 1);
    const raw = data(p[0], 0);
    try {
      const { hash } = await ctx.mempool.add(raw);
      return hash;
    } catch (err) {
      ctx.metrics?.txsRejected.inc({
        reason: String((err as Error).message)
          .split(':')[0]
          .slice(0, 60),
      });
      throw err;
    }
  },
  eth_getTransactionByHash: (p, ctx) => {
    expectArgs(p, 1, 1);
    const h = hash(p[0], 0);
    const at = located(ctx, h);
    if (at) return formatTx(at.block.transactions[at.index], at.receipts[at.index].from, at);
    const pending = ctx.mempool.get(h);
    return pending ? formatTx(pending.tx, pending.sender) : null;
  },
  eth_getTransactionReceipt: (p, ctx) => {
    expectArgs(p, 1, 1);
    const at = located(ctx, hash(p[0], 0));
    return at ? formatReceipt(at.block, at.receipts, at.index) : null;
  },
  eth_getTransactionByBlockNumberAndIndex: (p, ctx) => {
    expectArgs(p, 2, 2);
    return txInBlock(ctx, findBlock(ctx, blockTag(p[0], 0)), p[1]);
  },
  eth_getTransactionByBlockHashAndIndex: (p, ctx) => {
    expectArgs(p, 2, 2);
    return txInBlock(ctx, findBlock(ctx, { kind: 'hash', hash: hash(p[0], 0) }), p[1]);
  },
  /**
   * Everything `Bridge.finaliseWithdrawal` needs for withdrawal `nonce`, against the newest output
   * certified on L1 that covers it; null until such an output exists.
   */
  seqnet_getWithdrawalProof: async (p, ctx) => {
    expectArgs(p, 1, 1);
    const nonce = uint64(p[0], 0);
    const entry = ctx.withdrawals.get(nonce);
    if (!entry) return null;
    if (!ctx.latestOutput) throw serverError('this node does not follow an L1: no outputs to prove against');
    const output = await ctx.latestOutput();
    if (!output || output.l2Block < entry.block) return null;
    const block = ctx.executor.blockByNumber(output.l2Block);
    if (!block) throw serverError(`output block ${output.l2Block} is not known here yet`);
    const w = entry.withdrawal;
    return {
      outputIndex: q(output.index),
      l2Block: q(output.l2Block),
      stateRoot: `0x${Buffer.from(block.header.stateRoot).toString('hex')}`,
      withdrawalsRoot: ctx.withdrawals.rootAt(output.l2Block),
      blockHash: `0x${Buffer.from(block.hash()).toString('hex')}`,
      withdrawal: { nonce: q(w.nonce), from: w.from, to: w.to, value: q(w.value) },
      leafIndex: q(w.nonce),
      proof: ctx.withdrawals.proof(nonce, output.l2Block),
    };
  },
  /**
   * The tx's soft confirmation: its block, its position and the commit proof of the sequenced block
   * that holds it, which anyone can check offline against the committee's BLS keys. With a second
   * argument `true`, also the encoded sequenced blocks from the tx's up to the one the proof commits
   * (`sequencedBlocks`), so the check needs nothing else (verifyPreconfirmation). In based / free
   * (no committee orders): an opted-in based submitter's inclusion promise (openPreconfirmation).
   */
  seqnet_getPreconfirmation: async (p, ctx) => {
    expectArgs(p, 1, 2);
    const h = hash(p[0], 0);
    const withBlocks = bool(p[1], 1);
    const at = located(ctx, h);
    if (ctx.openPreconfirmations) return openPreconfirmation(ctx.openPreconfirmations, h, at);
    if (!at) return null;
    const raw = ctx.store.getProof(at.block.header.number);
    if (!raw) throw serverError('commit proof missing for block; the store is damaged');
    // A follower derives blocks from L1 and holds no certificates: they are final there already.
    if (raw.length === 0)
      throw serverError(
        'this node derives the chain from L1 and holds no commit proofs: ask the sequencer for the preconfirmation',
      );
    const proof = decodeCommitProof(raw);
    // --epoch-committees: the proof's epoch's committee (read from L1 when not known here yet).
    await ctx.committeeReady?.(proof.qcs[0]?.epoch ?? 0n).catch(() => {});
    // The tx's own sequenced block: a block committed through a descendant (after a failed view, or
    // taken by block sync) holds the descendant's proof, whose blockHash is not this block's.
    const sequencedBlockHash = ctx.store.sequencedHashAt(at.block.header.number) ?? proof.blockHash;
    return {
      transactionHash: h,
      ...positionOf(at),
      sequencedBlockHash,
      proof: commitProofToJson(proof),
      committee: proofCommittee(ctx, proof),
      ...(withBlocks
        ? { sequencedBlocks: sequencedBlocksUpTo(ctx, at.block.header.number, proof.height) }
        : {}),
    };
  },
};
