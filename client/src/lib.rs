//! Client side of the chain, shared by the CLI, the load generator, the sidecar and the end-to-end
//! tests: build messages, look up accounts, sign, broadcast through CometBFT's RPC and wait for
//! inclusion.
#[cfg(feature = "cli")]
pub mod cli;
pub mod gov;
pub mod grpc;
pub mod keyring;

use std::time::{Duration, Instant};

use cosmrs::Any;
use k256::ecdsa::SigningKey;
use prost::{Message, Name};
use seqpool_proto::admin::v1::{MsgTransferAdmin, MsgUpdateParams};
use seqpool_proto::auth::v1::{Account, QueryAccountRequest, QueryAccountResponse};
use serde::Serialize;
use tendermint_rpc::client::CompatMode;
use tendermint_rpc::{Client as _, HttpClient};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid CometBFT RPC address {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("CometBFT RPC {url}: {source}")]
    Rpc {
        url: String,
        source: Box<tendermint_rpc::Error>,
    },
    #[error("height {0} is out of range")]
    BadHeight(u64),
    #[error("query {path} failed with code {code}: {log}")]
    Query {
        path: String,
        code: u32,
        log: String,
    },
    #[error("the proof of the state at height {height} does not hold: {reason}")]
    Proof { height: u64, reason: String },
    #[error("query {path}: cannot decode the response: {reason}")]
    Decode { path: String, reason: String },
    #[error("account {0} is not registered on the chain (only the admin, validator operators and genesis accounts may send txs)")]
    UnknownAccount(String),
    #[error("tx {hash} was not included within {waited:?}")]
    NotIncluded { hash: String, waited: Duration },
    #[error("unknown module {0:?} for update-params (known: auth, staking, epochs, producer, bridge, mpc, gov)")]
    UnknownModule(String),
    #[error("{0}")]
    BadProposal(String),
    #[error("params for module {module} are not valid JSON for {type_name}: {reason}")]
    BadParams {
        module: String,
        type_name: String,
        reason: String,
    },
}

/// See [`Rpc::chain_clock`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainClock {
    pub catching_up: bool,
    pub height: u64,
    /// The latest block's header time.
    pub block_time_unix_nanos: i128,
    /// When the latest block was committed: its latest precommit time (None without precommits).
    pub committed_unix_nanos: Option<i128>,
    /// Average time between the last (up to) 20 blocks; None below height 2.
    pub interval_nanos: Option<u128>,
}

pub use seqpool_app::query::STATE_PROOF_TYPE;

/// A state value proven against a block header's app hash.
#[derive(Clone, Debug, Serialize)]
pub struct ProvenValue {
    /// The state read is the one after this height...
    pub height: u64,
    /// ...which the header of height + 1 commits to with this app hash (hex).
    pub app_hash: String,
    /// `None`: the proof shows the key is absent.
    pub value: Option<Vec<u8>>,
}

/// Result of `broadcast_tx_sync` (CheckTx on the node that received the tx).
#[derive(Clone, Debug, Serialize)]
pub struct Broadcast {
    pub hash: String,
    pub code: u32,
    pub codespace: String,
    pub log: String,
}

/// The execution result of an included tx.
#[derive(Clone, Debug, Serialize)]
pub struct Included {
    pub hash: String,
    pub height: u64,
    pub code: u32,
    pub codespace: String,
    pub log: String,
    /// The tx's events as (type, attributes).
    pub events: Vec<(String, Vec<(String, String)>)>,
}

impl Included {
    /// The value of attribute `key` of the first event of type `kind`.
    pub fn attribute(&self, kind: &str, key: &str) -> Option<&str> {
        self.events
            .iter()
            .filter(|(k, _)| k == kind)
            .flat_map(|(_, attrs)| attrs.iter())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Height and app hash of a node's last block.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct NodeStatus {
    pub moniker: String,
    pub network: String,
    pub height: u64,
    /// Hex, upper case (as CometBFT prints it).
    pub app_hash: String,
    pub catching_up: bool,
}

/// A CometBFT RPC endpoint.
#[derive(Clone, Debug)]
pub struct Rpc {
    url: String,
    http: HttpClient,
}

impl Rpc {
    pub fn new(url: &str) -> Result<Self, ClientError> {
        Self::with_timeout(url, Duration::from_secs(10))
    }

