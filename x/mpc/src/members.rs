//! MPC identities of validators: MsgRegisterMember and the roster a key is made for.
//!
//! A member is a validator's tss identity (signer key + encryption key), kept by its node in the
//! encrypted keystore. Genesis validators are registered in genesis (`mpc.members`); a validator
//! that joins later registers with MsgRegisterMember, sent by its operator account with a proof
//! that it holds the signer key. Re-registering replaces the member (a node that lost its
//! keystore): the roster changes, so the key is reshared to the new identity.
use k256::ecdsa::signature::{Signer, Verifier};
use k256::ecdsa::{Signature, VerifyingKey};
use seqpool_component::{codes, Event, MsgContext, StateRead, StateWrite, StoreError, TxError};
use seqpool_staking::StakingRead;
use seqpool_tss::MemberSecret;

use crate::state::{MpcRead, MpcWrite};
use crate::{Member, MsgRegisterMember};

/// Domain of the registration proof: the signer key signs this || chain_id || operator.
pub const REGISTER_DOMAIN: &[u8] = b"seqpool.mpc.v1.register";

/// The bytes a registration proof signs (ECDSA secp256k1 over their SHA-256).
pub fn registration_message(chain_id: &str, operator: &str) -> Vec<u8> {
    [REGISTER_DOMAIN, chain_id.as_bytes(), operator.as_bytes()].concat()
}

/// A MsgRegisterMember for `identity`, sent by `operator` on `chain_id` (64-byte r || s proof).
pub fn register_msg(identity: &MemberSecret, chain_id: &str, operator: &str) -> MsgRegisterMember {
    let public = identity.public();
    let proof: Signature = identity
        .signer_key()
        .sign(&registration_message(chain_id, operator));
    MsgRegisterMember {
        operator: operator.to_string(),
        signer_key: public.signer_key.to_vec(),
        encryption_key: public.encryption_key.to_vec(),
        proof: proof.to_bytes().to_vec(),
    }
}

/// The member record of `identity` for the validator at `consensus_address`.
pub fn member_of(identity: &MemberSecret, consensus_address: &str) -> Member {
    let public = identity.public();
    Member {
        validator: consensus_address.to_string(),
        identifier: public
            .identifier()
            .map(|id| id.serialize())
            .unwrap_or_default(),
        signer_key: public.signer_key.to_vec(),
        encryption_key: public.encryption_key.to_vec(),
    }
}

fn check_proof(msg: &MsgRegisterMember, chain_id: &str) -> Result<(), TxError> {
    let bad = |why: &str| {
        TxError::new(
            codes::INVALID_MEMBER_PROOF,
            format!("MsgRegisterMember proof: {why}"),
        )
    };
    let key = VerifyingKey::from_sec1_bytes(&msg.signer_key)
        .map_err(|_| bad("the signer key is not a secp256k1 point"))?;
    let sig = Signature::from_slice(&msg.proof)
        .map_err(|_| bad("not a 64-byte r || s ECDSA signature"))?;
    key.verify(&registration_message(chain_id, &msg.operator), &sig)
        .map_err(|_| {
            bad("not the signer key's signature over \"seqpool.mpc.v1.register\" || chain_id || operator")
        })
}

