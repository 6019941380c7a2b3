import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type DevnetProcess, rpcCall, startDevnet } from '../helpers/devnet.js';
import { until } from '../helpers/wait.js';

describe('seqnet devnet', () => {
  let devnet: DevnetProcess | undefined;
  afterAll(async () => {
    await devnet?.stop();
  });

  it('starts L1 and rollup, writes devnet.json, serves dashboard and metrics, stops cleanly and resumes', async () => {
    devnet = await startDevnet({ l1: true, blockTime: 0 });
    const info = JSON.parse(readFileSync(join(devnet.dataDir, 'devnet.json'), 'utf8')) as {
      chainId: number;
      rpc: string;
      l1: { rpc: string; contracts: Record<string, string> };
      accounts: Array<{ address: string; privateKey: string }>;
    };
    expect(info.chainId).toBe(42069);
    expect(info.rpc).toBe(devnet.url);
    expect(info.accounts).toHaveLength(10);
    expect(info.accounts[0].address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    // The banner follows devnet.json by a moment, and its bytes reach this process a moment later
    // still (read at once, a CI run of stop 46 had only the lines before it).
    const banner = await until(
      'the banner with the funded accounts',
      async () => (devnet?.output().includes('Funded accounts') ? devnet.output() : undefined),
      10_000,
    );
    expect(banner).toContain('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    // The embedded L1 is a real anvil.
    const l1 = await rpcCall(info.l1.rpc, {
      jsonrpc: '2.0',
      id: 1,
      method: 'web3_clientVersion',
      params: [],
    });
    expect(String((l1.json as { result: string }).result)).toMatch(/anvil/);
    // The rollup's L1 contracts are deployed there.
    expect(Object.keys(info.l1.contracts).sort()).toEqual([
      'Bridge',
      'Inbox',
      'L1MessageQueue',
      'SingleKeyAuthoriser',
      'StateOracle',
    ]);
    const code = await rpcCall(info.l1.rpc, {
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_getCode',
      params: [info.l1.contracts.Bridge, 'latest'],
    });
    expect(String((code.json as { result: string }).result).length).toBeGreaterThan(100);

    const page = await fetch(`${devnet.url}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('seqnet');
    const status = await rpcCall(devnet.url, { jsonrpc: '2.0', id: 1, method: 'seqnet_status', params: [] });
    expect((status.json as { result: { mempool: unknown; head: number } }).result.mempool).toEqual({
      pending: 0,
      queued: 0,
    });

    // Make a block so there is something to resume from.
    const { privateKeyToAccount } = await import('viem/accounts');
    const acct = privateKeyToAccount(info.accounts[1].privateKey as `0x${string}`);
    const raw = await acct.signTransaction({
      chainId: 42069,
      type: 'eip1559',
      nonce: 0,
      to: acct.address,
      value: 1n,
      gas: 21000n,
      maxFeePerGas: 10n ** 9n,
      maxPriorityFeePerGas: 1n,
    });
    await rpcCall(devnet.url, { jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [raw] });
    for (let i = 0; i < 200; i++) {
      const r = await rpcCall(devnet.url, { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] });
      if ((r.json as { result: string }).result !== '0x0') break;
      await new Promise((res) => setTimeout(res, 10));
    }
    const metrics = await (await fetch(`${devnet.url}/metrics`)).text();
    expect(metrics).toMatch(/seqnet_block_height 1/);
    expect(metrics).toMatch(/seqnet_soft_confirmation_seconds_count 1/);

    expect(await devnet.stop()).toBe(0);
    expect(existsSync(join(devnet.dataDir, 'l1-state.json'))).toBe(true);
    devnet = await startDevnet({ l1: true, blockTime: 0, dataDir: devnet.dataDir });
    const head = await rpcCall(devnet.url, { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] });
    expect((head.json as { result: string }).result).toBe('0x1');
    // Same L1 contracts after the restart: anvil's state was saved and reloaded.
    const again = JSON.parse(readFileSync(join(devnet.dataDir, 'devnet.json'), 'utf8')) as typeof info;
    expect(again.l1.contracts).toEqual(info.l1.contracts);
  });
});
