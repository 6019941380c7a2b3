import type { Command } from 'commander';
import {
  type Abi,
  createPublicClient,
  formatEther,
  type Hex,
  http,
  isAddress,
  isHex,
  keccak256,
  type PublicClient,
  parseEther,
  parseEventLogs,
  parseGwei,
  parseTransaction,
  recoverTransactionAddress,
  type TransactionSerialized,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { customErrorOf, l1Clients } from '../l1/clients.js';
import { type L1Deployment, l1Artifacts } from '../l1/deploy.js';
import { l1Defaults } from '../node/options.js';
import { isPrivateKey, readDeploymentFile } from './flags.js';

/** The inclusion bound the rollup promises for a forced tx, in L1 blocks (README, DECISIONS.md §3). */
export const FORCED_INCLUSION_WINDOW = 25;
/** L1MessageQueue.MAX_FORCED_TX_BYTES. */
const MAX_FORCED_TX_BYTES = 128 * 1024;

interface ForceFlags {
  l1Rpc: string;
  l1Deployment: string;
  privateKey?: string;
  tx?: string;
  to?: string;
  value: string;
  data: string;
  gas?: string;
  nonce?: string;
  maxFeeGwei?: string;
  l2PrivateKey?: string;
  rpc: string;
  chainId: string;
  wait: boolean;
}

/** What `seqnet force-tx` prints on stdout (JSON) once it is done. */
export interface ForceTxResult {
  hash: Hex;
  sender: Hex;
  nonce: number;
  l1Tx: Hex;
  l1Block: number;
  messageIndex: number;
  l1GasUsed: number;
  /** Absent with --no-wait. */
  l2?: { block: number; status: 'success' | 'reverted'; l1BlocksAfterInclusion: number; ms: number };
}

/** An L2 node's JSON-RPC, through viem as the L1's is; no retries (one that does not answer is skipped). */
const l2Client = (url: string): PublicClient =>
  createPublicClient({ transport: http(url, { retryCount: 0, timeout: 5_000 }) });

/** The receipt of `hash` on the L2 node, null while it has none. */
const receiptOn = (l2: PublicClient, hash: Hex) =>
  l2.request({ method: 'eth_getTransactionReceipt', params: [hash] });

/** viem's one-line summary of an RPC failure. */
const briefly = (err: unknown) =>
  (err as { shortMessage?: string }).shortMessage ?? (err as Error).message.split('\n')[0];

const note = (line: string) => process.stderr.write(`${line}\n`);

/**
 * `seqnet force-tx`: the escape hatch from the user's side. Puts a signed L2 tx into
 * `L1MessageQueue.forceTransaction` and, before paying for that, checks the tx as the L2 will run it
 * when due (a forced tx that fails then is skipped: DECISIONS.md §3), says when it is due, and waits
 * for it on L2.
 */
export function registerForceTx(program: Command): void {
  program
    .command('force-tx')
    .description(
      'the escape hatch: put a signed L2 tx into the rollup through L1 (L1MessageQueue.forceTransaction), whatever the sequencers do; says up front when it is due, then waits for it on L2',
    )
    .requiredOption('--l1-rpc <url>', 'L1 JSON-RPC endpoint')
    .requiredOption(
      '--l1-deployment <file>',
      'the L1 deployment JSON (from `seqnet deploy`, or <data-dir>/l1-deployment.json)',
    )
    .option('--private-key <hex>', 'the L1 key that pays the L1 gas (or env SEQNET_L1_KEY)')
    .option('--tx <hex>', 'the signed L2 tx to force (raw, 0x…)')
    .option('--to <address>', 'or build and sign the tx here: its recipient')
    .option('--value <eth>', 'with --to: ETH to send', '0')
    .option('--data <hex>', 'with --to: calldata', '0x')
    .option('--gas <n>', 'with --to: gas limit (default: eth_estimateGas on --rpc, or 21000 without data)')
    .option('--nonce <n>', "with --to: the sender's L2 nonce (default: from --rpc)")
    .option('--max-fee-gwei <gwei>', 'with --to: max fee per gas (default: 2 × eth_gasPrice on --rpc, or 1)')
    .option(
      '--l2-private-key <hex>',
      'with --to: the L2 sender key (or env SEQNET_L2_KEY; default: the L1 key)',
    )
    .option(
      '--rpc <url>',
      "an L2 node's JSON-RPC: the tx is checked against its chain first, and watched for there",
      'http://127.0.0.1:9545',
    )
    .option('--chain-id <id>', 'the rollup chain id', '42069')
    .option('--no-wait', 'return once L1 holds the tx, without waiting for it on L2')
    .action(async (flags: ForceFlags) => {
      const result = await forceTx(flags);
      console.log(JSON.stringify(result, null, 2));
      if (flags.wait && !result.l2) process.exitCode = 2;
    });
}

async function forceTx(flags: ForceFlags): Promise<ForceTxResult> {
  const l1Key = flags.privateKey ?? process.env.SEQNET_L1_KEY;
  if (!l1Key || !isPrivateKey(l1Key))
    throw new Error(
      'pass the L1 key that pays the L1 gas as --private-key 0x… (32 bytes hex) or in SEQNET_L1_KEY',
    );
  if ((flags.tx === undefined) === (flags.to === undefined))
    throw new Error('give the tx to force: either --tx 0x… (signed) or --to ADDRESS (built and signed here)');
  const chainId = Number(flags.chainId);
  if (!Number.isSafeInteger(chainId) || chainId <= 0)
    throw new Error(`--chain-id must be a positive integer, got "${flags.chainId}"`);
  const deployment: L1Deployment = readDeploymentFile(flags.l1Deployment);
  const queue = deployment.contracts.L1MessageQueue;
  if (!queue || !isAddress(queue)) throw new Error(`${flags.l1Deployment} lists no L1MessageQueue`);

  const l2 = await reachable(flags.rpc, chainId);
  const raw = flags.tx !== undefined ? checkRaw(flags.tx) : await buildTx(flags, l1Key as Hex, chainId, l2);
  const tx = parseTransaction(raw);
  if (tx.chainId === undefined)
    throw new Error('the tx has no chain id (a pre-EIP-155 legacy tx): sign it for the rollup chain');
  if (tx.chainId !== chainId)
    throw new Error(
      `the tx is signed for chain id ${tx.chainId}, the rollup is ${chainId}: sign it for the rollup (or pass its --chain-id)`,
    );
  if ((tx.gas ?? 0n) < 21_000n)
    throw new Error(`intrinsic gas too low: the tx has gas ${tx.gas ?? 0n}, every tx needs at least 21000`);
  const sender = await recoverTransactionAddress({ serializedTransaction: raw as TransactionSerialized });
  const hash = keccak256(raw);
  const nonce = Number(tx.nonce ?? 0);
  if (l2) await checkAgainstL2(l2, raw, hash, sender, nonce);

  const { account, pub, wallet } = await l1Clients(flags.l1Rpc, l1Key as Hex);
  const abi = l1Artifacts().L1MessageQueue.abi as Abi;
  const blockSeconds = await l1BlockSeconds(pub);
  note(
    `forcing ${hash} (from ${sender}, nonce ${nonce}) through the L1MessageQueue ${queue}, paid by ${account.address}`,
  );
  note(
    `when: in the first L2 block whose L1 origin is at or after the L1 block that includes it — a few L1 blocks later with a live sequencer (its origin lag, \`--l1-confirmations\`: ${l1Defaults.confirmations} for a node, 1 on the devnet), and at most ${FORCED_INCLUSION_WINDOW} L1 blocks (~${Math.round(FORCED_INCLUSION_WINDOW * blockSeconds)} s at this L1's ${blockSeconds.toFixed(1)} s blocks) as the rollup promises; a sequencer that leaves it out is contradicted by derivation (\`seqnet verify\`)`,
  );

  let l1Tx: Hex;
  try {
    const { request } = await pub.simulateContract({
      address: queue,
      abi,
      functionName: 'forceTransaction',
      args: [raw],
      account,
    });
    l1Tx = await wallet.writeContract(request as never);
  } catch (err) {
    const named = customErrorOf(err);
    if (!named)
      throw new Error(`the L1 did not take the forced tx: ${(err as Error).message.split('\n')[0]}`);
    throw new Error(`the L1MessageQueue refused the tx: ${named.name}(${named.args?.join(', ') ?? ''})`);
  }
  const receipt = await pub.waitForTransactionReceipt({ hash: l1Tx, pollingInterval: 250 });
  if (receipt.status !== 'success') throw new Error(`the forceTransaction tx ${l1Tx} reverted on L1`);
  const [message] = parseEventLogs({ abi, logs: receipt.logs, eventName: 'L1Message' }) as unknown as Array<{
    args: { index: bigint };
  }>;
  const l1Block = Number(receipt.blockNumber);
  const result: ForceTxResult = {
    hash,
    sender,
    nonce,
    l1Tx,
    l1Block,
    messageIndex: Number(message?.args.index ?? -1n),
    l1GasUsed: Number(receipt.gasUsed),
  };
  note(`on L1: block ${l1Block}, tx ${l1Tx}, message ${result.messageIndex}`);
  if (!flags.wait) return result;

  const watch = l2 ?? l2Client(flags.rpc);
  const started = performance.now();
  let lastNote = started;
  for (;;) {
    const r = await receiptOn(watch, hash).catch(() => null);
    const l1Head = Number(await pub.getBlockNumber({ cacheTime: 0 }));
    if (r) {
      result.l2 = {
        block: Number(r.blockNumber),
        status: r.status === '0x1' ? 'success' : 'reverted',
        l1BlocksAfterInclusion: l1Head - l1Block,
        ms: Math.round(performance.now() - started),
      };
      const after = result.l2.l1BlocksAfterInclusion;
      note(
        `on L2: block ${result.l2.block} (${result.l2.status}), ${after} L1 block${after === 1 ? '' : 's'} after inclusion`,
      );
      return result;
    }
    // A little slack past the window: the node answers once it has executed the block.
    if (l1Head > l1Block + FORCED_INCLUSION_WINDOW + 2) {
      note(
        `not in the chain of ${flags.rpc} ${l1Head - l1Block} L1 blocks after inclusion: that node is down, behind or censoring. The tx is part of the canonical chain all the same: \`seqnet verify --l1-rpc ${flags.l1Rpc} --deployment ${flags.l1Deployment}\` derives it from L1 (or follow that chain with --follow)`,
      );
      return result;
    }
    if (performance.now() - lastNote > 5_000) {
      lastNote = performance.now();
      note(
        `waiting for ${hash} on L2: L1 is ${l1Head - l1Block} blocks past inclusion (due by ${FORCED_INCLUSION_WINDOW})`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The L2 node when it answers with the rollup's chain id; undefined (and a note) when it does not answer. */
async function reachable(url: string, chainId: number): Promise<PublicClient | undefined> {
  const l2 = l2Client(url);
  let answered: number;
  try {
    answered = await l2.getChainId();
  } catch (err) {
    note(
      `the L2 node ${url} does not answer (${briefly(err)}): the tx goes to L1 unchecked against the L2 state (a forced tx that fails when due is skipped)`,
    );
    return undefined;
  }
  if (answered !== chainId)
    throw new Error(
      `${url} serves chain id ${answered}, not ${chainId}: pass the rollup's --rpc (or its --chain-id)`,
    );
  return l2;
}

function checkRaw(tx: string): Hex {
  if (!isHex(tx) || tx.length < 4 || tx.length % 2 !== 0)
    throw new Error('--tx must be a signed tx as 0x-prefixed hex');
  if ((tx.length - 2) / 2 > MAX_FORCED_TX_BYTES)
    throw new Error(
      `the tx is ${(tx.length - 2) / 2} bytes; the L1MessageQueue takes at most ${MAX_FORCED_TX_BYTES}`,
    );
  try {
    parseTransaction(tx);
  } catch (err) {
    throw new Error(`--tx is not a signed Ethereum tx: ${(err as Error).message.split('\n')[0]}`);
  }
  return tx;
}

/** Builds and signs an EIP-1559 tx from --to/--value/--data, filling nonce, gas and fee from the L2 node. */
async function buildTx(
  flags: ForceFlags,
  l1Key: Hex,
  chainId: number,
  l2: PublicClient | undefined,
): Promise<Hex> {
  const key = flags.l2PrivateKey ?? process.env.SEQNET_L2_KEY ?? l1Key;
  if (!isPrivateKey(key)) throw new Error('--l2-private-key (or SEQNET_L2_KEY) must be 32 bytes hex, 0x…');
  const to = flags.to ?? '';
  if (!isAddress(to)) throw new Error(`--to must be an address (0x + 40 hex digits), got "${to}"`);
  const data = flags.data;
  if (!isHex(data) || data.length % 2 !== 0) throw new Error('--data must be 0x-prefixed hex bytes');
  let value: bigint;
  try {
    value = parseEther(flags.value);
  } catch {
    value = -1n;
  }
  if (value < 0n) throw new Error(`--value must be a non-negative amount of ETH, got "${flags.value}"`);
  const account = privateKeyToAccount(key);
  const int = (v: string, name: string) => {
    if (!/^\d+$/.test(v)) throw new Error(`--${name} must be a non-negative integer, got "${v}"`);
    return BigInt(v);
  };
  const unanswered = (what: string) =>
    new Error(
      `${what}: the L2 node ${flags.rpc} does not answer, so pass it (or sign the tx yourself and use --tx)`,
    );
  let nonce: number;
  if (flags.nonce !== undefined) nonce = Number(int(flags.nonce, 'nonce'));
  else if (l2) nonce = await l2.getTransactionCount({ address: account.address, blockTag: 'latest' });
  else throw unanswered('--nonce');
  let gas: bigint;
  if (flags.gas !== undefined) gas = int(flags.gas, 'gas');
  else if (l2) gas = await l2.estimateGas({ account: account.address, to, value, data });
  else if (data === '0x') gas = 21_000n;
  else throw unanswered('--gas');
  const maxFeePerGas =
    flags.maxFeeGwei !== undefined
      ? parseGwei(flags.maxFeeGwei)
      : l2
        ? 2n * (await l2.getGasPrice())
        : parseGwei('1');
  return account.signTransaction({
    chainId,
    type: 'eip1559',
    nonce,
    to,
    value,
    data,
    gas,
    maxFeePerGas,
    maxPriorityFeePerGas: 0n,
  });
}

/**
 * The checks a forced tx must pass when it is due, against the L2 node's latest state: one that fails
 * then is skipped (DECISIONS.md §3), and the L1 gas paid for it is lost. geth's words for each.
 */
async function checkAgainstL2(
  l2: PublicClient,
  raw: Hex,
  hash: Hex,
  sender: Hex,
  nonce: number,
): Promise<void> {
  const landed = await receiptOn(l2, hash);
  if (landed)
    throw new Error(`${hash} is already in L2 block ${Number(landed.blockNumber)}: nothing to force`);
  const tx = parseTransaction(raw);
  const expected = await l2.getTransactionCount({ address: sender, blockTag: 'latest' });
  if (nonce < expected)
    throw new Error(
      `nonce too low: ${sender} is at nonce ${expected} on L2, the tx has ${nonce}; it would be skipped when due`,
    );
  if (nonce > expected)
    note(
      `the tx has nonce ${nonce} and ${sender} is at ${expected} on L2: it runs only if nonces ${expected}…${nonce - 1} land first (else it is skipped when due)`,
    );
  const price = tx.maxFeePerGas ?? tx.gasPrice ?? 0n;
  const cost = (tx.gas ?? 0n) * price + (tx.value ?? 0n);
  const balance = await l2.getBalance({ address: sender, blockTag: 'latest' });
  if (balance < cost)
    throw new Error(
      `insufficient funds for gas * price + value: ${sender} holds ${formatEther(balance)} ETH on L2, the tx may cost ${formatEther(cost)} ETH`,
    );
}

/**
 * The L1's block time: the median gap over its last 10 blocks (12 s when it has fewer). The median, as
 * a dev L1 whose clock was moved on (evm_increaseTime) has one long gap.
 */
async function l1BlockSeconds(pub: Awaited<ReturnType<typeof l1Clients>>['pub']): Promise<number> {
  const head = await pub.getBlockNumber({ cacheTime: 0 });
  if (head < 10n) return 12;
  const blocks = await Promise.all(
    Array.from({ length: 11 }, (_, i) => pub.getBlock({ blockNumber: head - BigInt(i) })),
  );
  const gaps = blocks.slice(1).map((b, i) => Number(blocks[i].timestamp - b.timestamp));
  gaps.sort((a, b) => a - b);
  return Math.max(gaps[Math.floor(gaps.length / 2)], 0.1);
}
