import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Abi, createPublicClient, createWalletClient, type Hex, http, keccak256, parseGwei } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import type { ForceTxResult } from '../../src/cli/force-tx.js';
import { devAccounts } from '../../src/execution/genesis.js';
import { l1Artifacts } from '../../src/l1/deploy.js';
import { runSeqnet } from '../helpers/cli.js';
import { type DevnetProcess, rpcCall, startDevnet } from '../helpers/devnet.js';
import { chainOf, until } from '../helpers/wait.js';

const queueAbi = l1Artifacts().L1MessageQueue.abi as Abi;
/** The inclusion window the README promises, in L1 blocks. */
const WINDOW = 25;

interface Report {
  ok: boolean;
  mismatches: string[];
  faults: string[];
  forced: Array<{ hash: Hex; l2Block: number; l1Delay: number }>;
}

async function verify(
  devnet: DevnetProcess,
  l1Rpc: string,
): Promise<{ code: number | null; report: Report }> {
  // Everything sealed so far must be on L1 first.
  const head = Number.parseInt(
    (
      (await rpcCall(devnet.url, { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] })).json as {
        result: string;
      }
    ).result,
    16,
  );
  await until('batches up to the head', async () => {
    const s = await rpcCall(devnet.url, { jsonrpc: '2.0', id: 1, method: 'seqnet_status', params: [] });
    const postedTo = (s.json as { result: { batcher: { postedTo: number } } }).result.batcher.postedTo;
    return postedTo >= head ? true : undefined;
  });
  const v = await runSeqnet([
    'verify',
    '--l1-rpc',
    l1Rpc,
    '--deployment',
    join(devnet.dataDir, 'l1-deployment.json'),
    '--rpc',
    devnet.url,
  ]);
  return { code: v.code, report: JSON.parse(v.out) as Report };
}

