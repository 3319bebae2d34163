//! Onboarding sequencers on a devnet L1: the governance admin whitelists each owner, funds it with
//! gas money and devnet stake tokens; each owner approves the pool and calls `lockFor` with its
//! sequencer's secp256k1 signer key. Used by `seqpoold testnet --l1-rpc`, the end-to-end tests and
//! `seqpool-l1-deploy lock` (for locking a sequencer by hand).
//!
//! Transactions of one phase are all sent before any receipt is awaited, so a phase costs about
//! one L1 block whether the node automines or mines on an interval.
use alloy::network::TransactionBuilder;
use alloy::primitives::{keccak256, Address, TxHash, U256};
use alloy::providers::{PendingTransactionBuilder, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolEvent};

use crate::bindings::{DevnetToken, Governance, GroupKeyRegistry, LockingPool};
use crate::deploy::Deployment;

/// Gas for `lockFor`: sent in the same block as its `approve`, so it cannot be estimated first
/// (it costs ~251k; see docs/contracts.md).
const LOCK_FOR_GAS: u64 = 500_000;

#[derive(Debug, thiserror::Error)]
pub enum OnboardError {
    #[error("{step}: sending: {reason}")]
    Send { step: String, reason: String },
    #[error("{step}: waiting for the receipt: {reason}")]
    Receipt { step: String, reason: String },
    #[error("{step}: transaction {tx} reverted")]
    Reverted { step: String, tx: TxHash },
    #[error("{step}: the receipt of {tx} has no {event} event")]
    MissingEvent {
        step: String,
        tx: TxHash,
        event: &'static str,
    },
    #[error("L1 RPC URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("signer public key: {0}")]
    PublicKey(String),
}

/// One sequencer to lock: the L1 account that owns the stake and the consensus key it registers
/// (held here: LockingPool takes a key only with its proof of possession).
#[derive(Clone, Debug)]
pub struct SequencerLock {
    pub owner: PrivateKeySigner,
    /// The sequencer's signer key (its CometBFT consensus key).
    pub signer_key: k256::ecdsa::SigningKey,
    /// 64-byte uncompressed secp256k1 key (x || y) of the signer key.
    pub signer_pubkey: [u8; 64],
    /// Stake in wei.
    pub amount: U256,
}

impl SequencerLock {
    /// The lock of `signer` (its consensus key) by `owner`.
    pub fn new(owner: PrivateKeySigner, signer: &k256::ecdsa::SigningKey, amount: U256) -> Self {
        Self {
            owner,
            signer_key: signer.clone(),
            signer_pubkey: uncompressed_xy(signer.verifying_key()),
            amount,
        }
    }

    /// The Ethereum address of the signer key (what `lockFor` takes as `signer`).
    pub fn signer_address(&self) -> Address {
        signer_address(&self.signer_pubkey)
    }
}

/// The 64-byte x || y form of a secp256k1 public key, as LockingPool stores it.
pub fn uncompressed_xy(key: &k256::ecdsa::VerifyingKey) -> [u8; 64] {
    let point = key.to_encoded_point(false);
    let mut out = [0u8; 64];
    out.copy_from_slice(&point.as_bytes()[1..]);
    out
}

/// The signer key's proof of possession for LockingPool: its 65-byte ECDSA signature (r, s, v)
/// over `LockingPool.signerProofDigest(owner, signer, nonce)` of the pool at `pool` on L1 chain
/// `chain_id`; `nonce` is the pool's `signerNonce(owner)`.
pub fn signer_proof(
    key: &k256::ecdsa::SigningKey,
    chain_id: u64,
    pool: Address,
    owner: Address,
    nonce: U256,
) -> Result<[u8; 65], OnboardError> {
    use alloy::signers::SignerSync;
    use alloy::sol_types::SolValue;
    let signer = signer_address(&uncompressed_xy(key.verifying_key()));
    let digest = keccak256(
        (
            keccak256("seqpool.LockingPool.SignerProof".as_bytes()),
            U256::from(chain_id),
            pool,
            owner,
            signer,
            nonce,
        )
            .abi_encode(),
    );
    let signature = PrivateKeySigner::from_signing_key(key.clone())
        .sign_hash_sync(&digest)
        .map_err(|e| OnboardError::PublicKey(format!("signing the proof of possession: {e}")))?;
    Ok(signature.as_bytes())
}

/// The Ethereum address of a 64-byte x || y public key.
pub fn signer_address(xy: &[u8; 64]) -> Address {
    Address::from_slice(&keccak256(xy)[12..])
}

/// A sequencer as the `Locked` event reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedSequencer {
    pub sequencer_id: u64,
    pub owner: Address,
    pub signer: Address,
    pub amount: U256,
    /// The pool's event nonce of the `Locked` event.
    pub nonce: u64,
    pub tx_hash: TxHash,
    pub block_number: u64,
}

/// Gas money each owner receives on a devnet.
pub fn default_owner_funding() -> U256 {
    U256::from(10u64).pow(U256::from(18u64)) * U256::from(10u64)
}

