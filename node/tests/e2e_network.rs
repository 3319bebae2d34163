//! End to end against real CometBFT: a 4-validator devnet agrees on every app hash, applies an admin
//! tx sent with the CLI (readable over REST and gRPC), and refuses each kind of bad tx with its own
//! code while it keeps producing blocks.
mod common;

use std::time::Duration;

use common::{block_on, http_get, http_get_typed, http_post, Devnet};
use k256::ecdsa::SigningKey;
use prost::Message;
use seqpool_component::codes;

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
    let ring = seqpool_client::keyring::Keyring::open(
        net.client_home(),
        seqpool_client::keyring::Backend::Test,
        None,
    );
    let admin_key = ring.signing_key("admin").expect("admin key");
    let admin_addr = seqpool_client::address_of(&admin_key);
    let account = block_on(rpc.account(&admin_addr))
        .expect("query")
        .expect("admin is registered");
    assert!(account.sequence >= 1, "the admin tx bumped the sequence");
    let noop = || {
        seqpool_client::update_params_msg(&admin_addr, "staking", r#"{"livenessWindow":"42"}"#)
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

    let good = seqpool_app::tx::sign_tx(
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
        seqpool_app::tx::sign_tx(
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
        seqpool_app::tx::sign_tx(
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
    let stranger_msg = seqpool_client::update_params_msg(
        &seqpool_client::address_of(&stranger),
        "staking",
        r#"{"livenessWindow":"1"}"#,
    )
    .expect("msg");
    check(
        "unknown account",
        seqpool_app::tx::sign_tx(&stranger, &chain_id, 0, 0, vec![stranger_msg], ""),
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
        seqpool_app::tx::sign_tx(
            &admin_key,
            &chain_id,
            account.account_number,
            account.sequence,
            vec![noop()],
            &huge_memo,
        ),
        codes::TX_TOO_LARGE,
    );

    // 4. Queries that stopped a node through tower-abci, REST and gRPC errors, a proven read.
    bad_queries_stop_no_node(&mut net);
    client_errors_are_json_with_grpc_codes(&net);
    raw_state_reads_are_proven(&net);
    // 5. A late precommit with an invalid extension (hardening point 2).
    late_invalid_extension_stops_nothing(&mut net);
    // 6. Governance: operators propose and vote with the CLI (issue 13).
    governance_through_the_cli(&mut net);

    // The network keeps going and still agrees.
    net.wait_all_height(height_before_bad + 3, Duration::from_secs(30));
    let top = (0..net.len())
        .filter_map(|k| net.height(k))
        .min()
        .expect("heights");
    net.assert_same_app_hashes(1..=top - 1);
}

/// Issue 13 on real CometBFT: an operator submits a proposal file with the CLI, three of the four
/// operators vote YES with the CLI, and when the devnet's 20 s voting period ends the proposal
/// has passed and its param change shows over gRPC and REST.
fn governance_through_the_cli(net: &mut Devnet) {
    let client_home = net.client_home().display().to_string();
    let rpc0 = net.nodes.nodes[0].cometbft_rpc.clone();
    let grpc1 = net.nodes.nodes[1].grpc.clone();
    let rest2 = net.nodes.nodes[2].rest.clone();
    let authority = json(&net.cli(&[
        "query",
        "gov",
        "authority",
        "--grpc",
        &grpc1,
        "--output",
        "json",
    ]))["authority"]
        .as_str()
        .expect("authority")
        .to_string();
    let file = net.client_home().join("proposal.json");
    let proposal = serde_json::json!({
        "title": "Longer liveness window",
        "summary": "Count downtime over 64 blocks",
        "messages": [{
            "@type": "/seqpool.admin.v1.MsgUpdateParams",
            "authority": authority,
            "params": {
                "@type": "/seqpool.staking.v1.Params",
                "livenessWindow": "64",
                "minSignedPerWindow": "32",
                "downtimeJailBlocks": "600",
                "slashDoubleSignBps": 500
            }
        }]
    });
    std::fs::write(&file, proposal.to_string()).expect("write the proposal file");
    let file = file.display().to_string();
    let tx = |args: &[&str]| {
        let mut full = vec!["tx"];
        full.extend_from_slice(args);
        full.extend_from_slice(&[
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
        let out = json(&net.cli(&full));
        assert_eq!(out["code"], 0, "{args:?}: {out}");
        out
    };
    let started = std::time::Instant::now();
    let submitted = tx(&["gov", "submit-proposal", &file, "--from", "node0"]);
    let id = submitted["proposal_id"]
        .as_str()
        .expect("the CLI prints the proposal id")
        .to_string();
    for k in 0..3 {
        tx(&["gov", "vote", &id, "yes", "--from", &format!("node{k}")]);
    }
    let path = format!("/seqpool/gov/v1/proposals/{id}");
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let decided = loop {
        let (status, body) = http_get(&rest2, &path);
        assert_eq!(status, 200, "REST {path}: {body}");
        let shown: serde_json::Value = serde_json::from_str(&body).expect("REST JSON");
        let proposal = shown["proposal"].clone();
        if proposal["status"] != "PROPOSAL_STATUS_VOTING_PERIOD" {
            break proposal;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "proposal {id} still open: {proposal}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(decided["status"], "PROPOSAL_STATUS_PASSED", "{decided}");
    eprintln!(
        "governance: proposal {id} submitted, voted by 3 of 4 and passed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let params = json(&net.cli(&[
        "query", "staking", "params", "--grpc", &grpc1, "--output", "json",
    ]));
    assert_eq!(params["params"]["livenessWindow"], "64", "{params}");
    let votes = json(&net.cli(&[
        "query", "gov", "votes", &id, "--grpc", &grpc1, "--output", "json",
    ]));
    assert_eq!(votes["votes"].as_array().map(Vec::len), Some(3), "{votes}");
}

/// Hardening point 2 on real CometBFT: node 3 answers ExtendVote at every other height only after
/// 150 ms, with bytes that are not a vote extension (`fault-injection` feature). Its precommit
/// reaches the others after they committed the height, inside the 300 ms `timeout_commit`, and
/// CometBFT adds it to their last commit without VerifyVoteExtension, so honest proposers hold
/// it. They leave it out (`vote_extension_left_out` names node 3) and the chain goes on; before,
/// the injected commit carried it, every node rejected the proposal, every round: a halt.
fn late_invalid_extension_stops_nothing(net: &mut Devnet) {
    let rpc3 = net.nodes.nodes[3].cometbft_rpc.clone();
    let (_, status) = http_get(&rpc3, "/status");
    let status: serde_json::Value = serde_json::from_str(&status).expect("status json");
    let node3 = status["result"]["validator_info"]["address"]
        .as_str()
        .expect("node 3's validator address")
        .to_string();
    net.kill_node(3);
    net.start_node_with_env(3, &[("SEQPOOL_FAULT_LATE_EXTENSION", "2:150")]);
    let rpc0 = net.nodes.nodes[0].cometbft_rpc.clone();
    let start = net.height(0).expect("height");
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let mut next = start + 1;
    let mut seen = None;
    while seen.is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "no block from height {start} to {next} left out or ignored node 3's extension \
             (or the chain stopped)"
        );
        if net.height(0).is_some_and(|h| h >= next) {
            let (_, body) = http_get(&rpc0, &format!("/block_results?height={next}"));
            let results: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let events = results["result"]["finalize_block_events"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let names_node3 = events.iter().any(|e| {
                matches!(
                    e["type"].as_str(),
                    Some("vote_extension_left_out" | "vote_extension_ignored")
                ) && e["attributes"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|kv| kv["value"] == node3.as_str()))
            });
            if names_node3 {
                seen = Some(next);
            }
            next += 1;
        } else {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let seen = seen.unwrap_or(start);
    // The chain goes on past it, every node on the same app hashes, node 3 included.
    net.wait_all_height(seen + 5, Duration::from_secs(60));
    net.assert_running();
    net.kill_node(3);
    net.start_node(3);
}

/// Issue 20.1: each of these `abci_query` calls, sent through CometBFT's public RPC to every node,
/// gets an answer (a code and a log, or CometBFT's own refusal of an oversized request), and every
/// node goes on making blocks. On tower-abci 0.19 the first one closed the query connection and
/// CometBFT exited.
fn bad_queries_stop_no_node(net: &mut Devnet) {
    let tip = (0..net.len())
        .filter_map(|k| net.height(k))
        .max()
        .expect("heights");
    let validators = "%22/seqpool.staking.v1.Query/Validators%22";
    let gets = [
        (
            "height -1",
            format!("/abci_query?path={validators}&height=-1"),
            codes::INVALID_QUERY,
        ),
        (
            "height i64::MAX",
            format!("/abci_query?path={validators}&height={}", i64::MAX),
            codes::HEIGHT_UNAVAILABLE,
        ),
        (
            "beyond the tip",
            format!("/abci_query?path={validators}&height={}", tip + 1000),
            codes::HEIGHT_UNAVAILABLE,
        ),
        (
            "unknown path",
            "/abci_query?path=%22/no.such.Query/Path%22".to_string(),
            codes::UNKNOWN_QUERY,
        ),
        (
            "prove=true on a typed query",
            format!("/abci_query?path={validators}&prove=true"),
            codes::INVALID_QUERY,
        ),
    ];
    for k in 0..net.len() {
        let rpc = net.nodes.nodes[k].cometbft_rpc.clone();
        for (name, path, want) in &gets {
            let (status, body) = http_get(&rpc, path);
            let v: serde_json::Value = serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("node{k} {name}: not JSON ({e}): {status} {body}"));
            let response = &v["result"]["response"];
            assert_eq!(response["code"], *want, "node{k} {name}: {v}");
            assert!(
                response["log"].as_str().is_some_and(|l| !l.is_empty()),
                "node{k} {name}: a log says why: {v}"
            );
        }
        // 1 MiB of data: as JSON-RPC it is 2 MiB of hex, which CometBFT may refuse before the app
        // sees it; either answer is fine, a dead node is not.
        let data = "ff".repeat(1 << 20);
        let answer = http_post(
            &rpc,
            "/",
            &format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"abci_query","params":{{"path":"/seqpool.staking.v1.Query/Validators","data":"{data}","height":"0","prove":false}}}}"#
            ),
        );
        match answer {
            Ok((status, body)) => match serde_json::from_str::<serde_json::Value>(&body) {
                Ok(v) if v["result"]["response"]["code"].is_u64() => {
                    assert_eq!(
                        v["result"]["response"]["code"],
                        codes::INVALID_QUERY,
                        "node{k} 1 MiB: {v}"
                    )
                }
                _ => assert!(
                    status >= 400 || body.contains("error"),
                    "node{k} 1 MiB: {status} {}",
                    &body[..body.len().min(300)]
                ),
            },
            // CometBFT refused the body while it was being sent.
            Err(e) => eprintln!("node{k}: the 1 MiB query was refused by CometBFT's RPC: {e}"),
        }
    }
    net.assert_running();
    let now = (0..net.len())
        .filter_map(|k| net.height(k))
        .max()
        .expect("heights");
    net.wait_all_height(now + 3, Duration::from_secs(30));
}

/// Issue 20.2: REST answers every error as JSON in the SDK gateway's shape, with the HTTP status
/// and the gRPC code that gRPC gives the same error.
fn client_errors_are_json_with_grpc_codes(net: &Devnet) {
    let rest = &net.nodes.nodes[0].rest;
    let cases = [
        (
            "unknown route",
            "/seqpool/nothing/v1/here",
            404,
            tonic::Code::NotFound,
        ),
        (
            "height -1",
            "/seqpool/staking/v1/params?height=-1",
            400,
            tonic::Code::InvalidArgument,
        ),
        (
            "height beyond the tip",
            "/seqpool/staking/v1/params?height=999999999",
            400,
            tonic::Code::OutOfRange,
        ),
        (
            "bad path parameter",
            "/seqpool/bridge/v1/events/x",
            400,
            tonic::Code::InvalidArgument,
        ),
        (
            "unknown status",
            "/seqpool/mpc/v1/requests?status=nope",
            400,
            tonic::Code::InvalidArgument,
        ),
    ];
    for (name, path, http, grpc) in cases {
        let (status, body, content_type) = http_get_typed(rest, path);
        assert_eq!(status, http, "{name}: {body}");
        assert!(
            content_type.starts_with("application/json"),
            "{name}: {content_type} {body}"
        );
        let v: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {body}"));
        assert_eq!(v["code"], grpc as i32, "{name}: {v}");
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}: {v}"
        );
        assert_eq!(v["details"], serde_json::json!([]), "{name}: {v}");
    }
    // gRPC: the same code for a height beyond the tip.
    let out = net.cli(&[
        "query",
        "staking",
        "params",
        "--grpc",
        &net.nodes.nodes[1].grpc,
        "--height",
        "999999999",
    ]);
    assert!(
        !out.status.success(),
        "a height beyond the tip fails over gRPC"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("OutOfRange")
            || stderr.contains("out of range")
            || stderr.contains("not available"),
        "{stderr}"
    );
}

