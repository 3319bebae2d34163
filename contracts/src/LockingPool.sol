// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {FrostSignature, FrostVerifier} from "./FrostVerifier.sol";
import {GroupKeyRegistry} from "./GroupKeyRegistry.sol";
import {LockingEscrow} from "./LockingEscrow.sol";
import {SlashSink} from "./SlashSink.sol";
import {RequestDigest} from "./RequestDigest.sol";

/// @notice Rewards for an epoch range: blocksProduced[i] L2 blocks by sequencerIds[i].
struct RewardDistribution {
    uint256 sequence;
    uint256 startEpoch;
    uint256 endEpoch;
    uint256[] sequencerIds;
    uint256[] blocksProduced;
}

/// @title LockingPool
/// @notice Sequencers lock stake here; the seqpool chain turns the locks into its validator set.
///         Every state change emits an event carrying `nonce`, a contract-wide counter that grows by
///         one per event, so the chain can detect a missed event and apply each exactly once.
contract LockingPool {
    using SafeERC20 for IERC20;

    enum Status {
        None,
        Active,
        Unlocking,
        Unlocked
    }

    struct Sequencer {
        address owner;
        address signer;
        uint256 amount;
        uint256 reward;
        uint64 unlockClaimableAt;
        uint64 lastSignerChangeAt;
        Status status;
    }

    error NotGovernance(address caller);
    error ContractPaused();
    error NotWhitelisted(address owner);
    error OwnerHasSequencer(address owner, uint256 sequencerId);
    error AmountBelowMinLock(uint256 amount, uint256 minLock);
    error AmountAboveMaxLock(uint256 amount, uint256 maxLock);
    error InvalidSignerPubkey(address signer);
    error InvalidSignerProof(address signer);
    error SignerInUse(address signer);
    error ZeroAddress();
    error ZeroAmount();
    error UnknownSequencer(uint256 sequencerId);
    error NotSequencerOwner(uint256 sequencerId, address caller);
    error SequencerNotActive(uint256 sequencerId);
    error SequencerNotUnlocking(uint256 sequencerId);
    error WithdrawalDelayNotOver(uint256 sequencerId, uint256 claimableAt);
    error SignerChangeThrottled(uint256 sequencerId, uint256 allowedAt);
    error InvalidLockBounds(uint256 minLock, uint256 maxLock);
    error RewardSequenceMismatch(uint256 expected, uint256 got);
    error RewardEpochMismatch(uint256 expectedStart, uint256 gotStart);
    error InvalidEpochRange(uint256 startEpoch, uint256 endEpoch);
    error RewardArraysLengthMismatch(uint256 sequencers, uint256 blocks);
    error InvalidGroupSignature();
    error NoRewards(uint256 sequencerId);
    error DelayTooLong(uint256 delay, uint256 maxDelay);
    error DelayBelowFloor(uint256 delay, uint256 floor);

    event Locked(
        address indexed signer,
        uint256 indexed sequencerId,
        uint256 nonce,
        address indexed owner,
        uint256 amount,
        uint256 totalLocked,
        bytes signerPubkey
    );
    event Relocked(uint256 indexed sequencerId, uint256 nonce, uint256 added, uint256 amount, uint256 totalLocked);
    event UnlockInit(uint256 indexed sequencerId, uint256 nonce, address indexed owner, uint256 amount, uint256 claimableAt);
    event Unlocked(uint256 indexed sequencerId, uint256 nonce, address indexed owner, uint256 amount, uint256 totalLocked);
    event SignerChange(
        uint256 indexed sequencerId, uint256 nonce, address indexed oldSigner, address indexed newSigner, bytes signerPubkey
    );
    event RewardsDistributed(
        uint256 indexed sequence, uint256 nonce, uint256 startEpoch, uint256 endEpoch, uint256 totalReward
    );
    event RewardsWithdrawn(uint256 indexed sequencerId, uint256 nonce, address indexed recipient, uint256 amount);
    event WhitelistChanged(address indexed owner, uint256 nonce, bool allowed);
    event MinLockChanged(uint256 nonce, uint256 oldMinLock, uint256 newMinLock);
    event MaxLockChanged(uint256 nonce, uint256 oldMaxLock, uint256 newMaxLock);
    event RewardPerBlockChanged(uint256 nonce, uint256 oldRewardPerBlock, uint256 newRewardPerBlock);
    event WithdrawalDelayChanged(uint256 nonce, uint256 oldDelay, uint256 newDelay);
    event SignerUpdateThrottleChanged(uint256 nonce, uint256 oldThrottle, uint256 newThrottle);
    event RewardPayerChanged(uint256 nonce, address oldPayer, address newPayer);
    event PausedChanged(uint256 nonce, bool paused);
    /// @param amount the stake actually taken (the request capped at what the sequencer had locked).
    /// @param totalLocked the pool's totalLocked after the slash.
    event Slashed(uint256 indexed sequencerId, uint256 nonce, uint256 amount, uint256 totalLocked);

    /// @notice Domain of a signer key's proof of possession (see signerProofDigest).
    bytes32 public constant SIGNER_PROOF_DOMAIN = keccak256("seqpool.LockingPool.SignerProof");

    /// @notice Upper bound for withdrawalDelay and signerUpdateThrottle (keeps timestamps in uint64).
    uint256 public constant MAX_DELAY = 365 days;

    IERC20 public immutable stakeToken;
    LockingEscrow public immutable escrow;
    /// @notice The least withdrawalDelay can ever be, fixed at deployment: a slash must be able to
    ///         land (signing attempts, retries, fee bumps) before a sequencer that misbehaved and
    ///         unlocked at once can claim. A devnet may deploy with seconds; a production
    ///         deployment cannot be governed below its floor.
    uint256 public immutable minWithdrawalDelay;
    /// @notice Where slashed stake goes; only a group-signed Governance action releases it.
    SlashSink public immutable slashSink;
    GroupKeyRegistry public immutable groupKeys;
    address public immutable governance;

    /// @notice The nonce of the last emitted event (0 before the first one).
    uint256 public eventNonce;
    uint256 public minLock;
    uint256 public maxLock;
    uint256 public rewardPerBlock;
    /// @notice Seconds between unlock and claim.
    uint256 public withdrawalDelay;
    /// @notice Minimum seconds between two signer changes of one sequencer.
    uint256 public signerUpdateThrottle;
    /// @notice Account that approved this pool to pay rewards in the stake token.
    address public rewardPayer;
    bool public paused;

    uint256 public lastSequencerId;
    /// @notice Stake held by the escrow: the sum of Active and Unlocking sequencers' amounts.
    uint256 public totalLocked;
    /// @notice Number of reward distributions applied; the next must carry this as its sequence.
    uint256 public rewardSequence;
    /// @notice First epoch the next reward distribution must cover.
    uint256 public nextRewardEpoch;

    mapping(uint256 => Sequencer) private _sequencers;
    /// @notice The latest sequencer id of an owner (0 if none).
    mapping(address => uint256) public sequencerIdOf;
    /// @notice The sequencer id that a signer address belongs or belonged to; signers are never reused.
    mapping(address => uint256) public sequencerIdBySigner;
    mapping(address => bool) public whitelisted;
    /// @notice Signer keys an owner registered (lockFor and updateSigner): the nonce its next proof
    ///         of possession signs, so a proof is good for one registration.
    mapping(address => uint256) public signerNonce;

    struct Params {
        uint256 minLock;
        uint256 maxLock;
        uint256 rewardPerBlock;
        uint256 withdrawalDelay;
        uint256 signerUpdateThrottle;
        address rewardPayer;
        /// @notice Floor of withdrawalDelay for the pool's life (see minWithdrawalDelay).
        uint256 minWithdrawalDelay;
    }

    constructor(IERC20 stakeToken_, GroupKeyRegistry groupKeys_, address governance_, Params memory params) {
        if (address(stakeToken_) == address(0) || address(groupKeys_) == address(0) || governance_ == address(0)) {
            revert ZeroAddress();
        }
        if (params.minLock == 0 || params.minLock > params.maxLock) {
            revert InvalidLockBounds(params.minLock, params.maxLock);
        }
        _checkDelay(params.minWithdrawalDelay);
        _checkWithdrawalDelay(params.withdrawalDelay, params.minWithdrawalDelay);
        _checkDelay(params.signerUpdateThrottle);
        minWithdrawalDelay = params.minWithdrawalDelay;
        stakeToken = stakeToken_;
        groupKeys = groupKeys_;
        governance = governance_;
        escrow = new LockingEscrow(stakeToken_);
        slashSink = new SlashSink(stakeToken_, governance_);
        minLock = params.minLock;
        maxLock = params.maxLock;
        rewardPerBlock = params.rewardPerBlock;
        withdrawalDelay = params.withdrawalDelay;
        signerUpdateThrottle = params.signerUpdateThrottle;
        rewardPayer = params.rewardPayer;
    }

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance(msg.sender);
        _;
    }

    modifier whenNotPaused() {
        if (paused) revert ContractPaused();
        _;
    }

    function _nextNonce() private returns (uint256 nonce) {
        nonce = ++eventNonce;
    }

    // ------------------------------------------------------------------ sequencer operations

    /// @notice What a signer key signs to prove that whoever registers it holds it: the pool, the
    ///         chain, the owner registering it and the owner's signerNonce. Without it, anyone
    ///         whitelisted could copy a victim's public key from a pending lockFor and register
    ///         it first, tying the victim's consensus key to the attacker's sequencer.
    function signerProofDigest(address owner, address signer, uint256 nonce) public view returns (bytes32) {
        return keccak256(abi.encode(SIGNER_PROOF_DOMAIN, block.chainid, address(this), owner, signer, nonce));
    }

    /// @notice Locks `amount` for a new sequencer whose consensus key is `signerPubkey`
    ///         (64-byte uncompressed secp256k1 key without prefix; must hash to `signer`).
    ///         `signerProof` is the key's 65-byte ECDSA signature (r, s, v) over
    ///         signerProofDigest(msg.sender, signer, signerNonce[msg.sender]).
    function lockFor(address signer, uint256 amount, bytes calldata signerPubkey, bytes calldata signerProof)
        external
        whenNotPaused
        returns (uint256 sequencerId)
    {
        if (!whitelisted[msg.sender]) revert NotWhitelisted(msg.sender);
        uint256 existing = sequencerIdOf[msg.sender];
        if (existing != 0 && _sequencers[existing].status != Status.Unlocked) {
            revert OwnerHasSequencer(msg.sender, existing);
        }
        if (amount < minLock) revert AmountBelowMinLock(amount, minLock);
        if (amount > maxLock) revert AmountAboveMaxLock(amount, maxLock);
        _registerSigner(signer, signerPubkey, signerProof);

        sequencerId = ++lastSequencerId;
        _sequencers[sequencerId] = Sequencer({
            owner: msg.sender,
            signer: signer,
            amount: amount,
            reward: 0,
            unlockClaimableAt: 0,
            lastSignerChangeAt: uint64(block.timestamp),
            status: Status.Active
        });
        sequencerIdOf[msg.sender] = sequencerId;
        sequencerIdBySigner[signer] = sequencerId;
        uint256 total = totalLocked + amount;
        totalLocked = total;
        stakeToken.safeTransferFrom(msg.sender, address(escrow), amount);
        emit Locked(signer, sequencerId, _nextNonce(), msg.sender, amount, total, signerPubkey);
    }

    /// @notice Adds `amount` to an active sequencer's stake, up to maxLock.
    function relock(uint256 sequencerId, uint256 amount) external whenNotPaused {
        Sequencer storage seq = _ownedSequencer(sequencerId);
        if (seq.status != Status.Active) revert SequencerNotActive(sequencerId);
        if (amount == 0) revert ZeroAmount();
        uint256 newAmount = seq.amount + amount;
        if (newAmount > maxLock) revert AmountAboveMaxLock(newAmount, maxLock);
        seq.amount = newAmount;
        uint256 total = totalLocked + amount;
        totalLocked = total;
        stakeToken.safeTransferFrom(msg.sender, address(escrow), amount);
        emit Relocked(sequencerId, _nextNonce(), amount, newAmount, total);
    }

    /// @notice Leaves the sequencer set; the stake can be claimed after withdrawalDelay.
    function unlock(uint256 sequencerId) external whenNotPaused {
        Sequencer storage seq = _ownedSequencer(sequencerId);
        if (seq.status != Status.Active) revert SequencerNotActive(sequencerId);
        uint256 claimableAt = block.timestamp + withdrawalDelay;
        seq.status = Status.Unlocking;
        // forge-lint: disable-next-line(unsafe-typecast)
        seq.unlockClaimableAt = uint64(claimableAt); // timestamp + delay <= MAX_DELAY fits for eons
        emit UnlockInit(sequencerId, _nextNonce(), msg.sender, seq.amount, claimableAt);
    }

    /// @notice Pays the unlocked stake back to the owner once the withdrawal delay is over.
    function claimUnlocked(uint256 sequencerId) external whenNotPaused {
        Sequencer storage seq = _ownedSequencer(sequencerId);
        if (seq.status != Status.Unlocking) revert SequencerNotUnlocking(sequencerId);
        if (block.timestamp < seq.unlockClaimableAt) {
            revert WithdrawalDelayNotOver(sequencerId, seq.unlockClaimableAt);
        }
        uint256 amount = seq.amount;
        seq.amount = 0;
        seq.status = Status.Unlocked;
        uint256 total = totalLocked - amount;
        totalLocked = total;
        escrow.release(msg.sender, amount);
        emit Unlocked(sequencerId, _nextNonce(), msg.sender, amount, total);
    }

    /// @notice Replaces the sequencer's consensus key, at most once per signerUpdateThrottle;
    ///         `signerProof` as for lockFor, by the new key.
    function updateSigner(
        uint256 sequencerId,
        address newSigner,
        bytes calldata signerPubkey,
        bytes calldata signerProof
    )
        external
        whenNotPaused
    {
        Sequencer storage seq = _ownedSequencer(sequencerId);
        if (seq.status != Status.Active) revert SequencerNotActive(sequencerId);
        uint256 allowedAt = uint256(seq.lastSignerChangeAt) + signerUpdateThrottle;
        if (block.timestamp < allowedAt) revert SignerChangeThrottled(sequencerId, allowedAt);
        _registerSigner(newSigner, signerPubkey, signerProof);
        address oldSigner = seq.signer;
        seq.signer = newSigner;
        seq.lastSignerChangeAt = uint64(block.timestamp);
        sequencerIdBySigner[newSigner] = sequencerId;
        emit SignerChange(sequencerId, _nextNonce(), oldSigner, newSigner, signerPubkey);
    }

    /// @notice Pays a sequencer's accumulated rewards to its owner, from the reward payer.
    function withdrawRewards(uint256 sequencerId) external whenNotPaused {
        Sequencer storage seq = _ownedSequencer(sequencerId);
        uint256 amount = seq.reward;
        if (amount == 0) revert NoRewards(sequencerId);
        seq.reward = 0;
        stakeToken.safeTransferFrom(rewardPayer, msg.sender, amount);
        emit RewardsWithdrawn(sequencerId, _nextNonce(), msg.sender, amount);
    }

    // ------------------------------------------------------------------ group-signed rewards

    /// @notice The digest the group signs for a reward distribution.
    function rewardDigest(RewardDistribution calldata dist) public view returns (bytes32) {
        return RequestDigest.compute(RequestDigest.REWARD_DISTRIBUTION, dist.sequence, keccak256(abi.encode(dist)));
    }

    /// @notice Credits rewardPerBlock for every L2 block produced in [startEpoch, endEpoch].
    ///         Distributions are contiguous in sequence and epochs; anyone may relay one.
    function distributeRewards(RewardDistribution calldata dist, FrostSignature calldata sig) external {
        if (dist.sequence != rewardSequence) revert RewardSequenceMismatch(rewardSequence, dist.sequence);
        if (dist.startEpoch != nextRewardEpoch) revert RewardEpochMismatch(nextRewardEpoch, dist.startEpoch);
        if (dist.endEpoch < dist.startEpoch) revert InvalidEpochRange(dist.startEpoch, dist.endEpoch);
        uint256 count = dist.sequencerIds.length;
        if (count != dist.blocksProduced.length) revert RewardArraysLengthMismatch(count, dist.blocksProduced.length);
        if (!groupKeys.verify(rewardDigest(dist), sig)) revert InvalidGroupSignature();

        uint256 perBlock = rewardPerBlock;
        uint256 totalReward;
        for (uint256 i = 0; i < count; ++i) {
            uint256 id = dist.sequencerIds[i];
            if (_sequencers[id].status == Status.None) revert UnknownSequencer(id);
            uint256 reward = dist.blocksProduced[i] * perBlock;
            _sequencers[id].reward += reward;
            totalReward += reward;
        }
        rewardSequence = dist.sequence + 1;
        nextRewardEpoch = dist.endEpoch + 1;
        emit RewardsDistributed(dist.sequence, _nextNonce(), dist.startEpoch, dist.endEpoch, totalReward);
    }

    // ------------------------------------------------------------------ governance

    /// @notice Takes up to `amount` of a sequencer's stake, Active or Unlocking (an unlocking stake is
    ///         still in escrow, so a sequencer cannot escape a slash by unlocking first), and sends it
    ///         to the slash sink, where only a later (delayed) group-signed action can move it.
    ///         Never reverts for the sequencer or the amount: an unknown or Unlocked sequencer, or
    ///         amount 0, slashes 0 and still emits: a slash that reverted would use its action
    ///         nonce on nothing (Governance records it as ActionFailed), and the chain does not
    ///         sign the same slash again.
    ///         Works while paused. Leaves the status alone: the chain turns a stake below minLock
    ///         into voting power 0, and the owner may still relock or unlock what is left.
    function slash(uint256 sequencerId, uint256 amount) external onlyGovernance {
        Sequencer storage seq = _sequencers[sequencerId];
        uint256 locked = seq.amount; // 0 for an unknown or Unlocked sequencer
        uint256 slashed = amount < locked ? amount : locked;
        seq.amount = locked - slashed;
        uint256 total = totalLocked - slashed;
        totalLocked = total;
        if (slashed != 0) escrow.release(address(slashSink), slashed);
        emit Slashed(sequencerId, _nextNonce(), slashed, total);
    }

    function setWhitelist(address owner, bool allowed) external onlyGovernance {
        if (owner == address(0)) revert ZeroAddress();
        whitelisted[owner] = allowed;
        emit WhitelistChanged(owner, _nextNonce(), allowed);
    }

    function setMinLock(uint256 newMinLock) external onlyGovernance {
        if (newMinLock == 0 || newMinLock > maxLock) revert InvalidLockBounds(newMinLock, maxLock);
        emit MinLockChanged(_nextNonce(), minLock, newMinLock);
        minLock = newMinLock;
    }

    function setMaxLock(uint256 newMaxLock) external onlyGovernance {
        if (newMaxLock < minLock) revert InvalidLockBounds(minLock, newMaxLock);
        emit MaxLockChanged(_nextNonce(), maxLock, newMaxLock);
        maxLock = newMaxLock;
    }

    function setRewardPerBlock(uint256 newRewardPerBlock) external onlyGovernance {
        emit RewardPerBlockChanged(_nextNonce(), rewardPerBlock, newRewardPerBlock);
        rewardPerBlock = newRewardPerBlock;
    }

    function setWithdrawalDelay(uint256 newDelay) external onlyGovernance {
        _checkWithdrawalDelay(newDelay, minWithdrawalDelay);
        emit WithdrawalDelayChanged(_nextNonce(), withdrawalDelay, newDelay);
        withdrawalDelay = newDelay;
    }

    function setSignerUpdateThrottle(uint256 newThrottle) external onlyGovernance {
        _checkDelay(newThrottle);
        emit SignerUpdateThrottleChanged(_nextNonce(), signerUpdateThrottle, newThrottle);
        signerUpdateThrottle = newThrottle;
    }

    function setRewardPayer(address newPayer) external onlyGovernance {
        if (newPayer == address(0)) revert ZeroAddress();
        emit RewardPayerChanged(_nextNonce(), rewardPayer, newPayer);
        rewardPayer = newPayer;
    }

    function setPaused(bool newPaused) external onlyGovernance {
        paused = newPaused;
        emit PausedChanged(_nextNonce(), newPaused);
    }

    // ------------------------------------------------------------------ views

    function sequencer(uint256 sequencerId) external view returns (Sequencer memory) {
        return _sequencers[sequencerId];
    }

    // ------------------------------------------------------------------ internals

    function _checkDelay(uint256 delay) private pure {
        if (delay > MAX_DELAY) revert DelayTooLong(delay, MAX_DELAY);
    }

    function _checkWithdrawalDelay(uint256 delay, uint256 floor) private pure {
        _checkDelay(delay);
        if (delay < floor) revert DelayBelowFloor(delay, floor);
    }

    function _ownedSequencer(uint256 sequencerId) private view returns (Sequencer storage seq) {
        seq = _sequencers[sequencerId];
        if (seq.status == Status.None) revert UnknownSequencer(sequencerId);
        if (seq.owner != msg.sender) revert NotSequencerOwner(sequencerId, msg.sender);
    }

    /// @dev The public key must be a 64-byte (x || y) secp256k1 point whose keccak256 ends in
    ///      `signer`, and the signer must never have been used by any sequencer.
    /// @dev Checks a new signer key (its address, a curve point, never used, held by the caller)
    ///      and uses the caller's proof nonce.
    function _registerSigner(address signer, bytes calldata signerPubkey, bytes calldata signerProof) private {
        if (signer == address(0)) revert ZeroAddress();
        if (signerPubkey.length != 64 || address(uint160(uint256(keccak256(signerPubkey)))) != signer) {
            revert InvalidSignerPubkey(signer);
        }
        if (!FrostVerifier.isOnCurve(uint256(bytes32(signerPubkey[0:32])), uint256(bytes32(signerPubkey[32:64])))) {
            revert InvalidSignerPubkey(signer);
        }
        if (sequencerIdBySigner[signer] != 0) revert SignerInUse(signer);
        uint256 nonce = signerNonce[msg.sender];
        (address recovered, ECDSA.RecoverError err,) =
            ECDSA.tryRecover(signerProofDigest(msg.sender, signer, nonce), signerProof);
        if (err != ECDSA.RecoverError.NoError || recovered != signer) revert InvalidSignerProof(signer);
        signerNonce[msg.sender] = nonce + 1;
    }
}
