//! Queries, shared by abci_query, gRPC and REST: every query is a typed function over a snapshot
//! of the state at a height, registered here once under its gRPC method path.
use prost::Message;
use seqpool_auth::AuthRead;
use seqpool_component::{codes, QueryError, StateRead};
use seqpool_proto::{admin, node};
use seqpool_staking::StakingRead;
use seqpool_store::{Snapshot, Storage, StoreError};
use tendermint::abci::{request, response};

use crate::app::{ChainInfo, APP_VERSION};

/// The `ProofOp` type of a state proof (a JMT sparse Merkle proof, borsh-encoded).
pub const STATE_PROOF_TYPE: &str = "jmt:v";

/// A snapshot at `height`, 0 meaning the latest committed one.
pub fn snapshot_at(storage: &Storage, height: u64) -> Result<Snapshot, QueryError> {
    if height == 0 {
        return Ok(storage.latest_snapshot());
    }
    storage.snapshot_at(height).map_err(QueryError::Store)
}

pub fn admin_params(
    state: &Snapshot,
    req: &admin::v1::QueryParamsRequest,
) -> Result<admin::v1::QueryParamsResponse, QueryError> {
    let wants = |m: &str| req.module.is_empty() || req.module == m;
    if !wants(seqpool_auth::params::MODULE) && !wants(seqpool_staking::params::MODULE) {
        return Err(QueryError::NotFound(format!(
            "no module named {:?} has params",
            req.module
        )));
    }
    Ok(admin::v1::QueryParamsResponse {
        auth: wants(seqpool_auth::params::MODULE)
            .then(|| state.auth_params())
            .transpose()?,
        staking: wants(seqpool_staking::params::MODULE)
            .then(|| state.staking_params())
            .transpose()?,
    })
}

pub fn node_status(
    state: &Snapshot,
    _req: &node::v1::StatusRequest,
) -> Result<node::v1::StatusResponse, QueryError> {
    let chain = read_chain(state)?;
    let time = state
        .get_raw(b"app/block_time_unix_nanos")?
        .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
        .map(i128::from_be_bytes)
        .and_then(|n| {
            tendermint::Time::from_unix_timestamp(
                (n / 1_000_000_000) as i64,
                (n % 1_000_000_000) as u32,
            )
            .ok()
        })
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    Ok(node::v1::StatusResponse {
        chain_id: chain.map(|c| c.chain_id).unwrap_or_default(),
        app_version: format!("{} (app {APP_VERSION})", env!("CARGO_PKG_VERSION")),
        height: state.version().unwrap_or(0),
        app_hash: hex::encode_upper(state.root_hash()),
        block_time: time,
    })
}

fn read_chain(state: &Snapshot) -> Result<Option<ChainInfo>, StoreError> {
    let id = state.get_raw(b"app/chain_id")?;
    Ok(id.map(|id| ChainInfo {
        chain_id: String::from_utf8_lossy(&id).into_owned(),
        ..Default::default()
    }))
}

type Handler = fn(&Snapshot, &[u8]) -> Result<Vec<u8>, QueryError>;

fn typed<Req: Message + Default, Resp: Message>(
    state: &Snapshot,
    data: &[u8],
    f: fn(&Snapshot, &Req) -> Result<Resp, QueryError>,
) -> Result<Vec<u8>, QueryError> {
    let req = Req::decode(data)
        .map_err(|e| QueryError::InvalidArgument(format!("request does not decode: {e}")))?;
    Ok(f(state, &req)?.encode_to_vec())
}

macro_rules! routes {
    ($($path:literal => $f:path),* $(,)?) => {
        /// Every query path (gRPC method paths), for abci_query.
        pub const ROUTES: &[(&str, Handler)] = &[
            $(($path, |s, d| typed(s, d, |s, r| $f(s, r)))),*
        ];
    };
}

