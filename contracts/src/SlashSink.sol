// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title SlashSink
/// @notice Holds slashed stake. Only Governance can release it, and Governance reaches it only
///         through a group-signed action that waits the exit window (the stake token itself is
///         never a governed target), so slashed stake cannot be taken by one key or at once.
contract SlashSink {
    using SafeERC20 for IERC20;

    error NotGovernance(address caller);

    event Released(address indexed to, uint256 amount);

    IERC20 public immutable token;
    address public immutable governance;

    constructor(IERC20 token_, address governance_) {
        token = token_;
        governance = governance_;
    }

    function release(address to, uint256 amount) external {
        if (msg.sender != governance) revert NotGovernance(msg.sender);
        token.safeTransfer(to, amount);
        emit Released(to, amount);
    }
}
