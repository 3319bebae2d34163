//! Node-side MPC duties: this validator's MPC identity and encrypted keystore (opened at
//! `seqpoold start`), and what it puts in the `mpc` section of its vote extension. Everything
//! here is node-local and may differ between nodes; what enters state is decided by x/mpc from
//! the injected extended commit.
pub mod identity;
pub mod keygen;
pub mod signer;
#[cfg(feature = "testing")]
pub mod testing;

use seqpool_component::StateRead;
use seqpool_proto::mpc::v1::MpcVote;
use seqpool_tss::keystore::Keystore;
use seqpool_tss::MemberSecret;

/// The node's MPC engine. `None` in [`seqpool_app::app::App`] for a non-validator (or a node started
/// without its keystore), which then never contributes MPC payloads.
pub struct MpcNode {
    pub identity: MemberSecret,
    pub keystore: Keystore,
    pub keygen: keygen::KeygenDuties,
    pub signer: signer::SignerDuties,
}

impl MpcNode {
    pub fn new(identity: MemberSecret, keystore: Keystore) -> Self {
        Self {
            identity,
            keystore,
            keygen: Default::default(),
            signer: Default::default(),
        }
    }

    /// After each commit: keystore housekeeping for the key statuses in state (check a new
    /// key's share, delete retired ones), also on a node whose validator left the set, and the
    /// answers kept for packages that did not commit are forgotten. Only committed state deletes:
    /// ExtendVote's view is a candidate block that a later round may replace.
    pub fn after_commit<S: StateRead>(&mut self, state: &S) {
        if let Err(e) = self
            .keygen
            .follow_keys(state, &self.identity, &mut self.keystore)
        {
            tracing::warn!(error = %e, "mpc keystore housekeeping failed");
        }
        self.signer.after_commit(state);
    }

    /// The `mpc` section of this node's precommit for `height`, given x/mpc state as block
    /// `height` leaves it. Never fails: a duty this node cannot do is left out (and logged).
    pub fn vote_section<S: StateRead>(
        &mut self,
        state: &S,
        height: u64,
        chain_id: &str,
    ) -> MpcVote {
        let mut vote = MpcVote::default();
        self.keygen.extend(
            &mut vote,
            state,
            height,
            chain_id,
            &self.identity,
            &mut self.keystore,
        );
        self.signer.extend(
            &mut vote,
            state,
            height,
            chain_id,
            &self.identity,
            &mut self.keystore,
        );
        vote
    }
}

impl seqpool_app::mpc::MpcDuties for MpcNode {
    fn after_commit(&mut self, state: &dyn StateRead) {
        MpcNode::after_commit(self, &state);
    }

    fn vote_section(&mut self, state: &dyn StateRead, height: u64, chain_id: &str) -> MpcVote {
        MpcNode::vote_section(self, &state, height, chain_id)
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
