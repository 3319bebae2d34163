use std::collections::{BTreeMap, BTreeSet};

use frost_secp256k1::keys::{
    KeyPackage, PublicKeyPackage, SigningShare, VerifiableSecretSharingCommitment, VerifyingShare,
};
use frost_secp256k1::Identifier;
use k256::elliptic_curve::ops::MulByGenerator;
use k256::{ProjectivePoint, Scalar};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroize;

use super::lagrange_at_zero;
use crate::complaint::{self, RESHARE_PURPOSE};
use crate::crypto::ecies::{self, ShareContext};
use crate::crypto::envelope;
use crate::crypto::msm::{self, PreparedPoints};
use crate::error::{Result, TssError};
use crate::ids::{id_hex, KeyId, SessionId};
use crate::members::{MemberSecret, Roster};
use crate::messages::{self, pb};

/// Evaluates a committed polynomial at `x`: sum_k x^k * C_k, as one variable-time multi-scalar
/// multiplication (public commitment, public x).
pub(crate) fn evaluate_commitment(coefficients: &[ProjectivePoint], x: Scalar) -> ProjectivePoint {
    PreparedPoints::new(coefficients).mul(&powers(x, coefficients.len()))
}

/// 1, x, x^2, ..., x^(count-1).
fn powers(x: Scalar, count: usize) -> Vec<Scalar> {
    let mut out = Vec::with_capacity(count);
    let mut power = Scalar::ONE;
    for _ in 0..count {
        out.push(power);
        power *= x;
    }
    out
}

/// The new public key package from the qualified dealers' commitments: the Lagrange-weighted
/// sum of their commitments is a commitment to the new sharing of the unchanged secret.
pub fn combine_public(
    old_public: &PublicKeyPackage,
    commitments: &BTreeMap<Identifier, VerifiableSecretSharingCommitment>,
    qualified: &BTreeSet<Identifier>,
    new_members: &BTreeSet<Identifier>,
    new_threshold: u16,
) -> Result<PublicKeyPackage> {
    let mut weighted = Vec::with_capacity(qualified.len());
    for dealer in qualified {
        let commitment = commitments
            .get(dealer)
            .ok_or(TssError::InvalidParameters(format!(
                "no commitment from qualified dealer {}",
                id_hex(dealer)
            )))?;
        if commitment.coefficients().len() != new_threshold as usize {
            return Err(TssError::BadCommitment {
                culprit: id_hex(dealer),
                reason: "wrong length".into(),
            });
        }
        weighted.push((
            commitment.coefficients(),
            lagrange_at_zero(dealer, qualified)?,
        ));
    }
    let mut combined = Vec::with_capacity(new_threshold as usize);
    let mut terms = Vec::with_capacity(weighted.len());
    for k in 0..new_threshold as usize {
        terms.clear();
        terms.extend(weighted.iter().map(|(c, w)| (c[k].value(), *w)));
        combined.push(msm::multiscalar_mul_vartime(&terms));
    }
    if combined.first() != Some(&old_public.verifying_key().to_element()) {
        return Err(TssError::GroupKeyChanged);
    }
    // One set of tables for the combined commitment, evaluated at every new member.
    let prepared = PreparedPoints::new(&combined);
    let verifying_shares = new_members
        .iter()
        .map(|id| {
            let share = prepared.mul(&powers(id.to_scalar(), combined.len()));
            (*id, VerifyingShare::new(share))
        })
        .collect();
    Ok(PublicKeyPackage::new(
        verifying_shares,
        *old_public.verifying_key(),
        Some(new_threshold),
    ))
}

/// A new member's state in one reshare session.
pub struct ReshareReceiver {
    key_id: KeyId,
    session_id: SessionId,
    old_roster: Roster,
    old_public: PublicKeyPackage,
    new_roster: Roster,
    new_threshold: u16,
    me: Identifier,
    commitments: BTreeMap<Identifier, VerifiableSecretSharingCommitment>,
    sub_shares: BTreeMap<Identifier, Scalar>,
    envelopes: BTreeMap<Identifier, pb::SignedEnvelope>,
}

impl Drop for ReshareReceiver {
    fn drop(&mut self) {
        for share in self.sub_shares.values_mut() {
            share.zeroize();
        }
    }
}

