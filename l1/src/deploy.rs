//! Deploys the seqpool L1 contracts (devnet token, governance with its group-key registry,
//! locking pool with its escrow, batch inbox) and describes the result as JSON for the devnet.

use std::path::Path;

use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, WalletProvider};
use alloy::sol_types::SolCall;
use serde::{Deserialize, Serialize};

use crate::bindings::{BatchInbox, DevnetToken, Governance, LockingPool};

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{step}: {source}")]
    Contract {
        step: &'static str,
        #[source]
        source: Box<alloy::contract::Error>,
    },
    #[error("{step}: waiting for the receipt: {source}")]
    Pending {
        step: &'static str,
        #[source]
        source: Box<alloy::providers::PendingTransactionError>,
    },
    #[error("{step}: transaction {tx} reverted")]
    Reverted {
        step: &'static str,
        tx: alloy::primitives::TxHash,
    },
    #[error("reading the chain id: {0}")]
    ChainId(#[source] alloy::transports::TransportError),
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("encoding the deployment JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Parameters of a deployment. The deploying account becomes the governance admin and, on a
/// devnet, the reward payer.
#[derive(Clone, Debug)]
pub struct DeployConfig {
    pub first_l2_block: u64,
    pub min_lock: U256,
    pub max_lock: U256,
    pub reward_per_block: U256,
    /// Seconds between unlock and claim.
    pub withdrawal_delay: U256,
    /// The least the withdrawal delay can ever be governed to (immutable in the pool): it must
    /// cover the slash path's worst case, so a sequencer that unlocks at once is still slashed.
    pub min_withdrawal_delay: U256,
    /// Minimum seconds between two signer changes of a sequencer.
    pub signer_update_throttle: U256,
    /// Devnet tokens minted to the deployer, which approves the pool to pay rewards from them.
    pub devnet_reward_funds: U256,
    /// Seconds a group-signed action waits in Governance before it runs (the exit window; slashing
    /// runs at once). More than the withdrawal delay in production, so a sequencer that disagrees
    /// can unlock and claim before the action takes effect (the default: twice it).
    pub execution_delay: U256,
}

impl Default for DeployConfig {
    fn default() -> Self {
        let ether = U256::from(10u64).pow(U256::from(18u64));
        Self {
            first_l2_block: 1,
            min_lock: U256::from(100u64) * ether,
            max_lock: U256::from(1_000_000u64) * ether,
            reward_per_block: ether,
            withdrawal_delay: U256::from(600u64),
            min_withdrawal_delay: U256::from(600u64),
            signer_update_throttle: U256::from(60u64),
            devnet_reward_funds: U256::from(1_000_000_000u64) * ether,
            execution_delay: U256::from(1200u64),
        }
    }
}

/// Addresses of a deployment, as written to the deployment JSON file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub chain_id: u64,
    pub deployer: Address,
    pub stake_token: Address,
    pub governance: Address,
    pub group_key_registry: Address,
    pub locking_pool: Address,
    pub locking_escrow: Address,
    pub batch_inbox: Address,
    pub first_l2_block: u64,
    /// L1 block of the last deployment transaction: where an event watcher can start.
    pub deployed_at_block: u64,
}

impl Deployment {
    pub fn write_json(&self, path: &Path) -> Result<(), DeployError> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        std::fs::write(path, text).map_err(|source| DeployError::Write {
            path: path.display().to_string(),
            source,
        })
    }
}

/// Sends a contract call and waits for a successful receipt.
macro_rules! send_ok {
    ($step:expr, $call:expr) => {{
        let step: &'static str = $step;
        let pending = $call.send().await.map_err(|source| DeployError::Contract {
            step,
            source: Box::new(source),
        })?;
        let receipt = pending
            .get_receipt()
            .await
            .map_err(|source| DeployError::Pending {
                step,
                source: Box::new(source),
            })?;
        if !receipt.status() {
            return Err(DeployError::Reverted {
                step,
                tx: receipt.transaction_hash,
            });
        }
        receipt
    }};
}

