// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// The messages committee members sign, exactly as src/consensus/certificate.ts builds them:
/// keccak256(rlp([domain, chainId, epoch, view, blockHash])) with domain "seqnet/vote/v1" for votes and
/// "seqnet/proposal/v1" for proposals. Plain Solidity (the Slasher runs rarely; CommitteeVerifier keeps
/// its own hand-tuned vote encoder for the hot path).
library SignedMessages {
    /// Slashable phases (DECISIONS.md §5): two signatures of one phase, epoch and view on different blocks.
    uint8 internal constant VOTE = 0;
    uint8 internal constant PROPOSAL = 1;

    error UnknownPhase(uint8 phase);

    function message(uint8 phase, uint64 chainId, uint64 epoch, uint64 view_, bytes32 blockHash)
        internal
        pure
        returns (bytes32)
    {
        bytes memory domain;
        if (phase == VOTE) domain = "seqnet/vote/v1";
        else if (phase == PROPOSAL) domain = "seqnet/proposal/v1";
        else revert UnknownPhase(phase);
        bytes memory payload = abi.encodePacked(
            bytes1(uint8(0x80 + domain.length)),
            domain,
            _rlpUint(chainId),
            _rlpUint(epoch),
            _rlpUint(view_),
            bytes1(0xa0),
            blockHash
        );
        // The payload is at most 1 + 18 + 3 · 9 + 33 = 79 bytes.
        bytes memory header = payload.length <= 55
            ? abi.encodePacked(bytes1(uint8(0xc0 + payload.length)))
            : abi.encodePacked(bytes1(0xf8), bytes1(uint8(payload.length)));
        return keccak256(abi.encodePacked(header, payload));
    }

    /// RLP of an unsigned integer: 0 is 0x80, 1…0x7f the byte itself, else 0x80 + length ‖ big-endian bytes.
    function _rlpUint(uint64 x) private pure returns (bytes memory) {
        if (x == 0) return hex"80";
        if (x < 0x80) return abi.encodePacked(bytes1(uint8(x)));
        uint256 n;
        for (uint64 t = x; t != 0; t >>= 8) n++;
        bytes memory out = new bytes(n + 1);
        out[0] = bytes1(uint8(0x80 + n));
        for (uint256 i = 0; i < n; i++) out[n - i] = bytes1(uint8(x >> (8 * i)));
        return out;
    }
}
