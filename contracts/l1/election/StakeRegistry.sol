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
/// Slots: a bonded staker holds one of at most `maxStakers` slots, and committees are chosen among
/// the slots' occupants at the pinned block, so reading or installing a committee costs at most
/// `maxStakers` lookups however many addresses have ever registered (with an unbounded list, a few
/// thousand minimum stakes, withdrawn later, would have priced `installCommittee` out of an L1 block
/// for good). A staker whose bonded stake drops to zero (unbonded, slashed) frees its slot; when all
/// are taken, a newcomer must bond more than the smallest occupant, which is evicted: its stake starts
/// unbonding (Polygon PoS caps its validator set the same way, with an auction for a freed slot).
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

    /// The most slots a registry can have (the nodes' member directory holds 1,024 keys).
    uint16 public constant MAX_STAKERS_LIMIT = 1024;
    /// What installing an epoch's committee may cost: EIP-7825 (Osaka) caps a transaction at 2^24 gas;
    /// a registry whose full install would not fit could not hand its next committee to L1.
    uint256 public constant INSTALL_GAS_BUDGET = 16_000_000;
    /// The largest stake `occupantNow` holds exactly (2^96 − 1 base units: 79 billion tokens of 18 decimals).
    uint256 private constant STAKE_IN_SLOT_MAX = type(uint96).max;
    /// Zero: stakes are ETH.
    IERC20 public immutable token;
    uint256 public immutable minStake;
    /// L1 blocks between unbond() and withdraw().
    uint64 public immutable unbondingDelay;
    uint16 public immutable maxCommitteeSize;
    /// Slots: how many stakers can be bonded at once (at least maxCommitteeSize).
    uint16 public immutable maxStakers;
    /// Share of a slashed stake paid to whoever reported the equivocation, in basis points; the rest is burned.
    uint16 public immutable reporterRewardBps;
    address public immutable deployer;
    address public slasher;
    /// Slashed stake kept locked here for good.
    uint256 public burned;

    /// Registered addresses, ever (slashed and withdrawn ones included).
    uint256 public stakerCount;
    /// Slots handed out so far (slots are opened in order, then reused from `freeSlots`).
    uint16 public slotsOpened;
    uint16[] private freeSlots;
    /// Each slot's occupant (an address as an amount; 0: free) at every change.
    mapping(uint256 slot => Checkpoints.Checkpoint[]) private occupantHistory;
    /// Each occupied slot's occupant now and its bonded stake, in one word (address in the low 160 bits,
    /// the stake above it, `STAKE_IN_SLOT_MAX` when it does not fit: then read from `stakers`), so that
    /// an eviction's search for the smallest stake reads one storage slot per slot (it read three).
    mapping(uint256 slot => uint256) private occupantNow;
    /// The slot a staker holds now, plus one (0: none).
    mapping(address staker => uint16) private slotPlusOne;
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
    event Evicted(address indexed staker, address indexed by, uint16 slot, uint256 stake);

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
    error BadMaxStakers(uint256 maxStakers, uint256 maxCommitteeSize);
    error StakerSetFull(uint256 maxStakers, uint256 smallestStake);
    error InstallTooCostly(uint256 installGas, uint256 budget);

    constructor(
        IERC20 token_,
        uint256 minStake_,
        uint64 unbondingDelay_,
        uint16 maxCommitteeSize_,
        uint16 maxStakers_,
        uint16 reporterRewardBps_,
        uint64 genesisBlock_,
        uint64 epochLength_
    ) Epochs(genesisBlock_, epochLength_) {
        if (minStake_ == 0) revert ZeroMinStake();
        if (maxCommitteeSize_ == 0 || maxCommitteeSize_ > 191) revert BadCommitteeSize(maxCommitteeSize_);
        if (maxStakers_ < maxCommitteeSize_ || maxStakers_ > MAX_STAKERS_LIMIT) {
            revert BadMaxStakers(maxStakers_, maxCommitteeSize_);
        }
        uint256 installGas = installGasBound(maxStakers_, maxCommitteeSize_);
        if (installGas > INSTALL_GAS_BUDGET) revert InstallTooCostly(installGas, INSTALL_GAS_BUDGET);
        if (reporterRewardBps_ > 10_000) revert BadRewardBps(reporterRewardBps_);
        token = token_;
        minStake = minStake_;
        unbondingDelay = unbondingDelay_;
        maxCommitteeSize = maxCommitteeSize_;
        maxStakers = maxStakers_;
        reporterRewardBps = reporterRewardBps_;
        deployer = msg.sender;
    }

    /// An upper bound on `CommitteeVerifier.installCommittee`'s gas for a full registry of `slots` and
    /// a committee of `members`, from bench/committee-install.ts (2026-12-07, anvil): ~11.5k gas per
    /// slot read, 70k–78k per member installed (its key's checks and storage, its place in the top-N);
    /// measured 12.9M for 1,024 slots and 16 members, 21.7M for 1,024 and 128, 7.5M for 256 and 64.
    /// src/l1/election.ts mirrors it.
    function installGasBound(uint256 slots, uint256 members) public pure returns (uint256) {
        return 400_000 + slots * 12_000 + members * 80_000;
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
    /// bytes) and a first stake of `amount` (ETH: sent as the value; token: approved beforehand). Takes a
    /// slot: a free one, or, when all are taken, the smallest occupant's if `amount` is more.
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
        stakerCount++;
        _takeSlot(msg.sender, amount);
        stakeHistory[msg.sender].write(amount);
        emit Registered(msg.sender, keyHash, amount);
    }

    /// Adds to the bonded stake. A staker with none bonded (all unbonded, or evicted) bonds again: at
    /// least the minimum, into a slot as `register` takes one.
    function addStake(uint256 amount) external payable {
        Staker storage s = _active(msg.sender);
        if (amount == 0) revert ZeroAmount();
        if (s.stake == 0) {
            if (amount < minStake) revert BelowMinimumStake(amount, minStake);
            _takeSlot(msg.sender, amount);
        }
        _receive(amount);
        s.stake += amount;
        stakeHistory[msg.sender].write(s.stake);
        _recordSlotStake(msg.sender, s.stake);
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
        if (left == 0) _freeSlot(msg.sender);
        else _recordSlotStake(msg.sender, left);
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
        if (slotPlusOne[staker] != 0) _freeSlot(staker);
        uint256 reward = (amount * reporterRewardBps) / 10_000;
        burned += amount - reward;
        if (reward != 0) _send(reporter, reward);
        emit Slashed(staker, reporter, amount, reward);
    }

    /// The committee as of now: the top `maxCommitteeSize` slot occupants with at least the minimum
    /// bonded, by stake, ties to the lower slot (slots go out in registration order until one is
    /// reused); not slashed. Read at pinnedBlock(e) for epoch e.
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
        address[] memory occupants = occupantsAt(blockNumber);
        uint256[] memory counted = new uint256[](occupants.length);
        for (uint256 i = 0; i < occupants.length; i++) {
            if (occupants[i] != address(0)) counted[i] = stakeAt(occupants[i], blockNumber);
        }
        return _top(occupants, counted);
    }

    /// Each slot's occupant at the end of L1 block `blockNumber` (address(0): free then), by slot: the
    /// only stakers a committee of that block can hold (the Governance elects among them too).
    function occupantsAt(uint256 blockNumber) public view returns (address[] memory occupants) {
        if (blockNumber > block.number) revert FutureBlock(blockNumber, block.number);
        uint256 n = slotsOpened;
        occupants = new address[](n);
        for (uint256 i = 0; i < n; i++) occupants[i] = address(uint160(occupantHistory[i].at(blockNumber)));
    }

    /// The slot `staker` holds now (`holds` false: none, its bonded stake is zero).
    function slotOf(address staker) external view returns (bool holds, uint16 slot) {
        uint16 p = slotPlusOne[staker];
        return (p != 0, p == 0 ? 0 : p - 1);
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

    /// The top `maxCommitteeSize` of `counted` (by slot) with at least the minimum.
    function _top(address[] memory occupants, uint256[] memory counted)
        private
        view
        returns (address[] memory members, bytes[] memory memberKeys, uint256[] memory stakes)
    {
        uint256[] memory picked = TopN.select(counted, minStake, maxCommitteeSize);
        members = new address[](picked.length);
        memberKeys = new bytes[](picked.length);
        stakes = new uint256[](picked.length);
        for (uint256 i = 0; i < picked.length; i++) {
            members[i] = occupants[picked[i]];
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

    /// Gives `staker` (bonding `amount`) a slot: a freed one, a new one while fewer than `maxStakers`
    /// are open, or else the slot of the occupant with the smallest bonded stake (the one that loses
    /// ties: the highest slot among equals) if `amount` is more, which is evicted — its stake starts
    /// unbonding as if it had called unbond.
    function _takeSlot(address staker, uint256 amount) private {
        uint16 slot;
        if (freeSlots.length != 0) {
            slot = freeSlots[freeSlots.length - 1];
            freeSlots.pop();
        } else if (slotsOpened < maxStakers) {
            slot = slotsOpened++;
        } else {
            address smallest;
            uint256 smallestStake = type(uint256).max;
            // Every opened slot is occupied here (no free one is left).
            for (uint16 i = 0; i < slotsOpened; i++) {
                uint256 word = occupantNow[i];
                address o = address(uint160(word));
                uint256 st = word >> 160;
                if (st == STAKE_IN_SLOT_MAX) st = stakers[o].stake;
                if (st <= smallestStake) (smallest, smallestStake, slot) = (o, st, i);
            }
            if (amount <= smallestStake) revert StakerSetFull(maxStakers, smallestStake);
            Staker storage e = stakers[smallest];
            e.unbonding += smallestStake;
            e.stake = 0;
            e.withdrawableAt = uint64(block.number) + unbondingDelay;
            stakeHistory[smallest].write(0);
            slotPlusOne[smallest] = 0;
            emit Unbonding(smallest, smallestStake, e.withdrawableAt);
            emit Evicted(smallest, staker, slot, smallestStake);
        }
        slotPlusOne[staker] = slot + 1;
        occupantHistory[slot].write(uint160(staker));
        _recordSlotStake(staker, amount);
    }

    /// Keeps `occupantNow` of `staker`'s slot in step with its bonded stake (it must hold one).
    function _recordSlotStake(address staker, uint256 stake) private {
        uint256 inSlot = stake < STAKE_IN_SLOT_MAX ? stake : STAKE_IN_SLOT_MAX;
        occupantNow[slotPlusOne[staker] - 1] = (inSlot << 160) | uint160(staker);
    }

    /// `staker`'s bonded stake is now zero: its slot is free from the end of this block.
    function _freeSlot(address staker) private {
        uint16 slot = slotPlusOne[staker] - 1;
        slotPlusOne[staker] = 0;
        occupantHistory[slot].write(0);
        delete occupantNow[slot];
        freeSlots.push(slot);
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
