//! The L1 watcher against a real anvil: it observes a `lockFor` only at the confirmation depth,
//! never observes an event that a reorg (anvil snapshot/revert) removed, keeps its cursor across a
//! restart, and what it observed makes the locked key a validator through the in-process driver.
use std::time::{Duration, Instant};

use alloy::primitives::{keccak256, Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder, RootProvider};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use seqpool_app::bridge::{Observations, ReceiptObservations};
use seqpool_app::driver::{test_key, Driver, TestValidator};
use seqpool_bridge::{BridgeVote, Payload};
use seqpool_l1::anvil::{self, wait_for_rpc, Anvil, DEV_KEY};
use seqpool_l1::bindings::{DevnetToken, Governance, LockingPool};
use seqpool_l1::deploy::{deploy_all, DeployConfig, Deployment};
use seqpool_l1::devnet::{
    approve_stake, default_owner_funding, lock_sequencers, prepare_owners, SequencerLock,
};
use seqpool_staking::StakingRead;
use seqpoold::bridge_watcher::{poll_once, Cursor, WatcherConfig};

const CONFIRMATIONS: u64 = 3;

async fn mine<P: Provider>(provider: &P, blocks: u64) {
    anvil::mine(provider, blocks).await.expect("anvil_mine");
}

/// The watcher of `deployment` at CONFIRMATIONS depth with its cursor under `dir`.
fn watcher_config(deployment: &Deployment, dir: &std::path::Path) -> WatcherConfig {
    WatcherConfig {
        locking_pool: deployment.locking_pool,
        batch_inbox: Some(deployment.batch_inbox),
        group_key_registry: Some(deployment.group_key_registry),
        governance: Some(deployment.governance),
        confirmations: CONFIRMATIONS,
        use_finalized_tag: false,
        start_block: 0,
        poll_interval: Duration::from_millis(100),
        cursor_path: dir.join("data/l1_watcher_cursor.json"),
    }
}

/// A fresh watcher of `deployment` (its cursor in a temp dir) and what it observed.
struct Fresh {
    _dir: tempfile::TempDir,
    watcher: WatcherConfig,
    reader: RootProvider,
    observations: Observations,
    receipts: ReceiptObservations,
    cursor: Cursor,
}

impl Fresh {
    fn new(anvil: &Anvil, deployment: &Deployment) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let watcher = watcher_config(deployment, dir.path());
        let cursor = Cursor::load(&watcher.cursor_path, 0).expect("fresh cursor");
        Self {
            _dir: dir,
            watcher,
            reader: RootProvider::new_http(anvil.url.parse().expect("url")),
            observations: Observations::default(),
            receipts: ReceiptObservations::default(),
            cursor,
        }
    }

    /// One watcher round.
    async fn poll(&mut self) {
        poll_once(
            &self.reader,
            &self.watcher,
            &mut self.cursor,
            &self.observations,
            &self.receipts,
        )
        .await
        .expect("poll");
    }

    /// Mines one block and polls until `done` holds for the observations (at most 30 s).
    async fn mine_until<P: Provider>(
        &mut self,
        provider: &P,
        what: &str,
        done: impl Fn(&Observations) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(&self.observations) {
            assert!(Instant::now() < deadline, "{what} not observed within 30 s");
            mine(provider, 1).await;
            self.poll().await;
        }
    }
}

/// An anvil with every contract deployed by the dev key (the governance admin), and a wallet
/// provider of that key.
struct DeployedL1 {
    anvil: Anvil,
    admin: PrivateKeySigner,
    provider: DynProvider,
    chain_id: u64,
    config: DeployConfig,
    deployment: Deployment,
}

