//! The genesis `app_state`: one section per module, in proto3 JSON; and the genesis templates
//! (every module's params) that `seqpoold init` and `seqpoold testnet` start from.
//!
//! The defaults live in one place, each module's `default_params()`: [`ParamsTemplate::defaults`]
//! renders them, `genesis/devnet.json` is that rendering (a test keeps the two equal) and
//! `genesis/production.json` overrides them for a production-like chain.
use seqpool_component::TxError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Every module's params, as a genesis template holds them (proto3 JSON, one object per module).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamsTemplate {
    pub auth: seqpool_auth::Params,
    pub staking: seqpool_staking::Params,
    pub bridge: seqpool_bridge::Params,
    pub epochs: seqpool_epochs::Params,
    pub producer: seqpool_producer::Params,
    pub mpc: seqpool_mpc::Params,
    pub gov: seqpool_gov::Params,
}

impl ParamsTemplate {
    /// Every module's default params: what `genesis/devnet.json` holds.
    pub fn defaults() -> Self {
        Self {
            auth: seqpool_auth::params::default_params(),
            staking: seqpool_staking::params::default_params(),
            bridge: seqpool_bridge::params::default_params(),
            epochs: seqpool_epochs::default_params(),
            producer: seqpool_producer::default_params(),
            mpc: seqpool_mpc::params::default_params(),
            gov: seqpool_gov::params::default_params(),
        }
    }

    /// Parses a template and checks every field: each error names its module and field.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Vec<String>> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| vec![format!("the template is not JSON: {e}")])?;
        let errors = template_errors(&value);
        if !errors.is_empty() {
            return Err(errors);
        }
        serde_json::from_value(value).map_err(|e| vec![e.to_string()])
    }

    /// The template as a person edits it: every field of every module's params, zero values
    /// too (proto3 JSON leaves those out, and a field nobody sees is a field nobody sets).
    pub fn to_json_pretty(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(modules) = value.as_object_mut() {
            for (module, params) in modules.iter_mut() {
                if let Some(fields) = params.as_object_mut() {
                    add_zero_fields(&format!("seqpool.{module}.v1.Params"), fields);
                }
            }
        }
        let mut out = serde_json::to_string_pretty(&value).unwrap_or_default();
        out.push('\n');
        out
    }
}

/// Adds the fields of message `full_name` that `fields` leaves out (proto3 JSON's zero values),
/// from the descriptor set the proto crate embeds.
fn add_zero_fields(full_name: &str, fields: &mut Map<String, Value>) {
    use prost::Message;
    use prost_types::field_descriptor_proto::{Label, Type};
    let Ok(set) = prost_types::FileDescriptorSet::decode(seqpool_proto::FILE_DESCRIPTOR_SET) else {
        return;
    };
    let message = set.file.iter().find_map(|f| {
        f.message_type
            .iter()
            .find(|m| format!("{}.{}", f.package(), m.name()) == full_name)
    });
    let Some(message) = message else {
        return;
    };
    let given = std::mem::take(fields);
    for field in &message.field {
        let name = field.json_name().to_string();
        let value = match given.get(&name) {
            Some(v) => v.clone(),
            None if field.label() == Label::Repeated => Value::Array(Vec::new()),
            None => match field.r#type() {
                Type::Int64 | Type::Uint64 | Type::Sint64 | Type::Fixed64 | Type::Sfixed64 => {
                    Value::String("0".into())
                }
                Type::Bool => Value::Bool(false),
                Type::String | Type::Bytes => Value::String(String::new()),
                Type::Message | Type::Group => Value::Null,
                _ => Value::from(0),
            },
        };
        fields.insert(name, value);
    }
    // Anything the descriptor does not name stays, so a parse still reports it.
    for (name, value) in given {
        fields.entry(name).or_insert(value);
    }
}

type Validate<P> = fn(&P) -> Result<(), TxError>;

/// Every invalid field of a template's JSON, by name (`module.field: why`): unknown modules and
/// fields, values of the wrong type, and values its module's params check refuses. A module whose
/// params its check refuses has each field judged on its own among the defaults, so two bad fields
/// give two errors; values that only fail together (a minimum above its maximum) get the module's
/// own message.
pub fn template_errors(value: &Value) -> Vec<String> {
    let Some(modules) = value.as_object() else {
        return vec!["the template must be a JSON object with one entry per module".into()];
    };
    let known = [
        "auth", "staking", "bridge", "epochs", "producer", "mpc", "gov",
    ];
    let mut errors: Vec<String> = modules
        .keys()
        .filter(|m| !known.contains(&m.as_str()))
        .map(|m| format!("{m}: not a module with params (expected one of {known:?})"))
        .collect();
    let defaults = ParamsTemplate::defaults();
    errors.extend(module_errors(
        modules,
        "auth",
        &defaults.auth,
        seqpool_auth::params::validate,
    ));
    errors.extend(module_errors(
        modules,
        "staking",
        &defaults.staking,
        seqpool_staking::params::validate,
    ));
    errors.extend(module_errors(
        modules,
        "bridge",
        &defaults.bridge,
        seqpool_bridge::params::validate,
    ));
    errors.extend(module_errors(
        modules,
        "epochs",
        &defaults.epochs,
        seqpool_epochs::validate_params,
    ));
    errors.extend(module_errors(
        modules,
        "producer",
        &defaults.producer,
        seqpool_producer::validate_params,
    ));
    errors.extend(module_errors(
        modules,
        "mpc",
        &defaults.mpc,
        seqpool_mpc::params::validate_params,
    ));
    errors.extend(module_errors(
        modules,
        "gov",
        &defaults.gov,
        seqpool_gov::params::validate,
    ));
    errors
}

