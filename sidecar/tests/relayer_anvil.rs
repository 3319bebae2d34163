//! The relayer against a real anvil with the contracts deployed and batches signed in-test by a
//! frost-secp256k1 group: the devnet's initial key registration, two relayers racing on one batch
//! (one appends, the other reports already-done), a fee-bumped resend, and a relayer killed with
//! its transaction in flight whose successor replaces it (one append, no second transaction);
//! a group-signed slashing relayed through Governance.executeSigned once.
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use rand::SeedableRng;
use seqpool_l1::anvil::{wait_for_rpc, Anvil, DEV_KEY, DEV_KEYS};
use seqpool_l1::bindings::BatchInbox;
use seqpool_l1::deploy::{deploy_all, DeployConfig, Deployment};
use seqpool_l1::digest;
use seqpool_l1::frost_sig::{group_key_affine, DealtGroup};
use seqpool_l1::sender::SendPolicy;
use seqpool_proto::mpc::v1::{
    signing_request::Body, BatchHeader, GroupKey, KeyStatus, L1Target, RequestStatus, RequestType,
    SigningRequest,
};
use seqpool_sidecar::metrics::Metrics;
use seqpool_sidecar::relayer::{register_initial_key, KeyRegistration, Relayed, Relayer};

struct Setup {
    anvil: Anvil,
    deployment: Deployment,
    group: DealtGroup,
    chain_id: u64,
}

async fn setup() -> Setup {
    let anvil = Anvil::start().expect("anvil");
    let admin: PrivateKeySigner = DEV_KEY.parse().expect("dev key");
    let provider = ProviderBuilder::new()
        .wallet(admin.clone())
        .connect_http(anvil.url.parse().expect("url"));
    let chain_id = wait_for_rpc(&provider).await.expect("anvil RPC");
    let deployment = deploy_all(provider, &DeployConfig::default())
        .await
        .expect("deploy");
    let mut rng = rand::rngs::StdRng::seed_from_u64(6);
    let group = DealtGroup::deal(4, 3, &mut rng).expect("deal");

    // The devnet bootstrap: the admin registers the chain's active key through Governance.
    let key = chain_key(&group);
    let policy = fast_policy();
    let first = register_initial_key(&anvil.url, admin.clone(), &deployment, &key, &policy)
        .await
        .expect("register");
    assert!(
        matches!(first, KeyRegistration::Registered { .. }),
        "{first:?}"
    );
    let again = register_initial_key(&anvil.url, admin, &deployment, &key, &policy)
        .await
        .expect("register again");
    assert_eq!(again, KeyRegistration::AlreadyRegistered);
    Setup {
        anvil,
        deployment,
        group,
        chain_id,
    }
}

fn chain_key(group: &DealtGroup) -> GroupKey {
    let affine = group_key_affine(group.verifying_key()).expect("usable key");
    GroupKey {
        key_id: 1,
        px: affine.x.to_vec(),
        py: affine.y.to_vec(),
        status: KeyStatus::Active as i32,
        ..Default::default()
    }
}

fn fast_policy() -> SendPolicy {
    SendPolicy {
        bump_after: Duration::from_millis(400),
        max_bumps: 5,
        poll_interval: Duration::from_millis(50),
        give_up_after: Duration::from_secs(60),
    }
}

/// The group's 3-of-4 signature over `digest` (65 bytes, as x/mpc stores it), nonces from `seed`.
fn group_signature(s: &Setup, digest: B256, seed: u64) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    s.group
        .sign(digest.as_slice(), 3, &mut rng)
        .expect("sign")
        .serialize()
        .expect("serialize")
}

