//! How large an honest `mpc` vote section can be, derived from the number of members a session
//! can hold. The app adds the other sections' bounds to get the byte cap of a whole vote
//! extension (VerifyVoteExtension and the injected commit apply it), so that the extensions of
//! every validator fit in one block whatever they hold.
//!
//! Each bound is the largest encoding an honest node produces, with margin: a keygen payload
//! grows with the participants (DKG round 2 and a reshare deal carry one encrypted share per
//! member, a deal or round 1 one commitment per threshold member), the signing part with the
//! number of attempts a vote can answer (at most [`MAX_SHARES_PER_VOTE`], the hard bound of
//! `max_concurrent_sessions`).
use crate::params::{MAX_NONCE_POOL, MAX_SHARES_PER_VOTE};

/// Most keygen payloads one vote may carry: a round payload and a complaint for each of two
/// concurrent sessions (a DKG beside a reshare).
pub const MAX_PAYLOADS_PER_VOTE: usize = 4;

/// Bytes per participant in a keygen payload: an `EncryptedShare` (32-byte recipient, 33-byte
/// ephemeral key, 48-byte ciphertext, framing: 121 bytes) and a 33-byte commitment (35 framed).
const KEYGEN_BYTES_PER_PARTICIPANT: usize = 200;

/// Bytes of a keygen payload that do not grow with the participants: ids, the proof of knowledge,
/// the envelope (sender, signature, framing) and, for a complaint, the wrapper around the accused
/// envelope (shared point, DLEQ proof).
const KEYGEN_FIXED_BYTES: usize = 2048;

/// Largest body of a signature-share envelope (key id, session id, a 32-byte scalar: ~60 bytes).
pub const MAX_SHARE_BODY: usize = 128;

/// Largest encoded `ShareVote`: ids, the envelope's sender, signature, body and framing.
const SHARE_VOTE_BYTES: usize = MAX_SHARE_BODY + 160;

/// Largest body of a nonce-commitments envelope: up to [`MAX_NONCE_POOL`] commitments of two
/// 33-byte points (74 bytes framed) and the key id.
pub const MAX_NONCE_BODY: usize = MAX_NONCE_POOL as usize * 80 + 64;

/// Largest encoded keygen payload (round 1, round 2, a deal, a confirmation or a complaint that
/// wraps one of them) of a session with `participants` members.
pub fn max_keygen_payload_bytes(participants: usize) -> usize {
    KEYGEN_FIXED_BYTES.saturating_add(participants.saturating_mul(KEYGEN_BYTES_PER_PARTICIPANT))
}

/// Largest encoded `mpc` section of an honest vote when sessions have at most `participants`
/// members.
pub fn max_vote_bytes(participants: usize) -> usize {
    let keygen = MAX_PAYLOADS_PER_VOTE.saturating_mul(max_keygen_payload_bytes(participants));
    let nonces = MAX_NONCE_BODY + 256;
    let shares = MAX_SHARES_PER_VOTE * SHARE_VOTE_BYTES;
    // A refusal is one packed varint of at most 10 bytes.
    let refused = MAX_SHARES_PER_VOTE * 10 + 16;
    keygen
        .saturating_add(nonces)
        .saturating_add(shares)
        .saturating_add(refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use seqpool_proto::tss::v1 as tsspb;

    fn envelope(kind: tsspb::MessageKind, body: Vec<u8>) -> tsspb::SignedEnvelope {
        tsspb::SignedEnvelope {
            version: 1,
            kind: kind as i32,
            sender: vec![2; 33],
            body,
            signature: vec![0xff; 64],
        }
    }

    fn payload(session_id: u64, round: u32, env: tsspb::SignedEnvelope) -> crate::KeygenPayload {
        crate::KeygenPayload {
            session_id: u64::MAX - session_id,
            round,
            sender: vec![3; 33],
            envelope: Some(env),
            height: u64::MAX,
        }
    }

    /// The largest messages of a reshare at n members, each field at its real length and the
    /// integers at their longest encoding.
    fn worst_deal(n: usize) -> tsspb::ReshareDeal {
        tsspb::ReshareDeal {
            key_id: u64::MAX,
            session_id: u64::MAX,
            new_threshold: u32::MAX,
            commitment: vec![vec![2; 33]; n],
            shares: vec![
                tsspb::EncryptedShare {
                    recipient: vec![1; 32],
                    ephemeral_key: vec![3; 33],
                    ciphertext: vec![4; 48],
                };
                n
            ],
        }
    }

    #[test]
    fn two_concurrent_sessions_at_100_members_fit_the_section_bound() {
        let n = 100;
        let deal = envelope(
            tsspb::MessageKind::ReshareDeal,
            worst_deal(n).encode_to_vec(),
        );
        let complaint = tsspb::ShareComplaint {
            key_id: u64::MAX,
            session_id: u64::MAX,
            accused_message: Some(deal.clone()),
            shared_point: vec![2; 33],
            dleq_proof: vec![9; 97],
        };
        let complaint = envelope(
            tsspb::MessageKind::ShareComplaint,
            complaint.encode_to_vec(),
        );
        let share = crate::ShareVote {
            request_id: u64::MAX,
            attempt: u32::MAX,
            share: Some(envelope(
                tsspb::MessageKind::SignatureShare,
                tsspb::SignatureShare {
                    key_id: u64::MAX,
                    session_id: u64::MAX,
                    share: vec![5; 32],
                }
                .encode_to_vec(),
            )),
        };
        let nonces = tsspb::NonceCommitments {
            key_id: u64::MAX,
            commitments: vec![
                tsspb::SigningCommitment {
                    hiding: vec![2; 33],
                    binding: vec![3; 33],
                };
                MAX_NONCE_POOL as usize
            ],
        };
        let vote = crate::MpcVote {
            keygen: vec![
                payload(1, 1, deal.clone()),
                payload(1, 2, complaint.clone()),
                payload(2, 1, deal),
                payload(2, 2, complaint.clone()),
            ],
            nonce_commitments: Some(envelope(
                tsspb::MessageKind::NonceCommitments,
                nonces.encode_to_vec(),
            )),
            shares: vec![share.clone(); MAX_SHARES_PER_VOTE],
            refused: vec![u64::MAX; MAX_SHARES_PER_VOTE],
        };
        assert!(
            payload(1, 2, complaint).encoded_len() <= max_keygen_payload_bytes(n),
            "a complaint about a deal at n = {n}"
        );
        assert!(share.encoded_len() <= SHARE_VOTE_BYTES);
        assert!(nonces.encoded_len() <= MAX_NONCE_BODY);
        let bytes = vote.encoded_len();
        assert!(
            bytes <= max_vote_bytes(n),
            "{bytes} bytes, bound {}",
            max_vote_bytes(n)
        );
        // Within twice the worst honest section: a bound, not a licence.
        assert!(max_vote_bytes(n) < 2 * bytes, "{}", max_vote_bytes(n));
    }

    #[test]
    fn the_bound_grows_with_the_members_and_never_overflows() {
        assert!(max_vote_bytes(100) > max_vote_bytes(4));
        assert_eq!(
            max_vote_bytes(101) - max_vote_bytes(100),
            MAX_PAYLOADS_PER_VOTE * KEYGEN_BYTES_PER_PARTICIPANT
        );
        assert_eq!(max_vote_bytes(usize::MAX), usize::MAX);
    }
}
