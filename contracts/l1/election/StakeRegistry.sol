// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BLS} from "../BLS.sol";
import {Checkpoints, TopN} from "./Checkpoints.sol";
import {Epochs} from "./Epochs.sol";
import {IERC20} from "./IERC20.sol";

/// Permissionless sequencer staking for the `pos` election mode (and the stake behind slashing in
/// every mode). Anyone registers a BLS key with a proof of possession and a stake, in ETH or in the
/// rollup's ERC-20 token (fixed at deployment); stake leaves through an unbonding delay, during which it
/// can still be slashed.
///
/// The committee of epoch e is `committee()` as of the end of L1 block pinnedBlock(e) = epochStart(e − 1):
/// registry state one epoch ahead (DECISIONS.md §7), so every node computes the same committee from
/// finalised L1 state. Each stake change is also kept as a checkpoint (the block it took effect in), so
/// `committeeAt(b)` / `epochCommittee(e)` compute that committee later from current state: no archive
/// L1 node is needed to read it (a pruning one keeps ~128 blocks of state), and contracts can read it
/// (the CommitteeVerifier installs epoch committees from it without trusting its owner).
///
/// Proof of possession (DECISIONS.md §5): a BLS signature by the key over
/// keccak256("seqnet/pop/v1" ‖ chainid ‖ this ‖ staker ‖ key), which stops rogue-key attacks on aggregate
/// certificates and ties the key to the staker's address.
contract StakeRegistry is Epochs {
    using Checkpoints for Checkpoints.Checkpoint[];

    struct Staker {
        bytes32 keyHash;
        uint256 stake;
        uint256 unbonding;
        uint64 withdrawableAt;
        uint64 registeredAt;
        bool slashed;
    }

    /// Zero: stakes are ETH.
    IERC20 public immutable token;
    uint256 public immutable minStake;
    /// L1 blocks between unbond() and withdraw().
    uint64 public immutable unbondingDelay;
    uint16 public immutable maxCommitteeSize;
    /// Share of a slashed stake paid to whoever reported the equivocation, in basis points; the rest is burned.
    uint16 public immutable reporterRewardBps;
    address public immutable deployer;
    address public slasher;
    /// Slashed stake kept locked here for good.
    uint256 public burned;

    address[] private stakerList;
    mapping(address staker => Staker) private stakers;
    /// Each staker's counting stake (bonded; 0 once slashed) at every change, one per block at most.
    mapping(address staker => Checkpoints.Checkpoint[]) private stakeHistory;
    mapping(address staker => bytes) private keys;
    mapping(bytes32 keyHash => address) public stakerOfKey;

    event Registered(address indexed staker, bytes32 indexed keyHash, uint256 stake);
    event StakeAdded(address indexed staker, uint256 amount, uint256 stake);
    event Unbonding(address indexed staker, uint256 amount, uint64 withdrawableAt);
    event Withdrawn(address indexed staker, uint256 amount);
    event Slashed(address indexed staker, address indexed reporter, uint256 amount, uint256 reward);

    error ZeroMinStake();
    error BadCommitteeSize(uint256 size);
    error BadRewardBps(uint256 bps);
    error NotDeployer(address caller);
    error SlasherAlreadySet(address slasher);
    error ZeroAddress();
    error NotSlasher(address caller);
    error AlreadyRegistered(address staker);
    error KeyTaken(bytes32 keyHash);
    error BadPublicKey();
    error BadProofOfPossession();
    error WrongValue(uint256 expected, uint256 sent);
    error BelowMinimumStake(uint256 stake, uint256 minStake);
    error ZeroAmount();
    error NotRegistered(address staker);
    error ExceedsStake(uint256 amount, uint256 stake);
    error NothingToWithdraw();
    error StillUnbonding(uint64 withdrawableAt);
    error StakerSlashed(address staker);
    error AlreadySlashed(address staker);
    error TransferFailed();
    error FutureBlock(uint256 blockNumber, uint256 current);

    constructor(
        IERC20 token_,
        uint256 minStake_,
        uint64 unbondingDelay_,
        uint16 maxCommitteeSize_,
        uint16 reporterRewardBps_,
        uint64 genesisBlock_,
        uint64 epochLength_
    ) Epochs(genesisBlock_, epochLength_) {
        if (minStake_ == 0) revert ZeroMinStake();
        if (maxCommitteeSize_ == 0 || maxCommitteeSize_ > 191) revert BadCommitteeSize(maxCommitteeSize_);
        if (reporterRewardBps_ > 10_000) revert BadRewardBps(reporterRewardBps_);
        token = token_;
        minStake = minStake_;
        unbondingDelay = unbondingDelay_;
        maxCommitteeSize = maxCommitteeSize_;
        reporterRewardBps = reporterRewardBps_;
        deployer = msg.sender;
    }

    /// Wires the Slasher once (it is deployed after the registry, knowing its address).
    function setSlasher(address slasher_) external {
        if (msg.sender != deployer) revert NotDeployer(msg.sender);
        if (slasher != address(0)) revert SlasherAlreadySet(slasher);
        if (slasher_ == address(0)) revert ZeroAddress();
        slasher = slasher_;
    }

    /// What the key must sign to prove possession for `staker`.
    function popMessage(address staker, bytes calldata key) public view returns (bytes32) {
        return keccak256(abi.encodePacked("seqnet/pop/v1", block.chainid, address(this), staker, key));
    }

    /// Registers the caller with a BLS key (EIP-2537 G1, 128 bytes), its proof of possession (G2, 256
    /// bytes) and a first stake of `amount` (ETH: sent as the value; token: approved beforehand).
    function register(bytes calldata key, bytes calldata pop, uint256 amount) external payable {
        Staker storage s = stakers[msg.sender];
        if (s.keyHash != bytes32(0)) revert AlreadyRegistered(msg.sender);
        bytes32 keyHash = keccak256(key);
        if (stakerOfKey[keyHash] != address(0)) revert KeyTaken(keyHash);
        if (amount < minStake) revert BelowMinimumStake(amount, minStake);
        bytes memory k = key;
        if (!BLS.isCanonicalG1(k) || BLS.isInfinity(k) || !BLS.isG1SubgroupPoint(k)) revert BadPublicKey();
        if (pop.length != 256) revert BadProofOfPossession();
        if (!BLS.verify(k, abi.encodePacked(popMessage(msg.sender, key)), pop)) revert BadProofOfPossession();
        _receive(amount);
        s.keyHash = keyHash;
        s.stake = amount;
        s.registeredAt = uint64(block.number);
        keys[msg.sender] = key;
        stakerOfKey[keyHash] = msg.sender;
        stakerList.push(msg.sender);
        stakeHistory[msg.sender].write(amount);
        emit Registered(msg.sender, keyHash, amount);
    }

    function addStake(uint256 amount) external payable {
        Staker storage s = _active(msg.sender);
        if (amount == 0) revert ZeroAmount();
        _receive(amount);
        s.stake += amount;
        stakeHistory[msg.sender].write(s.stake);
        emit StakeAdded(msg.sender, amount, s.stake);
    }

    /// Starts unbonding `amount`: it stops counting for committees at once and can be withdrawn after
    /// the delay (a second unbond restarts the delay for everything unbonding). What stays staked must
    /// be zero or at least the minimum.
    function unbond(uint256 amount) external {
        Staker storage s = _active(msg.sender);
        if (amount == 0) revert ZeroAmount();
        if (amount > s.stake) revert ExceedsStake(amount, s.stake);
        uint256 left = s.stake - amount;
        if (left != 0 && left < minStake) revert BelowMinimumStake(left, minStake);
        s.stake = left;
        s.unbonding += amount;
        s.withdrawableAt = uint64(block.number) + unbondingDelay;
        stakeHistory[msg.sender].write(left);
        emit Unbonding(msg.sender, amount, s.withdrawableAt);
    }

    function withdraw() external {
        Staker storage s = _active(msg.sender);
        uint256 amount = s.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.number < s.withdrawableAt) revert StillUnbonding(s.withdrawableAt);
        s.unbonding = 0;
        _send(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    /// Called by the Slasher once it has verified an equivocation: takes the whole stake, bonded and
    /// unbonding, pays the reporter its share and burns the rest. The key stays taken.
    function slash(address staker, address reporter) external returns (uint256 amount) {
        if (msg.sender != slasher) revert NotSlasher(msg.sender);
        Staker storage s = stakers[staker];
        if (s.keyHash == bytes32(0)) revert NotRegistered(staker);
        if (s.slashed) revert AlreadySlashed(staker);
        amount = s.stake + s.unbonding;
        s.stake = 0;
        s.unbonding = 0;
        s.slashed = true;
        stakeHistory[staker].write(0);
        uint256 reward = (amount * reporterRewardBps) / 10_000;
        burned += amount - reward;
        if (reward != 0) _send(reporter, reward);
        emit Slashed(staker, reporter, amount, reward);
    }

    /// The committee as of now: the top `maxCommitteeSize` stakers with at least the minimum bonded,
    /// by stake, ties to the earlier registration; not slashed. Read at pinnedBlock(e) for epoch e.
    function committee() external view returns (address[] memory members, bytes[] memory memberKeys, uint256[] memory stakes) {
        return committeeAt(block.number);
    }

    /// What `committee()` returned at the end of L1 block `blockNumber` (now, for the current block),
    /// from the stake checkpoints: the same members, keys and stakes in the same order.
    function committeeAt(uint256 blockNumber)
        public
        view
        returns (address[] memory members, bytes[] memory memberKeys, uint256[] memory stakes)
    {
        if (blockNumber > block.number) revert FutureBlock(blockNumber, block.number);
        uint256 n = stakerList.length;
        uint256[] memory counted = new uint256[](n);
        for (uint256 i = 0; i < n; i++) counted[i] = stakeAt(stakerList[i], blockNumber);
        return _top(counted);
    }

    /// Epoch `epoch`'s committee: committeeAt(pinnedBlock(epoch)). FutureBlock until that block is mined.
    function epochCommittee(uint64 epoch)
        external
        view
        returns (address[] memory members, bytes[] memory memberKeys, uint256[] memory stakes)
    {
        return committeeAt(pinnedBlock(epoch));
    }

    /// The staker's counting stake at the end of L1 block `blockNumber`: 0 before it registered and
    /// once it is slashed.
    function stakeAt(address staker, uint256 blockNumber) public view returns (uint256) {
        return stakeHistory[staker].at(blockNumber);
    }

    /// The top `maxCommitteeSize` of `counted` (by stakerList index) with at least the minimum.
    function _top(uint256[] memory counted)
        private
        view
        returns (address[] memory members, bytes[] memory memberKeys, uint256[] memory stakes)
    {
        uint256[] memory picked = TopN.select(counted, minStake, maxCommitteeSize);
        members = new address[](picked.length);
        memberKeys = new bytes[](picked.length);
        stakes = new uint256[](picked.length);
        for (uint256 i = 0; i < picked.length; i++) {
            members[i] = stakerList[picked[i]];
            memberKeys[i] = keys[members[i]];
            stakes[i] = counted[picked[i]];
        }
    }

    function stakerInfo(address staker) external view returns (Staker memory) {
        return stakers[staker];
    }

    function keyOf(address staker) external view returns (bytes memory) {
        return keys[staker];
    }

    function stakerCount() external view returns (uint256) {
        return stakerList.length;
    }

    function _active(address staker) private view returns (Staker storage s) {
        s = stakers[staker];
        if (s.keyHash == bytes32(0)) revert NotRegistered(staker);
        if (s.slashed) revert StakerSlashed(staker);
    }

    function _receive(uint256 amount) private {
        if (address(token) == address(0)) {
            if (msg.value != amount) revert WrongValue(amount, msg.value);
        } else {
            if (msg.value != 0) revert WrongValue(0, msg.value);
            if (!token.transferFrom(msg.sender, address(this), amount)) revert TransferFailed();
        }
    }

    function _send(address to, uint256 amount) private {
        if (address(token) == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert TransferFailed();
        } else if (!token.transfer(to, amount)) {
            revert TransferFailed();
        }
    }
}