/// Issue 20.2: a raw state read with prove=true carries a JMT proof that the client checks against
/// the app hash of the next block's header; the same proof does not prove another value.
fn raw_state_reads_are_proven(net: &Devnet) {
    use tendermint_rpc::Client as _;
    let rpc = net.rpc(2);
    let proven = block_on(rpc.proven_state(b"staking/params", None, Duration::from_secs(30)))
        .expect("a proven read of staking/params");
    let value = proven.value.clone().expect("staking params are in state");
    let params =
        seqpool_proto::staking::v1::Params::decode(value.as_slice()).expect("params decode");
    assert_eq!(
        params.liveness_window, 42,
        "the value proven is the one the admin tx set"
    );
    // An absent key is proven absent.
    let absent = block_on(rpc.proven_state(b"staking/no-such-key", None, Duration::from_secs(30)))
        .expect("a proven absence");
    assert_eq!(absent.value, None);
    // The checker is not a rubber stamp: the proof of this answer does not hold for another value
    // or under another root.
    let r = block_on(async {
        tendermint_rpc::HttpClient::new(net.nodes.nodes[2].cometbft_rpc.as_str())
            .expect("client")
            .abci_query(
                Some("/store/staking/key".into()),
                b"staking/params".to_vec(),
                Some(tendermint::block::Height::try_from(proven.height).expect("height")),
                true,
            )
            .await
    })
    .expect("abci_query");
    let mut ops = r.proof.expect("proof ops").ops;
    let proof = ops.remove(0);
    let root: [u8; 32] = hex::decode(&proven.app_hash)
        .expect("hex")
        .try_into()
        .expect("32 bytes");
    assert!(
        seqpool_store::verify_proof(&root, b"staking/params", Some(&value), &proof.data).is_ok()
    );
    let mut other = value.clone();
    other.push(0);
    assert!(
        seqpool_store::verify_proof(&root, b"staking/params", Some(&other), &proof.data).is_err()
    );
    let mut wrong_root = root;
    wrong_root[0] ^= 1;
    assert!(
        seqpool_store::verify_proof(&wrong_root, b"staking/params", Some(&value), &proof.data)
            .is_err()
    );
    // A store path must name the module its key is in.
    let err = block_on(
        rpc.query::<_, seqpool_proto::staking::v1::QueryParamsResponse>(
            "/store/auth/key",
            &seqpool_proto::staking::v1::QueryParamsRequest {},
            None,
        ),
    );
    assert!(err.is_err(), "an empty key is not in store auth");
}
