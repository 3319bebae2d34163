//! The node's MPC identity on the command line: the keystore secret flags shared by init, start
//! and `tx mpc`, `seqpoold mpc show-identity`, and the MsgRegisterMember a joiner sends.
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use seqpool_tss::MemberPublic;
use zeroize::Zeroizing;

use super::{HomeArgs, Output};
use crate::mpc::identity::{self, IdentityError, SecretSource};

/// Env variable holding the MPC keystore passphrase (never a command-line flag).
pub const PASSPHRASE_ENV: &str = "SEQPOOL_MPC_PASSPHRASE";

/// Where the MPC keystore's secret comes from. Without any of these, the home's key file
/// `config/mpc_keystore.key` is used (and `init` creates one).
#[derive(Args, Debug, Clone, Default)]
pub struct MpcKeystoreArgs {
    /// File holding the MPC keystore passphrase (else env SEQPOOL_MPC_PASSPHRASE).
    #[arg(long)]
    pub mpc_passphrase_file: Option<PathBuf>,
    /// Key file (at least 32 bytes) that encrypts the MPC keystore instead of a passphrase.
    #[arg(long, conflicts_with = "mpc_passphrase_file")]
    pub mpc_key_file: Option<PathBuf>,
}

impl MpcKeystoreArgs {
    pub fn source(&self) -> SecretSource {
        SecretSource {
            passphrase: std::env::var(PASSPHRASE_ENV)
                .ok()
                .filter(|p| !p.is_empty())
                .map(Zeroizing::new),
            passphrase_file: self.mpc_passphrase_file.clone(),
            key_file: self.mpc_key_file.clone(),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum MpcCommand {
    /// Print the public part of this node's MPC identity (signer key, encryption key, FROST
    /// identifier) from its keystore.
    ShowIdentity {
        #[command(flatten)]
        home: HomeArgs,
        #[command(flatten)]
        mpc: MpcKeystoreArgs,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
}

/// The JSON form of a public identity (hex).
pub fn identity_json(public: &MemberPublic) -> Result<serde_json::Value> {
    Ok(serde_json::json!({
        "identifier": hex::encode(public.identifier()?.serialize()),
        "signer_key": hex::encode(public.signer_key),
        "encryption_key": hex::encode(public.encryption_key),
    }))
}

/// The genesis member of a validator whose node holds `public`.
pub fn genesis_member(
    public: &MemberPublic,
    consensus_address: &str,
) -> Result<seqpool_mpc::Member> {
    Ok(seqpool_mpc::Member {
        validator: consensus_address.to_string(),
        identifier: public.identifier()?.serialize(),
        signer_key: public.signer_key.to_vec(),
        encryption_key: public.encryption_key.to_vec(),
    })
}

/// Opens the home's keystore and reads the identity.
fn open_identity(home: &Path, args: &MpcKeystoreArgs) -> Result<seqpool_tss::MemberSecret> {
    let path = identity::keystore_path(home);
    let secret = args
        .source()
        .resolve(home)?
        .ok_or_else(|| IdentityError::NoSecret(path.clone()))?;
    Ok(identity::open_keystore(&path, &secret)?.1)
}

pub fn run(cmd: MpcCommand) -> Result<()> {
    match cmd {
        MpcCommand::ShowIdentity { home, mpc, output } => {
            let public = open_identity(&home.home, &mpc)?.public();
            let mut json = identity_json(&public)?;
            json["keystore"] = serde_json::json!(identity::keystore_path(&home.home));
            super::print_json(&json, output)
        }
    }
}

/// Writes the node's registrations (keys + proof for `chain_id` and each possible operator
/// account: `operator`, and the consensus key's, which x/staking makes the operator of a
/// validator that joins by an L1 lock). All public.
pub fn write_registration(
    home: &Path,
    identity: &seqpool_tss::MemberSecret,
    chain_id: &str,
    operator: &str,
    consensus_key: &k256::ecdsa::SigningKey,
) -> Result<()> {
    let consensus_account = seqpool_component::address::account_address(
        consensus_key
            .verifying_key()
            .to_encoded_point(true)
            .as_bytes(),
    );
    let msgs = [operator, consensus_account.as_str()]
        .iter()
        .map(|op| seqpool_mpc::members::register_msg(identity, chain_id, op))
        .map(|msg| serde_json::to_value(&msg))
        .collect::<Result<Vec<_>, _>>()?;
    let path = identity::registration_file(home);
    let json = serde_json::json!({
        "chain_id": chain_id,
        "registrations": msgs,
    });
    std::fs::write(&path, serde_json::to_string_pretty(&json)?)
        .with_context(|| format!("write {}", path.display()))
}

/// MsgRegisterMember for the node at `home`, sent by `operator` on `chain_id`: signed with the
/// identity from the keystore, or, while the running node holds the keystore, the registration
/// `init`/`testnet` wrote for this chain and operator.
pub fn register_member_msg(
    home: &Path,
    args: &MpcKeystoreArgs,
    chain_id: &str,
    operator: &str,
) -> Result<seqpool_mpc::MsgRegisterMember> {
    let in_use = match open_identity(home, args) {
        Ok(identity) => {
            return Ok(seqpool_mpc::members::register_msg(
                &identity, chain_id, operator,
            ))
        }
        Err(e) => match e.downcast::<IdentityError>() {
            Ok(IdentityError::InUse(path)) => IdentityError::InUse(path),
            Ok(other) => return Err(anyhow::Error::new(other).context("read the MPC identity")),
            Err(other) => return Err(other.context("read the MPC identity")),
        },
    };
    let path = identity::registration_file(home);
    let saved: Option<seqpool_mpc::MsgRegisterMember> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .filter(|json| json["chain_id"] == chain_id)
        .and_then(|json| {
            serde_json::from_value::<Vec<seqpool_mpc::MsgRegisterMember>>(
                json["registrations"].clone(),
            )
            .ok()
        })
        .and_then(|msgs| msgs.into_iter().find(|m| m.operator == operator));
    saved.ok_or_else(|| {
        anyhow::Error::new(in_use).context(format!(
            "no registration for chain {chain_id} and operator {operator} in {}",
            path.display()
        ))
    })
}
