// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Epochs} from "./Epochs.sol";

/// The `auction` election mode: the sequencing rights of each epoch go to its highest bidder (an
/// open ascending auction in ETH). Bidding for epoch e closes `closeBlocks` L1 blocks before e starts,
/// so every node knows the winner from finalised state in time. An outbid bidder takes its ETH back
/// with withdrawRefund(); settle(e) sends the winning bid to the treasury (Governance, which the
/// rollup's token holders control).
///
/// The winner names the committee key it proposes with (keccak256 of the 48-byte compressed BLS key
/// the nodes know it by); the committee still certifies every block, and replaces a silent winner by
/// its own rotation for the rest of the epoch (src/election/auction.ts).
contract SequencerAuction is Epochs {
    struct Bid {
        address bidder;
        bytes32 sequencerKey;
        uint256 amount;
    }

    address payable public immutable treasury;
    uint256 public immutable minBid;
    /// A new bid must beat the highest by this share (basis points).
    uint16 public immutable minIncrementBps;
    uint64 public immutable closeBlocks;

    mapping(uint64 epoch => Bid) private highest;
    mapping(uint64 epoch => bool) public settled;
    mapping(address bidder => uint256) public refunds;

    event BidPlaced(uint64 indexed epoch, address indexed bidder, bytes32 sequencerKey, uint256 amount);
    event Settled(uint64 indexed epoch, address indexed winner, uint256 amount);
    event Refunded(address indexed bidder, uint256 amount);

    error ZeroAddress();
    error ZeroMinBid();
    error BadIncrement(uint256 bps);
    error CloseTooLate(uint64 closeBlocks, uint64 epochLength);
    error ZeroSequencerKey();
    error BiddingClosed(uint64 epoch, uint256 closedAt);
    error BidTooLow(uint256 bid, uint256 minimum);
    error BiddingOpen(uint64 epoch, uint256 closesAt);
    error NoBids(uint64 epoch);
    error AlreadySettled(uint64 epoch);
    error NothingToRefund();
    error TransferFailed();

    constructor(
        address payable treasury_,
        uint256 minBid_,
        uint16 minIncrementBps_,
        uint64 closeBlocks_,
        uint64 genesisBlock_,
        uint64 epochLength_
    ) Epochs(genesisBlock_, epochLength_) {
        if (treasury_ == address(0)) revert ZeroAddress();
        if (minBid_ == 0) revert ZeroMinBid();
        if (minIncrementBps_ == 0 || minIncrementBps_ > 10_000) revert BadIncrement(minIncrementBps_);
        if (closeBlocks_ >= epochLength_) revert CloseTooLate(closeBlocks_, epochLength_);
        treasury = treasury_;
        minBid = minBid_;
        minIncrementBps = minIncrementBps_;
        closeBlocks = closeBlocks_;
    }

    /// The first L1 block at which bids for `epoch` are refused.
    function closesAt(uint64 epoch) public view returns (uint256) {
        uint256 start = epochStart(epoch);
        return start > closeBlocks ? start - closeBlocks : 0;
    }

    /// The lowest bid that would lead for `epoch` now.
    function minimumBid(uint64 epoch) public view returns (uint256) {
        uint256 top = highest[epoch].amount;
        if (top == 0) return minBid;
        return top + (top * minIncrementBps + 9_999) / 10_000;
    }

    function bid(uint64 epoch, bytes32 sequencerKey) external payable {
        if (sequencerKey == bytes32(0)) revert ZeroSequencerKey();
        uint256 closed = closesAt(epoch);
        if (block.number >= closed) revert BiddingClosed(epoch, closed);
        uint256 minimum = minimumBid(epoch);
        if (msg.value < minimum) revert BidTooLow(msg.value, minimum);
        Bid storage top = highest[epoch];
        if (top.amount != 0) refunds[top.bidder] += top.amount;
        highest[epoch] = Bid(msg.sender, sequencerKey, msg.value);
        emit BidPlaced(epoch, msg.sender, sequencerKey, msg.value);
    }

    /// The epoch's leading (after closing: winning) bid; a zero bidder when nobody bid.
    function winner(uint64 epoch) external view returns (Bid memory) {
        return highest[epoch];
    }

    /// Sends the winning bid of a closed auction to the treasury. Anyone may call it.
    function settle(uint64 epoch) external {
        uint256 closed = closesAt(epoch);
        if (block.number < closed) revert BiddingOpen(epoch, closed);
        if (settled[epoch]) revert AlreadySettled(epoch);
        Bid memory top = highest[epoch];
        if (top.amount == 0) revert NoBids(epoch);
        settled[epoch] = true;
        (bool ok,) = treasury.call{value: top.amount}("");
        if (!ok) revert TransferFailed();
        emit Settled(epoch, top.bidder, top.amount);
    }

    function withdrawRefund() external {
        uint256 amount = refunds[msg.sender];
        if (amount == 0) revert NothingToRefund();
        refunds[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
        emit Refunded(msg.sender, amount);
    }
}
