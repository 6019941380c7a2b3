import {
  Block,
  type BlockHeader,
  createBlock,
  createBlockFromRLP,
  createBlockHeader,
  paramsBlock,
} from '@ethereumjs/block';
import { type Common, createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common';
import { MerklePatriciaTrie } from '@ethereumjs/mpt';
import { RLP } from '@ethereumjs/rlp';
import { Caches, MerkleStateManager } from '@ethereumjs/statemanager';
import { createTx, createTxFromRLP, paramsTx, type TypedTransaction, type TypedTxData } from '@ethereumjs/tx';
import {
  Account,
  Address,
  createAddressFromString,
  createWithdrawal,
  ValueEncoding,
  type Withdrawal,
} from '@ethereumjs/util';
import { Bloom, createVM, encodeReceipt, type RunTxResult, runTx, type VM } from '@ethereumjs/vm';
import type { Logger } from 'pino';
import type { L1Message } from '../l1/watcher.js';
import type { BlockRecord, ChainStore, MetaEntries, StoredReceipt } from '../store/chain-store.js';
import {
  encodeSequencedBlock,
  hashSequencedBlock,
  LAG_STATE_ROOT_DISTANCE,
  type SequencedBlock,
} from '../types/sequenced-block.js';
import { fromHex, type Hex, keccak256, toHex, ZERO_HASH } from '../util/bytes.js';
import { customCrypto } from './crypto.js';
import type { ChainOptions } from './options.js';
import { orderedTrieRoot } from './ordered-trie.js';
import { BatchedStateManager } from './state-manager.js';

export interface ExecutionResult {
  block: Block;
  receipts: StoredReceipt[];
  /** Txs of the sequenced block that execution skipped, with why (DECISIONS.md §1). */
  skipped: Array<{ hash: Hex; reason: string }>;
  sequencedHash: Hex;
}

export interface CallRequest {
  from?: Hex;
  to?: Hex | null;
  gas?: bigint;
  gasPrice?: bigint;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  value?: bigint;
  data?: Hex;
  nonce?: bigint;
  accessList?: Array<{ address: Hex; storageKeys: Hex[] }>;
}

export interface CallOutcome {
  returnValue: Uint8Array;
  gasUsed: bigint;
  /** Set when the call reverted or hit an exceptional halt. */
  error?: { reverted: boolean; message: string };
  /** The addresses and slots the call touched (eth_createAccessList asks for them). */
  accessList?: AccessListEntry[];
}

export type AccessListEntry = { address: Hex; storageKeys: Hex[] };

/** eth_createAccessList's answer: the list, the gas the call uses with it, and its error if any. */
export interface AccessListOutcome {
  accessList: AccessListEntry[];
  gasUsed: bigint;
  error?: { reverted: boolean; message: string };
}

/** Most runs eth_createAccessList makes before it takes the list it has (geth runs until stable). */
const MAX_ACCESS_LIST_RUNS = 8;

/** What the RPC layer needs to read state at some block. */
export interface StateView {
  getAccount(address: Hex): Promise<Account | undefined>;
  getCode(address: Hex): Promise<Uint8Array>;
  getStorage(address: Hex, slot: Uint8Array): Promise<Uint8Array>;
}

const GWEI = 1_000_000_000n;

export function createChainCommon(chainId: bigint): Common {
  return createCustomCommon({ chainId: Number(chainId), name: 'seqnet' }, Mainnet, {
    hardfork: Hardfork.Prague,
    customCrypto,
  });
}

/**
 * A Common for decoding txs only. Every tx constructor copies its Common and merges the tx params
 * into the copy, ~0.2 ms per tx (a third of intake cost). This chain's Common never changes
 * hardfork, so one pre-merged instance can be shared by all txs.
 */
export function createTxCommon(chainId: bigint): Common {
  return frozenCommon(chainId, [paramsTx]);
}

/**
 * A Common for building and decoding blocks, shared as createTxCommon's: every BlockHeader and Block
 * constructor copies its Common and merges the block params into the copy, ~0.05 ms a header with
 * the VM's Common (against ~0.017 ms shared; a block is built or read as 3–4 of them), 9 % of a
 * member's CPU while block sync executed blocks. The txs a block decodes take the same instance.
 */
export function createBlockCommon(chainId: bigint): Common {
  return frozenCommon(chainId, [paramsBlock, paramsTx]);
}

function frozenCommon(chainId: bigint, params: Array<Parameters<Common['updateParams']>[0]>): Common {
  const common = createChainCommon(chainId);
  for (const p of params) common.updateParams(p);
  common.copy = () => common;
  common.updateParams = () => common;
  return common;
}

export function decodeTx(raw: Uint8Array, common: Common): TypedTransaction {
  return createTxFromRLP(raw, { common });
}

/** A block an L2 rewind took off the chain, with the receipts it had. */
export interface RemovedBlock {
  block: Block;
  receipts: StoredReceipt[];
}

/**
 * The embedded executor (@ethereumjs/vm, Prague), shaped like the Engine API: build an executed block
 * from a sequenced block on the current head, and read state at any block. Executed blocks are derived
 * deterministically from sequenced blocks: no wall clock, no signature, no node-local value in a header.
 */
export class Executor {
  readonly common: Common;
  /** Shared Common for decoding txs (see createTxCommon); the VM keeps its own. */
  readonly txCommon: Common;
  /** Shared Common for building and decoding blocks (see createBlockCommon). */
  private readonly blockCommon: Common;
  private headBlock!: Block;
  private readonly recentBlocks = new Map<bigint, Block>();

  private constructor(
    readonly options: ChainOptions,
    private readonly store: ChainStore,
    private readonly vm: VM,
    private readonly stateManager: MerkleStateManager,
    private readonly logger: Logger,
  ) {
    this.common = vm.common;
    this.txCommon = createTxCommon(options.chainId);
    this.blockCommon = createBlockCommon(options.chainId);
  }

  static async open(options: ChainOptions, store: ChainStore, logger: Logger): Promise<Executor> {
    const common = createChainCommon(options.chainId);
    const trie = new MerklePatriciaTrie({
      db: store.trie,
      useKeyHashing: true,
      valueEncoding: ValueEncoding.Bytes,
      common,
    });
    const stateManager = new BatchedStateManager({ trie, common, caches: new Caches() }, store.trie.nodes);
    const blockHashes = {
      getBlock: async (n: number) => {
        const hash = store.getExecuted(BigInt(n));
        if (!hash) throw new Error(`block ${n} not found`);
        return { hash: () => createBlockFromRLP(hash, { common }).hash() };
      },
      putBlock: async () => {},
      shallowCopy() {
        return this;
      },
    };
    const vm = await createVM({ common, stateManager, blockchain: blockHashes });
    const executor = new Executor(options, store, vm, stateManager, logger.child({ module: 'executor' }));
    await executor.init();
    return executor;
  }

  private async init(): Promise<void> {
    const head = this.store.headHeight();
    if (head === undefined) {
      await this.writeGenesis();
      return;
    }
    const genesis = this.blockByNumber(0n)!;
    const expected = await this.genesisStateRoot();
    if (toHex(genesis.header.stateRoot) !== expected) {
      throw new Error(
        `the data dir holds another chain (genesis state root ${toHex(genesis.header.stateRoot)}, config gives ${expected}); use a new --data-dir or the options it was created with`,
      );
    }
    this.headBlock = this.blockByNumber(head)!;
    await this.stateManager.setStateRoot(this.headBlock.header.stateRoot);
  }

  private async applyAlloc(sm: MerkleStateManager): Promise<void> {
    for (const [addr, balance] of Object.entries(this.options.alloc)) {
      await sm.putAccount(createAddressFromString(addr), new Account(0n, balance));
    }
    for (const [addr, code] of Object.entries(this.options.predeploys ?? {})) {
      const address = createAddressFromString(addr);
      await sm.putAccount(address, new Account(1n, 0n));
      await sm.putCode(address, fromHex(code));
    }
  }

  private async genesisStateRoot(): Promise<Hex> {
    const scratch = new MerkleStateManager({ common: this.common });
    await this.applyAlloc(scratch);
    return toHex(await scratch.getStateRoot());
  }

  private async writeGenesis(): Promise<void> {
    await this.applyAlloc(this.stateManager);
    const stateRoot = await this.stateManager.getStateRoot();
    const header = {
      number: 0n,
      gasLimit: this.options.gasLimit,
      timestamp: this.options.genesisTimestamp,
      baseFeePerGas: this.options.minBaseFee,
      stateRoot,
      excessBlobGas: 0n,
      blobGasUsed: 0n,
      parentBeaconBlockRoot: fromHex(ZERO_HASH),
      mixHash: fromHex(ZERO_HASH),
      difficulty: 0n,
    };
    const block = createBlock({ header, withdrawals: [] }, { common: this.blockCommon, setHardfork: false });
    const sequenced = this.genesisSequenced();
    await this.store.putBlock({
      height: 0n,
      sequenced: encodeSequencedBlock(sequenced),
      executed: block.serialize(),
      executedHash: toHex(block.hash()),
      receipts: [],
      proof: new Uint8Array(),
      txHashes: [],
    });
    this.headBlock = block;
    this.logger.info({ stateRoot: toHex(stateRoot), hash: toHex(block.hash()) }, 'wrote genesis');
  }

  genesisSequenced(): SequencedBlock {
    return {
      version: 1,
      chainId: this.options.chainId,
      height: 0n,
      parentHash: ZERO_HASH,
      timestamp: this.options.genesisTimestamp,
      l1Origin: { number: 0n, hash: ZERO_HASH },
      l1MessageCursor: 0n,
      txs: [],
      lagStateRoot: ZERO_HASH,
    };
  }

  get head(): Block {
    return this.headBlock;
  }

  /** The executed state root a sequenced block at `height` must carry as its lagStateRoot. */
  lagStateRootFor(height: bigint): Hex {
    const lagHeight = height - LAG_STATE_ROOT_DISTANCE;
    if (lagHeight < 0n) return ZERO_HASH;
    return toHex(this.blockByNumber(lagHeight)!.header.stateRoot);
  }

  /** Base fee of the next block: EIP-1559's rule with a floor. */
  nextBaseFee(parent: BlockHeader = this.headBlock.header): bigint {
    const next = parent.calcNextBaseFee();
    return next < this.options.minBaseFee ? this.options.minBaseFee : next;
  }

  blockByNumber(n: bigint): Block | undefined {
    if (n === this.headBlock?.header.number) return this.headBlock;
    const cached = this.recentBlocks.get(n);
    if (cached) return cached;
    const raw = this.store.getExecuted(n);
    if (!raw) return undefined;
    const block = createBlockFromRLP(raw, { common: this.blockCommon, setHardfork: false });
    this.remember(block);
    return block;
  }

  private remember(block: Block): void {
    this.recentBlocks.set(block.header.number, block);
    if (this.recentBlocks.size > 256) {
      const oldest = this.recentBlocks.keys().next().value as bigint;
      this.recentBlocks.delete(oldest);
    }
  }

  /**
   * Executes a sequenced block on the head and returns the executed block; the caller persists it and
   * then calls `commit`. Txs that are invalid at execution are skipped, not fatal.
   */
  /**
   * `messages` are the L1 messages this block consumes (DECISIONS.md §3): deposits are credited first,
   * as EIP-4895 withdrawal entries, then forced txs run, in log order, before the sequenced txs.
   * `decoded`: the block's txs as the caller already holds them (its mempool's, their senders
   * recovered), by index; a hole is decoded here from the block's bytes.
   */
  async execute(
    seq: SequencedBlock,
    decoded?: ReadonlyArray<TypedTransaction | undefined>,
    messages: ReadonlyArray<L1Message> = [],
    opts: { yieldEveryMs?: number } = {},
  ): Promise<ExecutionResult> {
    if (decoded && decoded.length !== seq.txs.length)
      throw new Error('decoded txs do not match the sequenced block');
    const parent = this.headBlock;
    if (seq.height !== parent.header.number + 1n) {
      throw new Error(`sequenced block ${seq.height} does not extend executed head ${parent.header.number}`);
    }
    const headerData = {
      parentHash: parent.hash(),
      number: seq.height,
      gasLimit: this.options.gasLimit,
      timestamp: seq.timestamp,
      baseFeePerGas: this.nextBaseFee(parent.header),
      excessBlobGas: parent.header.calcNextExcessBlobGas(this.common),
      blobGasUsed: 0n,
      // prevrandao and the beacon root come from the L1 origin: deterministic for every executor.
      mixHash: fromHex(seq.l1Origin.hash),
      parentBeaconBlockRoot: fromHex(seq.l1Origin.hash),
      difficulty: 0n,
    };
    const context = createBlock({ header: headerData }, { common: this.blockCommon, setHardfork: false });
    const included: TypedTransaction[] = [];
    const results: RunTxResult[] = [];
    const receipts: StoredReceipt[] = [];
    const skipped: Array<{ hash: Hex; reason: string }> = [];
    let gasUsed = 0n;
    const bloom = new Bloom(undefined, this.common);

    const withdrawals: Withdrawal[] = [];
    const forced: Uint8Array[] = [];
    await this.vm.evm.journal.checkpoint();
    try {
      for (const m of messages) {
        if (m.kind === 'forced') {
          forced.push(fromHex(m.data));
          continue;
        }
        const gwei = m.value / GWEI;
        withdrawals.push(
          createWithdrawal({ index: m.index, validatorIndex: 0n, address: m.to, amount: gwei }),
        );
        const address = createAddressFromString(m.to);
        const account = (await this.stateManager.getAccount(address)) ?? new Account();
        account.balance += gwei * GWEI;
        await this.stateManager.putAccount(address, account);
      }
      const all = [...forced, ...seq.txs];
      let lastYield = performance.now();
      for (let i = 0; i < all.length; i++) {
        // Give the event loop a turn now and then (yieldEveryMs): txs that arrive meanwhile are checked
        // and acknowledged during this block, ready for the next one, instead of after it.
        if (opts.yieldEveryMs !== undefined && performance.now() - lastYield >= opts.yieldEveryMs) {
          await new Promise((resolve) => setImmediate(resolve));
          lastYield = performance.now();
        }
        const raw = all[i];
        let tx: TypedTransaction;
        try {
          // The mempool already decoded (and recovered the sender of) txs this node accepted; the
          // others (a committee member's peers' txs not yet gossiped here) cost a decode and an ecrecover.
          tx =
            (i >= forced.length ? decoded?.[i - forced.length] : undefined) ?? decodeTx(raw, this.txCommon);
        } catch (err) {
          skipped.push({ hash: toHex(keccak256(raw)), reason: `undecodable: ${(err as Error).message}` });
          continue;
        }
        if (tx.gasLimit > this.options.gasLimit - gasUsed) {
          skipped.push({ hash: toHex(tx.hash()), reason: 'no gas left in the block' });
          continue;
        }
        let result: RunTxResult;
        try {
          result = await runTx(this.vm, {
            tx,
            block: context,
            blockGasUsed: gasUsed,
            skipHardForkValidation: true,
          });
        } catch (err) {
          skipped.push({ hash: toHex(tx.hash()), reason: (err as Error).message });
          continue;
        }
        gasUsed += result.totalGasSpent;
        bloom.or(result.bloom);
        included.push(tx);
        results.push(result);
        receipts.push({
          encoded: encodeReceipt(result.receipt, tx.type),
          gasUsed: result.totalGasSpent,
          from: tx.getSenderAddress().toString() as Hex,
          contractAddress: result.createdAddress ? (result.createdAddress.toString() as Hex) : null,
        });
      }
      await this.vm.evm.journal.commit();
    } catch (err) {
      await this.vm.evm.journal.revert();
      throw err;
    }
    const stateRoot = await this.stateManager.getStateRoot();
    const header = createBlockHeader(
      {
        ...headerData,
        stateRoot,
        transactionsTrie: orderedTrieRoot(included.map((tx) => tx.serialize())),
        receiptTrie: orderedTrieRoot(receipts.map((r) => r.encoded)),
        withdrawalsRoot: orderedTrieRoot(withdrawals.map((w) => RLP.encode(w.raw()))),
        logsBloom: bloom.bitvector,
        gasUsed,
      },
      { common: this.blockCommon, setHardfork: false },
    );
    // The constructor, not createBlock: createBlock rebuilds every tx object from its fields.
    const block = new Block(header, included, [], withdrawals, {
      common: this.blockCommon,
      setHardfork: false,
    });
    if (skipped.length) this.logger.debug({ height: seq.height, skipped }, 'skipped invalid txs');
    return { block, receipts, skipped, sequencedHash: hashSequencedBlock(seq) };
  }

  /**
   * Persists an executed block (with its state-trie nodes, in one lmdb transaction) and makes it the
   * head; a failed write undoes the execution. Returns the block's tx hashes.
   */
  async persistAndCommit(
    result: ExecutionResult,
    record: { sequenced: Uint8Array; proof: Uint8Array; meta?: MetaEntries },
  ): Promise<Hex[]> {
    const { txHashes, blockRecord } = this.recordOf(result, record);
    try {
      await this.store.putBlock(blockRecord);
    } catch (err) {
      await this.rollback();
      throw err;
    }
    this.commit(result.block);
    return txHashes;
  }

  /**
   * As persistAndCommit, but the block is the head at once and the lmdb write goes on in the
   * background (the store serves the block from memory meanwhile). Only for a caller that made the
   * block durable first (the sequencer's block WAL): a failed write leaves the head ahead of lmdb, and
   * the caller must stop and restart from its WAL.
   */
  persistInBackground(
    result: ExecutionResult,
    record: { sequenced: Uint8Array; proof: Uint8Array },
  ): { txHashes: Hex[]; written: Promise<void> } {
    const { txHashes, blockRecord } = this.recordOf(result, record);
    const written = this.store.putBlock(blockRecord);
    this.commit(result.block);
    return { txHashes, written };
  }

  private recordOf(
    result: ExecutionResult,
    record: { sequenced: Uint8Array; proof: Uint8Array; meta?: MetaEntries },
  ): { txHashes: Hex[]; blockRecord: BlockRecord } {
    const { block } = result;
    const txHashes = block.transactions.map((t) => toHex(t.hash()));
    return {
      txHashes,
      blockRecord: {
        height: block.header.number,
        sequenced: record.sequenced,
        executed: block.serialize(),
        executedHash: toHex(block.hash()),
        receipts: result.receipts,
        proof: record.proof,
        txHashes,
        meta: record.meta,
      },
    };
  }

  /** Makes a persisted block the head. */
  commit(block: Block): void {
    this.remember(block);
    this.headBlock = block;
  }

  /**
   * Makes block `height` the head again, taking every block above it off the chain (store and caches);
   * `meta` is written in the same commit. Returns the removed blocks with their receipts, lowest
   * first. Only between blocks: nothing may be executing.
   */
  async rewindTo(height: bigint, meta?: MetaEntries): Promise<RemovedBlock[]> {
    const head = this.headBlock.header.number;
    if (height < 0n || height > head)
      throw new Error(`cannot rewind to block ${height}: the head is ${head}`);
    const removed: RemovedBlock[] = [];
    for (let h = height + 1n; h <= head; h++) {
      const block = this.blockByNumber(h);
      if (!block) throw new Error(`cannot rewind: block ${h} is not in the store`);
      removed.push({ block, receipts: this.store.getReceipts(h) ?? [] });
    }
    const target = this.blockByNumber(height);
    if (!target) throw new Error(`cannot rewind: block ${height} is not in the store`);
    await this.store.rewind(
      height,
      removed.map(({ block }) => ({
        height: block.header.number,
        executedHash: toHex(block.hash()),
        txHashes: block.transactions.map((t) => toHex(t.hash())),
      })),
      meta,
    );
    for (const { block } of removed) this.recentBlocks.delete(block.header.number);
    this.headBlock = target;
    await this.stateManager.setStateRoot(target.header.stateRoot);
    this.logger.warn({ from: Number(head), to: Number(height) }, 'rewound the chain');
    return removed;
  }

  /** Undoes an `execute` whose block will not be persisted (e.g. the store failed). */
  async rollback(): Promise<void> {
    this.store.trie.discardPending();
    await this.stateManager.setStateRoot(this.headBlock.header.stateRoot);
  }

  /** A private copy of the state at a block, safe to use while blocks are being built. */
  async stateAt(block: Block): Promise<MerkleStateManager> {
    const copy = this.stateManager.shallowCopy(false);
    await copy.setStateRoot(block.header.stateRoot);
    return copy;
  }

  async view(block: Block): Promise<StateView> {
    const sm = await this.stateAt(block);
    return {
      getAccount: (a) => sm.getAccount(createAddressFromString(a)),
      getCode: (a) => sm.getCode(createAddressFromString(a)),
      getStorage: (a, slot) => sm.getStorage(createAddressFromString(a), slot),
    };
  }

  /** Runs a call on the state of `block` without changing anything (eth_call, eth_estimateGas). */
  async call(req: CallRequest, block: Block, gasLimit: bigint): Promise<CallOutcome> {
    const sm = await this.stateAt(block);
    const vm = await createVM({ common: this.common, stateManager: sm, blockchain: this.vm.blockchain });
    return this.runCall(vm, req, block, gasLimit);
  }

  /**
   * geth's eth_createAccessList: runs the call with the list the last run touched until the list
   * stays the same (a list changes the gas, and so what a gas-dependent call touches).
   */
  async createAccessList(req: CallRequest, block: Block, gasLimit: bigint): Promise<AccessListOutcome> {
    const sm = await this.stateAt(block);
    const vm = await createVM({ common: this.common, stateManager: sm, blockchain: this.vm.blockchain });
    let list = req.accessList ?? [];
    for (let run = 1; ; run++) {
      const out = await this.runCall(vm, { ...req, accessList: list }, block, gasLimit, true);
      const found = normaliseAccessList(out.accessList ?? []);
      if (run === MAX_ACCESS_LIST_RUNS || sameAccessList(found, normaliseAccessList(list)))
        return { accessList: found, gasUsed: out.gasUsed, ...(out.error && { error: out.error }) };
      list = found;
    }
  }

  /** Binary search for the lowest gas limit that succeeds, as geth's eth_estimateGas. */
  async estimateGas(req: CallRequest, block: Block, cap: bigint): Promise<{ gas: bigint } | CallOutcome> {
    const sm = await this.stateAt(block);
    const vm = await createVM({ common: this.common, stateManager: sm, blockchain: this.vm.blockchain });
    const hi0 = req.gas ?? cap;
    const first = await this.runCall(vm, req, block, hi0);
    if (first.error) return first;
    let lo = first.gasUsed - 1n;
    let hi = hi0;
    // Most calls need exactly what they used (plus refund headroom); try that first as geth does.
    const optimistic = ((first.gasUsed + 2300n) * 64n) / 63n;
    if (optimistic < hi) {
      const r = await this.runCall(vm, req, block, optimistic);
      if (!r.error) hi = optimistic;
      else lo = optimistic;
    }
    while (lo + 1n < hi) {
      const mid = (lo + hi) / 2n;
      const r = await this.runCall(vm, req, block, mid);
      if (r.error) lo = mid;
      else hi = mid;
    }
    return { gas: hi };
  }

  private async runCall(
    vm: VM,
    req: CallRequest,
    block: Block,
    gasLimit: bigint,
    reportAccessList = false,
  ): Promise<CallOutcome> {
    const priced = req.gasPrice !== undefined || req.maxFeePerGas !== undefined;
    const header = {
      ...block.header.toJSON(),
      number: block.header.number + 1n,
      // geth's eth_call: without a gas price the base fee is zero, so the call is free.
      baseFeePerGas: priced ? this.nextBaseFee(block.header) : 0n,
      gasLimit: gasLimit > block.header.gasLimit ? gasLimit : block.header.gasLimit,
    };
    const context = createBlock({ header }, { common: this.blockCommon, setHardfork: false });
    const from = req.from ?? ('0x0000000000000000000000000000000000000000' as Hex);
    const account = await vm.stateManager.getAccount(createAddressFromString(from));
    const data: TypedTxData = {
      // With a gas price: legacy, or EIP-2930 when it carries an access list.
      type: req.gasPrice !== undefined ? (req.accessList?.length ? 1 : 0) : 2,
      nonce: req.nonce ?? account?.nonce ?? 0n,
      gasLimit,
      to: req.to ?? undefined,
      value: req.value ?? 0n,
      data: req.data ? fromHex(req.data) : new Uint8Array(),
      ...(req.gasPrice !== undefined
        ? { gasPrice: req.gasPrice }
        : { maxFeePerGas: req.maxFeePerGas ?? 0n, maxPriorityFeePerGas: req.maxPriorityFeePerGas ?? 0n }),
      ...(req.accessList?.length ? { accessList: req.accessList } : {}),
    };
    const tx = createTx(data, { common: this.common, freeze: false });
    const sender = createAddressFromString(from);
    Object.defineProperty(tx, 'getSenderAddress', { value: () => sender });
    await vm.evm.journal.checkpoint();
    try {
      const result = await runTx(vm, {
        tx,
        block: context,
        skipNonce: true,
        skipBalance: !priced,
        skipBlockGasLimitValidation: true,
        skipHardForkValidation: true,
        reportAccessList,
      });
      const ex = result.execResult.exceptionError;
      return {
        returnValue: result.execResult.returnValue,
        gasUsed: result.totalGasSpent,
        error: ex ? { reverted: ex.error === 'revert', message: ex.error } : undefined,
        ...(result.accessList && { accessList: result.accessList as AccessListEntry[] }),
      };
    } catch (err) {
      return {
        returnValue: new Uint8Array(),
        gasUsed: 0n,
        error: { reverted: false, message: (err as Error).message },
      };
    } finally {
      await vm.evm.journal.revert();
    }
  }
}

export { Address };

/** Sorted, lower-case, slots as 32-byte words: two runs' lists compare as strings. */
function normaliseAccessList(list: AccessListEntry[]): AccessListEntry[] {
  return list
    .map((e) => ({
      address: e.address.toLowerCase() as Hex,
      storageKeys: [
        ...new Set(e.storageKeys.map((k) => `0x${k.slice(2).toLowerCase().padStart(64, '0')}` as Hex)),
      ].sort(),
    }))
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

function sameAccessList(a: AccessListEntry[], b: AccessListEntry[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
