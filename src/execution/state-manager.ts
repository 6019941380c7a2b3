import { RLP } from '@ethereumjs/rlp';
import { CODEHASH_PREFIX, MerkleStateManager, type MerkleStateManagerOpts } from '@ethereumjs/statemanager';
import { Account, concatBytes, createAddressFromString, unprefixedHexToBytes } from '@ethereumjs/util';
import { keccak256 } from '../util/bytes.js';
import { type NodeStore, type TrieOp, updateTrie } from './batch-trie.js';

/**
 * The executor's state manager: @ethereumjs/statemanager's, except that `flush` (run once per block,
 * by getStateRoot) applies the block's storage and account changes to the tries in one batch per
 * trie (updateTrie) instead of one library `put` per key, which walked, re-encoded and re-hashed the
 * path from the root for each of them: 20% of the main thread's time at 1,000 transfers/s.
 * With checkpoints open (never in block production) it falls back to the library.
 */
export class BatchedStateManager extends MerkleStateManager {
  constructor(
    opts: MerkleStateManagerOpts,
    private readonly nodes: NodeStore,
  ) {
    super(opts);
  }

  override async flush(): Promise<void> {
    if (this._trie.hasCheckpoints()) return super.flush();
    // Code: as the library does (rare: contract creation).
    for (const [addrHex, elem] of this._caches?.code?.flush() ?? []) {
      const code = elem.code;
      if (code === undefined) continue;
      const address = createAddressFromString(`0x${addrHex}`);
      const codeHash = keccak256(code);
      await this._getCodeDB().put(
        this._prefixCodeHashes ? concatBytes(CODEHASH_PREFIX, codeHash) : codeHash,
        code,
      );
      if ((await this.getAccount(address)) === undefined) await this.putAccount(address, new Account());
      await this.modifyAccountFields(address, { codeHash });
    }
    // Storage: one batch per account, then the account's new storage root.
    const byAccount = new Map<string, TrieOp[]>();
    for (const [addrHex, keyHex, value] of this._caches?.storage?.flush() ?? []) {
      const decoded = RLP.decode(value ?? new Uint8Array(0)) as Uint8Array;
      const ops = byAccount.get(addrHex) ?? [];
      byAccount.set(addrHex, ops);
      ops.push([keccak256(unprefixedHexToBytes(keyHex)), decoded.length ? RLP.encode(decoded) : null]);
    }
    for (const [addrHex, ops] of byAccount) {
      const address = createAddressFromString(`0x${addrHex}`);
      const account = await this.getAccount(address);
      if (!account) continue;
      const storageTrie = this._getStorageTrie(address, account);
      const root = updateTrie(storageTrie.root(), ops, this.nodes);
      storageTrie.root(root);
      account.storageRoot = root;
      await this.putAccount(address, account);
    }
    // Accounts: one batch.
    const ops: TrieOp[] = (this._caches?.account?.flush() ?? []).map(([addrHex, elem]) => [
      keccak256(unprefixedHexToBytes(addrHex)),
      elem.accountRLP ?? null,
    ]);
    this._trie.root(updateTrie(this._trie.root(), ops, this.nodes));
  }
}
