import type { Proof } from '@ethereumjs/common';
import { fromMerkleStateProof, verifyMerkleStateProof } from '@ethereumjs/statemanager';
import { bytesToHex, createAddressFromString, hexToBytes } from '@ethereumjs/util';
import {
  type Abi,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  type Hex,
  http,
  type Log,
  parseEther,
  parseEventLogs,
  webSocket,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WsRpc } from '../../bench/lib/rpc.js';
import { commitProofFromJson } from '../../src/consensus/certificate.js';
import { preconfirmedBlockEvidence, verifyPreconfirmation } from '../../src/consensus/preconfirmation.js';
import { devAccounts } from '../../src/execution/genesis.js';
import { compileContract } from '../../src/l1/solc.js';
import { type DevnetProcess, startDevnet } from '../helpers/devnet.js';
import { until } from '../helpers/wait.js';

const token = compileContract('test/TestToken.sol', 'TestToken');
const seqnet = {
  id: 42069,
  name: 'seqnet',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: [''] } },
} as const;

describe('viem against a devnet process', () => {
  let devnet: DevnetProcess;
  const [alice, bob, carol] = devAccounts(3);
  const account = privateKeyToAccount(alice.privateKey);

  beforeAll(async () => {
    devnet = await startDevnet({ blockTime: 0 });
  });
  afterAll(async () => {
    expect(await devnet.stop()).toBe(0);
  });

  const clients = () => {
    const transport = http(devnet.url);
    return {
      pub: createPublicClient({ chain: seqnet, transport, pollingInterval: 20 }),
      wallet: createWalletClient({ chain: seqnet, transport, account }),
    };
  };

  it('reports chain id and a genesis block', async () => {
    const { pub } = clients();
    expect(await pub.getChainId()).toBe(42069);
    const genesis = await pub.getBlock({ blockNumber: 0n });
    expect(genesis.number).toBe(0n);
    expect(await pub.getBalance({ address: bob.address })).toBeGreaterThanOrEqual(
      parseEther('10000') - parseEther('1'),
    );
  });

  it('transfers ETH with a soft confirmation and a preconfirmation proof', async () => {
    const { pub, wallet } = clients();
    const before = await pub.getBalance({ address: carol.address });
    const ws = await WsRpc.connect(devnet.wsUrl);
    type Pushed = { blockNumber: Hex; transactions: Hex[]; proof: unknown; sequencedBlocks?: Hex[] };
    const seen: Pushed[] = [];
    const seenWithBlocks: Pushed[] = [];
    expect(await ws.subscribe('preconfirmations', (result) => seen.push(result as Pushed))).toMatch(/^0x/);
    // With `true`, as seqnet_getPreconfirmation's second argument: the blocks up to the proof's too.
    expect(
      await ws.subscribe('preconfirmations', (result) => seenWithBlocks.push(result as Pushed), true),
    ).toMatch(/^0x/);
    await expect(ws.subscribe('preconfirmations', () => {}, 'yes')).rejects.toThrow(
      /invalid argument 1: json: cannot unmarshal non-bool into Go value of type bool/,
    );
    const hash = await wallet.sendTransaction({ to: carol.address, value: parseEther('1.5') });
    const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 10 });
    expect(receipt.status).toBe('success');
    expect(receipt.gasUsed).toBe(21000n);
    expect(await pub.getBalance({ address: carol.address })).toBe(before + parseEther('1.5'));
    const pre = (await pub.request({
      method: 'seqnet_getPreconfirmation' as 'eth_chainId',
      params: [hash] as never,
    })) as unknown as {
      blockNumber: Hex;
      transactionIndex: Hex;
      proof: { qcs: unknown[] };
    };
    expect(BigInt(pre.blockNumber)).toBe(receipt.blockNumber);
    expect(Number(pre.transactionIndex)).toBe(receipt.transactionIndex);
    expect(pre.proof.qcs).toHaveLength(1);
    // With its block (second argument true) it checks offline with nothing else: the block hashes to
    // sequencedBlockHash, holds the tx at its index, and the proof commits it.
    const full = (await pub.request({
      method: 'seqnet_getPreconfirmation' as 'eth_chainId',
      params: [hash, true] as never,
    })) as unknown as {
      transactionIndex: Hex;
      sequencedBlockHash: Hex;
      proof: unknown;
      committee: { publicKeys: Hex[]; quorum: number };
      sequencedBlocks: Hex[];
    };
    expect(full.sequencedBlocks).toHaveLength(1);
    const evidence = {
      transactionHash: hash,
      transactionIndex: Number(full.transactionIndex),
      sequencedBlockHash: full.sequencedBlockHash,
      proof: commitProofFromJson(full.proof),
      sequencedBlocks: full.sequencedBlocks.map((b) => hexToBytes(b)),
    };
    expect(verifyPreconfirmation(evidence, full.committee)).toBeNull();
    expect(verifyPreconfirmation({ ...evidence, transactionIndex: 1 }, full.committee)).toMatch(
      /none at index 1/,
    );
    await expect(
      pub.request({ method: 'seqnet_getPreconfirmation' as 'eth_chainId', params: [hash, 'yes'] as never }),
    ).rejects.toThrow(/invalid argument 1: json: cannot unmarshal non-bool into Go value of type bool/);
    // Pushed to the subscriber too, with the same proof (a committee of one: its own QC commits).
    const pushed = await until('the pushed preconfirmation', async () =>
      seen.find((p) => p.transactions.includes(hash)),
    );
    const pushedWithBlocks = await until('the pushed preconfirmation with its block', async () =>
      seenWithBlocks.find((p) => p.transactions.includes(hash)),
    );
    ws.close();
    expect(BigInt(pushed.blockNumber)).toBe(receipt.blockNumber);
    expect(pushed.proof).toEqual(pre.proof);
    expect(pushed.sequencedBlocks).toBeUndefined();
    expect(pushedWithBlocks.sequencedBlocks).toEqual(full.sequencedBlocks);
    expect(
      verifyPreconfirmation(preconfirmedBlockEvidence(pushedWithBlocks, hash), full.committee),
    ).toBeNull();
    const tx = await pub.getTransaction({ hash });
    expect(tx.from.toLowerCase()).toBe(alice.address.toLowerCase());
    const block = await pub.getBlock({ blockNumber: receipt.blockNumber, includeTransactions: true });
    expect(block.transactions.map((t) => t.hash)).toContain(hash);
  });

  it('deploys an ERC-20, transfers tokens, reads events by getLogs and by a logs subscription', async () => {
    const { pub, wallet } = clients();
    const deployHash = await wallet.deployContract({
      abi: token.abi,
      bytecode: token.bytecode,
      args: ['Test', 'TST', parseEther('1000000')],
    });
    const deployed = await pub.waitForTransactionReceipt({ hash: deployHash, pollingInterval: 10 });
    expect(deployed.status).toBe('success');
    const address = deployed.contractAddress!;
    expect((await pub.getCode({ address }))?.length).toBeGreaterThan(100);

    const ws = createPublicClient({ chain: seqnet, transport: webSocket(devnet.wsUrl) });
    const seen: Log[] = [];
    const unwatch = await new Promise<() => void>((resolve) => {
      const un = ws.watchContractEvent({
        address,
        abi: token.abi,
        eventName: 'Transfer',
        onLogs: (logs) => seen.push(...logs),
      });
      setTimeout(() => resolve(un), 200);
    });

    const gas = await pub.estimateContractGas({
      address,
      abi: token.abi,
      functionName: 'transfer',
      args: [bob.address, 1234n],
      account,
    });
    expect(gas).toBeGreaterThan(21000n);
    expect(gas).toBeLessThan(100000n);
    const hash = await wallet.writeContract({
      address,
      abi: token.abi,
      functionName: 'transfer',
      args: [bob.address, 1234n],
      gas,
    });
    const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 10 });
    expect(receipt.status).toBe('success');
    const events = parseEventLogs({ abi: token.abi, logs: receipt.logs, eventName: 'Transfer' });
    expect(events).toHaveLength(1);

    const balance = await pub.readContract({
      address,
      abi: token.abi,
      functionName: 'balanceOf',
      args: [bob.address],
    });
    expect(balance).toBe(1234n);

    const logs = await pub.getLogs({ address, fromBlock: 0n, toBlock: 'latest' });
    expect(logs).toHaveLength(2); // mint + transfer
    const filtered = await pub.getContractEvents({
      address,
      abi: token.abi,
      eventName: 'Transfer',
      args: { to: bob.address },
      fromBlock: 0n,
    });
    expect(filtered).toHaveLength(1);

    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    unwatch();
    expect(seen.length).toBe(1);
    expect(seen[0].transactionHash).toBe(hash);

    await expect(
      pub.simulateContract({ address, abi: token.abi, functionName: 'fail', account }),
    ).rejects.toThrow(/TestToken: always fails/);
    await expect(
      pub.estimateContractGas({
        address,
        abi: token.abi,
        functionName: 'transfer',
        args: [bob.address, parseEther('99999999')],
        account: privateKeyToAccount(devAccounts(5)[4].privateKey),
      }),
    ).rejects.toThrow(/InsufficientBalance|reverted/);
  });

  it('streams newHeads and newPendingTransactions, and answers fee queries', async () => {
    const { pub, wallet } = clients();
    const ws = createPublicClient({ chain: seqnet, transport: webSocket(devnet.wsUrl) });
    const heads: bigint[] = [];
    const pending: Hex[] = [];
    const unBlocks = ws.watchBlockNumber({ onBlockNumber: (n) => heads.push(n), emitOnBegin: false });
    const unPending = ws.watchPendingTransactions({ onTransactions: (hs) => pending.push(...hs) });
    await new Promise((r) => setTimeout(r, 200));
    const hash = await wallet.sendTransaction({ to: bob.address, value: 1n });
    const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 10 });
    for (let i = 0; i < 100 && (pending.length === 0 || !heads.includes(receipt.blockNumber)); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    unBlocks();
    unPending();
    expect(pending).toContain(hash);
    expect(heads).toContain(receipt.blockNumber);

    const history = await pub.getFeeHistory({ blockCount: 4, rewardPercentiles: [25, 75] });
    expect(history.baseFeePerGas.length).toBeGreaterThanOrEqual(2);
    expect(history.reward?.[0]).toHaveLength(2);
    const fees = await pub.estimateFeesPerGas();
    expect(fees.maxFeePerGas).toBeGreaterThan(fees.maxPriorityFeePerGas);
    expect(await pub.getGasPrice()).toBeGreaterThan(0n);
    const count = await pub.getTransactionCount({ address: alice.address });
    expect(await pub.getTransactionCount({ address: alice.address, blockTag: 'pending' })).toBe(count);
  });

  it('polls filters over HTTP: contract events, blocks and pending txs (eth_newFilter and friends)', async () => {
    const { pub, wallet } = clients();
    const deployHash = await wallet.deployContract({
      abi: token.abi,
      bytecode: token.bytecode,
      args: ['Filtered', 'FLT', 1000n],
    });
    const address = (await pub.waitForTransactionReceipt({ hash: deployHash, pollingInterval: 10 }))
      .contractAddress!;
    const transfers = await pub.createContractEventFilter({ address, abi: token.abi, eventName: 'Transfer' });
    const history = await pub.createContractEventFilter({
      address,
      abi: token.abi,
      eventName: 'Transfer',
      fromBlock: 0n,
    });
    const blocks = await pub.createBlockFilter();
    const pendingTxs = await pub.createPendingTransactionFilter();
    // viem's watcher over HTTP polls a pending-tx filter (it has no other way).
    const watched: Hex[] = [];
    const unwatch = pub.watchPendingTransactions({
      onTransactions: (hs) => watched.push(...hs),
      pollingInterval: 20,
    });
    await new Promise((r) => setTimeout(r, 200));

    const hash = await wallet.writeContract({
      address,
      abi: token.abi,
      functionName: 'transfer',
      args: [bob.address, 77n],
    });
    const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 10 });
    const changes = await pub.getFilterChanges({ filter: transfers });
    // Transfer's one unindexed field, the value, is the log's data.
    expect(changes.map((l) => [l.transactionHash, BigInt(l.data), l.removed])).toEqual([[hash, 77n, false]]);
    expect(await pub.getFilterChanges({ filter: transfers })).toEqual([]);
    expect(await pub.getFilterChanges({ filter: blocks })).toContain(receipt.blockHash);
    expect(await pub.getFilterChanges({ filter: pendingTxs })).toContain(hash);
    // eth_getFilterLogs runs the filter's whole query: the mint as well.
    const all = await pub.getFilterLogs({ filter: history });
    expect(all.map((l) => BigInt(l.data))).toEqual([1000n, 77n]);
    for (let i = 0; i < 100 && !watched.includes(hash); i++) await new Promise((r) => setTimeout(r, 20));
    unwatch();
    expect(watched).toContain(hash);

    expect(await pub.uninstallFilter({ filter: transfers })).toBe(true);
    expect(await pub.uninstallFilter({ filter: transfers })).toBe(false);
    await expect(pub.getFilterChanges({ filter: transfers })).rejects.toThrow(/filter not found/);
    for (const filter of [history, blocks, pendingTxs]) await pub.uninstallFilter({ filter });
  });

  it("answers geth's other queries: block receipts, EIP-1186 proofs (checked offline), by-hash lookups, uncles, web3_sha3", async () => {
    const { pub, wallet } = clients();
    const deployHash = await wallet.deployContract({
      abi: token.abi,
      bytecode: token.bytecode,
      args: ['Proven', 'PRV', 4242n],
    });
    const deployed = await pub.waitForTransactionReceipt({ hash: deployHash, pollingInterval: 10 });
    const address = deployed.contractAddress!;
    const block = await pub.getBlock({ blockNumber: deployed.blockNumber });

    type RawReceipt = { transactionHash: Hex; blockHash: Hex; status: Hex };
    const byNumber = (await pub.request({
      method: 'eth_getBlockReceipts' as never,
      params: [`0x${deployed.blockNumber.toString(16)}`] as never,
    })) as RawReceipt[];
    const byHash = (await pub.request({
      method: 'eth_getBlockReceipts' as never,
      params: [block.hash] as never,
    })) as RawReceipt[];
    expect(byNumber.map((r) => r.transactionHash)).toEqual(block.transactions);
    expect(byHash).toEqual(byNumber);
    expect(byNumber.find((r) => r.transactionHash === deployHash)?.status).toBe('0x1');
    const index = block.transactions.indexOf(deployHash);
    const tx = await pub.getTransaction({ blockHash: block.hash!, index });
    expect(tx.hash).toBe(deployHash);
    expect(await pub.getBlockTransactionCount({ blockHash: block.hash! })).toBe(block.transactions.length);
    const raw = (method: string, params: unknown[]) =>
      pub.request({ method: method as never, params: params as never }) as Promise<unknown>;
    expect(await raw('eth_getUncleCountByBlockHash', [block.hash])).toBe('0x0');
    expect(await raw('eth_getUncleCountByBlockNumber', ['latest'])).toBe('0x0');
    expect(await raw('eth_getUncleByBlockNumberAndIndex', ['latest', '0x0'])).toBeNull();
    expect(await raw('eth_getBlockReceipts', [`0x${'00'.repeat(32)}`])).toBeNull();
    expect(await raw('web3_sha3', ['0x68656c6c6f'])).toBe(
      '0x1c8aff950685c2ed4bc3174f3472287b56d9517b9c948127319a09a7a36deac8',
    );

    // The token's first storage slots, proven against the block's state root.
    const slots = [0, 1, 2, 3, 4].map((i) => `0x${i.toString(16).padStart(64, '0')}` as Hex);
    const proof = await pub.getProof({ address, storageKeys: slots, blockNumber: deployed.blockNumber });
    expect(proof.address.toLowerCase()).toBe(address.toLowerCase());
    for (const [i, slot] of slots.entries()) {
      const stored = await pub.getStorageAt({ address, slot, blockNumber: deployed.blockNumber });
      expect(proof.storageProof[i].key).toBe(slot);
      expect(proof.storageProof[i].value).toBe(BigInt(stored ?? '0x0'));
    }
    expect(proof.storageProof.some((s) => s.value === 4242n)).toBe(true); // the minted supply
    // Offline: a state manager built from the proof alone has the block's state root and the values.
    const eip1186 = (await raw('eth_getProof', [
      address,
      slots,
      `0x${deployed.blockNumber.toString(16)}`,
    ])) as Proof;
    const partial = await fromMerkleStateProof(eip1186, true);
    expect(bytesToHex(await partial.getStateRoot())).toBe(block.stateRoot);
    const onlyFromProof = await partial.getStorage(createAddressFromString(address), hexToBytes(slots[0]));
    expect(BigInt(bytesToHex(onlyFromProof) === '0x' ? 0 : bytesToHex(onlyFromProof))).toBe(
      proof.storageProof[0].value,
    );
    // The proof verifies; one that claims another balance does not.
    expect(await verifyMerkleStateProof(partial, eip1186)).toBe(true);
    const tampered = { ...eip1186, balance: '0x1' as Hex };
    await expect(
      verifyMerkleStateProof(partial, tampered).then((ok) => {
        if (!ok) throw new Error('does not verify');
      }),
    ).rejects.toThrow();
    await expect(raw('eth_getProof', [address, 'nope', 'latest'])).rejects.toThrow(/non-array/);

    // eth_createAccessList: a transfer touches the token's balance slots of both sides; a tx sent
    // with that list succeeds and uses the gas the list was made with.
    const transfer = encodeFunctionData({
      abi: token.abi as Abi,
      functionName: 'transfer',
      args: [bob.address, 5n],
    });
    const listed = await pub.createAccessList({ account, to: address, data: transfer });
    const touched = listed.accessList.find((e) => e.address.toLowerCase() === address.toLowerCase());
    expect(touched?.storageKeys.length).toBeGreaterThanOrEqual(2);
    const sent = await wallet.sendTransaction({ to: address, data: transfer, accessList: listed.accessList });
    const sentReceipt = await pub.waitForTransactionReceipt({ hash: sent, pollingInterval: 10 });
    expect(sentReceipt.status).toBe('success');
    expect(sentReceipt.gasUsed).toBe(listed.gasUsed);
    const failing = (await raw('eth_createAccessList', [
      {
        from: account.address,
        to: address,
        data: encodeFunctionData({ abi: token.abi as Abi, functionName: 'fail' }),
      },
    ])) as { error?: string; gasUsed: Hex };
    expect(failing.error).toBe('execution reverted');
    expect(BigInt(failing.gasUsed)).toBeGreaterThan(21_000n);
  });

  it('replaces a queued tx by fee bump and refuses an underpriced replacement', async () => {
    const { pub, wallet } = clients();
    const nonce = await pub.getTransactionCount({ address: alice.address, blockTag: 'pending' });
    // A gapped nonce waits in the queue, so we can replace it before it is sequenced.
    const gapped = nonce + 1;
    const fees = { maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n };
    const first = await wallet.sendTransaction({
      to: bob.address,
      value: 1n,
      nonce: gapped,
      gas: 21000n,
      ...fees,
    });
    await expect(
      wallet.sendTransaction({
        to: bob.address,
        value: 2n,
        nonce: gapped,
        gas: 21000n,
        maxFeePerGas: 2_100_000_000n,
        maxPriorityFeePerGas: 1_050_000_000n,
      }),
    ).rejects.toThrow(/replacement transaction underpriced/);
    const second = await wallet.sendTransaction({
      to: bob.address,
      value: 3n,
      nonce: gapped,
      gas: 21000n,
      maxFeePerGas: 2_200_000_000n,
      maxPriorityFeePerGas: 1_100_000_000n,
    });
    expect(second).not.toBe(first);
    // geth's txpool namespace shows the replacement waiting in the queue.
    const pool = (method: string, params: unknown[] = []) =>
      pub.request({ method: method as never, params: params as never }) as Promise<unknown>;
    type Content = Record<'pending' | 'queued', Record<string, Record<string, { hash: Hex }>>>;
    const status = (await pool('txpool_status')) as { pending: Hex; queued: Hex };
    expect(BigInt(status.queued)).toBeGreaterThanOrEqual(1n);
    const content = (await pool('txpool_content')) as Content;
    const sender = Object.keys(content.queued).find((k) => k.toLowerCase() === alice.address.toLowerCase());
    expect(content.queued[sender!][String(gapped)].hash).toBe(second);
    const own = (await pool('txpool_contentFrom', [alice.address])) as Content['queued'];
    expect(own.queued[String(gapped)].hash).toBe(second);
    const summary = (await pool('txpool_inspect')) as Record<
      'queued',
      Record<string, Record<string, string>>
    >;
    expect(summary.queued[sender!][String(gapped)].toLowerCase()).toBe(
      `${bob.address.toLowerCase()}: 3 wei + 21000 gas × 2200000000 wei`,
    );
    const filler = await wallet.sendTransaction({ to: bob.address, value: 1n, nonce, gas: 21000n, ...fees });
    await pub.waitForTransactionReceipt({ hash: filler, pollingInterval: 10 });
    const receipt = await pub.waitForTransactionReceipt({ hash: second, pollingInterval: 10 });
    expect(receipt.status).toBe('success');
    expect(await pub.getTransactionReceipt({ hash: first }).catch(() => null)).toBeNull();
  });
});
