import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, http, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/execution/genesis.js';
import { statusOf } from '../helpers/committee.js';
import { type DevnetProcess, freePort, startDevnet } from '../helpers/devnet.js';
import { chainOf } from '../helpers/wait.js';

/** `npm run devnet -- --nodes 4`: four node processes, one committee, RPC on consecutive ports. */
describe('devnet --nodes 4', () => {
  let devnet: DevnetProcess;
  let info: { nodes: Array<{ rpc: string; pid: number }>; committee: { size: number } };

  beforeAll(async () => {
    devnet = await startDevnet({ args: ['--nodes', '4', '--p2p-port', String(await freePort())] });
    info = JSON.parse(readFileSync(join(devnet.dataDir, 'devnet.json'), 'utf8'));
  }, 180_000);
  afterAll(async () => {
    await devnet?.stop();
  });

  it('starts a committee of 4, sequences a tx sent to any node, shows the committee live, stops every node on Ctrl-C', async () => {
    expect(info.nodes).toHaveLength(4);
    expect(info.committee.size).toBe(4);
    const url = info.nodes[3].rpc;
    const wallet = createWalletClient({
      chain: chainOf(42069, url),
      transport: http(url),
      account: privateKeyToAccount(devAccounts(1)[0].privateKey),
    });
    const hash = await wallet.sendTransaction({ to: devAccounts(2)[1].address, value: parseEther('1') });
    const r = await createPublicClient({
      chain: chainOf(42069, info.nodes[0].rpc),
      transport: http(info.nodes[0].rpc),
    }).waitForTransactionReceipt({ hash, pollingInterval: 25, timeout: 60_000 });
    expect(r.status).toBe('success');
    const s = await statusOf(info.nodes[1].rpc);
    expect(s.consensus.members).toHaveLength(4);
    const page = await (await fetch(`${info.nodes[2].rpc}/`)).text();
    expect(page).toContain('view / leader');
    expect(await devnet.stop()).toBe(0);
    for (const n of info.nodes) {
      expect(() => process.kill(n.pid, 0)).toThrow(); // the node process is gone
    }
  }, 120_000);
});
