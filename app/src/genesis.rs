//! The genesis `app_state`: one section per module, in proto3 JSON.
use serde::{Deserialize, Serialize};

/// The `app_state` of genesis.json.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppGenesis {
    pub admin: seqpool_admin::GenesisState,
    #[serde(default)]
    pub auth: seqpool_auth::GenesisState,
    pub staking: seqpool_staking::GenesisState,
    #[serde(default)]
    pub bridge: seqpool_bridge::GenesisState,
    #[serde(default)]
    pub epochs: seqpool_epochs::GenesisState,
    #[serde(default)]
    pub producer: seqpool_producer::GenesisState,
    #[serde(default)]
    pub mpc: seqpool_mpc::GenesisState,
}

impl AppGenesis {
    /// Genesis with default params, the given admin and validators.
    pub fn default_for(admin: &str, validators: Vec<seqpool_staking::Validator>) -> Self {
        Self {
            admin: seqpool_admin::GenesisState {
                admin: admin.to_string(),
            },
            auth: seqpool_auth::GenesisState {
                params: Some(seqpool_auth::params::default_params()),
                accounts: Vec::new(),
            },
            staking: seqpool_staking::GenesisState {
                params: Some(seqpool_staking::params::default_params()),
                validators,
            },
            bridge: seqpool_bridge::GenesisState {
                params: Some(seqpool_bridge::params::default_params()),
                next_nonce: 1,
            },
            epochs: seqpool_epochs::GenesisState {
                params: Some(seqpool_epochs::default_params()),
            },
            producer: seqpool_producer::GenesisState {
                params: Some(seqpool_producer::default_params()),
            },
            mpc: seqpool_mpc::GenesisState {
                params: Some(seqpool_mpc::params::default_params()),
                next_l2_block: 1,
                ..Default::default()
            },
        }
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("genesis app_state is not valid: {e}"))
    }
}
