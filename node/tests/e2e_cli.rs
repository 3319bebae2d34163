//! The operator CLI as a user runs it: `init` makes a home that real CometBFT accepts and runs as a
//! one-validator chain; `keys` manages an encrypted keyring; failures are one line and exit 1.
mod common;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{block_on, SEQPOOLD};

fn seqpoold(args: &[&str], passphrase: Option<&str>) -> Output {
    let mut cmd = Command::new(SEQPOOLD);
    cmd.args(args)
        .stdin(Stdio::null())
        .env_remove("SEQPOOL_KEYRING_PASSPHRASE")
        .env_remove("SEQPOOL_HOME");
    if let Some(p) = passphrase {
        cmd.env("SEQPOOL_KEYRING_PASSPHRASE", p);
    }
    cmd.output().expect("run seqpoold")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Asserts a failure with exit code 1 and a single "error: ..." line containing `needle`.
fn fails_with(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1, stderr: {stderr}"
    );
    assert!(stderr.starts_with("error: "), "stderr: {stderr:?}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
}

#[test]
fn keys_lifecycle_with_encrypted_keyring() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path().to_str().expect("utf-8 path");
    let info: serde_json::Value = serde_json::from_str(&ok(&seqpoold(
        &["keys", "add", "alice", "--home", h, "--output", "json"],
        Some("pw-1"),
    )))
    .expect("json");
    let address = info["address"].as_str().expect("address").to_string();
    assert!(address.starts_with("seqpool1"));

    // Listing and showing need no passphrase; the file holds no plaintext key.
    let shown = ok(&seqpoold(
        &["keys", "show", "alice", "-a", "--home", h],
        None,
    ));
    assert_eq!(shown.trim(), address);
    let list: serde_json::Value = serde_json::from_str(&ok(&seqpoold(
        &["keys", "list", "--home", h, "--output", "json"],
        None,
    )))
    .expect("json");
    assert_eq!(list.as_array().map(|a| a.len()), Some(1));
    let hex_key = ok(&seqpoold(
        &["keys", "export", "alice", "--unsafe-hex", "--home", h],
        Some("pw-1"),
    ));
    let file = std::fs::read_to_string(home.path().join("keyring/alice.json")).expect("key file");
    assert!(
        !file.contains(hex_key.trim()),
        "private key must not be stored in the clear"
    );

    // Wrong or missing passphrase: one clear line, exit 1, nothing lost.
    fails_with(
        &seqpoold(&["keys", "export", "alice", "--home", h], Some("wrong")),
        "wrong passphrase",
    );
    fails_with(
        &seqpoold(&["keys", "export", "alice", "--home", h], None),
        "needs a passphrase",
    );
    fails_with(
        &seqpoold(&["keys", "add", "alice", "--home", h], Some("pw-1")),
        "already exists",
    );
    fails_with(
        &seqpoold(&["keys", "show", "bob", "--home", h], None),
        "not found",
    );

    // Encrypted export moves to another home; raw hex import gives the same address.
    let exported = ok(&seqpoold(
        &["keys", "export", "alice", "--home", h],
        Some("pw-1"),
    ));
    let other = tempfile::tempdir().expect("tempdir");
    let o = other.path().to_str().expect("utf-8 path");
    let export_path = other.path().join("alice.export.json");
    std::fs::write(&export_path, exported).expect("write export");
    let imported = ok(&seqpoold(
        &[
            "keys",
            "import",
            "alice",
            "--file",
            export_path.to_str().expect("path"),
            "--export-passphrase",
            "pw-1",
            "--home",
            o,
            "--output",
            "json",
        ],
        Some("pw-2"),
    ));
    assert!(imported.contains(&address));
    let via_hex = ok(&seqpoold(
        &[
            "keys",
            "import",
            "alice-hex",
            "--hex",
            hex_key.trim(),
            "--home",
            o,
        ],
        Some("pw-2"),
    ));
    assert!(via_hex.contains(&address));

    fails_with(
        &seqpoold(&["keys", "delete", "alice", "--home", h], Some("pw-1")),
        "--yes",
    );
    ok(&seqpoold(
        &["keys", "delete", "alice", "--yes", "--home", h],
        Some("pw-1"),
    ));
    fails_with(
        &seqpoold(&["keys", "show", "alice", "--home", h], None),
        "not found",
    );
}