routes! {
    "/seqpool.admin.v1.Query/Admin" => seqpool_admin::query::admin,
    "/seqpool.admin.v1.Query/Params" => admin_params,
    "/seqpool.auth.v1.Query/Account" => seqpool_auth::query::account,
    "/seqpool.auth.v1.Query/Accounts" => seqpool_auth::query::accounts,
    "/seqpool.auth.v1.Query/Params" => seqpool_auth::query::params,
    "/seqpool.staking.v1.Query/Validators" => seqpool_staking::query::validators,
    "/seqpool.staking.v1.Query/Liveness" => seqpool_staking::query::liveness,
    "/seqpool.staking.v1.Query/Params" => seqpool_staking::query::params,
    "/seqpool.staking.v1.Query/SlashingRequests" => seqpool_staking::query::slashing_requests,
    "/seqpool.node.v1.Node/Status" => node_status,
    "/seqpool.bridge.v1.Query/NextNonce" => seqpool_bridge::query::next_nonce,
    "/seqpool.bridge.v1.Query/Event" => seqpool_bridge::query::event,
    "/seqpool.bridge.v1.Query/Randomness" => seqpool_bridge::query::randomness,
    "/seqpool.bridge.v1.Query/Params" => seqpool_bridge::query::params,
    "/seqpool.epochs.v1.Query/CurrentEpoch" => seqpool_epochs::query::current_epoch,
    "/seqpool.epochs.v1.Query/Params" => seqpool_epochs::query::params,
    "/seqpool.producer.v1.Query/Producer" => seqpool_producer::query::producer,
    "/seqpool.producer.v1.Query/Schedule" => seqpool_producer::query::schedule,
    "/seqpool.producer.v1.Query/Sequencers" => seqpool_producer::query::sequencers,
    "/seqpool.producer.v1.Query/Settlements" => seqpool_producer::query::settlements,
    "/seqpool.producer.v1.Query/UnscheduledBlocks" => seqpool_producer::query::unscheduled_blocks,
    "/seqpool.producer.v1.Query/Params" => seqpool_producer::query::params,
    "/seqpool.gov.v1.Query/Proposal" => seqpool_gov::query::proposal,
    "/seqpool.gov.v1.Query/Proposals" => seqpool_gov::query::proposals,
    "/seqpool.gov.v1.Query/Votes" => seqpool_gov::query::votes,
    "/seqpool.gov.v1.Query/Tally" => seqpool_gov::query::tally,
    "/seqpool.gov.v1.Query/Params" => seqpool_gov::query::params,
    "/seqpool.gov.v1.Query/Authority" => seqpool_gov::query::authority,
    "/seqpool.mpc.v1.Query/Params" => seqpool_mpc::query::params,
    "/seqpool.mpc.v1.Query/ActiveKey" => seqpool_mpc::query::active_key,
    "/seqpool.mpc.v1.Query/Keys" => seqpool_mpc::query::keys,
    "/seqpool.mpc.v1.Query/Members" => seqpool_mpc::query::members,
    "/seqpool.mpc.v1.Query/KeygenSessions" => seqpool_mpc::query::keygen_sessions,
    "/seqpool.mpc.v1.Query/Request" => seqpool_mpc::query::request,
    "/seqpool.mpc.v1.Query/Requests" => seqpool_mpc::query::requests,
    "/seqpool.mpc.v1.Query/Batches" => seqpool_mpc::query::batches,
}

pub fn error_code(e: &QueryError) -> u32 {
    match e {
        QueryError::InvalidArgument(_) => codes::INVALID_QUERY,
        QueryError::NotFound(_) => codes::NOT_FOUND,
        QueryError::Store(StoreError::VersionUnavailable { .. }) => codes::HEIGHT_UNAVAILABLE,
        QueryError::Store(_) => codes::INTERNAL,
    }
}

/// The state namespaces a raw read may name: `/store/<module>/key` reads a key that starts with
/// `<module>/`, as the Cosmos SDK's multistore paths do (our one tree holds every module's keys).
pub const STORE_MODULES: &[&str] = &[
    "app", "admin", "auth", "staking", "epochs", "producer", "bridge", "mpc",
];

