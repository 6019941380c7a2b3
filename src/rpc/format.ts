import type { Block } from '@ethereumjs/block';
import { RLP } from '@ethereumjs/rlp';
import type { TypedTransaction } from '@ethereumjs/tx';
import type { StoredReceipt } from '../store/chain-store.js';
import { bytesToBigInt, type Hex, quantity as q, toHex } from '../util/bytes.js';

export interface RpcLog {
  address: Hex;
  topics: Hex[];
  data: Hex;
  blockNumber: Hex;
  blockHash: Hex;
  blockTimestamp: Hex;
  transactionHash: Hex;
  transactionIndex: Hex;
  logIndex: Hex;
  /** true only in a `logs` subscription after an L2 rewind took its block off the chain. */
  removed: boolean;
}

export interface DecodedReceipt {
  status: 0 | 1;
  cumulativeGasUsed: bigint;
  logsBloom: Uint8Array;
  logs: Array<{ address: Uint8Array; topics: Uint8Array[]; data: Uint8Array }>;
}

/** Decodes an EIP-2718 receipt (typed: type byte ‖ RLP; legacy: RLP). */
export function decodeReceipt(encoded: Uint8Array): DecodedReceipt {
  const body = encoded[0] <= 0x7f ? encoded.subarray(1) : encoded;
  const [status, cumulative, bloom, logs] = RLP.decode(body) as unknown as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Array<[Uint8Array, Uint8Array[], Uint8Array]>,
  ];
  return {
    status: status.length === 0 ? 0 : 1,
    cumulativeGasUsed: bytesToBigInt(cumulative),
    logsBloom: bloom,
    logs: logs.map(([address, topics, data]) => ({ address, topics, data })),
  };
}

const txHash = (tx: TypedTransaction): Hex => toHex(tx.hash());

/** Price actually paid per gas in a block with this base fee. */
export function effectiveGasPrice(tx: TypedTransaction, baseFee: bigint): bigint {
  if ('maxFeePerGas' in tx) {
    const tip =
      tx.maxFeePerGas - baseFee < tx.maxPriorityFeePerGas
        ? tx.maxFeePerGas - baseFee
        : tx.maxPriorityFeePerGas;
    return baseFee + tip;
  }
  return (tx as { gasPrice: bigint }).gasPrice;
}

export function formatTx(
  tx: TypedTransaction,
  from: Hex,
  location?: { block: Block; index: number },
): Record<string, unknown> {
  const json = tx.toJSON() as Record<string, unknown>;
  const out: Record<string, unknown> = {
    blockHash: location ? toHex(location.block.hash()) : null,
    blockNumber: location ? q(location.block.header.number) : null,
    from,
    gas: q(tx.gasLimit),
    hash: txHash(tx),
    input: toHex(tx.data),
    nonce: q(tx.nonce),
    to: tx.to ? tx.to.toString() : null,
    transactionIndex: location ? q(location.index) : null,
    value: q(tx.value),
    type: q(tx.type),
    chainId: q(tx.common.chainId()),
    v: q(tx.v ?? 0n),
    r: q(tx.r ?? 0n),
    s: q(tx.s ?? 0n),
  };
  if ('maxFeePerGas' in tx) {
    out.maxFeePerGas = q(tx.maxFeePerGas);
    out.maxPriorityFeePerGas = q(tx.maxPriorityFeePerGas);
    const baseFee = location?.block.header.baseFeePerGas;
    out.gasPrice = q(baseFee !== undefined ? effectiveGasPrice(tx, baseFee) : tx.maxFeePerGas);
  } else {
    out.gasPrice = q((tx as { gasPrice: bigint }).gasPrice);
  }
  if (tx.type !== 0) {
    out.yParity = q(tx.v ?? 0n);
    out.accessList = json.accessList ?? [];
  }
  if (json.authorizationList !== undefined) out.authorizationList = json.authorizationList;
  return out;
}

