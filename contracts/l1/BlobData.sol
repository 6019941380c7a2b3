// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// The data hash a blob batch is recorded with (both Inboxes): keccak256 of the posting tx's blob
/// versioned hashes, concatenated in order. Derivation reads the blobs back and checks them against it.
library BlobData {
    /// The posting tx carries no blobs.
    error EmptyBatch();

    function dataHash() internal view returns (bytes32) {
        bytes32 first = blobhash(0);
        if (first == bytes32(0)) revert EmptyBatch();
        bytes memory hashes = abi.encodePacked(first);
        for (uint256 i = 1; ; i++) {
            bytes32 h = blobhash(i);
            if (h == bytes32(0)) break;
            hashes = abi.encodePacked(hashes, h);
        }
        return keccak256(hashes);
    }
}
