//! `seqpoold query admin`: the chain's admin (or when it retired) beside L1 Governance's own
//! admin, exit window and action nonce, so an operator sees both halves of a retirement.
use alloy::primitives::Address;
use alloy::providers::ProviderBuilder;
use anyhow::{Context, Result};
use serde::Serialize;

use super::Output;
use seqpool_l1::bindings::Governance;
use seqpool_proto::admin::v1::QueryAdminResponse;

/// L1 Governance as read at the latest block.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct L1Governance {
    pub governance: String,
    /// `None` once retired (address zero on L1).
    pub admin: Option<String>,
    pub execution_delay_seconds: String,
    pub next_action_nonce: String,
}

/// Reads Governance at `governance` (20 bytes) through `rpc`.
pub async fn read(rpc: &str, governance: &[u8]) -> Result<L1Governance> {
    let address = Address::try_from(governance)
        .with_context(|| format!("x/mpc params.l1.governance has {} bytes", governance.len()))?;
    let url = rpc
        .parse()
        .with_context(|| format!("L1 RPC {rpc:?} is not a URL"))?;
    let provider = ProviderBuilder::new().connect_http(url);
    let gov = Governance::new(address, provider);
    let admin = gov
        .admin()
        .call()
        .await
        .with_context(|| format!("Governance.admin() at {address} via {rpc}"))?;
    let delay = gov
        .executionDelay()
        .call()
        .await
        .with_context(|| format!("Governance.executionDelay() at {address}"))?;
    let nonce = gov
        .actionNonce()
        .call()
        .await
        .with_context(|| format!("Governance.actionNonce() at {address}"))?;
    Ok(L1Governance {
        governance: address.to_string(),
        admin: (admin != Address::ZERO).then(|| admin.to_string()),
        execution_delay_seconds: delay.to_string(),
        next_action_nonce: nonce.to_string(),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Shown<'a> {
    admin: &'a str,
    retired_at_height: String,
    gov_authority: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    l1: Option<&'a L1Governance>,
}

/// Prints the chain's and L1's admin: JSON, or lines for a reader.
pub fn show(chain: &QueryAdminResponse, l1: Option<&L1Governance>, output: Output) -> Result<()> {
    if let Output::Json = output {
        return super::print_json(
            &Shown {
                admin: &chain.admin,
                retired_at_height: chain.retired_at_height.to_string(),
                gov_authority: &chain.gov_authority,
                l1,
            },
            output,
        );
    }
    println!("{}", lines(chain, l1).join("\n"));
    Ok(())
}

fn lines(chain: &QueryAdminResponse, l1: Option<&L1Governance>) -> Vec<String> {
    let mut out = vec![match chain.retired_at_height {
        0 => format!("chain admin: {}", chain.admin),
        h => format!("chain admin: retired at height {h}"),
    }];
    out.push(format!("gov authority: {}", chain.gov_authority));
    if let Some(l1) = l1 {
        out.push(format!(
            "L1 Governance {}: admin {}; exit window {} s; next action nonce {}",
            l1.governance,
            l1.admin.as_deref().unwrap_or("none (retired)"),
            l1.execution_delay_seconds,
            l1.next_action_nonce
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retired_admin_reads_as_retired_on_both_sides() {
        let chain = QueryAdminResponse {
            admin: String::new(),
            retired_at_height: 42,
            gov_authority: "cosmos1gov".into(),
        };
        let l1 = L1Governance {
            governance: "0x4e".into(),
            admin: None,
            execution_delay_seconds: "5".into(),
            next_action_nonce: "3".into(),
        };
        assert_eq!(
            lines(&chain, Some(&l1)),
            [
                "chain admin: retired at height 42",
                "gov authority: cosmos1gov",
                "L1 Governance 0x4e: admin none (retired); exit window 5 s; next action nonce 3",
            ]
        );
        let active = QueryAdminResponse {
            admin: "cosmos1admin".into(),
            retired_at_height: 0,
            ..chain
        };
        let shown = lines(&active, None);
        assert_eq!(shown.len(), 2, "no L1 line without an L1 RPC");
        assert_eq!(shown[0], "chain admin: cosmos1admin");
    }
}