impl DeployedL1 {
    async fn start() -> Self {
        let anvil = Anvil::start().expect("anvil");
        let admin: PrivateKeySigner = DEV_KEY.parse().expect("dev key");
        let provider = ProviderBuilder::new()
            .wallet(admin.clone())
            .connect_http(anvil.url.parse().expect("url"));
        let chain_id = wait_for_rpc(&provider).await.expect("anvil RPC");
        let config = DeployConfig::default();
        let deployment = deploy_all(provider.clone(), &config).await.expect("deploy");
        Self {
            anvil,
            admin,
            provider: provider.erased(),
            chain_id,
            config,
            deployment,
        }
    }
}

fn has_locked(observations: &Observations) -> bool {
    observations
        .lock()
        .expect("lock")
        .values()
        .any(|e| matches!(e.payload, Some(Payload::Locked(_))))
}

/// A 4-validator in-process chain with `standby` added, on which every validator attests the
/// `observed` events in its vote extension for enough blocks that they apply and the resulting
/// validator updates reach CometBFT. Returns the driver and `standby`'s index.
fn attested_by_every_validator(
    dir: &std::path::Path,
    observed: &std::collections::BTreeMap<u64, seqpool_bridge::L1Event>,
    standby: TestValidator,
) -> (Driver, usize) {
    let mut d = Driver::new(dir, 4, 1).expect("driver");
    let idx = d.add_standby(standby);
    let vote = BridgeVote {
        events: observed.values().cloned().collect(),
        ..Default::default()
    };
    for i in 0..4 {
        d.bridge_votes.insert(i, vote.clone());
    }
    for _ in 0..6 {
        d.produce_block(vec![]).expect("block");
    }
    (d, idx)
}

/// Voting power of a stake in wei (whole tokens).
fn whole_tokens(wei: U256) -> i64 {
    i64::try_from(wei / U256::from(10u64).pow(U256::from(18u64))).expect("power fits")
}