/// The SIGNED request x/mpc would hold for batch `index` covering `blocks` L2 blocks from `start`.
fn signed_batch(s: &Setup, index: u64, start: u64, blocks: u64) -> SigningRequest {
    let header = BatchInbox::BatchHeader {
        batchIndex: index,
        l2StartBlock: start,
        l2EndBlock: start + blocks - 1,
        l2BlocksRoot: B256::repeat_byte(index as u8 + 1),
        l2StateRoot: B256::repeat_byte(0x5e),
    };
    let digest = digest::batch_digest(s.chain_id, s.deployment.batch_inbox, &header);
    let signature = group_signature(s, digest, 100 + index);
    SigningRequest {
        request_id: 10 + index,
        request_type: RequestType::Batch as i32,
        target: Some(L1Target {
            contract: "BatchInbox".into(),
            address: s.deployment.batch_inbox.to_vec(),
            function: "appendBatch".into(),
        }),
        sequence: index,
        digest: digest.to_vec(),
        body: Some(Body::Batch(BatchHeader {
            batch_index: index,
            l2_start_block: start,
            l2_end_block: start + blocks - 1,
            l2_blocks_root: header.l2BlocksRoot.to_vec(),
            l2_state_root: header.l2StateRoot.to_vec(),
        })),
        status: RequestStatus::Signed as i32,
        key_id: 1,
        signature,
        ..Default::default()
    }
}

fn relayer(s: &Setup, key: &str, metrics: Arc<Metrics>) -> Relayer {
    Relayer::new(
        &s.anvil.url,
        key.parse().expect("relayer key"),
        s.deployment.clone(),
        fast_policy(),
        metrics,
    )
    .expect("relayer")
}

async fn appended(s: &Setup, index: u64) -> usize {
    let provider = ProviderBuilder::new().connect_http(s.anvil.url.parse().expect("url"));
    BatchInbox::new(s.deployment.batch_inbox, provider)
        .BatchAppended_filter()
        .from_block(0)
        .query()
        .await
        .expect("BatchAppended logs")
        .iter()
        .filter(|(e, _)| e.batchIndex == index)
        .count()
}

async fn nonce(s: &Setup, key: &str, pending: bool) -> u64 {
    let address: Address = key.parse::<PrivateKeySigner>().expect("key").address();
    let provider = ProviderBuilder::new().connect_http(s.anvil.url.parse().expect("url"));
    let call = provider.get_transaction_count(address);
    if pending {
        call.pending().await.expect("nonce")
    } else {
        call.latest().await.expect("nonce")
    }
}

async fn set_automine(s: &Setup, on: bool) {
    let provider = ProviderBuilder::new().connect_http(s.anvil.url.parse().expect("url"));
    let _: serde_json::Value = provider
        .raw_request("evm_setAutomine".into(), (on,))
        .await
        .expect("evm_setAutomine");
}

async fn mine_one(s: &Setup) {
    let provider = ProviderBuilder::new().connect_http(s.anvil.url.parse().expect("url"));
    let _: serde_json::Value = provider
        .raw_request("evm_mine".into(), ())
        .await
        .expect("evm_mine");
}

