import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Abi,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  parseEther,
  parseGwei,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/execution/genesis.js';
import { l1Artifacts } from '../../src/l1/deploy.js';
import { type DevnetProcess, startDevnet } from '../helpers/devnet.js';
import { chainOf, until } from '../helpers/wait.js';

const artifacts = l1Artifacts();

/** Deposits and forced txs go through the real L1 (anvil) and land on L2 (DECISIONS.md §3). */
describe('L1 messages on a devnet', () => {
  let devnet: DevnetProcess;
  let l1Url: string;
  let contracts: Record<string, Hex>;
  const [, , user] = devAccounts(3);

  beforeAll(async () => {
    devnet = await startDevnet({ l1: true, blockTime: 0 });
    const info = JSON.parse(readFileSync(join(devnet.dataDir, 'devnet.json'), 'utf8')) as {
      l1: { rpc: string; contracts: Record<string, Hex> };
    };
    l1Url = info.l1.rpc;
    contracts = info.l1.contracts;
  });
  afterAll(async () => {
    await devnet?.stop();
  });

  it('credits an ETH deposit on L2 with no L2 traffic at all', async () => {
    const recipient = privateKeyToAccount(generatePrivateKey()).address;
    const l1 = createWalletClient({
      chain: chainOf(31337, l1Url),
      transport: http(l1Url),
      account: privateKeyToAccount(user.privateKey),
    });
    const l2 = createPublicClient({ chain: chainOf(42069, devnet.url), transport: http(devnet.url) });
    await l1.writeContract({
      address: contracts.Bridge,
      abi: artifacts.Bridge.abi as Abi,
      functionName: 'depositETH',
      args: [recipient],
      value: parseEther('1.5'),
    });
    const balance = await until('the deposit on L2', async () => {
      const b = await l2.getBalance({ address: recipient });
      return b > 0n ? b : undefined;
    });
    expect(balance).toBe(parseEther('1.5'));
    // It is an EIP-4895 entry of an L2 block whose L1 origin includes the deposit.
    const head = await l2.getBlock({ blockTag: 'latest' });
    let found = false;
    for (let n = head.number; n > 0n && !found; n--) {
      const b = await l2.getBlock({ blockNumber: n });
      found = (b.withdrawals ?? []).some(
        (w) => w.address.toLowerCase() === recipient.toLowerCase() && BigInt(w.amount) === parseGwei('1.5'),
      );
    }
    expect(found).toBe(true);
  });

  it('includes a forced transaction submitted on L1 only (the escape hatch)', async () => {
    const sender = privateKeyToAccount(devAccounts(6)[5].privateKey);
    const to = privateKeyToAccount(generatePrivateKey()).address;
    const l2 = createPublicClient({ chain: chainOf(42069, devnet.url), transport: http(devnet.url) });
    const nonce = await l2.getTransactionCount({ address: sender.address });
    const signed = await sender.signTransaction({
      chainId: 42069,
      type: 'eip1559',
      nonce,
      to,
      value: 12345n,
      gas: 21000n,
      maxFeePerGas: parseGwei('1'),
      maxPriorityFeePerGas: 0n,
    });
    const l1 = createWalletClient({
      chain: chainOf(31337, l1Url),
      transport: http(l1Url),
      account: privateKeyToAccount(user.privateKey),
    });
    await l1.writeContract({
      address: contracts.L1MessageQueue,
      abi: artifacts.L1MessageQueue.abi as Abi,
      functionName: 'forceTransaction',
      args: [signed],
    });
    const { keccak256 } = await import('viem');
    const receipt = await until('the forced tx on L2', async () => {
      try {
        return await l2.getTransactionReceipt({ hash: keccak256(signed) });
      } catch {
        return undefined;
      }
    });
    expect(receipt.status).toBe('success');
    expect(await l2.getBalance({ address: to })).toBe(12345n);
  });
});