/// MsgRegisterMember: registers (or replaces) the MPC identity of the validator `msg.operator`
/// operates.
pub fn register_member<S: StateWrite>(
    state: &mut S,
    ctx: &MsgContext,
    msg: &MsgRegisterMember,
) -> Result<Vec<Event>, TxError> {
    if ctx.signer != msg.operator {
        return Err(TxError::unauthorized(format!(
            "MsgRegisterMember for operator {} signed by {}",
            msg.operator, ctx.signer
        )));
    }
    let operated: Vec<_> = state
        .validators()?
        .into_iter()
        .filter(|v| v.operator == msg.operator)
        .collect();
    let validator = match operated.as_slice() {
        [v] => v.consensus_address.clone(),
        [] => {
            return Err(TxError::new(
                codes::NOT_VALIDATOR_OPERATOR,
                format!("{} operates no validator", msg.operator),
            ))
        }
        many => {
            return Err(TxError::invalid_message(format!(
                "{} operates {} validators; register their members from distinct operators",
                msg.operator,
                many.len()
            )))
        }
    };
    check_proof(msg, &ctx.block.chain_id)?;
    let public = seqpool_tss::MemberPublic::new(&msg.signer_key, &msg.encryption_key)
        .map_err(|e| TxError::invalid_message(format!("MsgRegisterMember: {e}")))?;
    let identifier = public
        .identifier()
        .map_err(|e| TxError::invalid_message(format!("MsgRegisterMember: {e}")))?
        .serialize();
    let member = Member {
        validator: validator.clone(),
        identifier,
        signer_key: msg.signer_key.clone(),
        encryption_key: msg.encryption_key.clone(),
    };
    for other in state.members()? {
        if other.validator == validator {
            continue;
        }
        // One key, one member: the identifier names a member in every key, and an encryption key
        // shared by two members would let one read the other's shares.
        let clash = [&other.signer_key, &other.encryption_key]
            .into_iter()
            .any(|k| *k == member.signer_key || *k == member.encryption_key);
        if clash {
            return Err(TxError::new(
                codes::MEMBER_KEY_TAKEN,
                format!(
                    "a key of this member is already registered to validator {}",
                    other.validator
                ),
            ));
        }
    }
    let previous = state.member(&validator)?;
    if previous.as_ref() == Some(&member) {
        return Ok(Vec::new());
    }
    state.put_member(&member);
    Ok(vec![Event::new("seqpool.mpc.v1.EventMemberRegistered")
        .attr("validator", validator)
        .attr("identifier", hex::encode(&member.identifier))
        .attr("replaced", previous.is_some().to_string())])
}

