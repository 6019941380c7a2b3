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
    /// the lower index first among equals (the lower slot).
    ///
    /// O(n log size): a heap of the best `size` so far, its root the worst of them (a scan that picked
    /// the best remaining `size` times cost ~330 gas per value and member: an install of 16 of 1,024
    /// stakers took 17.9M gas with it, 12.9M with this).
    function select(uint256[] memory values, uint256 minimum, uint256 size)
        internal
        pure
        returns (uint256[] memory picked)
    {
        uint256 n = values.length;
        uint256[] memory heap = new uint256[](size < n ? size : n);
        uint256 count;
        for (uint256 i = 0; i < n; i++) {
            if (values[i] < minimum) continue;
            if (count < heap.length) {
                heap[count] = i;
                _siftUp(values, heap, count);
                count++;
            } else if (count != 0 && values[i] > values[heap[0]]) {
                // Strictly more only: an equal value at a later index loses the tie to the root.
                heap[0] = i;
                _siftDown(values, heap, 0, count);
            }
        }
        // Pop the worst into the last free place until none is left: best first.
        picked = new uint256[](count);
        for (uint256 left = count; left > 0; left--) {
            picked[left - 1] = heap[0];
            heap[0] = heap[left - 1];
            _siftDown(values, heap, 0, left - 1);
        }
    }

    /// Whether index `a` ranks below index `b`: a smaller value, or an equal one at a later index.
    function _worse(uint256[] memory values, uint256 a, uint256 b) private pure returns (bool) {
        return values[a] < values[b] || (values[a] == values[b] && a > b);
    }

    function _siftUp(uint256[] memory values, uint256[] memory heap, uint256 at) private pure {
        while (at > 0) {
            uint256 parent = (at - 1) / 2;
            if (!_worse(values, heap[at], heap[parent])) break;
            (heap[at], heap[parent]) = (heap[parent], heap[at]);
            at = parent;
        }
    }

    function _siftDown(uint256[] memory values, uint256[] memory heap, uint256 at, uint256 len) private pure {
        while (true) {
            uint256 worst = at;
            uint256 l = 2 * at + 1;
            if (l < len && _worse(values, heap[l], heap[worst])) worst = l;
            if (l + 1 < len && _worse(values, heap[l + 1], heap[worst])) worst = l + 1;
            if (worst == at) return;
            (heap[at], heap[worst]) = (heap[worst], heap[at]);
            at = worst;
        }
    }
}
