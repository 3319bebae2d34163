//! `seqpoold genesis`: the params templates (genesis/devnet.json, genesis/production.json) and a
//! check of a template or a genesis.json that names every invalid field.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use seqpool_app::genesis::{template_errors, ParamsTemplate};
use serde_json::{Map, Value};

#[derive(Subcommand, Debug)]
pub enum GenesisCommand {
    /// Print the default params of every module as a template (what genesis/devnet.json holds).
    Template,
    /// Check a params template or a genesis.json: every invalid field is reported by name.
    Validate {
        /// The template or genesis.json to check.
        file: PathBuf,
    },
}

pub fn run(cmd: GenesisCommand) -> Result<()> {
    match cmd {
        GenesisCommand::Template => {
            print!("{}", ParamsTemplate::defaults().to_json_pretty());
            Ok(())
        }
        GenesisCommand::Validate { file } => {
            let errors = file_errors(&file)?;
            if errors.is_empty() {
                println!("{}: valid", file.display());
                return Ok(());
            }
            for e in &errors {
                eprintln!("{}: {e}", file.display());
            }
            bail!("{} invalid field(s) in {}", errors.len(), file.display())
        }
    }
}

/// The template at `path` (`--genesis-template`), checked; `None` gives the defaults.
pub fn load_template(path: Option<&Path>) -> Result<ParamsTemplate> {
    let Some(path) = path else {
        return Ok(ParamsTemplate::defaults());
    };
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    ParamsTemplate::from_json(&bytes).map_err(|errors| {
        anyhow::anyhow!(
            "genesis template {} is invalid: {}",
            path.display(),
            errors.join("; ")
        )
    })
}

/// Every invalid field of a template, or of the params and sections of a genesis.json (a file
/// with `app_state`; a module without params there takes the defaults).
fn file_errors(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return Ok(vec![format!("not JSON: {e}")]),
    };
    let Some(app_state) = value.get("app_state") else {
        return Ok(template_errors(&value));
    };
    let mut errors = Vec::new();
    let defaults = serde_json::to_value(ParamsTemplate::defaults())?;
    let mut params = Map::new();
    if let (Some(defaults), Some(sections)) = (defaults.as_object(), app_state.as_object()) {
        for (module, default) in defaults {
            let given = sections
                .get(module)
                .and_then(|s| s.get("params"))
                .filter(|p| !p.is_null())
                .cloned()
                .unwrap_or_else(|| default.clone());
            params.insert(module.clone(), given);
        }
    } else {
        errors.push("app_state: must be an object of module sections".into());
    }
    errors.extend(
        template_errors(&Value::Object(params))
            .into_iter()
            .map(|e| format!("app_state.{e}")),
    );
    if let Err(e) = seqpool_app::genesis::AppGenesis::from_json(app_state.to_string().as_bytes()) {
        errors.push(format!("app_state: {e}"));
    }
    Ok(errors)
}
