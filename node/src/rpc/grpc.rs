//! gRPC on `grpc_listen`: every module's Query service plus node status, with server reflection.
//! The height is taken from the `x-cosmos-block-height` metadata (as Cosmos SDK clients send it).
use std::net::SocketAddr;

use seqpool_component::QueryError;
use seqpool_proto::{admin, auth, bridge, epochs, gov, mpc, node, producer, staking};
use seqpool_store::{Snapshot, Storage};
use tonic::{Request, Response, Status};

use seqpool_app::query;

pub const HEIGHT_HEADER: &str = "x-cosmos-block-height";

#[derive(Clone)]
pub struct GrpcQueries {
    storage: Storage,
}

/// The same code REST puts in its error body (`super::error_status`).
fn status(e: QueryError) -> Status {
    let (_, code) = super::error_status(&e);
    Status::new(code, e.to_string())
}

impl GrpcQueries {
    // tonic's handlers return `Result<_, Status>`; boxing the status here would only move the copy.
    #[allow(clippy::result_large_err)]
    fn run<Req, Resp>(
        &self,
        req: Request<Req>,
        f: fn(&Snapshot, &Req) -> Result<Resp, QueryError>,
    ) -> Result<Response<Resp>, Status> {
        let height = match req.metadata().get(HEIGHT_HEADER) {
            None => 0,
            Some(v) => v
                .to_str()
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| {
                    Status::invalid_argument(format!("{HEIGHT_HEADER} must be a block height"))
                })?,
        };
        let snapshot = query::snapshot_at(&self.storage, height).map_err(status)?;
        let mut resp = Response::new(f(&snapshot, req.get_ref()).map_err(status)?);
        if let Ok(v) = snapshot.version().unwrap_or(0).to_string().parse() {
            resp.metadata_mut().insert(HEIGHT_HEADER, v);
        }
        Ok(resp)
    }
}

macro_rules! grpc_service {
    ($module:ident :: $server:ident :: $trait:ident { $($method:ident($req:ty) -> $resp:ty => $f:path;)* }) => {
        #[tonic::async_trait]
        impl $module::v1::$server::$trait for GrpcQueries {
            $(
                async fn $method(&self, req: Request<$req>) -> Result<Response<$resp>, Status> {
                    self.run(req, |s, r| $f(s, r))
                }
            )*
        }
    };
}

grpc_service!(admin::query_server::Query {
    admin(admin::v1::QueryAdminRequest) -> admin::v1::QueryAdminResponse => seqpool_admin::query::admin;
    params(admin::v1::QueryParamsRequest) -> admin::v1::QueryParamsResponse => query::admin_params;
});
grpc_service!(auth::query_server::Query {
    account(auth::v1::QueryAccountRequest) -> auth::v1::QueryAccountResponse => seqpool_auth::query::account;
    accounts(auth::v1::QueryAccountsRequest) -> auth::v1::QueryAccountsResponse => seqpool_auth::query::accounts;
    params(auth::v1::QueryParamsRequest) -> auth::v1::QueryParamsResponse => seqpool_auth::query::params;
});
grpc_service!(bridge::query_server::Query {
    next_nonce(bridge::v1::QueryNextNonceRequest) -> bridge::v1::QueryNextNonceResponse => seqpool_bridge::query::next_nonce;
    event(bridge::v1::QueryEventRequest) -> bridge::v1::QueryEventResponse => seqpool_bridge::query::event;
    randomness(bridge::v1::QueryRandomnessRequest) -> bridge::v1::QueryRandomnessResponse => seqpool_bridge::query::randomness;
    params(bridge::v1::QueryParamsRequest) -> bridge::v1::QueryParamsResponse => seqpool_bridge::query::params;
});

