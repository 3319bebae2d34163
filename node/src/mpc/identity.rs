//! The node's MPC identity on disk: a tss [`MemberSecret`] inside the encrypted keystore
//! `<home>/data/mpc_keystore`, whose key comes from the operator's passphrase or a key file
//! (`<home>/config/mpc_keystore.key`, mode 0600, made by `init`/`testnet` when no passphrase is
//! given). No secret of the MPC role is ever written anywhere else.
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;
use seqpool_tss::keystore::{KdfParams, Keystore, KeystoreSecret};
use seqpool_tss::{MemberSecret, TssError};
use zeroize::Zeroizing;

use super::MpcNode;

pub fn keystore_path(home: &Path) -> PathBuf {
    home.join("data").join("mpc_keystore")
}

pub fn default_key_file(home: &Path) -> PathBuf {
    home.join("config").join("mpc_keystore.key")
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("no MPC keystore at {0}")]
    Missing(PathBuf),
    #[error("no secret for the MPC keystore at {0}: pass --mpc-passphrase-file or --mpc-key-file, or set SEQPOOL_MPC_PASSPHRASE")]
    NoSecret(PathBuf),
    #[error("the MPC keystore at {0} does not open: wrong passphrase or key file")]
    WrongSecret(PathBuf),
    #[error("the MPC keystore at {0} is in use by another process (stop seqpoold first)")]
    InUse(PathBuf),
    #[error("the MPC keystore at {0} holds no member identity (create it with `seqpoold init`)")]
    NoIdentity(PathBuf),
    #[error("MPC keystore at {path}: {source}")]
    Keystore { path: PathBuf, source: TssError },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where the keystore's secret comes from: the CLI flags and environment of init/start/tx.
#[derive(Clone, Debug, Default)]
pub struct SecretSource {
    /// The passphrase itself (env SEQPOOL_MPC_PASSPHRASE).
    pub passphrase: Option<Zeroizing<String>>,
    /// A file holding the passphrase (one line; a trailing newline is ignored).
    pub passphrase_file: Option<PathBuf>,
    /// A key file: its whole content is the secret (at least 32 bytes).
    pub key_file: Option<PathBuf>,
}

impl SecretSource {
    /// The explicitly given secret, else the home's key file when it exists.
    pub fn resolve(&self, home: &Path) -> Result<Option<KeystoreSecret>, IdentityError> {
        if let Some(path) = &self.key_file {
            return Ok(Some(KeystoreSecret::KeyFile(path.clone())));
        }
        if let Some(path) = &self.passphrase_file {
            let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
                IdentityError::Io {
                    what: "read the MPC passphrase file",
                    path: path.clone(),
                    source,
                }
            })?);
            let line = text.trim_end_matches(['\n', '\r']);
            return Ok(Some(KeystoreSecret::passphrase(line)));
        }
        if let Some(p) = &self.passphrase {
            return Ok(Some(KeystoreSecret::passphrase(p)));
        }
        let default = default_key_file(home);
        Ok(default.exists().then_some(KeystoreSecret::KeyFile(default)))
    }
}