/// Deploys everything with the provider's default signer and wires it together: the pool is
/// made a governed target whose slash runs at once (other group-signed actions wait
/// `execution_delay`) and the deployer approves the pool as reward payer.
pub async fn deploy_all<P>(provider: P, config: &DeployConfig) -> Result<Deployment, DeployError>
where
    P: Provider + WalletProvider + Clone,
{
    let deployer = provider.default_signer_address();
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(DeployError::ChainId)?;
    let contract = |step| {
        move |source| DeployError::Contract {
            step,
            source: Box::new(source),
        }
    };

    let token = DevnetToken::deploy(provider.clone())
        .await
        .map_err(contract("deploy DevnetToken"))?;
    let governance = Governance::deploy(
        provider.clone(),
        deployer,
        config.execution_delay,
        *token.address(),
    )
    .await
    .map_err(contract("deploy Governance"))?;
    let registry = governance
        .groupKeys()
        .call()
        .await
        .map_err(contract("Governance.groupKeys"))?;
    let params = LockingPool::Params {
        minLock: config.min_lock,
        maxLock: config.max_lock,
        rewardPerBlock: config.reward_per_block,
        withdrawalDelay: config.withdrawal_delay,
        signerUpdateThrottle: config.signer_update_throttle,
        rewardPayer: deployer,
        minWithdrawalDelay: config.min_withdrawal_delay,
    };
    let pool = LockingPool::deploy(
        provider.clone(),
        *token.address(),
        registry,
        *governance.address(),
        params,
    )
    .await
    .map_err(contract("deploy LockingPool"))?;
    let escrow = pool
        .escrow()
        .call()
        .await
        .map_err(contract("LockingPool.escrow"))?;
    let inbox = BatchInbox::deploy(provider.clone(), registry, config.first_l2_block)
        .await
        .map_err(contract("deploy BatchInbox"))?;

    let govern_pool = Governance::setGovernedTargetCall {
        target: *pool.address(),
        governed: true,
    };
    send_ok!(
        "Governance.execute(setGovernedTarget(pool))",
        governance.execute(
            *governance.address(),
            SolCall::abi_encode(&govern_pool).into()
        )
    );
    let slash_immediate = Governance::setImmediateCall {
        target: *pool.address(),
        selector: LockingPool::slashCall::SELECTOR.into(),
        isImmediate: true,
    };
    send_ok!(
        "Governance.execute(setImmediate(pool, slash))",
        governance.execute(
            *governance.address(),
            SolCall::abi_encode(&slash_immediate).into()
        )
    );
    let sink = pool
        .slashSink()
        .call()
        .await
        .map_err(contract("LockingPool.slashSink"))?;
    let govern_sink = Governance::setGovernedTargetCall {
        target: sink,
        governed: true,
    };
    send_ok!(
        "Governance.execute(setGovernedTarget(slash sink))",
        governance.execute(
            *governance.address(),
            SolCall::abi_encode(&govern_sink).into()
        )
    );
    send_ok!(
        "DevnetToken.mint(reward funds)",
        token.mint(deployer, config.devnet_reward_funds)
    );
    let receipt = send_ok!(
        "DevnetToken.approve(pool)",
        token.approve(*pool.address(), U256::MAX)
    );

    Ok(Deployment {
        chain_id,
        deployer,
        stake_token: *token.address(),
        governance: *governance.address(),
        group_key_registry: registry,
        locking_pool: *pool.address(),
        locking_escrow: escrow,
        batch_inbox: *inbox.address(),
        first_l2_block: config.first_l2_block,
        deployed_at_block: receipt.block_number.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forge script (contracts/script/Deploy.s.sol) writes the same keys.
    #[test]
    fn reads_the_forge_script_output() {
        let json = r#"{
          "batchInbox": "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
          "chainId": 31337,
          "deployedAtBlock": 0,
          "deployer": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
          "firstL2Block": 1,
          "governance": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
          "groupKeyRegistry": "0xCafac3dD18aC6c6e92c921884f9E4176737C052c",
          "lockingEscrow": "0x75537828f2ce51be7289709686A69CbFDbB714F1",
          "lockingPool": "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
          "stakeToken": "0x5FbDB2315678afecb367f032d93F642f64180aa3"
        }"#;
        let deployment: Deployment = serde_json::from_str(json).expect("forge script JSON");
        assert_eq!(deployment.chain_id, 31337);
        assert_eq!(
            deployment.locking_pool.to_string(),
            "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
        );
        let round_trip: Deployment =
            serde_json::from_str(&serde_json::to_string(&deployment).expect("encode"))
                .expect("decode");
        assert_eq!(round_trip, deployment);
    }

    #[test]
    fn rejects_a_deployment_file_with_a_missing_address() {
        let err = serde_json::from_str::<Deployment>(r#"{"chainId": 1}"#)
            .expect_err("incomplete file accepted");
        assert!(err.to_string().contains("missing field"), "{err}");
    }
}
