// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Amounts through time, one storage slot each: what a value was at the end of a past L1 block
/// (votes at a proposal's snapshot; stakes and delegated votes at an epoch's pinned block).
library Checkpoints {
    struct Checkpoint {
        uint64 fromBlock;
        /// 192 bits, with the block in one slot: no stake or vote comes near 2^192 base units.
        uint192 amount;
    }

    error AmountTooLarge(uint256 amount);

    /// Records `amount` from this block on (a second write in one block replaces the first: the end of
    /// the block is what `at` reads). Reverts rather than cut an amount past 192 bits.
    function write(Checkpoint[] storage h, uint256 amount) internal {
        if (amount > type(uint192).max) revert AmountTooLarge(amount);
        uint256 n = h.length;
        if (n != 0 && h[n - 1].fromBlock == block.number) h[n - 1].amount = uint192(amount);
        else h.push(Checkpoint(uint64(block.number), uint192(amount)));
    }

    /// The latest amount (0 when none was written).
    function latest(Checkpoint[] storage h) internal view returns (uint256) {
        return h.length == 0 ? 0 : h[h.length - 1].amount;
    }

    /// The amount at the end of L1 block `blockNumber` (0 before the first write): binary search.
    function at(Checkpoint[] storage h, uint256 blockNumber) internal view returns (uint256) {
        uint256 lo = 0;
        uint256 hi = h.length;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (h[mid].fromBlock > blockNumber) hi = mid;
            else lo = mid + 1;
        }
        return lo == 0 ? 0 : h[lo - 1].amount;
    }
}

/// The committee selection the StakeRegistry and the Governance share.
library TopN {
    /// Indices of the (at most) `size` largest `values` that are at least `minimum`, largest first,
    /// the lower index first among equals (the earlier registration).
    function select(uint256[] memory values, uint256 minimum, uint256 size)
        internal
        pure
        returns (uint256[] memory picked)
    {
        uint256 n = values.length;
        bool[] memory taken = new bool[](n);
        picked = new uint256[](size);
        uint256 count;
        for (; count < size; count++) {
            uint256 best = type(uint256).max;
            for (uint256 i = 0; i < n; i++) {
                if (taken[i] || values[i] < minimum) continue;
                if (best == type(uint256).max || values[i] > values[best]) best = i;
            }
            if (best == type(uint256).max) break;
            taken[best] = true;
            picked[count] = best;
        }
        assembly ("memory-safe") {
            mstore(picked, count)
        }
    }
}
