//! End to end against real CometBFT: a 4-validator devnet agrees on every app hash, applies an admin
//! tx sent with the CLI (readable over REST and gRPC), and refuses each kind of bad tx with its own
//! code while it keeps producing blocks.
mod common;

use std::time::Duration;

use common::{block_on, http_get, Devnet};
use k256::ecdsa::SigningKey;
use prost::Message;
use seqpool_component::codes;
use seqpoold::client;

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "command failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn four_validators_agree_apply_admin_tx_and_refuse_bad_txs() {
    let mut net = Devnet::start(4, 0);

    // 1. Consensus: height 20 on every node with identical app hashes at every height.
    net.wait_all_height(20, Duration::from_secs(120));
    net.assert_same_app_hashes(1..=19);

    // 2. An admin tx through the CLI, then read back over REST (node 1) and gRPC (node 2).
    let client_home = net.client_home().display().to_string();
    let rpc0 = net.nodes.nodes[0].cometbft_rpc.clone();
    let before = net.height(0).expect("height");
    let out = net.cli(&[
        "tx",
        "admin",
        "update-params",
        "staking",
        r#"{"livenessWindow":"42"}"#,
        "--from",
        "admin",
        "--home",
        &client_home,
        "--keyring-backend",
        "test",
        "--node",
        &rpc0,
        "--output",
        "json",
        "--timeout",
        "60s",
    ]);
    let tx = json(&out);
    assert_eq!(tx["code"], 0, "admin tx failed: {tx}");
    let tx_height = tx["height"].as_u64().expect("height in tx output");
    assert!(tx_height > before);
    net.wait_all_height(tx_height + 1, Duration::from_secs(30));

    let (status, body) = http_get(&net.nodes.nodes[1].rest, "/seqpool/staking/v1/params");
    assert_eq!(status, 200, "REST params: {body}");
    let rest: serde_json::Value = serde_json::from_str(&body).expect("REST JSON");
    assert_eq!(
        rest["params"]["livenessWindow"], "42",
        "REST shows the new params: {rest}"
    );
    // Versioned reads: the state before the tx still has the default window.
    let (status, body) = http_get(
        &net.nodes.nodes[1].rest,
        &format!("/seqpool/staking/v1/params?height={}", tx_height - 1),
    );
    assert_eq!(status, 200, "REST params at height: {body}");
    let old: serde_json::Value = serde_json::from_str(&body).expect("REST JSON");
    assert_ne!(
        old["params"]["livenessWindow"], "42",
        "state before the tx: {old}"
    );

    let grpc2 = net.nodes.nodes[2].grpc.clone();
    let params = json(&net.cli(&[
        "query", "staking", "params", "--grpc", &grpc2, "--output", "json",
    ]));
    assert_eq!(
        params["params"]["livenessWindow"], "42",
        "gRPC shows the new params: {params}"
    );
    let admin = json(&net.cli(&[
        "query", "admin", "admin", "--grpc", &grpc2, "--output", "json",
    ]));
    assert_eq!(admin["admin"], net.nodes.admin.address.as_str());

    // A tx that fails CheckTx makes the CLI exit non-zero with one line on stderr.
    let refused = net.cli(&[
        "tx",
        "admin",
        "update-params",
        "staking",
        r#"{"livenessWindow":"7"}"#,
        "--from",
        "node0",
        "--home",
        &client_home,
        "--keyring-backend",
        "test",
        "--node",
        &rpc0,
        "--timeout",
        "30s",
    ]);
    assert!(!refused.status.success(), "a non-admin update must fail");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.trim_end().lines().count() == 1,
        "one-line error: {stderr:?}"
    );

    // 3. Bad txs, each refused by broadcast_tx_sync with its own code.
    let rpc = net.rpc(3);
    let chain_id = net.nodes.chain_id.clone();
    let ring =
        seqpoold::keyring::Keyring::open(net.client_home(), seqpoold::keyring::Backend::Test, None);
    let admin_key = ring.signing_key("admin").expect("admin key");
    let admin_addr = client::address_of(&admin_key);
    let account = block_on(rpc.account(&admin_addr))
        .expect("query")
        .expect("admin is registered");
    assert!(account.sequence >= 1, "the admin tx bumped the sequence");
    let noop = || {
        client::update_params_msg(&admin_addr, "staking", r#"{"livenessWindow":"42"}"#)
            .expect("msg")
    };
    let height_before_bad = net.height(3).expect("height");

    let check = |name: &str, tx: Vec<u8>, want: u32| {
        let r = block_on(rpc.broadcast(tx)).unwrap_or_else(|e| panic!("{name}: broadcast: {e}"));
        assert_eq!(
            r.code,
            want,
            "{name}: expected code {want} ({}), got {} ({}): {}",
            codes::name(want),
            r.code,
            codes::name(r.code),
            r.log
        );
        assert_eq!(r.codespace, codes::CODESPACE, "{name}: codespace");
        assert!(!r.log.is_empty(), "{name}: the log says what is wrong");
    };

    check(
        "malformed bytes",
        b"\x0a\xff\xff\xffnot a tx".to_vec(),
        codes::TX_DECODE,
    );

    let good = seqpoold::tx::sign_tx(
        &admin_key,
        &chain_id,
        account.account_number,
        account.sequence,
        vec![noop()],
        "",
    );
    let mut raw =
        cosmrs::proto::cosmos::tx::v1beta1::TxRaw::decode(good.as_slice()).expect("TxRaw");
    raw.signatures[0][5] ^= 0x01;
    check(
        "bad signature",
        raw.encode_to_vec(),
        codes::INVALID_SIGNATURE,
    );

    check(
        "wrong chain-id",
        seqpoold::tx::sign_tx(
            &admin_key,
            "other-chain",
            account.account_number,
            account.sequence,
            vec![noop()],
            "",
        ),
        codes::WRONG_CHAIN_ID,
    );
    check(
        "replayed sequence",
        seqpoold::tx::sign_tx(
            &admin_key,
            &chain_id,
            account.account_number,
            account.sequence - 1,
            vec![noop()],
            // Other bytes than the tx that used this sequence: CometBFT's cache would refuse an exact copy.
            "replay",
        ),
        codes::SEQUENCE_REPLAYED,
    );
    let stranger = SigningKey::random(&mut rand::rngs::OsRng);
    let stranger_msg = client::update_params_msg(
        &client::address_of(&stranger),
        "staking",
        r#"{"livenessWindow":"1"}"#,
    )
    .expect("msg");
    check(
        "unknown account",
        seqpoold::tx::sign_tx(&stranger, &chain_id, 0, 0, vec![stranger_msg], ""),
        codes::UNKNOWN_ACCOUNT,
    );

    let auth_params = block_on(
        rpc.query::<_, seqpool_proto::auth::v1::QueryParamsResponse>(
            "/seqpool.auth.v1.Query/Params",
            &seqpool_proto::auth::v1::QueryParamsRequest {},
            None,
        ),
    )
    .expect("auth params")
    .params
    .expect("params set");
    let huge_memo = "x".repeat(auth_params.max_tx_bytes as usize + 1);
    check(
        "oversized tx",
        seqpoold::tx::sign_tx(
            &admin_key,
            &chain_id,
            account.account_number,
            account.sequence,
            vec![noop()],
            &huge_memo,
        ),
        codes::TX_TOO_LARGE,
    );

    // The network keeps going and still agrees.
    net.wait_all_height(height_before_bad + 3, Duration::from_secs(30));
    let top = (0..net.len())
        .filter_map(|k| net.height(k))
        .min()
        .expect("heights");
    net.assert_same_app_hashes(1..=top - 1);
}