struct Killed(Vec<Child>);
impl Drop for Killed {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn init_home_runs_as_a_single_validator_chain() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path().to_str().expect("utf-8 path");
    let out: serde_json::Value = serde_json::from_str(&ok(&seqpoold(
        &[
            "init",
            "solo",
            "--chain-id",
            "solo-1",
            "--home",
            h,
            "--output",
            "json",
        ],
        Some("init-pass"),
    )))
    .expect("json");
    assert_eq!(out["chain_id"], "solo-1");
    fails_with(
        &seqpoold(
            &["init", "solo", "--chain-id", "solo-1", "--home", h],
            Some("init-pass"),
        ),
        "--overwrite",
    );
    fails_with(
        &seqpoold(
            &[
                "init",
                "solo",
                "--chain-id",
                "bad chain id",
                "--home",
                h,
                "--overwrite",
            ],
            Some("x"),
        ),
        "chain-id",
    );

    let genesis: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.path().join("config/genesis.json")).expect("genesis"),
    )
    .expect("json");
    assert_eq!(
        genesis["consensus_params"]["validator"]["pub_key_types"],
        serde_json::json!(["secp256k1"])
    );
    assert_eq!(
        genesis["consensus_params"]["abci"]["vote_extensions_enable_height"],
        "1"
    );
    assert_eq!(genesis["app_state"]["admin"]["admin"], out["operator"]);
    let pv: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.path().join("config/priv_validator_key.json"))
            .expect("pv key"),
    )
    .expect("json");
    assert_eq!(pv["priv_key"]["type"], "tendermint/PrivKeySecp256k1");
    for f in [
        "config/config.toml",
        "config/app.toml",
        "config/node_key.json",
        "data/priv_validator_state.json",
        "keyring/operator.json",
    ] {
        assert!(home.path().join(f).exists(), "{f} missing");
    }

    // Move every port off the defaults so the test does not collide with a running devnet.
    let base = 43000 + (std::process::id() % 500) as u16 * 10;
    let config = home.path().join("config/config.toml");
    let mut text = std::fs::read_to_string(&config).expect("config");
    for (from, to) in [
        ("26656", base),
        ("26657", base + 1),
        ("26658", base + 2),
        ("26660", base + 4),
    ] {
        text = text.replace(&format!(":{from}\""), &format!(":{to}\""));
    }
    std::fs::write(&config, text).expect("write config");
    let app_toml = home.path().join("config/app.toml");
    let app = std::fs::read_to_string(&app_toml)
        .expect("app.toml")
        .replace(":26658", &format!(":{}", base + 2))
        .replace(":26657", &format!(":{}", base + 1))
        .replace(":9090", &format!(":{}", base + 5))
        .replace(":1317", &format!(":{}", base + 6));
    std::fs::write(&app_toml, app).expect("write app.toml");

    let log = |name: &str| std::fs::File::create(home.path().join(name)).expect("log");
    let app = Command::new(SEQPOOLD)
        .args(["start", "--home", h])
        .stdout(log("app.out"))
        .stderr(log("app.err"))
        .spawn()
        .expect("start");
    let cmt = Command::new(common::cometbft_bin())
        .args(["start", "--home", h])
        .stdout(log("cmt.out"))
        .stderr(log("cmt.err"))
        .spawn()
        .expect("cometbft");
    let _procs = Killed(vec![cmt, app]);

    let rpc = seqpool_client::Rpc::new(&format!("http://127.0.0.1:{}", base + 1)).expect("rpc");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if block_on(rpc.status()).is_ok_and(|s| s.height >= 3) {
            break;
        }
        if Instant::now() > deadline {
            let tail = std::fs::read_to_string(home.path().join("cmt.out")).unwrap_or_default();
            panic!(
                "single validator did not reach height 3; cometbft log tail:\n{}",
                &tail[tail.len().saturating_sub(3000)..]
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let status: serde_json::Value = serde_json::from_str(&ok(&seqpoold(
        &[
            "query",
            "node",
            "status",
            "--grpc",
            &format!("127.0.0.1:{}", base + 5),
            "--output",
            "json",
        ],
        None,
    )))
    .expect("json");
    assert_eq!(status["chainId"], "solo-1");
    let validators: serde_json::Value = serde_json::from_str(&ok(&seqpoold(
        &[
            "query",
            "staking",
            "validators",
            "--abci",
            "--node",
            &format!("http://127.0.0.1:{}", base + 1),
            "--output",
            "json",
        ],
        None,
    )))
    .expect("json");
    assert_eq!(validators["validators"][0]["operator"], out["operator"]);
}

#[test]
fn version_and_usage_errors() {
    assert!(ok(&seqpoold(&["version"], None)).starts_with("seqpoold "));
    let bad = seqpoold(&["frobnicate"], None);
    assert_eq!(bad.status.code(), Some(2), "usage errors exit 2");
    fails_with(
        &seqpoold(
            &[
                "query",
                "node",
                "status",
                "--grpc",
                "127.0.0.1:1",
                "--home",
                "/nonexistent-seqpool-home",
            ],
            None,
        ),
        "127.0.0.1:1",
    );
}

/// The genesis templates as an operator uses them: `genesis validate` passes the shipped
/// templates and names every bad field of a broken one; `init --genesis-template` writes a genesis
/// with the template's params, which validates too; a broken template stops `init`.
#[test]
fn genesis_templates_validate_and_seed_init() {
    let templates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../genesis");
    let production = templates.join("production.json");
    let production = production.to_str().expect("utf-8 path");
    for t in ["devnet.json", "production.json"] {
        let path = templates.join(t);
        ok(&seqpoold(
            &["genesis", "validate", path.to_str().expect("utf-8")],
            None,
        ));
    }

    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path().to_str().expect("utf-8 path");
    ok(&seqpoold(
        &[
            "init",
            "solo",
            "--chain-id",
            "prod-1",
            "--home",
            h,
            "--genesis-template",
            production,
        ],
        Some("init-pass"),
    ));
    let genesis_path = home.path().join("config/genesis.json");
    let genesis: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&genesis_path).expect("genesis")).expect("json");
    let app_state = &genesis["app_state"];
    assert_eq!(app_state["epochs"]["params"]["epochLength"], "1000");
    assert_eq!(app_state["producer"]["params"]["stallTimeoutMs"], "120000");
    ok(&seqpoold(
        &["genesis", "validate", genesis_path.to_str().expect("utf-8")],
        None,
    ));

    // Two bad params and an unknown field: each named, exit 1.
    let mut broken: serde_json::Value =
        serde_json::from_slice(&std::fs::read(templates.join("devnet.json")).expect("devnet"))
            .expect("json");
    broken["epochs"]["epochLength"] = "0".into();
    broken["auth"]["maxMsgsPerTx"] = "0".into();
    broken["producer"]["stallTimeout"] = "1".into();
    let broken_path = home.path().join("broken.json");
    std::fs::write(&broken_path, broken.to_string()).expect("write");
    let broken_path = broken_path.to_str().expect("utf-8");
    let out = seqpoold(&["genesis", "validate", broken_path], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    for field in [
        "epochs.epochLength",
        "auth.maxMsgsPerTx",
        "producer.stallTimeout",
    ] {
        assert!(stderr.contains(field), "{field} not in {stderr}");
    }
    fails_with(
        &seqpoold(
            &[
                "init",
                "solo",
                "--chain-id",
                "prod-1",
                "--home",
                h,
                "--overwrite",
                "--genesis-template",
                broken_path,
            ],
            Some("init-pass"),
        ),
        "epochs.epochLength",
    );
}
