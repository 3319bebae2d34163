//! seqpool-sidecar: the per-validator process between seqpoold and the L2 chain.
//!
//! - [`adapter`]: makes L2 blocks while this validator is the scheduled producer.
//! - [`relayer`]: sends every signed x/mpc request to its L1 contract (and, on a devnet with the
//!   governance admin's key, registers the first group key).
//! - [`submitter`]: proposes the next L2 batch while this validator is the scheduled producer.
//! - [`metrics`]: counters for the status line and Prometheus.
//! - [`sync`]: whether this node's view of the chain is current enough to produce.
//!
//! [`chain`] is the seqpoold gRPC client (`seqpool_client::grpc`) and [`l2`] the L2 JSON-RPC
//! client they share.
pub mod adapter;
pub use seqpool_client::grpc as chain;
pub mod l2;
pub mod metrics;
pub mod relayer;
pub mod submitter;
pub mod sync;

/// Parses a 20-byte Ethereum address given as hex, with or without `0x`.
pub fn parse_address(s: &str) -> Result<[u8; 20], String> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    let bytes = hex::decode(digits).map_err(|e| format!("{s:?} is not hex: {e}"))?;
    <[u8; 20]>::try_from(bytes.as_slice())
        .map_err(|_| format!("{s:?} has {} bytes, an address has 20", bytes.len()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_parse_with_or_without_prefix_and_bad_ones_are_refused() {
        let a = "0x00000000000000000000000000000000000000ab";
        assert_eq!(super::parse_address(a).map(|b| b[19]), Ok(0xab));
        assert_eq!(super::parse_address(&a[2..]).map(|b| b[19]), Ok(0xab));
        assert!(super::parse_address("0x1234").is_err());
        assert!(super::parse_address("zz").is_err());
    }
}
