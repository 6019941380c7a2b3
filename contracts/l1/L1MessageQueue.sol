// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// The ordered log of L1 → L2 messages: ETH deposits (from the Bridge) and forced transactions (from
/// anyone). Derivation applies the messages of L1 block m first, in log order, in the first L2 block
/// whose L1 origin is m or later (DECISIONS.md §3), so a censoring sequencer cannot keep them out.
contract L1MessageQueue {
    enum Kind {
        Deposit,
        ForcedTransaction
    }

    /// A forced transaction is a signed L2 transaction, as large as the L2 mempool accepts.
    uint256 public constant MAX_FORCED_TX_BYTES = 128 * 1024;

    address public immutable deployer;
    address public bridge;
    /// Number of messages so far; the next message's index.
    uint256 public messageCount;
    /// Rolling hash over all messages, so derivation can check it read every message.
    bytes32 public messageAccumulator;

    event L1Message(
        uint256 indexed index, Kind indexed kind, address indexed from, address to, uint256 value, bytes data
    );

    error AlreadyInitialised();
    error NotDeployer(address caller);
    error OnlyBridge(address caller);
    error ZeroAddress();
    error EmptyTransaction();
    error TransactionTooLarge(uint256 size, uint256 max);

    constructor() {
        deployer = msg.sender;
    }

    /// Binds the Bridge once (the two contracts need each other's address).
    function initialise(address bridge_) external {
        if (msg.sender != deployer) revert NotDeployer(msg.sender);
        if (bridge != address(0)) revert AlreadyInitialised();
        if (bridge_ == address(0)) revert ZeroAddress();
        bridge = bridge_;
    }

    function enqueueDeposit(address from, address to, uint256 value) external returns (uint256 index) {
        if (msg.sender != bridge) revert OnlyBridge(msg.sender);
        return _push(Kind.Deposit, from, to, value, "");
    }

    /// The escape hatch: anyone submits a signed L2 transaction; it lands in the rollup within the
    /// inclusion window whatever the sequencer does.
    function forceTransaction(bytes calldata signedTx) external returns (uint256 index) {
        if (signedTx.length == 0) revert EmptyTransaction();
        if (signedTx.length > MAX_FORCED_TX_BYTES) revert TransactionTooLarge(signedTx.length, MAX_FORCED_TX_BYTES);
        return _push(Kind.ForcedTransaction, msg.sender, address(0), 0, signedTx);
    }

    function _push(Kind kind, address from, address to, uint256 value, bytes memory data) private returns (uint256 index) {
        index = messageCount++;
        messageAccumulator = keccak256(abi.encode(messageAccumulator, index, kind, from, to, value, keccak256(data)));
        emit L1Message(index, kind, from, to, value, data);
    }
}
