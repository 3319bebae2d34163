//! The L2 execution node (anvil started with `--no-mining` in the devnet) over JSON-RPC: its head,
//! and the two calls that make a block with a given coinbase.
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::Address;
use alloy::providers::{Provider, RootProvider};

#[derive(Debug, thiserror::Error)]
pub enum L2Error {
    #[error("invalid L2 RPC URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("L2 RPC at {url} unreachable or failing ({call}): {message}")]
    Rpc {
        url: String,
        call: &'static str,
        message: String,
    },
    #[error("the L2 node has no block {0}")]
    MissingBlock(u64),
}

/// One L2 block as the adapter needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L2Head {
    pub number: u64,
    pub coinbase: [u8; 20],
    /// Block timestamp (seconds).
    pub timestamp: u64,
}

pub struct L2Client {
    url: String,
    provider: RootProvider,
}

impl L2Client {
    pub fn new(url: &str) -> Result<Self, L2Error> {
        let parsed = url.parse().map_err(|e| L2Error::Url {
            url: url.to_string(),
            reason: format!("{e}"),
        })?;
        Ok(Self {
            url: url.to_string(),
            provider: RootProvider::new_http(parsed),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn rpc_error(&self, call: &'static str, e: impl std::fmt::Display) -> L2Error {
        L2Error::Rpc {
            url: self.url.clone(),
            call,
            message: e.to_string(),
        }
    }

    pub async fn head_number(&self) -> Result<u64, L2Error> {
        self.provider
            .get_block_number()
            .await
            .map_err(|e| self.rpc_error("eth_blockNumber", e))
    }

    async fn fetch(&self, number: u64) -> Result<alloy::rpc::types::Block, L2Error> {
        self.provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(|e| self.rpc_error("eth_getBlockByNumber", e))?
            .ok_or(L2Error::MissingBlock(number))
    }

    pub async fn block(&self, number: u64) -> Result<L2Head, L2Error> {
        let block = self.fetch(number).await?;
        Ok(L2Head {
            number,
            coinbase: block.header.beneficiary.into_array(),
            timestamp: block.header.timestamp,
        })
    }

    /// The hash and state root of block `number` (what a batch header commits to).
    pub async fn block_roots(&self, number: u64) -> Result<([u8; 32], [u8; 32]), L2Error> {
        let block = self.fetch(number).await?;
        Ok((block.header.hash.0, block.header.state_root.0))
    }

    /// Makes the next L2 block with `coinbase`: `anvil_setCoinbase`, then `evm_mine`. Returns the
    /// new head as the node reports it (the caller checks that the coinbase is its own: another
    /// process could set the coinbase between the two calls).
    pub async fn mine_with_coinbase(&self, coinbase: [u8; 20]) -> Result<L2Head, L2Error> {
        let _: serde_json::Value = self
            .provider
            .raw_request("anvil_setCoinbase".into(), (Address::from(coinbase),))
            .await
            .map_err(|e| self.rpc_error("anvil_setCoinbase", e))?;
        let _: serde_json::Value = self
            .provider
            .raw_request("evm_mine".into(), ())
            .await
            .map_err(|e| self.rpc_error("evm_mine", e))?;
        let number = self.head_number().await?;
        self.block(number).await
    }
}
