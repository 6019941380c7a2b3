// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BLS} from "../l1/BLS.sol";

/// Test-only: exposes the BLS library's pieces so tests can compare them with blst / noble.
contract BLSHarness {
    function expandMessageXmd(bytes memory message) external view returns (bytes memory) {
        return BLS.expandMessageXmd(message);
    }

    function hashToG2(bytes memory message) external view returns (bytes memory) {
        return BLS.hashToG2(message);
    }

    /// The gas hashToG2 takes inside a call (no intrinsic or calldata cost).
    function hashToG2Gas(bytes memory message) external view returns (uint256 used) {
        uint256 before = gasleft();
        BLS.hashToG2(message);
        used = before - gasleft();
    }

    function aggregateG1(bytes memory points, uint256 count) external view returns (bytes memory) {
        return BLS.aggregateG1(points, count);
    }

    function isG1SubgroupPoint(bytes memory point) external view returns (bool) {
        return BLS.isG1SubgroupPoint(point);
    }

    function verify(bytes memory publicKey, bytes memory message, bytes memory signature)
        external
        view
        returns (bool)
    {
        return BLS.verify(publicKey, message, signature);
    }
}
