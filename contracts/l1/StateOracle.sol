// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CommitteeVerifier} from "./CommitteeVerifier.sol";
import {IBatchAuthoriser} from "./IBatchAuthoriser.sol";

/// Certified L2 outputs (DECISIONS.md §4): for an L2 block, keccak256(abi.encode(stateRoot,
/// withdrawalsRoot, blockHash)). The Bridge finalises withdrawals against outputs older than the
/// finalisation delay.
///
/// Two ways in, as the Inbox has:
/// - `propose`: the single sequencer's key (the authoriser), when no committee is set;
/// - `proposeCertified` (when a CommitteeVerifier is set): anyone may post an output with a quorum of
///   the committee's signatures over it (CommitteeVerifier.verifyOutput); no single key can.
contract StateOracle {
    struct Output {
        bytes32 outputRoot;
        uint64 l2Block;
        uint64 timestamp;
    }

    /// A quorum's aggregate signature over an output (CommitteeVerifier.outputMessage), with the
    /// signers as a bitmap, as in a QC.
    struct OutputCertificate {
        uint64 epoch;
        bytes signers;
        bytes signature;
    }

    IBatchAuthoriser public immutable authoriser;
    /// The committee's verifier; zero when outputs come from the single key.
    CommitteeVerifier public immutable verifier;
    /// The rollup's (L2) chain id, part of every output the committee signs; zero without a verifier.
    uint64 public immutable chainId;
    uint256 public immutable finalisationDelay;
    Output[] private outputs;

    event OutputProposed(uint256 indexed index, uint64 indexed l2Block, bytes32 outputRoot, uint64 timestamp);

    error ZeroAddress();
    error NotAuthorised(address poster);
    error BlockNotAfterPrevious(uint64 previous, uint64 got);
    error UnknownOutput(uint256 index, uint256 count);
    /// A certified output was posted to an oracle deployed without a CommitteeVerifier.
    error NoCommitteeVerifier();
    /// This oracle has a committee: post with proposeCertified.
    error CertificateRequired();
    /// The verifier given to the constructor has no code.
    error VerifierNotAContract(address verifier);
    /// Committee mode needs the rollup's chain id (the outputs are signed for it).
    error ZeroChainId();

    /// `verifier_` zero: outputs come from the authoriser's key (`propose`), `chainId_` ignored.
    constructor(
        IBatchAuthoriser authoriser_,
        CommitteeVerifier verifier_,
        uint64 chainId_,
        uint256 finalisationDelay_
    ) {
        if (address(authoriser_) == address(0)) revert ZeroAddress();
        authoriser = authoriser_;
        if (address(verifier_) != address(0)) {
            if (address(verifier_).code.length == 0) revert VerifierNotAContract(address(verifier_));
            if (chainId_ == 0) revert ZeroChainId();
            verifier = verifier_;
            chainId = chainId_;
        }
        finalisationDelay = finalisationDelay_;
    }

    function outputRootOf(bytes32 stateRoot, bytes32 withdrawalsRoot, bytes32 blockHash) public pure returns (bytes32) {
        return keccak256(abi.encode(stateRoot, withdrawalsRoot, blockHash));
    }

    function propose(uint64 l2Block, bytes32 stateRoot, bytes32 withdrawalsRoot, bytes32 blockHash)
        external
        returns (uint256 index)
    {
        if (address(verifier) != address(0)) revert CertificateRequired();
        if (!authoriser.isAuthorised(msg.sender)) revert NotAuthorised(msg.sender);
        return _record(l2Block, outputRootOf(stateRoot, withdrawalsRoot, blockHash));
    }

    /// An output vouched for by a quorum of the committee; the verifier's named errors (BadSignature,
    /// NotEnoughSigners, BadBitmap, UnknownEpoch, …) reach the caller unchanged.
    function proposeCertified(
        uint64 l2Block,
        bytes32 stateRoot,
        bytes32 withdrawalsRoot,
        bytes32 blockHash,
        OutputCertificate calldata certificate
    ) external returns (uint256 index) {
        CommitteeVerifier v = verifier;
        if (address(v) == address(0)) revert NoCommitteeVerifier();
        bytes32 root = outputRootOf(stateRoot, withdrawalsRoot, blockHash);
        v.verifyOutput(chainId, certificate.epoch, l2Block, root, certificate.signers, certificate.signature);
        return _record(l2Block, root);
    }

    function _record(uint64 l2Block, bytes32 root) private returns (uint256 index) {
        uint256 count = outputs.length;
        if (count > 0 && l2Block <= outputs[count - 1].l2Block) {
            revert BlockNotAfterPrevious(outputs[count - 1].l2Block, l2Block);
        }
        index = count;
        outputs.push(Output(root, l2Block, uint64(block.timestamp)));
        emit OutputProposed(index, l2Block, root, uint64(block.timestamp));
    }

    function outputCount() external view returns (uint256) {
        return outputs.length;
    }

    function output(uint256 index) public view returns (Output memory) {
        if (index >= outputs.length) revert UnknownOutput(index, outputs.length);
        return outputs[index];
    }

    /// When withdrawals against this output can be finalised (seconds since epoch).
    function finalAt(uint256 index) external view returns (uint256) {
        return output(index).timestamp + finalisationDelay;
    }
}
