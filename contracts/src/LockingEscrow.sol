// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title LockingEscrow
/// @notice Holds locked stake, apart from the pool's logic, so that the stake balance is one
///         auditable number. Only the pool that created it can release tokens.
contract LockingEscrow {
    using SafeERC20 for IERC20;

    error NotPool(address caller);

    IERC20 public immutable token;
    address public immutable pool;

    constructor(IERC20 token_) {
        token = token_;
        pool = msg.sender;
    }

    function release(address to, uint256 amount) external {
        if (msg.sender != pool) revert NotPool(msg.sender);
        token.safeTransfer(to, amount);
    }
}