/// Waits for `condition` (checked every 20 ms) up to 30 s.
async fn until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_relayers_fee_bumps_and_a_restart_mid_flight() {
    let s = setup().await;
    let first_l2 = s.deployment.first_l2_block;

    // Two relayers race on batch 0: exactly one appends, the other reports already-done.
    let (ma, mb) = (Arc::new(Metrics::default()), Arc::new(Metrics::default()));
    let (a, b) = (
        relayer(&s, DEV_KEYS[0], ma.clone()),
        relayer(&s, DEV_KEYS[1], mb.clone()),
    );
    let batch0 = signed_batch(&s, 0, first_l2, 10);
    let (ra, rb) = tokio::join!(a.relay(&batch0), b.relay(&batch0));
    let (ra, rb) = (ra.expect("relay a"), rb.expect("relay b"));
    let sent = [&ra, &rb]
        .iter()
        .filter(|r| matches!(r, Relayed::Sent { .. }))
        .count();
    assert_eq!(sent, 1, "one relayer appends: {ra:?} {rb:?}");
    assert!(
        ra == Relayed::AlreadyDone || rb == Relayed::AlreadyDone,
        "the other one knows it is done: {ra:?} {rb:?}"
    );
    assert_eq!(appended(&s, 0).await, 1);
    // Relaying again after it landed sends nothing.
    let before = nonce(&s, DEV_KEYS[0], false).await;
    assert_eq!(a.relay(&batch0).await.expect("again"), Relayed::AlreadyDone);
    assert_eq!(nonce(&s, DEV_KEYS[0], false).await, before);

    // A transaction not mined in time is resent with the same nonce and higher fees.
    set_automine(&s, false).await;
    let batch1 = signed_batch(&s, 1, first_l2 + 10, 5);
    let nonce_before = nonce(&s, DEV_KEYS[0], false).await;
    let bumping = {
        let a = relayer(&s, DEV_KEYS[0], ma.clone());
        let batch1 = batch1.clone();
        tokio::spawn(async move { a.relay(&batch1).await })
    };
    until("a fee bump", || async { ma.get(&ma.fee_bumps) >= 1 }).await;
    mine_one(&s).await;
    let outcome = bumping.await.expect("join").expect("relay with bumps");
    let Relayed::Sent { bumps, tx, .. } = outcome else {
        panic!("not sent: {outcome:?}");
    };
    assert!(bumps >= 1, "mined after {bumps} bumps");
    assert_eq!(appended(&s, 1).await, 1);
    assert_eq!(
        nonce(&s, DEV_KEYS[0], false).await,
        nonce_before + 1,
        "the resend replaced the first transaction"
    );
    let provider = ProviderBuilder::new().connect_http(s.anvil.url.parse().expect("url"));
    let mined = provider
        .get_transaction_by_hash(tx)
        .await
        .expect("tx")
        .expect("mined tx");
    assert_eq!(
        mined.inner.signer(),
        DEV_KEYS[0]
            .parse::<PrivateKeySigner>()
            .expect("k")
            .address()
    );

    // Restart mid-flight: the relayer is killed with its transaction in the mempool; a new one
    // (same key, nothing on disk) replaces it; one append, the nonce advances by one.
    let batch2 = signed_batch(&s, 2, first_l2 + 15, 3);
    let nonce_before = nonce(&s, DEV_KEYS[0], false).await;
    let killed = {
        let a = relayer(&s, DEV_KEYS[0], Arc::new(Metrics::default()));
        let batch2 = batch2.clone();
        tokio::spawn(async move { a.relay(&batch2).await })
    };
    until("the first relayer's transaction in the mempool", || async {
        nonce(&s, DEV_KEYS[0], true).await > nonce_before
    })
    .await;
    killed.abort();
    let _ = killed.await;
    let successor = Arc::new(Metrics::default());
    let restarted = {
        let a = relayer(&s, DEV_KEYS[0], successor.clone());
        let batch2 = batch2.clone();
        tokio::spawn(async move { a.relay(&batch2).await })
    };
    // The node refuses the successor's first send (the same transaction is known); it raises the
    // fees and replaces the killed relayer's transaction.
    until("the successor's replacement", || async {
        successor.get(&successor.fee_bumps) >= 1 || restarted.is_finished()
    })
    .await;
    mine_one(&s).await;
    let outcome = restarted.await.expect("join").expect("relay after restart");
    assert!(matches!(outcome, Relayed::Sent { .. }), "{outcome:?}");
    assert_eq!(appended(&s, 2).await, 1);
    assert_eq!(nonce(&s, DEV_KEYS[0], false).await, nonce_before + 1);
    set_automine(&s, true).await;
    // And again after it landed: already done, nothing sent.
    let c = relayer(&s, DEV_KEYS[0], Arc::new(Metrics::default()));
    assert_eq!(c.relay(&batch2).await.expect("again"), Relayed::AlreadyDone);
    assert_eq!(nonce(&s, DEV_KEYS[0], false).await, nonce_before + 1);

    // A batch with a gap is refused with the contract's decoded error, not sent.
    let gap = signed_batch(&s, 9, first_l2 + 100, 1);
    let err = a.relay(&gap).await.expect_err("gap relayed");
    assert!(err.to_string().contains("BatchIndexGap"), "{err}");
}

