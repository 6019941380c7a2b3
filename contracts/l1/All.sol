// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Compilation root for the L1 contracts: `seqnet deploy` and the tests compile this one file.
import {SingleKeyAuthoriser} from "./SingleKeyAuthoriser.sol";
import {L1MessageQueue} from "./L1MessageQueue.sol";
import {Inbox} from "./Inbox.sol";
import {StateOracle} from "./StateOracle.sol";
import {Bridge} from "./Bridge.sol";
import {OpenInbox} from "./OpenInbox.sol";
