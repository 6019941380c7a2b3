import {
  Contract,
  ContractFactory,
  type EventLog,
  JsonRpcProvider,
  type Log,
  parseEther,
  Wallet,
  WebSocketProvider,
} from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/execution/genesis.js';
import { compileContract } from '../../src/l1/solc.js';
import { type DevnetProcess, startDevnet } from '../helpers/devnet.js';

const token = compileContract('test/TestToken.sol', 'TestToken');

describe('ethers v6 against a devnet process', () => {
  let devnet: DevnetProcess;
  let provider: JsonRpcProvider;
  const [, , , dave, erin, frank] = devAccounts(6);

  beforeAll(async () => {
    devnet = await startDevnet({ blockTime: 50 });
    // ethers caches identical calls for 250 ms by default, which hides a block sealed in between.
    provider = new JsonRpcProvider(devnet.url, 42069, {
      staticNetwork: true,
      polling: true,
      cacheTimeout: -1,
    });
    provider.pollingInterval = 20;
  });
  afterAll(async () => {
    provider.destroy();
    expect(await devnet.stop()).toBe(0);
  });

  it('sends ETH and waits for the receipt', async () => {
    const wallet = new Wallet(dave.privateKey, provider);
    const network = await provider.getNetwork();
    expect(network.chainId).toBe(42069n);
    const before = await provider.getBalance(frank.address);
    const tx = await wallet.sendTransaction({ to: frank.address, value: parseEther('2') });
    const receipt = await tx.wait();
    expect(receipt?.status).toBe(1);
    expect(await provider.getBalance(frank.address)).toBe(before + parseEther('2'));
    const fetched = await provider.getTransaction(tx.hash);
    expect(fetched?.blockNumber).toBe(receipt?.blockNumber);
    const fee = await provider.getFeeData();
    expect(fee.maxFeePerGas).not.toBeNull();
    expect(fee.gasPrice).not.toBeNull();
  });

  it('deploys an ERC-20, transfers, queries and subscribes to events, calls and estimates', async () => {
    const wallet = new Wallet(dave.privateKey, provider);
    const factory = new ContractFactory(token.abi as never, token.bytecode, wallet);
    const deployed = await factory.deploy('Ethers Token', 'ETK', parseEther('500'));
    await deployed.waitForDeployment();
    const address = await deployed.getAddress();
    const erc20 = new Contract(address, token.abi as never, wallet);
    expect(await erc20.getFunction('symbol')()).toBe('ETK');

    const ws = new WebSocketProvider(devnet.wsUrl, 42069, { staticNetwork: true });
    const wsToken = new Contract(address, token.abi as never, ws);
    const received = new Promise<EventLog>((resolve) => {
      void wsToken.on('Transfer', (_from, _to, _value, event: { log: EventLog }) => resolve(event.log));
    });
    await new Promise((r) => setTimeout(r, 200));

    const gas = await erc20.getFunction('transfer').estimateGas(erin.address, 777n);
    expect(gas).toBeGreaterThan(21000n);
    const tx = await erc20.getFunction('transfer')(erin.address, 777n);
    const receipt = await tx.wait();
    expect(receipt.status).toBe(1);
    expect(await erc20.getFunction('balanceOf')(erin.address)).toBe(777n);

    const event = await received;
    expect(event.transactionHash).toBe(tx.hash);
    await ws.destroy();

    const logs = (await erc20.queryFilter(erc20.filters.Transfer(null, erin.address), 0, 'latest')) as Array<
      EventLog | Log
    >;
    expect(logs).toHaveLength(1);
    expect((logs[0] as EventLog).args?.[2]).toBe(777n);

    await expect(erc20.getFunction('fail').staticCall()).rejects.toThrow(/TestToken: always fails/);
  });

  it('contract events and pending txs over HTTP through polling filters (eth_newFilter)', async () => {
    const wallet = new Wallet(erin.privateKey, provider);
    const factory = new ContractFactory(token.abi as never, token.bytecode, wallet);
    const deployed = await factory.deploy('Filter Token', 'FTK', parseEther('5'));
    await deployed.waitForDeployment();
    const address = await deployed.getAddress();
    // Without `polling`, ethers' JsonRpcProvider follows events with eth_newFilter /
    // eth_getFilterChanges and `pending` with eth_newPendingTransactionFilter.
    const filtering = new JsonRpcProvider(devnet.url, 42069, { staticNetwork: true, cacheTimeout: -1 });
    filtering.pollingInterval = 20;
    const watched = new Contract(address, token.abi as never, filtering);
    const received = new Promise<EventLog>((resolve) => {
      void watched.on('Transfer', (_from, _to, _value, event: { log: EventLog }) => resolve(event.log));
    });
    const pending: string[] = [];
    await filtering.on('pending', (hash: string) => pending.push(hash));
    await new Promise((r) => setTimeout(r, 300));

    const erc20 = new Contract(address, token.abi as never, wallet);
    const tx = await erc20.getFunction('transfer')(frank.address, 55n);
    await tx.wait();
    const event = await received;
    expect(event.transactionHash).toBe(tx.hash);
    expect(event.args?.[2]).toBe(55n);
    for (let i = 0; i < 100 && !pending.includes(tx.hash); i++) await new Promise((r) => setTimeout(r, 20));
    expect(pending).toContain(tx.hash);
    filtering.destroy();

    const metrics = await (await fetch(`${devnet.url}/metrics`)).text();
    for (const method of ['eth_newFilter', 'eth_newPendingTransactionFilter', 'eth_getFilterChanges'])
      expect(metrics).toMatch(new RegExp(`seqnet_rpc_requests_total\\{method="${method}"\\} [1-9]`));
  });

  it('replaces a pending tx with a higher fee', async () => {
    const wallet = new Wallet(erin.privateKey, provider);
    const nonce = await provider.getTransactionCount(erin.address, 'pending');
    // The gapped tx sits in the queue until its predecessor arrives, so it can be replaced.
    const fees = { maxFeePerGas: 3_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, gasLimit: 21000n };
    const original = await wallet.sendTransaction({
      to: frank.address,
      value: 1n,
      nonce: nonce + 1,
      ...fees,
    });
    await expect(
      wallet.sendTransaction({ to: frank.address, value: 2n, nonce: nonce + 1, ...fees }),
    ).rejects.toThrow(/replacement transaction underpriced|already known/);
    const replacement = await wallet.sendTransaction({
      to: frank.address,
      value: 3n,
      nonce: nonce + 1,
      maxFeePerGas: 3_300_000_000n,
      maxPriorityFeePerGas: 1_100_000_000n,
      gasLimit: 21000n,
    });
    const filler = await wallet.sendTransaction({ to: frank.address, value: 1n, nonce, ...fees });
    await filler.wait();
    const receipt = await provider.waitForTransaction(replacement.hash, 1, 10_000);
    expect(receipt?.status).toBe(1);
    expect(await provider.getTransactionReceipt(original.hash)).toBeNull();
  });
});
