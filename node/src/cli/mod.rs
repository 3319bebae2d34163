//! The `seqpoold` command line: init, start, keys, tx, query, testnet, load, version.
//!
//! Errors reach the user as one line on stderr and exit code 1 (anyhow at this edge only).
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

pub use seqpool_client::cli::KeyringArgs;

pub mod genesis;
pub mod home;
mod init;
mod keys;
mod l1_admin;
pub mod load;
pub mod mpc;
mod query;
pub mod testnet;
pub mod testnet_l1;
pub mod testnet_l2;
mod tx;

#[derive(Parser, Debug)]
#[command(
    name = "seqpoold",
    version,
    about = "seqpool node: decentralized sequencer pool on CometBFT",
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct HomeArgs {
    /// Node home directory (config/, data/, keyring/).
    #[arg(long, env = "SEQPOOL_HOME", default_value_os_t = default_home())]
    pub home: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    #[default]
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a node home: CometBFT config, genesis with this node as the only validator, keys.
    Init(init::InitArgs),
    /// Run the node (ABCI server for CometBFT, gRPC, REST) until SIGINT/SIGTERM.
    Start {
        #[command(flatten)]
        home: HomeArgs,
        #[command(flatten)]
        mpc: mpc::MpcKeystoreArgs,
    },
    /// Manage operator keys in the home's keyring.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Build, sign and broadcast a transaction, then wait for its result.
    #[command(subcommand)]
    Tx(tx::TxCommand),
    /// This node's MPC identity (the encrypted tss keystore in the home).
    #[command(subcommand)]
    Mpc(mpc::MpcCommand),
    /// Query chain state over gRPC (or abci_query with --abci).
    Query(query::QueryArgs),
    /// Write the homes of an N-validator local testnet sharing one genesis.
    Testnet(testnet::TestnetArgs),
    /// The genesis params templates, and a check of a template or genesis.json.
    #[command(subcommand)]
    Genesis(genesis::GenesisCommand),
    /// Send signed txs through a devnet and measure sustained throughput.
    Load(load::LoadArgs),
    /// Print the version.
    Version {
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
}

pub fn default_home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".seqpool")
}

/// Entry point of the binary.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and succeed; usage errors go to stderr.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line: "context: cause: root cause".
pub fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string().replace('\n', " ");
        if !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")
}

fn execute(command: Command) -> Result<()> {
    match command {
        Command::Init(args) => init::run(args),
        Command::Start { home, mpc } => {
            runtime()?.block_on(crate::node::run(&home.home, &mpc.source()))
        }
        Command::Mpc(cmd) => mpc::run(cmd),
        Command::Keys(cmd) => keys::run(cmd),
        Command::Tx(cmd) => runtime()?.block_on(tx::run(cmd)),
        Command::Query(args) => runtime()?.block_on(query::run(args)),
        Command::Testnet(args) => testnet::run(args).map(|_| ()),
        Command::Genesis(cmd) => genesis::run(cmd),
        Command::Load(args) => runtime()?.block_on(load::run(args)),
        Command::Version { output } => {
            let version = env!("CARGO_PKG_VERSION");
            match output {
                Output::Text => println!("seqpoold {version} (CometBFT v0.38, ABCI 2.0)"),
                Output::Json => println!(
                    "{}",
                    serde_json::json!({ "version": version, "cometbft": "0.38", "abci": "2.0" })
                ),
            }
            Ok(())
        }
    }
}

/// Prints a serialisable value as pretty JSON (text) or one line of JSON.
pub fn print_json(value: &impl serde::Serialize, output: Output) -> Result<()> {
    let text = match output {
        Output::Text => serde_json::to_string_pretty(value)?,
        Output::Json => serde_json::to_string(value)?,
    };
    println!("{text}");
    Ok(())
}

/// app.toml of `home` if there is one, else the defaults (a CLI used from a client machine).
pub fn app_config_or_default(home: &Path) -> Result<crate::config::AppConfig> {
    if crate::config::AppConfig::path(home).exists() {
        Ok(crate::config::AppConfig::load(home)?)
    } else {
        Ok(crate::config::AppConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn error_chain_is_one_line() {
        let e = anyhow::anyhow!("root\ncause")
            .context("reading x")
            .context("init");
        assert_eq!(one_line(&e), "init: reading x: root cause");
    }
}