/// A SLASHING request as x/mpc builds it (a governance action calling LockingPool.slash, digest
/// of the action) signed by the group: the relayer sends it through Governance.executeSigned, the
/// stake goes to the Governance contract, and a second relay is already done (action nonce).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slashing_is_relayed_through_governance_once() {
    use alloy::primitives::U256;
    use alloy::sol_types::SolValue;
    use seqpool_l1::bindings::{DevnetToken, Governance, LockingPool};
    use seqpool_l1::devnet::{
        default_owner_funding, lock_sequencers, prepare_owners, SequencerLock,
    };

    let s = setup().await;
    let owner = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x51)).expect("owner key");
    let consensus = k256::ecdsa::SigningKey::from_slice(&[0x52; 32]).expect("consensus key");
    let stake = DeployConfig::default().min_lock * U256::from(2);
    prepare_owners(
        &s.anvil.url,
        DEV_KEY.parse().expect("dev key"),
        &s.deployment,
        &[(owner.address(), stake)],
        default_owner_funding(),
    )
    .await
    .expect("whitelist and fund");
    let lock = SequencerLock::new(owner, &consensus, stake);
    let locked = lock_sequencers(&s.anvil.url, &s.deployment, &[lock])
        .await
        .expect("lock");
    let id = locked[0].sequencer_id;

    let slashed: u128 = 30_000_000_000_000_000_000;
    let provider = ProviderBuilder::new().connect_http(s.anvil.url.parse().expect("url"));
    let gov = Governance::new(s.deployment.governance, provider.clone());
    let action = Governance::GovernanceAction {
        target: s.deployment.locking_pool,
        data: seqpool_mpc::requests::slash_calldata(id, slashed).into(),
        nonce: gov.actionNonce().call().await.expect("actionNonce"),
    };
    let digest = digest::governance_action_digest(s.chain_id, s.deployment.governance, &action);
    let signature = group_signature(&s, digest, 77);
    let request = SigningRequest {
        request_id: 40,
        request_type: RequestType::Slashing as i32,
        target: Some(L1Target {
            contract: "Governance".into(),
            address: s.deployment.governance.to_vec(),
            function: "executeSigned".into(),
        }),
        sequence: action.nonce.to::<u64>(),
        payload: action.abi_encode(),
        digest: digest.to_vec(),
        status: RequestStatus::Signed as i32,
        key_id: 1,
        signature,
        ..Default::default()
    };

    // No fee bumps here: on a loaded machine a bump 400 ms after sending can find the first tx
    // already mined, and the relayer then reports the slash as AlreadyDone, not Sent.
    let r = Relayer::new(
        &s.anvil.url,
        DEV_KEYS[2].parse().expect("relayer key"),
        s.deployment.clone(),
        SendPolicy {
            bump_after: Duration::from_secs(30),
            ..fast_policy()
        },
        Arc::new(Metrics::default()),
    )
    .expect("relayer");
    let sent = r.relay(&request).await.expect("relay");
    assert!(matches!(sent, Relayed::Sent { .. }), "{sent:?}");
    let pool = LockingPool::new(s.deployment.locking_pool, provider.clone());
    let left = pool
        .sequencer(U256::from(id))
        .call()
        .await
        .expect("sequencer")
        .amount;
    assert_eq!(left, stake - U256::from(slashed));
    let token = DevnetToken::new(s.deployment.stake_token, provider);
    let sink = token
        .balanceOf(pool.slashSink().call().await.expect("slashSink"))
        .call()
        .await
        .expect("balance");
    assert_eq!(sink, U256::from(slashed));
    assert_eq!(
        r.relay(&request).await.expect("again"),
        Relayed::AlreadyDone
    );
    assert_eq!(
        pool.sequencer(U256::from(id))
            .call()
            .await
            .expect("sequencer")
            .amount,
        left,
        "slashed once"
    );
}

/// A GOVERNANCE_ACTION request signed by the group for action `nonce` calling `data` on the pool.
fn signed_pool_action(s: &Setup, id: u64, nonce: u64, data: Vec<u8>) -> SigningRequest {
    use alloy::primitives::U256;
    use alloy::sol_types::SolValue;
    use seqpool_l1::bindings::Governance;
    let action = Governance::GovernanceAction {
        target: s.deployment.locking_pool,
        data: data.into(),
        nonce: U256::from(nonce),
    };
    let digest = digest::governance_action_digest(s.chain_id, s.deployment.governance, &action);
    SigningRequest {
        request_id: id,
        request_type: RequestType::GovernanceAction as i32,
        target: Some(L1Target {
            contract: "Governance".into(),
            address: s.deployment.governance.to_vec(),
            function: "executeSigned".into(),
        }),
        sequence: nonce,
        payload: action.abi_encode(),
        digest: digest.to_vec(),
        status: RequestStatus::Signed as i32,
        key_id: 1,
        signature: group_signature(s, digest, 200 + id),
        ..Default::default()
    }
}

