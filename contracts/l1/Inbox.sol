// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BlobData} from "./BlobData.sol";
import {IBatchLog} from "./IBatchLog.sol";

import {IBatchAuthoriser} from "./IBatchAuthoriser.sol";
import {CommitteeVerifier} from "./CommitteeVerifier.sol";

/// Append-only log of batches (DECISIONS.md §4). It checks who posts and that block ranges follow on;
/// whether a batch is valid is decided by derivation alone, which reads the data from calldata or blobs.
///
/// Two ways in, recorded alike (same checks, same BatchPosted event):
/// - `postBatch` / `postBlobBatch`: the poster must be one the authoriser allows (the single key);
/// - `postCertifiedBatch` / `postCertifiedBlobBatch` (committee mode, when a CommitteeVerifier is set):
///   anyone may post, with the committee's commit proof for the batch's last block (DECISIONS.md §2:
///   QC(B) and, for a committee of more than one, the QC of B's child from the next view). The proof
///   is checked for the rollup's chain id fixed here; the verifier's named errors (BadSignature,
///   QcNotForBlock, NotEnoughSigners, MissingChildQc, …) reach the caller unchanged.
contract Inbox is IBatchLog {
    struct Batch {
        uint64 firstBlock;
        uint64 lastBlock;
        bytes32 lastBlockHash;
        bytes32 dataHash;
        uint256 l1MessageCursor;
        uint64 postedAtBlock;
    }

    IBatchAuthoriser public immutable authoriser;
    /// The committee's verifier; zero when the rollup has no committee mode.
    CommitteeVerifier public immutable verifier;
    /// The rollup's (L2) chain id, part of every vote the committee signs; zero without a verifier.
    uint64 public immutable chainId;
    Batch[] private batches;
    /// The first L2 block the next batch must start with.
    uint64 public nextBlock = 1;


    error ZeroAddress();
    error NotAuthorised(address poster);
    error EmptyBatch();
    error UnexpectedFirstBlock(uint64 expected, uint64 got);
    error BadBlockRange(uint64 firstBlock, uint64 lastBlock);
    error UnknownBatch(uint256 index, uint256 count);
    /// A certified batch was posted to an Inbox deployed without a CommitteeVerifier.
    error NoCommitteeVerifier();
    /// This Inbox has a committee: post with postCertifiedBatch / postCertifiedBlobBatch.
    error CertificateRequired();
    /// The verifier given to the constructor has no code.
    error VerifierNotAContract(address verifier);
    /// Committee mode needs the rollup's chain id (the votes are signed for it).
    error ZeroChainId();

    /// `verifier_` zero: no committee mode (the certified functions revert), `chainId_` ignored.
    constructor(IBatchAuthoriser authoriser_, CommitteeVerifier verifier_, uint64 chainId_) {
        if (address(authoriser_) == address(0)) revert ZeroAddress();
        authoriser = authoriser_;
        if (address(verifier_) != address(0)) {
            if (address(verifier_).code.length == 0) revert VerifierNotAContract(address(verifier_));
            if (chainId_ == 0) revert ZeroChainId();
            verifier = verifier_;
            chainId = chainId_;
        }
    }

    /// A batch carried as calldata: `data` is the compressed, versioned batch encoding.
    function postBatch(uint64 firstBlock, uint64 lastBlock, bytes32 lastBlockHash, uint256 l1MessageCursor, bytes calldata data)
        external
        returns (uint256 index)
    {
        if (data.length == 0) revert EmptyBatch();
        _authorise();
        _uncertifiedAllowed();
        return _record(firstBlock, lastBlock, lastBlockHash, l1MessageCursor, keccak256(data), false);
    }

    /// A batch carried in this transaction's EIP-4844 blobs: the versioned hashes are what is recorded.
    function postBlobBatch(uint64 firstBlock, uint64 lastBlock, bytes32 lastBlockHash, uint256 l1MessageCursor)
        external
        returns (uint256 index)
    {
        bytes32 dataHash = BlobData.dataHash();
        _authorise();
        _uncertifiedAllowed();
        return _record(firstBlock, lastBlock, lastBlockHash, l1MessageCursor, dataHash, true);
    }

    /// As postBatch, with `qcs` the committee's commit proof for block `lastBlock`, whose hash is
    /// `lastBlockHash` (CommitteeVerifier.verifyCommitProof). `data` stays the 5th argument, where
    /// derivation reads postBatch's. The poster must be authorised too: the votes sign only the block
    /// hash, so a certificate alone would let anyone claim another range or junk data and halt the Inbox.
    function postCertifiedBatch(
        uint64 firstBlock,
        uint64 lastBlock,
        bytes32 lastBlockHash,
        uint256 l1MessageCursor,
        bytes calldata data,
        CommitteeVerifier.QC[] calldata qcs
    ) external returns (uint256 index) {
        if (data.length == 0) revert EmptyBatch();
        _certify(firstBlock, lastBlock, lastBlockHash, qcs);
        _authorise();
        return _record(firstBlock, lastBlock, lastBlockHash, l1MessageCursor, keccak256(data), false);
    }

    /// As postBlobBatch, with the commit proof of postCertifiedBatch (and an authorised poster).
    function postCertifiedBlobBatch(
        uint64 firstBlock,
        uint64 lastBlock,
        bytes32 lastBlockHash,
        uint256 l1MessageCursor,
        CommitteeVerifier.QC[] calldata qcs
    ) external returns (uint256 index) {
        bytes32 dataHash = BlobData.dataHash();
        _certify(firstBlock, lastBlock, lastBlockHash, qcs);
        _authorise();
        return _record(firstBlock, lastBlock, lastBlockHash, l1MessageCursor, dataHash, true);
    }

    /// With a committee, a key alone no longer posts: every batch needs the committee's certificate.
    function _uncertifiedAllowed() private view {
        if (address(verifier) != address(0)) revert CertificateRequired();
    }

    function _authorise() private view {
        if (!authoriser.isAuthorised(msg.sender)) revert NotAuthorised(msg.sender);
    }

    /// The cheap range checks first (a stale or doubled post fails without a pairing), then the proof.
    function _certify(uint64 firstBlock, uint64 lastBlock, bytes32 lastBlockHash, CommitteeVerifier.QC[] calldata qcs)
        private
        view
    {
        CommitteeVerifier v = verifier;
        if (address(v) == address(0)) revert NoCommitteeVerifier();
        _checkRange(firstBlock, lastBlock);
        v.verifyCommitProof(chainId, lastBlock, lastBlockHash, qcs);
    }

    function _checkRange(uint64 firstBlock, uint64 lastBlock) private view {
        if (firstBlock != nextBlock) revert UnexpectedFirstBlock(nextBlock, firstBlock);
        if (lastBlock < firstBlock) revert BadBlockRange(firstBlock, lastBlock);
    }

    function _record(
        uint64 firstBlock,
        uint64 lastBlock,
        bytes32 lastBlockHash,
        uint256 l1MessageCursor,
        bytes32 dataHash,
        bool blobs
    ) private returns (uint256 index) {
        _checkRange(firstBlock, lastBlock);
        nextBlock = lastBlock + 1;
        index = batches.length;
        batches.push(Batch(firstBlock, lastBlock, lastBlockHash, dataHash, l1MessageCursor, uint64(block.number)));
        emit BatchPosted(index, firstBlock, lastBlock, lastBlockHash, dataHash, l1MessageCursor, blobs);
    }

    function batchCount() external view returns (uint256) {
        return batches.length;
    }

    function batch(uint256 index) external view returns (Batch memory) {
        if (index >= batches.length) revert UnknownBatch(index, batches.length);
        return batches[index];
    }
}
