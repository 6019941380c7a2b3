import {
  type Abi,
  type Address,
  encodeDeployData,
  encodeFunctionData,
  getContractAddress,
  type Hex,
  keccak256,
  type PrivateKeyAccount,
  parseEther,
  parseGwei,
  stringToHex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { devAccounts } from '../../src/execution/genesis.js';
import { compileContract } from '../../src/l1/solc.js';
import type { HttpRpc } from './rpc.js';

/** A pre-signed tx: what the load generator sends, and the hash it waits for. */
export interface SignedTx {
  raw: Hex;
  hash: Hex;
  /** Index of the sending account (a funded dev account or a benchmark sender). */
  from: number;
  nonce: number;
}

/**
 * Fees fixed for both chains, far above either base fee (seqnet's floor is 0.01 gwei, anvil starts at
 * 1 gwei) so that no tx waits on the fee market.
 */
export const MAX_FEE = parseGwei('50');
export const MAX_TIP = parseGwei('1');
export const ETH_TRANSFER_GAS = 21_000n;
/** TestToken.transfer to a fresh holder uses ~52k; the limit is what block packing counts. */
export const TOKEN_TRANSFER_GAS = 70_000n;
const DEPLOY_GAS = 2_000_000n;
export const SENDER_FUNDING = parseEther('100');
export const TOKEN_SUPPLY = parseEther('1000000000');
const TOKEN_PER_SENDER = parseEther('1000000');

export const token = compileContract('test/TestToken.sol', 'TestToken');
const tokenAbi = token.abi as Abi;

/** Deterministic keys, so every chain (and every run) uses the same senders. */
function benchKey(i: number): Hex {
  return keccak256(stringToHex(`seqnet-bench-sender-${i}`));
}

/** Fresh recipients, cycled: transfers create accounts and token holders as real traffic does. */
export function recipient(i: number): Address {
  return `0x${keccak256(stringToHex(`seqnet-bench-recipient-${i % 1000}`)).slice(-40)}` as Address;
}

export class Accounts {
  /** The 10 dev accounts (test…junk mnemonic) funded with 10,000 ETH in both genesis states. */
  readonly funders: PrivateKeyAccount[];
  readonly senders: PrivateKeyAccount[];
  private readonly cache = new Map<string, SignedTx>();
  signed = 0;

  constructor(senderCount: number) {
    this.funders = devAccounts(10).map((a) => privateKeyToAccount(a.privateKey));
    this.senders = Array.from({ length: senderCount }, (_, i) => privateKeyToAccount(benchKey(i)));
  }

  /**
   * Signs an EIP-1559 tx. Memoised on every field: when both chains share a chain id and nonces, the
   * second chain reuses the first one's signatures (signing costs ~0.5 ms a tx and is never timed).
   */
  async sign(
    account: PrivateKeyAccount,
    index: number,
    chainId: number,
    nonce: number,
    to: Address | undefined,
    value: bigint,
    data: Hex | undefined,
    gas: bigint,
  ): Promise<SignedTx> {
    const key = `${chainId}|${account.address}|${nonce}|${to}|${value}|${data}|${gas}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const raw = await account.signTransaction({
      chainId,
      type: 'eip1559',
      nonce,
      to,
      value,
      data,
      gas,
      maxFeePerGas: MAX_FEE,
      maxPriorityFeePerGas: MAX_TIP,
    });
    const tx: SignedTx = { raw, hash: keccak256(raw), from: index, nonce };
    this.cache.set(key, tx);
    this.signed++;
    return tx;
  }

  /** Next nonce of each account, as the chain sees it (pending included). */
  async nonces(rpc: HttpRpc, accounts: PrivateKeyAccount[]): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < accounts.length; i += 500) {
      const chunk = accounts.slice(i, i + 500);
      const res = await rpc.batch<Hex>(chunk.map((a) => ['eth_getTransactionCount', [a.address, 'pending']]));
      out.push(...res.map((n) => Number(n)));
    }
    return out;
  }
}

export interface Setup {
  /** Per funder, its txs in nonce order (sent in order on one lane). */
  lanes: SignedTx[][];
  tokenAddress: Address;
  deployHash: Hex;
}

/**
 * Funds every sender with ETH from the dev accounts, deploys TestToken from dev account 0 and gives
 * every sender tokens: all in nonce order per funder.
 */
export async function signSetup(accounts: Accounts, rpc: HttpRpc, chainId: number): Promise<Setup> {
  const nonces = await accounts.nonces(rpc, accounts.funders);
  const lanes: SignedTx[][] = accounts.funders.map(() => []);
  const next = (f: number) => nonces[f]++;
  for (let s = 0; s < accounts.senders.length; s++) {
    const f = s % accounts.funders.length;
    lanes[f].push(
      await accounts.sign(
        accounts.funders[f],
        f,
        chainId,
        next(f),
        accounts.senders[s].address,
        SENDER_FUNDING,
        undefined,
        ETH_TRANSFER_GAS,
      ),
    );
  }
  const deployer = accounts.funders[0];
  const deployNonce = next(0);
  const deployData = encodeDeployData({
    abi: tokenAbi,
    bytecode: token.bytecode,
    args: ['Bench', 'BNCH', TOKEN_SUPPLY],
  });
  const deploy = await accounts.sign(
    deployer,
    0,
    chainId,
    deployNonce,
    undefined,
    0n,
    deployData,
    DEPLOY_GAS,
  );
  lanes[0].push(deploy);
  const tokenAddress = getContractAddress({ from: deployer.address, nonce: BigInt(deployNonce) });
  for (const s of accounts.senders) {
    const data = encodeFunctionData({
      abi: tokenAbi,
      functionName: 'transfer',
      args: [s.address, TOKEN_PER_SENDER],
    });
    lanes[0].push(
      await accounts.sign(deployer, 0, chainId, next(0), tokenAddress, 0n, data, TOKEN_TRANSFER_GAS),
    );
  }
  return { lanes, tokenAddress, deployHash: deploy.hash };
}

export type TransferKind = 'eth' | 'erc20';

/**
 * `count` transfers spread over the senders: tx i goes from sender i mod n with that sender's next
 * nonce. Returned in i order; lanes (per sender) follow from `from`.
 */
export async function signTransfers(
  accounts: Accounts,
  rpc: HttpRpc,
  chainId: number,
  kind: TransferKind,
  count: number,
  tokenAddress: Address,
): Promise<SignedTx[]> {
  const nonces = await accounts.nonces(rpc, accounts.senders);
  const n = accounts.senders.length;
  const out: SignedTx[] = [];
  for (let i = 0; i < count; i++) {
    const s = i % n;
    const to = recipient(i);
    out.push(
      kind === 'eth'
        ? await accounts.sign(
            accounts.senders[s],
            s,
            chainId,
            nonces[s]++,
            to,
            1n,
            undefined,
            ETH_TRANSFER_GAS,
          )
        : await accounts.sign(
            accounts.senders[s],
            s,
            chainId,
            nonces[s]++,
            tokenAddress,
            0n,
            encodeFunctionData({ abi: tokenAbi, functionName: 'transfer', args: [to, 1n] }),
            TOKEN_TRANSFER_GAS,
          ),
    );
  }
  return out;
}

/** eth_call balanceOf: a sanity check that setup gave the senders their tokens. */
export async function tokenBalance(rpc: HttpRpc, tokenAddress: Address, holder: Address): Promise<bigint> {
  const data = encodeFunctionData({ abi: tokenAbi, functionName: 'balanceOf', args: [holder] });
  return BigInt(await rpc.call<Hex>('eth_call', [{ to: tokenAddress, data }, 'latest']));
}

/**
 * `count` ETH transfers over `group` (tx k from sender group[k mod n] to recipient(k)), each sender's
 * nonce taken from and advanced in `nonces`.
 */
export async function signEthTransfersOver(
  accounts: Accounts,
  chainId: number,
  nonces: number[],
  group: number[],
  count: number,
): Promise<SignedTx[]> {
  const out: SignedTx[] = [];
  for (let k = 0; k < count; k++) {
    const s = group[k % group.length];
    out.push(await signEthTransfer(accounts, chainId, s, nonces[s]++, k));
  }
  return out;
}

/** One 1-wei ETH transfer from sender `senderIdx` to recipient(k) (memoised by Accounts.sign). */
export function signEthTransfer(
  accounts: Accounts,
  chainId: number,
  senderIdx: number,
  nonce: number,
  k: number,
): Promise<SignedTx> {
  return accounts.sign(
    accounts.senders[senderIdx],
    senderIdx,
    chainId,
    nonce,
    recipient(k),
    1n,
    undefined,
    ETH_TRANSFER_GAS,
  );
}
