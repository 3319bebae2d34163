use std::collections::BTreeMap;

use frost_secp256k1::keys::dkg::{self, round1, round2};
use frost_secp256k1::keys::{KeyPackage, PublicKeyPackage, SecretShare, SigningShare};
use frost_secp256k1::Identifier;
use rand_core::{CryptoRng, RngCore};

use crate::complaint::{self, DKG_PURPOSE};
use crate::crypto::ecies::{self, ShareContext};
use crate::crypto::envelope;
use crate::error::{Result, TssError};
use crate::eth;
use crate::ids::{id_hex, KeyId, SessionId};
use crate::members::{MemberSecret, Roster};
use crate::messages::{self, pb};

/// A finished DKG: this member's key package and the confirmed public key package.
pub struct DkgOutput {
    pub key_package: KeyPackage,
    pub public_key_package: PublicKeyPackage,
}

/// One member's state in one DKG session.
pub struct DkgParticipant {
    key_id: KeyId,
    session_id: SessionId,
    roster: Roster,
    me: Identifier,
    threshold: u16,
    round1_secret: Option<round1::SecretPackage>,
    round1_packages: BTreeMap<Identifier, round1::Package>,
    round2_secret: Option<round2::SecretPackage>,
    round2_envelopes: BTreeMap<Identifier, pb::SignedEnvelope>,
    round2_packages: BTreeMap<Identifier, round2::Package>,
    output: Option<(KeyPackage, PublicKeyPackage, [u8; 32])>,
    confirmations: BTreeMap<Identifier, [u8; 32]>,
}

impl DkgParticipant {
    /// Starts a DKG for `roster` with `threshold` signers and returns the round-1 broadcast.
    pub fn start<R: RngCore + CryptoRng>(
        key_id: KeyId,
        session_id: SessionId,
        roster: Roster,
        threshold: u16,
        me: &MemberSecret,
        rng: &mut R,
    ) -> Result<(Self, pb::SignedEnvelope)> {
        let my_id = me.identifier()?;
        if roster.get(&my_id) != Some(&me.public()) {
            return Err(TssError::InvalidParameters(
                "this member is not in the DKG roster".into(),
            ));
        }
        let n = roster.len();
        if threshold < 2 || threshold as usize > n {
            return Err(TssError::InvalidParameters(format!(
                "threshold {threshold} for {n} members"
            )));
        }
        let (secret, package) = dkg::part1(my_id, n as u16, threshold, &mut *rng)?;
        let body = pb::DkgRound1 {
            key_id: key_id.0,
            session_id: session_id.0,
            min_signers: threshold as u32,
            max_signers: n as u32,
            commitment: messages::commitment_to_pb(package.commitment())?,
            proof_of_knowledge: package.proof_of_knowledge().serialize()?,
        };
        let envelope = envelope::seal(pb::MessageKind::DkgRound1, &body, me);
        Ok((
            Self {
                key_id,
                session_id,
                roster,
                me: my_id,
                threshold,
                round1_secret: Some(secret),
                round1_packages: BTreeMap::new(),
                round2_secret: None,
                round2_envelopes: BTreeMap::new(),
                round2_packages: BTreeMap::new(),
                output: None,
                confirmations: BTreeMap::new(),
            },
            envelope,
        ))
    }

    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    pub fn identifier(&self) -> Identifier {
        self.me
    }

    fn check_session(&self, key_id: u64, session_id: u64) -> Result<()> {
        if key_id != self.key_id.0 || session_id != self.session_id.0 {
            return Err(TssError::WrongSession {
                key: self.key_id,
                session: self.session_id,
                got_key: KeyId(key_id),
                got_session: SessionId(session_id),
            });
        }
        Ok(())
    }

    /// Accepts another member's round-1 broadcast. Returns the sender.
    pub fn receive_round1(&mut self, message: &pb::SignedEnvelope) -> Result<Identifier> {
        let (sender, package) = crate::checks::dkg_round1(
            message,
            &self.roster,
            self.key_id,
            self.session_id,
            self.threshold,
        )?;
        if sender == self.me {
            return Ok(sender);
        }
        if self.round1_packages.contains_key(&sender) {
            return Err(TssError::Duplicate {
                what: "dkg round 1",
                sender: id_hex(&sender),
            });
        }
        self.round1_packages.insert(sender, package);
        Ok(sender)
    }

    /// Members whose round-1 broadcast has not arrived.
    pub fn missing_round1(&self) -> Vec<Identifier> {
        self.roster
            .identifiers()
            .filter(|id| **id != self.me && !self.round1_packages.contains_key(id))
            .copied()
            .collect()
    }

