// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Checkpoints, TopN} from "./Checkpoints.sol";
import {Epochs} from "./Epochs.sol";
import {IERC20} from "./IERC20.sol";
import {StakeRegistry} from "./StakeRegistry.sol";

/// Token-holder control of the sequencer set (the `dpos` election mode) and of the treasury that
/// auction proceeds go to.
///
/// Holders lock the rollup's ERC-20 token here; locked tokens count as votes. Each holder delegates all
/// of its votes to one candidate, a sequencer staked in the StakeRegistry (so it can be slashed). The
/// committee of epoch e is `committee()` as of the end of L1 block epochStart(e − 1), as for `pos`: the
/// top `committeeSize` candidates by delegated votes that are neither ejected nor slashed, among those
/// holding one of the StakeRegistry's slots then (bonded; so reading it costs at most `maxStakers`
/// lookups, however many candidates have ever registered). Votes and
/// ejections are checkpointed, so `committeeAt(b)` / `epochCommittee(e)` compute it later from current
/// state (with the StakeRegistry's stake history): no archive L1 node needed, and a CommitteeVerifier
/// can install it.
///
/// Proposals — eject a candidate, spend from the treasury — pass with an absolute majority of the
/// tokens locked at the block before the proposal (checkpointed, so tokens cannot vote twice by moving).
/// An ejected candidate leaves the committee at the next epoch boundary: that is the new election.
contract Governance is Epochs {
    using Checkpoints for Checkpoints.Checkpoint[];

    enum Kind {
        Eject,
        Spend
    }

    struct Proposal {
        Kind kind;
        address target;
        uint256 amount;
        uint64 snapshotBlock;
        uint64 deadline;
        uint256 yes;
        bool executed;
    }

    IERC20 public immutable token;
    StakeRegistry public immutable registry;
    uint16 public immutable committeeSize;
    /// L1 blocks a proposal stays open for votes.
    uint64 public immutable votingPeriod;

    mapping(address holder => Checkpoints.Checkpoint[]) private lockedHistory;
    Checkpoints.Checkpoint[] private totalHistory;
    mapping(address holder => address) public delegateOf;
    /// Each candidate's delegated votes at every change, one checkpoint per block at most (votesOf is
    /// the latest).
    mapping(address candidate => Checkpoints.Checkpoint[]) private votesHistory;
    /// The L1 block an ejection took effect in (0: never ejected; `ejected` reads it).
    mapping(address candidate => uint64) public ejectedAtBlock;
    mapping(address candidate => bool) public isCandidate;
    Proposal[] private proposals;
    mapping(uint256 id => mapping(address holder => bool)) public hasVoted;

    event Locked(address indexed holder, uint256 amount, uint256 locked);
    event Unlocked(address indexed holder, uint256 amount, uint256 locked);
    event Delegated(address indexed holder, address indexed candidate, uint256 votes);
    event CandidateRegistered(address indexed candidate);
    event Proposed(uint256 indexed id, Kind kind, address target, uint256 amount, uint64 deadline);
    event Voted(uint256 indexed id, address indexed holder, uint256 weight);
    event Executed(uint256 indexed id);
    event Ejected(address indexed candidate, uint64 fromEpoch);
    event TreasuryReceived(address indexed from, uint256 amount);

    error ZeroAddress();
    error BadCommitteeSize(uint256 size);
    error ZeroVotingPeriod();
    error ZeroAmount();
    error TransferFailed();
    error ExceedsLocked(uint256 amount, uint256 locked);
    error NotStaked(address candidate);
    error AlreadyCandidate(address candidate);
    error NotACandidate(address candidate);
    error CandidateEjected(address candidate);
    error NothingLocked();
    error UnknownProposal(uint256 id);
    error VotingClosed(uint256 id, uint64 deadline);
    error AlreadyVoted(uint256 id);
    error NoVotingPower(uint256 id);
    error NotPassed(uint256 id, uint256 yes, uint256 needed);
    error AlreadyExecuted(uint256 id);
    error InsufficientTreasury(uint256 amount, uint256 balance);
    error FutureBlock(uint256 blockNumber, uint256 current);
    error InstallTooCostly(uint256 installGas, uint256 budget);

    constructor(
        IERC20 token_,
        StakeRegistry registry_,
        uint16 committeeSize_,
        uint64 votingPeriod_,
        uint64 genesisBlock_,
        uint64 epochLength_
    ) Epochs(genesisBlock_, epochLength_) {
        if (address(token_) == address(0) || address(registry_) == address(0)) revert ZeroAddress();
        if (committeeSize_ == 0 || committeeSize_ > 191) revert BadCommitteeSize(committeeSize_);
        if (votingPeriod_ == 0) revert ZeroVotingPeriod();
        // An elected committee is installed on L1 from here: with every slot a candidate it must fit
        // the registry's budget (one L1 transaction), or the chain's next committee could not be.
        uint256 installGas = installGasBound(registry_.maxStakers(), committeeSize_);
        uint256 budget = registry_.INSTALL_GAS_BUDGET();
        if (installGas > budget) revert InstallTooCostly(installGas, budget);
        token = token_;
        registry = registry_;
        committeeSize = committeeSize_;
        votingPeriod = votingPeriod_;
    }

    /// An upper bound on `CommitteeVerifier.installCommittee`'s gas from this contract with `slots`
    /// registry slots, every occupant a candidate, and `members` elected: ~19k gas per slot read (its
    /// occupant, candidacy, ejection, stake and votes: 4.9M for 256 candidates, bench/committee-install.ts,
    /// 2026-12-07) and, as the StakeRegistry's bound, up to 80k per member. src/l1/election.ts mirrors it.
    function installGasBound(uint256 slots, uint256 members) public pure returns (uint256) {
        return 400_000 + slots * 22_000 + members * 80_000;
    }

    /// Auction proceeds and donations: the treasury is this contract's ETH balance.
    receive() external payable {
        emit TreasuryReceived(msg.sender, msg.value);
    }

    // --- votes -------------------------------------------------------------------------------------

    function lock(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        if (!token.transferFrom(msg.sender, address(this), amount)) revert TransferFailed();
        uint256 locked = lockedOf(msg.sender) + amount;
        lockedHistory[msg.sender].write(locked);
        totalHistory.write(totalLocked() + amount);
        address d = delegateOf[msg.sender];
        if (d != address(0)) _setVotes(d, votesOf(d) + amount);
        emit Locked(msg.sender, amount, locked);
    }

    function unlock(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 locked = lockedOf(msg.sender);
        if (amount > locked) revert ExceedsLocked(amount, locked);
        lockedHistory[msg.sender].write(locked - amount);
        totalHistory.write(totalLocked() - amount);
        address d = delegateOf[msg.sender];
        if (d != address(0)) _setVotes(d, votesOf(d) - amount);
        if (!token.transfer(msg.sender, amount)) revert TransferFailed();
        emit Unlocked(msg.sender, amount, locked - amount);
    }

    /// A staked sequencer stands for election.
    function registerCandidate() external {
        if (isCandidate[msg.sender]) revert AlreadyCandidate(msg.sender);
        StakeRegistry.Staker memory s = registry.stakerInfo(msg.sender);
        if (s.keyHash == bytes32(0) || s.slashed || s.stake < registry.minStake()) revert NotStaked(msg.sender);
        isCandidate[msg.sender] = true;
        emit CandidateRegistered(msg.sender);
    }

    /// Gives all of the caller's locked votes to `candidate` (moving them from an earlier one).
    function delegate(address candidate) external {
        if (!isCandidate[candidate]) revert NotACandidate(candidate);
        if (ejected(candidate)) revert CandidateEjected(candidate);
        uint256 locked = lockedOf(msg.sender);
        if (locked == 0) revert NothingLocked();
        address previous = delegateOf[msg.sender];
        if (previous != address(0)) _setVotes(previous, votesOf(previous) - locked);
        delegateOf[msg.sender] = candidate;
        _setVotes(candidate, votesOf(candidate) + locked);
        emit Delegated(msg.sender, candidate, locked);
    }

    /// The elected committee as of now (read at epochStart(e − 1) for epoch e): the top candidates by
    /// votes, ties to the lower StakeRegistry slot; ejected, slashed or no longer staked ones are out.
    function committee() external view returns (address[] memory members, bytes[] memory memberKeys, uint256[] memory votes) {
        return committeeAt(block.number);
    }

    /// What `committee()` returned at the end of L1 block `blockNumber` (now, for the current block),
    /// from the vote checkpoints, the ejection blocks and the StakeRegistry's stake history.
    function committeeAt(uint256 blockNumber)
        public
        view
        returns (address[] memory members, bytes[] memory memberKeys, uint256[] memory votes)
    {
        if (blockNumber > block.number) revert FutureBlock(blockNumber, block.number);
        address[] memory occupants = registry.occupantsAt(blockNumber);
        uint256 n = occupants.length;
        uint256[] memory counted = new uint256[](n);
        uint256 minStake = registry.minStake();
        for (uint256 i = 0; i < n; i++) {
            address c = occupants[i];
            if (c == address(0) || !isCandidate[c]) continue;
            uint64 ejectedAt = ejectedAtBlock[c];
            if (ejectedAt != 0 && ejectedAt <= blockNumber) continue;
            if (registry.stakeAt(c, blockNumber) < minStake) continue;
            counted[i] = votesHistory[c].at(blockNumber);
        }
        return _top(occupants, counted);
    }

    /// Epoch `epoch`'s committee: committeeAt(pinnedBlock(epoch)). FutureBlock until that block is mined.
    function epochCommittee(uint64 epoch)
        external
        view
        returns (address[] memory members, bytes[] memory memberKeys, uint256[] memory votes)
    {
        return committeeAt(pinnedBlock(epoch));
    }

    /// The top `committeeSize` candidates of `counted` (by registry slot; 0: out), by votes, the lower
    /// slot first among equals.
    function _top(address[] memory occupants, uint256[] memory counted)
        private
        view
        returns (address[] memory members, bytes[] memory memberKeys, uint256[] memory votes)
    {
        uint256[] memory picked = TopN.select(counted, 1, committeeSize);
        members = new address[](picked.length);
        memberKeys = new bytes[](picked.length);
        votes = new uint256[](picked.length);
        for (uint256 i = 0; i < picked.length; i++) {
            members[i] = occupants[picked[i]];
            memberKeys[i] = registry.keyOf(members[i]);
            votes[i] = counted[picked[i]];
        }
    }

    // --- proposals ---------------------------------------------------------------------------------

    function proposeEject(address candidate) external returns (uint256 id) {
        if (!isCandidate[candidate]) revert NotACandidate(candidate);
        if (ejected(candidate)) revert CandidateEjected(candidate);
        return _propose(Kind.Eject, candidate, 0);
    }

    function proposeSpend(address to, uint256 amount) external returns (uint256 id) {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        return _propose(Kind.Spend, to, amount);
    }

    function vote(uint256 id) external {
        Proposal storage p = _proposal(id);
        if (block.number > p.deadline) revert VotingClosed(id, p.deadline);
        if (hasVoted[id][msg.sender]) revert AlreadyVoted(id);
        uint256 weight = lockedAt(msg.sender, p.snapshotBlock);
        if (weight == 0) revert NoVotingPower(id);
        hasVoted[id][msg.sender] = true;
        p.yes += weight;
        emit Voted(id, msg.sender, weight);
    }

    /// Carries out a proposal that an absolute majority of the snapshot's locked tokens backs.
    function execute(uint256 id) external {
        Proposal storage p = _proposal(id);
        if (p.executed) revert AlreadyExecuted(id);
        uint256 needed = totalLockedAt(p.snapshotBlock) / 2 + 1;
        if (p.yes < needed) revert NotPassed(id, p.yes, needed);
        p.executed = true;
        if (p.kind == Kind.Eject) {
            ejectedAtBlock[p.target] = uint64(block.number);
            emit Ejected(p.target, currentEpoch() + 1);
        } else {
            if (p.amount > address(this).balance) revert InsufficientTreasury(p.amount, address(this).balance);
            (bool ok,) = p.target.call{value: p.amount}("");
            if (!ok) revert TransferFailed();
        }
        emit Executed(id);
    }

    function proposal(uint256 id) external view returns (Proposal memory) {
        return _proposal(id);
    }

    function proposalCount() external view returns (uint256) {
        return proposals.length;
    }

    /// The votes delegated to `candidate` now.
    function votesOf(address candidate) public view returns (uint256) {
        return votesHistory[candidate].latest();
    }

    function ejected(address candidate) public view returns (bool) {
        return ejectedAtBlock[candidate] != 0;
    }

    function lockedOf(address holder) public view returns (uint256) {
        return lockedHistory[holder].latest();
    }

    function totalLocked() public view returns (uint256) {
        return totalHistory.latest();
    }

    function lockedAt(address holder, uint256 blockNumber) public view returns (uint256) {
        return lockedHistory[holder].at(blockNumber);
    }

    function totalLockedAt(uint256 blockNumber) public view returns (uint256) {
        return totalHistory.at(blockNumber);
    }

    // -----------------------------------------------------------------------------------------------

    function _propose(Kind kind, address target, uint256 amount) private returns (uint256 id) {
        id = proposals.length;
        uint64 deadline = uint64(block.number) + votingPeriod;
        proposals.push(Proposal(kind, target, amount, uint64(block.number - 1), deadline, 0, false));
        emit Proposed(id, kind, target, amount, deadline);
    }

    function _proposal(uint256 id) private view returns (Proposal storage) {
        if (id >= proposals.length) revert UnknownProposal(id);
        return proposals[id];
    }

    function _setVotes(address candidate, uint256 votes) private {
        votesHistory[candidate].write(votes);
    }
}
