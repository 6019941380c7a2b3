// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// The part of ERC-20 the election contracts use (stakes and votes in the rollup's token).
interface IERC20 {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
    function balanceOf(address account) external view returns (uint256);
}