    /// Runs part 2 and returns the round-2 message: one encrypted share per other member.
    pub fn round2<R: RngCore + CryptoRng>(
        &mut self,
        me: &MemberSecret,
        rng: &mut R,
    ) -> Result<pb::SignedEnvelope> {
        let missing = self.missing_round1().len();
        if missing > 0 {
            return Err(TssError::Incomplete {
                phase: "dkg round 1",
                missing,
            });
        }
        let secret = self
            .round1_secret
            .take()
            .ok_or(TssError::OutOfOrder("dkg round 2 already sent"))?;
        let (round2_secret, packages) = dkg::part2(secret, &self.round1_packages)?;
        let mut shares = Vec::with_capacity(packages.len());
        for (recipient, package) in &packages {
            let member = self.roster.get(recipient).ok_or(TssError::UnknownMember {
                sender: id_hex(recipient),
            })?;
            let context = ShareContext {
                purpose: DKG_PURPOSE,
                key_id: self.key_id,
                session_id: self.session_id,
                sender: &self.me,
                recipient,
            };
            let (ephemeral, ciphertext) = ecies::encrypt_scalar(
                rng,
                &member.encryption_public()?,
                &context,
                &package.signing_share().to_scalar(),
            );
            shares.push(pb::EncryptedShare {
                recipient: recipient.serialize(),
                ephemeral_key: ephemeral.to_vec(),
                ciphertext,
            });
        }
        drop(packages);
        self.round2_secret = Some(round2_secret);
        let body = pb::DkgRound2 {
            key_id: self.key_id.0,
            session_id: self.session_id.0,
            shares,
        };
        Ok(envelope::seal(pb::MessageKind::DkgRound2, &body, me))
    }

    /// Accepts another member's round-2 message and decrypts this member's share. A share that
    /// does not decrypt is a `BadShare` error naming the sender at once; a share that decrypts
    /// but does not match the sender's commitment is caught by [`Self::finish`] (which checks
    /// every share once, inside frost's part 3). [`Self::complaint`] proves either to everyone.
    pub fn receive_round2(
        &mut self,
        message: &pb::SignedEnvelope,
        me: &MemberSecret,
    ) -> Result<Identifier> {
        let (sender, body): (Identifier, pb::DkgRound2) =
            envelope::open(message, pb::MessageKind::DkgRound2, &self.roster)?;
        self.check_session(body.key_id, body.session_id)?;
        if sender == self.me {
            return Ok(sender);
        }
        if self.round2_envelopes.contains_key(&sender) {
            return Err(TssError::Duplicate {
                what: "dkg round 2",
                sender: id_hex(&sender),
            });
        }
        if !self.round1_packages.contains_key(&sender) {
            return Err(TssError::OutOfOrder(
                "dkg round 2 before the sender's round 1",
            ));
        }
        self.round2_envelopes.insert(sender, message.clone());
        let bad_share = || TssError::BadShares {
            culprits: vec![id_hex(&sender)],
            recipient: id_hex(&self.me),
        };
        let my_bytes = self.me.serialize();
        let share = body
            .shares
            .iter()
            .find(|s| s.recipient == my_bytes)
            .ok_or_else(bad_share)?;
        let context = ShareContext {
            purpose: DKG_PURPOSE,
            key_id: self.key_id,
            session_id: self.session_id,
            sender: &sender,
            recipient: &self.me,
        };
        let scalar = ecies::decrypt_scalar(
            &me.encryption,
            &share.ephemeral_key,
            &context,
            &share.ciphertext,
        )
        .map_err(|_| bad_share())?;
        self.round2_packages
            .insert(sender, round2::Package::new(SigningShare::new(scalar)));
        Ok(sender)
    }

    /// Every sender whose share does not match its commitment (the slow path after part 3
    /// found one, so that all culprits are named, not only the first).
    fn bad_share_senders(&self) -> Vec<String> {
        self.round2_packages
            .iter()
            .filter(|(sender, package)| {
                let Some(round1) = self.round1_packages.get(sender) else {
                    return true;
                };
                SecretShare::new(
                    self.me,
                    *package.signing_share(),
                    round1.commitment().clone(),
                )
                .verify()
                .is_err()
            })
            .map(|(sender, _)| id_hex(sender))
            .collect()
    }

