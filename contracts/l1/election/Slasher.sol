// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BLS} from "../BLS.sol";
import {SignedMessages} from "./SignedMessages.sol";
import {StakeRegistry} from "./StakeRegistry.sol";

/// Slashes provable equivocation only (DECISIONS.md §5): two signatures by one registered key for the
/// same (epoch, view, phase) of this rollup on different blocks. Anyone may report; the registry pays
/// the reporter its share of the stake and burns the rest.
///
/// Two ways to prove it:
/// - `slashDoubleSign`: the two individual signatures (what a node's equivocation evidence holds);
/// - `slashConflictingCertificates`: two aggregate certificates (QCs) for one (epoch, view) on
///   different blocks, each with its signers' registered keys. Every key has a proof of possession, so
///   a valid aggregate means every signer signed; the keys in both sets signed both blocks and are
///   slashed. Two conflicting preconfirmations for one view reveal their double-signers this way.
contract Slasher {
    StakeRegistry public immutable registry;
    /// The rollup's chain id, part of every signed message.
    uint64 public immutable chainId;

    event Equivocation(address indexed staker, uint8 phase, uint64 epoch, uint64 view_, bytes32 blockA, bytes32 blockB);

    error ZeroAddress();
    error ZeroChainId();
    error NotConflicting();
    error UnknownKey(bytes32 keyHash);
    error BadSignature(uint256 which);
    error NoSigners(uint256 which);
    error NothingToSlash();

    constructor(StakeRegistry registry_, uint64 chainId_) {
        if (address(registry_) == address(0)) revert ZeroAddress();
        if (chainId_ == 0) revert ZeroChainId();
        registry = registry_;
        chainId = chainId_;
    }

    /// One signed message: the block it names and the signature (EIP-2537 G2, 256 bytes).
    struct Signed {
        bytes32 blockHash;
        bytes signature;
    }

    /// An aggregate vote certificate: the block, the signers' registered keys (EIP-2537 G1) and the
    /// aggregate signature.
    struct Certificate {
        bytes32 blockHash;
        bytes[] keys;
        bytes signature;
    }

    /// `key` (EIP-2537 G1, as registered) signed `phase` (0 vote, 1 proposal) messages for two
    /// different blocks in (epoch, view).
    function slashDoubleSign(uint8 phase, bytes calldata key, uint64 epoch, uint64 view_, Signed calldata a, Signed calldata b)
        external
        returns (uint256 amount)
    {
        if (a.blockHash == b.blockHash) revert NotConflicting();
        address staker = _stakerOf(key);
        _verifySigned(key, _message(phase, epoch, view_, a.blockHash), a.signature, 0);
        _verifySigned(key, _message(phase, epoch, view_, b.blockHash), b.signature, 1);
        amount = registry.slash(staker, msg.sender);
        emit Equivocation(staker, phase, epoch, view_, a.blockHash, b.blockHash);
    }

    /// Two vote certificates for one (epoch, view) on different blocks. Slashes every key in both
    /// signer sets not yet slashed; NothingToSlash when there is none.
    function slashConflictingCertificates(uint64 epoch, uint64 view_, Certificate calldata a, Certificate calldata b)
        external
        returns (uint256 slashedCount)
    {
        if (a.blockHash == b.blockHash) revert NotConflicting();
        _verifyAggregate(a.keys, _message(SignedMessages.VOTE, epoch, view_, a.blockHash), a.signature, 0);
        _verifyAggregate(b.keys, _message(SignedMessages.VOTE, epoch, view_, b.blockHash), b.signature, 1);
        for (uint256 i = 0; i < a.keys.length; i++) {
            bytes32 h = keccak256(a.keys[i]);
            if (!_contains(b.keys, h)) continue;
            address staker = registry.stakerOfKey(h);
            if (registry.stakerInfo(staker).slashed) continue;
            registry.slash(staker, msg.sender);
            emit Equivocation(staker, SignedMessages.VOTE, epoch, view_, a.blockHash, b.blockHash);
            slashedCount++;
        }
        if (slashedCount == 0) revert NothingToSlash();
    }

    function _contains(bytes[] calldata keys, bytes32 keyHash) private pure returns (bool) {
        for (uint256 j = 0; j < keys.length; j++) if (keccak256(keys[j]) == keyHash) return true;
        return false;
    }

    function _stakerOf(bytes calldata key) private view returns (address staker) {
        bytes32 keyHash = keccak256(key);
        staker = registry.stakerOfKey(keyHash);
        if (staker == address(0)) revert UnknownKey(keyHash);
    }

    function _verifySigned(bytes calldata key, bytes memory message, bytes calldata sig, uint256 which) private view {
        if (!BLS.verify(key, message, sig)) revert BadSignature(which);
    }

    function _message(uint8 phase, uint64 epoch, uint64 view_, bytes32 blockHash) private view returns (bytes memory) {
        return abi.encodePacked(SignedMessages.message(phase, chainId, epoch, view_, blockHash));
    }

    /// Every key must be registered (so it passed the subgroup and possession checks); then the
    /// aggregate of the keys must verify `sig` over `message`.
    function _verifyAggregate(bytes[] calldata keys, bytes memory message, bytes calldata sig, uint256 which)
        private
        view
    {
        uint256 n = keys.length;
        if (n == 0) revert NoSigners(which);
        bytes memory all = new bytes(128 * n);
        for (uint256 i = 0; i < n; i++) {
            bytes32 h = keccak256(keys[i]);
            if (registry.stakerOfKey(h) == address(0)) revert UnknownKey(h);
            if (keys[i].length != 128) revert UnknownKey(h);
            bytes calldata k = keys[i];
            assembly ("memory-safe") {
                calldatacopy(add(add(all, 32), mul(i, 128)), k.offset, 128)
            }
        }
        bytes memory s = sig;
        if (!BLS.isCanonicalG2(s) || BLS.isInfinity(s)) revert BLS.BadPoint();
        bytes memory aggregateKey = BLS.aggregateG1(all, n);
        if (!BLS.pairingCheck(aggregateKey, BLS.hashToG2(message), s)) revert BadSignature(which);
    }
}
