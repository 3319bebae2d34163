//! x/mpc key lifecycle through the in-process ABCI driver with real FROST and real encrypted
//! keystores: every validator runs its own app and MPC node, and the DKG / reshare payloads ride
//! on their vote extensions exactly as on the devnet.
use frost_secp256k1::keys::{IdentifierList, KeyPackage, PublicKeyPackage};
use rand::rngs::OsRng;
use seqpool_app::driver::{test_key, Driver, TestValidator};
use seqpool_app::genesis::AppGenesis;
use seqpool_bridge::{BridgeVote, L1Event, Payload};
use seqpool_component::{StateRead, StateReadProto};
use seqpool_mpc::keygen::RESHARE_ROUND_CONFIRM;
use seqpool_mpc::keygen::{self, Exclusion};
use seqpool_mpc::state::MpcRead;
use seqpool_mpc::{
    GroupKey, KeyStatus, KeygenKind, KeygenSession, L1Contracts, Member, RequestStatus,
    RequestType, SessionStatus,
};
use seqpool_proto::bridge::v1::Locked;
use seqpool_tss::{KeyId, MemberSecret};
use seqpoold::mpc::keygen::KeygenFault;
use seqpoold::mpc::testing::MpcDriver;

/// Blocks a keygen round may take in these tests (timeouts are exercised on purpose).
const ROUND_TIMEOUT: u64 = 3;
/// First readmission cool-down in these tests (doubles per consecutive failure, up to the cap).
const READMIT_AFTER: u64 = 8;
const READMIT_MAX: u64 = 64;

pub struct Net {
    pub d: Driver,
    /// Member records by validator index.
    pub members: Vec<Member>,
    _dir: tempfile::TempDir,
}

/// `n` genesis validators plus `standby` validators that are registered MPC members at genesis
/// but not in the validator set (they join through an L1 lock). Every validator has its own MPC
/// node and encrypted keystore (the driver's); the first `full_nodes` also run their own app
/// (the others' extensions are built by node 0's app with their MPC node). `genesis_key` puts a
/// dealer-made ACTIVE key of the first `n` members in genesis and in their keystores.
pub fn network(n: usize, standby: usize, genesis_key: bool, full_nodes: usize) -> Net {
    network_with(n, standby, genesis_key, full_nodes, |_| {})
}

/// [`network`] with a further change to the genesis.
pub fn network_with(
    n: usize,
    standby: usize,
    genesis_key: bool,
    full_nodes: usize,
    customize: impl FnOnce(&mut AppGenesis),
) -> Net {
    let dir = tempfile::tempdir().expect("tempdir");
    let total = n + standby;
    let validators: Vec<TestValidator> = (0..total)
        .map(|i| TestValidator {
            name: format!("val{i}"),
            consensus_key: test_key(&format!("consensus/{i}")),
            operator_key: test_key(&format!("operator/{i}")),
            power: 10,
        })
        .collect();
    let identities: Vec<MemberSecret> = validators.iter().map(|v| v.mpc_identity()).collect();
    let members: Vec<Member> = validators
        .iter()
        .zip(&identities)
        .map(|(v, identity)| {
            let address = seqpool_staking::genesis::consensus_address(&v.consensus_pub_key());
            seqpool_mpc::members::member_of(identity, &address)
        })
        .collect();
    let dealt = genesis_key.then(|| dealer_key(&identities[..n], &members[..n]));
    let genesis_keys: Vec<GroupKey> = dealt.iter().map(|(k, _, _)| k.clone()).collect();
    let mut d = Driver::with_validators_mpc(dir.path(), validators, full_nodes, |g| {
        let standby: Vec<String> = (n..total).map(|i| format!("val{i}")).collect();
        g.staking.validators.retain(|v| !standby.contains(&v.name));
        if let Some(p) = g.mpc.params.as_mut() {
            p.keygen_round_timeout_blocks = ROUND_TIMEOUT;
            p.readmit_after_blocks = READMIT_AFTER;
            p.readmit_max_blocks = READMIT_MAX;
        }
        g.mpc.keys = genesis_keys;
        customize(g);
    })
    .expect("driver");
    for v in d.validators.iter_mut().skip(n) {
        v.power = 0;
    }
    if let Some((_, shares, public)) = &dealt {
        for (i, share) in shares.iter().enumerate() {
            let node = d.mpc_node(i).expect("mpc node");
            node.keystore
                .put_key(KeyId(1), share, public)
                .expect("put key");
        }
    }
    Net {
        d,
        members,
        _dir: dir,
    }
}

/// Genesis change: L1 contracts in the mpc params, so the admin can ask for governance actions
/// (something for the group to sign).
pub fn with_l1(g: &mut AppGenesis) {
    if let Some(p) = g.mpc.params.as_mut() {
        p.l1 = Some(L1Contracts {
            chain_id: 31_337,
            batch_inbox: vec![0x1b; 20],
            locking_pool: vec![0x2c; 20],
            group_key_registry: vec![0x3d; 20],
            governance: vec![0x4e; 20],
        });
    }
}