grpc_service!(staking::query_server::Query {
    validators(staking::v1::QueryValidatorsRequest) -> staking::v1::QueryValidatorsResponse => seqpool_staking::query::validators;
    liveness(staking::v1::QueryLivenessRequest) -> staking::v1::QueryLivenessResponse => seqpool_staking::query::liveness;
    params(staking::v1::QueryParamsRequest) -> staking::v1::QueryParamsResponse => seqpool_staking::query::params;
    slashing_requests(staking::v1::QuerySlashingRequestsRequest) -> staking::v1::QuerySlashingRequestsResponse => seqpool_staking::query::slashing_requests;
});
grpc_service!(epochs::query_server::Query {
    current_epoch(epochs::v1::QueryCurrentEpochRequest) -> epochs::v1::QueryCurrentEpochResponse => seqpool_epochs::query::current_epoch;
    params(epochs::v1::QueryParamsRequest) -> epochs::v1::QueryParamsResponse => seqpool_epochs::query::params;
});
grpc_service!(producer::query_server::Query {
    producer(producer::v1::QueryProducerRequest) -> producer::v1::QueryProducerResponse => seqpool_producer::query::producer;
    schedule(producer::v1::QueryScheduleRequest) -> producer::v1::QueryScheduleResponse => seqpool_producer::query::schedule;
    sequencers(producer::v1::QuerySequencersRequest) -> producer::v1::QuerySequencersResponse => seqpool_producer::query::sequencers;
    settlements(producer::v1::QuerySettlementsRequest) -> producer::v1::QuerySettlementsResponse => seqpool_producer::query::settlements;
    unscheduled_blocks(producer::v1::QueryUnscheduledBlocksRequest) -> producer::v1::QueryUnscheduledBlocksResponse => seqpool_producer::query::unscheduled_blocks;
    params(producer::v1::QueryParamsRequest) -> producer::v1::QueryParamsResponse => seqpool_producer::query::params;
});
grpc_service!(mpc::query_server::Query {
    params(mpc::v1::QueryParamsRequest) -> mpc::v1::QueryParamsResponse => seqpool_mpc::query::params;
    active_key(mpc::v1::QueryActiveKeyRequest) -> mpc::v1::QueryActiveKeyResponse => seqpool_mpc::query::active_key;
    keys(mpc::v1::QueryKeysRequest) -> mpc::v1::QueryKeysResponse => seqpool_mpc::query::keys;
    members(mpc::v1::QueryMembersRequest) -> mpc::v1::QueryMembersResponse => seqpool_mpc::query::members;
    keygen_sessions(mpc::v1::QueryKeygenSessionsRequest) -> mpc::v1::QueryKeygenSessionsResponse => seqpool_mpc::query::keygen_sessions;
    request(mpc::v1::QueryRequestRequest) -> mpc::v1::QueryRequestResponse => seqpool_mpc::query::request;
    requests(mpc::v1::QueryRequestsRequest) -> mpc::v1::QueryRequestsResponse => seqpool_mpc::query::requests;
    batches(mpc::v1::QueryBatchesRequest) -> mpc::v1::QueryBatchesResponse => seqpool_mpc::query::batches;
});
grpc_service!(gov::query_server::Query {
    proposal(gov::v1::QueryProposalRequest) -> gov::v1::QueryProposalResponse => seqpool_gov::query::proposal;
    proposals(gov::v1::QueryProposalsRequest) -> gov::v1::QueryProposalsResponse => seqpool_gov::query::proposals;
    votes(gov::v1::QueryVotesRequest) -> gov::v1::QueryVotesResponse => seqpool_gov::query::votes;
    tally(gov::v1::QueryTallyRequest) -> gov::v1::QueryTallyResponse => seqpool_gov::query::tally;
    params(gov::v1::QueryParamsRequest) -> gov::v1::QueryParamsResponse => seqpool_gov::query::params;
    authority(gov::v1::QueryAuthorityRequest) -> gov::v1::QueryAuthorityResponse => seqpool_gov::query::authority;
});
grpc_service!(node::node_server::Node {
    status(node::v1::StatusRequest) -> node::v1::StatusResponse => query::node_status;
});

#[tonic::async_trait]
impl producer::v1::watch_server::Watch for GrpcQueries {
    type WatchScheduleStream = std::pin::Pin<
        Box<dyn futures::Stream<Item = Result<producer::v1::ScheduleUpdate, Status>> + Send>,
    >;

    async fn watch_schedule(
        &self,
        req: Request<producer::v1::WatchScheduleRequest>,
    ) -> Result<Response<Self::WatchScheduleStream>, Status> {
        let storage = self.storage.clone();
        let from_epoch = req.into_inner().from_epoch;
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        tokio::spawn(async move {
            let mut seen = std::collections::BTreeMap::new();
            loop {
                let snapshot = storage.latest_snapshot();
                let updates =
                    seqpool_producer::query::schedule_updates(&snapshot, from_epoch, &mut seen);
                match updates {
                    Ok(updates) => {
                        for u in updates {
                            if tx.send(Ok(u)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(Status::internal(e.to_string()))).await;
                        return;
                    }
                }
                // The client went away.
                if tx.is_closed() {
                    return;
                }
                tokio::time::sleep(super::WATCH_POLL).await;
            }
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok(Response::new(Box::pin(stream)))
    }
}

/// Serves gRPC until `shutdown` resolves.
pub async fn serve(
    storage: Storage,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let q = GrpcQueries { storage };
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(seqpool_proto::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    tracing::info!(%addr, "gRPC listening");
    tonic::transport::Server::builder()
        .add_service(reflection)
        .add_service(admin::v1::query_server::QueryServer::new(q.clone()))
        .add_service(auth::v1::query_server::QueryServer::new(q.clone()))
        .add_service(staking::v1::query_server::QueryServer::new(q.clone()))
        .add_service(epochs::v1::query_server::QueryServer::new(q.clone()))
        .add_service(producer::v1::query_server::QueryServer::new(q.clone()))
        .add_service(bridge::v1::query_server::QueryServer::new(q.clone()))
        .add_service(mpc::v1::query_server::QueryServer::new(q.clone()))
        .add_service(gov::v1::query_server::QueryServer::new(q.clone()))
        .add_service(producer::v1::watch_server::WatchServer::new(q.clone()))
        .add_service(node::v1::node_server::NodeServer::new(q))
        .serve_with_shutdown(addr, shutdown)
        .await?;
    Ok(())
}
