//! Encrypted LevelDB keystore for key shares and nonce pools. Every value is sealed with
//! ChaCha20-Poly1305 under a key derived by Argon2id from the operator's passphrase or key file,
//! with a fresh random nonce per write and the record key as associated data (so records cannot
//! be swapped). A nonce is deleted and marked used in one synced write before the signature share
//! that uses it is computed, so a crash can never make one nonce sign twice.
//!
//! It also holds the node's member identity ([`MemberSecret`]), so no secret key of the node's
//! MPC role ever sits on disk outside the encrypted store.
//!
//! `rusty_leveldb::DB` is `Send` but not `Sync`: a `Keystore` is used by one thread at a time.

mod cipher;
mod records;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use frost_secp256k1::keys::{KeyPackage, PublicKeyPackage};
use frost_secp256k1::round1::{SigningCommitments, SigningNonces};
use frost_secp256k1::round2::SignatureShare;
use frost_secp256k1::SigningPackage;
use rand_core::{CryptoRng, OsRng, RngCore};
use rusty_leveldb::{LdbIterator, Options, WriteBatch, DB};
use zeroize::Zeroizing;

pub use cipher::KdfParams;
use cipher::RecordCipher;
use records::RecordKey;

use crate::error::{Result, TssError};
use crate::ids::KeyId;
use crate::members::MemberSecret;
use crate::sign;

/// Where the keystore's encryption key comes from.
pub enum KeystoreSecret {
    /// An operator passphrase.
    Passphrase(Zeroizing<Vec<u8>>),
    /// A file whose whole content is the secret (at least 32 bytes).
    KeyFile(PathBuf),
}

impl KeystoreSecret {
    pub fn passphrase(p: &str) -> Self {
        Self::Passphrase(Zeroizing::new(p.as_bytes().to_vec()))
    }

    fn material(&self) -> Result<Zeroizing<Vec<u8>>> {
        match self {
            Self::Passphrase(p) => {
                if p.is_empty() {
                    return Err(TssError::InvalidParameters(
                        "empty keystore passphrase".into(),
                    ));
                }
                Ok(p.clone())
            }
            Self::KeyFile(path) => {
                let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
                    TssError::Storage(format!("read key file {}: {e}", path.display()))
                })?);
                if bytes.len() < 32 {
                    return Err(TssError::InvalidParameters(format!(
                        "key file {} holds {} bytes, need at least 32",
                        path.display(),
                        bytes.len()
                    )));
                }
                Ok(bytes)
            }
        }
    }
}

fn storage(context: &str, e: impl std::fmt::Display) -> TssError {
    TssError::Storage(format!("{context}: {e}"))
}

/// The node-local store of secret key material.
pub struct Keystore {
    db: DB,
    cipher: RecordCipher,
    path: PathBuf,
    /// Decoded public key packages (public data): decoding one decompresses n points, which
    /// at n = 100 cost more than the signing arithmetic. Filled on first use, replaced by
    /// `put_key`, dropped by `delete_key`. Secret shares are never cached: they are decrypted
    /// per use and zeroized on drop.
    public_cache: BTreeMap<KeyId, PublicKeyPackage>,
}

/// Reads one record through an iterator. rusty-leveldb 4's `DB::get` can answer "absent" (or fall
/// back to an older table's value) when the lookup key equals the index key of the data block that
/// holds the newest entry (store/tests/leveldb_get.rs reproduces it); at open that would take an
/// existing keystore for a new one, so every read here seeks instead.
fn read(db: &mut DB, key: &[u8]) -> Result<Option<Vec<u8>>> {
    let mut iter = db.new_iter().map_err(|e| storage("read", e))?;
    iter.seek(key);
    Ok(iter
        .current()
        .filter(|(found, _)| found[..] == *key)
        .map(|(_, value)| value.to_vec()))
}

impl Keystore {
    /// Opens (or creates) the keystore at `path` with the default Argon2id parameters.
    pub fn open(path: &Path, secret: &KeystoreSecret) -> Result<Self> {
        Self::open_with(path, secret, KdfParams::default())
    }