/// A trusted-dealer key (threshold floor(2n/3)+1) of `identities`, as a chain continuing an
/// existing pool has it: the state record and each member's key package (in identity order).
fn dealer_key(
    identities: &[MemberSecret],
    members: &[Member],
) -> (GroupKey, Vec<KeyPackage>, PublicKeyPackage) {
    let ids: Vec<_> = identities
        .iter()
        .map(|m| m.identifier().expect("id"))
        .collect();
    let t = seqpool_tss::threshold_for(ids.len());
    let (shares, public) = frost_secp256k1::keys::generate_with_dealer(
        ids.len() as u16,
        t,
        IdentifierList::Custom(&ids),
        OsRng,
    )
    .expect("dealer");
    let packages = ids
        .iter()
        .map(|id| KeyPackage::try_from(shares[id].clone()).expect("key package"))
        .collect();
    let affine = seqpool_tss::eth::group_key_affine(public.verifying_key()).expect("affine");
    let key = GroupKey {
        key_id: 1,
        group_key: public.verifying_key().serialize().expect("vk"),
        px: affine.x.to_vec(),
        py: affine.y.to_vec(),
        threshold: t as u32,
        members: {
            let mut sorted = members.to_vec();
            sorted.sort_by(|a, b| a.identifier.cmp(&b.identifier));
            sorted
        },
        verifying_shares: public
            .verifying_shares()
            .iter()
            .map(|(id, s)| seqpool_mpc::VerifyingShare {
                identifier: id.serialize(),
                share: s.serialize().expect("share"),
            })
            .collect(),
        status: KeyStatus::Active as i32,
        public_key_package_hash: seqpool_tss::messages::public_key_package_hash(&public)
            .expect("hash")
            .to_vec(),
        ..Default::default()
    };
    (key, packages, public)
}

impl Net {
    pub fn state(&self) -> impl StateRead {
        self.d.nodes[0].app.storage().latest_snapshot()
    }

    pub fn block(&mut self) {
        self.d.produce_block(vec![]).expect("block");
    }

    /// Produces blocks until `done` holds; panics after `limit` blocks. Returns the blocks made.
    pub fn run_until(&mut self, limit: u64, what: &str, done: impl Fn(&Net) -> bool) -> u64 {
        for made in 0..=limit {
            if done(self) {
                return made;
            }
            if made < limit {
                self.block();
            }
        }
        panic!(
            "{what}: not reached within {limit} blocks (height {}); sessions: {:#?}",
            self.d.height,
            self.sessions()
        );
    }

    /// Produces blocks until a key other than `old` is active (at most `limit`); returns it.
    pub fn run_until_replaced(&mut self, limit: u64, old: &GroupKey) -> GroupKey {
        self.run_until(limit, "a new key active", |net| {
            net.state()
                .active_key_id()
                .expect("read")
                .is_some_and(|id| id != old.key_id)
        });
        self.key_with(KeyStatus::Active).expect("active")
    }

    pub fn sessions(&self) -> Vec<KeygenSession> {
        self.state().keygen_sessions().expect("sessions")
    }

    pub fn keys(&self) -> Vec<GroupKey> {
        self.state().group_keys().expect("keys")
    }

    /// The newest key with `status`.
    pub fn key_with(&self, status: KeyStatus) -> Option<GroupKey> {
        self.keys().into_iter().rev().find(|k| k.status() == status)
    }

    /// Whether node `i`'s keystore holds `key_id`, and the group key of the package it holds.
    pub fn held(&mut self, i: usize, key_id: u64) -> Option<Vec<u8>> {
        let node = self.d.mpc_node(i).expect("mpc node");
        if !node.keystore.has_key(KeyId(key_id)) {
            return None;
        }
        let (share, public) = node.keystore.key(KeyId(key_id)).expect("key");
        assert_eq!(share.verifying_key(), public.verifying_key());
        Some(public.verifying_key().serialize().expect("vk"))
    }

    /// Makes validator `i` (a standby) join through an L1 lock every validator reports.
    pub fn join(&mut self, i: usize, sequencer_id: u64) {
        let point = self.d.validators[i]
            .consensus_key
            .verifying_key()
            .to_encoded_point(false);
        let lock = L1Event {
            nonce: self.state_next_bridge_nonce(),
            tx_hash: vec![0x42; 32],
            log_index: 0,
            block_number: 100,
            payload: Some(Payload::Locked(Locked {
                sequencer_id,
                signer: vec![0xAA; 20],
                owner: vec![0xBB; 20],
                amount: (10u128 * 1_000_000_000_000_000_000).to_string(),
                signer_pubkey: point.as_bytes()[1..].to_vec(),
            })),
        };
        for v in 0..self.d.validators.len() {
            self.d.bridge_votes.insert(
                v,
                BridgeVote {
                    events: vec![lock.clone()],
                    ..Default::default()
                },
            );
        }
    }

    /// The exclusion record of member `i`, if any.
    pub fn exclusion(&self, i: usize) -> Option<Exclusion> {
        keygen::exclusions(&self.state())
            .expect("exclusions")
            .remove(&self.members[i].identifier)
    }

    /// The exclusions the members query lists.
    pub fn listed_exclusions(&self) -> Vec<seqpool_proto::mpc::v1::KeygenExclusion> {
        seqpool_mpc::query::members(&self.state(), &Default::default())
            .expect("members query")
            .exclusions
    }

