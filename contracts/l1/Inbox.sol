// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IBatchAuthoriser} from "./IBatchAuthoriser.sol";

/// Append-only log of batches (DECISIONS.md §4). It checks who posts and that block ranges follow on;
/// whether a batch is valid is decided by derivation alone, which reads the data from calldata or blobs.
contract Inbox {
    struct Batch {
        uint64 firstBlock;
        uint64 lastBlock;
        bytes32 lastBlockHash;
        bytes32 dataHash;
        uint256 l1MessageCursor;
        uint64 postedAtBlock;
    }

    IBatchAuthoriser public immutable authoriser;
    Batch[] private batches;
    /// The first L2 block the next batch must start with.
    uint64 public nextBlock = 1;

    event BatchPosted(
        uint256 indexed index,
        uint64 firstBlock,
        uint64 lastBlock,
        bytes32 lastBlockHash,
        bytes32 dataHash,
        uint256 l1MessageCursor,
        bool blobs
    );

    error ZeroAddress();
    error NotAuthorised(address poster);
    error EmptyBatch();
    error UnexpectedFirstBlock(uint64 expected, uint64 got);
    error BadBlockRange(uint64 firstBlock, uint64 lastBlock);
    error UnknownBatch(uint256 index, uint256 count);

    constructor(IBatchAuthoriser authoriser_) {
        if (address(authoriser_) == address(0)) revert ZeroAddress();
        authoriser = authoriser_;
    }

    /// A batch carried as calldata: `data` is the compressed, versioned batch encoding.
    function postBatch(uint64 firstBlock, uint64 lastBlock, bytes32 lastBlockHash, uint256 l1MessageCursor, bytes calldata data)
        external
        returns (uint256 index)
    {
        if (data.length == 0) revert EmptyBatch();
        return _record(firstBlock, lastBlock, lastBlockHash, l1MessageCursor, keccak256(data), false);
    }

    /// A batch carried in this transaction's EIP-4844 blobs: the versioned hashes are what is recorded.
    function postBlobBatch(uint64 firstBlock, uint64 lastBlock, bytes32 lastBlockHash, uint256 l1MessageCursor)
        external
        returns (uint256 index)
    {
        bytes32 first = blobhash(0);
        if (first == bytes32(0)) revert EmptyBatch();
        bytes memory hashes = abi.encodePacked(first);
        for (uint256 i = 1; ; i++) {
            bytes32 h = blobhash(i);
            if (h == bytes32(0)) break;
            hashes = abi.encodePacked(hashes, h);
        }
        return _record(firstBlock, lastBlock, lastBlockHash, l1MessageCursor, keccak256(hashes), true);
    }

    function _record(
        uint64 firstBlock,
        uint64 lastBlock,
        bytes32 lastBlockHash,
        uint256 l1MessageCursor,
        bytes32 dataHash,
        bool blobs
    ) private returns (uint256 index) {
        if (!authoriser.isAuthorised(msg.sender)) revert NotAuthorised(msg.sender);
        if (firstBlock != nextBlock) revert UnexpectedFirstBlock(nextBlock, firstBlock);
        if (lastBlock < firstBlock) revert BadBlockRange(firstBlock, lastBlock);
        nextBlock = lastBlock + 1;
        index = batches.length;
        batches.push(Batch(firstBlock, lastBlock, lastBlockHash, dataHash, l1MessageCursor, uint64(block.number)));
        emit BatchPosted(index, firstBlock, lastBlock, lastBlockHash, dataHash, l1MessageCursor, blobs);
    }

    function batchCount() external view returns (uint256) {
        return batches.length;
    }

    function batch(uint256 index) external view returns (Batch memory) {
        if (index >= batches.length) revert UnknownBatch(index, batches.length);
        return batches[index];
    }
}
