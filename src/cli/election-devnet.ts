import type { SecretKey } from '@chainsafe/blst';
import {
  type Abi,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  type PublicClient,
  parseEther,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { devAccounts } from '../execution/genesis.js';
import type { DeployedElection } from '../l1/deploy.js';
import {
  deployElectionContracts,
  electionArtifacts,
  registrationArgs,
  sequencerKeyHash,
} from '../l1/election.js';
import { compileContract } from '../l1/solc.js';
import type { ElectionMode } from '../node/election.js';
import { toHex } from '../util/bytes.js';

/** L1 blocks per epoch on the devnet (anvil makes a block a second). */
export const DEVNET_EPOCH_LENGTH = 60n;

/** The L1 account of committee member i on the devnet: test account 2 + i (0 deploys, 1 posts batches). */
export function memberL1Account(i: number): { address: Hex; privateKey: Hex } {
  const accounts = devAccounts(10);
  const a = accounts[2 + i];
  if (!a)
    throw new Error(`the devnet funds L1 accounts for at most ${accounts.length - 2} committee members`);
  return a;
}

export interface ElectionSetupOptions {
  mode: ElectionMode;
  l1Url: string;
  chainId: bigint;
  /** The members' BLS keys, in committee order. */
  memberKeys: SecretKey[];
  /** L1 blocks per epoch (default DEVNET_EPOCH_LENGTH). */
  epochLength?: bigint;
  /** Members that do not stake (nor stand as candidates) at set-up: they can join later. */
  unstaked?: number[];
  /** Stakes in the devnet's ERC-20 token (SEQ) instead of ETH; every member account gets 100 SEQ. */
  stakeToken?: boolean;
  step: (msg: string) => void;
}

/**
 * Deploys the election contracts on the devnet's L1 and seeds them so that the mode has a committee
 * from its first epoch: every member stakes (member i stakes i + 1 ETH, or SEQ with `stakeToken`, so
 * pos weights differ);
 * dpos: every member stands as a candidate and token holders delegate to it; auction: member 1 wins
 * the first ten epochs and the first bid is settled into the treasury. Returns once epoch 0's
 * pinned block has passed, so the nodes can read their committee at once.
 */
export async function setUpDevnetElection(opts: ElectionSetupOptions): Promise<DeployedElection> {
  const { step } = opts;
  const [deployer] = devAccounts(1);
  const transport = http(opts.l1Url);
  const pub = createPublicClient({ transport }) as PublicClient;
  const l1ChainId = await pub.getChainId();
  const chain = {
    id: l1ChainId,
    name: 'l1',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [opts.l1Url] } },
  } as const;
  const wallet = (key: Hex) => createWalletClient({ account: privateKeyToAccount(key), chain, transport });
  const wait = async (hash: Hex) => {
    const r = await pub.waitForTransactionReceipt({ hash, pollingInterval: 200 });
    if (r.status !== 'success') throw new Error(`election set-up tx ${hash} reverted`);
    return r;
  };
  const call = async (
    key: Hex,
    address: Hex,
    abi: Abi,
    functionName: string,
    args: unknown[],
    value?: bigint,
  ) => {
    const { request } = await pub.simulateContract({
      address,
      abi,
      functionName,
      args,
      value,
      account: privateKeyToAccount(key),
    });
    return wait(await wallet(key).writeContract(request as never));
  };

  step('deploying the devnet governance token…');
  const token = compileContract('test/TestToken.sol', 'TestToken');
  const tokenAbi = token.abi as Abi;
  const tokenAddress = (
    await wait(
      await wallet(deployer.privateKey).deployContract({
        abi: tokenAbi,
        bytecode: token.bytecode,
        args: ['seqnet devnet governance', 'SEQ', parseEther('1000000')],
      }),
    )
  ).contractAddress as Hex;
  const n = opts.memberKeys.length;
  // Epoch 0's committee is the state at genesisBlock: leave room for every set-up tx (one L1 block
  // each, sent one after the other) before it.
  const setUpTxs =
    6 +
    n +
    (opts.stakeToken ? 2 * n : 0) +
    (opts.mode === 'dpos' ? 5 * n : 0) +
    (opts.mode === 'auction' ? 10 : 0);
  const genesisBlock = (await pub.getBlockNumber({ cacheTime: 0 })) + BigInt(setUpTxs + 8);
  const epochLength = opts.epochLength ?? DEVNET_EPOCH_LENGTH;
  // The auction closes 5 blocks before its epoch: an epoch must be longer than that.
  if (epochLength < 10n) throw new Error(`--epoch-length must be at least 10 L1 blocks, got ${epochLength}`);
  const clock = { genesisBlock, epochLength };
  step(
    `deploying the election contracts (epoch 0 starts at L1 block ${genesisBlock}, ${epochLength} blocks an epoch)…`,
  );
  const contracts = await deployElectionContracts({
    rpcUrl: opts.l1Url,
    deployerKey: deployer.privateKey,
    chainId: opts.chainId,
    clock,
    minStake: parseEther('1'),
    unbondingDelay: 10n,
    maxCommitteeSize: n,
    stakeToken: opts.stakeToken ? tokenAddress : undefined,
    governanceToken: tokenAddress,
    governanceCommitteeSize: n,
    votingPeriod: 30n,
    auction: { minBid: parseEther('0.1'), minIncrementBps: 500, closeBlocks: 5n },
    onProgress: step,
  });
  const abis = electionArtifacts();
  const unstaked = new Set(opts.unstaked ?? []);
  const unit = opts.stakeToken ? 'SEQ' : 'ETH';
  for (const [i, key] of opts.memberKeys.entries()) {
    const who = memberL1Account(i);
    // Token stakes: every member (staked now or later) gets tokens to stake with.
    if (opts.stakeToken)
      await call(deployer.privateKey, tokenAddress, tokenAbi, 'transfer', [who.address, parseEther('100')]);
    if (unstaked.has(i)) continue;
    const stake = parseEther(String(i + 1));
    if (opts.stakeToken)
      await call(who.privateKey, tokenAddress, tokenAbi, 'approve', [contracts.StakeRegistry, stake]);
    const { key: g1, pop } = registrationArgs(key, l1ChainId, contracts.StakeRegistry, who.address);
    await call(
      who.privateKey,
      contracts.StakeRegistry,
      abis.StakeRegistry.abi as Abi,
      'register',
      [g1, pop, stake],
      opts.stakeToken ? undefined : stake,
    );
  }
  step(
    `${n - unstaked.size} members staked in the StakeRegistry (member i: i + 1 ${unit})${unstaked.size ? `; not staked yet: ${[...unstaked].join(', ')}` : ''}`,
  );
  if (opts.mode === 'dpos') {
    const gov = abis.Governance.abi as Abi;
    for (const i of opts.memberKeys.keys()) {
      if (unstaked.has(i)) continue;
      const who = memberL1Account(i);
      const votes = parseEther(String(100 * (i + 1)));
      await call(who.privateKey, contracts.Governance, gov, 'registerCandidate', []);
      await call(deployer.privateKey, tokenAddress, tokenAbi, 'transfer', [who.address, votes]);
      await call(who.privateKey, tokenAddress, tokenAbi, 'approve', [contracts.Governance, votes]);
      await call(who.privateKey, contracts.Governance, gov, 'lock', [votes]);
      await call(who.privateKey, contracts.Governance, gov, 'delegate', [who.address]);
    }
    step(`${n} candidates elected by delegated token votes`);
  }
  if (opts.mode === 'auction') {
    const auction = abis.SequencerAuction.abi as Abi;
    const winner = n > 1 ? 1 : 0;
    const keyHash = sequencerKeyHash(toHex(opts.memberKeys[winner].toPublicKey().toBytes(true)));
    for (let e = 0n; e < 10n; e++)
      await call(
        memberL1Account(winner).privateKey,
        contracts.SequencerAuction,
        auction,
        'bid',
        [e, keyHash],
        parseEther('0.5'),
      );
    step(`member ${winner} won the auctions of epochs 0–9 (0.5 ETH each)`);
  }
  const done = await pub.getBlockNumber({ cacheTime: 0 });
  if (done >= genesisBlock)
    throw new Error(
      `the election set-up ran past epoch 0's start (L1 block ${done} ≥ ${genesisBlock}); the L1 is slower than a block a second — run the devnet again`,
    );
  // Wait until epoch 0's pinned block is behind us (with a margin for confirmations).
  for (;;) {
    const head = await pub.getBlockNumber({ cacheTime: 0 });
    if (head >= genesisBlock + 4n) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (opts.mode === 'auction') {
    await call(deployer.privateKey, contracts.SequencerAuction, abis.SequencerAuction.abi as Abi, 'settle', [
      0n,
    ]);
    step('epoch 0 auction settled: the winning bid is in the treasury (Governance)');
  }
  return {
    genesisBlock: genesisBlock.toString(),
    epochLength: epochLength.toString(),
    contracts,
    token: tokenAddress,
    ...(opts.stakeToken ? { stakeToken: true } : {}),
  };
}
