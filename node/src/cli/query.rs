//! `seqpoold query`: module state over gRPC (default) or CometBFT's abci_query (`--abci`).
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use prost::Message;
use serde::Serialize;

use super::Output;
use seqpool_client::Rpc;
use seqpool_proto::{admin, auth, bridge, epochs, gov, mpc, node, producer, staking};

#[derive(Args, Debug)]
pub struct QueryArgs {
    #[command(subcommand)]
    pub what: What,
    /// Node home whose app.toml gives the default endpoints.
    #[arg(long, env = "SEQPOOL_HOME", default_value_os_t = super::default_home(), global = true)]
    pub home: std::path::PathBuf,
    /// seqpoold gRPC endpoint (default: `grpc_listen` of the home's app.toml).
    #[arg(long, global = true)]
    pub grpc: Option<String>,
    /// Query through CometBFT's abci_query instead of gRPC.
    #[arg(long, global = true)]
    pub abci: bool,
    /// CometBFT RPC for --abci (default: `cometbft_rpc` of app.toml).
    #[arg(long, global = true)]
    pub node: Option<String>,
    /// Read state as of this height (default: latest).
    #[arg(long, global = true)]
    pub height: Option<u64>,
    #[arg(long, value_enum, default_value_t, global = true)]
    pub output: Output,
}

#[derive(Subcommand, Debug)]
pub enum What {
    #[command(subcommand)]
    Admin(AdminQuery),
    #[command(subcommand)]
    Auth(AuthQuery),
    #[command(subcommand)]
    Staking(StakingQuery),
    #[command(subcommand)]
    Node(NodeQuery),
    /// L2 block producers (the adapter API).
    #[command(subcommand)]
    Producer(ProducerQuery),
    #[command(subcommand)]
    Epoch(EpochQuery),
    /// The sequencer set with stake, power, signer and status.
    Sequencers,
    /// The producer schedule of an epoch (elected producer, then re-elections).
    Schedule { epoch: u64 },
    #[command(subcommand)]
    Bridge(BridgeQuery),
    /// The FROST group key, its members, keygen sessions and signing requests.
    #[command(subcommand)]
    Mpc(MpcQuery),
    /// Governance proposals, votes, tallies and params.
    #[command(subcommand)]
    Gov(GovQuery),
}

#[derive(Subcommand, Debug)]
pub enum GovQuery {
    /// Proposals, oldest first.
    Proposals {
        /// voting_period, passed, rejected, failed or canceled (default: all).
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        proposer: Option<String>,
        /// Only proposals with an id above this one.
        #[arg(long, default_value_t = 0)]
        after: u64,
        #[arg(long, default_value_t = 0)]
        limit: u32,
    },
    Proposal {
        id: u64,
    },
    /// The votes cast on a proposal.
    Votes {
        id: u64,
    },
    /// The tally: as it would stand if voting ended now, or the final one.
    Tally {
        id: u64,
    },
    Params,
    /// The address a proposal's messages name as their signer.
    Authority,
}

/// A proposal status from its CLI name.
fn proposal_status(name: Option<&str>) -> Result<gov::v1::ProposalStatus> {
    match name {
        None => Ok(gov::v1::ProposalStatus::Unspecified),
        Some(s) => gov::v1::ProposalStatus::from_str_name(&format!(
            "PROPOSAL_STATUS_{}",
            s.to_ascii_uppercase()
                .trim_start_matches("PROPOSAL_STATUS_")
        ))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "unknown proposal status {s:?} (voting_period, passed, rejected, failed, canceled)"
            )
        }),
    }
}

#[derive(Subcommand, Debug)]
pub enum MpcQuery {
    /// The active group key.
    Key,
    /// Every key (pending, active, retired, failed).
    Keys,
    /// Registered MPC identities.
    Members,
    /// DKG and reshare sessions.
    Sessions {
        /// Only open sessions.
        #[arg(long)]
        open: bool,
    },
    /// One signing request with its attempts.
    Request {
        id: u64,
    },
    /// Signing requests from an id on.
    Requests {
        /// pending, signing, signed, landed or failed (default: all).
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long, default_value_t = 0)]
        limit: u32,
    },
    /// Batch requests by batch index, and the next batch the chain expects.
    Batches {
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long, default_value_t = 0)]
        limit: u32,
    },
    Params,
}

