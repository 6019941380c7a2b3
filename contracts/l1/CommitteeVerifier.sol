// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BLS} from "./BLS.sol";

/// Verifies the committee's quorum certificates and commit proofs on L1, exactly as
/// src/consensus/certificate.ts does off chain (DECISIONS.md §2, §4).
///
/// A vote is blst's min-pk BLS signature over
/// keccak256(rlp(["seqnet/vote/v1", chainId, epoch, view, sequencedBlockHash])); a QC is the aggregate
/// signature plus a signer bitmap; the signers' keys are aggregated here with G1ADD.
///
/// Encodings: public keys and signatures are EIP-2537 uncompressed points (G1 128 bytes, G2 256 bytes;
/// src/l1/bls-encoding.ts converts blst's). The signer bitmap is little-endian: member i is bit i % 8
/// of byte i / 8, exactly ⌈size / 8⌉ bytes, bits past the committee zero.
///
/// Each epoch's committee is kept (a batch certified in epoch e may reach L1 after e + 1 begins); a QC
/// is checked against the committee of its own epoch. A committee's keys live as the code of a data
/// contract (read with EXTCODECOPY: ~100 gas a key instead of four cold SLOADs).
///
/// Trust: 2f+1 honest members of each committee. The owner sets the first committee (and, without a
/// source, every later one); once the owner names a committee source (the StakeRegistry, or the
/// Governance for `dpos`) it can set none: anyone installs each epoch's committee from the source
/// (`installCommittee`), exactly the committee the nodes read for that epoch.
contract CommitteeVerifier {
    struct Committee {
        /// Data contract whose code is 0x00 ‖ key 0 ‖ key 1 ‖ … (128 bytes a key).
        address keys;
        uint16 size;
        uint16 quorum;
    }

    /// A quorum certificate as in certificate.ts, with the signers as a bitmap and the signature
    /// uncompressed.
    struct QC {
        uint64 epoch;
        uint64 view_;
        bytes32 blockHash;
        bytes signers;
        bytes signature;
    }

    /// Largest committee whose keys fit one contract's code (24,576 bytes).
    uint256 public constant MAX_COMMITTEE_SIZE = 191;

    address public immutable owner;
    /// The highest epoch with a committee.
    uint64 public latestEpoch;
    mapping(uint64 epoch => Committee) private committees;
    /// Where later epochs' committees come from, once set (zero: the owner sets them).
    ICommitteeSource public committeeSource;

    event CommitteeSet(uint64 indexed epoch, uint256 size, uint256 quorum, address keys);
    event CommitteeSourceSet(address source);

    error NotOwner(address caller);
    error BadCommitteeSize(uint256 size);
    error BadQuorum(uint256 quorum, uint256 size);
    error BadPublicKey(uint256 index);
    error DuplicateKey(uint256 index);
    error StaleEpoch(uint64 epoch, uint64 latest);
    error UnknownEpoch(uint64 epoch);
    error KeysNotStored();
    error BadBitmap();
    error NotEnoughSigners(uint256 have, uint256 need);
    error BadSignature();
    error NoCertificate();
    error QcNotForBlock(bytes32 qcBlockHash, bytes32 blockHash);
    error MissingChildQc();
    error ChildQcNotNextView(uint64 view_, uint64 childView);
    error ZeroAddress();
    error SourceAlreadySet(address source);
    error CommitteesFromSource(address source);
    error NoCommitteeSource();
    error EpochNotFixed(uint64 epoch, uint256 pinnedBlock, uint256 current);
    error AlreadyInstalled(uint64 epoch);

    constructor(uint64 epoch, bytes[] memory keys, uint256 quorum) {
        owner = msg.sender;
        _setCommittee(epoch, keys, quorum);
    }

    /// Installs the committee of a later epoch. Keys must be canonical G1 points in the subgroup, not
    /// infinity, pairwise distinct; the quorum must exceed two thirds (3·quorum > 2·size), as
    /// quorumFor() in certificate.ts does.
    function setCommittee(uint64 epoch, bytes[] calldata keys, uint256 quorum) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        if (address(committeeSource) != address(0)) revert CommitteesFromSource(address(committeeSource));
        if (epoch <= latestEpoch) revert StaleEpoch(epoch, latestEpoch);
        _setCommittee(epoch, keys, quorum);
    }

    /// Hands committees over to `source` for good (owner, once): from now on the owner sets none.
    function setCommitteeSource(ICommitteeSource source) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        if (address(committeeSource) != address(0)) revert SourceAlreadySet(address(committeeSource));
        if (address(source) == address(0)) revert ZeroAddress();
        committeeSource = source;
        emit CommitteeSourceSet(address(source));
    }

    /// Installs epoch `epoch`'s committee from the source, by anyone: the source's committee at the
    /// end of the epoch's pinned block (which must be mined: before that, stakes can still change),
    /// with the quorum 2f+1 of its size (certificate.ts quorumFor). Epochs may be installed in any
    /// order (a committee is fixed by its pinned block, whoever installs it when), each once.
    function installCommittee(uint64 epoch) external {
        ICommitteeSource source = committeeSource;
        if (address(source) == address(0)) revert NoCommitteeSource();
        if (committees[epoch].keys != address(0)) revert AlreadyInstalled(epoch);
        uint256 pinned = source.pinnedBlock(epoch);
        if (pinned >= block.number) revert EpochNotFixed(epoch, pinned, block.number);
        (, bytes[] memory keys,) = source.committeeAt(pinned);
        uint256 n = keys.length;
        _setCommittee(epoch, keys, n == 0 ? 0 : n - (n - 1) / 3);
    }

    function committee(uint64 epoch) public view returns (Committee memory c) {
        c = committees[epoch];
        if (c.keys == address(0)) revert UnknownEpoch(epoch);
    }

    /// The committee's public keys (EIP-2537 G1, 128 bytes each), in index order.
    function publicKeys(uint64 epoch) external view returns (bytes[] memory keys) {
        Committee memory c = committee(epoch);
        keys = new bytes[](c.size);
        for (uint256 i = 0; i < c.size; i++) keys[i] = _key(c.keys, i);
    }

    /// keccak256(rlp(["seqnet/vote/v1", chainId, epoch, view, blockHash])): certificate.ts's voteMessage.
    /// RLP integers are big-endian without leading zeros: 0 is 0x80, 1…0x7f the byte itself, larger ones
    /// 0x80 + length then the bytes. The payload is 51 to 75 bytes, so the list header is 0xc0 + length
    /// (≤ 55) or 0xf8, length.
    function voteMessage(uint64 chainId, uint64 epoch, uint64 view_, bytes32 blockHash)
        public
        pure
        returns (bytes32 digest)
    {
        assembly ("memory-safe") {
            function putUint(ptr, x) -> end {
                switch lt(x, 0x80)
                case 1 {
                    switch x
                    case 0 { mstore8(ptr, 0x80) }
                    default { mstore8(ptr, x) }
                    end := add(ptr, 1)
                }
                default {
                    let n := 0
                    for { let t := x } t { t := shr(8, t) } { n := add(n, 1) }
                    mstore8(ptr, add(0x80, n))
                    mstore(add(ptr, 1), shl(sub(256, shl(3, n)), x))
                    end := add(add(ptr, 1), n)
                }
            }
            // Scratch beyond the free memory pointer: [2 header bytes][payload ≤ 75][word overrun].
            let buf := mload(0x40)
            let start := add(buf, 2)
            // 0x8e ‖ "seqnet/vote/v1"
            mstore(start, 0x8e7365716e65742f766f74652f76310000000000000000000000000000000000)
            let p := add(start, 15)
            p := putUint(p, chainId)
            p := putUint(p, epoch)
            p := putUint(p, view_)
            mstore8(p, 0xa0)
            mstore(add(p, 1), blockHash)
            let len := sub(add(p, 33), start)
            switch gt(len, 55)
            case 0 {
                mstore8(add(buf, 1), add(0xc0, len))
                digest := keccak256(add(buf, 1), add(len, 1))
            }
            default {
                mstore8(buf, 0xf8)
                mstore8(add(buf, 1), len)
                digest := keccak256(buf, add(len, 2))
            }
        }
    }

    /// Reverts unless `signature` is the committee of `epoch`'s aggregate signature, by at least a
    /// quorum of the members `signersBitmap` names, on the vote for `blockHash` in (epoch, view).
    function verifyQC(
        uint64 chainId,
        uint64 epoch,
        uint64 view_,
        bytes32 blockHash,
        bytes calldata signersBitmap,
        bytes calldata signature
    ) public view {
        _verifyAggregate(epoch, voteMessage(chainId, epoch, view_, blockHash), signersBitmap, signature);
    }

    /// keccak256("seqnet/output/v1" ‖ chainId ‖ epoch ‖ l2Block ‖ outputRoot), the integers as 8
    /// big-endian bytes: certificate.ts's outputMessage. What a member signs to vouch for an L2 output
    /// (StateOracle.outputRootOf) it computed itself (DECISIONS.md §4: the committee certifies state roots).
    function outputMessage(uint64 chainId, uint64 epoch, uint64 l2Block, bytes32 outputRoot)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked("seqnet/output/v1", chainId, epoch, l2Block, outputRoot));
    }

    /// Reverts unless `signature` is the aggregate signature of at least a quorum of the committee of
    /// `epoch`, the members `signersBitmap` names, on the output `outputRoot` of L2 block `l2Block`.
    function verifyOutput(
        uint64 chainId,
        uint64 epoch,
        uint64 l2Block,
        bytes32 outputRoot,
        bytes calldata signersBitmap,
        bytes calldata signature
    ) external view {
        _verifyAggregate(epoch, outputMessage(chainId, epoch, l2Block, outputRoot), signersBitmap, signature);
    }

    /// Reverts unless the proof commits `blockHash`, as certificate.ts's verifyCommitProof: the first QC
    /// is for the block; a committee of more than one also needs the QC of the direct child from the
    /// next view (HotStuff-2's two-chain rule; a committee of one commits with one QC); every QC must
    /// verify. `height` is carried as in the CommitProof and, as there, not part of any signed vote.
    function verifyCommitProof(uint64 chainId, uint64 height, bytes32 blockHash, QC[] calldata qcs)
        external
        view
    {
        height;
        if (qcs.length == 0) revert NoCertificate();
        QC calldata first = qcs[0];
        if (first.blockHash != blockHash) revert QcNotForBlock(first.blockHash, blockHash);
        if (committee(first.epoch).size > 1) {
            if (qcs.length < 2) revert MissingChildQc();
            if (uint256(qcs[1].view_) != uint256(first.view_) + 1) {
                revert ChildQcNotNextView(first.view_, qcs[1].view_);
            }
        }
        for (uint256 i = 0; i < qcs.length; i++) {
            QC calldata q = qcs[i];
            verifyQC(chainId, q.epoch, q.view_, q.blockHash, q.signers, q.signature);
        }
    }

    // ---------------------------------------------------------------------------------------------

    function _verifyAggregate(uint64 epoch, bytes32 digest, bytes calldata signersBitmap, bytes calldata signature)
        private
        view
    {
        Committee memory c = committee(epoch);
        uint256 have = _countSigners(signersBitmap, c.size);
        if (have < c.quorum) revert NotEnoughSigners(have, c.quorum);
        bytes memory sig = signature;
        if (!BLS.isCanonicalG2(sig) || BLS.isInfinity(sig)) revert BLS.BadPoint();
        bytes memory aggregateKey = BLS.aggregateG1(_signerKeys(c, signersBitmap, have), have);
        if (!BLS.pairingCheck(aggregateKey, BLS.hashToG2(abi.encodePacked(digest)), sig)) revert BadSignature();
    }

    function _setCommittee(uint64 epoch, bytes[] memory keys, uint256 quorum) private {
        uint256 n = keys.length;
        if (n == 0 || n > MAX_COMMITTEE_SIZE) revert BadCommitteeSize(n);
        if (quorum == 0 || quorum > n || 3 * quorum <= 2 * n) revert BadQuorum(quorum, n);
        bytes memory blob = new bytes(1 + 128 * n); // leading 0x00: the data contract's code stops at once
        for (uint256 i = 0; i < n; i++) {
            bytes memory key = keys[i];
            if (!BLS.isCanonicalG1(key) || BLS.isInfinity(key) || !BLS.isG1SubgroupPoint(key)) {
                revert BadPublicKey(i);
            }
            bytes32 h = keccak256(key);
            bool seen;
            // Duplicate detection in transient storage, cleared again below (and by any revert).
            assembly ("memory-safe") {
                seen := tload(h)
                tstore(h, 1)
                let from := add(key, 32)
                let to := add(add(blob, 33), mul(i, 128))
                mstore(to, mload(from))
                mstore(add(to, 32), mload(add(from, 32)))
                mstore(add(to, 64), mload(add(from, 64)))
                mstore(add(to, 96), mload(add(from, 96)))
            }
            if (seen) revert DuplicateKey(i);
        }
        for (uint256 i = 0; i < n; i++) {
            bytes32 h = keccak256(keys[i]);
            assembly ("memory-safe") {
                tstore(h, 0)
            }
        }
        address data = _store(blob);
        committees[epoch] = Committee({keys: data, size: uint16(n), quorum: uint16(quorum)});
        if (epoch > latestEpoch) latestEpoch = epoch;
        emit CommitteeSet(epoch, n, quorum, data);
    }

    /// Deploys `blob` as a contract's code (init code: PUSH2 len, DUP1, PUSH1 12, PUSH1 0, CODECOPY,
    /// PUSH1 0, RETURN).
    function _store(bytes memory blob) private returns (address data) {
        bytes memory init = abi.encodePacked(hex"61", uint16(blob.length), hex"80600c6000396000f3", blob);
        assembly ("memory-safe") {
            data := create(0, add(init, 32), mload(init))
        }
        if (data == address(0)) revert KeysNotStored();
    }

    function _key(address keys, uint256 i) private view returns (bytes memory key) {
        key = new bytes(128);
        assembly ("memory-safe") {
            extcodecopy(keys, add(key, 32), add(1, mul(i, 128)), 128)
        }
    }

    /// The number of members the bitmap names; BadBitmap unless it is ⌈size / 8⌉ bytes with no bit
    /// past the committee.
    function _countSigners(bytes calldata bitmap, uint256 size) private pure returns (uint256 count) {
        uint256 len = bitmap.length;
        if (len != (size + 7) / 8) revert BadBitmap();
        uint256 spare = len * 8 - size;
        if (spare != 0 && uint8(bitmap[len - 1]) >> (8 - spare) != 0) revert BadBitmap();
        assembly ("memory-safe") {
            for { let j := 0 } lt(j, len) { j := add(j, 1) } {
                for { let b := byte(0, calldataload(add(bitmap.offset, j))) } b { b := and(b, sub(b, 1)) } {
                    count := add(count, 1)
                }
            }
        }
    }

    /// The named signers' keys end to end (count · 128 bytes), copied from the data contract.
    function _signerKeys(Committee memory c, bytes calldata bitmap, uint256 count)
        private
        view
        returns (bytes memory out)
    {
        address keys = c.keys;
        uint256 size = c.size;
        assembly ("memory-safe") {
            // Allocated without zeroing: every byte is written below.
            out := mload(0x40)
            mstore(out, shl(7, count))
            mstore(0x40, add(add(out, 32), shl(7, count)))
            let dst := add(out, 32)
            for { let i := 0 } lt(i, size) { i := add(i, 1) } {
                if and(shr(and(i, 7), byte(0, calldataload(add(bitmap.offset, shr(3, i))))), 1) {
                    extcodecopy(keys, dst, add(1, shl(7, i)), 128)
                    dst := add(dst, 128)
                }
            }
        }
    }
}

/// What a CommitteeVerifier installs committees from: the StakeRegistry or the Governance (their
/// epochs, and their committees at past blocks from their histories).
interface ICommitteeSource {
    function pinnedBlock(uint64 epoch) external view returns (uint256);
    function committeeAt(uint256 blockNumber)
        external
        view
        returns (address[] memory members, bytes[] memory memberKeys, uint256[] memory stakes);
}
