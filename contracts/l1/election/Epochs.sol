// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Epochs are fixed runs of L1 blocks: epoch e is [genesisBlock + e · length, genesisBlock + (e+1) · length).
/// Every election contract of a rollup is deployed with the same two numbers, so they agree on epochs;
/// src/election/epochs.ts computes the same.
abstract contract Epochs {
    uint64 public immutable genesisBlock;
    uint64 public immutable epochLength;

    error ZeroEpochLength();

    constructor(uint64 genesisBlock_, uint64 epochLength_) {
        if (epochLength_ == 0) revert ZeroEpochLength();
        genesisBlock = genesisBlock_;
        epochLength = epochLength_;
    }

    function currentEpoch() public view returns (uint64) {
        return epochAt(block.number);
    }

    /// The epoch an L1 block belongs to (0 before genesisBlock).
    function epochAt(uint256 blockNumber) public view returns (uint64) {
        if (blockNumber < genesisBlock) return 0;
        return uint64((blockNumber - genesisBlock) / epochLength);
    }

    function epochStart(uint64 epoch) public view returns (uint256) {
        return uint256(genesisBlock) + uint256(epoch) * epochLength;
    }

    /// The L1 block whose state fixes epoch `epoch`'s committee (one epoch ahead, DECISIONS.md §7):
    /// genesisBlock for epoch 0, else epochStart(epoch − 1). src/election/epochs.ts pinnedBlockFor.
    function pinnedBlock(uint64 epoch) public view returns (uint256) {
        return epoch == 0 ? uint256(genesisBlock) : epochStart(epoch - 1);
    }
}
