//! `seqpoold keys`: add, list, show, import, export, delete.
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use zeroize::Zeroizing;

use super::{HomeArgs, KeyringArgs, Output};

#[derive(Args, Debug)]
pub struct Common {
    #[command(flatten)]
    pub home: HomeArgs,
    #[command(flatten)]
    pub keyring: KeyringArgs,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Generate a new key.
    Add {
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// List every key (no passphrase needed).
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Show a key's address and public key (no passphrase needed).
    Show {
        name: String,
        /// Print only the address.
        #[arg(long, short = 'a')]
        address: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Import a key: an encrypted export (--file) or a raw hex private key (--hex, read from stdin if "-").
    Import {
        name: String,
        /// File written by `keys export`.
        #[arg(long, conflicts_with = "hex")]
        file: Option<std::path::PathBuf>,
        /// Hex private key, or "-" to read it from stdin (keeps it out of the shell history).
        #[arg(long)]
        hex: Option<String>,
        /// Passphrase the export was encrypted with (default: the keyring passphrase).
        #[arg(long, env = "SEQPOOL_EXPORT_PASSPHRASE", hide_env_values = true)]
        export_passphrase: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Export a key, encrypted with the keyring passphrase (or in raw hex with --unsafe-hex).
    Export {
        name: String,
        /// Print the raw private key in hex. Anyone who sees it controls the account.
        #[arg(long)]
        unsafe_hex: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Delete a key (the passphrase must open it first).
    Delete {
        name: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
        #[command(flatten)]
        common: Common,
    },
}

fn print_info(info: &seqpool_client::keyring::KeyInfo, output: Output) -> Result<()> {
    match output {
        Output::Text => {
            println!(
                "- name: {}\n  address: {}\n  pubkey: {}",
                info.name, info.address, info.pub_key
            );
            Ok(())
        }
        Output::Json => super::print_json(info, output),
    }
}

pub fn run(cmd: KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::Add { name, common } => {
            let ring = common.keyring.open(&common.home.home, true, true)?;
            let info = ring.add(&name)?;
            print_info(&info, common.output)
        }
        KeysCommand::List { common } => {
            let ring = common.keyring.open(&common.home.home, false, false)?;
            let keys = ring.list()?;
            match common.output {
                Output::Json => super::print_json(&keys, common.output),
                Output::Text => {
                    if keys.is_empty() {
                        println!("no keys in {}", ring.dir().display());
                    }
                    keys.iter().try_for_each(|k| print_info(k, Output::Text))
                }
            }
        }
        KeysCommand::Show {
            name,
            address,
            common,
        } => {
            let ring = common.keyring.open(&common.home.home, false, false)?;
            let info = ring.show(&name)?;
            if address {
                println!("{}", info.address);
                Ok(())
            } else {
                print_info(&info, common.output)
            }
        }
        KeysCommand::Import {
            name,
            file,
            hex,
            export_passphrase,
            common,
        } => {
            let ring = common.keyring.open(&common.home.home, true, true)?;
            let info = match (file, hex) {
                (Some(path), None) => {
                    let text = Zeroizing::new(
                        std::fs::read_to_string(&path)
                            .with_context(|| format!("read {}", path.display()))?,
                    );
                    let pass = match (export_passphrase, &common.keyring.keyring_passphrase) {
                        (Some(p), _) => Zeroizing::new(p),
                        (None, Some(p)) => Zeroizing::new(p.clone()),
                        (None, None) => seqpool_client::cli::prompt_passphrase(false)?,
                    };
                    ring.import_encrypted(&name, &text, pass.as_bytes())?
                }
                (None, Some(h)) => {
                    let secret = if h == "-" {
                        let mut line = Zeroizing::new(String::new());
                        std::io::stdin()
                            .read_line(&mut line)
                            .context("read the private key from stdin")?;
                        line
                    } else {
                        Zeroizing::new(h)
                    };
                    ring.import_hex(&name, secret.trim())?
                }
                _ => bail!("give exactly one of --file <export> or --hex <key|->"),
            };
            print_info(&info, common.output)
        }
        KeysCommand::Export {
            name,
            unsafe_hex,
            common,
        } => {
            let ring = common.keyring.open(&common.home.home, true, false)?;
            if unsafe_hex {
                eprintln!("WARNING: this is the raw private key of {name}; anyone who sees it controls the account.");
                let secret = ring.export_hex(&name)?;
                println!("{}", secret.as_str());
            } else {
                let exported = Zeroizing::new(ring.export_encrypted(&name)?);
                println!("{}", exported.as_str());
            }
            Ok(())
        }
        KeysCommand::Delete { name, yes, common } => {
            let ring = common.keyring.open(&common.home.home, true, false)?;
            if !yes {
                use std::io::{BufRead, IsTerminal, Write};
                if !std::io::stdin().is_terminal() {
                    bail!("refusing to delete {name:?} without confirmation: pass --yes");
                }
                eprint!("Delete key {name:?} for good? [y/N] ");
                std::io::stderr().flush().ok();
                let mut answer = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut answer)
                    .context("read confirmation")?;
                if !matches!(answer.trim(), "y" | "Y" | "yes") {
                    bail!("not deleted");
                }
            }
            let info = ring.delete(&name)?;
            match common.output {
                Output::Text => println!("deleted key {} ({})", info.name, info.address),
                Output::Json => super::print_json(&info, common.output)?,
            }
            Ok(())
        }
    }
}
