use frost_secp256k1::keys::{self, IdentifierList, KeyPackage};
use frost_secp256k1::{Identifier, SigningKey};
use rand_core::{CryptoRng, RngCore};

use crate::complaint::RESHARE_PURPOSE;
use crate::crypto::ecies::{self, ShareContext};
use crate::crypto::envelope;
use crate::error::{Result, TssError};
use crate::ids::{id_hex, KeyId, SessionId};
use crate::members::{MemberSecret, Roster};
use crate::messages::{self, pb};

/// An old holder deals its own share to `new_roster` with threshold `new_threshold`: a fresh
/// polynomial whose constant term is the share, one encrypted sub-share per new member.
pub fn deal<R: RngCore + CryptoRng>(
    key_id: KeyId,
    session_id: SessionId,
    key_package: &KeyPackage,
    new_roster: &Roster,
    new_threshold: u16,
    me: &MemberSecret,
    rng: &mut R,
) -> Result<pb::SignedEnvelope> {
    let n = new_roster.len();
    if new_threshold < 2 || new_threshold as usize > n {
        return Err(TssError::InvalidParameters(format!(
            "new threshold {new_threshold} for {n} members"
        )));
    }
    let my_id = *key_package.identifier();
    let share_as_key = SigningKey::from_scalar(key_package.signing_share().to_scalar())?;
    let ids: Vec<Identifier> = new_roster.identifiers().copied().collect();
    let (sub_shares, _) = keys::split(
        &share_as_key,
        n as u16,
        new_threshold,
        IdentifierList::Custom(&ids),
        &mut *rng,
    )?;
    drop(share_as_key);
    let mut commitment = None;
    let mut shares = Vec::with_capacity(n);
    for (recipient, sub_share) in &sub_shares {
        let member = new_roster.get(recipient).ok_or(TssError::UnknownMember {
            sender: id_hex(recipient),
        })?;
        if commitment.is_none() {
            commitment = Some(messages::commitment_to_pb(sub_share.commitment())?);
        }
        let context = ShareContext {
            purpose: RESHARE_PURPOSE,
            key_id,
            session_id,
            sender: &my_id,
            recipient,
        };
        let (ephemeral, ciphertext) = ecies::encrypt_scalar(
            rng,
            &member.encryption_public()?,
            &context,
            &sub_share.signing_share().to_scalar(),
        );
        shares.push(pb::EncryptedShare {
            recipient: recipient.serialize(),
            ephemeral_key: ephemeral.to_vec(),
            ciphertext,
        });
    }
    drop(sub_shares);
    let body = pb::ReshareDeal {
        key_id: key_id.0,
        session_id: session_id.0,
        new_threshold: new_threshold as u32,
        commitment: commitment.unwrap_or_default(),
        shares,
    };
    Ok(envelope::seal(pb::MessageKind::ReshareDeal, &body, me))
}
