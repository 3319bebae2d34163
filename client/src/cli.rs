//! Command-line pieces shared by `seqpoold` and `seqpool-sidecar` (feature `cli`): the keyring
//! flags and the passphrase prompt. Errors are anyhow's: this is the binaries' edge.
use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Args;
use zeroize::Zeroizing;

use crate::keyring::{Backend, Keyring};

#[derive(Args, Debug, Clone)]
pub struct KeyringArgs {
    /// Where keys live: `file` (encrypted, default) or `test` (UNENCRYPTED, local devnets only).
    #[arg(long, value_enum, default_value_t = Backend::File, env = "SEQPOOL_KEYRING_BACKEND")]
    pub keyring_backend: Backend,
    /// Passphrase of the file keyring (else env SEQPOOL_KEYRING_PASSPHRASE, else a prompt).
    #[arg(long, env = "SEQPOOL_KEYRING_PASSPHRASE", hide_env_values = true)]
    pub keyring_passphrase: Option<String>,
}

impl KeyringArgs {
    /// Opens the keyring; `secret_needed` asks for the passphrase (file backend) if none was given.
    pub fn open(&self, home: &Path, secret_needed: bool, confirm: bool) -> Result<Keyring> {
        let passphrase = match (self.keyring_backend, &self.keyring_passphrase) {
            (Backend::Test, _) => None,
            (Backend::File, Some(p)) => Some(Zeroizing::new(p.clone())),
            (Backend::File, None) if secret_needed => Some(prompt_passphrase(confirm)?),
            (Backend::File, None) => None,
        };
        Ok(Keyring::open(home, self.keyring_backend, passphrase))
    }
}

/// Asks for the keyring passphrase on the terminal (twice with `confirm`).
pub fn prompt_passphrase(confirm: bool) -> Result<Zeroizing<String>> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        bail!("the file keyring needs a passphrase: pass --keyring-passphrase or set SEQPOOL_KEYRING_PASSPHRASE");
    }
    let first = Zeroizing::new(
        rpassword::prompt_password("Keyring passphrase: ").context("read passphrase")?,
    );
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("Repeat passphrase: ").context("read passphrase")?,
        );
        if *first != *again {
            bail!("the passphrases do not match");
        }
    }
    Ok(first)
}