    /// Asks the group (admin tx) for a governance action and produces blocks until it is
    /// signed; returns the key that signed it. Needs `params.l1` ([`with_l1`]).
    pub fn sign_something(&mut self) -> u64 {
        let admin = self.d.admin_address();
        let account = seqpool_auth::AuthRead::account(&self.state(), &admin)
            .expect("read")
            .expect("admin account");
        let msg = seqpool_mpc::MsgRequestGovernanceAction {
            authority: admin,
            target: vec![0x2c; 20],
            data: seqpool_app::driver::Driver::set_max_lock_call(1),
        };
        let tx = seqpool_app::tx::sign_tx(
            &self.d.admin_key,
            &self.d.chain_id,
            account.account_number,
            account.sequence,
            vec![cosmrs::Any {
                type_url: <seqpool_mpc::MsgRequestGovernanceAction as prost::Name>::type_url(),
                value: prost::Message::encode_to_vec(&msg),
            }],
            "",
        );
        let out = self.d.produce_block(vec![tx.into()]).expect("block");
        let result = out.tx_results.last().expect("tx result");
        assert_eq!(result.code.value(), 0, "{}", result.log);
        let id = self
            .state()
            .signing_requests(1, usize::MAX)
            .expect("requests")
            .last()
            .expect("request")
            .request_id;
        self.run_until(6, "governance action signed", |net| {
            net.state()
                .signing_request(id)
                .expect("read")
                .expect("request")
                .status()
                == RequestStatus::Signed
        });
        self.state()
            .signing_request(id)
            .expect("read")
            .expect("request")
            .key_id
    }

    fn state_next_bridge_nonce(&self) -> u64 {
        use seqpool_bridge::BridgeRead;
        self.state().next_nonce().expect("nonce")
    }
}

/// State keys that only `key_id` uses: its members' nonce commitments and commitment counters
/// (prefix scans over every member) and its KEY_TEST index.
fn key_bookkeeping(net: &Net, key_id: u64) -> Vec<Vec<u8>> {
    use seqpool_mpc::state_key;
    let state = net.state();
    let mut keys: Vec<Vec<u8>> = [
        state_key::commitments_prefix(key_id, &[]),
        state_key::next_commitment_index(key_id, &[]),
    ]
    .iter()
    .flat_map(|prefix| state.prefix_raw(prefix).expect("scan"))
    .map(|(k, _)| k)
    .collect();
    let test_index = state_key::key_test(key_id);
    if state.get_raw(&test_index).expect("read").is_some() {
        keys.push(test_index);
    }
    keys
}

fn assert_every_member_holds(net: &mut Net, key: &GroupKey, nodes: &[usize]) {
    for &i in nodes {
        assert_eq!(
            net.held(i, key.key_id).as_deref(),
            Some(key.group_key.as_slice()),
            "node {i} holds its share of key {}",
            key.key_id
        );
    }
}

/// The DKG of `n` genesis validators: returns the pending key and the blocks it took.
fn dkg(n: usize) -> (Net, GroupKey, u64) {
    let mut net = network(n, 0, false, n.min(4));
    let blocks = net.run_until(12, "pending key", |net| {
        net.key_with(KeyStatus::Pending).is_some() || net.key_with(KeyStatus::Active).is_some()
    });
    let key = net
        .key_with(KeyStatus::Pending)
        .or_else(|| net.key_with(KeyStatus::Active))
        .expect("key");
    // Nodes store their share in the ExtendVote of the block that made the key pending.
    net.block();
    (net, key, blocks)
}

#[test]
fn dkg_of_four_genesis_validators_makes_a_key_every_node_holds() {
    let (mut net, key, blocks) = dkg(4);
    // Round 1 starts in block 1; each round's payloads land one block later: three rounds.
    assert!(blocks <= 5, "DKG took {blocks} blocks");
    assert_eq!(key.members.len(), 4);
    assert_eq!(key.threshold, 3);
    assert_eq!(key.verifying_shares.len(), 4);
    assert_eq!(key.reshared_from, 0);
    assert_eq!(key.group_key.len(), 33);
    assert_every_member_holds(&mut net, &key, &[0, 1, 2, 3]);
    let sessions = net.sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].status(), SessionStatus::Done);
    assert!(sessions[0].blame.is_empty());
    // The key test request of the new key is open (or already signed).
    let request_id = net
        .state()
        .get_u64(&seqpool_mpc::state_key::key_test(key.key_id))
        .expect("read")
        .expect("key test request");
    let request = net
        .state()
        .signing_request(request_id)
        .expect("read")
        .expect("request");
    assert_eq!(request.request_type(), RequestType::KeyTest);
    assert_eq!(request.key_id, key.key_id);
    // The signing path signs the key test with the new key itself; then the key is active.
    net.run_until(6, "active key", |net| {
        net.state().active_key_id().expect("read") == Some(key.key_id)
    });
    let active = net.key_with(KeyStatus::Active).expect("active");
    assert_eq!(active.group_key, key.group_key);
    let request = net
        .state()
        .signing_request(request_id)
        .expect("read")
        .expect("request");
    assert_eq!(request.status(), seqpool_mpc::RequestStatus::Signed);
    assert_eq!(request.signature.len(), 65);
    // No second session once the key matches the roster.
    for _ in 0..3 {
        net.block();
    }
    assert_eq!(net.sessions().len(), 1);
}

#[test]
fn dkg_of_ten_validators() {
    let (mut net, key, blocks) = dkg(10);
    assert!(blocks <= 5, "DKG took {blocks} blocks");
    assert_eq!(key.members.len(), 10);
    assert_eq!(key.threshold, 7);
    let all: Vec<usize> = (0..10).collect();
    assert_every_member_holds(&mut net, &key, &all);
}