export function formatBlock(block: Block, full: boolean, senders: Hex[]): Record<string, unknown> {
  const h = block.header;
  return {
    number: q(h.number),
    hash: toHex(block.hash()),
    parentHash: toHex(h.parentHash),
    nonce: toHex(h.nonce),
    sha3Uncles: toHex(h.uncleHash),
    logsBloom: toHex(h.logsBloom),
    transactionsRoot: toHex(h.transactionsTrie),
    stateRoot: toHex(h.stateRoot),
    receiptsRoot: toHex(h.receiptTrie),
    miner: h.coinbase.toString(),
    difficulty: q(h.difficulty),
    totalDifficulty: '0x0',
    extraData: toHex(h.extraData),
    size: q(block.serialize().length),
    gasLimit: q(h.gasLimit),
    gasUsed: q(h.gasUsed),
    timestamp: q(h.timestamp),
    mixHash: toHex(h.mixHash),
    baseFeePerGas: q(h.baseFeePerGas ?? 0n),
    withdrawalsRoot: h.withdrawalsRoot ? toHex(h.withdrawalsRoot) : undefined,
    withdrawals: (block.withdrawals ?? []).map((w) => {
      const j = w.toJSON();
      return { index: j.index, validatorIndex: j.validatorIndex, address: j.address, amount: j.amount };
    }),
    blobGasUsed: q(h.blobGasUsed ?? 0n),
    excessBlobGas: q(h.excessBlobGas ?? 0n),
    parentBeaconBlockRoot: h.parentBeaconBlockRoot ? toHex(h.parentBeaconBlockRoot) : undefined,
    requestsHash: h.requestsHash ? toHex(h.requestsHash) : undefined,
    uncles: [],
    transactions: full
      ? block.transactions.map((tx, index) => formatTx(tx, senders[index], { block, index }))
      : block.transactions.map(txHash),
  };
}

/** Logs of one block, with block-wide log indices. */
export function blockLogs(block: Block, receipts: StoredReceipt[]): RpcLog[] {
  const out: RpcLog[] = [];
  const blockHash = toHex(block.hash());
  let logIndex = 0;
  receipts.forEach((r, txIndex) => {
    const tx = block.transactions[txIndex];
    for (const log of decodeReceipt(r.encoded).logs) {
      out.push({
        address: toHex(log.address),
        topics: log.topics.map(toHex),
        data: toHex(log.data),
        blockNumber: q(block.header.number),
        blockHash,
        blockTimestamp: q(block.header.timestamp),
        transactionHash: txHash(tx),
        transactionIndex: q(txIndex),
        logIndex: q(logIndex++),
        removed: false,
      });
    }
  });
  return out;
}

export function formatReceipt(
  block: Block,
  receipts: StoredReceipt[],
  index: number,
): Record<string, unknown> {
  const r = receipts[index];
  const tx = block.transactions[index];
  const decoded = decodeReceipt(r.encoded);
  const logs = blockLogs(block, receipts).filter((l) => l.transactionIndex === q(index));
  return {
    transactionHash: txHash(tx),
    transactionIndex: q(index),
    blockHash: toHex(block.hash()),
    blockNumber: q(block.header.number),
    from: r.from,
    to: tx.to ? tx.to.toString() : null,
    cumulativeGasUsed: q(decoded.cumulativeGasUsed),
    gasUsed: q(r.gasUsed),
    contractAddress: r.contractAddress,
    logs,
    logsBloom: toHex(decoded.logsBloom),
    status: q(decoded.status),
    effectiveGasPrice: q(effectiveGasPrice(tx, block.header.baseFeePerGas ?? 0n)),
    type: q(tx.type),
    blobGasUsed: undefined,
  };
}

export function formatHeader(block: Block): Record<string, unknown> {
  const {
    transactions: _t,
    uncles: _u,
    withdrawals: _w,
    size: _s,
    totalDifficulty: _d,
    ...header
  } = formatBlock(block, false, []);
  return header;
}
