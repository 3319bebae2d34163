// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title DevnetToken
/// @notice Stand-in for the stake token on devnets and in tests: anyone may mint. Never deploy to
///         a public network.
contract DevnetToken is ERC20 {
    constructor() ERC20("seqpool devnet stake", "dSTAKE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
