//! tower-abci services. Consensus calls go to one actor thread that owns the [`App`], so they are
//! serial; mempool, info and snapshot calls are answered concurrently from shared state.
//!
//! An `Err` from any service makes tower-abci drop the connection and CometBFT halt, so bad input
//! is always answered with a code; only a local fault (storage) returns an error.
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use seqpool_store::Storage;
use tendermint::abci::{request, response};
use tendermint::v0_38::abci::{
    ConsensusRequest, ConsensusResponse, InfoRequest, InfoResponse, MempoolRequest,
    MempoolResponse, SnapshotRequest, SnapshotResponse,
};
use tokio::sync::{mpsc, oneshot};
use tower::Service;

use seqpool_app::app::{App, AppError};
use seqpool_app::mempool::MempoolState;

/// What a tower service of ours fails with (it never does for a request: see docs/abci.md).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

/// Handle to the consensus actor.
#[derive(Clone)]
pub struct Consensus {
    queue: mpsc::Sender<(
        ConsensusRequest,
        oneshot::Sender<Result<ConsensusResponse, AppError>>,
    )>,
}

impl Consensus {
    /// Starts the actor on its own OS thread (its work is CPU-bound and must not block the runtime).
    pub fn spawn(mut app: App) -> Self {
        let (queue, mut rx) = mpsc::channel::<(
            ConsensusRequest,
            oneshot::Sender<Result<ConsensusResponse, AppError>>,
        )>(16);
        std::thread::Builder::new()
            .name("consensus".into())
            .spawn(move || {
                while let Some((req, reply)) = rx.blocking_recv() {
                    let _ = reply.send(handle_consensus(&mut app, req));
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!("cannot start the consensus thread: {e}"));
        Self { queue }
    }

    /// Sends one request to the actor and waits for its answer (used by the in-process driver too).
    pub async fn call(&self, req: ConsensusRequest) -> Result<ConsensusResponse, AppError> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .send((req, tx))
            .await
            .map_err(|_| AppError::Sequence("the consensus thread has stopped".into()))?;
        rx.await
            .map_err(|_| AppError::Sequence("the consensus thread dropped a request".into()))?
    }
}

pub fn handle_consensus(
    app: &mut App,
    req: ConsensusRequest,
) -> Result<ConsensusResponse, AppError> {
    Ok(match req {
        ConsensusRequest::InitChain(r) => ConsensusResponse::InitChain(app.init_chain(r)?),
        ConsensusRequest::PrepareProposal(r) => {
            ConsensusResponse::PrepareProposal(app.prepare_proposal(r)?)
        }
        ConsensusRequest::ProcessProposal(r) => {
            ConsensusResponse::ProcessProposal(app.process_proposal(r)?)
        }
        ConsensusRequest::ExtendVote(r) => {
            #[cfg(feature = "fault-injection")]
            if let Some(fault) =
                crate::fault::late_extension().filter(|f| f.applies_at(r.height.value()))
            {
                std::thread::sleep(fault.delay);
                return Ok(ConsensusResponse::ExtendVote(response::ExtendVote {
                    vote_extension: fault.bytes(),
                }));
            }
            ConsensusResponse::ExtendVote(app.extend_vote(r)?)
        }
        ConsensusRequest::VerifyVoteExtension(r) => {
            ConsensusResponse::VerifyVoteExtension(app.verify_vote_extension(r))
        }
        ConsensusRequest::FinalizeBlock(r) => {
            ConsensusResponse::FinalizeBlock(app.finalize_block(r)?)
        }
        ConsensusRequest::Commit => ConsensusResponse::Commit(app.commit()?),
    })
}

impl Service<ConsensusRequest> for Consensus {
    type Response = ConsensusResponse;
    type Error = BoxError;
    type Future = BoxFuture<ConsensusResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: ConsensusRequest) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            this.call(req).await.map_err(|e| {
                tracing::error!("consensus failure, stopping: {e}");
                Box::new(e) as BoxError
            })
        })
    }
}

/// CheckTx (new and recheck).
#[derive(Clone)]
pub struct Mempool {
    state: Arc<Mutex<MempoolState>>,
}

impl Mempool {
    pub fn new(state: Arc<Mutex<MempoolState>>) -> Self {
        Self { state }
    }

    pub fn check_tx(&self, req: &request::CheckTx) -> response::CheckTx {
        seqpool_app::mempool::check_tx(&self.state, req)
    }
}

impl Service<MempoolRequest> for Mempool {
    type Response = MempoolResponse;
    type Error = BoxError;
    type Future = BoxFuture<MempoolResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: MempoolRequest) -> Self::Future {
        let MempoolRequest::CheckTx(r) = req;
        let resp = self.check_tx(&r);
        Box::pin(async move { Ok(MempoolResponse::CheckTx(resp)) })
    }
}

/// Info (the handshake) and Query.
#[derive(Clone)]
pub struct Info {
    storage: Storage,
}

impl Info {
    pub fn new(storage: Storage) -> Self {
        Self { storage }
    }

    pub fn info(&self) -> response::Info {
        seqpool_app::query::info(&self.storage)
    }
}

impl Service<InfoRequest> for Info {
    type Response = InfoResponse;
    type Error = BoxError;
    type Future = BoxFuture<InfoResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: InfoRequest) -> Self::Future {
        let resp = match req {
            InfoRequest::Info(_) => InfoResponse::Info(self.info()),
            InfoRequest::Query(q) => {
                InfoResponse::Query(seqpool_app::query::abci_query(&self.storage, &q))
            }
            InfoRequest::Echo(e) => InfoResponse::Echo(response::Echo { message: e.message }),
        };
        Box::pin(async move { Ok(resp) })
    }
}

/// State sync is not offered yet: no snapshots, and offers are refused, so a joining node replays
/// blocks instead. These answers are what CometBFT expects from an app without snapshots.
#[derive(Clone, Default)]
pub struct Snapshots;

impl Service<SnapshotRequest> for Snapshots {
    type Response = SnapshotResponse;
    type Error = BoxError;
    type Future = BoxFuture<SnapshotResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: SnapshotRequest) -> Self::Future {
        let resp = match req {
            SnapshotRequest::ListSnapshots => SnapshotResponse::ListSnapshots(Default::default()),
            SnapshotRequest::OfferSnapshot(_) => {
                SnapshotResponse::OfferSnapshot(response::OfferSnapshot::Reject)
            }
            SnapshotRequest::LoadSnapshotChunk(_) => {
                SnapshotResponse::LoadSnapshotChunk(Default::default())
            }
            SnapshotRequest::ApplySnapshotChunk(_) => {
                SnapshotResponse::ApplySnapshotChunk(response::ApplySnapshotChunk {
                    result: response::ApplySnapshotChunkResult::Abort,
                    refetch_chunks: vec![],
                    reject_senders: vec![],
                })
            }
        };
        Box::pin(async move { Ok(resp) })
    }
}
