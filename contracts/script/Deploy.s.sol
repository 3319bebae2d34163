// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Vm} from "../test/utils/Vm.sol";
import {DevnetToken} from "../src/DevnetToken.sol";
import {Governance} from "../src/Governance.sol";
import {GroupKeyRegistry} from "../src/GroupKeyRegistry.sol";
import {LockingPool} from "../src/LockingPool.sol";
import {BatchInbox} from "../src/BatchInbox.sol";

/// @notice forge-script deployment for anvil, equivalent to `seqpool-l1-deploy` (the Rust CLI the
///         devnet uses): same contracts, same wiring, same JSON keys.
///
///   DEPLOYER_KEY=0xac09...ff80 ../.bin/forge script script/Deploy.s.sol \
///       --rpc-url http://127.0.0.1:8545 --broadcast
///
/// Optional: DEPLOYMENT_OUT (default deployments/anvil.json, relative to contracts/),
/// FIRST_L2_BLOCK (default 1).
contract Deploy {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    struct Deployed {
        DevnetToken token;
        Governance governance;
        GroupKeyRegistry registry;
        LockingPool pool;
        BatchInbox inbox;
    }

    function run() external returns (Deployed memory d) {
        uint256 key = vm.envUint("DEPLOYER_KEY");
        address deployer = vm.addr(key);
        uint64 firstL2Block = uint64(vm.envOr("FIRST_L2_BLOCK", uint256(1)));
        vm.startBroadcast(key);
        // The exit window of group-signed actions; by default twice the pool's withdrawal delay,
        // so a sequencer that unlocks when an action is queued can claim before it runs.
        uint256 executionDelay = vm.envOr("EXECUTION_DELAY", uint256(1200));
        // The withdrawal delay's floor for the pool's life (0 on a devnet that wants seconds).
        uint256 minWithdrawalDelay = vm.envOr("MIN_WITHDRAWAL_DELAY", uint256(600));
        d = deploy(deployer, firstL2Block, executionDelay, minWithdrawalDelay);
        vm.stopBroadcast();
        vm.createDir("deployments", true);
        _write(d, deployer, firstL2Block, vm.envOr("DEPLOYMENT_OUT", string("deployments/anvil.json")));
    }

    /// @dev Must run with `deployer` as msg.sender of the calls (broadcast or prank), since the
    ///      deployer becomes the governance admin and reward payer.
    function deploy(address deployer, uint64 firstL2Block, uint256 executionDelay, uint256 minWithdrawalDelay)
        public
        returns (Deployed memory d)
    {
        d.token = new DevnetToken();
        d.governance = new Governance(deployer, executionDelay, address(d.token));
        d.registry = d.governance.groupKeys();
        d.pool = new LockingPool(
            d.token,
            d.registry,
            address(d.governance),
            LockingPool.Params({
                minLock: 100 ether,
                maxLock: 1_000_000 ether,
                rewardPerBlock: 1 ether,
                withdrawalDelay: 600,
                signerUpdateThrottle: 60,
                rewardPayer: deployer,
                minWithdrawalDelay: minWithdrawalDelay
            })
        );
        d.inbox = new BatchInbox(d.registry, firstL2Block);
        d.governance.execute(
            address(d.governance), abi.encodeCall(Governance.setGovernedTarget, (address(d.pool), true))
        );
        d.governance.execute(
            address(d.governance),
            abi.encodeCall(Governance.setImmediate, (address(d.pool), LockingPool.slash.selector, true))
        );
        d.governance.execute(
            address(d.governance), abi.encodeCall(Governance.setGovernedTarget, (address(d.pool.slashSink()), true))
        );
        d.token.mint(deployer, 1_000_000_000 ether);
        d.token.approve(address(d.pool), type(uint256).max);
    }

    function _write(Deployed memory d, address deployer, uint64 firstL2Block, string memory path) internal {
        string memory o = "deployment";
        vm.serializeUint(o, "chainId", block.chainid);
        vm.serializeAddress(o, "deployer", deployer);
        vm.serializeAddress(o, "stakeToken", address(d.token));
        vm.serializeAddress(o, "governance", address(d.governance));
        vm.serializeAddress(o, "groupKeyRegistry", address(d.registry));
        vm.serializeAddress(o, "lockingPool", address(d.pool));
        vm.serializeAddress(o, "lockingEscrow", address(d.pool.escrow()));
        vm.serializeAddress(o, "batchInbox", address(d.inbox));
        vm.serializeUint(o, "firstL2Block", firstL2Block);
        // The block the script started from: at or before the deployment, a safe start for watchers.
        string memory json = vm.serializeUint(o, "deployedAtBlock", block.number);
        vm.writeJson(json, path);
    }
}