/// LockingPool's proof of possession by `key` for a lock by the dev account (the owner here).
async fn possession<P: Provider>(
    pool: &LockingPool::LockingPoolInstance<P>,
    key: &k256::ecdsa::SigningKey,
) -> alloy::primitives::Bytes {
    let owner = DEV_KEY
        .parse::<PrivateKeySigner>()
        .expect("dev key")
        .address();
    let chain_id = pool.provider().get_chain_id().await.expect("chain id");
    let nonce = pool.signerNonce(owner).call().await.expect("signerNonce");
    seqpool_l1::devnet::signer_proof(key, chain_id, *pool.address(), owner, nonce)
        .expect("proof")
        .to_vec()
        .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_follows_lock_at_confirmation_depth_and_ignores_reorged_events() {
    let DeployedL1 {
        anvil,
        admin,
        provider,
        config,
        deployment,
        ..
    } = DeployedL1::start().await;
    let deployer = admin.address();
    let gov = Governance::new(deployment.governance, provider.clone());
    let pool = LockingPool::new(deployment.locking_pool, provider.clone());
    let token = DevnetToken::new(deployment.stake_token, provider.clone());

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
    let amount = config.min_lock * U256::from(2);
    for _ in 0..2 {
        token
            .mint(deployer, amount)
            .send()
            .await
            .expect("mint")
            .get_receipt()
            .await
            .expect("receipt");
    }
    token
        .approve(deployment.locking_pool, amount * U256::from(2))
        .send()
        .await
        .expect("approve")
        .get_receipt()
        .await
        .expect("receipt");

    // The joiner's consensus key is the signer key of the lock.
    let joiner = TestValidator {
        name: "l1-joiner".into(),
        consensus_key: test_key("consensus/l1-joiner"),
        operator_key: test_key("operator/l1-joiner"),
        power: 0,
    };
    let point = joiner.consensus_key.verifying_key().to_encoded_point(false);
    let pubkey = point.as_bytes()[1..].to_vec();
    let signer_address = Address::from_slice(&keccak256(&pubkey)[12..]);

    let mut w = Fresh::new(&anvil, &deployment);
    mine(&provider, CONFIRMATIONS).await;
    w.poll().await;
    assert!(
        !w.observations.lock().expect("lock").is_empty(),
        "whitelist event observed"
    );

    // A lock in a block that a reorg removes before it is deep enough: never observed.
    let snapshot: U256 = provider
        .raw_request("evm_snapshot".into(), Vec::<u8>::new())
        .await
        .expect("evm_snapshot");
    let proof = possession(&pool, &joiner.consensus_key).await;
    let receipt = pool
        .lockFor(signer_address, amount, pubkey.clone().into(), proof.clone())
        .send()
        .await
        .expect("send lockFor")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "lockFor reverted");
    mine(&provider, CONFIRMATIONS - 1).await;
    w.poll().await;
    assert!(
        !has_locked(&w.observations),
        "a lock above the depth was observed"
    );
    let reverted: bool = provider
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .expect("evm_revert");
    assert!(reverted);
    mine(&provider, CONFIRMATIONS + 5).await;
    w.poll().await;
    assert!(
        !has_locked(&w.observations),
        "a reorged-out lock was observed"
    );

    // The real lock: observed once it is CONFIRMATIONS deep, not before. A fresh wallet provider,
    // since the old one caches the account nonce of the reverted chain.
    let provider = ProviderBuilder::new()
        .wallet(DEV_KEY.parse::<PrivateKeySigner>().expect("dev key"))
        .connect_http(anvil.url.parse().expect("url"));
    let pool = LockingPool::new(deployment.locking_pool, provider.clone());
    let proof = possession(&pool, &joiner.consensus_key).await;
    let receipt = pool
        .lockFor(signer_address, amount, pubkey.clone().into(), proof.clone())
        .send()
        .await
        .expect("send lockFor")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "lockFor reverted");
    let lock_block = receipt.block_number.expect("mined");
    w.poll().await;
    assert!(
        !has_locked(&w.observations),
        "observed before the confirmation depth"
    );
    w.mine_until(&provider, "the lock", has_locked).await;
    let head = w.reader.get_block_number().await.expect("head");
    assert!(
        head >= lock_block + CONFIRMATIONS,
        "observed at depth {}",
        head - lock_block
    );
    let event_nonce = pool.eventNonce().call().await.expect("eventNonce");
    let observed = w.observations.lock().expect("lock").clone();
    let lock_event = observed.values().last().expect("events").clone();
    assert_eq!(U256::from(lock_event.nonce), event_nonce);
    assert_eq!(lock_event.tx_hash, receipt.transaction_hash.to_vec());
    match &lock_event.payload {
        Some(Payload::Locked(l)) => {
            assert_eq!(l.sequencer_id, 1);
            assert_eq!(l.amount, amount.to_string());
            assert_eq!(l.signer_pubkey, pubkey);
            assert_eq!(l.signer, signer_address.to_vec());
        }
        other => panic!("expected a Locked event, got {other:?}"),
    }
    let nonces: Vec<u64> = observed.keys().copied().collect();
    assert_eq!(
        nonces,
        (1..=lock_event.nonce).collect::<Vec<_>>(),
        "no gaps"
    );

    // The cursor survives a restart.
    let reloaded = Cursor::load(&w.watcher.cursor_path, 0).expect("reload");
    assert_eq!(reloaded, w.cursor);
    assert!(reloaded.next_block > lock_block);

    // Every validator attests what the watcher saw: the signer key becomes a validator.
    let chain_dir = tempfile::tempdir().expect("tempdir");
    let (d, idx) = attested_by_every_validator(chain_dir.path(), &observed, joiner);
    let expected_power = whole_tokens(amount);
    assert_eq!(d.validators[idx].power, expected_power);
    let set = d.nodes[0]
        .app
        .storage()
        .latest_snapshot()
        .consensus_set_at(d.height + 1)
        .expect("set");
    assert!(set
        .iter()
        .any(|v| v.sequencer_id == 1 && v.power == expected_power));
    drop(anvil);
}

