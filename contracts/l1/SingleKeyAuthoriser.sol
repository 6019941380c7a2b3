// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IBatchAuthoriser} from "./IBatchAuthoriser.sol";

/// The single-sequencer mode: one key posts; its owner can rotate it.
contract SingleKeyAuthoriser is IBatchAuthoriser {
    address public immutable owner;
    address public sequencer;

    event SequencerChanged(address indexed previous, address indexed next);

    error NotOwner(address caller);
    error ZeroAddress();

    constructor(address sequencer_) {
        if (sequencer_ == address(0)) revert ZeroAddress();
        owner = msg.sender;
        sequencer = sequencer_;
        emit SequencerChanged(address(0), sequencer_);
    }

    function setSequencer(address next) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        if (next == address(0)) revert ZeroAddress();
        emit SequencerChanged(sequencer, next);
        sequencer = next;
    }

    function isAuthorised(address poster) external view returns (bool) {
        return poster == sequencer;
    }
}
