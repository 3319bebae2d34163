//! Provable complaints about bad encrypted shares. The accused's own signed message carries the
//! ciphertext; the complainer reveals the ECDH point with a proof that it used its registered key,
//! so any third party can decrypt the share and check it against the accused's commitment.

use frost_secp256k1::keys::{SecretShare, SigningShare, VerifiableSecretSharingCommitment};
use frost_secp256k1::Identifier;
use prost::Message;
use rand_core::{CryptoRng, RngCore};

use crate::crypto::ecies::{self, OpenError, ShareContext};
use crate::crypto::{dleq, envelope, point_from_bytes, point_to_bytes};
use crate::error::{Result, TssError};
use crate::ids::{id_hex, KeyId, SessionId};
use crate::members::{MemberSecret, Roster};
use crate::messages::pb;

pub(crate) const DKG_PURPOSE: &[u8] = b"dkg";
pub(crate) const RESHARE_PURPOSE: &[u8] = b"reshare";

/// The outcome of judging a complaint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The accused sent a share that does not match its commitment (or could not be decrypted).
    AccusedGuilty {
        accused: Identifier,
        complainer: Identifier,
    },
    /// The share was fine: the complainer lied.
    ComplainerLying {
        accused: Identifier,
        complainer: Identifier,
    },
}

/// Builds a signed complaint against the sender of `accused_message` (a DKG round 2 or reshare
/// deal envelope that was addressed, among others, to `me`).
pub fn make_complaint<R: RngCore + CryptoRng>(
    key_id: KeyId,
    session_id: SessionId,
    accused_message: &pb::SignedEnvelope,
    ephemeral: &[u8],
    me: &MemberSecret,
    rng: &mut R,
) -> Result<pb::SignedEnvelope> {
    let base = point_from_bytes(ephemeral)
        .ok_or_else(|| TssError::Crypto("ephemeral key is not a point".into()))?;
    let secret = me.encryption.to_nonzero_scalar();
    let shared = base * *secret;
    let proof = dleq::prove(&secret, &base, rng);
    let body = pb::ShareComplaint {
        key_id: key_id.0,
        session_id: session_id.0,
        accused_message: Some(accused_message.clone()),
        shared_point: point_to_bytes(&shared).to_vec(),
        dleq_proof: proof.to_vec(),
    };
    Ok(envelope::seal(pb::MessageKind::ShareComplaint, &body, me))
}

/// Judges a complaint. `complainers` holds the recipients (the new set for a reshare), `accused`
/// the senders (the old set for a reshare). `dkg_commitment` supplies the accused's round-1
/// commitment for DKG complaints (reshare deals carry their own).
pub fn judge_complaint(
    complaint: &pb::SignedEnvelope,
    complainers: &Roster,
    accused_roster: &Roster,
    dkg_commitment: impl Fn(&Identifier) -> Option<VerifiableSecretSharingCommitment>,
) -> Result<Verdict> {
    let (complainer, body): (Identifier, pb::ShareComplaint) =
        envelope::open(complaint, pb::MessageKind::ShareComplaint, complainers)?;
    let key_id = KeyId(body.key_id);
    let session_id = SessionId(body.session_id);
    let accused_env = body.accused_message.as_ref().ok_or(TssError::Malformed {
        what: "share complaint",
        sender: id_hex(&complainer),
        reason: "no accused message".into(),
    })?;
    let (purpose, accused, shares, commitment) =
        if accused_env.kind == pb::MessageKind::DkgRound2 as i32 {
            let (accused, round2): (Identifier, pb::DkgRound2) =
                envelope::open(accused_env, pb::MessageKind::DkgRound2, accused_roster)?;
            check_session(key_id, session_id, round2.key_id, round2.session_id)?;
            let commitment = dkg_commitment(&accused).ok_or(TssError::UnjustifiedComplaint {
                accused: id_hex(&accused),
                reason: "no round-1 commitment of the accused is known".into(),
            })?;
            (DKG_PURPOSE, accused, round2.shares, commitment)
        } else {
            let (accused, deal): (Identifier, pb::ReshareDeal) =
                envelope::open(accused_env, pb::MessageKind::ReshareDeal, accused_roster)?;
            check_session(key_id, session_id, deal.key_id, deal.session_id)?;
            let commitment = crate::messages::commitment_from_pb(&accused, &deal.commitment)?;
            (RESHARE_PURPOSE, accused, deal.shares, commitment)
        };
    let complainer_bytes = complainer.serialize();
    let Some(share) = shares.iter().find(|s| s.recipient == complainer_bytes) else {
        // No share for the complainer at all: the accused left it out.
        return Ok(Verdict::AccusedGuilty {
            accused,
            complainer,
        });
    };
    let member = complainers
        .get(&complainer)
        .ok_or(TssError::UnknownMember {
            sender: id_hex(&complainer),
        })?;
    let recipient_key = member.encryption_public()?;
    let Some(base) = point_from_bytes(&share.ephemeral_key) else {
        return Ok(Verdict::AccusedGuilty {
            accused,
            complainer,
        });
    };
    let shared = point_from_bytes(&body.shared_point).ok_or(TssError::UnjustifiedComplaint {
        accused: id_hex(&accused),
        reason: "shared point is not a point".into(),
    })?;
    if !dleq::verify(
        &recipient_key.to_projective(),
        &base,
        &shared,
        &body.dleq_proof,
    ) {
        return Err(TssError::UnjustifiedComplaint {
            accused: id_hex(&accused),
            reason: "proof of the shared point does not verify".into(),
        });
    }
    let context = ShareContext {
        purpose,
        key_id,
        session_id,
        sender: &accused,
        recipient: &complainer,
    };
    let scalar = match ecies::open_with_shared(
        &shared,
        &share.ephemeral_key,
        &recipient_key,
        &context,
        &share.ciphertext,
    ) {
        Ok(s) => s,
        Err(OpenError::BadCiphertext | OpenError::BadEphemeral) => {
            return Ok(Verdict::AccusedGuilty {
                accused,
                complainer,
            })
        }
    };
    let candidate = SecretShare::new(complainer, SigningShare::new(scalar), commitment);
    Ok(match candidate.verify() {
        Ok(_) => Verdict::ComplainerLying {
            accused,
            complainer,
        },
        Err(_) => Verdict::AccusedGuilty {
            accused,
            complainer,
        },
    })
}

fn check_session(key: KeyId, session: SessionId, got_key: u64, got_session: u64) -> Result<()> {
    if key.0 != got_key || session.0 != got_session {
        return Err(TssError::WrongSession {
            key,
            session,
            got_key: KeyId(got_key),
            got_session: SessionId(got_session),
        });
    }
    Ok(())
}

/// Size of an encoded complaint, for transport budgeting.
pub fn encoded_len(complaint: &pb::SignedEnvelope) -> usize {
    complaint.encoded_len()
}
