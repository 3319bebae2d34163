//! `seqpoold tx`: build, sign with a keyring key, broadcast (`broadcast_tx_sync`), wait for the block.
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use cosmrs::Any;
use seqpool_component::codes;

use super::{HomeArgs, KeyringArgs, Output};
use seqpool_client::Rpc;

#[derive(Args, Debug)]
pub struct TxOpts {
    /// Keyring name of the signing key.
    #[arg(long, required_unless_present = "consensus_key")]
    pub from: Option<String>,
    /// Sign with the home's CometBFT key (config/priv_validator_key.json) instead of a keyring
    /// key: the operator account of a validator that joined by an L1 lock.
    #[arg(long, conflicts_with = "from")]
    pub consensus_key: bool,
    #[command(flatten)]
    pub home: HomeArgs,
    #[command(flatten)]
    pub keyring: KeyringArgs,
    /// CometBFT RPC (default: `cometbft_rpc` of the home's app.toml).
    #[arg(long)]
    pub node: Option<String>,
    /// Chain id to sign for (default: the node's network).
    #[arg(long)]
    pub chain_id: Option<String>,
    #[arg(long, default_value = "")]
    pub memo: String,
    /// How long to wait for the tx to be included in a block.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}

#[derive(Subcommand, Debug)]
pub enum TxCommand {
    /// Admin messages (x/admin).
    #[command(subcommand)]
    Admin(AdminTx),
    /// MPC messages (x/mpc).
    #[command(subcommand)]
    Mpc(MpcTx),
    /// Governance: proposals and votes (x/gov).
    #[command(subcommand)]
    Gov(GovTx),
}

#[derive(Subcommand, Debug)]
pub enum GovTx {
    /// Submit a proposal from a JSON file: {"title", "summary", "metadata", "expedited",
    /// "messages": [{"@type": "/seqpool.admin.v1.MsgUpdateParams", "authority": <gov authority>,
    /// "params": {"@type": "/seqpool.auth.v1.Params", ...}}]}. The --from key must operate an
    /// active validator; `seqpoold query gov authority` prints the authority to name.
    SubmitProposal {
        file: std::path::PathBuf,
        #[command(flatten)]
        opts: TxOpts,
    },
    /// Vote on a proposal: yes, no, abstain or no_with_veto. A later vote replaces the earlier.
    Vote {
        proposal_id: u64,
        option: String,
        #[command(flatten)]
        opts: TxOpts,
    },
    /// Split the vote between options: `yes=0.6,no=0.4` (weights sum to 1).
    WeightedVote {
        proposal_id: u64,
        options: String,
        #[command(flatten)]
        opts: TxOpts,
    },
    /// Withdraw your own proposal while its voting is open.
    Cancel {
        proposal_id: u64,
        #[command(flatten)]
        opts: TxOpts,
    },
}

#[derive(Subcommand, Debug)]
pub enum MpcTx {
    /// Register this node's MPC identity (from the keystore in --home, or the registration
    /// `init` wrote while the node runs) for the validator the --from operator operates.
    RegisterMember {
        #[command(flatten)]
        opts: TxOpts,
        #[command(flatten)]
        mpc: super::mpc::MpcKeystoreArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdminTx {
    /// Replace a module's params: `update-params staking '{"livenessWindow":"200"}'`.
    UpdateParams {
        /// Module whose params change (auth, staking).
        module: String,
        /// The module's full Params message in proto3 JSON.
        params_json: String,
        #[command(flatten)]
        opts: TxOpts,
    },
    /// Hand the admin role to another account.
    Transfer {
        new_admin: String,
        #[command(flatten)]
        opts: TxOpts,
    },
    /// Give up the admin role for good: afterwards only passed proposals act for the chain.
    Retire {
        #[command(flatten)]
        opts: TxOpts,
    },
}

/// Parses "30s", "500ms", "2m" or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (examples: 30s, 500ms, 2m)"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        _ => Err(format!("invalid duration unit in {s:?} (use ms, s or m)")),
    }
}

pub async fn run(cmd: TxCommand) -> Result<()> {
    match cmd {
        TxCommand::Admin(AdminTx::UpdateParams {
            module,
            params_json,
            opts,
        }) => {
            send(opts, |from, _| {
                Ok(vec![seqpool_client::update_params_msg(
                    from,
                    &module,
                    &params_json,
                )?])
            })
            .await
        }
        TxCommand::Admin(AdminTx::Transfer { new_admin, opts }) => {
            seqpool_component::address::parse_account(&new_admin)
                .map_err(|e| anyhow::anyhow!("new admin: {e}"))?;
            send(opts, |from, _| {
                Ok(vec![seqpool_client::transfer_admin_msg(from, &new_admin)])
            })
            .await
        }
        TxCommand::Admin(AdminTx::Retire { opts }) => {
            send(opts, |from, _| {
                Ok(vec![seqpool_client::gov::retire_admin_msg(from)])
            })
            .await
        }
        TxCommand::Gov(GovTx::SubmitProposal { file, opts }) => {
            let json = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            send(opts, |from, _| {
                Ok(vec![seqpool_client::gov::submit_proposal_msg(from, &json)?])
            })
            .await
        }
        TxCommand::Gov(GovTx::Vote {
            proposal_id,
            option,
            opts,
        }) => {
            send(opts, |from, _| {
                Ok(vec![seqpool_client::gov::vote_msg(
                    from,
                    proposal_id,
                    &option,
                )?])
            })
            .await
        }
        TxCommand::Gov(GovTx::WeightedVote {
            proposal_id,
            options,
            opts,
        }) => {
            send(opts, |from, _| {
                Ok(vec![seqpool_client::gov::weighted_vote_msg(
                    from,
                    proposal_id,
                    &options,
                )?])
            })
            .await
        }
        TxCommand::Gov(GovTx::Cancel { proposal_id, opts }) => {
            send(opts, |from, _| {
                Ok(vec![seqpool_client::gov::cancel_proposal_msg(
                    from,
                    proposal_id,
                )])
            })
            .await
        }
        TxCommand::Mpc(MpcTx::RegisterMember { opts, mpc }) => {
            let home = opts.home.home.clone();
            send(opts, |from, chain_id| {
                let msg = super::mpc::register_member_msg(&home, &mpc, chain_id, from)?;
                Ok(vec![Any {
                    type_url: <seqpool_mpc::MsgRegisterMember as prost::Name>::type_url(),
                    value: prost::Message::encode_to_vec(&msg),
                }])
            })
            .await
        }
    }
}

/// Signs the messages `build(from, chain_id)` makes and broadcasts them.
async fn send(opts: TxOpts, build: impl FnOnce(&str, &str) -> Result<Vec<Any>>) -> Result<()> {
    let key = match &opts.from {
        Some(name) => opts
            .keyring
            .open(&opts.home.home, true, false)?
            .signing_key(name)?,
        None => super::home::read_consensus_key(&opts.home.home)?,
    };
    let from = seqpool_client::address_of(&key);
    let config = super::app_config_or_default(&opts.home.home)?;
    let rpc = Rpc::new(opts.node.as_deref().unwrap_or(&config.cometbft_rpc))?;
    let chain_id = match opts.chain_id {
        Some(c) => c,
        None => rpc.status().await?.network,
    };
    let msgs = build(&from, &chain_id)?;
    let checked =
        seqpool_client::sign_and_broadcast(&rpc, &key, &chain_id, msgs, &opts.memo).await?;
    if checked.code != codes::OK {
        let result = serde_json::json!({
            "hash": checked.hash, "code": checked.code, "codespace": checked.codespace,
            "code_name": codes::name(checked.code), "log": checked.log, "stage": "check_tx",
        });
        if opts.output == Output::Json {
            super::print_json(&result, opts.output)?;
        }
        bail!(
            "tx {} refused by CheckTx: code {} ({}): {}",
            checked.hash,
            checked.code,
            codes::name(checked.code),
            checked.log
        );
    }
    let included = rpc.wait_for_tx(&checked.hash, opts.timeout).await?;
    let proposal_id = included.attribute("seqpool.gov.v1.EventSubmitProposal", "proposal_id");
    match opts.output {
        Output::Json => {
            let mut shown = serde_json::json!({
                "hash": included.hash, "height": included.height, "code": included.code,
                "codespace": included.codespace, "code_name": codes::name(included.code), "log": included.log,
            });
            if let Some(id) = proposal_id {
                shown["proposal_id"] = serde_json::Value::String(id.to_string());
            }
            super::print_json(&shown, opts.output)?
        }
        Output::Text => {
            println!(
                "hash: {}\nheight: {}\ncode: {} ({})\nlog: {}",
                included.hash,
                included.height,
                included.code,
                codes::name(included.code),
                included.log
            );
            if let Some(id) = proposal_id {
                println!("proposal_id: {id}");
            }
        }
    }
    if included.code != codes::OK {
        bail!(
            "tx {} failed in block {}: code {} ({}): {}",
            included.hash,
            included.height,
            included.code,
            codes::name(included.code),
            included.log
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("s").is_err());
    }
}
