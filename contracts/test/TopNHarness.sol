// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TopN} from "../l1/election/Checkpoints.sol";

/// Test-only: exposes the committee selection so tests can compare it with a plain sort.
contract TopNHarness {
    function select(uint256[] memory values, uint256 minimum, uint256 size)
        external
        pure
        returns (uint256[] memory)
    {
        return TopN.select(values, minimum, size);
    }
}
