// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IBatchAuthoriser} from "./IBatchAuthoriser.sol";

/// Certified L2 outputs (DECISIONS.md §4): for an L2 block, keccak256(abi.encode(stateRoot,
/// withdrawalsRoot, blockHash)). The Bridge finalises withdrawals against outputs older than the
/// finalisation delay.
contract StateOracle {
    struct Output {
        bytes32 outputRoot;
        uint64 l2Block;
        uint64 timestamp;
    }

    IBatchAuthoriser public immutable authoriser;
    uint256 public immutable finalisationDelay;
    Output[] private outputs;

    event OutputProposed(uint256 indexed index, uint64 indexed l2Block, bytes32 outputRoot, uint64 timestamp);

    error ZeroAddress();
    error NotAuthorised(address poster);
    error BlockNotAfterPrevious(uint64 previous, uint64 got);
    error UnknownOutput(uint256 index, uint256 count);

    constructor(IBatchAuthoriser authoriser_, uint256 finalisationDelay_) {
        if (address(authoriser_) == address(0)) revert ZeroAddress();
        authoriser = authoriser_;
        finalisationDelay = finalisationDelay_;
    }

    function outputRootOf(bytes32 stateRoot, bytes32 withdrawalsRoot, bytes32 blockHash) public pure returns (bytes32) {
        return keccak256(abi.encode(stateRoot, withdrawalsRoot, blockHash));
    }

    function propose(uint64 l2Block, bytes32 stateRoot, bytes32 withdrawalsRoot, bytes32 blockHash)
        external
        returns (uint256 index)
    {
        if (!authoriser.isAuthorised(msg.sender)) revert NotAuthorised(msg.sender);
        uint256 count = outputs.length;
        if (count > 0 && l2Block <= outputs[count - 1].l2Block) {
            revert BlockNotAfterPrevious(outputs[count - 1].l2Block, l2Block);
        }
        bytes32 root = outputRootOf(stateRoot, withdrawalsRoot, blockHash);
        index = count;
        outputs.push(Output(root, l2Block, uint64(block.timestamp)));
        emit OutputProposed(index, l2Block, root, uint64(block.timestamp));
    }

    function outputCount() external view returns (uint256) {
        return outputs.length;
    }

    function output(uint256 index) public view returns (Output memory) {
        if (index >= outputs.length) revert UnknownOutput(index, outputs.length);
        return outputs[index];
    }

    /// When withdrawals against this output can be finalised (seconds since epoch).
    function finalAt(uint256 index) external view returns (uint256) {
        return output(index).timestamp + finalisationDelay;
    }
}
