//! REST on `rest_listen`: JSON (proto3 JSON mapping) mirroring the gRPC queries under
//! `/seqpool/<module>/v1/...`; `?height=N` reads at a past height.
use std::net::SocketAddr;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use seqpool_component::QueryError;
use seqpool_proto::{admin, auth, bridge, epochs, gov, mpc, node, producer, staking};
use seqpool_store::{Snapshot, Storage};
use serde::{Deserialize, Serialize};

use seqpool_app::query;

#[derive(Deserialize, Default)]
pub struct AtHeight {
    height: Option<u64>,
}

/// Every error, ours or axum's (a bad `?height`, an unknown route), in the Cosmos SDK gateway's
/// shape: the gRPC status code, a message, and `details` (always empty here).
#[derive(Serialize)]
struct ErrorBody {
    code: i32,
    message: String,
    details: Vec<serde_json::Value>,
}

fn error_json(status: StatusCode, grpc: tonic::Code, message: String) -> Response {
    (
        status,
        Json(ErrorBody {
            code: grpc as i32,
            message,
            details: vec![],
        }),
    )
        .into_response()
}

fn error_response(e: QueryError) -> Response {
    let (status, grpc) = super::error_status(&e);
    error_json(status, grpc, e.to_string())
}

/// The gRPC code grpc-gateway gives an HTTP status, for errors that axum produced.
fn grpc_code_of(status: StatusCode) -> tonic::Code {
    match status.as_u16() {
        400 | 415 | 422 => tonic::Code::InvalidArgument,
        401 => tonic::Code::Unauthenticated,
        403 => tonic::Code::PermissionDenied,
        404 => tonic::Code::NotFound,
        405 | 501 => tonic::Code::Unimplemented,
        408 | 504 => tonic::Code::DeadlineExceeded,
        409 => tonic::Code::Aborted,
        413 | 429 => tonic::Code::ResourceExhausted,
        500 => tonic::Code::Internal,
        503 => tonic::Code::Unavailable,
        _ => tonic::Code::Unknown,
    }
}

/// Turns axum's plain-text and empty error answers into JSON error bodies.
async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 64 << 10)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = match status {
        StatusCode::NOT_FOUND if text.is_empty() => {
            format!("no route {path}; the REST paths are listed in docs/operations.md")
        }
        StatusCode::METHOD_NOT_ALLOWED => format!("{method} is not allowed on {path}"),
        _ if text.is_empty() => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_string(),
        _ => text,
    };
    error_json(status, grpc_code_of(status), message)
}

fn run<Req, Resp: Serialize>(
    storage: &Storage,
    at: &AtHeight,
    req: Req,
    f: fn(&Snapshot, &Req) -> Result<Resp, QueryError>,
) -> Response {
    match query::snapshot_at(storage, at.height.unwrap_or(0)).and_then(|s| f(&s, &req)) {
        Ok(resp) => Json(resp).into_response(),
        Err(e) => error_response(e),
    }
}

macro_rules! handler {
    ($name:ident, $req:expr, $f:path) => {
        async fn $name(State(storage): State<Storage>, Query(at): Query<AtHeight>) -> Response {
            run(&storage, &at, $req, |s, r| $f(s, r))
        }
    };
}

handler!(
    admin_admin,
    admin::v1::QueryAdminRequest {},
    seqpool_admin::query::admin
);
handler!(
    admin_params,
    admin::v1::QueryParamsRequest::default(),
    query::admin_params
);
handler!(
    auth_accounts,
    auth::v1::QueryAccountsRequest {},
    seqpool_auth::query::accounts
);
handler!(
    auth_params,
    auth::v1::QueryParamsRequest {},
    seqpool_auth::query::params
);
handler!(
    staking_validators,
    staking::v1::QueryValidatorsRequest {},
    seqpool_staking::query::validators
);
handler!(
    staking_liveness,
    staking::v1::QueryLivenessRequest {},
    seqpool_staking::query::liveness
);
handler!(
    staking_params,
    staking::v1::QueryParamsRequest {},
    seqpool_staking::query::params
);
handler!(
    staking_slashing_requests,
    staking::v1::QuerySlashingRequestsRequest {},
    seqpool_staking::query::slashing_requests
);
handler!(node_status, node::v1::StatusRequest {}, query::node_status);
handler!(
    bridge_next_nonce,
    bridge::v1::QueryNextNonceRequest {},
    seqpool_bridge::query::next_nonce
);
handler!(
    bridge_randomness,
    bridge::v1::QueryRandomnessRequest {},
    seqpool_bridge::query::randomness
);
handler!(
    bridge_params,
    bridge::v1::QueryParamsRequest {},
    seqpool_bridge::query::params
);