/// A member whose node restarts after its DKG confirmation is in state keeps its share (stored
/// before the confirmation left): when the last confirmation arrives the key has four members
/// that all hold it, and the restarted node's share signs.
#[test]
fn a_member_restarted_after_confirming_the_dkg_keeps_its_share() {
    let mut net = network_with(4, 0, false, 4, with_l1);
    // A node sends a round's payload in its vote of the block that opens the round. Node 0 is
    // absent from the block that opens the confirm round, so its confirmation comes one block
    // after the others: the key waits while node 3, whose confirmation is in state, restarts
    // and loses its in-memory DKG.
    net.run_until(12, "dkg shares round", |net| {
        net.sessions()
            .first()
            .is_some_and(|s| s.round == keygen::DKG_ROUND_SHARES)
    });
    net.d.offline.insert(0);
    net.block();
    net.d.offline.remove(&0);
    net.block();
    let session = net.sessions().remove(0);
    assert_eq!(session.status(), SessionStatus::Open);
    let confirms =
        keygen::round_payloads(&net.state(), session.session_id, keygen::DKG_ROUND_CONFIRM)
            .expect("confirms");
    assert!(confirms.contains_key(&net.members[3].identifier));
    assert!(!confirms.contains_key(&net.members[0].identifier));
    assert!(
        net.keys().is_empty(),
        "no key before every member confirmed"
    );
    net.d.restart_node(3).expect("restart");
    net.run_until(ROUND_TIMEOUT, "pending key", |net| !net.keys().is_empty());
    let key = net.keys().remove(0);
    assert_eq!(key.members.len(), 4);
    net.run_until(6, "active key", |net| {
        net.state().active_key_id().expect("read") == Some(key.key_id)
    });
    net.block();
    assert_every_member_holds(&mut net, &key, &[0, 1, 2, 3]);
    assert_eq!(net.sessions().len(), 1, "no second session");
    // With node 0 offline the three others (t = 3) must sign, the restarted node among them.
    net.d.offline.insert(0);
    net.block();
    assert_eq!(net.sign_something(), key.key_id);
}

/// A share stored for a session that then failed (this node confirmed, another member did not)
/// is deleted once state shows the session failed; the next session makes the key.
#[test]
fn a_share_confirmed_for_a_failed_dkg_is_deleted() {
    let mut net = network(4, 0, false, 4);
    net.run_until(12, "dkg shares round", |net| {
        net.sessions()
            .first()
            .is_some_and(|s| s.round == keygen::DKG_ROUND_SHARES)
    });
    let first = net.sessions().remove(0);
    // Node 0 goes away before the confirm round: the others confirm, the round times out and
    // the session fails without it.
    net.d.offline.insert(0);
    net.block();
    assert_eq!(net.sessions()[0].round, keygen::DKG_ROUND_CONFIRM);
    assert!(
        net.held(1, first.key_id).is_some(),
        "stored at confirmation"
    );
    net.run_until(ROUND_TIMEOUT + 2, "session failed", |net| {
        net.sessions()[0].status() == SessionStatus::Failed
    });
    net.block();
    for i in 1..4 {
        assert_eq!(net.held(i, first.key_id), None, "node {i} deleted it");
    }
}

#[test]
fn a_bad_round2_share_is_proven_by_complaint_and_the_dkg_restarts_without_its_sender() {
    let mut net = network(4, 0, false, 4);
    net.d.mpc_node(3).expect("node").keygen.fault = Some(KeygenFault::BadDkgShare);
    let cheater = net.members[3].identifier.clone();
    net.run_until(20, "pending key after the restart", |net| {
        net.key_with(KeyStatus::Pending).is_some()
    });
    let sessions = net.sessions();
    assert_eq!(sessions.len(), 2, "one failed session, one restart");
    let failed = &sessions[0];
    assert_eq!(failed.status(), SessionStatus::Failed);
    assert_eq!(failed.blame.len(), 1, "{:?}", failed.blame);
    assert_eq!(failed.blame[0].identifier, cheater);
    assert!(
        failed.blame[0].reason.contains("bad secret share"),
        "{}",
        failed.blame[0].reason
    );
    assert_eq!(failed.blame[0].validator, net.members[3].validator);
    // A proven fault is penalised through staking like an invalid signature share.
    let state = net.state();
    assert_eq!(
        seqpool_mpc::signing::share_faults(&state, &net.members[3].validator).expect("faults"),
        1
    );
    for honest in &net.members[..3] {
        assert_eq!(
            seqpool_mpc::signing::share_faults(&state, &honest.validator).expect("faults"),
            0
        );
    }
    let restart = &sessions[1];
    assert_eq!(restart.attempt, 1);
    assert_eq!(restart.members.len(), 3);
    assert!(restart.members.iter().all(|m| m.identifier != cheater));
    let key = net.key_with(KeyStatus::Pending).expect("key");
    assert_eq!(key.threshold, 3);
    net.block();
    assert_every_member_holds(&mut net, &key, &[0, 1, 2]);
    assert_eq!(net.held(3, key.key_id), None);
}

