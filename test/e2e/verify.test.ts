import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Abi,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  keccak256,
  parseEther,
  parseGwei,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/execution/genesis.js';
import { l1Artifacts } from '../../src/l1/deploy.js';
import { compileContract } from '../../src/l1/solc.js';
import { runSeqnet as run } from '../helpers/cli.js';
import { type DevnetProcess, rpcCall, startDevnet } from '../helpers/devnet.js';
import { chainOf, until } from '../helpers/wait.js';

const token = compileContract('test/TestToken.sol', 'TestToken');
const l1Abi = l1Artifacts();

/** The rollup is rebuilt from L1 alone, and matches what the sequencer served. */
describe('verifier', () => {
  let devnet: DevnetProcess;
  let info: { l1: { rpc: string; contracts: Record<string, Hex> } };

  beforeAll(async () => {
    devnet = await startDevnet({ l1: true, blockTime: 0 });
    info = JSON.parse(readFileSync(join(devnet.dataDir, 'devnet.json'), 'utf8'));
  });
  afterAll(async () => {
    await devnet?.stop();
  });

  it('re-executes every block of a mixed workload from L1 batches and agrees with the sequencer', async () => {
    const l2Chain = chainOf(42069, devnet.url);
    const pub = createPublicClient({ chain: l2Chain, transport: http(devnet.url) });
    const senders = devAccounts(6)
      .slice(2)
      .map((a) => privateKeyToAccount(a.privateKey));
    const wallets = senders.map((account) =>
      createWalletClient({ chain: l2Chain, transport: http(devnet.url), account }),
    );
    // ETH transfers from four senders, an ERC-20 deploy and transfers.
    const sent: Hex[] = [];
    for (let round = 0; round < 25; round++) {
      for (const [i, w] of wallets.entries()) {
        sent.push(
          await w.sendTransaction({
            to: senders[(i + 1) % senders.length].address,
            value: parseEther('0.001'),
            nonce: round,
          }),
        );
      }
    }
    const deploy = await wallets[0].deployContract({
      abi: token.abi,
      bytecode: token.bytecode,
      args: ['T', 'T', parseEther('1000')],
      nonce: 25,
    });
    const tokenAddress = (await pub.waitForTransactionReceipt({ hash: deploy, pollingInterval: 20 }))
      .contractAddress!;
    for (let i = 0; i < 20; i++) {
      sent.push(
        await wallets[0].writeContract({
          address: tokenAddress,
          abi: token.abi,
          functionName: 'transfer',
          args: [senders[1].address, BigInt(i + 1)],
          nonce: 26 + i,
        }),
      );
    }
    // A deposit and a forced tx through L1.
    const l1Chain = chainOf(31337, info.l1.rpc);
    const l1 = createWalletClient({
      chain: l1Chain,
      transport: http(info.l1.rpc),
      account: privateKeyToAccount(devAccounts(7)[6].privateKey),
    });
    const depositee = privateKeyToAccount(generatePrivateKey()).address;
    await l1.writeContract({
      address: info.l1.contracts.Bridge,
      abi: l1Abi.Bridge.abi as Abi,
      functionName: 'depositETH',
      args: [depositee],
      value: parseEther('3'),
    });
    const forced = await senders[3].signTransaction({
      chainId: 42069,
      type: 'eip1559',
      nonce: 25,
      to: depositee,
      value: 7n,
      gas: 21000n,
      maxFeePerGas: parseGwei('1'),
      maxPriorityFeePerGas: 0n,
    });
    await l1.writeContract({
      address: info.l1.contracts.L1MessageQueue,
      abi: l1Abi.L1MessageQueue.abi as Abi,
      functionName: 'forceTransaction',
      args: [forced],
    });
    await until(
      'the forced tx on L2',
      async () =>
        (await pub.getTransactionReceipt({ hash: keccak256(forced) }).catch(() => undefined)) ?? undefined,
    );
    for (const h of sent) expect((await pub.getTransactionReceipt({ hash: h })).status).toBe('success');
    expect(await pub.getBalance({ address: depositee })).toBe(parseEther('3') + 7n);

    // Wait until the batcher has posted everything up to the head.
    // cacheTime 0: viem otherwise serves a block number up to 4 s old.
    const head = await pub.getBlockNumber({ cacheTime: 0 });
    await until('batches up to the head', async () => {
      const s = await rpcCall(devnet.url, { jsonrpc: '2.0', id: 1, method: 'seqnet_status', params: [] });
      const postedTo = (s.json as { result: { batcher: { postedTo: number } } }).result.batcher.postedTo;
      return postedTo >= Number(head) ? postedTo : undefined;
    });

    const v = await run([
      'verify',
      '--l1-rpc',
      info.l1.rpc,
      '--deployment',
      join(devnet.dataDir, 'l1-deployment.json'),
      '--rpc',
      devnet.url,
    ]);
    expect(v.code, v.err).toBe(0);
    const report = JSON.parse(v.out) as {
      ok: boolean;
      blocks: number;
      txs: number;
      l1Messages: number;
      mismatches: string[];
    };
    expect(report.ok).toBe(true);
    expect(report.mismatches).toEqual([]);
    expect(report.blocks).toBeGreaterThanOrEqual(Number(head));
    let served = 0;
    const inChain = new Set<string>();
    for (let n = 1n; n <= BigInt(report.blocks); n++) {
      const b = await pub.getBlock({ blockNumber: n });
      served += b.transactions.length;
      for (const h of b.transactions) inChain.add(h);
    }
    const expected = [...sent, deploy, keccak256(forced)];
    const missing = expected.filter((h) => !inChain.has(h));
    expect(
      missing,
      JSON.stringify({
        missing,
        at: missing.map((m) => expected.indexOf(m)),
        served,
        blocks: report.blocks,
        head: Number(head),
      }),
    ).toEqual([]);
    expect(report.txs, JSON.stringify({ report, head: Number(head), sent: sent.length })).toBe(served);
    expect(report.txs).toBeGreaterThanOrEqual(sent.length + 2);
    expect(report.l1Messages).toBeGreaterThanOrEqual(2);
    expect(v.err).toMatch(/every one matches/);
  });
});