async fn bridge_event(
    State(storage): State<Storage>,
    Path(nonce): Path<u64>,
    Query(at): Query<AtHeight>,
) -> Response {
    run(
        &storage,
        &at,
        bridge::v1::QueryEventRequest { nonce },
        seqpool_bridge::query::event,
    )
}
handler!(
    epochs_current,
    epochs::v1::QueryCurrentEpochRequest {},
    seqpool_epochs::query::current_epoch
);
handler!(
    epochs_params,
    epochs::v1::QueryParamsRequest {},
    seqpool_epochs::query::params
);
handler!(
    producer_sequencers,
    producer::v1::QuerySequencersRequest {},
    seqpool_producer::query::sequencers
);
handler!(
    producer_settlements,
    producer::v1::QuerySettlementsRequest {},
    seqpool_producer::query::settlements
);
handler!(
    producer_unscheduled,
    producer::v1::QueryUnscheduledBlocksRequest {},
    seqpool_producer::query::unscheduled_blocks
);
handler!(
    producer_params,
    producer::v1::QueryParamsRequest {},
    seqpool_producer::query::params
);

async fn producer_at(
    State(storage): State<Storage>,
    Path(l2_height): Path<u64>,
    Query(at): Query<AtHeight>,
) -> Response {
    run(
        &storage,
        &at,
        producer::v1::QueryProducerRequest { l2_height },
        seqpool_producer::query::producer,
    )
}

#[derive(Deserialize, Default)]
pub struct WatchParams {
    /// First epoch of interest (the current epoch when lower).
    #[serde(default)]
    from_epoch: u64,
    /// What the caller has: `epoch:assignments` pairs, comma-separated (e.g. `4:1,5:1`).
    #[serde(default)]
    known: String,
    /// How long to wait for a change, at most 30000 ms (default 10000).
    wait_ms: Option<u64>,
}

fn parse_known(known: &str) -> Result<std::collections::BTreeMap<u64, usize>, QueryError> {
    known
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            pair.split_once(':')
                .and_then(|(e, n)| Some((e.parse().ok()?, n.parse().ok()?)))
                .ok_or_else(|| {
                    QueryError::InvalidArgument(format!("known: {pair:?} is not epoch:assignments"))
                })
        })
        .collect()
}

/// Long-poll twin of gRPC `Watch/WatchSchedule`: answers as soon as a schedule from `from_epoch`
/// on is new or re-elected compared with `known`, or with an empty list after `wait_ms`. The
/// caller adds what it got to `known` and asks again.
async fn producer_watch_schedule(
    State(storage): State<Storage>,
    Query(w): Query<WatchParams>,
) -> Response {
    let known = match parse_known(&w.known) {
        Ok(k) => k,
        Err(e) => return error_response(e),
    };
    let wait = std::time::Duration::from_millis(w.wait_ms.unwrap_or(10_000).min(30_000));
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let mut seen = known.clone();
        let snapshot = storage.latest_snapshot();
        match seqpool_producer::query::schedule_updates(&snapshot, w.from_epoch, &mut seen) {
            Ok(updates) if !updates.is_empty() || tokio::time::Instant::now() >= deadline => {
                return Json(producer::v1::ScheduleUpdates { updates }).into_response();
            }
            Ok(_) => tokio::time::sleep(super::WATCH_POLL).await,
            Err(e) => return error_response(e.into()),
        }
    }
}

async fn producer_schedule(
    State(storage): State<Storage>,
    Path(epoch): Path<u64>,
    Query(at): Query<AtHeight>,
) -> Response {
    run(
        &storage,
        &at,
        producer::v1::QueryScheduleRequest { epoch },
        seqpool_producer::query::schedule,
    )
}