/// The state key a raw read names, or why the path does not name one. `/store/key` reads any key.
fn store_key<'a>(path: &str, data: &'a [u8]) -> Option<Result<&'a [u8], QueryError>> {
    let rest = path.strip_prefix("/store/")?;
    if rest == "key" {
        return Some(Ok(data));
    }
    let module = rest.strip_suffix("/key")?;
    Some(if !STORE_MODULES.contains(&module) {
        Err(QueryError::NotFound(format!(
            "unknown store {module:?} (known: {})",
            STORE_MODULES.join(", ")
        )))
    } else if !data.starts_with(format!("{module}/").as_bytes()) {
        Err(QueryError::InvalidArgument(format!(
            "key {:?} is not in store {module:?} (its keys start with \"{module}/\")",
            String::from_utf8_lossy(data)
        )))
    } else {
        Ok(data)
    })
}

/// abci_query: the gRPC method paths with proto-encoded requests, and `/store/<module>/key` (or
/// `/store/key`) for a raw state key, with a Merkle proof of the value (or of its absence) under
/// the app hash of the height when `prove` is set. A typed query has no proof: asked for one, it
/// answers an error code rather than a value a light client would take for proven.
pub fn abci_query(storage: &Storage, req: &request::Query) -> response::Query {
    let height = req.height.value();
    let result = snapshot_at(storage, height).and_then(|snapshot| {
        let h = snapshot.version().unwrap_or(0);
        if let Some(key) = store_key(&req.path, &req.data) {
            let key = key?;
            let (value, proof) = if req.prove {
                storage.get_with_proof(key, h).map_err(QueryError::Store)?
            } else {
                (snapshot.get_raw(key)?, Vec::new())
            };
            return Ok((h, value.unwrap_or_default(), proof));
        }
        let handler = ROUTES
            .iter()
            .find(|(p, _)| *p == req.path)
            .map(|(_, h)| *h)
            .ok_or_else(|| QueryError::NotFound(format!("unknown query path {:?}", req.path)))?;
        if req.prove {
            return Err(QueryError::InvalidArgument(format!(
                "{} has no proof; read a raw state key with prove=true at /store/<module>/key",
                req.path
            )));
        }
        Ok((h, handler(&snapshot, &req.data)?, Vec::new()))
    });
    match result {
        Ok((h, value, proof)) => response::Query {
            code: 0.into(),
            key: req.data.clone(),
            value: value.into(),
            proof: (!proof.is_empty()).then(|| tendermint::merkle::proof::ProofOps {
                ops: vec![tendermint::merkle::proof::ProofOp {
                    field_type: STATE_PROOF_TYPE.into(),
                    key: req.data.to_vec(),
                    data: proof,
                }],
            }),
            height: block_height(h),
            codespace: String::new(),
            ..Default::default()
        },
        Err(e) => {
            let code = if matches!(&e, QueryError::NotFound(m) if m.starts_with("unknown query path"))
            {
                codes::UNKNOWN_QUERY
            } else {
                error_code(&e)
            };
            response::Query {
                code: code.into(),
                log: e.to_string(),
                height: block_height(height),
                codespace: codes::CODESPACE.into(),
                ..Default::default()
            }
        }
    }
}

fn block_height(h: u64) -> tendermint::block::Height {
    tendermint::block::Height::try_from(h).unwrap_or_default()
}

pub use error_code as query_error_code;

/// ABCI Info: the height and app hash of the latest committed state, from which CometBFT decides
/// what to replay after a restart.
pub fn info(storage: &Storage) -> response::Info {
    let snapshot = storage.latest_snapshot();
    let height = snapshot.version().unwrap_or(0);
    response::Info {
        data: "seqpool".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        app_version: APP_VERSION,
        last_block_height: tendermint::block::Height::try_from(height).unwrap_or_default(),
        // Before the first commit CometBFT expects an empty hash (it then calls InitChain).
        last_block_app_hash: if snapshot.version().is_some() {
            tendermint::AppHash::try_from(snapshot.root_hash().to_vec()).unwrap_or_default()
        } else {
            tendermint::AppHash::default()
        },
    }
}
