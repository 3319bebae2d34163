//! A typed gRPC client of one seqpoold: node status, the producer schedule, epochs, and x/mpc's
//! keys, requests and batches (what the sidecar reads every poll).
use std::time::Duration;

use seqpool_proto::epochs::v1::{
    query_client::QueryClient as EpochsClient, QueryCurrentEpochRequest, QueryCurrentEpochResponse,
};
use seqpool_proto::mpc::v1::{
    query_client::QueryClient as MpcClient, GroupKey, QueryActiveKeyRequest, QueryBatchesRequest,
    QueryBatchesResponse, QueryParamsRequest as MpcParamsRequest, QueryRequestsRequest,
    RequestStatus, SigningRequest,
};
use seqpool_proto::node::v1::{node_client::NodeClient, StatusRequest};
use seqpool_proto::producer::v1::{
    query_client::QueryClient as ProducerClient, QueryProducerRequest, QueryProducerResponse,
    QuerySequencersRequest,
};
use tonic::transport::{Channel, Endpoint};

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("invalid seqpoold gRPC address {addr:?}: {reason}")]
    Address { addr: String, reason: String },
    #[error("seqpoold gRPC at {addr} unreachable or failing: {message}")]
    Unavailable { addr: String, message: String },
    #[error("validator {0} is not in seqpoold's sequencer set")]
    UnknownValidator(String),
    #[error("seqpoold answered with a {len}-byte signer for {what}, expected 20")]
    BadSigner { what: String, len: usize },
}

/// Who produces one L2 height, as seqpoold's state says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerAt {
    pub l2_height: u64,
    pub epoch: u64,
    /// Consensus address (hex) of the producer.
    pub producer: String,
    /// Its Ethereum signer address: the coinbase its L2 blocks must carry.
    pub signer: [u8; 20],
    pub reelected: bool,
}

/// A lazily connected gRPC client of one seqpoold; every call has a deadline and reconnects on
/// its own after an outage.
#[derive(Clone)]
pub struct ChainClient {
    addr: String,
    producer: ProducerClient<Channel>,
    epochs: EpochsClient<Channel>,
    mpc: MpcClient<Channel>,
    node: NodeClient<Channel>,
}

fn signer20(bytes: &[u8], what: impl Into<String>) -> Result<[u8; 20], ChainError> {
    <[u8; 20]>::try_from(bytes).map_err(|_| ChainError::BadSigner {
        what: what.into(),
        len: bytes.len(),
    })
}