impl ReshareReceiver {
    pub fn new(
        key_id: KeyId,
        session_id: SessionId,
        old_roster: Roster,
        old_public: PublicKeyPackage,
        new_roster: Roster,
        new_threshold: u16,
        me: &MemberSecret,
    ) -> Result<Self> {
        let my_id = me.identifier()?;
        if new_roster.get(&my_id) != Some(&me.public()) {
            return Err(TssError::InvalidParameters(
                "this member is not in the new roster".into(),
            ));
        }
        if old_public.min_signers().is_none() {
            return Err(TssError::InvalidParameters(
                "old public key package has no threshold".into(),
            ));
        }
        if new_threshold < 2 || new_threshold as usize > new_roster.len() {
            return Err(TssError::InvalidParameters(format!(
                "new threshold {new_threshold} for {} members",
                new_roster.len()
            )));
        }
        Ok(Self {
            key_id,
            session_id,
            old_roster,
            old_public,
            new_roster,
            new_threshold,
            me: my_id,
            commitments: BTreeMap::new(),
            sub_shares: BTreeMap::new(),
            envelopes: BTreeMap::new(),
        })
    }

    pub fn old_threshold(&self) -> usize {
        self.old_public.min_signers().unwrap_or(u16::MAX) as usize
    }

    /// Checks one dealer's deal: the public commitment (length t', constant term equal to the
    /// dealer's verifying share under the current key), then this member's sub-share.
    pub fn receive_deal(
        &mut self,
        message: &pb::SignedEnvelope,
        me: &MemberSecret,
    ) -> Result<Identifier> {
        let (dealer, body): (Identifier, pb::ReshareDeal) =
            envelope::open(message, pb::MessageKind::ReshareDeal, &self.old_roster)?;
        if body.key_id != self.key_id.0 || body.session_id != self.session_id.0 {
            return Err(TssError::WrongSession {
                key: self.key_id,
                session: self.session_id,
                got_key: KeyId(body.key_id),
                got_session: SessionId(body.session_id),
            });
        }
        if self.envelopes.contains_key(&dealer) {
            return Err(TssError::Duplicate {
                what: "reshare deal",
                sender: id_hex(&dealer),
            });
        }
        let commitment =
            crate::checks::deal_commitment(&dealer, &body, &self.old_public, self.new_threshold)?;
        self.envelopes.insert(dealer, message.clone());
        self.commitments.insert(dealer, commitment.clone());
        let bad_share = || TssError::BadShare {
            culprit: id_hex(&dealer),
            recipient: id_hex(&self.me),
        };
        let my_bytes = self.me.serialize();
        let share = body
            .shares
            .iter()
            .find(|s| s.recipient == my_bytes)
            .ok_or_else(bad_share)?;
        let context = ShareContext {
            purpose: RESHARE_PURPOSE,
            key_id: self.key_id,
            session_id: self.session_id,
            sender: &dealer,
            recipient: &self.me,
        };
        let scalar = ecies::decrypt_scalar(
            &me.encryption,
            &share.ephemeral_key,
            &context,
            &share.ciphertext,
        )
        .map_err(|_| bad_share())?;
        let coefficients: Vec<ProjectivePoint> = commitment
            .coefficients()
            .iter()
            .map(|c| c.value())
            .collect();
        if ProjectivePoint::mul_by_generator(&scalar)
            != evaluate_commitment(&coefficients, self.me.to_scalar())
        {
            return Err(bad_share());
        }
        self.sub_shares.insert(dealer, scalar);
        Ok(dealer)
    }

    /// Dealers whose commitment passed the public checks (everyone sees the same set).
    pub fn dealers_with_valid_commitment(&self) -> BTreeSet<Identifier> {
        self.commitments.keys().copied().collect()
    }

    /// Dealers whose sub-share for this member also verified.
    pub fn dealers_with_valid_share(&self) -> BTreeSet<Identifier> {
        self.sub_shares.keys().copied().collect()
    }