    /// Opens (or creates) the keystore; `params` only apply when it is created.
    pub fn open_with(path: &Path, secret: &KeystoreSecret, params: KdfParams) -> Result<Self> {
        let material = secret.material()?;
        let options = Options {
            create_if_missing: true,
            paranoid_checks: true,
            ..Options::default()
        };
        let mut db = DB::open(path, options).map_err(|e| storage("open keystore", e))?;
        let kdf_key = RecordKey::KdfHeader.encode();
        let cipher = match read(&mut db, &kdf_key)? {
            Some(header) => {
                let cipher = RecordCipher::from_header(&material, &header)?;
                let check_key = RecordKey::Check.encode();
                let sealed = read(&mut db, &check_key)?.ok_or(TssError::CorruptedRecord {
                    record: RecordKey::Check.to_string(),
                })?;
                cipher.check_marker(&check_key, &sealed)?;
                cipher
            }
            None => {
                let (cipher, header) = RecordCipher::create(&material, params, &mut OsRng)?;
                let check_key = RecordKey::Check.encode();
                let marker = cipher.seal_marker(&check_key, &mut OsRng)?;
                let mut batch = WriteBatch::default();
                batch.put(&kdf_key, &header);
                batch.put(&check_key, &marker);
                db.write(batch, true)
                    .map_err(|e| storage("initialise keystore", e))?;
                cipher
            }
        };
        Ok(Self {
            db,
            cipher,
            path: path.to_path_buf(),
            public_cache: BTreeMap::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn get_record(&mut self, key: &RecordKey) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let encoded = key.encode();
        match read(&mut self.db, &encoded)? {
            None => Ok(None),
            Some(sealed) => Ok(Some(self.cipher.open(&encoded, &sealed).map_err(|_| {
                TssError::CorruptedRecord {
                    record: key.to_string(),
                }
            })?)),
        }
    }

    fn sealed(&self, key: &RecordKey, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
        let encoded = key.encode();
        let sealed = self.cipher.seal(&encoded, plaintext, &mut OsRng)?;
        Ok((encoded, sealed))
    }

    /// Stores a key share and its public package, replacing any earlier share of the key and
    /// erasing the earlier share's nonces (a reshare retires them).
    pub fn put_key(
        &mut self,
        key_id: KeyId,
        key_package: &KeyPackage,
        public: &PublicKeyPackage,
    ) -> Result<()> {
        let mut batch = WriteBatch::default();
        for key in self.keys_with_prefix(&RecordKey::key_prefix(key_id))? {
            batch.delete(&key);
        }
        let share = Zeroizing::new(key_package.serialize()?);
        let (k, v) = self.sealed(&RecordKey::Share(key_id), &share)?;
        batch.put(&k, &v);
        let (k, v) = self.sealed(&RecordKey::Public(key_id), &public.serialize()?)?;
        batch.put(&k, &v);
        self.db
            .write(batch, true)
            .map_err(|e| storage("store key share", e))?;
        self.public_cache.insert(key_id, public.clone());
        Ok(())
    }

    /// The key share and public package of `key_id`.
    pub fn key(&mut self, key_id: KeyId) -> Result<(KeyPackage, PublicKeyPackage)> {
        let key_package = self.key_share(key_id)?;
        Ok((key_package, self.public_package(key_id)?))
    }

    /// The secret share of `key_id`, decrypted for this use.
    fn key_share(&mut self, key_id: KeyId) -> Result<KeyPackage> {
        let share = self
            .get_record(&RecordKey::Share(key_id))?
            .ok_or(TssError::UnknownKey(key_id))?;
        KeyPackage::deserialize(&share).map_err(|_| TssError::CorruptedRecord {
            record: RecordKey::Share(key_id).to_string(),
        })
    }

    /// The public key package of `key_id`, decoded once per keystore handle.
    pub fn public_package(&mut self, key_id: KeyId) -> Result<PublicKeyPackage> {
        if let Some(public) = self.public_cache.get(&key_id) {
            return Ok(public.clone());
        }
        let bytes = self
            .get_record(&RecordKey::Public(key_id))?
            .ok_or(TssError::UnknownKey(key_id))?;
        let public =
            PublicKeyPackage::deserialize(&bytes).map_err(|_| TssError::CorruptedRecord {
                record: RecordKey::Public(key_id).to_string(),
            })?;
        self.public_cache.insert(key_id, public.clone());
        Ok(public)
    }

    /// Stores this node's member identity (synced). Refuses to replace a different one: the
    /// identity is registered on chain and its key shares are bound to it.
    pub fn put_identity(&mut self, identity: &MemberSecret) -> Result<()> {
        if let Some(existing) = self.identity()? {
            if existing.public() == identity.public() {
                return Ok(());
            }
            return Err(TssError::InvalidParameters(
                "the keystore already holds a different member identity".into(),
            ));
        }
        let mut plaintext = Zeroizing::new(Vec::with_capacity(64));
        plaintext.extend_from_slice(&identity.signer_key().to_bytes());
        plaintext.extend_from_slice(&identity.encryption_key().to_bytes());
        let (k, v) = self.sealed(&RecordKey::Identity, &plaintext)?;
        let mut batch = WriteBatch::default();
        batch.put(&k, &v);
        self.db
            .write(batch, true)
            .map_err(|e| storage("store member identity", e))
    }

    /// This node's member identity, if one was stored.
    pub fn identity(&mut self) -> Result<Option<MemberSecret>> {
        let Some(plaintext) = self.get_record(&RecordKey::Identity)? else {
            return Ok(None);
        };
        let corrupted = || TssError::CorruptedRecord {
            record: RecordKey::Identity.to_string(),
        };
        if plaintext.len() != 64 {
            return Err(corrupted());
        }
        let signer =
            k256::ecdsa::SigningKey::from_slice(&plaintext[..32]).map_err(|_| corrupted())?;
        let encryption = k256::SecretKey::from_slice(&plaintext[32..]).map_err(|_| corrupted())?;
        Ok(Some(MemberSecret::new(signer, encryption)))
    }

    /// The ids of the keys this keystore holds a share of, ascending. One seek per key id, so
    /// the nonce and used-nonce records under each key are not read.
    pub fn key_ids(&mut self) -> Result<Vec<KeyId>> {
        let mut iter = self.db.new_iter().map_err(|e| storage("iterate", e))?;
        let mut seen = Vec::new();
        let mut next = RecordKey::key_prefix(KeyId(0));
        loop {
            iter.seek(&next);
            let Some((key, _)) = iter.current() else {
                break;
            };
            let Some(id) = key
                .strip_prefix(b"k/")
                .and_then(|rest| rest.get(..8))
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
            else {
                break;
            };
            seen.push(KeyId(id));
            match id.checked_add(1) {
                Some(n) => next = RecordKey::key_prefix(KeyId(n)),
                None => break,
            }
        }
        drop(iter);
        Ok(seen.into_iter().filter(|id| self.has_key(*id)).collect())
    }

    pub fn has_key(&mut self, key_id: KeyId) -> bool {
        read(&mut self.db, &RecordKey::Share(key_id).encode()).is_ok_and(|r| r.is_some())
    }

    /// Makes `count` nonce pairs for `key_id`, stores them (synced) and returns the commitments
    /// to publish.
    pub fn generate_nonces<R: RngCore + CryptoRng>(
        &mut self,
        key_id: KeyId,
        count: u8,
        rng: &mut R,
    ) -> Result<Vec<SigningCommitments>> {
        let key_package = self.key_share(key_id)?;
        let (nonces, commitments) = sign::preprocess(&key_package, count, rng);
        self.store_nonces(key_id, &nonces)?;
        Ok(commitments)
    }

    /// Stores nonce pairs made elsewhere (synced), each under its public commitment.
    pub fn store_nonces(&mut self, key_id: KeyId, nonces: &[SigningNonces]) -> Result<()> {
        if !self.has_key(key_id) {
            return Err(TssError::UnknownKey(key_id));
        }
        let mut batch = WriteBatch::default();
        for nonce in nonces {
            let commitment = SigningCommitments::from(nonce);
            let record = RecordKey::Nonce(key_id, records::commitment_digest(&commitment)?);
            let used = RecordKey::Used(key_id, records::commitment_digest(&commitment)?);
            if read(&mut self.db, &used.encode())?.is_some() {
                return Err(TssError::ReusedCommitment(record.to_string()));
            }
            let plaintext = Zeroizing::new(nonce.serialize()?);
            let (k, v) = self.sealed(&record, &plaintext)?;
            batch.put(&k, &v);
        }
        self.db
            .write(batch, true)
            .map_err(|e| storage("store nonces", e))?;
        Ok(())
    }

    /// Number of unused nonces held for `key_id`.
    pub fn unused_nonces(&mut self, key_id: KeyId) -> Result<usize> {
        Ok(self
            .keys_with_prefix(&RecordKey::nonce_prefix(key_id))?
            .len())
    }

    /// Produces this member's signature share for `package`. The nonce is deleted and marked
    /// used in one synced write before the share is computed and returned.
    pub fn sign(&mut self, key_id: KeyId, package: &SigningPackage) -> Result<SignatureShare> {
        let (key_package, public) = self.key(key_id)?;
        sign::validate_package(&key_package, &public, package)?;
        let mine = package
            .signing_commitments()
            .get(key_package.identifier())
            .ok_or(TssError::NotASigner)?;
        let digest = records::commitment_digest(mine)?;
        let used_key = RecordKey::Used(key_id, digest);
        if read(&mut self.db, &used_key.encode())?.is_some() {
            return Err(TssError::ReusedCommitment(crate::ids::hex_encode(&digest)));
        }
        let nonce_key = RecordKey::Nonce(key_id, digest);
        let plaintext = self.get_record(&nonce_key)?.ok_or(TssError::UnknownNonce)?;
        let nonces =
            SigningNonces::deserialize(&plaintext).map_err(|_| TssError::CorruptedRecord {
                record: nonce_key.to_string(),
            })?;
        drop(plaintext);
        if SigningCommitments::from(&nonces) != *mine {
            return Err(TssError::CorruptedRecord {
                record: nonce_key.to_string(),
            });
        }
        let mut batch = WriteBatch::default();
        batch.delete(&nonce_key.encode());
        let (k, v) = self.sealed(&used_key, &[])?;
        batch.put(&k, &v);
        self.db
            .write(batch, true)
            .map_err(|e| storage("retire nonce", e))?;
        sign::signature_share(package, &nonces, &key_package)
    }

    /// Erases a retired key: its share, public package, nonces and used-nonce markers, then
    /// compacts the range so the sealed records leave the files on disk too.
    pub fn delete_key(&mut self, key_id: KeyId) -> Result<usize> {
        self.public_cache.remove(&key_id);
        let prefix = RecordKey::key_prefix(key_id);
        let keys = self.keys_with_prefix(&prefix)?;
        let mut batch = WriteBatch::default();
        for key in &keys {
            batch.delete(key);
        }
        self.db
            .write(batch, true)
            .map_err(|e| storage("delete key", e))?;
        let mut end = prefix.clone();
        end.push(0xff);
        self.db
            .compact_range(&prefix, &end)
            .map_err(|e| storage("compact after delete", e))?;
        Ok(keys.len())
    }

    /// Erases the unused nonces of a key (for example after its member set changed).
    pub fn delete_unused_nonces(&mut self, key_id: KeyId) -> Result<usize> {
        let keys = self.keys_with_prefix(&RecordKey::nonce_prefix(key_id))?;
        let mut batch = WriteBatch::default();
        for key in &keys {
            batch.delete(key);
        }
        self.db
            .write(batch, true)
            .map_err(|e| storage("delete nonces", e))?;
        Ok(keys.len())
    }

    /// Pushes the memtable to table files (used before inspecting the files).
    pub fn flush(&mut self) -> Result<()> {
        self.db.flush().map_err(|e| storage("flush", e))
    }

    fn keys_with_prefix(&mut self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut iter = self.db.new_iter().map_err(|e| storage("iterate", e))?;
        iter.seek(prefix);
        let mut out = Vec::new();
        while iter.valid() {
            let Some((key, _)) = iter.current() else {
                break;
            };
            if !key.starts_with(prefix) {
                break;
            }
            out.push(key.to_vec());
            if !iter.advance() {
                break;
            }
        }
        Ok(out)
    }
}