/// A group-signed setMaxLock is queued by the relayer's first transaction and changes nothing
/// during the exit window (the relayer waits); after it, the relayer's executeQueued applies it.
/// An action that reverts in the pool (setMinLock(0)) still uses its nonce: Governance emits
/// ActionFailed with the pool's error, the relayer counts it done, and the next action lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governance_action_waits_its_exit_window_and_a_reverting_one_uses_its_nonce() {
    use alloy::primitives::U256;
    use alloy::sol_types::{SolCall, SolError, SolEvent};
    use seqpool_l1::bindings::{Governance, LockingPool};

    let s = setup().await;
    let provider = ProviderBuilder::new().connect_http(s.anvil.url.parse().expect("url"));
    let gov = Governance::new(s.deployment.governance, provider.clone());
    let pool = LockingPool::new(s.deployment.locking_pool, provider.clone());
    let delay: u64 = gov.executionDelay().call().await.expect("delay").to();
    assert_eq!(U256::from(delay), DeployConfig::default().execution_delay);
    let before = pool.maxLock().call().await.expect("maxLock");
    let raised = before * U256::from(2);
    let r = Relayer::new(
        &s.anvil.url,
        DEV_KEYS[2].parse().expect("relayer key"),
        s.deployment.clone(),
        fast_policy(),
        Arc::new(Metrics::default()),
    )
    .expect("relayer");

    let failing = signed_pool_action(
        &s,
        50,
        0,
        LockingPool::setMinLockCall {
            newMinLock: U256::ZERO,
        }
        .abi_encode(),
    );
    let raise = signed_pool_action(
        &s,
        51,
        1,
        LockingPool::setMaxLockCall { newMaxLock: raised }.abi_encode(),
    );
    for request in [&failing, &raise] {
        let queued = r.relay(request).await.expect("queue");
        assert!(matches!(queued, Relayed::Queued { .. }), "{queued:?}");
        assert!(
            matches!(
                r.relay(request).await.expect("again"),
                Relayed::Waiting { .. }
            ),
            "nothing to send during the window"
        );
    }
    assert_eq!(pool.maxLock().call().await.expect("maxLock"), before);

    // Move anvil's clock past the window (a real anvil, its own time-travel RPC).
    let _: serde_json::Value = provider
        .raw_request("evm_increaseTime".into(), (delay + 1,))
        .await
        .expect("evm_increaseTime");
    let _: serde_json::Value = provider
        .raw_request("evm_mine".into(), ())
        .await
        .expect("evm_mine");

    let ran = r.relay(&failing).await.expect("run the failing action");
    let Relayed::Sent { tx, .. } = ran else {
        panic!("{ran:?}");
    };
    let receipt = provider
        .get_transaction_receipt(tx)
        .await
        .expect("receipt")
        .expect("mined");
    let failed = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| Governance::ActionFailed::decode_log(&l.inner).ok())
        .expect("ActionFailed emitted");
    assert_eq!(failed.actionNonce, U256::ZERO);
    assert_eq!(
        &failed.revertData[..4],
        LockingPool::InvalidLockBounds::SELECTOR.as_slice(),
        "the pool's own error"
    );
    assert_eq!(r.relay(&failing).await.expect("done"), Relayed::AlreadyDone);

    let ran = r.relay(&raise).await.expect("run the raise");
    assert!(matches!(ran, Relayed::Sent { .. }), "{ran:?}");
    assert_eq!(pool.maxLock().call().await.expect("maxLock"), raised);
    assert_eq!(r.relay(&raise).await.expect("done"), Relayed::AlreadyDone);
    assert_eq!(
        gov.actionNonce().call().await.expect("nonce"),
        U256::from(2)
    );
}