/// The members a key is made for: validators with power that are not jailed and have a
/// registered member, ordered by FROST identifier (the order every node iterates them in).
pub fn roster<S: StateRead + ?Sized>(state: &S) -> Result<Vec<Member>, StoreError> {
    let mut out = Vec::new();
    for v in state.validators()? {
        if v.power <= 0 || v.jailed {
            continue;
        }
        if let Some(m) = state.member(&v.consensus_address)? {
            out.push(m);
        }
    }
    // Identifiers are 32-byte big-endian scalars: byte order is FROST's identifier order.
    out.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use seqpool_component::BlockContext;
    use seqpool_staking::{StakingWrite, Validator};
    use seqpool_store::{StateDelta, Storage};

    const CHAIN: &str = "seqpool-test";

    fn ctx(signer: &str) -> MsgContext {
        MsgContext {
            block: BlockContext {
                chain_id: CHAIN.into(),
                height: 5,
                time_unix_nanos: 0,
            },
            signer: signer.into(),
            proposal: None,
        }
    }

    fn validator(i: u8, power: i64) -> Validator {
        Validator {
            name: format!("val{i}"),
            operator: format!("op{i}"),
            consensus_address: format!("{i:040X}"),
            power,
            ..Default::default()
        }
    }

    fn identity(seed: u64) -> MemberSecret {
        MemberSecret::random(&mut rand::rngs::StdRng::seed_from_u64(seed))
    }

    fn setup() -> (tempfile::TempDir, StateDelta<seqpool_store::Snapshot>) {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        let mut state = StateDelta::new(storage.latest_snapshot());
        for i in 0..4 {
            state.put_validator(&validator(i, 10));
        }
        (dir, state)
    }

    #[test]
    fn registers_with_a_valid_proof_and_replaces() {
        let (_dir, mut state) = setup();
        let first = identity(1);
        let events =
            register_member(&mut state, &ctx("op1"), &register_msg(&first, CHAIN, "op1")).unwrap();
        assert_eq!(events.len(), 1);
        let stored = state.member(&validator(1, 10).consensus_address).unwrap();
        assert_eq!(
            stored,
            Some(member_of(&first, &validator(1, 10).consensus_address))
        );
        // The same registration again changes nothing.
        let again = register_member(&mut state, &ctx("op1"), &register_msg(&first, CHAIN, "op1"));
        assert_eq!(again.unwrap(), Vec::new());
        // A new identity replaces the old one.
        let second = identity(2);
        register_member(
            &mut state,
            &ctx("op1"),
            &register_msg(&second, CHAIN, "op1"),
        )
        .unwrap();
        assert_eq!(
            state.members().unwrap(),
            vec![member_of(&second, &validator(1, 10).consensus_address)]
        );
    }

    #[test]
    fn refuses_bad_proofs_strangers_and_taken_keys() {
        let (_dir, mut state) = setup();
        let id = identity(3);
        // Signed by someone else than the operator named in the message.
        let err =
            register_member(&mut state, &ctx("op2"), &register_msg(&id, CHAIN, "op1")).unwrap_err();
        assert_eq!(err.code, codes::UNAUTHORIZED);
        // Not an operator.
        let err =
            register_member(&mut state, &ctx("op9"), &register_msg(&id, CHAIN, "op9")).unwrap_err();
        assert_eq!(err.code, codes::NOT_VALIDATOR_OPERATOR);
        // A proof for another chain, another operator, or by another key.
        for msg in [
            register_msg(&id, "other-chain", "op1"),
            MsgRegisterMember {
                operator: "op1".into(),
                ..register_msg(&id, CHAIN, "op2")
            },
            MsgRegisterMember {
                proof: register_msg(&identity(4), CHAIN, "op1").proof,
                ..register_msg(&id, CHAIN, "op1")
            },
            MsgRegisterMember {
                proof: vec![1, 2, 3],
                ..register_msg(&id, CHAIN, "op1")
            },
        ] {
            let err = register_member(&mut state, &ctx("op1"), &msg).unwrap_err();
            assert_eq!(err.code, codes::INVALID_MEMBER_PROOF, "{err}");
        }
        // A bad encryption key.
        let err = register_member(
            &mut state,
            &ctx("op1"),
            &MsgRegisterMember {
                encryption_key: vec![5; 33],
                ..register_msg(&id, CHAIN, "op1")
            },
        )
        .unwrap_err();
        assert_eq!(err.code, codes::INVALID_MESSAGE, "{err}");
        // A key another validator registered: its signer key, or used as the encryption key.
        register_member(&mut state, &ctx("op1"), &register_msg(&id, CHAIN, "op1")).unwrap();
        let err =
            register_member(&mut state, &ctx("op2"), &register_msg(&id, CHAIN, "op2")).unwrap_err();
        assert_eq!(err.code, codes::MEMBER_KEY_TAKEN);
        let thief = identity(5);
        let mut msg = register_msg(&thief, CHAIN, "op2");
        msg.encryption_key = id.public().encryption_key.to_vec();
        let err = register_member(&mut state, &ctx("op2"), &msg).unwrap_err();
        assert_eq!(err.code, codes::MEMBER_KEY_TAKEN);
        assert_eq!(state.members().unwrap().len(), 1);
    }

    #[test]
    fn roster_is_active_registered_validators_by_identifier() {
        let (_dir, mut state) = setup();
        let mut jailed = validator(2, 10);
        jailed.jailed = true;
        state.put_validator(&jailed);
        state.put_validator(&validator(3, 0));
        for i in 0..4u8 {
            let op = format!("op{i}");
            register_member(
                &mut state,
                &ctx(&op),
                &register_msg(&identity(10 + u64::from(i)), CHAIN, &op),
            )
            .unwrap();
        }
        // A validator with power but no member (not registered) is left out too.
        state.put_validator(&validator(4, 10));
        let roster = roster(&state).unwrap();
        let mut validators: Vec<_> = roster.iter().map(|m| m.validator.clone()).collect();
        validators.sort();
        assert_eq!(
            validators,
            vec![
                validator(0, 10).consensus_address,
                validator(1, 10).consensus_address
            ]
        );
        assert!(roster[0].identifier < roster[1].identifier);
    }
}