    /// A provable complaint against `accused`, whose round-2 message was received.
    pub fn complaint<R: RngCore + CryptoRng>(
        &self,
        accused: &Identifier,
        me: &MemberSecret,
        rng: &mut R,
    ) -> Result<pb::SignedEnvelope> {
        let message = self
            .round2_envelopes
            .get(accused)
            .ok_or(TssError::OutOfOrder("no round 2 message from the accused"))?;
        let (_, body): (Identifier, pb::DkgRound2) =
            envelope::open(message, pb::MessageKind::DkgRound2, &self.roster)?;
        let my_bytes = self.me.serialize();
        let ephemeral = body
            .shares
            .iter()
            .find(|s| s.recipient == my_bytes)
            .map(|s| s.ephemeral_key.clone())
            .unwrap_or_default();
        complaint::make_complaint(self.key_id, self.session_id, message, &ephemeral, me, rng)
    }

    /// The round-1 commitment a member broadcast (to judge complaints).
    pub fn round1_commitment(
        &self,
        member: &Identifier,
    ) -> Option<frost_secp256k1::keys::VerifiableSecretSharingCommitment> {
        self.round1_packages
            .get(member)
            .map(|p| p.commitment().clone())
    }

    /// Runs part 3 and returns this member's confirmation. Fails with `GroupKeyUnsuitable` when
    /// the group key's x coordinate is not below the curve order (the caller restarts).
    pub fn finish(&mut self, me: &MemberSecret) -> Result<pb::SignedEnvelope> {
        let missing = self
            .roster
            .identifiers()
            .filter(|id| **id != self.me && !self.round2_packages.contains_key(id))
            .count();
        if missing > 0 {
            return Err(TssError::Incomplete {
                phase: "dkg round 2",
                missing,
            });
        }
        let secret = self
            .round2_secret
            .as_ref()
            .ok_or(TssError::OutOfOrder("dkg part 3 before part 2"))?;
        let (key_package, public_key_package) =
            match dkg::part3(secret, &self.round1_packages, &self.round2_packages) {
                Ok(out) => out,
                Err(frost_core::Error::InvalidSecretShare { .. }) => {
                    return Err(TssError::BadShares {
                        culprits: self.bad_share_senders(),
                        recipient: id_hex(&self.me),
                    })
                }
                Err(e) => return Err(e.into()),
            };
        eth::group_key_affine(public_key_package.verifying_key())?;
        self.round2_secret = None;
        self.round2_packages.clear();
        let hash = messages::public_key_package_hash(&public_key_package)?;
        self.confirmations.insert(self.me, hash);
        let body = pb::DkgConfirm {
            key_id: self.key_id.0,
            session_id: self.session_id.0,
            public_key_package_hash: hash.to_vec(),
            group_key: public_key_package.verifying_key().serialize()?,
        };
        self.output = Some((key_package, public_key_package, hash));
        Ok(envelope::seal(pb::MessageKind::DkgConfirm, &body, me))
    }

    /// This member's key package and the public key package once part 3 ran (before the other
    /// members confirmed them): what a node stores before its confirmation leaves, so a restart
    /// after confirming does not lose its share.
    pub fn output(&self) -> Option<(&KeyPackage, &PublicKeyPackage)> {
        self.output
            .as_ref()
            .map(|(share, public, _)| (share, public))
    }

    /// Accepts another member's confirmation; a different package names the sender.
    pub fn receive_confirm(&mut self, message: &pb::SignedEnvelope) -> Result<Identifier> {
        let (sender, body): (Identifier, pb::DkgConfirm) =
            envelope::open(message, pb::MessageKind::DkgConfirm, &self.roster)?;
        self.check_session(body.key_id, body.session_id)?;
        let (_, _, mine) = self
            .output
            .as_ref()
            .ok_or(TssError::OutOfOrder("confirmation before part 3"))?;
        if body.public_key_package_hash.as_slice() != mine.as_slice() {
            return Err(TssError::ConfirmationMismatch {
                culprit: id_hex(&sender),
            });
        }
        self.confirmations.insert(sender, *mine);
        Ok(sender)
    }

    /// True once every member confirmed the same public key package.
    pub fn is_confirmed(&self) -> bool {
        self.output.is_some() && self.confirmations.len() == self.roster.len()
    }

    /// The key, once every member confirmed it.
    pub fn into_output(self) -> Result<DkgOutput> {
        let missing = self.roster.len() - self.confirmations.len();
        if missing > 0 {
            return Err(TssError::Incomplete {
                phase: "dkg confirmation",
                missing,
            });
        }
        let (key_package, public_key_package, _) = self
            .output
            .ok_or(TssError::OutOfOrder("dkg not finished"))?;
        Ok(DkgOutput {
            key_package,
            public_key_package,
        })
    }
}
