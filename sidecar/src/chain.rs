//! The sidecar's view of its seqpoold: the producer query API over gRPC.
use std::time::Duration;

use seqpool_proto::epochs::v1::{
    query_client::QueryClient as EpochsClient, QueryCurrentEpochRequest, QueryCurrentEpochResponse,
};
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
            epochs: EpochsClient::new(channel),
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
}