fn connect(url: &str, key: PrivateKeySigner) -> Result<impl Provider + Clone, OnboardError> {
    let parsed = url.parse().map_err(|e| OnboardError::Url {
        url: url.to_string(),
        reason: format!("{e}"),
    })?;
    Ok(ProviderBuilder::new().wallet(key).connect_http(parsed))
}

async fn send<P: Provider>(
    provider: &P,
    step: String,
    tx: TransactionRequest,
) -> Result<(String, PendingTransactionBuilder<alloy::network::Ethereum>), OnboardError> {
    let pending = provider
        .send_transaction(tx)
        .await
        .map_err(|e| OnboardError::Send {
            step: step.clone(),
            reason: e.to_string(),
        })?;
    Ok((step, pending))
}

async fn confirmed(
    step: String,
    pending: PendingTransactionBuilder<alloy::network::Ethereum>,
) -> Result<TransactionReceipt, OnboardError> {
    let receipt = pending
        .get_receipt()
        .await
        .map_err(|e| OnboardError::Receipt {
            step: step.clone(),
            reason: e.to_string(),
        })?;
    if !receipt.status() {
        return Err(OnboardError::Reverted {
            step,
            tx: receipt.transaction_hash,
        });
    }
    Ok(receipt)
}

async fn confirm_all(
    sent: Vec<(String, PendingTransactionBuilder<alloy::network::Ethereum>)>,
) -> Result<Vec<TransactionReceipt>, OnboardError> {
    let mut receipts = Vec::with_capacity(sent.len());
    for (step, pending) in sent {
        receipts.push(confirmed(step, pending).await?);
    }
    Ok(receipts)
}

/// The admin's part: whitelist each owner through Governance, send it `funding` wei for gas and
/// mint it `stake` devnet tokens. `deployer` must be the governance admin.
pub async fn prepare_owners(
    url: &str,
    deployer: PrivateKeySigner,
    deployment: &Deployment,
    owners: &[(Address, U256)],
    funding: U256,
) -> Result<(), OnboardError> {
    let provider = connect(url, deployer)?;
    let mut sent = Vec::new();
    for (owner, stake) in owners {
        let whitelist = LockingPool::setWhitelistCall {
            owner: *owner,
            allowed: true,
        }
        .abi_encode();
        let execute = Governance::executeCall {
            target: deployment.locking_pool,
            data: whitelist.into(),
        };
        sent.push(
            send(
                &provider,
                format!("whitelist {owner}"),
                TransactionRequest::default()
                    .with_to(deployment.governance)
                    .with_input(execute.abi_encode()),
            )
            .await?,
        );
        sent.push(
            send(
                &provider,
                format!("fund {owner}"),
                TransactionRequest::default()
                    .with_to(*owner)
                    .with_value(funding),
            )
            .await?,
        );
        let mint = DevnetToken::mintCall {
            to: *owner,
            amount: *stake,
        };
        sent.push(
            send(
                &provider,
                format!("mint stake for {owner}"),
                TransactionRequest::default()
                    .with_to(deployment.stake_token)
                    .with_input(mint.abi_encode()),
            )
            .await?,
        );
    }
    confirm_all(sent).await.map(|_| ())
}

async fn send_approve<P: Provider>(
    provider: &P,
    deployment: &Deployment,
    owner: Address,
    amount: U256,
) -> Result<(String, PendingTransactionBuilder<alloy::network::Ethereum>), OnboardError> {
    let approve = DevnetToken::approveCall {
        spender: deployment.locking_pool,
        value: amount,
    };
    send(
        provider,
        format!("approve by {owner}"),
        TransactionRequest::default()
            .with_to(deployment.stake_token)
            .with_input(approve.abi_encode()),
    )
    .await
}

async fn send_lock_for<P: Provider>(
    provider: &P,
    deployment: &Deployment,
    lock: &SequencerLock,
) -> Result<(String, PendingTransactionBuilder<alloy::network::Ethereum>), OnboardError> {
    let owner = lock.owner.address();
    let nonce = LockingPool::new(deployment.locking_pool, provider)
        .signerNonce(owner)
        .call()
        .await
        .map_err(|e| OnboardError::Send {
            step: format!("LockingPool.signerNonce({owner})"),
            reason: e.to_string(),
        })?;
    let proof = signer_proof(
        &lock.signer_key,
        deployment.chain_id,
        deployment.locking_pool,
        owner,
        nonce,
    )?;
    let lock_for = LockingPool::lockForCall {
        signer: lock.signer_address(),
        amount: lock.amount,
        signerPubkey: lock.signer_pubkey.to_vec().into(),
        signerProof: proof.to_vec().into(),
    };
    send(
        provider,
        format!("lockFor by {}", lock.owner.address()),
        TransactionRequest::default()
            .with_to(deployment.locking_pool)
            .with_input(lock_for.abi_encode())
            .with_gas_limit(LOCK_FOR_GAS),
    )
    .await
}