#[test]
fn a_member_that_goes_offline_times_out_and_the_dkg_restarts_without_it() {
    let mut net = network(4, 0, false, 4);
    // The DKG starts once every member has voted; member 2 sends its round-1 commitment in
    // the votes of that block and is gone from then on.
    net.run_until(4, "DKG open", |net| !net.sessions().is_empty());
    net.d.offline.insert(2);
    let absent = net.members[2].identifier.clone();
    net.run_until(20, "pending key after the timeout", |net| {
        net.key_with(KeyStatus::Pending).is_some()
    });
    let sessions = net.sessions();
    assert_eq!(sessions.len(), 2);
    let failed = &sessions[0];
    assert_eq!(failed.status(), SessionStatus::Failed);
    assert!(failed.failure.contains("timed out"), "{}", failed.failure);
    assert_eq!(failed.blame.len(), 1);
    assert_eq!(failed.blame[0].identifier, absent);
    assert_eq!(failed.blame[0].reason, "missed round 2");
    // Missing a round is not a proven fault: liveness jailing covers a node that is down.
    let absent_validator = &net.members[2].validator;
    assert_eq!(
        seqpool_mpc::signing::share_faults(&net.state(), absent_validator).expect("faults"),
        0
    );
    // Round 2 started one block after the session and waited exactly its round timeout.
    assert_eq!(
        failed.round_deadline_height,
        failed.started_height + 1 + ROUND_TIMEOUT
    );
    assert_eq!(sessions[1].members.len(), 3);
    assert!(sessions[1].members.iter().all(|m| m.identifier != absent));
    let left_out = net.exclusion(2).expect("exclusion record");
    assert_eq!(left_out.strikes, 1);
    assert_eq!(
        left_out.readmit_height,
        failed.round_deadline_height + READMIT_AFTER
    );
    // Back online, it is taken in again after its cool-down: a reshare of the 3-member key
    // to all 4, same group key.
    net.d.offline.remove(&2);
    net.run_until(8, "key of 3 active", |net| {
        net.key_with(KeyStatus::Active).is_some()
    });
    let first = net.key_with(KeyStatus::Active).expect("active key of 3");
    assert_eq!(first.members.len(), 3);
    net.run_until(30, "reshared to 4", |net| {
        net.key_with(KeyStatus::Active)
            .is_some_and(|k| k.members.len() == 4)
    });
    let all = net.key_with(KeyStatus::Active).expect("active");
    assert_eq!(all.group_key, first.group_key);
    assert_eq!(all.reshared_from, first.key_id);
    assert!(
        net.sessions().last().expect("session").started_height >= left_out.readmit_height,
        "not before the cool-down"
    );
    assert_eq!(
        net.exclusion(2),
        None,
        "forgiven once it delivered a session"
    );
}

#[test]
fn a_fifth_validator_joins_and_the_key_is_reshared_to_five_with_the_same_group_key() {
    let mut net = network(4, 1, true, 5);
    net.block();
    let old = net.key_with(KeyStatus::Active).expect("genesis key");
    assert_eq!(old.threshold, 3);
    assert!(
        net.sessions().is_empty(),
        "no session while the roster matches the key"
    );
    // The members register nonce commitments for the key they hold.
    net.run_until(3, "commitments of the genesis key", |net| {
        !key_bookkeeping(net, old.key_id).is_empty()
    });
    net.join(4, 5);
    let start = net.d.height;
    net.run_until(20, "reshared key", |net| {
        net.keys().iter().any(|k| k.reshared_from == old.key_id)
    });
    let blocks = net.d.height - start;
    let key = net
        .keys()
        .into_iter()
        .find(|k| k.reshared_from == old.key_id)
        .expect("new key");
    assert_eq!(key.group_key, old.group_key, "the group key never changes");
    assert_eq!(
        (key.px.clone(), key.py.clone()),
        (old.px.clone(), old.py.clone())
    );
    assert_eq!(key.members.len(), 5);
    assert_eq!(key.threshold, 4);
    let session = net.sessions().pop().expect("session");
    assert_eq!(session.status(), SessionStatus::Done);
    assert_eq!(session.dealers.len(), 4);
    net.block();
    assert_every_member_holds(&mut net, &key, &[0, 1, 2, 3, 4]);
    eprintln!(
        "reshare after the join: new key pending {blocks} blocks after the lock was reported"
    );
    // The test signature activates the new key and retires the old one; every node deletes the
    // old shares (and their nonces) once it sees the retirement.
    net.run_until(6, "reshared key active", |net| {
        net.state().active_key_id().expect("read") == Some(key.key_id)
    });
    net.block();
    let retired = net
        .state()
        .group_key(old.key_id)
        .expect("read")
        .expect("old key");
    assert_eq!(retired.status(), KeyStatus::Retired);
    for i in 0..4 {
        assert_eq!(
            net.held(i, old.key_id),
            None,
            "node {i} deleted the retired share"
        );
    }
    // The chain deleted the retired key's commitments, counters and KEY_TEST index in the
    // block that retired it; the new key has its own.
    let left = key_bookkeeping(&net, old.key_id);
    assert!(
        left.is_empty(),
        "{} state keys of the retired key left, the first {}",
        left.len(),
        String::from_utf8_lossy(&left[0])
    );
    assert!(!key_bookkeeping(&net, key.key_id).is_empty());
    assert_every_member_holds(&mut net, &key, &[0, 1, 2, 3, 4]);
    // The roster matches the key again: no further session.
    let sessions = net.sessions().len();
    for _ in 0..3 {
        net.block();
    }
    assert_eq!(net.sessions().len(), sessions);
}

