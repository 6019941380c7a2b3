// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Who may post batches and state outputs: a single key now, a committee certificate or anyone later
/// (DECISIONS.md §4). The Inbox and the StateOracle ask it; they never change when the mode does.
interface IBatchAuthoriser {
    function isAuthorised(address poster) external view returns (bool);
}
