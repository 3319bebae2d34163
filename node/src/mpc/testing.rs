//! The in-process driver with real MPC engines (`MpcNode`s over encrypted keystores), for the
//! MPC scenario tests and benchmarks: `use seqpoold::mpc::testing::MpcDriver` and call
//! `Driver::new_mpc` / `Driver::with_validators_mpc` / `d.mpc_node(i)`.
use std::path::Path;
use std::sync::Arc;

use seqpool_app::app::AppError;
use seqpool_app::driver::{Driver, MpcFactory, TestValidator};
use seqpool_app::genesis::AppGenesis;
use seqpool_tss::keystore::{KdfParams, Keystore, KeystoreSecret};

use super::MpcNode;

/// Passphrase of the driver's keystores (test keystores in temp dirs).
const DRIVER_KEYSTORE_PASSPHRASE: &str = "seqpool driver keystore";

/// An MpcNode over the keystore at `path` holding `v`'s identity (cheap Argon2 for tests).
pub fn open_mpc_node(path: &Path, v: &TestValidator) -> Result<MpcNode, AppError> {
    let failed = |e: seqpool_tss::TssError| {
        AppError::Sequence(format!("{}'s MPC keystore {}: {e}", v.name, path.display()))
    };
    let params = KdfParams {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    };
    let secret = KeystoreSecret::passphrase(DRIVER_KEYSTORE_PASSPHRASE);
    let mut keystore = Keystore::open_with(path, &secret, params).map_err(failed)?;
    let identity = v.mpc_identity();
    keystore.put_identity(&identity).map_err(failed)?;
    Ok(MpcNode::new(identity, keystore))
}

/// The driver's factory of MpcNodes.
pub fn mpc_node_factory() -> MpcFactory {
    Arc::new(|path, v| Ok(Box::new(open_mpc_node(path, v)?)))
}

/// The driver with MpcNodes as every validator's MPC engine.
pub trait MpcDriver: Sized {
    /// `Driver::new_with_genesis`, and every validator has an MPC identity in genesis
    /// `mpc.members` and an MpcNode with its own keystore under `dir`.
    fn new_mpc(
        dir: &Path,
        validators: usize,
        nodes: usize,
        customize: impl FnOnce(&mut AppGenesis),
    ) -> Result<Self, AppError>;

    /// `Driver::with_validators` with MPC identities and MpcNodes.
    fn with_validators_mpc(
        dir: &Path,
        validators: Vec<TestValidator>,
        nodes: usize,
        customize: impl FnOnce(&mut AppGenesis),
    ) -> Result<Self, AppError>;

    /// The MpcNode of validator `idx` (its full node's, or its voter's), if MPC is on.
    fn mpc_node(&mut self, idx: usize) -> Option<&mut MpcNode>;
}

impl MpcDriver for Driver {
    fn new_mpc(
        dir: &Path,
        validators: usize,
        nodes: usize,
        customize: impl FnOnce(&mut AppGenesis),
    ) -> Result<Self, AppError> {
        Driver::new_mpc_with(dir, validators, nodes, mpc_node_factory(), customize)
    }

    fn with_validators_mpc(
        dir: &Path,
        validators: Vec<TestValidator>,
        nodes: usize,
        customize: impl FnOnce(&mut AppGenesis),
    ) -> Result<Self, AppError> {
        Driver::with_validators_mpc_with(dir, validators, nodes, mpc_node_factory(), customize)
    }

    fn mpc_node(&mut self, idx: usize) -> Option<&mut MpcNode> {
        self.mpc_duties(idx)?.as_any_mut().downcast_mut::<MpcNode>()
    }
}