/// Hardening point 12 for keygen: a reshare's deal round closes at its deadline with the deals
/// the deciding block carries, and two candidate blocks of that height can carry different ones.
/// Dealer 3 is silent until the block before the deadline; round 0's block at the deadline
/// carries its deal (four deals), round 1's, which commits, leaves its extension out (three
/// deals, still the old threshold). Every member confirmed round 0's deal set in its round-0
/// precommit and stored that share. Before, the confirmation was kept by (session, round) and
/// sent again for round 1's set: wrong confirmations, a failed session. Now it is kept by the
/// deals it came from: members confirm round 1's set, store its share, and the new key signs
/// its test message and becomes active.
#[test]
fn a_deal_set_that_changes_between_rounds_of_one_height_still_reshares() {
    deal_set_changes_between_rounds(false);
}

/// The same with a third round that decides round 0's block again after round 1's: members
/// confirm round 0's set again and put back the share they made from it (round 1's replaced it
/// in the keystore).
#[test]
fn a_deal_set_decided_again_at_a_later_round_gets_its_own_share_back() {
    deal_set_changes_between_rounds(true);
}

fn deal_set_changes_between_rounds(back_to_round0: bool) {
    let mut net = network(4, 1, true, 5);
    net.block();
    let old = net.key_with(KeyStatus::Active).expect("genesis key");
    net.run_until(3, "commitments of the genesis key", |net| {
        !key_bookkeeping(net, old.key_id).is_empty()
    });
    net.join(4, 5);
    // Dealer 3 votes but sends no deal until the block before the deadline.
    let dealer = 3;
    net.d.mpc_node(dealer).expect("node").keygen.fault = Some(KeygenFault::Silent);
    net.run_until(20, "a reshare session open", |net| {
        net.sessions()
            .iter()
            .any(|s| s.status() == SessionStatus::Open && s.kind() == KeygenKind::Reshare)
    });
    let session = net.sessions().pop().expect("session");
    assert!(session.dealers.contains(&net.members[dealer].identifier));
    assert_eq!(session.round_deadline_height, net.d.height + ROUND_TIMEOUT);
    while net.d.height + 2 < session.round_deadline_height {
        net.block();
    }
    net.d.mpc_node(dealer).expect("node").keygen.fault = None;
    net.block();
    assert_eq!(net.d.height + 1, session.round_deadline_height);
    let round0 = net.d.propose(vec![]).expect("propose");
    net.d.abandon_round(&round0).expect("round 0");
    let carried = seqpool_app::vote_ext::decode_injected(&round0[0])
        .expect("injected")
        .expect("decodes")
        .votes
        .into_iter()
        .any(|v| {
            v.validator_address == net.d.validators[dealer].consensus_address()
                && !v.vote_extension.is_empty()
        });
    assert!(carried, "dealer 3's deal is in round 0's block");
    let round1 = net.d.leave_out_extension(&round0, dealer);
    let deals_decided = if back_to_round0 {
        net.d.abandon_round(&round1).expect("round 1");
        net.d
            .accept_and_finish(round0)
            .expect("round 2 commits round 0's block");
        4
    } else {
        net.d.accept_and_finish(round1).expect("round 1 commits");
        3
    };
    let session = net
        .sessions()
        .into_iter()
        .find(|s| s.session_id == session.session_id)
        .expect("session");
    assert_eq!(session.round, RESHARE_ROUND_CONFIRM, "{session:?}");
    let deals = keygen::round_payloads(&net.state(), session.session_id, 1).expect("deals");
    assert_eq!(
        deals.len(),
        deals_decided,
        "the deciding block closed the round"
    );
    let key = net.run_until_replaced(12, &old);
    assert_eq!(key.reshared_from, old.key_id);
    assert!(
        net.sessions()
            .iter()
            .all(|s| s.status() != SessionStatus::Failed),
        "{:#?}",
        net.sessions()
    );
    net.block();
    assert_every_member_holds(&mut net, &key, &[0, 1, 2, 3, 4]);
    // Each holds the share of the deal set that was decided: its package's verifying shares are
    // the key's in state (another set's shares interpolate to the same group key).
    let in_state = seqpool_mpc::signing::public_key_package(&key).expect("package");
    for i in 0..5 {
        let held = net
            .d
            .mpc_node(i)
            .expect("node")
            .keystore
            .public_package(KeyId(key.key_id))
            .expect("held package");
        assert_eq!(
            held.verifying_shares(),
            in_state.verifying_shares(),
            "node {i} holds a share of another deal set"
        );
    }
}

