//! Operator keyring: secp256k1 account keys stored in the node home.
//!
//! The default `file` backend keeps each key in `<home>/keyring/<name>.json`, encrypted with
//! XChaCha20-Poly1305 under a key derived from the passphrase with Argon2id. The key name and address
//! are bound as associated data, so a renamed or swapped file fails to open instead of signing as the
//! wrong account. The `test` backend (`<home>/keyring-test/`) stores keys in the clear and exists only
//! for throwaway devnets and tests; it is never the default.
use std::fmt;
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use k256::ecdsa::SigningKey;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Directory of the encrypted backend, relative to the home.
pub const FILE_DIR: &str = "keyring";
/// Directory of the unencrypted devnet backend, relative to the home.
pub const TEST_DIR: &str = "keyring-test";
const FILE_FORMAT: &str = "seqpool-key-v1";
const TEST_WARNING: &str = "UNENCRYPTED test keyring: for local devnets only, never for real keys";

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("key name {0:?} is invalid: use 1-64 characters from a-z, A-Z, 0-9, '-', '_', '.' (not starting with '.')")]
    InvalidName(String),
    #[error("key {name:?} already exists in {dir}")]
    AlreadyExists { name: String, dir: PathBuf },
    #[error("key {name:?} not found in {dir}")]
    NotFound { name: String, dir: PathBuf },
    #[error("wrong passphrase for key {0:?} (or the key file was tampered with)")]
    WrongPassphrase(String),
    #[error("the passphrase is empty; the file keyring needs one (or use --keyring-backend test on a devnet)")]
    EmptyPassphrase,
    #[error("key file {path} is malformed: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(String),
    #[error("key derivation failed: {0}")]
    Kdf(String),
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> KeyringError + 'a {
    move |source| KeyringError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Where and how keys are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Encrypted with a passphrase (Argon2id + XChaCha20-Poly1305). The default.
    File,
    /// UNENCRYPTED, for local devnets and tests only.
    Test,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::File => "file",
            Backend::Test => "test",
        })
    }
}

/// Public facts about a stored key (no secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub name: String,
    pub address: String,
    /// Compressed secp256k1 public key, base64.
    pub pub_key: String,
}

