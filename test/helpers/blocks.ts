import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { hashSequencedBlock, type SequencedBlock } from '../../src/types/sequenced-block.js';
import { fromHex, ZERO_HASH } from '../../src/util/bytes.js';

/**
 * Sequenced blocks at heights 1, 2, … each holding one list of `txsPerBlock` and linked to the one
 * before (a chain the batch codec accepts), on chain 42069 with a fixed L1 origin: for codec tests and
 * benchmarks that need batches, not a running chain.
 */
export function linkedBlocks(txsPerBlock: Uint8Array[][]): SequencedBlock[] {
  const blocks: SequencedBlock[] = [];
  for (const [i, txs] of txsPerBlock.entries()) {
    const h = i + 1;
    blocks.push({
      version: 1,
      chainId: 42069n,
      height: BigInt(h),
      parentHash: i === 0 ? ZERO_HASH : hashSequencedBlock(blocks[i - 1]),
      timestamp: 1_700_000_000n + BigInt(h),
      l1Origin: { number: 5n, hash: ZERO_HASH },
      l1MessageCursor: 0n,
      txs,
      lagStateRoot: ZERO_HASH,
    });
  }
  return blocks;
}

/**
 * `count` signed EIP-1559 ETH transfers on chain 42069 from `senders` fresh keys in turn (each with its
 * own nonces), all different: batch contents that compress as real traffic does.
 */
export async function signedTransfers(count: number, senders = 16): Promise<Uint8Array[]> {
  const accounts = Array.from({ length: senders }, () => privateKeyToAccount(generatePrivateKey()));
  const txs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const signed = await accounts[i % senders].signTransaction({
      chainId: 42069,
      type: 'eip1559',
      nonce: Math.floor(i / senders),
      to: accounts[(i + 7) % senders].address,
      value: 10n ** 15n + BigInt(i),
      gas: 21_000n,
      maxFeePerGas: 10n ** 9n,
      maxPriorityFeePerGas: 1n,
    });
    txs.push(fromHex(signed));
  }
  return txs;
}