/// A request status from its CLI name.
fn request_status(name: Option<&str>) -> Result<mpc::v1::RequestStatus> {
    match name {
        None => Ok(mpc::v1::RequestStatus::Unspecified),
        Some(s) => mpc::v1::RequestStatus::from_str_name(&format!(
            "REQUEST_STATUS_{}",
            s.to_ascii_uppercase()
        ))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "unknown request status {s:?} (pending, signing, signed, landed, failed)"
            )
        }),
    }
}

#[derive(Subcommand, Debug)]
pub enum ProducerQuery {
    /// The producer of an L2 height (not found until its epoch is fixed).
    At {
        l2_height: u64,
    },
    Schedule {
        epoch: u64,
    },
    Sequencers,
    /// Reward settlements queued for signing.
    Settlements,
    /// L2 blocks made by a producer that was not scheduled for them.
    Unscheduled,
    Params,
}

#[derive(Subcommand, Debug)]
pub enum EpochQuery {
    /// The current and the next epoch with their L2 height ranges.
    Current,
    Params,
}

#[derive(Subcommand, Debug)]
pub enum BridgeQuery {
    /// The next L1 event nonce to apply.
    NextNonce,
    /// An applied L1 event.
    Event {
        nonce: u64,
    },
    /// The latest attested L1 RANDAO value.
    Randomness,
    Params,
}