handler!(
    mpc_params,
    mpc::v1::QueryParamsRequest {},
    seqpool_mpc::query::params
);
handler!(
    mpc_active_key,
    mpc::v1::QueryActiveKeyRequest {},
    seqpool_mpc::query::active_key
);
handler!(
    mpc_keys,
    mpc::v1::QueryKeysRequest {},
    seqpool_mpc::query::keys
);
handler!(
    mpc_members,
    mpc::v1::QueryMembersRequest {},
    seqpool_mpc::query::members
);

#[derive(Deserialize, Default)]
pub struct MpcListQuery {
    height: Option<u64>,
    /// Requests: a status name (e.g. `signed`); sessions: `open` = only open ones.
    status: Option<String>,
    from: Option<u64>,
    limit: Option<u32>,
}

async fn mpc_sessions(State(storage): State<Storage>, Query(q): Query<MpcListQuery>) -> Response {
    let at = AtHeight { height: q.height };
    let req = mpc::v1::QueryKeygenSessionsRequest {
        open_only: q.status.as_deref() == Some("open"),
    };
    run(&storage, &at, req, seqpool_mpc::query::keygen_sessions)
}

async fn mpc_request(
    State(storage): State<Storage>,
    Path(request_id): Path<u64>,
    Query(at): Query<AtHeight>,
) -> Response {
    run(
        &storage,
        &at,
        mpc::v1::QueryRequestRequest { request_id },
        seqpool_mpc::query::request,
    )
}

async fn mpc_requests(State(storage): State<Storage>, Query(q): Query<MpcListQuery>) -> Response {
    let at = AtHeight { height: q.height };
    let status = match q.status.as_deref() {
        None | Some("") => mpc::v1::RequestStatus::Unspecified,
        Some(s) => match mpc::v1::RequestStatus::from_str_name(&format!(
            "REQUEST_STATUS_{}",
            s.to_ascii_uppercase()
        )) {
            Some(s) => s,
            None => {
                return error_response(QueryError::InvalidArgument(format!(
                    "unknown request status {s:?} (pending, signing, signed, landed, failed)"
                )))
            }
        },
    };
    let req = mpc::v1::QueryRequestsRequest {
        status: status as i32,
        from_id: q.from.unwrap_or(0),
        limit: q.limit.unwrap_or(0),
    };
    run(&storage, &at, req, seqpool_mpc::query::requests)
}

async fn mpc_batches(State(storage): State<Storage>, Query(q): Query<MpcListQuery>) -> Response {
    let at = AtHeight { height: q.height };
    let req = mpc::v1::QueryBatchesRequest {
        from_index: q.from.unwrap_or(0),
        limit: q.limit.unwrap_or(0),
    };
    run(&storage, &at, req, seqpool_mpc::query::batches)
}

handler!(
    gov_params,
    gov::v1::QueryParamsRequest {},
    seqpool_gov::query::params
);
handler!(
    gov_authority,
    gov::v1::QueryAuthorityRequest {},
    seqpool_gov::query::authority
);

#[derive(Deserialize, Default)]
pub struct GovProposalsQuery {
    height: Option<u64>,
    /// A status name: `voting_period`, `passed`, `rejected`, `failed`, `canceled`.
    status: Option<String>,
    proposer: Option<String>,
    /// Proposals with an id above this one.
    after: Option<u64>,
    limit: Option<u32>,
}

async fn gov_proposals(
    State(storage): State<Storage>,
    Query(q): Query<GovProposalsQuery>,
) -> Response {
    let at = AtHeight { height: q.height };
    let status = match q.status.as_deref() {
        None | Some("") => gov::v1::ProposalStatus::Unspecified,
        Some(s) => match gov::v1::ProposalStatus::from_str_name(&format!(
            "PROPOSAL_STATUS_{}",
            s.trim_start_matches("PROPOSAL_STATUS_")
                .to_ascii_uppercase()
        )) {
            Some(s) => s,
            None => {
                return error_response(QueryError::InvalidArgument(format!(
                "unknown proposal status {s:?} (voting_period, passed, rejected, failed, canceled)"
            )))
            }
        },
    };
    let req = gov::v1::QueryProposalsRequest {
        status: status as i32,
        proposer: q.proposer.unwrap_or_default(),
        after_id: q.after.unwrap_or(0),
        limit: q.limit.unwrap_or(0),
    };
    run(&storage, &at, req, seqpool_gov::query::proposals)
}

