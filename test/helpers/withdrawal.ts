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
import { expect } from 'vitest';
import { L2_TO_L1_MESSAGE_PASSER } from '../../src/execution/options.js';
import { l1Artifacts } from '../../src/l1/deploy.js';
import { compileContract } from '../../src/l1/solc.js';
import { rpcCall } from './devnet.js';
import { chainOf, until } from './wait.js';

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

/**
 * One withdrawal of 1 ETH end to end: fund the Bridge with a deposit, `initiateWithdrawal` on L2 at
 * `l2Url`, wait for an output on L1 that covers it and for `proofUrl` to serve its proof, check that
 * the Bridge refuses it before the delay, move L1 time past the delay (60 s on the devnets: so call
 * it last) and finalise it. Returns how the outputs reached the StateOracle (`propose` or
 * `proposeCertified`, one per output).
 */
export async function withdrawToL1(opts: {
  l2Url: string;
  l2ChainId: number;
  proofUrl: string;
  l1Rpc: string;
  contracts: Record<string, Hex>;
  userKey: Hex;
  timeoutMs?: number;
}): Promise<{ outputsVia: string[] }> {
  const user = privateKeyToAccount(opts.userKey);
  const l1Chain = chainOf(31337, opts.l1Rpc);
  const l1 = createPublicClient({ chain: l1Chain, transport: http(opts.l1Rpc) });
  const l1User = createWalletClient({ chain: l1Chain, transport: http(opts.l1Rpc), account: user });
  const bridge = { address: opts.contracts.Bridge, abi: l1Artifacts().Bridge.abi as Abi };
  // Deposits are what the Bridge pays withdrawals from.
  await l1.waitForTransactionReceipt({
    hash: await l1User.writeContract({
      ...bridge,
      functionName: 'depositETH',
      args: [user.address],
      value: parseEther('2'),
    }),
  });
  const l2Chain = chainOf(opts.l2ChainId, opts.l2Url);
  const l2User = createWalletClient({ chain: l2Chain, transport: http(opts.l2Url), account: user });
  const recipient = privateKeyToAccount(generatePrivateKey()).address;
  const hash = await l2User.writeContract({
    address: L2_TO_L1_MESSAGE_PASSER,
    abi: passerAbi,
    functionName: 'initiateWithdrawal',
    args: [recipient],
    value: parseEther('1'),
  });
  const l2 = createPublicClient({ chain: l2Chain, transport: http(opts.l2Url) });
  const receipt = await l2.waitForTransactionReceipt({ hash, pollingInterval: 25, timeout: opts.timeoutMs });
  expect(receipt.status).toBe('success');
  // WithdrawalInitiated(uint256 indexed nonce, …): the nonce is the first indexed topic.
  const log = receipt.logs.find((l) => l.address.toLowerCase() === L2_TO_L1_MESSAGE_PASSER.toLowerCase());
  const nonce = BigInt(log!.topics[1]!);
  const proof = await until(
    'an output on L1 covering the withdrawal',
    async () => {
      const res = await rpcCall(opts.proofUrl, {
        jsonrpc: '2.0',
        id: 1,
        method: 'seqnet_getWithdrawalProof',
        params: [`0x${nonce.toString(16)}`],
      });
      return ((res.json as { result: WithdrawalProof | null }).result ?? undefined) as
        | WithdrawalProof
        | undefined;
    },
    opts.timeoutMs ?? 90_000,
  );
  expect(proof.withdrawal.to.toLowerCase()).toBe(recipient.toLowerCase());
  const oracleAbi = l1Artifacts().StateOracle.abi as Abi;
  const proposed = await l1.getContractEvents({
    address: opts.contracts.StateOracle,
    abi: oracleAbi,
    eventName: 'OutputProposed',
    fromBlock: 0n,
  });
  const outputsVia: string[] = [];
  for (const e of proposed) {
    const input = (await l1.getTransaction({ hash: e.transactionHash })).input;
    outputsVia.push(decodeFunctionData({ abi: oracleAbi, data: input }).functionName);
  }
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
  await expect(
    l1.simulateContract({ ...bridge, functionName: 'finaliseWithdrawal', args, account: user }),
  ).rejects.toThrow(/OutputNotFinal/);
  const test = createTestClient({ chain: l1Chain, transport: http(opts.l1Rpc), mode: 'anvil' });
  await test.increaseTime({ seconds: 61 });
  await test.mine({ blocks: 1 });
  const fin = await l1User.writeContract({ ...bridge, functionName: 'finaliseWithdrawal', args });
  expect((await l1.waitForTransactionReceipt({ hash: fin })).status).toBe('success');
  expect(await l1.getBalance({ address: recipient })).toBe(parseEther('1'));
  return { outputsVia };
}
