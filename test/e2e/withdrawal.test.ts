import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Abi,
  createPublicClient,
  createTestClient,
  createWalletClient,
  type Hex,
  http,
  parseEther,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/execution/genesis.js';
import { L2_TO_L1_MESSAGE_PASSER } from '../../src/execution/options.js';
import { l1Artifacts } from '../../src/l1/deploy.js';
import { compileContract } from '../../src/l1/solc.js';
import { type DevnetProcess, rpcCall, startDevnet } from '../helpers/devnet.js';
import { chainOf, until } from '../helpers/wait.js';

const passerAbi = compileContract('l2/L2ToL1MessagePasser.sol', 'L2ToL1MessagePasser').abi as Abi;
const bridgeAbi = l1Artifacts().Bridge.abi as Abi;

interface Proof {
  outputIndex: Hex;
  stateRoot: Hex;
  withdrawalsRoot: Hex;
  blockHash: Hex;
  withdrawal: { nonce: Hex; from: Hex; to: Hex; value: Hex };
  leafIndex: Hex;
  proof: Hex[];
}

describe('withdrawal L2 → L1', () => {
  let devnet: DevnetProcess;
  let info: { l1: { rpc: string; contracts: Record<string, Hex> } };
  beforeAll(async () => {
    devnet = await startDevnet({ l1: true, blockTime: 0 });
    info = JSON.parse(readFileSync(join(devnet.dataDir, 'devnet.json'), 'utf8'));
  });
  afterAll(async () => {
    await devnet?.stop();
  });

  it('withdraws on L2 and finalises on L1 after the delay, with a proof against a certified output', async () => {
    const user = privateKeyToAccount(devAccounts(4)[3].privateKey);
    const l1Chain = chainOf(31337, info.l1.rpc);
    const l1 = createWalletClient({ chain: l1Chain, transport: http(info.l1.rpc), account: user });
    const l1Pub = createPublicClient({ chain: l1Chain, transport: http(info.l1.rpc) });
    // Deposits are what the Bridge pays withdrawals from.
    await l1.writeContract({
      address: info.l1.contracts.Bridge,
      abi: bridgeAbi,
      functionName: 'depositETH',
      args: [user.address],
      value: parseEther('2'),
    });

    const l2Chain = chainOf(42069, devnet.url);
    const l2 = createWalletClient({ chain: l2Chain, transport: http(devnet.url), account: user });
    const l2Pub = createPublicClient({ chain: l2Chain, transport: http(devnet.url) });
    const recipient = privateKeyToAccount(generatePrivateKey()).address;
    const hash = await l2.writeContract({
      address: L2_TO_L1_MESSAGE_PASSER,
      abi: passerAbi,
      functionName: 'initiateWithdrawal',
      args: [recipient],
      value: parseEther('1'),
    });
    expect((await l2Pub.waitForTransactionReceipt({ hash, pollingInterval: 20 })).status).toBe('success');

    // Once the block is on L1 and an output covers it, the node serves the proof.
    const proof = await until('a certified output covering the withdrawal', async () => {
      const r = await rpcCall(devnet.url, {
        jsonrpc: '2.0',
        id: 1,
        method: 'seqnet_getWithdrawalProof',
        params: ['0x0'],
      });
      return ((r.json as { result: Proof | null }).result ?? undefined) as Proof | undefined;
    });
    const w = {
      nonce: BigInt(proof.withdrawal.nonce),
      from: proof.withdrawal.from,
      to: proof.withdrawal.to,
      value: BigInt(proof.withdrawal.value),
    };
    expect(w.to.toLowerCase()).toBe(recipient.toLowerCase());
    const args = [
      BigInt(proof.outputIndex),
      proof.stateRoot,
      proof.withdrawalsRoot,
      proof.blockHash,
      w,
      BigInt(proof.leafIndex),
      proof.proof,
    ];
    // Too early: the finalisation delay (60 s on the devnet) has not passed.
    await expect(
      l1Pub.simulateContract({
        address: info.l1.contracts.Bridge,
        abi: bridgeAbi,
        functionName: 'finaliseWithdrawal',
        args,
        account: user,
      }),
    ).rejects.toThrow(/OutputNotFinal/);
    const test = createTestClient({ chain: l1Chain, transport: http(info.l1.rpc), mode: 'anvil' });
    await test.increaseTime({ seconds: 61 });
    await test.mine({ blocks: 1 });
    const fin = await l1.writeContract({
      address: info.l1.contracts.Bridge,
      abi: bridgeAbi,
      functionName: 'finaliseWithdrawal',
      args,
    });
    expect((await l1Pub.waitForTransactionReceipt({ hash: fin })).status).toBe('success');
    expect(await l1Pub.getBalance({ address: recipient })).toBe(parseEther('1'));
  });
});
