//! End to end against a real anvil: deploy from the committed artifacts, register a FROST group
//! key, lock stake, read the events back, and append a batch signed by a frost-secp256k1 group.

use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::providers::ProviderBuilder;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use rand_chacha::rand_core::SeedableRng;
use seqpool_l1::anvil::{wait_for_rpc, Anvil, DEV_KEY};
use seqpool_l1::bindings::{BatchInbox, DevnetToken, Governance, GroupKeyRegistry, LockingPool};
use seqpool_l1::deploy::{deploy_all, DeployConfig, Deployment};
use seqpool_l1::devnet::register_initial_group_key;
use seqpool_l1::digest;
use seqpool_l1::frost_sig::{group_key_affine, signature_affine, DealtGroup};
use seqpool_l1::relay::{relay_batch, RelayError, RelayOutcome};

/// A sequencer consensus key: the key, its address and the 64-byte public key lockFor takes.
fn sequencer_key(seed: u64) -> (k256::ecdsa::SigningKey, Address, Vec<u8>) {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let key = k256::ecdsa::SigningKey::random(&mut rng);
    let point = key.verifying_key().to_encoded_point(false);
    let pubkey = point.as_bytes()[1..].to_vec();
    let address = Address::from_slice(&keccak256(&pubkey)[12..]);
    (key, address, pubkey)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_lock_and_append_signed_batch() {
    let anvil = Anvil::start().expect("anvil");
    let signer: PrivateKeySigner = DEV_KEY.parse().expect("dev key");
    let deployer = signer.address();
    let provider = ProviderBuilder::new()
        .wallet(signer)
        .connect_http(anvil.url.parse().expect("url"));
    let chain_id = wait_for_rpc(&provider).await.expect("anvil RPC");
    assert_eq!(chain_id, 31337);

    // Deploy and write the deployment file the devnet reads.
    let config = DeployConfig::default();
    let deployment = deploy_all(provider.clone(), &config).await.expect("deploy");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("l1-deployment.json");
    deployment.write_json(&file).expect("write deployment");
    let reread: Deployment = serde_json::from_str(&std::fs::read_to_string(&file).expect("read"))
        .expect("parse deployment");
    assert_eq!(reread, deployment);
    assert_eq!(reread.deployer, deployer);

    let gov = Governance::new(deployment.governance, provider.clone());
    let registry = GroupKeyRegistry::new(deployment.group_key_registry, provider.clone());
    let pool = LockingPool::new(deployment.locking_pool, provider.clone());
    let token = DevnetToken::new(deployment.stake_token, provider.clone());
    let inbox = BatchInbox::new(deployment.batch_inbox, provider.clone());
    assert_eq!(
        pool.escrow().call().await.expect("escrow"),
        deployment.locking_escrow
    );

    // A 3-of-4 FROST group made here; governance registers its key.
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(42);
    let group = DealtGroup::deal(4, 3, &mut rng).expect("deal");
    let key = group_key_affine(group.verifying_key()).expect("usable group key");
    let (px, py) = (U256::from_be_bytes(key.x), U256::from_be_bytes(key.y));
    register_initial_group_key(&provider, &deployment, px, py)
        .await
        .expect("setInitialKey through Governance");
    assert_eq!(
        registry.keyNonce().call().await.expect("keyNonce"),
        U256::from(1)
    );

    // Whitelist the deployer and lock stake for a sequencer key.
    let whitelist = LockingPool::setWhitelistCall {
        owner: deployer,
        allowed: true,
    }
    .abi_encode();
    let receipt = gov
        .execute(deployment.locking_pool, whitelist.into())
        .send()
        .await
        .expect("send whitelist")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "whitelist reverted");
    let (seq_key, seq_signer, seq_pubkey) = sequencer_key(7);
    let amount = config.min_lock * U256::from(3);
    token
        .mint(deployer, amount)
        .send()
        .await
        .expect("mint")
        .get_receipt()
        .await
        .expect("receipt");
    token
        .approve(deployment.locking_pool, amount)
        .send()
        .await
        .expect("approve")
        .get_receipt()
        .await
        .expect("receipt");
    let receipt = pool
        .lockFor(
            seq_signer,
            amount,
            seq_pubkey.clone().into(),
            seqpool_l1::devnet::signer_proof(
                &seq_key,
                chain_id,
                deployment.locking_pool,
                deployer,
                U256::ZERO,
            )
            .expect("proof of possession")
            .to_vec()
            .into(),
        )
        .send()
        .await
        .expect("send lockFor")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "lockFor reverted");

    // The chain's watcher view: events in nonce order, each carrying the contract-wide nonce.
    let whitelisted = pool
        .WhitelistChanged_filter()
        .from_block(0)
        .query()
        .await
        .expect("WhitelistChanged logs");
    assert_eq!(whitelisted.len(), 1);
    assert_eq!(whitelisted[0].0.owner, deployer);
    assert_eq!(whitelisted[0].0.nonce, U256::from(1));
    let locked = pool
        .Locked_filter()
        .from_block(0)
        .query()
        .await
        .expect("Locked logs");
    assert_eq!(locked.len(), 1);
    let (event, log) = &locked[0];
    assert_eq!(event.signer, seq_signer);
    assert_eq!(event.sequencerId, U256::from(1));
    assert_eq!(event.nonce, U256::from(2));
    assert_eq!(event.owner, deployer);
    assert_eq!(event.amount, amount);
    assert_eq!(event.totalLocked, amount);
    assert_eq!(event.signerPubkey.as_ref(), seq_pubkey.as_slice());
    assert!(
        log.transaction_hash.is_some() && log.log_index.is_some(),
        "event id fields"
    );
    assert_eq!(
        token
            .balanceOf(deployment.locking_escrow)
            .call()
            .await
            .expect("escrow balance"),
        amount
    );

    // A batch signed by 3 of the 4 members; the Rust digest must equal the contract's.
    let header = BatchInbox::BatchHeader {
        batchIndex: 0,
        l2StartBlock: deployment.first_l2_block,
        l2EndBlock: deployment.first_l2_block + 99,
        l2BlocksRoot: B256::repeat_byte(0xb1),
        l2StateRoot: B256::repeat_byte(0x5e),
    };
    let batch_digest = digest::batch_digest(chain_id, deployment.batch_inbox, &header);
    assert_eq!(
        inbox
            .batchDigest(header.clone())
            .call()
            .await
            .expect("batchDigest"),
        batch_digest
    );
    let signature = group
        .sign(batch_digest.as_slice(), 3, &mut rng)
        .expect("threshold sign");
    let sig: BatchInbox::FrostSignature = signature_affine(&signature).expect("affine").into();

    // A signature over other bytes is refused with a clear error.
    let wrong = group.sign(&[0u8; 32], 3, &mut rng).expect("sign other");
    let wrong: BatchInbox::FrostSignature = signature_affine(&wrong).expect("affine").into();
    let err = inbox
        .appendBatch(header.clone(), wrong.clone())
        .call()
        .await
        .expect_err("forged batch accepted");
    assert!(
        err.as_decoded_error::<BatchInbox::InvalidGroupSignature>()
            .is_some(),
        "{err}"
    );

    let relay_err = relay_batch(&inbox, header.clone(), wrong)
        .await
        .expect_err("forged batch relayed");
    assert!(
        matches!(relay_err, RelayError::InvalidSignature { batch_index: 0 }),
        "{relay_err}"
    );
    let mut ahead = header.clone();
    ahead.batchIndex = 5;
    let relay_err = relay_batch(&inbox, ahead, sig.clone())
        .await
        .expect_err("gap relayed");
    assert!(
        matches!(
            relay_err,
            RelayError::IndexGap {
                batch_index: 5,
                expected: 0
            }
        ),
        "{relay_err}"
    );

    let outcome = relay_batch(&inbox, header.clone(), sig.clone())
        .await
        .expect("relay batch");
    let RelayOutcome::Appended { gas_used, .. } = outcome else {
        panic!("first relay did not append: {outcome:?}");
    };
    eprintln!("appendBatch gas used (whole transaction): {gas_used}");
    assert_eq!(
        inbox.nextBatchIndex().call().await.expect("nextBatchIndex"),
        1
    );
    let appended = inbox
        .BatchAppended_filter()
        .from_block(0)
        .query()
        .await
        .expect("BatchAppended logs");
    assert_eq!(appended.len(), 1);
    assert_eq!(appended[0].0.l2StateRoot, header.l2StateRoot);

    // A racing relayer learns "already done", not a generic failure.
    let err = inbox
        .appendBatch(header.clone(), sig.clone())
        .call()
        .await
        .expect_err("second relay accepted");
    let decoded = err
        .as_decoded_error::<BatchInbox::BatchAlreadyAppended>()
        .expect("BatchAlreadyAppended");
    assert_eq!(decoded.batchIndex, 0);
    let outcome = relay_batch(&inbox, header, sig)
        .await
        .expect("second relay");
    assert_eq!(outcome, RelayOutcome::AlreadyAppended);

    // Reward distribution digest also matches the contract.
    let dist = LockingPool::RewardDistribution {
        sequence: U256::ZERO,
        startEpoch: U256::ZERO,
        endEpoch: U256::from(3),
        sequencerIds: vec![U256::from(1)],
        blocksProduced: vec![U256::from(100)],
    };
    assert_eq!(
        pool.rewardDigest(dist.clone())
            .call()
            .await
            .expect("rewardDigest"),
        digest::reward_digest(chain_id, deployment.locking_pool, &dist)
    );
    let reward_sig = group
        .sign(
            digest::reward_digest(chain_id, deployment.locking_pool, &dist).as_slice(),
            3,
            &mut rng,
        )
        .expect("sign rewards");
    let reward_sig: LockingPool::FrostSignature =
        signature_affine(&reward_sig).expect("affine").into();
    let receipt = pool
        .distributeRewards(dist, reward_sig)
        .send()
        .await
        .expect("send distributeRewards")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "distributeRewards reverted");
    assert_eq!(
        pool.sequencer(U256::from(1))
            .call()
            .await
            .expect("sequencer")
            .reward,
        U256::from(100) * config.reward_per_block
    );

    // Governance action digest matches too.
    let action = Governance::GovernanceAction {
        target: deployment.locking_pool,
        data: LockingPool::setRewardPerBlockCall {
            newRewardPerBlock: U256::from(5),
        }
        .abi_encode()
        .into(),
        nonce: U256::ZERO,
    };
    assert_eq!(
        gov.actionDigest(action.clone())
            .call()
            .await
            .expect("actionDigest"),
        digest::governance_action_digest(chain_id, deployment.governance, &action)
    );
    drop(anvil);
}