impl KeyInfo {
    fn of(name: &str, key: &SigningKey) -> Self {
        let pub_key = key.verifying_key().to_encoded_point(true);
        KeyInfo {
            name: name.to_string(),
            address: seqpool_component::address::account_address(pub_key.as_bytes()),
            pub_key: B64.encode(pub_key.as_bytes()),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct KdfParams {
    algorithm: String,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
}

/// On-disk format of an encrypted key (also what `keys export` prints).
#[derive(Serialize, Deserialize)]
pub struct EncryptedKeyFile {
    format: String,
    #[serde(flatten)]
    info: KeyInfo,
    kdf: KdfParams,
    cipher: String,
    nonce: String,
    ciphertext: String,
}

/// On-disk format of a test-backend key.
#[derive(Serialize, Deserialize)]
struct PlainKeyFile {
    warning: String,
    #[serde(flatten)]
    info: KeyInfo,
    /// 32-byte secp256k1 scalar, hex.
    private_key: String,
}

/// Argon2id cost; the defaults follow OWASP's recommendation (19 MiB, 2 passes).
#[derive(Clone, Copy, Debug)]
pub struct KdfCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for KdfCost {
    fn default() -> Self {
        KdfCost {
            memory_kib: 19 * 1024,
            iterations: 2,
        }
    }
}

pub struct Keyring {
    dir: PathBuf,
    backend: Backend,
    passphrase: Option<Zeroizing<String>>,
    cost: KdfCost,
}

impl Keyring {
    /// Opens (without creating) the keyring of `home` for `backend`. The file backend needs a
    /// passphrase for anything that reads or writes a secret.
    pub fn open(home: &Path, backend: Backend, passphrase: Option<Zeroizing<String>>) -> Self {
        let dir = home.join(match backend {
            Backend::File => FILE_DIR,
            Backend::Test => TEST_DIR,
        });
        Keyring {
            dir,
            backend,
            passphrase,
            cost: KdfCost::default(),
        }
    }

    /// Uses a cheaper KDF (tests only; the files stay readable because the cost is stored in them).
    pub fn with_cost(mut self, cost: KdfCost) -> Self {
        self.cost = cost;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn path_of(&self, name: &str) -> Result<PathBuf, KeyringError> {
        validate_name(name)?;
        Ok(self.dir.join(format!("{name}.json")))
    }

    fn passphrase(&self) -> Result<&[u8], KeyringError> {
        match &self.passphrase {
            Some(p) if !p.is_empty() => Ok(p.as_bytes()),
            _ => Err(KeyringError::EmptyPassphrase),
        }
    }

    /// Generates a new random key under `name`.
    pub fn add(&self, name: &str) -> Result<KeyInfo, KeyringError> {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        self.store(name, &key)
    }

    /// Stores an existing key under `name`.
    pub fn store(&self, name: &str, key: &SigningKey) -> Result<KeyInfo, KeyringError> {
        let path = self.path_of(name)?;
        if path.exists() {
            return Err(KeyringError::AlreadyExists {
                name: name.to_string(),
                dir: self.dir.clone(),
            });
        }
        let info = KeyInfo::of(name, key);
        let contents = match self.backend {
            Backend::File => serde_json::to_vec_pretty(&self.encrypt(&info, key)?),
            Backend::Test => {
                let secret = Zeroizing::new(hex::encode(key.to_bytes()));
                serde_json::to_vec_pretty(&PlainKeyFile {
                    warning: TEST_WARNING.to_string(),
                    info: info.clone(),
                    private_key: secret.to_string(),
                })
            }
        }
        .map_err(|e| KeyringError::Malformed {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let contents = Zeroizing::new(contents);
        write_private(&self.dir, &path, &contents)?;
        Ok(info)
    }

    /// Imports a 32-byte private key given in hex.
    pub fn import_hex(&self, name: &str, private_key_hex: &str) -> Result<KeyInfo, KeyringError> {
        let bytes = Zeroizing::new(
            hex::decode(private_key_hex.trim().trim_start_matches("0x"))
                .map_err(|e| KeyringError::InvalidPrivateKey(format!("not hex: {e}")))?,
        );
        let key = SigningKey::from_slice(&bytes).map_err(|_| {
            KeyringError::InvalidPrivateKey("not a valid 32-byte secp256k1 scalar".into())
        })?;
        self.store(name, &key)
    }

    /// Imports a key exported by [`Keyring::export_encrypted`], decrypting it with `export_passphrase`.
    pub fn import_encrypted(
        &self,
        name: &str,
        exported: &str,
        export_passphrase: &[u8],
    ) -> Result<KeyInfo, KeyringError> {
        let source = PathBuf::from("<import>");
        let file: EncryptedKeyFile =
            serde_json::from_str(exported).map_err(|e| KeyringError::Malformed {
                path: source.clone(),
                reason: e.to_string(),
            })?;
        let key = decrypt(&file, export_passphrase, &source)?;
        self.store(name, &key)
    }

    /// Names and addresses of every key, sorted by name.
    pub fn list(&self) -> Result<Vec<KeyInfo>, KeyringError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("read directory", &self.dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.map_err(io_err("read directory", &self.dir))?.path();
            if path.extension().is_some_and(|e| e == "json") {
                out.push(self.read_info(&path)?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn read_info(&self, path: &Path) -> Result<KeyInfo, KeyringError> {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io_err("read", path))?);
        #[derive(Deserialize)]
        struct InfoOnly {
            #[serde(flatten)]
            info: KeyInfo,
        }
        let parsed: InfoOnly =
            serde_json::from_str(&text).map_err(|e| KeyringError::Malformed {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        Ok(parsed.info)
    }

    /// Public facts of one key; needs no passphrase.
    pub fn show(&self, name: &str) -> Result<KeyInfo, KeyringError> {
        let path = self.existing(name)?;
        self.read_info(&path)
    }

    fn existing(&self, name: &str) -> Result<PathBuf, KeyringError> {
        let path = self.path_of(name)?;
        if !path.exists() {
            return Err(KeyringError::NotFound {
                name: name.to_string(),
                dir: self.dir.clone(),
            });
        }
        Ok(path)
    }

    /// The signing key of `name` (decrypting it with the passphrase for the file backend).
    pub fn signing_key(&self, name: &str) -> Result<SigningKey, KeyringError> {
        let path = self.existing(name)?;
        let text = Zeroizing::new(std::fs::read_to_string(&path).map_err(io_err("read", &path))?);
        let malformed = |reason: String| KeyringError::Malformed {
            path: path.clone(),
            reason,
        };
        let key = match self.backend {
            Backend::File => {
                let file: EncryptedKeyFile =
                    serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
                decrypt(&file, self.passphrase()?, &path)?
            }
            Backend::Test => {
                let file: PlainKeyFile =
                    serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
                let bytes = Zeroizing::new(
                    hex::decode(&file.private_key)
                        .map_err(|e| malformed(format!("private_key: {e}")))?,
                );
                let key = SigningKey::from_slice(&bytes)
                    .map_err(|_| malformed("private_key is not a valid secp256k1 scalar".into()))?;
                if KeyInfo::of(&file.info.name, &key) != file.info {
                    return Err(malformed(
                        "address or pub_key does not match private_key".into(),
                    ));
                }
                key
            }
        };
        // A renamed file would otherwise sign under a name the operator did not create it with.
        if KeyInfo::of(name, &key) != self.read_info(&path)? {
            return Err(KeyringError::Malformed {
                path,
                reason: format!("the file holds a key not named {name:?}"),
            });
        }
        Ok(key)
    }

    /// The key as an encrypted JSON document, readable by `import_encrypted` with the same passphrase.
    pub fn export_encrypted(&self, name: &str) -> Result<String, KeyringError> {
        let key = self.signing_key(name)?;
        let passphrase = self.passphrase()?;
        let file = encrypt(&KeyInfo::of(name, &key), &key, passphrase, self.cost)?;
        serde_json::to_string_pretty(&file).map_err(|e| KeyringError::Malformed {
            path: PathBuf::from(name),
            reason: e.to_string(),
        })
    }

    /// The raw private key in hex. The caller must make the user confirm this is wanted.
    pub fn export_hex(&self, name: &str) -> Result<Zeroizing<String>, KeyringError> {
        let key = self.signing_key(name)?;
        Ok(Zeroizing::new(hex::encode(key.to_bytes())))
    }

    /// Removes a key. For the file backend the passphrase must open it first, so a typo in the
    /// name of someone else's key cannot delete it silently.
    pub fn delete(&self, name: &str) -> Result<KeyInfo, KeyringError> {
        let path = self.existing(name)?;
        let info = self.read_info(&path)?;
        self.signing_key(name)?;
        std::fs::remove_file(&path).map_err(io_err("remove", &path))?;
        Ok(info)
    }

    fn encrypt(&self, info: &KeyInfo, key: &SigningKey) -> Result<EncryptedKeyFile, KeyringError> {
        encrypt(info, key, self.passphrase()?, self.cost)
    }
}

fn validate_name(name: &str) -> Result<(), KeyringError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(KeyringError::InvalidName(name.to_string()))
    }
}

fn associated_data(info: &KeyInfo) -> Vec<u8> {
    format!(
        "{FILE_FORMAT}\n{}\n{}\n{}",
        info.name, info.address, info.pub_key
    )
    .into_bytes()
}

fn derive_key(
    passphrase: &[u8],
    salt: &[u8],
    memory_kib: u32,
    iterations: u32,
) -> Result<Zeroizing<[u8; 32]>, KeyringError> {
    let params = Params::new(memory_kib, iterations, 1, Some(32))
        .map_err(|e| KeyringError::Kdf(e.to_string()))?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase, salt, out.as_mut())
        .map_err(|e| KeyringError::Kdf(e.to_string()))?;
    Ok(out)
}

fn encrypt(
    info: &KeyInfo,
    key: &SigningKey,
    passphrase: &[u8],
    cost: KdfCost,
) -> Result<EncryptedKeyFile, KeyringError> {
    if passphrase.is_empty() {
        return Err(KeyringError::EmptyPassphrase);
    }
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let wrapping_key = derive_key(passphrase, &salt, cost.memory_kib, cost.iterations)?;
    let cipher = XChaCha20Poly1305::new(wrapping_key.as_ref().into());
    let secret = Zeroizing::new(key.to_bytes());
    let aad = associated_data(info);
    let ciphertext = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &secret[..],
                aad: &aad,
            },
        )
        .map_err(|_| KeyringError::Kdf("encryption failed".into()))?;
    Ok(EncryptedKeyFile {
        format: FILE_FORMAT.to_string(),
        info: info.clone(),
        kdf: KdfParams {
            algorithm: "argon2id".to_string(),
            memory_kib: cost.memory_kib,
            iterations: cost.iterations,
            parallelism: 1,
            salt: B64.encode(salt),
        },
        cipher: "xchacha20poly1305".to_string(),
        nonce: B64.encode(nonce),
        ciphertext: B64.encode(ciphertext),
    })
}

fn decrypt(
    file: &EncryptedKeyFile,
    passphrase: &[u8],
    path: &Path,
) -> Result<SigningKey, KeyringError> {
    let malformed = |reason: &str| KeyringError::Malformed {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if file.format != FILE_FORMAT
        || file.kdf.algorithm != "argon2id"
        || file.cipher != "xchacha20poly1305"
    {
        return Err(malformed("unknown format, kdf or cipher"));
    }
    if file.kdf.parallelism != 1 {
        return Err(malformed("unsupported argon2 parallelism"));
    }
    // Refuse absurd costs from a tampered file rather than allocating gigabytes.
    if file.kdf.memory_kib > 4 * 1024 * 1024 || file.kdf.iterations > 64 {
        return Err(malformed("argon2 cost out of range"));
    }
    if passphrase.is_empty() {
        return Err(KeyringError::EmptyPassphrase);
    }
    let salt = B64
        .decode(&file.kdf.salt)
        .map_err(|_| malformed("salt is not base64"))?;
    let nonce: [u8; 24] = B64
        .decode(&file.nonce)
        .map_err(|_| malformed("nonce is not base64"))?
        .try_into()
        .map_err(|_| malformed("nonce must be 24 bytes"))?;
    let ciphertext = B64
        .decode(&file.ciphertext)
        .map_err(|_| malformed("ciphertext is not base64"))?;
    let wrapping_key = derive_key(passphrase, &salt, file.kdf.memory_kib, file.kdf.iterations)?;
    let cipher = XChaCha20Poly1305::new(wrapping_key.as_ref().into());
    let aad = associated_data(&file.info);
    let secret = Zeroizing::new(
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| KeyringError::WrongPassphrase(file.info.name.clone()))?,
    );
    let key = SigningKey::from_slice(&secret)
        .map_err(|_| malformed("decrypted key is not a secp256k1 scalar"))?;
    if KeyInfo::of(&file.info.name, &key) != file.info {
        return Err(malformed(
            "address or pub_key does not match the decrypted key",
        ));
    }
    Ok(key)
}

/// Writes a secret file readable only by its owner, atomically (temp file + rename).
fn write_private(dir: &Path, path: &Path, contents: &[u8]) -> Result<(), KeyringError> {
    std::fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io_err("chmod", dir))?;
    }
    let tmp = path.with_extension("json.tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp).map_err(io_err("create", &tmp))?;
        f.write_all(contents).map_err(io_err("write", &tmp))?;
        f.sync_all().map_err(io_err("sync", &tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io_err("rename", path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap(home: &Path, pass: &str) -> Keyring {
        Keyring::open(home, Backend::File, Some(Zeroizing::new(pass.to_string()))).with_cost(
            KdfCost {
                memory_kib: 64,
                iterations: 1,
            },
        )
    }

    #[test]
    fn file_backend_roundtrip_and_wrong_passphrase() {
        let home = tempfile::tempdir().unwrap();
        let ring = cheap(home.path(), "correct horse");
        let info = ring.add("alice").unwrap();
        assert!(info.address.starts_with("seqpool1"));
        let text = std::fs::read_to_string(home.path().join("keyring/alice.json")).unwrap();
        let key = ring.signing_key("alice").unwrap();
        assert!(
            !text.contains(&hex::encode(key.to_bytes())),
            "secret must not be on disk in the clear"
        );
        assert_eq!(ring.show("alice").unwrap(), info);
        assert_eq!(KeyInfo::of("alice", &key), info);

        let wrong = cheap(home.path(), "battery staple");
        assert!(matches!(
            wrong.signing_key("alice"),
            Err(KeyringError::WrongPassphrase(_))
        ));
        assert!(matches!(
            wrong.delete("alice"),
            Err(KeyringError::WrongPassphrase(_))
        ));
        assert!(matches!(
            ring.add("alice"),
            Err(KeyringError::AlreadyExists { .. })
        ));
        let none = Keyring::open(home.path(), Backend::File, None);
        assert!(matches!(
            none.signing_key("alice"),
            Err(KeyringError::EmptyPassphrase)
        ));
        assert_eq!(none.list().unwrap().len(), 1, "listing needs no passphrase");
    }

    #[test]
    fn swapped_file_is_refused() {
        let home = tempfile::tempdir().unwrap();
        let ring = cheap(home.path(), "pw");
        ring.add("a").unwrap();
        ring.add("b").unwrap();
        let dir = home.path().join("keyring");
        let a = std::fs::read_to_string(dir.join("a.json")).unwrap();
        let b = std::fs::read_to_string(dir.join("b.json")).unwrap();
        // Keep a's metadata but b's ciphertext: the AEAD must reject it.
        let mut a_json: serde_json::Value = serde_json::from_str(&a).unwrap();
        let b_json: serde_json::Value = serde_json::from_str(&b).unwrap();
        a_json["ciphertext"] = b_json["ciphertext"].clone();
        a_json["nonce"] = b_json["nonce"].clone();
        a_json["kdf"] = b_json["kdf"].clone();
        std::fs::write(dir.join("a.json"), a_json.to_string()).unwrap();
        assert!(matches!(
            ring.signing_key("a"),
            Err(KeyringError::WrongPassphrase(_))
        ));
    }

    #[test]
    fn export_import_list_delete() {
        let home = tempfile::tempdir().unwrap();
        let ring = cheap(home.path(), "pw1");
        let info = ring.add("k1").unwrap();
        let exported = ring.export_encrypted("k1").unwrap();
        let other_home = tempfile::tempdir().unwrap();
        let other = cheap(other_home.path(), "pw2");
        assert!(matches!(
            other.import_encrypted("k1", &exported, b"nope"),
            Err(KeyringError::WrongPassphrase(_))
        ));
        let imported = other.import_encrypted("k1", &exported, b"pw1").unwrap();
        assert_eq!(imported.address, info.address);
        assert_eq!(
            other.signing_key("k1").unwrap().to_bytes(),
            ring.signing_key("k1").unwrap().to_bytes()
        );

        let hex_key = ring.export_hex("k1").unwrap();
        let via_hex = other.import_hex("k1-copy", &hex_key).unwrap();
        assert_eq!(via_hex.address, info.address);
        assert!(matches!(
            other.import_hex("bad", "zz"),
            Err(KeyringError::InvalidPrivateKey(_))
        ));
        assert!(matches!(
            other.import_hex("bad", &"00".repeat(32)),
            Err(KeyringError::InvalidPrivateKey(_))
        ));

        let names: Vec<_> = other.list().unwrap().into_iter().map(|i| i.name).collect();
        assert_eq!(names, vec!["k1", "k1-copy"]);
        other.delete("k1").unwrap();
        assert!(matches!(
            other.show("k1"),
            Err(KeyringError::NotFound { .. })
        ));
        assert!(matches!(
            other.show("../etc"),
            Err(KeyringError::InvalidName(_))
        ));
    }

    #[test]
    fn test_backend_is_separate_and_checked() {
        let home = tempfile::tempdir().unwrap();
        let ring = Keyring::open(home.path(), Backend::Test, None);
        let info = ring.add("dev").unwrap();
        assert!(ring.signing_key("dev").is_ok());
        let text = std::fs::read_to_string(home.path().join("keyring-test/dev.json")).unwrap();
        assert!(text.contains("UNENCRYPTED"));
        assert!(cheap(home.path(), "pw").list().unwrap().is_empty());
        // A hand-edited address must not silently sign as someone else.
        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json["address"] = serde_json::Value::String(info.address.replace('q', "p"));
        std::fs::write(home.path().join("keyring-test/dev.json"), json.to_string()).unwrap();
        assert!(matches!(
            ring.signing_key("dev"),
            Err(KeyringError::Malformed { .. })
        ));
    }
}