/// A reorg deeper than the confirmation depth replaces blocks the watcher already read: it finds
/// the fork from the block hashes it remembers, forgets what only the dropped branch had and reads
/// the new branch, so the new branch's lock is not missed (it would be: its block was read).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_reads_the_new_branch_after_a_reorg_deeper_than_its_depth() {
    let DeployedL1 {
        anvil,
        admin: signer,
        provider,
        config,
        deployment,
        ..
    } = DeployedL1::start().await;
    // The deployer is also the owner of the lock: whitelisted, funded, minted, approved.
    let amount = config.min_lock;
    prepare_owners(
        &anvil.url,
        signer.clone(),
        &deployment,
        &[(signer.address(), amount)],
        U256::from(1u64),
    )
    .await
    .expect("whitelist and mint");
    approve_stake(&anvil.url, &deployment, signer.clone(), amount)
        .await
        .expect("approve");

    let mut w = Fresh::new(&anvil, &deployment);

    // Empty blocks that the watcher reads (they are CONFIRMATIONS deep), then a reorg that drops
    // them all: deeper than the depth.
    let snapshot: U256 = provider
        .raw_request("evm_snapshot".into(), Vec::<u8>::new())
        .await
        .expect("evm_snapshot");
    let fork = w.reader.get_block_number().await.expect("head") + 1;
    mine(&provider, CONFIRMATIONS + 3).await;
    w.poll().await;
    assert!(w.cursor.next_block > fork, "the doomed blocks were read");
    let reverted: bool = provider
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .expect("evm_revert");
    assert!(reverted);

    // The new branch: a lock in its first block.
    let provider = ProviderBuilder::new()
        .wallet(DEV_KEY.parse::<PrivateKeySigner>().expect("dev key"))
        .connect_http(anvil.url.parse().expect("url"));
    let key = test_key("consensus/deep-reorg");
    let point = key.verifying_key().to_encoded_point(false);
    let pubkey = point.as_bytes()[1..].to_vec();
    let signer_address = Address::from_slice(&keccak256(&pubkey)[12..]);
    let receipt = LockingPool::new(deployment.locking_pool, provider.clone())
        .lockFor(
            signer_address,
            amount,
            pubkey.into(),
            possession(
                &LockingPool::new(deployment.locking_pool, provider.clone()),
                &key,
            )
            .await,
        )
        .send()
        .await
        .expect("send lockFor")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "lockFor reverted");
    assert_eq!(
        receipt.block_number,
        Some(fork),
        "the lock is in the fork block"
    );
    w.mine_until(&provider, "the new branch's lock", has_locked)
        .await;
    let observed = w.observations.lock().expect("lock").clone();
    let lock = observed
        .values()
        .find(|e| matches!(e.payload, Some(Payload::Locked(_))))
        .expect("lock");
    assert_eq!(lock.tx_hash, receipt.transaction_hash.to_vec());
    let nonces: Vec<u64> = observed.keys().copied().collect();
    assert_eq!(nonces, (1..=lock.nonce).collect::<Vec<_>>(), "no gaps");
    drop(anvil);
}

/// An anvil with the contracts deployed and a 3-of-4 FROST group key (dealt from `seed`)
/// registered by the admin through Governance.
struct GroupOnL1 {
    anvil: Anvil,
    provider: DynProvider,
    chain_id: u64,
    deployment: Deployment,
    group: seqpool_l1::frost_sig::DealtGroup,
    key: seqpool_l1::frost_sig::AffinePoint,
    rng: rand::rngs::StdRng,
}

impl GroupOnL1 {
    async fn start(seed: u64) -> Self {
        use rand::SeedableRng;
        use seqpool_l1::frost_sig::{group_key_affine, DealtGroup};
        let DeployedL1 {
            anvil,
            provider,
            chain_id,
            deployment,
            ..
        } = DeployedL1::start().await;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let group = DealtGroup::deal(4, 3, &mut rng).expect("deal");
        let key = group_key_affine(group.verifying_key()).expect("usable key");
        seqpool_l1::devnet::register_initial_group_key(
            &provider,
            &deployment,
            U256::from_be_bytes(key.x),
            U256::from_be_bytes(key.y),
        )
        .await
        .expect("setInitialKey through Governance");
        Self {
            anvil,
            provider,
            chain_id,
            deployment,
            group,
            key,
            rng,
        }
    }
}