#[derive(Subcommand, Debug)]
pub enum AdminQuery {
    /// The admin account (or the height it retired at), and with an L1 RPC the L1 Governance
    /// contract's admin, exit window and next action nonce.
    Admin {
        /// L1 JSON-RPC to read Governance from (default: `l1_rpc` of app.toml; none: chain only).
        #[arg(long)]
        l1_rpc: Option<String>,
    },
    /// Params of every module, or of one with --module.
    Params {
        #[arg(long, default_value = "")]
        module: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuthQuery {
    Account { address: String },
    Accounts,
    Params,
}

#[derive(Subcommand, Debug)]
pub enum StakingQuery {
    Validators,
    Liveness,
    Params,
    /// Slashing decisions kept for L1 (double sign, producer stalls).
    SlashingRequests,
}

#[derive(Subcommand, Debug)]
pub enum NodeQuery {
    /// Chain id, last height and app hash.
    Status,
}

/// Where a query goes.
enum Transport {
    Grpc(tonic::transport::Channel),
    Abci(Rpc),
}

impl Transport {
    async fn call<Req, Resp>(&self, path: &str, req: Req, height: Option<u64>) -> Result<Resp>
    where
        Req: Message + Send + Sync + 'static,
        Resp: Message + Default + Send + Sync + 'static,
    {
        match self {
            Transport::Abci(rpc) => Ok(rpc.query::<Req, Resp>(path, &req, height).await?),
            Transport::Grpc(channel) => {
                let mut grpc = tonic::client::Grpc::new(channel.clone());
                grpc.ready().await.context("gRPC endpoint is not ready")?;
                let mut request = tonic::Request::new(req);
                if let Some(h) = height {
                    request.metadata_mut().insert(
                        "x-cosmos-block-height",
                        h.to_string().parse().context("height metadata")?,
                    );
                }
                let codec: tonic::codec::ProstCodec<Req, Resp> =
                    tonic::codec::ProstCodec::default();
                let method = tonic::codegen::http::uri::PathAndQuery::try_from(path)
                    .context("gRPC method path")?;
                let response = grpc
                    .unary(request, method, codec)
                    .await
                    .map_err(|s| anyhow::anyhow!("{path}: {} ({:?})", s.message(), s.code()))?;
                Ok(response.into_inner())
            }
        }
    }
}

pub async fn run(args: QueryArgs) -> Result<()> {
    let config = super::app_config_or_default(&args.home)?;
    let transport = if args.abci {
        Transport::Abci(Rpc::new(
            args.node.as_deref().unwrap_or(&config.cometbft_rpc),
        )?)
    } else {
        let mut url = args
            .grpc
            .clone()
            .unwrap_or_else(|| config.grpc_listen.clone());
        if !url.contains("://") {
            url = format!("http://{url}");
        }
        let channel = tonic::transport::Endpoint::from_shared(url.clone())
            .with_context(|| format!("invalid gRPC address {url:?}"))?
            .connect()
            .await
            .with_context(|| format!("connect to gRPC {url}"))?;
        Transport::Grpc(channel)
    };
    let h = args.height;
    let t = &transport;
    // One query: gRPC method (= abci_query path), request, response type.
    macro_rules! ask {
        ($path:literal, $req:expr, $resp:ty) => {
            show(t.call::<_, $resp>($path, $req, h).await?, args.output)
        };
    }
    match args.what {
        What::Staking(StakingQuery::SlashingRequests) => ask!(
            "/seqpool.staking.v1.Query/SlashingRequests",
            staking::v1::QuerySlashingRequestsRequest {},
            staking::v1::QuerySlashingRequestsResponse
        ),
        What::Producer(ProducerQuery::At { l2_height }) => ask!(
            "/seqpool.producer.v1.Query/Producer",
            producer::v1::QueryProducerRequest { l2_height },
            producer::v1::QueryProducerResponse
        ),
        What::Producer(ProducerQuery::Schedule { epoch }) | What::Schedule { epoch } => ask!(
            "/seqpool.producer.v1.Query/Schedule",
            producer::v1::QueryScheduleRequest { epoch },
            producer::v1::QueryScheduleResponse
        ),
        What::Producer(ProducerQuery::Sequencers) | What::Sequencers => ask!(
            "/seqpool.producer.v1.Query/Sequencers",
            producer::v1::QuerySequencersRequest {},
            producer::v1::QuerySequencersResponse
        ),
        What::Producer(ProducerQuery::Settlements) => ask!(
            "/seqpool.producer.v1.Query/Settlements",
            producer::v1::QuerySettlementsRequest {},
            producer::v1::QuerySettlementsResponse
        ),
        What::Producer(ProducerQuery::Unscheduled) => ask!(
            "/seqpool.producer.v1.Query/UnscheduledBlocks",
            producer::v1::QueryUnscheduledBlocksRequest {},
            producer::v1::QueryUnscheduledBlocksResponse
        ),
        What::Producer(ProducerQuery::Params) => ask!(
            "/seqpool.producer.v1.Query/Params",
            producer::v1::QueryParamsRequest {},
            producer::v1::QueryParamsResponse
        ),
        What::Epoch(EpochQuery::Current) => ask!(
            "/seqpool.epochs.v1.Query/CurrentEpoch",
            epochs::v1::QueryCurrentEpochRequest {},
            epochs::v1::QueryCurrentEpochResponse
        ),
        What::Epoch(EpochQuery::Params) => ask!(
            "/seqpool.epochs.v1.Query/Params",
            epochs::v1::QueryParamsRequest {},
            epochs::v1::QueryParamsResponse
        ),
        What::Bridge(BridgeQuery::NextNonce) => ask!(
            "/seqpool.bridge.v1.Query/NextNonce",
            bridge::v1::QueryNextNonceRequest {},
            bridge::v1::QueryNextNonceResponse
        ),
        What::Bridge(BridgeQuery::Event { nonce }) => ask!(
            "/seqpool.bridge.v1.Query/Event",
            bridge::v1::QueryEventRequest { nonce },
            bridge::v1::QueryEventResponse
        ),
        What::Bridge(BridgeQuery::Randomness) => ask!(
            "/seqpool.bridge.v1.Query/Randomness",
            bridge::v1::QueryRandomnessRequest {},
            bridge::v1::QueryRandomnessResponse
        ),
        What::Bridge(BridgeQuery::Params) => ask!(
            "/seqpool.bridge.v1.Query/Params",
            bridge::v1::QueryParamsRequest {},
            bridge::v1::QueryParamsResponse
        ),
        What::Mpc(MpcQuery::Key) => ask!(
            "/seqpool.mpc.v1.Query/ActiveKey",
            mpc::v1::QueryActiveKeyRequest {},
            mpc::v1::QueryActiveKeyResponse
        ),
        What::Mpc(MpcQuery::Keys) => ask!(
            "/seqpool.mpc.v1.Query/Keys",
            mpc::v1::QueryKeysRequest {},
            mpc::v1::QueryKeysResponse
        ),
        What::Mpc(MpcQuery::Members) => ask!(
            "/seqpool.mpc.v1.Query/Members",
            mpc::v1::QueryMembersRequest {},
            mpc::v1::QueryMembersResponse
        ),
        What::Mpc(MpcQuery::Sessions { open }) => ask!(
            "/seqpool.mpc.v1.Query/KeygenSessions",
            mpc::v1::QueryKeygenSessionsRequest { open_only: open },
            mpc::v1::QueryKeygenSessionsResponse
        ),
        What::Mpc(MpcQuery::Request { id }) => ask!(
            "/seqpool.mpc.v1.Query/Request",
            mpc::v1::QueryRequestRequest { request_id: id },
            mpc::v1::QueryRequestResponse
        ),
        What::Mpc(MpcQuery::Requests {
            ref status,
            from,
            limit,
        }) => ask!(
            "/seqpool.mpc.v1.Query/Requests",
            mpc::v1::QueryRequestsRequest {
                status: request_status(status.as_deref())? as i32,
                from_id: from,
                limit,
            },
            mpc::v1::QueryRequestsResponse
        ),
        What::Mpc(MpcQuery::Batches { from, limit }) => ask!(
            "/seqpool.mpc.v1.Query/Batches",
            mpc::v1::QueryBatchesRequest {
                from_index: from,
                limit,
            },
            mpc::v1::QueryBatchesResponse
        ),
        What::Mpc(MpcQuery::Params) => ask!(
            "/seqpool.mpc.v1.Query/Params",
            mpc::v1::QueryParamsRequest {},
            mpc::v1::QueryParamsResponse
        ),
        What::Gov(GovQuery::Proposals {
            ref status,
            ref proposer,
            after,
            limit,
        }) => ask!(
            "/seqpool.gov.v1.Query/Proposals",
            gov::v1::QueryProposalsRequest {
                status: proposal_status(status.as_deref())? as i32,
                proposer: proposer.clone().unwrap_or_default(),
                after_id: after,
                limit,
            },
            gov::v1::QueryProposalsResponse
        ),
        What::Gov(GovQuery::Proposal { id }) => ask!(
            "/seqpool.gov.v1.Query/Proposal",
            gov::v1::QueryProposalRequest { proposal_id: id },
            gov::v1::QueryProposalResponse
        ),
        What::Gov(GovQuery::Votes { id }) => ask!(
            "/seqpool.gov.v1.Query/Votes",
            gov::v1::QueryVotesRequest { proposal_id: id },
            gov::v1::QueryVotesResponse
        ),
        What::Gov(GovQuery::Tally { id }) => ask!(
            "/seqpool.gov.v1.Query/Tally",
            gov::v1::QueryTallyRequest { proposal_id: id },
            gov::v1::QueryTallyResponse
        ),
        What::Gov(GovQuery::Params) => ask!(
            "/seqpool.gov.v1.Query/Params",
            gov::v1::QueryParamsRequest {},
            gov::v1::QueryParamsResponse
        ),
        What::Gov(GovQuery::Authority) => ask!(
            "/seqpool.gov.v1.Query/Authority",
            gov::v1::QueryAuthorityRequest {},
            gov::v1::QueryAuthorityResponse
        ),
        What::Admin(AdminQuery::Admin { ref l1_rpc }) => {
            let chain = t
                .call::<_, admin::v1::QueryAdminResponse>(
                    "/seqpool.admin.v1.Query/Admin",
                    admin::v1::QueryAdminRequest {},
                    h,
                )
                .await?;
            let rpc = l1_rpc.clone().unwrap_or(config.l1_rpc.clone());
            let l1 = if rpc.is_empty() {
                None
            } else {
                let params = t
                    .call::<_, mpc::v1::QueryParamsResponse>(
                        "/seqpool.mpc.v1.Query/Params",
                        mpc::v1::QueryParamsRequest {},
                        h,
                    )
                    .await?;
                let governance = params
                    .params
                    .and_then(|p| p.l1)
                    .map(|l1| l1.governance)
                    .context("the chain has no L1 contracts (x/mpc params.l1)")?;
                Some(super::l1_admin::read(&rpc, &governance).await?)
            };
            super::l1_admin::show(&chain, l1.as_ref(), args.output)
        }
        What::Admin(AdminQuery::Params { module }) => show(
            t.call::<_, admin::v1::QueryParamsResponse>(
                "/seqpool.admin.v1.Query/Params",
                admin::v1::QueryParamsRequest { module },
                h,
            )
            .await?,
            args.output,
        ),
        What::Auth(AuthQuery::Account { address }) => show(
            t.call::<_, auth::v1::QueryAccountResponse>(
                "/seqpool.auth.v1.Query/Account",
                auth::v1::QueryAccountRequest { address },
                h,
            )
            .await?,
            args.output,
        ),
        What::Auth(AuthQuery::Accounts) => show(
            t.call::<_, auth::v1::QueryAccountsResponse>(
                "/seqpool.auth.v1.Query/Accounts",
                auth::v1::QueryAccountsRequest {},
                h,
            )
            .await?,
            args.output,
        ),
        What::Auth(AuthQuery::Params) => show(
            t.call::<_, auth::v1::QueryParamsResponse>(
                "/seqpool.auth.v1.Query/Params",
                auth::v1::QueryParamsRequest {},
                h,
            )
            .await?,
            args.output,
        ),
        What::Staking(StakingQuery::Validators) => show(
            t.call::<_, staking::v1::QueryValidatorsResponse>(
                "/seqpool.staking.v1.Query/Validators",
                staking::v1::QueryValidatorsRequest {},
                h,
            )
            .await?,
            args.output,
        ),
        What::Staking(StakingQuery::Liveness) => show(
            t.call::<_, staking::v1::QueryLivenessResponse>(
                "/seqpool.staking.v1.Query/Liveness",
                staking::v1::QueryLivenessRequest {},
                h,
            )
            .await?,
            args.output,
        ),
        What::Staking(StakingQuery::Params) => show(
            t.call::<_, staking::v1::QueryParamsResponse>(
                "/seqpool.staking.v1.Query/Params",
                staking::v1::QueryParamsRequest {},
                h,
            )
            .await?,
            args.output,
        ),
        What::Node(NodeQuery::Status) => show(
            t.call::<_, node::v1::StatusResponse>(
                "/seqpool.node.v1.Node/Status",
                node::v1::StatusRequest {},
                h,
            )
            .await?,
            args.output,
        ),
    }
}

fn show(value: impl Serialize, output: Output) -> Result<()> {
    super::print_json(&value, output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        query: QueryArgs,
    }

    fn parse(args: &[&str]) -> Result<What, clap::Error> {
        Cli::try_parse_from(std::iter::once("query").chain(args.iter().copied()))
            .map(|c| c.query.what)
    }

    #[test]
    fn pool_queries_parse() {
        assert!(matches!(
            parse(&["producer", "at", "7"]),
            Ok(What::Producer(ProducerQuery::At { l2_height: 7 }))
        ));
        assert!(matches!(
            parse(&["schedule", "3"]),
            Ok(What::Schedule { epoch: 3 })
        ));
        assert!(matches!(parse(&["sequencers"]), Ok(What::Sequencers)));
        assert!(matches!(
            parse(&["epoch", "current"]),
            Ok(What::Epoch(EpochQuery::Current))
        ));
        assert!(matches!(
            parse(&["bridge", "event", "4"]),
            Ok(What::Bridge(BridgeQuery::Event { nonce: 4 }))
        ));
        assert!(matches!(
            parse(&["staking", "slashing-requests"]),
            Ok(What::Staking(StakingQuery::SlashingRequests))
        ));
        assert!(matches!(
            parse(&["mpc", "request", "5"]),
            Ok(What::Mpc(MpcQuery::Request { id: 5 }))
        ));
        assert!(matches!(
            parse(&["mpc", "requests", "--status", "signed"]),
            Ok(What::Mpc(MpcQuery::Requests { .. }))
        ));
        assert!(matches!(
            request_status(Some("signed")),
            Ok(mpc::v1::RequestStatus::Signed)
        ));
        assert!(request_status(Some("done")).is_err());
        assert!(parse(&["producer", "at", "-1"]).is_err());
        assert!(parse(&["bridge", "event"]).is_err());
    }

    #[test]
    fn gov_queries_parse() {
        assert!(matches!(
            parse(&["gov", "proposals", "--status", "voting_period"]),
            Ok(What::Gov(GovQuery::Proposals { .. }))
        ));
        assert!(matches!(
            parse(&["gov", "tally", "3"]),
            Ok(What::Gov(GovQuery::Tally { id: 3 }))
        ));
        assert!(matches!(
            parse(&["gov", "authority"]),
            Ok(What::Gov(GovQuery::Authority))
        ));
        assert_eq!(
            proposal_status(Some("passed")).ok(),
            Some(gov::v1::ProposalStatus::Passed)
        );
        assert_eq!(
            proposal_status(Some("PROPOSAL_STATUS_VOTING_PERIOD")).ok(),
            Some(gov::v1::ProposalStatus::VotingPeriod)
        );
        assert!(proposal_status(Some("done")).is_err());
    }
}