    /// A provable complaint against a dealer whose sub-share for this member was bad.
    pub fn complaint<R: RngCore + CryptoRng>(
        &self,
        accused: &Identifier,
        me: &MemberSecret,
        rng: &mut R,
    ) -> Result<pb::SignedEnvelope> {
        let message = self
            .envelopes
            .get(accused)
            .ok_or(TssError::OutOfOrder("no deal from the accused"))?;
        let (_, body): (Identifier, pb::ReshareDeal) =
            envelope::open(message, pb::MessageKind::ReshareDeal, &self.old_roster)?;
        let my_bytes = self.me.serialize();
        let ephemeral = body
            .shares
            .iter()
            .find(|s| s.recipient == my_bytes)
            .map(|s| s.ephemeral_key.clone())
            .unwrap_or_default();
        complaint::make_complaint(self.key_id, self.session_id, message, &ephemeral, me, rng)
    }

    /// Combines the sub-shares of the agreed `qualified` dealers (at least the old threshold,
    /// excluding every dealer found cheating) into this member's new key package.
    pub fn finish(
        &self,
        qualified: &BTreeSet<Identifier>,
    ) -> Result<(KeyPackage, PublicKeyPackage)> {
        if qualified.len() < self.old_threshold() {
            return Err(TssError::NotEnoughDealers {
                honest: qualified.len(),
                needed: self.old_threshold(),
            });
        }
        let new_members: BTreeSet<Identifier> = self.new_roster.identifiers().copied().collect();
        let public = combine_public(
            &self.old_public,
            &self.commitments,
            qualified,
            &new_members,
            self.new_threshold,
        )?;
        let mut share = Scalar::ZERO;
        for dealer in qualified {
            let sub_share = self.sub_shares.get(dealer).ok_or(TssError::BadShare {
                culprit: id_hex(dealer),
                recipient: id_hex(&self.me),
            })?;
            share += *sub_share * lagrange_at_zero(dealer, qualified)?;
        }
        let signing_share = SigningShare::new(share);
        share.zeroize();
        let verifying_share = *public
            .verifying_shares()
            .get(&self.me)
            .ok_or(TssError::OutOfOrder("this member is not in the new key"))?;
        if VerifyingShare::from(signing_share) != verifying_share {
            return Err(TssError::Crypto(
                "combined share does not match the combined commitment".into(),
            ));
        }
        let key_package = KeyPackage::new(
            self.me,
            signing_share,
            verifying_share,
            *public.verifying_key(),
            self.new_threshold,
        );
        Ok((key_package, public))
    }

    pub fn commitments(&self) -> &BTreeMap<Identifier, VerifiableSecretSharingCommitment> {
        &self.commitments
    }
}

fn reshare_confirm_body(
    key_id: KeyId,
    session_id: SessionId,
    qualified: &BTreeSet<Identifier>,
    public: &PublicKeyPackage,
) -> Result<pb::ReshareConfirm> {
    Ok(pb::ReshareConfirm {
        key_id: key_id.0,
        session_id: session_id.0,
        dealers: qualified.iter().map(|d| d.serialize()).collect(),
        public_key_package_hash: messages::public_key_package_hash(public)?.to_vec(),
    })
}

/// A new member's confirmation of the dealers it combined and the package it derived.
pub fn seal_confirmation(
    key_id: KeyId,
    session_id: SessionId,
    qualified: &BTreeSet<Identifier>,
    public: &PublicKeyPackage,
    me: &MemberSecret,
) -> Result<pb::SignedEnvelope> {
    let body = reshare_confirm_body(key_id, session_id, qualified, public)?;
    Ok(envelope::seal(pb::MessageKind::ReshareConfirm, &body, me))
}

/// Checks another new member's confirmation against this member's own result.
pub fn check_confirmation(
    message: &pb::SignedEnvelope,
    new_roster: &Roster,
    key_id: KeyId,
    session_id: SessionId,
    qualified: &BTreeSet<Identifier>,
    public: &PublicKeyPackage,
) -> Result<Identifier> {
    let (sender, body): (Identifier, pb::ReshareConfirm) =
        envelope::open(message, pb::MessageKind::ReshareConfirm, new_roster)?;
    if body != reshare_confirm_body(key_id, session_id, qualified, public)? {
        return Err(TssError::ConfirmationMismatch {
            culprit: id_hex(&sender),
        });
    }
    Ok(sender)
}