/// `make bench` (release): how long a reshare after a join takes, at n = 4 and n = 50. Blocks
/// from the block that starts the session (the first whose state has the joiner in the active
/// set) to the block that makes the new key PENDING and the one that activates it (its test
/// signature aggregated), and the driver's wall-clock time for those blocks. One thread runs
/// node 0's app (every block's execution) and every validator's MPC duties one after another,
/// so the time is the sum of all members' work: an upper bound of a real network's (where the
/// members work in parallel), which also adds its block interval per block. The thread's CPU
/// time is printed too (robust to other load on the machine).
#[test]
#[ignore]
fn reshare_duration() {
    // 50 members take minutes in a debug build: make bench-smoke (SEQPOOL_BENCH_SMOKE) runs 4.
    let sizes: &[usize] = if std::env::var_os("SEQPOOL_BENCH_SMOKE").is_some() {
        &[4]
    } else {
        &[4, 50]
    };
    for &n in sizes {
        let mut net = network(n, 1, true, 1);
        net.block();
        let old = net.key_with(KeyStatus::Active).expect("genesis key");
        net.join(n, 100 + n as u64);
        net.run_until(10, "reshare session", |net| !net.sessions().is_empty());
        let started = net.sessions()[0].started_height;
        assert_eq!(started, net.d.height);
        let clock = std::time::Instant::now();
        let cpu = cpu_time::ThreadTime::now();
        net.run_until(20, "reshared key", |net| {
            net.keys().iter().any(|k| k.reshared_from == old.key_id)
        });
        let pending_height = net.d.height;
        let pending_ms = clock.elapsed().as_millis();
        let pending_cpu_ms = cpu.elapsed().as_millis();
        net.run_until(20, "reshared key active", |net| {
            net.state()
                .active_key_id()
                .expect("read")
                .is_some_and(|id| id != old.key_id)
        });
        let active_ms = clock.elapsed().as_millis();
        let active_cpu_ms = cpu.elapsed().as_millis();
        let key = net.key_with(KeyStatus::Active).expect("active");
        assert_eq!(key.group_key, old.group_key);
        assert_eq!(key.members.len(), n + 1);
        eprintln!(
            "reshare {n} -> {} (t {} -> {}): key pending {} blocks after the session started \
             ({pending_ms} ms wall, {pending_cpu_ms} ms thread CPU), active after {} blocks \
             ({active_ms} ms wall, {active_cpu_ms} ms thread CPU)",
            n + 1,
            old.threshold,
            key.threshold,
            pending_height - started,
            net.d.height - started,
        );
    }
}

#[test]
fn a_dealer_with_a_bad_sub_share_is_blamed_and_the_reshare_restarts_without_it() {
    let mut net = network(4, 1, true, 5);
    net.block();
    let old = net.key_with(KeyStatus::Active).expect("genesis key");
    net.d.mpc_node(1).expect("node").keygen.fault = Some(KeygenFault::BadDeal);
    let cheater = net.members[1].identifier.clone();
    net.join(4, 5);
    net.run_until(30, "reshared key", |net| {
        net.keys().iter().any(|k| k.reshared_from == old.key_id)
    });
    let sessions = net.sessions();
    assert_eq!(sessions.len(), 2, "{sessions:#?}");
    let failed = &sessions[0];
    assert_eq!(failed.status(), SessionStatus::Failed);
    assert_eq!(
        failed.round, 2,
        "the complaint comes in the confirmation round"
    );
    assert_eq!(failed.blame.len(), 1, "{:?}", failed.blame);
    assert_eq!(failed.blame[0].identifier, cheater);
    assert!(failed.blame[0].reason.contains("bad secret share"));
    let restart = &sessions[1];
    assert_eq!(restart.attempt, 1);
    assert!(restart.members.iter().all(|m| m.identifier != cheater));
    assert!(restart.dealers.iter().all(|d| *d != cheater));
    assert_eq!(restart.members.len(), 4);
    let key = net
        .keys()
        .into_iter()
        .find(|k| k.reshared_from == old.key_id)
        .expect("new key");
    assert_eq!(key.group_key, old.group_key);
    assert_eq!(key.threshold, 3);
    net.run_until(6, "reshared key active", |net| {
        net.state().active_key_id().expect("read") == Some(key.key_id)
    });
    net.block();
    assert_every_member_holds(&mut net, &key, &[0, 2, 3, 4]);
    for i in 0..4 {
        assert_eq!(
            net.held(i, old.key_id),
            None,
            "node {i} deleted the retired share"
        );
    }
}

#[test]
fn a_jailed_member_is_reshared_out_and_deletes_its_retired_share() {
    // Downtime jailing after a short window, so that an offline validator leaves the set.
    let mut net = network_with(4, 0, true, 4, |g| {
        if let Some(p) = g.staking.params.as_mut() {
            p.liveness_window = 6;
            p.min_signed_per_window = 3;
        }
    });
    net.block();
    let old = net.key_with(KeyStatus::Active).expect("genesis key");
    net.d.offline.insert(3);
    let leaver = net.members[3].identifier.clone();
    let key = net.run_until_replaced(30, &old);
    assert_eq!(key.group_key, old.group_key);
    assert_eq!(key.members.len(), 3);
    assert_eq!(key.threshold, 3);
    assert!(key.members.iter().all(|m| m.identifier != leaver));
    let session = net.sessions().pop().expect("session");
    assert_eq!(
        session.dealers.len(),
        3,
        "the jailed member is not asked to deal"
    );
    net.block();
    assert_every_member_holds(&mut net, &key, &[0, 1, 2]);
    // The jailed validator no longer extends votes; its node still deletes the retired share
    // after the commit that retired it.
    for i in 0..4 {
        assert_eq!(
            net.held(i, old.key_id),
            None,
            "node {i} deleted the retired share"
        );
    }
}

/// Sessions that include member `i`.
fn sessions_with(net: &Net, i: usize) -> Vec<KeygenSession> {
    let id = &net.members[i].identifier;
    net.sessions()
        .into_iter()
        .filter(|s| s.members.iter().any(|m| m.identifier == *id))
        .collect()
}