/// A transaction the node forgets (anvil drops pending transactions on a reorg; nodes evict) is
/// sent again within a few polls, long before the fee-bump timer; and when a reorg takes away a
/// mined transaction of ours, a send behind that gap is reported as `Reorged`, not bumped forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_resends_a_dropped_transaction_and_reports_a_reorg_gap() {
    use alloy::network::TransactionBuilder;
    use alloy::providers::Provider;
    use alloy::rpc::types::TransactionRequest;
    use seqpool_l1::sender::{send_bumping, SendError, SendPolicy};
    use std::time::Duration;

    let anvil = Anvil::start().expect("anvil");
    let signer: PrivateKeySigner = DEV_KEY.parse().expect("dev key");
    let from = signer.address();
    let provider = ProviderBuilder::new()
        .wallet(signer)
        .connect_http(anvil.url.parse().expect("url"));
    wait_for_rpc(&provider).await.expect("anvil RPC");
    let raw = |method: &'static str, params: serde_json::Value| {
        let provider = provider.clone();
        async move {
            provider
                .raw_request::<_, serde_json::Value>(method.into(), params)
                .await
                .unwrap_or_else(|e| panic!("{method}: {e}"))
        }
    };
    let policy = SendPolicy {
        bump_after: Duration::from_secs(600),
        max_bumps: 3,
        poll_interval: Duration::from_millis(100),
        give_up_after: Duration::from_secs(60),
    };
    let transfer = || {
        TransactionRequest::default()
            .with_to(Address::repeat_byte(0x42))
            .with_value(U256::from(1))
    };

    // 1. Pending, then dropped by the node: sent again and mined, well before bump_after.
    raw("evm_setAutomine", serde_json::json!([false])).await;
    let send = {
        let provider = provider.clone();
        let policy = policy.clone();
        tokio::spawn(
            async move { send_bumping(&provider, from, transfer(), &policy, |_, _| {}).await },
        )
    };
    let first = pending_hash(&raw).await;
    raw("anvil_dropTransaction", serde_json::json!([first])).await;
    // Mine once the resend is in the pool.
    let resent = pending_hash(&raw).await;
    assert_ne!(
        resent, first,
        "a new transaction (higher fees) replaces the dropped one"
    );
    raw("evm_mine", serde_json::json!([])).await;
    let mined = tokio::time::timeout(Duration::from_secs(20), send)
        .await
        .expect("send_bumping returns after the resend is mined")
        .expect("task")
        .expect("mined");
    assert!(mined.receipt.status());
    assert_eq!(mined.bumps, 1, "one resend");
    assert_ne!(format!("{:#x}", mined.receipt.transaction_hash), first);

    // 2. A send in flight when a reorg takes away a mined transaction of ours before it: the
    // account's count falls below the nonce in flight, reported as Reorged (not bumped forever).
    let earlier = provider
        .send_transaction(transfer())
        .await
        .expect("an earlier transfer");
    raw("evm_mine", serde_json::json!([])).await;
    earlier.get_receipt().await.expect("earlier transfer mined");
    let count = provider.get_transaction_count(from).await.expect("count");
    let send = {
        let provider = provider.clone();
        let policy = policy.clone();
        tokio::spawn(
            async move { send_bumping(&provider, from, transfer(), &policy, |_, _| {}).await },
        )
    };
    pending_hash(&raw).await;
    raw("anvil_reorg", serde_json::json!([1, []])).await;
    assert_eq!(
        provider.get_transaction_count(from).await.expect("count"),
        count - 1,
        "the reorg took the earlier transfer away"
    );
    let outcome = tokio::time::timeout(Duration::from_secs(20), send)
        .await
        .expect("send_bumping returns on the gap")
        .expect("task");
    match outcome {
        Err(SendError::Reorged {
            nonce, confirmed, ..
        }) => {
            assert_eq!((nonce, confirmed), (count, count - 1));
        }
        other => panic!("expected Reorged, got {other:?}"),
    }
}

/// The hash of a pending transaction in the node's pool, waited for (20 s at most).
async fn pending_hash<F, Fut>(raw: &F) -> String
where
    F: Fn(&'static str, serde_json::Value) -> Fut,
    Fut: std::future::Future<Output = serde_json::Value>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let pool = raw("txpool_content", serde_json::json!([])).await;
        if let Some(hash) = pool["pending"]
            .as_object()
            .and_then(|by_sender| by_sender.values().next())
            .and_then(|by_nonce| by_nonce.as_object()?.values().next())
            .and_then(|tx| tx["hash"].as_str().map(str::to_string))
        {
            return hash;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no pending transaction within 20 s: {pool}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