/// The owners' part: each approves the pool and locks. Returns the sequencers in `locks` order.
pub async fn lock_sequencers(
    url: &str,
    deployment: &Deployment,
    locks: &[SequencerLock],
) -> Result<Vec<LockedSequencer>, OnboardError> {
    let mut sent = Vec::new();
    for lock in locks {
        let provider = connect(url, lock.owner.clone())?;
        let approved =
            send_approve(&provider, deployment, lock.owner.address(), lock.amount).await?;
        let locked = send_lock_for(&provider, deployment, lock).await?;
        sent.push((approved, locked));
    }
    let mut out = Vec::with_capacity(sent.len());
    for ((approve_step, approve), (step, lock)) in sent {
        confirmed(approve_step, approve).await?;
        let receipt = confirmed(step.clone(), lock).await?;
        out.push(locked_event(&step, &receipt)?);
    }
    Ok(out)
}

/// The owner lets the pool take `amount` of its stake tokens (the first half of a lock).
pub async fn approve_stake(
    url: &str,
    deployment: &Deployment,
    owner: PrivateKeySigner,
    amount: U256,
) -> Result<TransactionReceipt, OnboardError> {
    let address = owner.address();
    let provider = connect(url, owner)?;
    let (step, pending) = send_approve(&provider, deployment, address, amount).await?;
    confirmed(step, pending).await
}

/// Only the `lockFor` of a lock whose stake is already approved: one L1 transaction.
pub async fn lock_approved(
    url: &str,
    deployment: &Deployment,
    lock: &SequencerLock,
) -> Result<LockedSequencer, OnboardError> {
    let provider = connect(url, lock.owner.clone())?;
    let (step, pending) = send_lock_for(&provider, deployment, lock).await?;
    let receipt = confirmed(step.clone(), pending).await?;
    locked_event(&step, &receipt)
}

/// Whitelists, funds and locks in one go (admin phase, then owner phase).
pub async fn onboard_sequencers(
    url: &str,
    deployer: PrivateKeySigner,
    deployment: &Deployment,
    locks: &[SequencerLock],
) -> Result<Vec<LockedSequencer>, OnboardError> {
    let owners: Vec<(Address, U256)> = locks
        .iter()
        .map(|l| (l.owner.address(), l.amount))
        .collect();
    prepare_owners(url, deployer, deployment, &owners, default_owner_funding()).await?;
    lock_sequencers(url, deployment, locks).await
}

/// The admin registers the first FROST group key (affine px, py) through
/// Governance.execute(GroupKeyRegistry.setInitialKey): the devnet's bootstrap of L1 verification.
/// `provider` signs as the admin (the test's or the deployer's own provider, so its nonce cache
/// stays right).
pub async fn register_initial_group_key<P: Provider>(
    provider: &P,
    deployment: &Deployment,
    px: U256,
    py: U256,
) -> Result<TransactionReceipt, OnboardError> {
    let set_key = GroupKeyRegistry::setInitialKeyCall {
        newPx: px,
        newPy: py,
    };
    let execute = Governance::executeCall {
        target: deployment.group_key_registry,
        data: set_key.abi_encode().into(),
    };
    let (step, pending) = send(
        provider,
        "setInitialKey through Governance".to_string(),
        TransactionRequest::default()
            .with_to(deployment.governance)
            .with_input(execute.abi_encode()),
    )
    .await?;
    confirmed(step, pending).await
}

/// Starts the unlock of `sequencer_id` (the chain removes the validator on `UnlockInit`).
pub async fn unlock(
    url: &str,
    owner: PrivateKeySigner,
    deployment: &Deployment,
    sequencer_id: u64,
) -> Result<TransactionReceipt, OnboardError> {
    let provider = connect(url, owner)?;
    let call = LockingPool::unlockCall {
        sequencerId: U256::from(sequencer_id),
    };
    let (step, pending) = send(
        &provider,
        format!("unlock sequencer {sequencer_id}"),
        TransactionRequest::default()
            .with_to(deployment.locking_pool)
            .with_input(call.abi_encode()),
    )
    .await?;
    confirmed(step, pending).await
}

fn locked_event(step: &str, receipt: &TransactionReceipt) -> Result<LockedSequencer, OnboardError> {
    let tx = receipt.transaction_hash;
    let missing = || OnboardError::MissingEvent {
        step: step.to_string(),
        tx,
        event: "Locked",
    };
    let log = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| LockingPool::Locked::decode_log(&log.inner).ok())
        .ok_or_else(missing)?;
    Ok(LockedSequencer {
        sequencer_id: u64::try_from(log.data.sequencerId).map_err(|_| missing())?,
        owner: log.data.owner,
        signer: log.data.signer,
        amount: log.data.amount,
        nonce: u64::try_from(log.data.nonce).map_err(|_| missing())?,
        tx_hash: tx,
        block_number: receipt.block_number.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signer_address_is_the_ethereum_address_of_the_key() {
        let key = k256::ecdsa::SigningKey::from_slice(&[7u8; 32]).expect("key");
        let signer = PrivateKeySigner::from_signing_key(key.clone());
        let xy = uncompressed_xy(key.verifying_key());
        assert_eq!(signer_address(&xy), signer.address());
    }
}
