import { createPublicClient, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/execution/genesis.js';
import { type DevnetProcess, rpcCall, startDevnet } from '../helpers/devnet.js';

const chain = {
  id: 42069,
  name: 'seqnet',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: [''] } },
} as const;

interface Sent {
  hash: Hex;
  acked: boolean;
  receipt?: { blockNumber: string; blockHash: string; transactionIndex: string };
}

async function rpc<T>(url: string, method: string, params: unknown[]): Promise<T | undefined> {
  try {
    const { json } = await rpcCall(url, { jsonrpc: '2.0', id: 1, method, params });
    return (json as { result?: T }).result;
  } catch {
    return undefined; // the node is gone
  }
}

/**
 * RELIABILITY.md scenario 5 on a real process: SIGKILL under load, restart from the same data dir.
 * Every tx that had a receipt is still there at the same position; every acknowledged tx is either
 * included or still pending; the chain continues.
 */
describe('crash and restart under load', () => {
  let devnet: DevnetProcess | undefined;
  afterAll(async () => {
    await devnet?.stop();
  });

  /**
   * Load, SIGKILL once 80 txs are confirmed, restart from the same data dir, check nothing was lost.
   * Returns the restarted node's output.
   */
  async function crashUnderLoad(opts: { env?: Record<string, string>; restartArgs?: string[] }) {
    devnet = await startDevnet({ blockTime: 0, env: opts.env });
    const dataDir = devnet.dataDir;
    const url = devnet.url;
    const senders = devAccounts(8).map((a) => privateKeyToAccount(a.privateKey));
    const perSender = 40;
    const to = devAccounts(10)[9].address;
    // Pre-sign so the load is as fast as the node takes it.
    const signed: Hex[][] = await Promise.all(
      senders.map((acct) =>
        Promise.all(
          Array.from({ length: perSender }, (_, nonce) =>
            acct.signTransaction({
              chainId: 42069,
              type: 'eip1559',
              nonce,
              to,
              value: 1n,
              gas: 21000n,
              maxFeePerGas: 10n ** 10n,
              maxPriorityFeePerGas: 1n,
            }),
          ),
        ),
      ),
    );
    const sent: Sent[] = [];
    let killed = false;
    const worker = async (txs: Hex[]) => {
      for (const raw of txs) {
        if (killed) return;
        const entry: Sent = { hash: '0x' as Hex, acked: false };
        const hash = await rpc<Hex>(url, 'eth_sendRawTransaction', [raw]);
        if (!hash) return;
        entry.hash = hash;
        entry.acked = true;
        sent.push(entry);
        // Watch for its soft confirmation without blocking the next send.
        void (async () => {
          for (let i = 0; i < 400 && !killed; i++) {
            const r = await rpc<Sent['receipt']>(url, 'eth_getTransactionReceipt', [hash]);
            if (r && !killed) {
              entry.receipt = {
                blockNumber: r.blockNumber,
                blockHash: r.blockHash,
                transactionIndex: r.transactionIndex,
              };
              return;
            }
            await new Promise((res) => setTimeout(res, 5));
          }
        })();
      }
    };
    const load = Promise.all(signed.map(worker));
    // Kill once a good part of the load is confirmed and some of it is still in flight (acknowledged,
    // no receipt yet): on a busy machine the senders can fall behind the node for a moment.
    const inFlight = () => sent.length - sent.filter((s) => s.receipt).length;
    for (let i = 0; i < 4000 && (sent.filter((s) => s.receipt).length < 80 || inFlight() < 5); i++)
      await new Promise((r) => setTimeout(r, 5));
    // Freeze what counts as confirmed before the kill: receipts that arrive while the signal is on its
    // way would otherwise confirm the txs in flight (the test once saw none left).
    killed = true;
    await devnet.kill('SIGKILL');
    await load;
    const confirmed = sent.filter((s) => s.receipt);
    expect(confirmed.length).toBeGreaterThanOrEqual(80);
    expect(sent.length).toBeGreaterThan(confirmed.length);

    devnet = await startDevnet({ blockTime: 0, dataDir, args: opts.restartArgs });
    const client = createPublicClient({ chain, transport: http(devnet.url) });
    for (const s of confirmed) {
      const r = await rpc<NonNullable<Sent['receipt']>>(devnet.url, 'eth_getTransactionReceipt', [s.hash]);
      expect(r, `confirmed tx ${s.hash} lost`).toBeTruthy();
      expect(r!.blockNumber).toBe(s.receipt!.blockNumber);
      expect(r!.blockHash).toBe(s.receipt!.blockHash);
      expect(r!.transactionIndex).toBe(s.receipt!.transactionIndex);
    }
    // Acknowledged txs survive in the restored pool and get sequenced after the restart.
    for (const s of sent) {
      const receipt = await client.waitForTransactionReceipt({
        hash: s.hash,
        pollingInterval: 10,
        timeout: 20_000,
      });
      expect(receipt.status).toBe('success');
    }
    // The chain continues: a fresh sender's tx is sequenced after the restart.
    const fresh = privateKeyToAccount(devAccounts(9)[8].privateKey);
    const raw = await fresh.signTransaction({
      chainId: 42069,
      type: 'eip1559',
      nonce: 0,
      to,
      value: 1n,
      gas: 21000n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 1n,
    });
    const freshHash = await rpc<Hex>(devnet.url, 'eth_sendRawTransaction', [raw]);
    expect(freshHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect((await client.waitForTransactionReceipt({ hash: freshHash!, pollingInterval: 10 })).status).toBe(
      'success',
    );
    const head = await client.getBlockNumber({ cacheTime: 0 });
    expect(head).toBeGreaterThan(BigInt(confirmed[confirmed.length - 1].receipt!.blockNumber));
    return devnet.output();
  }

  it('loses no tx that was confirmed or acknowledged', async () => {
    await crashUnderLoad({});
  });

  it('replays announced blocks that lmdb had not written when the node was killed', async () => {
    await devnet?.stop();
    // Every lmdb block write lands 300 ms late, so the kill always finds announced blocks that are
    // only in the block WAL; the restart must execute them again, at the same hashes and positions.
    const output = await crashUnderLoad({
      env: { SEQNET_FAULT_LMDB_WRITE_DELAY_MS: '300' },
      restartArgs: ['--log-level', 'info'],
    });
    const line = output.split('\n').find((l) => l.includes('replayed sealed blocks from the block WAL'));
    expect(line, 'the restart replayed no block from the WAL').toBeTruthy();
    expect(JSON.parse(line!).blocks).toBeGreaterThan(0);
  });
});