fn module_errors<P: Serialize + DeserializeOwned>(
    modules: &Map<String, Value>,
    module: &str,
    defaults: &P,
    validate: Validate<P>,
) -> Vec<String> {
    let Some(given) = modules.get(module) else {
        return vec![format!(
            "{module}: missing (every module's params are in a template)"
        )];
    };
    let Some(fields) = given.as_object() else {
        return vec![format!("{module}: must be an object of params")];
    };
    let base = match serde_json::to_value(defaults) {
        Ok(Value::Object(base)) => base,
        _ => return vec![format!("{module}: its defaults do not render as an object")],
    };
    // The module as given: parse errors per field, then its own check of the whole.
    let whole = match serde_json::from_value::<P>(given.clone()) {
        Ok(p) => validate(&p).err().map(|e| e.message),
        Err(e) => Some(e.to_string()),
    };
    let Some(whole) = whole else {
        return Vec::new();
    };
    // Which fields fail: each judged alone among the defaults.
    let mut errors = Vec::new();
    for (field, v) in fields {
        let mut alone = base.clone();
        alone.insert(field.clone(), v.clone());
        match serde_json::from_value::<P>(Value::Object(alone)) {
            Err(e) => errors.push(format!("{module}.{field}: {e}")),
            Ok(p) => {
                if let Err(e) = validate(&p) {
                    errors.push(format!("{module}.{field}: {}", e.message));
                }
            }
        }
    }
    // No field fails alone: they fail together (a minimum above its maximum).
    if errors.is_empty() {
        errors.push(format!("{module}: {whole}"));
    }
    errors
}

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
    #[serde(default)]
    pub gov: seqpool_gov::GenesisState,
}

impl AppGenesis {
    /// Genesis with default params, the given admin and validators.
    pub fn default_for(admin: &str, validators: Vec<seqpool_staking::Validator>) -> Self {
        Self::from_template(&ParamsTemplate::defaults(), admin, validators)
    }

    /// Genesis with a template's params, the given admin and validators.
    pub fn from_template(
        template: &ParamsTemplate,
        admin: &str,
        validators: Vec<seqpool_staking::Validator>,
    ) -> Self {
        let t = template.clone();
        Self {
            admin: seqpool_admin::GenesisState {
                admin: admin.to_string(),
            },
            auth: seqpool_auth::GenesisState {
                params: Some(t.auth),
                accounts: Vec::new(),
            },
            staking: seqpool_staking::GenesisState {
                params: Some(t.staking),
                validators,
            },
            bridge: seqpool_bridge::GenesisState {
                params: Some(t.bridge),
                next_nonce: 1,
            },
            epochs: seqpool_epochs::GenesisState {
                params: Some(t.epochs),
            },
            producer: seqpool_producer::GenesisState {
                params: Some(t.producer),
            },
            mpc: seqpool_mpc::GenesisState {
                params: Some(t.mpc),
                next_l2_block: 1,
                ..Default::default()
            },
            gov: seqpool_gov::GenesisState {
                params: Some(t.gov),
            },
        }
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("genesis app_state is not valid: {e}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn template(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../genesis")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// The defaults live in the modules' `default_params()`; genesis/devnet.json is their
    /// rendering. Refresh it with `seqpoold genesis template > genesis/devnet.json`.
    #[test]
    fn devnet_template_is_the_defaults() {
        let file = String::from_utf8(template("devnet.json")).unwrap();
        assert_eq!(
            file,
            ParamsTemplate::defaults().to_json_pretty(),
            "genesis/devnet.json differs from the defaults: `seqpoold genesis template > genesis/devnet.json`"
        );
        assert_eq!(
            ParamsTemplate::from_json(file.as_bytes()).unwrap(),
            ParamsTemplate::defaults()
        );
    }

    #[test]
    fn production_template_validates_with_production_values() {
        let t = ParamsTemplate::from_json(&template("production.json")).unwrap();
        assert_eq!(t.epochs.epoch_length, 1000);
        assert!(
            t.producer.stall_timeout_ms >= 60_000,
            "a minutes-long stall timeout"
        );
        assert!(t.staking.liveness_window > ParamsTemplate::defaults().staking.liveness_window);
    }

    #[test]
    fn every_invalid_field_is_named() {
        let mut t = serde_json::to_value(ParamsTemplate::defaults()).unwrap();
        t["auth"]["maxTxBytes"] = "1".into();
        t["epochs"]["epochLength"] = "0".into();
        t["producer"]["stallTimeoutMs"] = "soon".into();
        t["mpc"]["noSuchField"] = 1.into();
        t["gov"] = serde_json::json!({});
        let errors = template_errors(&t);
        for name in [
            "auth.maxTxBytes",
            "epochs.epochLength",
            "producer.stallTimeoutMs",
            "mpc.noSuchField",
            "gov",
        ] {
            assert!(
                errors.iter().any(|e| e.starts_with(&format!("{name}:"))),
                "{name} not reported in {errors:?}"
            );
        }
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(ParamsTemplate::from_json(t.to_string().as_bytes()).is_err());
    }

    /// Values that are each fine but not together get the module's own message.
    #[test]
    fn fields_that_fail_only_together_are_reported_by_module() {
        let mut t = serde_json::to_value(ParamsTemplate::defaults()).unwrap();
        t["staking"]["livenessWindow"] = "200".into();
        t["staking"]["minSignedPerWindow"] = "150".into();
        assert!(template_errors(&t).is_empty());
        // Each fine beside the defaults (window 100, minimum 50), not together.
        t["staking"]["livenessWindow"] = "60".into();
        t["staking"]["minSignedPerWindow"] = "70".into();
        let errors = template_errors(&t);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("staking:"), "{errors:?}");
    }
}
