// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// The event every inbox emits for a posted batch (the committee Inbox and the OpenInbox alike), so
/// derivation reads them the same way: `blobs` says where the data is (calldata or the tx's blobs).
interface IBatchLog {
    event BatchPosted(
        uint256 indexed index,
        uint64 firstBlock,
        uint64 lastBlock,
        bytes32 lastBlockHash,
        bytes32 dataHash,
        uint256 l1MessageCursor,
        bool blobs
    );
}
