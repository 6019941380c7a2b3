import type { Command } from 'commander';
import { type Abi, erc20Abi, formatEther, type Hex, parseEther, zeroAddress } from 'viem';
import { customErrorOf, l1Clients } from '../l1/clients.js';
import { electionArtifacts, registrationArgs } from '../l1/election.js';
import { loadOrCreateKeys } from '../node/keys.js';
import { isPrivateKey, readDeploymentFile } from './flags.js';

const ACTIONS = ['register', 'add', 'unbond', 'withdraw', 'info'] as const;
type Action = (typeof ACTIONS)[number];

interface StakeFlags {
  l1Rpc: string;
  l1Deployment: string;
  dataDir: string;
  amount?: string;
  privateKey?: string;
}

/** What each StakeRegistry error means for the operator, and what to do. */
const ADVICE: Record<string, string> = {
  BelowMinimumStake: 'stake at least the minimum (or unbond everything)',
  WrongValue: 'send exactly the amount as value (ETH stakes)',
  BadPublicKey: "the node's BLS key is not a valid G1 point: make a new one with `seqnet keys`",
  BadProofOfPossession: "the proof of possession does not match this node's key and this staker address",
  AlreadyRegistered: 'this address is registered already: use `seqnet stake add`',
  KeyTaken: "another staker registered this node's BLS key: each key stakes once",
  NotRegistered: 'register first: `seqnet stake register --amount …`',
  ZeroAmount: 'give a positive --amount',
  ExceedsStake: 'unbond at most what is staked (`seqnet stake info`)',
  NothingToWithdraw: 'unbond first: `seqnet stake unbond --amount …`',
  StillUnbonding: 'the unbonding delay has not passed: try again after the L1 block it names',
  StakerSlashed: 'this staker was slashed for equivocation: its stake is gone',
  StakerSetFull:
    'every staker slot is taken: bond more than the smallest stake it names (that staker is evicted and its stake unbonds)',
};

/**
 * `seqnet stake register|add|unbond|withdraw|info`: the operator's side of the StakeRegistry, with the
 * node's own BLS key (`<data-dir>/keys/bls.key`) and a proof of possession made here. The L1 key is
 * `--private-key` or SEQNET_STAKER_KEY; amounts are in ETH (or whole tokens for an ERC-20 registry).
 */
export function registerStake(program: Command): void {
  program
    .command('stake')
    .description(
      "stake on L1 as a sequencer (pos): register the node's BLS key with a first stake, add, unbond, withdraw, or show the stake",
    )
    .argument('<action>', ACTIONS.join(' | '))
    .requiredOption('--l1-rpc <url>', 'L1 JSON-RPC endpoint')
    .requiredOption('--l1-deployment <file>', 'the L1 deployment JSON that lists the election contracts')
    .option('--data-dir <dir>', "the node's data dir (its BLS key is keys/bls.key)", '.data/devnet')
    .option('--amount <eth>', 'register, add, unbond: how much, in ETH (or whole tokens)')
    .option('--private-key <hex>', 'the staker L1 key (or env SEQNET_STAKER_KEY)')
    .action(async (action: string, flags: StakeFlags) => {
      if (!(ACTIONS as readonly string[]).includes(action))
        throw new Error(`unknown action "${action}": use ${ACTIONS.join(', ')}`);
      const key = flags.privateKey ?? process.env.SEQNET_STAKER_KEY;
      if (!key || !isPrivateKey(key))
        throw new Error('pass the staker L1 key as --private-key 0x… (32 bytes hex) or in SEQNET_STAKER_KEY');
      const deployment = readDeploymentFile(flags.l1Deployment);
      const registry = deployment.election?.contracts.StakeRegistry;
      if (!registry)
        throw new Error(
          `${flags.l1Deployment} lists no election contracts: stake on a deployment with a StakeRegistry (\`seqnet devnet --nodes 4 --election pos\` makes one)`,
        );
      const needsAmount = action === 'register' || action === 'add' || action === 'unbond';
      let amount = 0n;
      if (needsAmount) {
        try {
          amount = parseEther(flags.amount ?? '');
        } catch {
          amount = -1n;
        }
        if (flags.amount === undefined || amount <= 0n)
          throw new Error(
            `${action} needs --amount: a positive number of ETH (e.g. --amount 4), got "${flags.amount ?? ''}"`,
          );
      }
      const out = await stake(action as Action, {
        l1Url: flags.l1Rpc,
        key: key as Hex,
        registry,
        dataDir: flags.dataDir,
        amount,
      });
      console.log(JSON.stringify(out, null, 2));
    });
}