/// The receipts of group-signed payloads: the watcher reports GroupKeySet and BatchAppended at the
/// confirmation depth (not before), with the content the chain matches against its requests, and
/// keeps them in its cursor across a restart until the chain has recorded them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_reports_key_and_batch_receipts_at_confirmation_depth() {
    use alloy::primitives::B256;
    use seqpool_bridge::l1_receipt::Payload as Receipt;
    use seqpool_l1::bindings::BatchInbox;
    use seqpool_l1::frost_sig::signature_affine;

    // The admin registers a 3-of-4 group key; the group signs batch 0 and it is appended.
    let GroupOnL1 {
        anvil,
        provider,
        chain_id,
        deployment,
        group,
        key,
        mut rng,
    } = GroupOnL1::start(3).await;
    let header = BatchInbox::BatchHeader {
        batchIndex: 0,
        l2StartBlock: deployment.first_l2_block,
        l2EndBlock: deployment.first_l2_block + 7,
        l2BlocksRoot: B256::repeat_byte(0xb1),
        l2StateRoot: B256::repeat_byte(0x5e),
    };
    let digest = seqpool_l1::digest::batch_digest(chain_id, deployment.batch_inbox, &header);
    let sig = group.sign(digest.as_slice(), 3, &mut rng).expect("sign");
    let inbox = BatchInbox::new(deployment.batch_inbox, provider.clone());
    let outcome = seqpool_l1::relay::relay_batch(
        &inbox,
        header.clone(),
        signature_affine(&sig).expect("affine").into(),
    )
    .await
    .expect("append");
    let seqpool_l1::relay::RelayOutcome::Appended { tx, .. } = outcome else {
        panic!("not appended: {outcome:?}");
    };

    let mut w = Fresh::new(&anvil, &deployment);
    w.poll().await;
    assert!(
        w.receipts.lock().expect("lock").is_empty(),
        "receipts reported above the confirmation depth"
    );
    mine(&provider, CONFIRMATIONS).await;
    w.poll().await;
    let seen: Vec<_> = w.receipts.lock().expect("lock").values().cloned().collect();
    assert_eq!(seen.len(), 2, "{seen:?}");
    match &seen[0].payload {
        Some(Receipt::GroupKeySet(k)) => {
            assert_eq!(
                (k.key_nonce, &k.px[..], &k.py[..]),
                (1, &key.x[..], &key.y[..])
            );
        }
        other => panic!("first receipt is not GroupKeySet: {other:?}"),
    }
    match &seen[1].payload {
        Some(Receipt::BatchAppended(b)) => {
            assert_eq!(
                (b.batch_index, b.l2_start_block, b.l2_end_block),
                (0, header.l2StartBlock, header.l2EndBlock)
            );
            assert_eq!(b.l2_blocks_root, header.l2BlocksRoot.to_vec());
            assert_eq!(b.l2_state_root, header.l2StateRoot.to_vec());
        }
        other => panic!("second receipt is not BatchAppended: {other:?}"),
    }
    assert_eq!(seen[1].tx_hash, tx.to_vec());
    // A bridge section with them passes the vote checks.
    let vote = BridgeVote {
        receipts: seen.clone(),
        ..Default::default()
    };
    seqpool_bridge::attest::check_vote(&vote, 8).expect("well-formed section");
    // The cursor keeps them for a restart.
    let reloaded = Cursor::load(&w.watcher.cursor_path, 0).expect("reload");
    assert_eq!(reloaded.receipts, seen);
    drop(anvil);
}

