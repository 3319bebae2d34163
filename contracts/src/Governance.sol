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
///         admin key or from a FROST group-signed action. `retireAdmin` removes the admin for good,
///         after which only the group can act. Creates and owns the GroupKeyRegistry.
contract Governance {
    error NotAdmin(address caller);
    error OnlySelf(address caller);
    error TargetNotGoverned(address target);
    error ActionNonceMismatch(uint256 expected, uint256 got);
    error InvalidGroupSignature();
    error GroupKeyNotSet();
    error ZeroAddress();

    event AdminRetired(address indexed admin);
    event TargetGoverned(address indexed target, bool governed);
    /// @param actionNonce the nonce of a signed action, or type(uint256).max for an admin call.
    event ActionExecuted(address indexed target, bytes4 indexed selector, uint256 actionNonce, bool groupSigned);

    GroupKeyRegistry public immutable groupKeys;
    /// @notice The admin key; address(0) once retired.
    address public admin;
    /// @notice The nonce the next group-signed action must carry.
    uint256 public actionNonce;
    mapping(address => bool) public governedTarget;

    constructor(address admin_) {
        if (admin_ == address(0)) revert ZeroAddress();
        admin = admin_;
        groupKeys = new GroupKeyRegistry(address(this));
        governedTarget[address(this)] = true;
        governedTarget[address(groupKeys)] = true;
        emit TargetGoverned(address(this), true);
        emit TargetGoverned(address(groupKeys), true);
    }

    modifier onlyAdmin() {
        if (msg.sender != admin || msg.sender == address(0)) revert NotAdmin(msg.sender);
        _;
    }

    /// @notice Adds or removes a contract that actions may call. Reached only through an action.
    function setGovernedTarget(address target, bool governed) external {
        if (msg.sender != address(this)) revert OnlySelf(msg.sender);
        if (target == address(0)) revert ZeroAddress();
        governedTarget[target] = governed;
        emit TargetGoverned(target, governed);
    }

    /// @notice Calls a governed contract as the admin.
    function execute(address target, bytes calldata data) external onlyAdmin returns (bytes memory) {
        bytes memory result = _call(target, data);
        emit ActionExecuted(target, bytes4(data[:4]), type(uint256).max, false);
        return result;
    }

    /// @notice The digest the group signs for `action`.
    function actionDigest(GovernanceAction calldata action) public view returns (bytes32) {
        return RequestDigest.compute(
            RequestDigest.GOVERNANCE_ACTION, action.nonce, keccak256(abi.encode(action.target, keccak256(action.data)))
        );
    }

    /// @notice Executes a group-signed action; anyone may relay it.
    function executeSigned(GovernanceAction calldata action, FrostSignature calldata sig)
        external
        returns (bytes memory)
    {
        uint256 nonce = actionNonce;
        if (action.nonce != nonce) revert ActionNonceMismatch(nonce, action.nonce);
        if (!groupKeys.verify(actionDigest(action), sig)) revert InvalidGroupSignature();
        actionNonce = nonce + 1;
        bytes memory result = _call(action.target, action.data);
        emit ActionExecuted(action.target, bytes4(action.data[:4]), nonce, true);
        return result;
    }

    /// @notice Gives up the admin key forever. Requires a group key, or nobody could govern.
    function retireAdmin() external onlyAdmin {
        if (!groupKeys.isKeySet()) revert GroupKeyNotSet();
        emit AdminRetired(admin);
        admin = address(0);
    }

    function _call(address target, bytes calldata data) private returns (bytes memory) {
        if (!governedTarget[target]) revert TargetNotGoverned(target);
        if (data.length < 4) revert TargetNotGoverned(target);
        (bool ok, bytes memory result) = target.call(data);
        if (!ok) {
            // Bubble up the target's own error so callers see which check failed.
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
        return result;
    }
}