async function stake(
  action: Action,
  o: { l1Url: string; key: Hex; registry: Hex; dataDir: string; amount: bigint },
): Promise<Record<string, unknown>> {
  const { account, pub, wallet } = await l1Clients(o.l1Url, o.key);
  const abi = electionArtifacts().StakeRegistry.abi as Abi;
  const read = (functionName: string, args: unknown[] = []) =>
    pub.readContract({ address: o.registry, abi, functionName, args });
  const info = async () => {
    const s = (await read('stakerInfo', [account.address])) as {
      stake: bigint;
      unbonding: bigint;
      withdrawableAt: bigint;
      slashed: boolean;
      keyHash: Hex;
    };
    const [holds, slot] = (await read('slotOf', [account.address])) as [boolean, number];
    return {
      staker: account.address,
      registered: s.keyHash !== `0x${'00'.repeat(32)}`,
      stake: formatEther(s.stake),
      unbonding: formatEther(s.unbonding),
      withdrawableAtL1Block: s.unbonding > 0n ? Number(s.withdrawableAt) : null,
      slashed: s.slashed,
      // A bonded staker holds one of the registry's slots; an evicted one (out-staked) holds none.
      slot: holds ? slot : null,
    };
  };
  if (action === 'info') return info();
  const token = (await read('token')) as Hex;
  const isEth = token === zeroAddress;
  let functionName: string;
  let args: unknown[];
  if (action === 'register') {
    const bls = loadOrCreateKeys(o.dataDir).bls;
    const { key, pop } = registrationArgs(bls, await pub.getChainId(), o.registry, account.address);
    functionName = 'register';
    args = [key, pop, o.amount];
  } else if (action === 'add') {
    functionName = 'addStake';
    args = [o.amount];
  } else if (action === 'unbond') {
    functionName = 'unbond';
    args = [o.amount];
  } else {
    functionName = 'withdraw';
    args = [];
  }
  const pays = action === 'register' || action === 'add';
  if (pays && !isEth) {
    // Check the balance here: the token's own revert would name a token error, not the shortfall.
    const held = (await pub.readContract({
      address: token,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [account.address],
    })) as bigint;
    if (held < o.amount)
      throw new Error(
        `the staker ${account.address} holds ${formatEther(held)} of the stake token ${token}, and ${action} needs ${formatEther(o.amount)}: get tokens first, or stake less`,
      );
    const hash = await wallet.writeContract({
      address: token,
      abi: erc20Abi,
      functionName: 'approve',
      args: [o.registry, o.amount],
    });
    await pub.waitForTransactionReceipt({ hash, pollingInterval: 200 });
  }
  try {
    const { request } = await pub.simulateContract({
      address: o.registry,
      abi,
      functionName,
      args,
      account,
      value: pays && isEth ? o.amount : undefined,
    });
    const hash = await wallet.writeContract(request as never);
    const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 200 });
    if (receipt.status !== 'success') throw new Error(`the ${functionName} tx ${hash} reverted`);
    return {
      action,
      tx: hash,
      l1Block: Number(receipt.blockNumber),
      gasUsed: Number(receipt.gasUsed),
      ...(await info()),
    };
  } catch (err) {
    const named = customErrorOf(err);
    if (!named) throw err;
    const args = named.args?.map((a) => (typeof a === 'bigint' ? a.toString() : String(a))).join(', ') ?? '';
    throw new Error(
      `the StakeRegistry refused ${functionName}: ${named.name}(${args})${ADVICE[named.name] ? ` — ${ADVICE[named.name]}` : ''}`,
    );
  }
}