/// A group-signed Governance.executeSigned on a real anvil (x/mpc's slash action: its calldata
/// and digest): the watcher reports its ActionExecuted at the confirmation depth with the target,
/// selector and action nonce, and drops the admin calls' ActionExecuted (deployment, key
/// registration). x/mpc matches the receipt to the SIGNED request and lands it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_reports_a_group_signed_action_and_x_mpc_lands_its_request() {
    use seqpool_bridge::l1_receipt::Payload as Receipt;
    use seqpool_l1::frost_sig::signature_affine;
    use seqpool_mpc::state::{MpcRead, MpcWrite};
    use seqpool_mpc::{requests, L1Contracts, RequestStatus};

    let GroupOnL1 {
        anvil,
        provider,
        chain_id,
        deployment,
        group,
        mut rng,
        ..
    } = GroupOnL1::start(5).await;

    // x/mpc's request for the slashing action, in a chain state with the deployment's contracts.
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = seqpool_store::Storage::open(dir.path()).expect("store");
    let mut state = seqpool_store::StateDelta::new(storage.latest_snapshot());
    let mut params = state.mpc_params().expect("params");
    params.l1 = Some(L1Contracts {
        chain_id,
        batch_inbox: deployment.batch_inbox.to_vec(),
        locking_pool: deployment.locking_pool.to_vec(),
        group_key_registry: deployment.group_key_registry.to_vec(),
        governance: deployment.governance.to_vec(),
    });
    state.put_mpc_params(&params);
    let data = requests::slash_calldata(1, 5);
    let ctx = seqpool_component::BlockContext {
        chain_id: "test".into(),
        height: 1,
        time_unix_nanos: 0,
    };
    let (mut request, _) = requests::create_governance_action(
        &mut state,
        &ctx,
        deployment.locking_pool.into_array(),
        &data,
        "admin",
        None,
    )
    .expect("request");
    let action = Governance::GovernanceAction {
        target: deployment.locking_pool,
        data: data.clone().into(),
        nonce: U256::from(request.sequence),
    };
    let digest =
        seqpool_l1::digest::governance_action_digest(chain_id, deployment.governance, &action);
    assert_eq!(
        request.digest,
        digest.to_vec(),
        "x/mpc signs the contract's digest"
    );
    let sig = group.sign(digest.as_slice(), 3, &mut rng).expect("sign");
    request.set_status(RequestStatus::Signed);
    state.put_signing_request(&request);

    let governance = Governance::new(deployment.governance, provider.clone());
    let sent = governance
        .executeSigned(action, signature_affine(&sig).expect("affine").into())
        .send()
        .await
        .expect("executeSigned sent")
        .get_receipt()
        .await
        .expect("executeSigned mined");
    assert!(sent.status(), "executeSigned reverted");

    let mut w = Fresh::new(&anvil, &deployment);
    w.poll().await;
    let actions = |w: &Fresh| -> Vec<seqpool_bridge::L1Receipt> {
        w.receipts
            .lock()
            .expect("lock")
            .values()
            .filter(|r| matches!(r.payload, Some(Receipt::ActionExecuted(_))))
            .cloned()
            .collect()
    };
    assert!(
        actions(&w).is_empty(),
        "reported above the confirmation depth"
    );
    mine(&provider, CONFIRMATIONS).await;
    w.poll().await;
    let seen = actions(&w);
    assert_eq!(seen.len(), 1, "only the group-signed action: {seen:?}");
    let receipt = &seen[0];
    let Some(Receipt::ActionExecuted(e)) = &receipt.payload else {
        unreachable!("filtered above");
    };
    assert_eq!(
        (&e.target[..], &e.selector[..], e.action_nonce),
        (deployment.locking_pool.as_slice(), &data[..4], 0)
    );
    assert_eq!(receipt.tx_hash, sent.transaction_hash.to_vec());
    seqpool_bridge::attest::check_vote(
        &BridgeVote {
            receipts: seen.clone(),
            ..Default::default()
        },
        8,
    )
    .expect("well-formed section");

    assert_eq!(
        seqpool_mpc::receipts::status(&state, receipt).expect("status"),
        seqpool_mpc::receipts::ReceiptStatus::Pending
    );
    seqpool_mpc::receipts::apply(&mut state, receipt, 9).expect("apply");
    let landed = state
        .signing_request(request.request_id)
        .expect("read")
        .expect("request");
    assert_eq!(landed.status(), RequestStatus::Landed);
    assert_eq!(landed.l1_tx_hash, sent.transaction_hash.to_vec());
    drop(anvil);
}

