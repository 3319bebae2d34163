use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::error::{Result, TssError};

const HEADER_MAGIC: &[u8; 8] = b"SPTSSKS1";
const RECORD_VERSION: u8 = 1;
const AD_DOMAIN: &[u8] = b"seqpool.tss.v1.keystore";
const CHECK_MARKER: &[u8] = b"seqpool-tss keystore check v1";

/// Argon2id cost parameters, fixed when a keystore is created and stored in its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for KdfParams {
    /// OWASP's Argon2id recommendation (19 MiB, 2 passes, 1 lane).
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

pub(crate) struct RecordCipher {
    key: Zeroizing<[u8; 32]>,
}

fn derive(material: &[u8], salt: &[u8], params: KdfParams) -> Result<Zeroizing<[u8; 32]>> {
    let argon_params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|e| TssError::InvalidParameters(format!("argon2 parameters: {e}")))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(material, salt, key.as_mut_slice())
        .map_err(|e| TssError::Crypto(format!("argon2: {e}")))?;
    Ok(key)
}

impl RecordCipher {
    pub(crate) fn create<R: RngCore + CryptoRng>(
        material: &[u8],
        params: KdfParams,
        rng: &mut R,
    ) -> Result<(Self, Vec<u8>)> {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let key = derive(material, &salt, params)?;
        let mut header = HEADER_MAGIC.to_vec();
        header.extend_from_slice(&salt);
        header.extend_from_slice(&params.memory_kib.to_be_bytes());
        header.extend_from_slice(&params.iterations.to_be_bytes());
        header.extend_from_slice(&params.parallelism.to_be_bytes());
        Ok((Self { key }, header))
    }

    pub(crate) fn from_header(material: &[u8], header: &[u8]) -> Result<Self> {
        let corrupted = || TssError::CorruptedRecord {
            record: "kdf header".into(),
        };
        if header.len() != 8 + 16 + 12 || &header[..8] != HEADER_MAGIC {
            return Err(corrupted());
        }
        let word = |at: usize| -> u32 {
            let mut b = [0u8; 4];
            b.copy_from_slice(&header[at..at + 4]);
            u32::from_be_bytes(b)
        };
        let params = KdfParams {
            memory_kib: word(24),
            iterations: word(28),
            parallelism: word(32),
        };
        Ok(Self {
            key: derive(material, &header[8..24], params)?,
        })
    }

    fn aead(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&Key::from(*self.key))
    }

    fn associated_data(record_key: &[u8]) -> Vec<u8> {
        [AD_DOMAIN, record_key].concat()
    }

    pub(crate) fn seal<R: RngCore + CryptoRng>(
        &self,
        record_key: &[u8],
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        let ad = Self::associated_data(record_key);
        let ciphertext = self
            .aead()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &ad,
                },
            )
            .map_err(|_| TssError::Crypto("record encryption failed".into()))?;
        let mut out = Vec::with_capacity(1 + 12 + ciphertext.len());
        out.push(RECORD_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Opens a sealed record; any failure means the record was corrupted or the key is wrong.
    pub(crate) fn open(
        &self,
        record_key: &[u8],
        sealed: &[u8],
    ) -> std::result::Result<Zeroizing<Vec<u8>>, ()> {
        if sealed.len() < 1 + 12 + 16 || sealed[0] != RECORD_VERSION {
            return Err(());
        }
        let ad = Self::associated_data(record_key);
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&sealed[1..13]);
        self.aead()
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &sealed[13..],
                    aad: &ad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| ())
    }

    pub(crate) fn seal_marker<R: RngCore + CryptoRng>(
        &self,
        record_key: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        self.seal(record_key, CHECK_MARKER, rng)
    }

    /// A marker that fails to open means a wrong passphrase (the header itself is unkeyed).
    pub(crate) fn check_marker(&self, record_key: &[u8], sealed: &[u8]) -> Result<()> {
        match self.open(record_key, sealed) {
            Ok(p) if p.as_slice() == CHECK_MARKER => Ok(()),
            _ => Err(TssError::WrongPassphrase),
        }
    }
}