fn keystore_error(path: &Path, e: TssError) -> IdentityError {
    match e {
        TssError::WrongPassphrase => IdentityError::WrongSecret(path.to_path_buf()),
        TssError::Storage(s) if s.to_lowercase().contains("lock") => {
            IdentityError::InUse(path.to_path_buf())
        }
        source => IdentityError::Keystore {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// Writes a new random key file (hex of 32 random bytes) readable by its owner only.
fn write_key_file(path: &Path) -> Result<(), IdentityError> {
    let io = |what, source| IdentityError::Io {
        what,
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("create the directory of", e))?;
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(bytes.as_mut_slice());
    let text = Zeroizing::new(hex::encode(bytes.as_slice()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| io("create the MPC key file", e))?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| io("write the MPC key file", e))
}

/// Opens the keystore at `path` (which must exist) and reads its member identity.
pub fn open_keystore(
    path: &Path,
    secret: &KeystoreSecret,
) -> Result<(Keystore, MemberSecret), IdentityError> {
    if !path.join("CURRENT").exists() {
        return Err(IdentityError::Missing(path.to_path_buf()));
    }
    let mut keystore = Keystore::open(path, secret).map_err(|e| keystore_error(path, e))?;
    let identity = keystore
        .identity()
        .map_err(|e| keystore_error(path, e))?
        .ok_or_else(|| IdentityError::NoIdentity(path.to_path_buf()))?;
    Ok((keystore, identity))
}

/// Creates the home's keystore with a new member identity (or returns the identity it already
/// holds). Without an explicit secret, a new key file is made at the default path.
pub fn create_identity(
    home: &Path,
    source: &SecretSource,
    kdf: KdfParams,
) -> Result<MemberSecret, IdentityError> {
    let path = keystore_path(home);
    let secret = match source.resolve(home)? {
        Some(s) => s,
        None => {
            if path.exists() {
                return Err(IdentityError::NoSecret(path));
            }
            let key_file = default_key_file(home);
            write_key_file(&key_file)?;
            KeystoreSecret::KeyFile(key_file)
        }
    };
    std::fs::create_dir_all(&path).map_err(|source| IdentityError::Io {
        what: "create",
        path: path.clone(),
        source,
    })?;
    let mut keystore =
        Keystore::open_with(&path, &secret, kdf).map_err(|e| keystore_error(&path, e))?;
    if let Some(existing) = keystore.identity().map_err(|e| keystore_error(&path, e))? {
        return Ok(existing);
    }
    let identity = MemberSecret::random(&mut rand::rngs::OsRng);
    keystore
        .put_identity(&identity)
        .map_err(|e| keystore_error(&path, e))?;
    Ok(identity)
}

/// `<home>/config/mpc_registration.json`: the MsgRegisterMember of this node's identity for
/// the chain and operator it was made for (public: keys and proof), so the operator can
/// register while the node holds the keystore.
pub fn registration_file(home: &Path) -> PathBuf {
    home.join("config").join("mpc_registration.json")
}

/// The node's MPC engine for `seqpoold start`: `Ok(None)` when the home has no keystore (the
/// node then runs without MPC duties).
pub fn open_node(home: &Path, source: &SecretSource) -> Result<Option<MpcNode>, IdentityError> {
    let path = keystore_path(home);
    if !path.exists() {
        return Ok(None);
    }
    let secret = source
        .resolve(home)?
        .ok_or_else(|| IdentityError::NoSecret(path.clone()))?;
    let (keystore, identity) = open_keystore(&path, &secret)?;
    Ok(Some(MpcNode::new(identity, keystore)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fast() -> KdfParams {
        KdfParams {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[test]
    fn key_file_identity_is_created_once_and_opens() {
        let home = tempfile::tempdir().unwrap();
        let public = create_identity(home.path(), &SecretSource::default(), fast())
            .unwrap()
            .public();
        let key_file = default_key_file(home.path());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A second init keeps the identity (and the key file).
        let again = create_identity(home.path(), &SecretSource::default(), fast()).unwrap();
        assert_eq!(again.public(), public);
        let node = open_node(home.path(), &SecretSource::default())
            .unwrap()
            .unwrap();
        assert_eq!(node.identity.public(), public);
        // The keystore is locked while the node holds it.
        let err = open_node(home.path(), &SecretSource::default())
            .err()
            .unwrap();
        assert!(matches!(err, IdentityError::InUse(_)), "{err}");
    }

    #[test]
    fn passphrase_identity_errors_are_clear() {
        let home = tempfile::tempdir().unwrap();
        let pass_file = home.path().join("pass.txt");
        std::fs::write(&pass_file, "correct horse\n").unwrap();
        let with_file = SecretSource {
            passphrase_file: Some(pass_file),
            ..Default::default()
        };
        let public = create_identity(home.path(), &with_file, fast())
            .unwrap()
            .public();
        assert!(!default_key_file(home.path()).exists());
        // Same passphrase from the environment form.
        let env_form = SecretSource {
            passphrase: Some(Zeroizing::new("correct horse".into())),
            ..Default::default()
        };
        let node = open_node(home.path(), &env_form).unwrap().unwrap();
        assert_eq!(node.identity.public(), public);
        drop(node);
        let wrong = SecretSource {
            passphrase: Some(Zeroizing::new("wrong".into())),
            ..Default::default()
        };
        let err = open_node(home.path(), &wrong).err().unwrap();
        assert!(matches!(err, IdentityError::WrongSecret(_)), "{err}");
        assert!(err.to_string().contains("wrong passphrase or key file"));
        let err = open_node(home.path(), &SecretSource::default())
            .err()
            .unwrap();
        assert!(matches!(err, IdentityError::NoSecret(_)), "{err}");
        // No keystore at all: no MPC duties, not an error.
        let empty = tempfile::tempdir().unwrap();
        assert!(open_node(empty.path(), &SecretSource::default())
            .unwrap()
            .is_none());
    }
}