/// A gov query for one proposal: `/seqpool/gov/v1/proposals/{id}[/...]`.
macro_rules! by_proposal_id {
    ($name:ident, $req:ident, $f:path) => {
        async fn $name(
            State(storage): State<Storage>,
            Path(proposal_id): Path<u64>,
            Query(at): Query<AtHeight>,
        ) -> Response {
            run(&storage, &at, gov::v1::$req { proposal_id }, |s, r| {
                $f(s, r)
            })
        }
    };
}
by_proposal_id!(
    gov_proposal,
    QueryProposalRequest,
    seqpool_gov::query::proposal
);
by_proposal_id!(gov_votes, QueryVotesRequest, seqpool_gov::query::votes);
by_proposal_id!(gov_tally, QueryTallyRequest, seqpool_gov::query::tally);

async fn auth_account(
    State(storage): State<Storage>,
    Path(address): Path<String>,
    Query(at): Query<AtHeight>,
) -> Response {
    run(
        &storage,
        &at,
        auth::v1::QueryAccountRequest { address },
        seqpool_auth::query::account,
    )
}

pub fn router(storage: Storage) -> Router {
    Router::new()
        .route("/seqpool/admin/v1/admin", get(admin_admin))
        .route("/seqpool/admin/v1/params", get(admin_params))
        .route("/seqpool/auth/v1/accounts", get(auth_accounts))
        .route("/seqpool/auth/v1/accounts/:address", get(auth_account))
        .route("/seqpool/auth/v1/params", get(auth_params))
        .route("/seqpool/staking/v1/validators", get(staking_validators))
        .route("/seqpool/staking/v1/liveness", get(staking_liveness))
        .route("/seqpool/staking/v1/params", get(staking_params))
        .route(
            "/seqpool/staking/v1/slashing_requests",
            get(staking_slashing_requests),
        )
        .route("/seqpool/node/v1/status", get(node_status))
        .route("/seqpool/bridge/v1/next_nonce", get(bridge_next_nonce))
        .route("/seqpool/bridge/v1/events/:nonce", get(bridge_event))
        .route("/seqpool/bridge/v1/randomness", get(bridge_randomness))
        .route("/seqpool/bridge/v1/params", get(bridge_params))
        .route("/seqpool/epochs/v1/current", get(epochs_current))
        .route("/seqpool/epochs/v1/params", get(epochs_params))
        .route("/seqpool/producer/v1/producer/:l2_height", get(producer_at))
        .route(
            "/seqpool/producer/v1/schedule/:epoch",
            get(producer_schedule),
        )
        .route("/seqpool/producer/v1/sequencers", get(producer_sequencers))
        .route(
            "/seqpool/producer/v1/settlements",
            get(producer_settlements),
        )
        .route(
            "/seqpool/producer/v1/unscheduled",
            get(producer_unscheduled),
        )
        .route("/seqpool/producer/v1/params", get(producer_params))
        .route(
            "/seqpool/producer/v1/watch_schedule",
            get(producer_watch_schedule),
        )
        .route("/seqpool/mpc/v1/params", get(mpc_params))
        .route("/seqpool/mpc/v1/active_key", get(mpc_active_key))
        .route("/seqpool/mpc/v1/keys", get(mpc_keys))
        .route("/seqpool/mpc/v1/members", get(mpc_members))
        .route("/seqpool/mpc/v1/sessions", get(mpc_sessions))
        .route("/seqpool/mpc/v1/requests", get(mpc_requests))
        .route("/seqpool/mpc/v1/requests/:request_id", get(mpc_request))
        .route("/seqpool/mpc/v1/batches", get(mpc_batches))
        .route("/seqpool/gov/v1/params", get(gov_params))
        .route("/seqpool/gov/v1/authority", get(gov_authority))
        .route("/seqpool/gov/v1/proposals", get(gov_proposals))
        .route("/seqpool/gov/v1/proposals/:proposal_id", get(gov_proposal))
        .route(
            "/seqpool/gov/v1/proposals/:proposal_id/votes",
            get(gov_votes),
        )
        .route(
            "/seqpool/gov/v1/proposals/:proposal_id/tally",
            get(gov_tally),
        )
        .layer(axum::middleware::from_fn(json_errors))
        .with_state(storage)
}

/// Serves REST until `shutdown` resolves.
pub async fn serve(
    storage: Storage,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "REST listening");
    axum::serve(listener, router(storage))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