impl ChainClient {
    /// `addr` is `host:port` (as in app.toml's `grpc_listen`) or an `http://` URL.
    pub fn new(addr: &str, timeout: Duration) -> Result<Self, ChainError> {
        let url = if addr.contains("://") {
            addr.to_string()
        } else {
            format!("http://{addr}")
        };
        let endpoint = Endpoint::from_shared(url.clone())
            .map_err(|e| ChainError::Address {
                addr: addr.to_string(),
                reason: e.to_string(),
            })?
            .connect_timeout(timeout)
            .timeout(timeout);
        let channel = endpoint.connect_lazy();
        Ok(Self {
            addr: url,
            producer: ProducerClient::new(channel.clone()),
            epochs: EpochsClient::new(channel.clone()),
            mpc: MpcClient::new(channel.clone()),
            node: NodeClient::new(channel),
        })
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    fn unavailable(&self, status: tonic::Status) -> ChainError {
        ChainError::Unavailable {
            addr: self.addr.clone(),
            message: format!("{} ({:?})", status.message(), status.code()),
        }
    }

    /// The height of seqpoold's latest committed state.
    pub async fn state_height(&self) -> Result<u64, ChainError> {
        let response = self.node.clone().status(StatusRequest {}).await;
        Ok(response
            .map_err(|s| self.unavailable(s))?
            .into_inner()
            .height)
    }

    /// The producer of `l2_height`; `None` while its epoch's schedule is not decided yet.
    pub async fn producer_at(&self, l2_height: u64) -> Result<Option<ProducerAt>, ChainError> {
        let response = self
            .producer
            .clone()
            .producer(QueryProducerRequest { l2_height })
            .await;
        let r: QueryProducerResponse = match response {
            Ok(r) => r.into_inner(),
            Err(status) if status.code() == tonic::Code::NotFound => return Ok(None),
            Err(status) => return Err(self.unavailable(status)),
        };
        let signer = signer20(&r.signer, format!("the producer {}", r.producer))?;
        Ok(Some(ProducerAt {
            l2_height: r.l2_height,
            epoch: r.epoch,
            producer: r.producer,
            signer,
            reelected: r.reelected,
        }))
    }

    /// The signer address of the validator with consensus address `validator` (hex, any case).
    pub async fn signer_of(&self, validator: &str) -> Result<[u8; 20], ChainError> {
        let set = self
            .producer
            .clone()
            .sequencers(QuerySequencersRequest {})
            .await
            .map_err(|s| self.unavailable(s))?
            .into_inner();
        let seq = set
            .sequencers
            .into_iter()
            .find(|s| s.validator.eq_ignore_ascii_case(validator))
            .ok_or_else(|| ChainError::UnknownValidator(validator.to_string()))?;
        signer20(&seq.signer, format!("validator {validator}"))
    }

    pub async fn current_epoch(&self) -> Result<QueryCurrentEpochResponse, ChainError> {
        Ok(self
            .epochs
            .clone()
            .current_epoch(QueryCurrentEpochRequest {})
            .await
            .map_err(|s| self.unavailable(s))?
            .into_inner())
    }

    /// Every signing request with `status`, in request-id order (paged through `Query/Requests`).
    pub async fn requests(&self, status: RequestStatus) -> Result<Vec<SigningRequest>, ChainError> {
        const PAGE: u32 = 100;
        let mut out = Vec::new();
        let mut from_id = 0;
        loop {
            let page = self
                .mpc
                .clone()
                .requests(QueryRequestsRequest {
                    status: status as i32,
                    from_id,
                    limit: PAGE,
                })
                .await
                .map_err(|s| self.unavailable(s))?
                .into_inner()
                .requests;
            let full = page.len() == PAGE as usize;
            let Some(last) = page.last().map(|r| r.request_id) else {
                break;
            };
            // Only requests of the asked status (a server that ignores the filter is tolerated).
            out.extend(page.into_iter().filter(|r| r.status == status as i32));
            if !full {
                break;
            }
            from_id = last + 1;
        }
        Ok(out)
    }

    /// The active group key, `None` before the first DKG completed.
    pub async fn active_key(&self) -> Result<Option<GroupKey>, ChainError> {
        match self.mpc.clone().active_key(QueryActiveKeyRequest {}).await {
            Ok(r) => Ok(r.into_inner().key),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => Err(self.unavailable(status)),
        }
    }

    /// Batch requests from `from_index` and the next batch index / L2 block the chain expects.
    pub async fn batches(
        &self,
        from_index: u64,
        limit: u32,
    ) -> Result<QueryBatchesResponse, ChainError> {
        Ok(self
            .mpc
            .clone()
            .batches(QueryBatchesRequest { from_index, limit })
            .await
            .map_err(|s| self.unavailable(s))?
            .into_inner())
    }

    /// x/mpc params (max_batch_blocks for the submitter).
    pub async fn mpc_params(&self) -> Result<seqpool_proto::mpc::v1::Params, ChainError> {
        self.mpc
            .clone()
            .params(MpcParamsRequest {})
            .await
            .map_err(|s| self.unavailable(s))?
            .into_inner()
            .params
            .ok_or_else(|| ChainError::Unavailable {
                addr: self.addr.clone(),
                message: "x/mpc params query answered without params".into(),
            })
    }
}
