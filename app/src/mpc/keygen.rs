//! This node's DKG and reshare duties (round payloads, decryption of its shares, confirmation).

#[derive(Default)]
pub struct KeygenDuties {}
