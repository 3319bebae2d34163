//! What the app asks of this node's MPC engine. The engine (identity, keystore, keygen and signer
//! duties) is node-local and lives in the node crate; the app only calls it after each commit and
//! when it builds the `mpc` section of its precommit. What enters state is decided by x/mpc from
//! the injected extended commit, never by what one node's engine returned.
use std::any::Any;

use seqpool_component::StateRead;
use seqpool_proto::mpc::v1::MpcVote;

pub trait MpcDuties: Send + 'static {
    /// After each commit, with the committed state: keystore housekeeping for the key statuses
    /// in it (also on a node whose validator left the set).
    fn after_commit(&mut self, state: &dyn StateRead);

    /// The `mpc` section of this node's precommit for `height`, given x/mpc state as block
    /// `height` leaves it. Never fails: a duty this node cannot do is left out (and logged).
    fn vote_section(&mut self, state: &dyn StateRead, height: u64, chain_id: &str) -> MpcVote;

    /// For tests that reach into a concrete engine (fault injection, its keystore).
    fn as_any_mut(&mut self) -> &mut dyn Any;
}
