import {
  type Abi,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  getContractAddress,
  type Hex,
  http,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { type ContractArtifact, compileContract, compileContracts } from './solc.js';

export const L1_CONTRACTS = [
  'SingleKeyAuthoriser',
  'L1MessageQueue',
  'Inbox',
  'StateOracle',
  'Bridge',
] as const;
export type L1ContractName = (typeof L1_CONTRACTS)[number];

export function l1Artifacts(): Record<L1ContractName, ContractArtifact> {
  return compileContracts('l1/All.sol', [...L1_CONTRACTS]) as Record<L1ContractName, ContractArtifact>;
}

/**
 * The committee's BLS verifier (contracts/l1/CommitteeVerifier.sol), compiled on its own and deployed
 * separately: deployL1Contracts does not deploy it, and the Inbox does not use it yet.
 */
export function committeeVerifierArtifact(): ContractArtifact {
  return compileContract('l1/CommitteeVerifier.sol', 'CommitteeVerifier');
}

export interface L1Deployment {
  l1ChainId: number;
  deployer: Hex;
  sequencer: Hex;
  finalisationDelaySeconds: number;
  deployedAtBlock: number;
  contracts: Record<L1ContractName, Hex>;
}

export interface DeployOptions {
  rpcUrl: string;
  deployerKey: Hex;
  /** L1 address allowed to post batches and outputs (the single sequencer's key). */
  sequencer: Hex;
  finalisationDelaySeconds: number;
  onProgress?: (line: string) => void;
}

/**
 * Deploys the rollup's L1 contracts in one go: all creation txs are sent with consecutive nonces
 * (their addresses are known in advance), so they land in one or two L1 blocks.
 */
export async function deployL1Contracts(opts: DeployOptions): Promise<L1Deployment> {
  const log = opts.onProgress ?? (() => {});
  const artifacts = l1Artifacts();
  const account = privateKeyToAccount(opts.deployerKey);
  const transport = http(opts.rpcUrl);
  const pub = createPublicClient({ transport });
  const l1ChainId = await pub.getChainId();
  const chain = {
    id: l1ChainId,
    name: 'l1',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [opts.rpcUrl] } },
  } as const;
  const wallet = createWalletClient({ account, chain, transport });
  const nonce = await pub.getTransactionCount({ address: account.address, blockTag: 'pending' });
  const at = (i: number) => getContractAddress({ from: account.address, nonce: BigInt(nonce + i) });
  const addresses: Record<L1ContractName, Hex> = {
    SingleKeyAuthoriser: at(0),
    L1MessageQueue: at(1),
    Inbox: at(2),
    StateOracle: at(3),
    Bridge: at(4),
  };
  const constructorArgs: Record<L1ContractName, readonly unknown[]> = {
    SingleKeyAuthoriser: [opts.sequencer],
    L1MessageQueue: [],
    Inbox: [addresses.SingleKeyAuthoriser],
    StateOracle: [addresses.SingleKeyAuthoriser, BigInt(opts.finalisationDelaySeconds)],
    Bridge: [addresses.L1MessageQueue, addresses.StateOracle],
  };
  const hashes: Hex[] = [];
  for (const [i, name] of L1_CONTRACTS.entries()) {
    log(`deploying ${name} at ${addresses[name]}…`);
    hashes.push(
      await wallet.deployContract({
        abi: artifacts[name].abi as Abi,
        bytecode: artifacts[name].bytecode,
        args: constructorArgs[name] as never,
        nonce: nonce + i,
      }),
    );
  }
  hashes.push(
    await wallet.sendTransaction({
      to: addresses.L1MessageQueue,
      data: encodeFunctionData({
        abi: artifacts.L1MessageQueue.abi as Abi,
        functionName: 'initialise',
        args: [addresses.Bridge],
      }),
      nonce: nonce + L1_CONTRACTS.length,
    }),
  );
  let deployedAtBlock = 0;
  for (const hash of hashes) {
    const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 100 });
    if (receipt.status !== 'success') throw new Error(`deployment tx ${hash} reverted`);
    deployedAtBlock = Math.max(deployedAtBlock, Number(receipt.blockNumber));
  }
  log(`L1 contracts deployed by block ${deployedAtBlock}`);
  return {
    l1ChainId,
    deployer: account.address,
    sequencer: opts.sequencer,
    finalisationDelaySeconds: opts.finalisationDelaySeconds,
    deployedAtBlock,
    contracts: addresses,
  };
}
