// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// L2 system contract (predeployed at 0x4200000000000000000000000000000000000016, as on OP Stack):
/// a withdrawal locks ETH here and becomes the next leaf of the withdrawals tree, whose root goes into
/// each output the StateOracle certifies; the Bridge pays it out on L1 with a Merkle proof.
contract L2ToL1MessagePasser {
    uint256 public withdrawalCount;

    event WithdrawalInitiated(uint256 indexed nonce, address indexed from, address indexed to, uint256 value);

    error ZeroAddress();
    error ZeroValue();

    function initiateWithdrawal(address to) external payable returns (uint256 nonce) {
        if (to == address(0)) revert ZeroAddress();
        if (msg.value == 0) revert ZeroValue();
        nonce = withdrawalCount++;
        emit WithdrawalInitiated(nonce, msg.sender, to, msg.value);
    }
}