/// LockingPool.slash (here through the governance admin; the group-signed path is the forge test
/// `test_slashThroughGroupSignedAction` and the relayer's mapping) on a real anvil: the watcher
/// decodes `Slashed` with its nonce right after the `Locked`, and attested through the driver it
/// lowers the sequencer's power.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_decodes_a_slash_and_the_chain_lowers_the_power() {
    let DeployedL1 {
        anvil,
        admin: signer,
        provider,
        config,
        deployment,
        ..
    } = DeployedL1::start().await;
    let pool = LockingPool::new(deployment.locking_pool, provider.clone());
    let joiner = TestValidator {
        name: "slashed".into(),
        consensus_key: test_key("consensus/slashed"),
        operator_key: test_key("operator/slashed"),
        power: 0,
    };
    let owner = PrivateKeySigner::from_bytes(&keccak256("slash test owner")).expect("owner key");
    let amount = config.min_lock * U256::from(2);
    let url = anvil.url.as_str();
    prepare_owners(
        url,
        DEV_KEY.parse().expect("dev key"),
        &deployment,
        &[(owner.address(), amount)],
        default_owner_funding(),
    )
    .await
    .expect("whitelist and fund the owner");
    let lock = SequencerLock::new(owner, &joiner.consensus_key, amount);
    let locked = lock_sequencers(url, &deployment, &[lock])
        .await
        .expect("lock");
    assert_eq!(locked[0].sequencer_id, 1);
    // A fresh wallet provider: the first one caches the admin's nonce from before prepare_owners.
    let provider = ProviderBuilder::new()
        .wallet(signer)
        .connect_http(anvil.url.parse().expect("url"));
    let gov = Governance::new(deployment.governance, provider.clone());
    let slashed = config.min_lock / U256::from(2);
    let receipt = gov
        .execute(
            deployment.locking_pool,
            LockingPool::slashCall {
                sequencerId: U256::from(1),
                amount: slashed,
            }
            .abi_encode()
            .into(),
        )
        .send()
        .await
        .expect("send slash")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "slash reverted");

    let mut w = Fresh::new(&anvil, &deployment);
    let slashed_event = |observations: &Observations| {
        observations
            .lock()
            .expect("lock")
            .values()
            .find(|e| matches!(e.payload, Some(Payload::Slashed(_))))
            .cloned()
    };
    w.mine_until(&provider, "Slashed", |o| slashed_event(o).is_some())
        .await;
    let slash_event = slashed_event(&w.observations).expect("observed");
    assert_eq!(
        U256::from(slash_event.nonce),
        pool.eventNonce().call().await.expect("eventNonce")
    );
    match &slash_event.payload {
        Some(Payload::Slashed(s)) => {
            assert_eq!(s.sequencer_id, 1);
            assert_eq!(s.amount, slashed.to_string());
            assert_eq!(s.total_locked, (amount - slashed).to_string());
        }
        other => panic!("expected a Slashed event, got {other:?}"),
    }
    let observed = w.observations.lock().expect("lock").clone();
    let nonces: Vec<u64> = observed.keys().copied().collect();
    assert_eq!(
        nonces,
        (1..=slash_event.nonce).collect::<Vec<_>>(),
        "no gaps"
    );

    let chain_dir = tempfile::tempdir().expect("tempdir");
    let (d, idx) = attested_by_every_validator(chain_dir.path(), &observed, joiner);
    let power = whole_tokens;
    assert_eq!(d.validators[idx].power, power(amount - slashed));
    assert_ne!(
        power(amount - slashed),
        power(amount),
        "the slash is visible"
    );
    drop(anvil);
}
