// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Compilation root for the election contracts (issue 5): staking, slashing, the auction, governance.
import {StakeRegistry} from "./StakeRegistry.sol";
import {Slasher} from "./Slasher.sol";
import {SequencerAuction} from "./SequencerAuction.sol";
import {Governance} from "./Governance.sol";
