import pino from 'pino';
import { type Abi, createPublicClient, createWalletClient, http, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/execution/genesis.js';
import { Anvil } from '../../src/l1/anvil.js';
import { deployL1Contracts, type L1Deployment, l1Artifacts } from '../../src/l1/deploy.js';
import { type L1Reorg, L1Watcher } from '../../src/l1/watcher.js';
import { freePort, rpcCall } from '../helpers/devnet.js';
import { startL1Proxy } from '../helpers/l1-proxy.js';

/** The L1 watcher follows L1 reorgs (anvil_reorg): messages a reorg removed are forgotten and reported. */
describe('L1 watcher', () => {
  let anvil: Anvil;
  let deployment: L1Deployment;
  const [deployer, sequencer, alice] = devAccounts(3);

  beforeAll(async () => {
    anvil = await Anvil.start({ host: '127.0.0.1', port: await freePort(), chainId: 31337, blockTime: 0 });
    deployment = await deployL1Contracts({
      rpcUrl: anvil.url,
      deployerKey: deployer.privateKey,
      sequencer: sequencer.address,
      finalisationDelaySeconds: 60,
    });
  }, 60_000);
  afterAll(async () => {
    await anvil?.stop();
  });

  const mine = (n: number) =>
    rpcCall(anvil.url, { jsonrpc: '2.0', id: 1, method: 'anvil_mine', params: [`0x${n.toString(16)}`] });

  const deposit = (value: string) =>
    createWalletClient({
      transport: http(anvil.url),
      account: privateKeyToAccount(alice.privateKey),
    }).writeContract({
      chain: null,
      address: deployment.contracts.Bridge,
      abi: l1Artifacts().Bridge.abi as Abi,
      functionName: 'depositETH',
      args: [alice.address],
      value: parseEther(value),
    });

  /** A watcher of the deployment's queue from its first block (polled by hand: pollMs is not used). */
  const watcherWith = (
    options: { confirmations: number; onReorg?: (r: L1Reorg) => void },
    logger = pino({ level: 'silent' }),
  ) =>
    new L1Watcher(
      {
        rpcUrl: anvil.url,
        queue: deployment.contracts.L1MessageQueue,
        fromBlock: BigInt(deployment.deployedAtBlock),
        pollMs: 1_000,
        ...options,
      },
      logger,
    );

  it('drops the messages of reorged L1 blocks, reports them, and reads the new chain', async () => {
    const reorgs: L1Reorg[] = [];
    const watcher = watcherWith({ confirmations: 1, onReorg: (r) => reorgs.push(r) });
    await deposit('1');
    await mine(2);
    await watcher.poll();
    const before = watcher.messagesFor(0n, watcher.safeHead()!.number);
    expect(before.map((m) => m.value)).toEqual([parseEther('1')]);
    const depositBlock = before[0].l1Block;

    // Replace the deposit's block and everything after it with empty blocks, and grow the chain.
    const head = await createPublicClient({ transport: http(anvil.url) }).getBlockNumber({ cacheTime: 0 });
    const depth = Number(head - depositBlock) + 1;
    await rpcCall(anvil.url, { jsonrpc: '2.0', id: 1, method: 'anvil_reorg', params: [depth, []] });
    await rpcCall(anvil.url, { jsonrpc: '2.0', id: 1, method: 'anvil_dropAllTransactions', params: [] });
    await mine(2);
    await watcher.poll();
    expect(reorgs).toHaveLength(1);
    expect(reorgs[0].commonAncestor).toBeLessThan(depositBlock);
    expect(reorgs[0].droppedMessages.map((m) => m.index)).toEqual([0n]);
    await watcher.poll();
    expect(watcher.messagesFor(0n, watcher.safeHead()!.number)).toEqual([]);

    // The queue's own state was reorged too: the next deposit is message 0 again, on the new chain.
    await deposit('2');
    await mine(2);
    await watcher.poll();
    const after = watcher.messagesFor(0n, watcher.safeHead()!.number);
    expect(after.map((m) => [m.index, m.value])).toEqual([[0n, parseEther('2')]]);
    expect(after[0].l1Block).toBeGreaterThan(reorgs[0].commonAncestor);
  }, 60_000);

  it('scans asked for at once are one scan: each message read once, no failure reported', async () => {
    // A committee member asks for a scan whenever a proposal names an L1 block it has not read, beside
    // the background loop's: two scans at once read one range twice, and the second found its first
    // message "out of order" and reported the L1 as failing.
    const warnings: string[] = [];
    const watcher = watcherWith(
      { confirmations: 1 },
      pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) }),
    );
    await deposit('3');
    await mine(2);
    await Promise.all([watcher.poll(), watcher.poll(), watcher.poll()]);
    const read = watcher.messagesFor(0n, watcher.safeHead()!.number);
    expect(read.length).toBeGreaterThan(0);
    expect(read.map((m) => m.index)).toEqual(read.map((_, i) => BigInt(i)));
    expect(read[read.length - 1].value).toBe(parseEther('3'));
    expect(warnings).toEqual([]);
  }, 60_000);

  it('an idle poll is one round trip to the L1; one that finds a new block, two', async () => {
    // A proxy in front of anvil that records each HTTP request's JSON-RPC methods.
    const requests: string[][] = [];
    const proxy = await startL1Proxy(anvil.url, (methods) => requests.push(methods));
    try {
      const watcher = new L1Watcher(
        {
          rpcUrl: proxy.url,
          queue: deployment.contracts.L1MessageQueue,
          fromBlock: BigInt(deployment.deployedAtBlock),
          confirmations: 1,
          pollMs: 1_000,
        },
        pino({ level: 'silent' }),
      );
      await mine(2);
      await watcher.poll();
      const first = watcher.safeHead()!;
      // No new L1 block: the last safe head's hash (a reorg?) and the head, in one batch.
      requests.length = 0;
      await watcher.poll();
      expect(requests).toEqual([['eth_blockNumber', 'eth_getBlockByNumber']]);
      expect(watcher.safeHead()).toEqual(first);
      // New blocks: that pair, then their logs and the new safe head's block, in one more.
      await deposit('4');
      await mine(1);
      requests.length = 0;
      await watcher.poll();
      expect(requests).toEqual([
        ['eth_blockNumber', 'eth_getBlockByNumber'],
        ['eth_getBlockByNumber', 'eth_getLogs'],
      ]);
      expect(watcher.safeHead()!.number).toBe(first.number + 2n);
      const read = watcher.messagesFor(0n, watcher.safeHead()!.number);
      expect(read[read.length - 1].value).toBe(parseEther('4'));
    } finally {
      await new Promise((resolve) => proxy.server.close(resolve));
    }
  }, 60_000);

  it('after the L1 clock jumps ahead, names the newest block read that is not from the future', async () => {
    const watcher = watcherWith({ confirmations: 0 });
    await mine(1);
    await watcher.poll();
    const beforeJump = watcher.safeHead()!;
    // The tests' withdrawal delay: anvil's next block is stamped 61 s after the last one.
    await rpcCall(anvil.url, { jsonrpc: '2.0', id: 1, method: 'evm_increaseTime', params: [61] });
    await mine(1);
    await watcher.poll();
    const jumped = watcher.safeHead()!;
    expect(jumped.number).toBe(beforeJump.number + 1n);
    expect(jumped.timestamp).toBeGreaterThanOrEqual(beforeJump.timestamp + 61n);
    // Without a bound, or with one the jumped block meets: the safe head itself.
    expect(watcher.safeHead(jumped.timestamp)).toEqual(jumped);
    // With one below it: the last block before the jump, which is what a leader may take as origin.
    expect(watcher.safeHead(jumped.timestamp - 1n)).toEqual(beforeJump);
    // None read is early enough: no origin.
    expect(watcher.safeHead(0n)).toBeUndefined();
  }, 60_000);
});
