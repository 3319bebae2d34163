//! Member identities: a member's public keys, its secret keys and the roster of a session.
use std::collections::BTreeMap;

use frost_secp256k1::Identifier;
use k256::ecdsa::{SigningKey, VerifyingKey};
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::{PublicKey, SecretKey};
use rand_core::{CryptoRng, RngCore};

use crate::error::{Result, TssError};
use crate::ids::{id_hex, threshold_for};

/// The public half of a member: its signer key (the validator key registered on L1) and the
/// encryption key it registered for receiving secret shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberPublic {
    pub signer_key: [u8; 33],
    pub encryption_key: [u8; 33],
}

impl MemberPublic {
    /// Parses and validates both keys (33-byte compressed points).
    pub fn new(signer_key: &[u8], encryption_key: &[u8]) -> Result<Self> {
        let signer: [u8; 33] = signer_key.try_into().map_err(|_| {
            TssError::InvalidParameters(format!(
                "signer key has {} bytes, need 33",
                signer_key.len()
            ))
        })?;
        let encryption: [u8; 33] = encryption_key.try_into().map_err(|_| {
            TssError::InvalidParameters(format!(
                "encryption key has {} bytes, need 33",
                encryption_key.len()
            ))
        })?;
        VerifyingKey::from_sec1_bytes(&signer)
            .map_err(|_| TssError::InvalidParameters("signer key is not a valid point".into()))?;
        PublicKey::from_sec1_bytes(&encryption).map_err(|_| {
            TssError::InvalidParameters("encryption key is not a valid point".into())
        })?;
        Ok(Self {
            signer_key: signer,
            encryption_key: encryption,
        })
    }

    /// The member's FROST identifier, derived from its signer key so it is stable across reshares.
    pub fn identifier(&self) -> Result<Identifier> {
        Ok(Identifier::derive(&self.signer_key)?)
    }

    pub(crate) fn verifying_key(&self) -> Result<VerifyingKey> {
        VerifyingKey::from_sec1_bytes(&self.signer_key)
            .map_err(|_| TssError::InvalidParameters("signer key is not a valid point".into()))
    }

    pub(crate) fn encryption_public(&self) -> Result<PublicKey> {
        PublicKey::from_sec1_bytes(&self.encryption_key)
            .map_err(|_| TssError::InvalidParameters("encryption key is not a valid point".into()))
    }
}

/// The secret half of a member. Both keys zeroize themselves on drop.
pub struct MemberSecret {
    pub(crate) signer: SigningKey,
    pub(crate) encryption: SecretKey,
}

impl MemberSecret {
    pub fn new(signer: SigningKey, encryption: SecretKey) -> Self {
        Self { signer, encryption }
    }

    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self {
            signer: SigningKey::random(rng),
            encryption: SecretKey::random(rng),
        }
    }

    pub fn public(&self) -> MemberPublic {
        let mut signer_key = [0u8; 33];
        signer_key.copy_from_slice(
            self.signer
                .verifying_key()
                .to_encoded_point(true)
                .as_bytes(),
        );
        let mut encryption_key = [0u8; 33];
        encryption_key.copy_from_slice(
            self.encryption
                .public_key()
                .to_encoded_point(true)
                .as_bytes(),
        );
        MemberPublic {
            signer_key,
            encryption_key,
        }
    }

    pub fn identifier(&self) -> Result<Identifier> {
        self.public().identifier()
    }

    pub fn signer_key(&self) -> &SigningKey {
        &self.signer
    }

    pub fn encryption_key(&self) -> &SecretKey {
        &self.encryption
    }
}

/// A member set keyed by FROST identifier (ordered, so every node iterates it the same way).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roster {
    members: BTreeMap<Identifier, MemberPublic>,
}

impl Roster {
    pub fn new(members: impl IntoIterator<Item = MemberPublic>) -> Result<Self> {
        let mut map = BTreeMap::new();
        for member in members {
            let id = member.identifier()?;
            if map.insert(id, member).is_some() {
                return Err(TssError::InvalidParameters(format!(
                    "member {} listed twice",
                    id_hex(&id)
                )));
            }
        }
        if map.len() < 2 {
            return Err(TssError::InvalidParameters(format!(
                "a key needs at least 2 members, got {}",
                map.len()
            )));
        }
        Ok(Self { members: map })
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn get(&self, id: &Identifier) -> Option<&MemberPublic> {
        self.members.get(id)
    }

    pub fn contains(&self, id: &Identifier) -> bool {
        self.members.contains_key(id)
    }

    pub fn identifiers(&self) -> impl Iterator<Item = &Identifier> {
        self.members.keys()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Identifier, &MemberPublic)> {
        self.members.iter()
    }

    /// Finds the member whose signer key is `signer_key`.
    pub fn by_signer_key(&self, signer_key: &[u8]) -> Option<Identifier> {
        let id = Identifier::derive(signer_key).ok()?;
        match self.members.get(&id) {
            Some(m) if m.signer_key[..] == *signer_key => Some(id),
            _ => None,
        }
    }

    /// The threshold floor(2n/3)+1 for this roster.
    pub fn default_threshold(&self) -> u16 {
        threshold_for(self.len())
    }
}
