// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {FrostSignature} from "./FrostVerifier.sol";
import {GroupKeyRegistry} from "./GroupKeyRegistry.sol";
import {RequestDigest} from "./RequestDigest.sol";

/// @notice A group-signed call to a governed contract: `data` is the ABI-encoded call, whose
///         selector types the action. `nonce` must equal Governance.actionNonce().
struct GovernanceAction {
    address target;
    bytes data;
    uint256 nonce;
}

/// @title Governance
/// @notice The admin of the seqpool L1 contracts. Calls to governed targets come either from the
///         admin key or from a FROST group-signed action. `retireAdmin` (the admin) or
///         `removeAdmin` (a group-signed action) removes the admin for good, after which only the
///         group can act. Creates and owns the GroupKeyRegistry.
///
///         A group-signed action is an exit window: `executeSigned` takes its nonce and queues it,
///         and `executeQueued` runs it once `executionDelay` has passed, so a sequencer that
///         disagrees can start its unlock first. Calls marked immediate (slashing) run at once.
///         An action whose call reverts still uses its nonce and emits ActionFailed, so no
///         action can hold back the ones after it.
contract Governance {
    error NotAdmin(address caller);
    error OnlySelf(address caller);
    error TargetNotGoverned(address target);
    error ActionNonceMismatch(uint256 expected, uint256 got);
    error InvalidGroupSignature();
    error GroupKeyNotSet();
    error ZeroAddress();
    error ActionNotQueued(uint256 actionNonce);
    error ActionAlreadyExecuted(uint256 actionNonce);
    error ActionMismatch(uint256 actionNonce);
    error ActionNotReady(uint256 actionNonce, uint256 eta);
    error SelfCallNotImmediate();
    error InsufficientGas();
    error ActionOutOfOrder(uint256 expected, uint256 got);
    error DelayTooLong(uint256 delay, uint256 maxDelay);
    error TargetForbidden(address target);

    event AdminRetired(address indexed admin);
    event TargetGoverned(address indexed target, bool governed);
    /// @param actionNonce the nonce of a signed action, or type(uint256).max for an admin call.
    event ActionExecuted(address indexed target, bytes4 indexed selector, uint256 actionNonce, bool groupSigned);
    /// @notice A group-signed action waits for its exit window; executeQueued runs it from `eta`.
    event ActionQueued(uint256 indexed actionNonce, address indexed target, bytes4 indexed selector, uint256 eta);
    /// @notice A group-signed action's call reverted (or its target is not governed): its nonce is
    ///         used and nothing changed. `revertData` is the target's error.
    event ActionFailed(uint256 actionNonce, address indexed target, bytes4 indexed selector, bytes revertData);
    event ExecutionDelaySet(uint256 executionDelay);
    event ImmediateSet(address indexed target, bytes4 indexed selector, bool immediate);

    /// @notice A queued action: the hash of its (target, data), when it may run, whether it ran.
    struct QueuedAction {
        bytes32 actionHash;
        uint64 eta;
        bool executed;
    }

    /// @notice Upper bound of the exit window (keeps every eta far inside uint64).
    uint256 public constant MAX_EXECUTION_DELAY = 365 days;
    /// @notice Gas a group-signed action's call is always given at least. A relayer chooses the
    ///         transaction's gas: with less, a call a few frames deep (slash -> escrow -> token)
    ///         could run out while each frame above kept its 1/64, and the action would fail
    ///         for good. Every governed function needs far less (a slash about 60k).
    uint256 public constant MIN_ACTION_GAS = 500_000;

    GroupKeyRegistry public immutable groupKeys;
    /// @notice The pool's stake token: never a governed target, so no action (and no admin call)
    ///         can move stake, slashed stake included (it sits in the SlashSink, which releases
    ///         only through a delayed action).
    address public immutable stakeToken;
    /// @notice The admin key; address(0) once retired.
    address public admin;
    /// @notice The nonce the next group-signed action must carry.
    uint256 public actionNonce;
    mapping(address => bool) public governedTarget;
    /// @notice Seconds between queueing a group-signed action and running it.
    uint256 public executionDelay;
    /// @notice Calls that run as soon as they are signed (target => selector => immediate).
    mapping(address => mapping(bytes4 => bool)) public immediate;
    /// @notice Queued group-signed actions by nonce (eta 0: the nonce ran at once or is unused).
    mapping(uint256 => QueuedAction) public queued;
    /// @notice The lowest action nonce that has not run: queued actions run in nonce order, so a
    ///         later action never runs before one it may depend on (a target made governed, an
    ///         older value of the same setting). Immediate actions run when signed.
    uint256 public nextToRun;

    constructor(address admin_, uint256 executionDelay_, address stakeToken_) {
        if (admin_ == address(0) || stakeToken_ == address(0)) revert ZeroAddress();
        _checkDelay(executionDelay_);
        admin = admin_;
        stakeToken = stakeToken_;
        executionDelay = executionDelay_;
        groupKeys = new GroupKeyRegistry(address(this));
        governedTarget[address(this)] = true;
        governedTarget[address(groupKeys)] = true;
        emit TargetGoverned(address(this), true);
        emit TargetGoverned(address(groupKeys), true);
        emit ExecutionDelaySet(executionDelay_);
    }

    modifier onlyAdmin() {
        if (msg.sender != admin || msg.sender == address(0)) revert NotAdmin(msg.sender);
        _;
    }

    modifier onlySelf() {
        if (msg.sender != address(this)) revert OnlySelf(msg.sender);
        _;
    }

    /// @notice Adds or removes a contract that actions may call. Reached only through an action.
    function setGovernedTarget(address target, bool governed) external onlySelf {
        if (target == address(0)) revert ZeroAddress();
        if (governed && target == stakeToken) revert TargetForbidden(target);
        governedTarget[target] = governed;
        emit TargetGoverned(target, governed);
    }

    /// @notice Sets the exit window (at most MAX_EXECUTION_DELAY). Reached only through a
    ///         self-call: a group-signed action, which calling Governance itself is never
    ///         immediate, so a change of the delay waits the old delay; or, until it retires, the
    ///         admin's execute.
    function setExecutionDelay(uint256 executionDelay_) external onlySelf {
        _checkDelay(executionDelay_);
        executionDelay = executionDelay_;
        emit ExecutionDelaySet(executionDelay_);
    }

    /// @notice Marks a call of another governed contract as immediate (or not). Reached only
    ///         through an action; Governance's own functions cannot be made immediate.
    function setImmediate(address target, bytes4 selector, bool isImmediate) external onlySelf {
        if (target == address(this)) revert SelfCallNotImmediate();
        if (target == address(0)) revert ZeroAddress();
        immediate[target][selector] = isImmediate;
        emit ImmediateSet(target, selector, isImmediate);
    }

    /// @notice Calls a governed contract as the admin.
    function execute(address target, bytes calldata data) external onlyAdmin returns (bytes memory) {
        if (!governedTarget[target] || data.length < 4) revert TargetNotGoverned(target);
        (bool ok, bytes memory result) = target.call(data);
        if (!ok) {
            // Bubble up the target's own error so callers see which check failed.
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
        emit ActionExecuted(target, bytes4(data[:4]), type(uint256).max, false);
        return result;
    }

    /// @notice The digest the group signs for `action`.
    function actionDigest(GovernanceAction calldata action) public view returns (bytes32) {
        return RequestDigest.compute(
            RequestDigest.GOVERNANCE_ACTION, action.nonce, keccak256(abi.encode(action.target, keccak256(action.data)))
        );
    }

    /// @notice Takes a group-signed action; anyone may relay it. It runs at once if it is
    ///         immediate or the delay is zero, else it is queued until `block.timestamp + delay`.
    function executeSigned(GovernanceAction calldata action, FrostSignature calldata sig) external {
        uint256 nonce = actionNonce;
        if (action.nonce != nonce) revert ActionNonceMismatch(nonce, action.nonce);
        if (!groupKeys.verify(actionDigest(action), sig)) revert InvalidGroupSignature();
        actionNonce = nonce + 1;
        bytes4 selector = _selector(action.data);
        uint256 delay = executionDelay;
        if (delay == 0 || immediate[action.target][selector]) {
            _run(action.target, action.data, nonce);
            if (nonce == nextToRun) _advance(nonce + 1);
            return;
        }
        uint256 eta = block.timestamp + delay; // delay <= MAX_EXECUTION_DELAY: fits in uint64
        // forge-lint: disable-next-line(unsafe-typecast)
        queued[nonce] = QueuedAction({actionHash: _hash(action), eta: uint64(eta), executed: false});
        emit ActionQueued(nonce, action.target, selector, eta);
    }

    /// @notice Runs a queued action once its exit window is over and every earlier action has
    ///         run; anyone may call it.
    function executeQueued(GovernanceAction calldata action) external {
        QueuedAction storage q = queued[action.nonce];
        if (q.eta == 0) revert ActionNotQueued(action.nonce);
        if (q.executed) revert ActionAlreadyExecuted(action.nonce);
        if (q.actionHash != _hash(action)) revert ActionMismatch(action.nonce);
        if (block.timestamp < q.eta) revert ActionNotReady(action.nonce, q.eta);
        if (action.nonce != nextToRun) revert ActionOutOfOrder(nextToRun, action.nonce);
        q.executed = true;
        _run(action.target, action.data, action.nonce);
        _advance(action.nonce + 1);
    }

    /// @notice Gives up the admin key forever. Requires a group key, or nobody could govern.
    function retireAdmin() external onlyAdmin {
        if (!groupKeys.isKeySet()) revert GroupKeyNotSet();
        emit AdminRetired(admin);
        admin = address(0);
    }

    /// @notice Removes the admin key forever, through a group-signed action (the chain's
    ///         retirement of its admin makes one). Nothing sets an admin again.
    function removeAdmin() external onlySelf {
        emit AdminRetired(admin);
        admin = address(0);
    }

    /// @dev Moves nextToRun to the first nonce from `from` that has not run (nonces that ran at
    ///      once have eta 0; nonces from actionNonce on are not taken yet).
    function _advance(uint256 from) private {
        uint256 next = from;
        uint256 taken = actionNonce;
        while (next < taken && queued[next].eta == 0) {
            ++next;
        }
        nextToRun = next;
    }

    function _checkDelay(uint256 delay) private pure {
        if (delay > MAX_EXECUTION_DELAY) revert DelayTooLong(delay, MAX_EXECUTION_DELAY);
    }

    /// @dev Calls `target` for action `nonce`; a revert becomes ActionFailed, not a revert, so the
    ///      nonce stays used. A relayer could make the call fail by sending too little gas: the
    ///      call is given at least MIN_ACTION_GAS, and if it still failed with at most 1/64 of
    ///      the gas left (all the forwarded gas used), the whole transaction reverts instead and
    ///      the action can be relayed again.
    function _run(address target, bytes calldata data, uint256 nonce) private {
        bytes4 selector = _selector(data);
        if (!governedTarget[target] || data.length < 4) {
            emit ActionFailed(nonce, target, selector, abi.encodeWithSelector(TargetNotGoverned.selector, target));
            return;
        }
        // The call gets 63/64 of what is left: demand enough that it gets MIN_ACTION_GAS.
        if (gasleft() < MIN_ACTION_GAS + MIN_ACTION_GAS / 63 + 5_000) revert InsufficientGas();
        uint256 gasBefore = gasleft();
        (bool ok, bytes memory result) = target.call(data);
        if (ok) {
            emit ActionExecuted(target, selector, nonce, true);
            return;
        }
        if (gasleft() <= gasBefore / 64) revert InsufficientGas();
        emit ActionFailed(nonce, target, selector, result);
    }

    function _selector(bytes calldata data) private pure returns (bytes4) {
        return data.length < 4 ? bytes4(0) : bytes4(data[:4]);
    }

    function _hash(GovernanceAction calldata action) private pure returns (bytes32) {
        return keccak256(abi.encode(action.target, keccak256(action.data)));
    }
}
