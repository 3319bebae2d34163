//! alloy bindings generated from the committed forge artifacts in contracts/abi/ (ABI and
//! bytecode), so building this crate needs neither Node.js nor forge. Refresh them with
//! `scripts/contracts.sh abi` after changing a contract.

#![allow(clippy::too_many_arguments, missing_docs)]

use alloy::sol;

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    DevnetToken,
    "../contracts/abi/DevnetToken.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    Governance,
    "../contracts/abi/Governance.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    GroupKeyRegistry,
    "../contracts/abi/GroupKeyRegistry.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    LockingPool,
    "../contracts/abi/LockingPool.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    LockingEscrow,
    "../contracts/abi/LockingEscrow.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    BatchInbox,
    "../contracts/abi/BatchInbox.json"
);

/// Each contract module carries its own copy of the Solidity `FrostSignature` struct.
macro_rules! frost_signature_from_affine {
    ($($module:ident),*) => {$(
        impl From<crate::frost_sig::AffineSignature> for $module::FrostSignature {
            fn from(sig: crate::frost_sig::AffineSignature) -> Self {
                Self {
                    rx: alloy::primitives::U256::from_be_bytes(sig.r.x),
                    ry: alloy::primitives::U256::from_be_bytes(sig.r.y),
                    z: alloy::primitives::U256::from_be_bytes(sig.z),
                }
            }
        }
    )*};
}

frost_signature_from_affine!(BatchInbox, GroupKeyRegistry, LockingPool, Governance);
