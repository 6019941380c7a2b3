// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {L1MessageQueue} from "./L1MessageQueue.sol";
import {StateOracle} from "./StateOracle.sol";

/// ETH in and out of the rollup. Deposits are queued as L1 messages and credited on L2 at a
/// deterministic place; withdrawals are leaves of the L2 withdrawals tree, finalised here with a Merkle
/// proof against a certified output once the finalisation delay has passed.
contract Bridge {
    L1MessageQueue public immutable queue;
    StateOracle public immutable oracle;
    /// Withdrawal leaf hash => finalised.
    mapping(bytes32 => bool) public finalised;

    event DepositInitiated(address indexed from, address indexed to, uint256 value, uint256 messageIndex);
    event WithdrawalFinalised(bytes32 indexed leaf, address indexed to, uint256 value);

    error ZeroAddress();
    error ZeroDeposit();
    error DepositNotWholeGwei(uint256 value);
    error BadOutput(uint256 outputIndex);
    error OutputNotFinal(uint256 outputIndex, uint256 finalAt);
    error BadProof(bytes32 leaf);
    error AlreadyFinalised(bytes32 leaf);
    error TransferFailed(address to, uint256 value);

    struct Withdrawal {
        uint256 nonce;
        address from;
        address to;
        uint256 value;
    }

    constructor(L1MessageQueue queue_, StateOracle oracle_) {
        if (address(queue_) == address(0) || address(oracle_) == address(0)) revert ZeroAddress();
        queue = queue_;
        oracle = oracle_;
    }

    function depositETH(address to) external payable returns (uint256 messageIndex) {
        if (to == address(0)) revert ZeroAddress();
        if (msg.value == 0) revert ZeroDeposit();
        // L2 credits deposits as EIP-4895 withdrawal entries, whose amounts are in gwei.
        if (msg.value % 1 gwei != 0) revert DepositNotWholeGwei(msg.value);
        messageIndex = queue.enqueueDeposit(msg.sender, to, msg.value);
        emit DepositInitiated(msg.sender, to, msg.value, messageIndex);
    }

    function withdrawalLeaf(Withdrawal calldata w) public pure returns (bytes32) {
        return keccak256(abi.encode(w.nonce, w.from, w.to, w.value));
    }

    /// `proof` is the sibling path from the leaf at `leafIndex` up to `withdrawalsRoot` (binary tree,
    /// keccak256(left ‖ right), odd nodes paired with themselves).
    function finaliseWithdrawal(
        uint256 outputIndex,
        bytes32 stateRoot,
        bytes32 withdrawalsRoot,
        bytes32 blockHash,
        Withdrawal calldata w,
        uint256 leafIndex,
        bytes32[] calldata proof
    ) external {
        StateOracle.Output memory out = oracle.output(outputIndex);
        if (oracle.outputRootOf(stateRoot, withdrawalsRoot, blockHash) != out.outputRoot) revert BadOutput(outputIndex);
        uint256 finalAt = out.timestamp + oracle.finalisationDelay();
        if (block.timestamp < finalAt) revert OutputNotFinal(outputIndex, finalAt);
        bytes32 leaf = withdrawalLeaf(w);
        if (finalised[leaf]) revert AlreadyFinalised(leaf);
        bytes32 node = leaf;
        uint256 index = leafIndex;
        for (uint256 i = 0; i < proof.length; i++) {
            node = index & 1 == 0 ? keccak256(abi.encodePacked(node, proof[i])) : keccak256(abi.encodePacked(proof[i], node));
            index >>= 1;
        }
        if (node != withdrawalsRoot || index != 0) revert BadProof(leaf);
        finalised[leaf] = true;
        (bool ok,) = w.to.call{value: w.value}("");
        if (!ok) revert TransferFailed(w.to, w.value);
        emit WithdrawalFinalised(leaf, w.to, w.value);
    }
}