#[test]
fn a_joiner_is_taken_in_only_once_its_node_votes() {
    let mut net = network(4, 1, true, 5);
    net.block();
    // The joiner's power arrives from L1, but its node does not vote (not started yet, or
    // CometBFT not caught up): no session that could only time out.
    net.d.offline.insert(4);
    net.join(4, 5);
    for _ in 0..8 {
        net.block();
    }
    let joiner = seqpool_staking::StakingRead::validator(&net.state(), &net.members[4].validator)
        .expect("read")
        .expect("joiner");
    assert!(
        joiner.power > 0 && !joiner.jailed,
        "the joiner is in the active set"
    );
    assert_eq!(net.sessions(), Vec::new(), "no session before it votes");
    net.d.offline.remove(&4);
    net.run_until(8, "reshared key", |net| {
        net.key_with(KeyStatus::Pending).is_some()
    });
    let sessions = net.sessions();
    assert_eq!(sessions.len(), 1, "{sessions:#?}");
    assert_eq!(sessions[0].status(), SessionStatus::Done);
    assert!(sessions[0].blame.is_empty());
    assert_eq!(sessions[0].members.len(), 5);
}

#[test]
fn a_joiner_that_misses_round_2_is_excluded_and_taken_in_after_its_cool_down() {
    let mut net = network_with(4, 1, true, 5, with_l1);
    net.block();
    let old = net.key_with(KeyStatus::Active).expect("genesis key");
    net.join(4, 5);
    // The joiner votes, so the reshare takes it in; then its node drops out before it sends its
    // confirmation (round 2).
    net.run_until(8, "reshare open", |net| !net.sessions().is_empty());
    net.d.offline.insert(4);
    net.run_until(ROUND_TIMEOUT + 2, "reshare failed", |net| {
        net.sessions()[0].status() == SessionStatus::Failed
    });
    let failed = net.sessions().remove(0);
    assert_eq!(failed.blame.len(), 1, "{:?}", failed.blame);
    assert_eq!(failed.blame[0].identifier, net.members[4].identifier);
    assert_eq!(failed.blame[0].reason, "missed round 2");
    let left_out = net.exclusion(4).expect("exclusion record");
    assert_eq!(left_out.strikes, 1);
    assert_eq!(left_out.readmit_height, net.d.height + READMIT_AFTER);
    // Operators see it in the members query (gRPC, REST and abci_query share it).
    let listed = net.listed_exclusions();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        (
            listed[0].validator.as_str(),
            &listed[0].identifier,
            listed[0].strikes,
            listed[0].readmit_height
        ),
        (
            net.members[4].validator.as_str(),
            &net.members[4].identifier,
            1,
            left_out.readmit_height
        )
    );
    // Without the joiner the roster is the key's: no session; the old key keeps signing.
    assert_eq!(net.sign_something(), old.key_id);
    assert_eq!(net.sessions().len(), 1);
    // The joiner is back before its cool-down ends: still no session until then.
    net.d.offline.remove(&4);
    while net.d.height + 1 < left_out.readmit_height {
        net.block();
        assert_eq!(net.sessions().len(), 1, "no session during the cool-down");
    }
    assert_eq!(net.state().active_key_id().expect("read"), Some(old.key_id));
    // Then a reshare includes it: n + 1 members, the same group key.
    let key = net.run_until_replaced(12, &old);
    assert_eq!(key.members.len(), 5);
    assert_eq!(key.threshold, 4);
    assert_eq!(key.group_key, old.group_key);
    assert_eq!(key.reshared_from, old.key_id);
    let retry = net.sessions().pop().expect("session");
    assert!(retry.started_height >= left_out.readmit_height);
    assert_eq!(retry.attempt, 1);
    assert_eq!(
        net.exclusion(4),
        None,
        "forgiven once it delivered a session"
    );
    assert_eq!(net.listed_exclusions(), Vec::new());
    net.block();
    assert_every_member_holds(&mut net, &key, &[0, 1, 2, 3, 4]);
    assert_eq!(net.sign_something(), key.key_id);
}

#[test]
fn a_member_that_keeps_missing_is_excluded_again_for_longer_and_signing_goes_on() {
    let mut net = network_with(4, 1, true, 5, with_l1);
    net.block();
    let old = net.key_with(KeyStatus::Active).expect("genesis key");
    // The joiner's node votes (it is online) but never sends a keygen payload.
    net.d.mpc_node(4).expect("node").keygen.fault = Some(KeygenFault::Silent);
    net.join(4, 5);
    let mut readmit = 0;
    for strike in 1..=3u32 {
        net.run_until(READMIT_MAX, "a session with the joiner", |net| {
            sessions_with(net, 4).len() == strike as usize
        });
        let session = sessions_with(&net, 4).pop().expect("session");
        assert!(
            session.started_height >= readmit,
            "not before the cool-down"
        );
        net.run_until(ROUND_TIMEOUT + 2, "the session fails", |net| {
            sessions_with(net, 4).pop().expect("session").status() == SessionStatus::Failed
        });
        let left_out = net.exclusion(4).expect("exclusion record");
        assert_eq!(left_out.strikes, strike);
        let wait = READMIT_AFTER << (strike - 1);
        assert_eq!(
            left_out.readmit_height,
            net.d.height + wait,
            "strike {strike}"
        );
        readmit = left_out.readmit_height;
        // The group signs with the active key throughout.
        assert_eq!(net.sign_something(), old.key_id);
    }
    assert_eq!(net.state().active_key_id().expect("read"), Some(old.key_id));
    assert!(net.key_with(KeyStatus::Pending).is_none());
    // Only the joiner was ever blamed; every session failed on it alone.
    for s in net.sessions() {
        assert_eq!(s.status(), SessionStatus::Failed);
        assert!(s
            .blame
            .iter()
            .all(|b| b.identifier == net.members[4].identifier));
    }
}
