import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Abi,
  createPublicClient,
  createTestClient,
  createWalletClient,
  decodeFunctionData,
  type Hex,
  http,
  parseEther,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyFromL1 } from '../../src/derive/verifier.js';
import { devAccounts, devChainOptions } from '../../src/execution/genesis.js';
import { L2_TO_L1_MESSAGE_PASSER } from '../../src/execution/options.js';
import { l1Artifacts } from '../../src/l1/deploy.js';
import { compileContract } from '../../src/l1/solc.js';
import { statusOf } from '../helpers/committee.js';
import { type DevnetProcess, freeConsecutivePorts, rpcCall, startDevnet } from '../helpers/devnet.js';
import { chainOf, until } from '../helpers/wait.js';

const passerAbi = compileContract('l2/L2ToL1MessagePasser.sol', 'L2ToL1MessagePasser').abi as Abi;

interface WithdrawalProof {
  outputIndex: Hex;
  stateRoot: Hex;
  withdrawalsRoot: Hex;
  blockHash: Hex;
  withdrawal: { nonce: Hex; from: Hex; to: Hex; value: Hex };
  leafIndex: Hex;
  proof: Hex[];
}

/** `npm run devnet -- --nodes 4`: four node processes, one committee, RPC on consecutive ports. */
describe('devnet --nodes 4', () => {
  let devnet: DevnetProcess;
  let info: {
    nodes: Array<{ rpc: string; pid: number }>;
    committee: { size: number };
    l1: { rpc: string; contracts: Record<string, Hex> };
  };

  beforeAll(async () => {
    const base = await freeConsecutivePorts(9);
    devnet = await startDevnet({
      l1: true,
      l1Port: base + 8,
      // One free range for RPC and libp2p: two probes of free ranges can return the same one.
      rpcPort: base,
      args: ['--nodes', '4', '--p2p-port', String(base + 4)],
      readyTimeoutMs: 170_000,
    });
    // Node 0 answers first; devnet.json is written once all four do.
    info = await until(
      'devnet.json',
      async () => {
        try {
          return JSON.parse(readFileSync(join(devnet.dataDir, 'devnet.json'), 'utf8'));
        } catch {
          return undefined;
        }
      },
      170_000,
    );
  }, 180_000);
  afterAll(async () => {
    await devnet?.stop();
  });

  it('starts a committee of 4, sequences a tx sent to any node, shows the committee live, posts certified batches and outputs (a withdrawal), stops every node on Ctrl-C', async () => {
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

    // Node 0 posts the committee's blocks to L1, each batch with its certificate; L1 alone rebuilds them.
    expect(info.l1.contracts.CommitteeVerifier).toMatch(/^0x/);
    await until(
      'a certified batch on L1',
      async () => {
        const st = (
          await rpcCall(info.nodes[0].rpc, { jsonrpc: '2.0', id: 1, method: 'seqnet_status', params: [] })
        ).json as { result: { batcher: { postedTo: number } | null } };
        return (st.result.batcher?.postedTo ?? 0) >= Number(r.blockNumber) ? true : undefined;
      },
      90_000,
    );
    const l1 = createPublicClient({ transport: http(info.l1.rpc) });
    const logs = await l1.getContractEvents({
      address: info.l1.contracts.Inbox,
      abi: l1Artifacts().Inbox.abi as Abi,
      eventName: 'BatchPosted',
      fromBlock: 0n,
    });
    const tx = await l1.getTransaction({ hash: logs[0].transactionHash });
    expect(decodeFunctionData({ abi: l1Artifacts().Inbox.abi as Abi, data: tx.input }).functionName).toBe(
      'postCertifiedBatch',
    );
    const report = await verifyFromL1({
      l1Url: info.l1.rpc,
      deployment: JSON.parse(readFileSync(join(devnet.dataDir, 'l1-deployment.json'), 'utf8')),
      chain: devChainOptions({ chainId: 42069n }),
      // Node 0 posted the batches, so it holds every block they carry (others may be a block behind).
      rpcUrl: info.nodes[0].rpc,
    });
    expect(report.mismatches).toEqual([]);
    expect(report.blocks).toBeGreaterThanOrEqual(Number(r.blockNumber));

    // A withdrawal: the output that covers it reaches L1 only with a quorum of the committee's
    // signatures (no single key may post one), a member that does not post proves it, the Bridge pays.
    const user = privateKeyToAccount(devAccounts(4)[3].privateKey);
    const l1Chain = chainOf(31337, info.l1.rpc);
    const l1User = createWalletClient({ chain: l1Chain, transport: http(info.l1.rpc), account: user });
    await l1.waitForTransactionReceipt({
      hash: await l1User.writeContract({
        address: info.l1.contracts.Bridge,
        abi: l1Artifacts().Bridge.abi as Abi,
        functionName: 'depositETH',
        args: [user.address],
        value: parseEther('2'),
      }),
    });
    const l2User = createWalletClient({ chain: chainOf(42069, url), transport: http(url), account: user });
    const recipient = privateKeyToAccount(generatePrivateKey()).address;
    const withdrawal = await l2User.writeContract({
      address: L2_TO_L1_MESSAGE_PASSER,
      abi: passerAbi,
      functionName: 'initiateWithdrawal',
      args: [recipient],
      value: parseEther('1'),
    });
    const l2 = createPublicClient({ chain: chainOf(42069, url), transport: http(url) });
    expect((await l2.waitForTransactionReceipt({ hash: withdrawal, pollingInterval: 25 })).status).toBe(
      'success',
    );
    const proof = await until(
      'a certified output covering the withdrawal',
      async () => {
        const res = await rpcCall(info.nodes[2].rpc, {
          jsonrpc: '2.0',
          id: 1,
          method: 'seqnet_getWithdrawalProof',
          params: ['0x0'],
        });
        return ((res.json as { result: WithdrawalProof | null }).result ?? undefined) as
          | WithdrawalProof
          | undefined;
      },
      90_000,
    );
    const oracleAbi = l1Artifacts().StateOracle.abi as Abi;
    const proposed = await l1.getContractEvents({
      address: info.l1.contracts.StateOracle,
      abi: oracleAbi,
      eventName: 'OutputProposed',
      fromBlock: 0n,
    });
    expect(proposed.length).toBeGreaterThan(0);
    for (const e of proposed) {
      const input = (await l1.getTransaction({ hash: e.transactionHash })).input;
      expect(decodeFunctionData({ abi: oracleAbi, data: input }).functionName).toBe('proposeCertified');
    }
    expect((await statusOf(info.nodes[0].rpc)).consensus.outputs?.certified).toBeGreaterThan(0);
    // Node 0 signs its own; a quorum of 3 needs at least two of the others' signatures.
    let signedByOthers = 0;
    for (const n of info.nodes.slice(1))
      signedByOthers += (await statusOf(n.rpc)).consensus.outputs?.signed ?? 0;
    expect(signedByOthers).toBeGreaterThanOrEqual(2);
    const args = [
      BigInt(proof.outputIndex),
      proof.stateRoot,
      proof.withdrawalsRoot,
      proof.blockHash,
      {
        nonce: BigInt(proof.withdrawal.nonce),
        from: proof.withdrawal.from,
        to: proof.withdrawal.to,
        value: BigInt(proof.withdrawal.value),
      },
      BigInt(proof.leafIndex),
      proof.proof,
    ];
    const bridge = { address: info.l1.contracts.Bridge, abi: l1Artifacts().Bridge.abi as Abi };
    await expect(
      l1.simulateContract({ ...bridge, functionName: 'finaliseWithdrawal', args, account: user }),
    ).rejects.toThrow(/OutputNotFinal/);
    // Last, as it moves L1 time past the finalisation delay (60 s on the devnet).
    const test = createTestClient({ chain: l1Chain, transport: http(info.l1.rpc), mode: 'anvil' });
    await test.increaseTime({ seconds: 61 });
    await test.mine({ blocks: 1 });
    const fin = await l1User.writeContract({ ...bridge, functionName: 'finaliseWithdrawal', args });
    expect((await l1.waitForTransactionReceipt({ hash: fin })).status).toBe('success');
    expect(await l1.getBalance({ address: recipient })).toBe(parseEther('1'));
    expect(await devnet.stop()).toBe(0);
    for (const n of info.nodes) {
      expect(n.pid).toBeGreaterThan(0);
      expect(() => process.kill(n.pid, 0)).toThrow(/ESRCH/); // the node process is gone
    }
  }, 240_000);
});
