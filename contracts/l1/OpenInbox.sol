// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BlobData} from "./BlobData.sol";
import {IBatchLog} from "./IBatchLog.sol";

/// The Inbox of the `based` and `free` modes (DECISIONS.md §4: authorisation "anyone"): an append-only
/// log of batches that anyone may post, with no range state at all. Which batches count is decided by
/// derivation alone, from the log's order:
/// - `free`: a batch names the blocks it proposes (firstBlock..lastBlock, lastBlockHash); the first
///   valid batch for a height counts and later ones for it are wasted (their gas is the price of
///   absolute freedom, measured by `bench/modes.ts`);
/// - `based`: a batch is a list of txs; L1 inclusion order is the rollup's order, each batch one
///   block at the next height (the range fields are left zero).
/// A range check here (the committee Inbox's `nextBlock`) would let a junk batch claim a height and
/// block every valid one after it, so there is none.
///
/// `postBatch` and `postBlobBatch` have the committee Inbox's signatures (same selectors), so
/// derivation reads calldata and blob batches from either the same way, and both emit the same
/// `BatchPosted` event.
contract OpenInbox is IBatchLog {
    /// Batches posted so far (the next batch's index).
    uint256 public batchCount;


    error EmptyBatch();
    error BadBlockRange(uint64 firstBlock, uint64 lastBlock);

    /// A batch carried as calldata: `data` is the compressed, versioned batch (docs/batch-format.md).
    function postBatch(uint64 firstBlock, uint64 lastBlock, bytes32 lastBlockHash, uint256 l1MessageCursor, bytes calldata data)
        external
        returns (uint256 index)
    {
        if (data.length == 0) revert EmptyBatch();
        if (lastBlock < firstBlock) revert BadBlockRange(firstBlock, lastBlock);
        index = batchCount++;
        emit BatchPosted(index, firstBlock, lastBlock, lastBlockHash, keccak256(data), l1MessageCursor, false);
    }

    /// A batch carried in this transaction's EIP-4844 blobs: the versioned hashes are what is recorded
    /// (EmptyBatch without blobs).
    function postBlobBatch(uint64 firstBlock, uint64 lastBlock, bytes32 lastBlockHash, uint256 l1MessageCursor)
        external
        returns (uint256 index)
    {
        if (lastBlock < firstBlock) revert BadBlockRange(firstBlock, lastBlock);
        bytes32 dataHash = BlobData.dataHash();
        index = batchCount++;
        emit BatchPosted(index, firstBlock, lastBlock, lastBlockHash, dataHash, l1MessageCursor, true);
    }
}