    pub fn with_timeout(url: &str, timeout: Duration) -> Result<Self, ClientError> {
        let bad = |reason: String| ClientError::BadUrl {
            url: url.to_string(),
            reason,
        };
        let parsed: tendermint_rpc::HttpClientUrl = url
            .parse()
            .map_err(|e: tendermint_rpc::Error| bad(e.to_string()))?;
        let http = HttpClient::builder(parsed)
            .compat_mode(CompatMode::V0_38)
            .timeout(timeout)
            .build()
            .map_err(|e| bad(e.to_string()))?;
        Ok(Rpc {
            url: url.to_string(),
            http,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn rpc_err(&self, e: tendermint_rpc::Error) -> ClientError {
        ClientError::Rpc {
            url: self.url.clone(),
            source: Box::new(e),
        }
    }

    pub async fn status(&self) -> Result<NodeStatus, ClientError> {
        let s = self.http.status().await.map_err(|e| self.rpc_err(e))?;
        Ok(NodeStatus {
            moniker: s.node_info.moniker.to_string(),
            network: s.node_info.network.to_string(),
            height: s.sync_info.latest_block_height.value(),
            app_hash: hex::encode_upper(s.sync_info.latest_app_hash.as_bytes()),
            catching_up: s.sync_info.catching_up,
        })
    }

    /// How current this node's view of the chain is: whether it is still catching up, its latest
    /// height, when that height was committed (the latest precommit's time in its commit) and the
    /// average block interval over the last (up to) 20 blocks.
    pub async fn chain_clock(&self) -> Result<ChainClock, ClientError> {
        let status = self.http.status().await.map_err(|e| self.rpc_err(e))?;
        let height = status.sync_info.latest_block_height;
        let commit = self
            .http
            .commit(height)
            .await
            .map_err(|e| self.rpc_err(e))?;
        let committed = commit
            .signed_header
            .commit
            .signatures
            .iter()
            .filter_map(|sig| match sig {
                tendermint::block::CommitSig::BlockIdFlagCommit { timestamp, .. } => {
                    Some(timestamp.unix_timestamp_nanos())
                }
                _ => None,
            })
            .max();
        let h = height.value();
        let interval_nanos = if h >= 2 {
            let from = h.saturating_sub(20).max(1);
            let metas = self
                .http
                .blockchain(
                    tendermint::block::Height::try_from(from)
                        .map_err(|_| ClientError::BadHeight(from))?,
                    height,
                )
                .await
                .map_err(|e| self.rpc_err(e))?
                .block_metas;
            let times: Vec<(u64, i128)> = metas
                .iter()
                .map(|m| {
                    (
                        m.header.height.value(),
                        m.header.time.unix_timestamp_nanos(),
                    )
                })
                .collect();
            match (times.iter().min(), times.iter().max()) {
                (Some((h0, t0)), Some((h1, t1))) if h1 > h0 => {
                    Some(((t1 - t0) / i128::from(h1 - h0)).max(0) as u128)
                }
                _ => None,
            }
        } else {
            None
        };
        Ok(ChainClock {
            catching_up: status.sync_info.catching_up,
            height: h,
            block_time_unix_nanos: status.sync_info.latest_block_time.unix_timestamp_nanos(),
            committed_unix_nanos: committed,
            interval_nanos,
        })
    }

    /// The app hash that the block at `height + 1` records, i.e. the state after executing `height`.
    pub async fn app_hash_after(&self, height: u64) -> Result<String, ClientError> {
        let h = tendermint::block::Height::try_from(height + 1)
            .map_err(|_| ClientError::BadHeight(height + 1))?;
        let block = self.http.block(h).await.map_err(|e| self.rpc_err(e))?;
        Ok(hex::encode_upper(block.block.header.app_hash.as_bytes()))
    }

    pub async fn broadcast(&self, tx: Vec<u8>) -> Result<Broadcast, ClientError> {
        let r = self
            .http
            .broadcast_tx_sync(tx)
            .await
            .map_err(|e| self.rpc_err(e))?;
        Ok(Broadcast {
            hash: r.hash.to_string(),
            code: r.code.value(),
            codespace: r.codespace,
            log: r.log,
        })
    }

    /// `broadcast_tx_async`: the node answers before CheckTx runs, so only transport errors come
    /// back (the load generator's throughput shape, the same for every ABCI app).
    pub async fn broadcast_async(&self, tx: Vec<u8>) -> Result<(), ClientError> {
        self.http
            .broadcast_tx_async(tx)
            .await
            .map_err(|e| self.rpc_err(e))?;
        Ok(())
    }

    /// Polls `/tx` until the tx is in a block or `timeout` passes.
    pub async fn wait_for_tx(
        &self,
        hash_hex: &str,
        timeout: Duration,
    ) -> Result<Included, ClientError> {
        let hash: tendermint::Hash =
            hash_hex
                .parse()
                .map_err(|e: tendermint::Error| ClientError::BadUrl {
                    url: hash_hex.into(),
                    reason: e.to_string(),
                })?;
        let started = Instant::now();
        loop {
            match self.http.tx(hash, false).await {
                Ok(r) => {
                    return Ok(Included {
                        hash: r.hash.to_string(),
                        height: r.height.value(),
                        code: r.tx_result.code.value(),
                        codespace: r.tx_result.codespace,
                        log: r.tx_result.log,
                        events: r
                            .tx_result
                            .events
                            .iter()
                            .map(|e| {
                                let attrs = e
                                    .attributes
                                    .iter()
                                    .map(|a| {
                                        (
                                            a.key_str().unwrap_or_default().to_string(),
                                            a.value_str().unwrap_or_default().to_string(),
                                        )
                                    })
                                    .collect();
                                (e.kind.clone(), attrs)
                            })
                            .collect(),
                    })
                }
                // "not found" until indexed; other errors (node restarting) are retried too, to the deadline.
                Err(e) => {
                    if started.elapsed() >= timeout {
                        return match e.detail() {
                            tendermint_rpc::error::ErrorDetail::Response(_) => {
                                Err(ClientError::NotIncluded {
                                    hash: hash_hex.to_string(),
                                    waited: timeout,
                                })
                            }
                            _ => Err(self.rpc_err(e)),
                        };
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A gRPC query method through `abci_query` (path = the gRPC method path, data = the request).
    pub async fn query<Req: Message, Resp: Message + Default>(
        &self,
        path: &str,
        request: &Req,
        height: Option<u64>,
    ) -> Result<Resp, ClientError> {
        let height = match height {
            Some(h) => Some(
                tendermint::block::Height::try_from(h).map_err(|_| ClientError::BadHeight(h))?,
            ),
            None => None,
        };
        let r = self
            .http
            .abci_query(
                Some(path.to_string()),
                request.encode_to_vec(),
                height,
                false,
            )
            .await
            .map_err(|e| self.rpc_err(e))?;
        if r.code.is_err() {
            return Err(ClientError::Query {
                path: path.to_string(),
                code: r.code.value(),
                log: r.log,
            });
        }
        Resp::decode(r.value.as_slice()).map_err(|e| ClientError::Decode {
            path: path.to_string(),
            reason: e.to_string(),
        })
    }

    /// A raw state key read with its Merkle proof, checked against the app hash in the header of
    /// the next block (the state after height h is committed to by block h + 1). `height` None is
    /// the latest state; the call then waits (to `timeout`) for the next block. The header itself
    /// is taken from this node's RPC: a light client would verify it against the validator set
    /// first (tendermint-light-client); this checks that the value is the one the header commits to.
    pub async fn proven_state(
        &self,
        key: &[u8],
        height: Option<u64>,
        timeout: Duration,
    ) -> Result<ProvenValue, ClientError> {
        let module = key
            .iter()
            .position(|b| *b == b'/')
            .map(|i| String::from_utf8_lossy(&key[..i]).into_owned())
            .unwrap_or_default();
        let path = format!("/store/{module}/key");
        let at = match height {
            Some(h) => Some(
                tendermint::block::Height::try_from(h).map_err(|_| ClientError::BadHeight(h))?,
            ),
            None => None,
        };
        let r = self
            .http
            .abci_query(Some(path.clone()), key.to_vec(), at, true)
            .await
            .map_err(|e| self.rpc_err(e))?;
        if r.code.is_err() {
            return Err(ClientError::Query {
                path,
                code: r.code.value(),
                log: r.log,
            });
        }
        let h = r.height.value();
        let proof = r
            .proof
            .as_ref()
            .and_then(|p| p.ops.iter().find(|op| op.field_type == STATE_PROOF_TYPE))
            .ok_or_else(|| ClientError::Proof {
                height: h,
                reason: format!("the answer carries no {STATE_PROOF_TYPE} proof"),
            })?;
        if proof.key != key {
            return Err(ClientError::Proof {
                height: h,
                reason: "the proof is for another key".into(),
            });
        }
        self.wait_for_height(h + 1, timeout).await?;
        let app_hash = self.app_hash_after(h).await?;
        let root: seqpool_store::RootHash = hex::decode(&app_hash)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| ClientError::Proof {
                height: h,
                reason: format!("app hash {app_hash} is not 32 bytes"),
            })?;
        // The answer cannot tell an absent key from an empty value: the proof decides which.
        let value = (!r.value.is_empty()).then_some(r.value.clone());
        let checked = seqpool_store::verify_proof(&root, key, value.as_deref(), &proof.data)
            .map(|()| value.clone())
            .or_else(|e| {
                if r.value.is_empty() {
                    seqpool_store::verify_proof(&root, key, Some(&[]), &proof.data)
                        .map(|()| Some(Vec::new()))
                } else {
                    Err(e)
                }
            })
            .map_err(|e| ClientError::Proof {
                height: h,
                reason: e.to_string(),
            })?;
        Ok(ProvenValue {
            height: h,
            app_hash,
            value: checked,
        })
    }

    /// The registered account of `address`, or `None` if it is not registered.
    pub async fn account(&self, address: &str) -> Result<Option<Account>, ClientError> {
        let path = "/seqpool.auth.v1.Query/Account";
        match self
            .query::<_, QueryAccountResponse>(
                path,
                &QueryAccountRequest {
                    address: address.to_string(),
                },
                None,
            )
            .await
        {
            Ok(r) => Ok(r.account),
            Err(ClientError::Query { log, .. })
                if log.contains("not registered") || log.contains("not found") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Waits until the node reports a height of at least `height`.
    pub async fn wait_for_height(
        &self,
        height: u64,
        timeout: Duration,
    ) -> Result<NodeStatus, ClientError> {
        let started = Instant::now();
        loop {
            let last = self.status().await;
            match last {
                Ok(s) if s.height >= height => return Ok(s),
                Err(e) if started.elapsed() >= timeout => return Err(e),
                _ if started.elapsed() >= timeout => {
                    return Err(ClientError::NotIncluded {
                        hash: format!("height {height}"),
                        waited: timeout,
                    })
                }
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Packs a message as an `Any` with its `/seqpool...` type URL.
pub fn to_any<M: Message + Name>(msg: &M) -> Any {
    Any {
        type_url: seqpool_proto::type_url::<M>(),
        value: msg.encode_to_vec(),
    }
}

pub(crate) fn to_pbjson_any<M: Message + Name>(msg: &M) -> pbjson_types::Any {
    pbjson_types::Any {
        type_url: seqpool_proto::type_url::<M>(),
        value: msg.encode_to_vec().into(),
    }
}

/// `MsgUpdateParams` for `module` with params given as proto3 JSON (camelCase, u64 as strings or
/// numbers). Unknown fields are refused so a typo does not silently reset a param to zero.
pub fn update_params_msg(
    authority: &str,
    module: &str,
    params_json: &str,
) -> Result<Any, ClientError> {
    fn parse<P: Message + Name + serde::de::DeserializeOwned>(
        module: &str,
        json: &str,
    ) -> Result<pbjson_types::Any, ClientError> {
        let bad = |reason: String| ClientError::BadParams {
            module: module.to_string(),
            type_name: P::full_name(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        // pbjson ignores unknown fields; refuse them so a misspelt name does not silently reset a param.
        let known = field_names(&P::full_name());
        let given = value
            .as_object()
            .ok_or_else(|| bad("expected a JSON object".into()))?;
        if let Some(unknown) = given.keys().find(|k| !known.contains(*k)) {
            return Err(bad(format!(
                "unknown field {unknown:?} (known: {})",
                known.join(", ")
            )));
        }
        let params: P = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        Ok(to_pbjson_any(&params))
    }
    let params = match module {
        "auth" => parse::<seqpool_proto::auth::v1::Params>(module, params_json)?,
        "staking" => parse::<seqpool_proto::staking::v1::Params>(module, params_json)?,
        "epochs" => parse::<seqpool_proto::epochs::v1::Params>(module, params_json)?,
        "producer" => parse::<seqpool_proto::producer::v1::Params>(module, params_json)?,
        "bridge" => parse::<seqpool_proto::bridge::v1::Params>(module, params_json)?,
        "mpc" => parse::<seqpool_proto::mpc::v1::Params>(module, params_json)?,
        "gov" => parse::<seqpool_proto::gov::v1::Params>(module, params_json)?,
        other => return Err(ClientError::UnknownModule(other.to_string())),
    };
    Ok(to_any(&MsgUpdateParams {
        authority: authority.to_string(),
        params: Some(params),
    }))
}

/// Proto and JSON names of the fields of message `full_name`, from the compiled descriptors.
pub(crate) fn field_names(full_name: &str) -> Vec<String> {
    let Ok(set) = pbjson_types::FileDescriptorSet::decode(seqpool_proto::FILE_DESCRIPTOR_SET)
    else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for file in &set.file {
        let package = file.package.clone().unwrap_or_default();
        for message in &file.message_type {
            if format!("{package}.{}", message.name.clone().unwrap_or_default()) == full_name {
                for field in &message.field {
                    names.extend(field.name.clone());
                    names.extend(field.json_name.clone());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

pub fn transfer_admin_msg(authority: &str, new_admin: &str) -> Any {
    to_any(&MsgTransferAdmin {
        authority: authority.to_string(),
        new_admin: new_admin.to_string(),
    })
}

/// Bech32 account address of a signing key.
pub fn address_of(key: &SigningKey) -> String {
    seqpool_component::address::account_address(
        key.verifying_key().to_encoded_point(true).as_bytes(),
    )
}

/// Looks up the signer's account, signs `msgs` with its current sequence and broadcasts.
pub async fn sign_and_broadcast(
    rpc: &Rpc,
    key: &SigningKey,
    chain_id: &str,
    msgs: Vec<Any>,
    memo: &str,
) -> Result<Broadcast, ClientError> {
    let address = address_of(key);
    let account = rpc
        .account(&address)
        .await?
        .ok_or(ClientError::UnknownAccount(address))?;
    let mut sequence = account.sequence;
    let mut tries = 0;
    loop {
        let tx = seqpool_app::tx::sign_tx(
            key,
            chain_id,
            account.account_number,
            sequence,
            msgs.clone(),
            memo,
        );
        let checked = rpc.broadcast(tx).await?;
        // Another process with this key (a node's sidecar sends with the operator key) has a tx
        // pending at this sequence: take the one the mempool names as free, a few times. Not if
        // the pending tx is this very one (a command run again while its tx waits): signing it
        // again at the next sequence would send it twice.
        tries += 1;
        match next_free_sequence(&checked) {
            Some(next) if next > sequence && tries < SEQUENCE_RETRIES => sequence = next,
            _ => return Ok(checked),
        }
    }
}

/// Broadcasts made when the account's sequence is taken by pending txs of another process.
const SEQUENCE_RETRIES: u32 = 5;

/// The sequence a `sequence_replayed` CheckTx answer names as the next free one ("... the next is
/// N"), if `checked` is such an answer.
fn next_free_sequence(checked: &Broadcast) -> Option<u64> {
    if checked.code != seqpool_component::codes::SEQUENCE_REPLAYED
        || (!checked.hash.is_empty() && checked.log.contains(&checked.hash))
    {
        return None;
    }
    checked
        .log
        .rsplit_once("the next is ")
        .and_then(|(_, n)| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_params_parses_known_modules_and_refuses_typos() {
        let any = update_params_msg("seqpool1x", "staking", r#"{"livenessWindow":"50"}"#).unwrap();
        assert_eq!(any.type_url, "/seqpool.admin.v1.MsgUpdateParams");
        let msg = MsgUpdateParams::decode(any.value.as_slice()).unwrap();
        let params = msg.params.unwrap();
        assert_eq!(params.type_url, "/seqpool.staking.v1.Params");
        let decoded = seqpool_proto::staking::v1::Params::decode(params.value.as_ref()).unwrap();
        assert_eq!(decoded.liveness_window, 50);

        let auth = update_params_msg(
            "seqpool1x",
            "auth",
            r#"{"maxTxBytes":"40000","maxMsgsPerTx":"8","maxMemoChars":"0","maxPendingTxsPerAccount":256}"#,
        )
        .unwrap();
        let msg = MsgUpdateParams::decode(auth.value.as_slice()).unwrap();
        let p =
            seqpool_proto::auth::v1::Params::decode(msg.params.unwrap().value.as_ref()).unwrap();
        assert_eq!(
            (
                p.max_tx_bytes,
                p.max_msgs_per_tx,
                p.max_memo_chars,
                p.max_pending_txs_per_account
            ),
            (40000, 8, 0, 256)
        );

        assert!(matches!(
            update_params_msg("a", "staking", r#"{"livenesWindow":"5"}"#),
            Err(ClientError::BadParams { .. })
        ));
        assert!(matches!(
            update_params_msg("a", "staking", "not json"),
            Err(ClientError::BadParams { .. })
        ));
        assert!(matches!(
            update_params_msg("a", "bank", "{}"),
            Err(ClientError::UnknownModule(_))
        ));
    }

    #[test]
    fn transfer_admin_message() {
        let any = transfer_admin_msg("seqpool1a", "seqpool1b");
        assert_eq!(any.type_url, "/seqpool.admin.v1.MsgTransferAdmin");
        let msg = MsgTransferAdmin::decode(any.value.as_slice()).unwrap();
        assert_eq!(msg.new_admin, "seqpool1b");
    }

    #[test]
    fn a_taken_sequence_names_the_next_free_one() {
        let answer = |code, log: &str| Broadcast {
            hash: String::new(),
            code,
            codespace: String::new(),
            log: log.into(),
        };
        let taken = "sequence 4 of seqpool1x is taken by pending tx ABCD; the next is 5";
        assert_eq!(
            next_free_sequence(&answer(seqpool_component::codes::SEQUENCE_REPLAYED, taken)),
            Some(5)
        );
        // Our own tx is the pending one: no second copy.
        let mut own = answer(seqpool_component::codes::SEQUENCE_REPLAYED, taken);
        own.hash = "ABCD".into();
        assert_eq!(next_free_sequence(&own), None);
        assert_eq!(next_free_sequence(&answer(0, taken)), None);
        assert_eq!(
            next_free_sequence(&answer(seqpool_component::codes::SEQUENCE_REPLAYED, "used")),
            None
        );
    }
}