describe('escape hatch: forced inclusion through L1', () => {
  let devnet: DevnetProcess | undefined;
  afterEach(async () => {
    await devnet?.stop();
    devnet = undefined;
  });

  async function forceThroughL1(l1Rpc: string, queue: Hex, signed: Hex) {
    const l1 = createWalletClient({
      chain: chainOf(31337, l1Rpc),
      transport: http(l1Rpc),
      account: privateKeyToAccount(devAccounts(8)[7].privateKey),
    });
    await l1.writeContract({
      address: queue,
      abi: queueAbi,
      functionName: 'forceTransaction',
      args: [signed],
    });
  }

  it('a sender the sequencer censors gets its tx in with `seqnet force-tx`, within the window; bad input costs nothing', async () => {
    const victim = privateKeyToAccount(devAccounts(5)[4].privateKey);
    devnet = await startDevnet({ l1: true, blockTime: 0, args: ['--misbehave.censor', victim.address] });
    const info = JSON.parse(readFileSync(join(devnet.dataDir, 'devnet.json'), 'utf8')) as {
      l1: { rpc: string; contracts: Record<string, Hex> };
    };
    const l2 = createPublicClient({ chain: chainOf(42069, devnet.url), transport: http(devnet.url) });
    const to = privateKeyToAccount(generatePrivateKey()).address;
    const signed = await victim.signTransaction({
      chainId: 42069,
      type: 'eip1559',
      nonce: 0,
      to,
      value: 99n,
      gas: 21000n,
      maxFeePerGas: parseGwei('1'),
      maxPriorityFeePerGas: 0n,
    });
    // The RPC takes it, the sequencer never includes it.
    await rpcCall(devnet.url, { jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [signed] });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await l2.getTransactionReceipt({ hash: keccak256(signed) }).catch(() => null)).toBeNull();

    // The user's way in: `seqnet force-tx`, which checks the tx against the L2, says when it is due,
    // sends it to L1 and waits for it on L2.
    const forced = await runSeqnet([
      'force-tx',
      '--l1-rpc',
      info.l1.rpc,
      '--l1-deployment',
      join(devnet.dataDir, 'l1-deployment.json'),
      '--private-key',
      devAccounts(8)[7].privateKey,
      '--rpc',
      devnet.url,
      '--tx',
      signed,
    ]);
    expect(forced.err).toMatch(/at most 25 L1 blocks/);
    expect(forced.code).toBe(0);
    const result = JSON.parse(forced.out) as ForceTxResult;
    expect(result.hash).toBe(keccak256(signed));
    expect(result.sender).toBe(victim.address);
    expect(result.l2?.status).toBe('success');
    expect(result.l2!.l1BlocksAfterInclusion).toBeLessThanOrEqual(WINDOW);
    const receipt = await l2.getTransactionReceipt({ hash: keccak256(signed) });
    expect(Number(receipt.blockNumber)).toBe(result.l2?.block);
    expect(receipt.status).toBe('success');
    expect(await l2.getBalance({ address: to })).toBe(99n);

    // Bad input is refused before anything is paid on L1, each with what is wrong.
    const l1 = createPublicClient({ chain: chainOf(31337, info.l1.rpc), transport: http(info.l1.rpc) });
    const messages = () =>
      l1.readContract({
        address: info.l1.contracts.L1MessageQueue,
        abi: queueAbi,
        functionName: 'messageCount',
      });
    expect(await messages()).toBe(1n);
    const base = [
      'force-tx',
      '--l1-rpc',
      info.l1.rpc,
      '--l1-deployment',
      join(devnet.dataDir, 'l1-deployment.json'),
      '--rpc',
      devnet.url,
    ];
    const payer = ['--private-key', devAccounts(8)[7].privateKey];
    const sign = (account: typeof victim, nonce: number, chainId = 42069) =>
      account.signTransaction({
        chainId,
        type: 'eip1559',
        nonce,
        to,
        value: 1n,
        gas: 21000n,
        maxFeePerGas: parseGwei('1'),
        maxPriorityFeePerGas: 0n,
      });
    const broke = privateKeyToAccount(generatePrivateKey());
    const refusals: Array<[string[], RegExp]> = [
      [[...base, '--tx', signed], /pass the L1 key/],
      [[...base, ...payer], /either --tx 0x… \(signed\) or --to/],
      [[...base, ...payer, '--tx', signed, '--to', to], /either --tx/],
      [[...base, ...payer, '--tx', '0x1234'], /not a signed Ethereum tx/],
      [[...base, ...payer, '--tx', signed], /already in L2 block/],
      [[...base, ...payer, '--tx', await sign(victim, 1, 1)], /signed for chain id 1, the rollup is 42069/],
      [[...base, ...payer, '--tx', await sign(victim, 0)], /nonce too low/],
      [[...base, ...payer, '--tx', await sign(broke, 0)], /insufficient funds for gas \* price \+ value/],
      [[...base, ...payer, '--to', 'nope'], /--to must be an address/],
      [
        [...base.slice(0, 3), '--l1-deployment', '/nonexistent.json', ...payer, '--to', to],
        /cannot read the deployment/,
      ],
    ];
    // Independent and none reaches L1: run side by side (each is a process start).
    const refused = await Promise.all(refusals.map(([args]) => runSeqnet(args)));
    refusals.forEach(([args, why], i) => {
      expect(refused[i].code, args.join(' ')).toBe(1);
      expect(refused[i].err).toMatch(why);
    });
    expect(await messages()).toBe(1n);

    // Built and signed here from --to / --value (nonce, gas and fee from the L2 node), without waiting.
    const built = await runSeqnet([
      ...base,
      ...payer,
      '--to',
      to,
      '--value',
      '0.5',
      '--l2-private-key',
      devAccounts(5)[4].privateKey,
      '--no-wait',
    ]);
    expect(built.code, built.err).toBe(0);
    const sent = JSON.parse(built.out) as ForceTxResult;
    expect(sent.nonce).toBe(1);
    expect(sent.l2).toBeUndefined();
    expect(sent.messageIndex).toBe(1);
    await until(
      'the built forced tx',
      async () => (await l2.getTransactionReceipt({ hash: sent.hash }).catch(() => undefined)) ?? undefined,
    );
    expect(await l2.getBalance({ address: to })).toBe(99n + 10n ** 18n / 2n);

    const { code, report } = await verify(devnet, info.l1.rpc);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    const landed = report.forced.find((f) => f.hash === keccak256(signed));
    expect(landed?.l2Block).toBe(Number(receipt.blockNumber));
    expect(landed!.l1Delay).toBeLessThanOrEqual(WINDOW);
  }, 180_000);

  it('a builder that leaves forced txs out still cannot keep them out of the canonical chain', async () => {
    devnet = await startDevnet({ l1: true, blockTime: 0, args: ['--misbehave.omit-forced-txs'] });
    const info = JSON.parse(readFileSync(join(devnet.dataDir, 'devnet.json'), 'utf8')) as {
      l1: { rpc: string; contracts: Record<string, Hex> };
    };
    const l2 = createPublicClient({ chain: chainOf(42069, devnet.url), transport: http(devnet.url) });
    const sender = privateKeyToAccount(devAccounts(6)[5].privateKey);
    const signed = await sender.signTransaction({
      chainId: 42069,
      type: 'eip1559',
      nonce: 0,
      to: sender.address,
      value: 1n,
      gas: 21000n,
      maxFeePerGas: parseGwei('1'),
      maxPriorityFeePerGas: 0n,
    });
    await forceThroughL1(info.l1.rpc, info.l1.contracts.L1MessageQueue, signed);
    // The builder seals the block that was due to carry it (the L1 message wakes it), without the tx.
    await until('a block with the message consumed', async () => {
      const s = await rpcCall(devnet!.url, { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] });
      return (s.json as { result: string }).result !== '0x0' ? true : undefined;
    });
    expect(await l2.getTransactionReceipt({ hash: keccak256(signed) }).catch(() => null)).toBeNull();

    const { code, report } = await verify(devnet, info.l1.rpc);
    // Derivation puts the tx where the rule says; the builder's own soft confirmations are now wrong.
    expect(report.forced.map((f) => f.hash)).toContain(keccak256(signed));
    expect(report.forced[0].l1Delay).toBeLessThanOrEqual(WINDOW);
    expect(report.mismatches.length).toBeGreaterThan(0);
    expect(code).toBe(2);
  });
});
