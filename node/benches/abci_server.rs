//! Our ABCI connection loop (`seqpoold::abci_server`) beside tower-abci 0.19's, both serving the
//! same services of one App: requests per second over one TCP connection, `N` pipelined requests
//! and a Flush per round (how CometBFT uses its mempool and query connections), median of the
//! rounds. Three requests: Echo (the loop alone), a typed Query (auth params; the info service),
//! and a CheckTx of bytes that are no tx (the mempool service's refusal path). All three leave no
//! state behind, so every round does the same work.
//!
//! `cargo bench -p seqpoold --bench abci_server` (SEQPOOL_BENCH_SMOKE: fewer, smaller rounds)
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prost::Message;
use seqpool_app::app::App;
use seqpool_app::mempool::MempoolState;
use seqpoold::abci::{Consensus, Info, Mempool, Snapshots};
use seqpoold::abci_server::AbciServer;
use tendermint_proto::v0_38::abci as pb;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use pb::request::Value as Req;
use pb::response::Value as Resp;

struct Services {
    consensus: Consensus,
    mempool: Mempool,
    info: Info,
    _dir: tempfile::TempDir,
}

fn services() -> Services {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = seqpool_store::Storage::open(dir.path()).expect("storage");
    let mempool = Arc::new(Mutex::new(MempoolState::default()));
    let app = App::new(storage.clone(), mempool.clone()).expect("app");
    Services {
        consensus: Consensus::spawn(app),
        mempool: Mempool::new(mempool),
        info: Info::new(storage),
        _dir: dir,
    }
}

async fn start_ours(s: &Services) -> SocketAddr {
    let server = AbciServer {
        consensus: s.consensus.clone(),
        mempool: s.mempool.clone(),
        info: s.info.clone(),
        snapshot: Snapshots,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(server.serve(listener));
    addr
}

async fn start_tower(s: &Services) -> SocketAddr {
    // tower-abci binds the address itself: take a free port first.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let server = tower_abci::v038::Server::builder()
        .consensus(s.consensus.clone())
        .mempool(s.mempool.clone())
        .info(s.info.clone())
        .snapshot(Snapshots)
        .finish()
        .expect("all four services");
    tokio::spawn(async move {
        let _ = server.listen_tcp(addr).await;
    });
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_ok() {
            return addr;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("tower-abci did not listen on {addr}");
}

fn frame(value: Req, out: &mut Vec<u8>) {
    let body = pb::Request { value: Some(value) }.encode_to_vec();
    prost::encoding::encode_varint(body.len() as u64, out);
    out.extend(body);
}

fn request(kind: &str) -> Req {
    match kind {
        "echo" => Req::Echo(pb::RequestEcho {
            message: "seqpool".into(),
        }),
        "query" => Req::Query(pb::RequestQuery {
            data: seqpool_proto::auth::v1::QueryParamsRequest {}
                .encode_to_vec()
                .into(),
            path: "/seqpool.auth.v1.Query/Params".into(),
            height: 0,
            prove: false,
        }),
        _ => Req::CheckTx(pb::RequestCheckTx {
            tx: vec![0xa5; 300].into(),
            r#type: pb::CheckTxType::New as i32,
        }),
    }
}

async fn read_response<R: tokio::io::AsyncRead + Unpin>(read: &mut R) -> pb::Response {
    let mut len: u64 = 0;
    for i in 0..10 {
        let b = read.read_u8().await.expect("response length");
        len |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            break;
        }
    }
    let mut body = vec![0u8; len as usize];
    read.read_exact(&mut body).await.expect("response body");
    pb::Response::decode(body.as_slice()).expect("response decodes")
}

/// Requests per second of each round: `n` requests of `kind` and a Flush, answers read back.
async fn rounds(addr: SocketAddr, kind: &str, n: usize, count: usize) -> Vec<f64> {
    let conn = TcpStream::connect(addr).await.expect("connect");
    conn.set_nodelay(true).expect("nodelay");
    let (read, mut write) = conn.into_split();
    let mut read = BufReader::new(read);
    let mut bytes = Vec::new();
    for _ in 0..n {
        frame(request(kind), &mut bytes);
    }
    frame(Req::Flush(pb::RequestFlush {}), &mut bytes);
    let mut rates = Vec::with_capacity(count);
    for _ in 0..count {
        let start = Instant::now();
        write.write_all(&bytes).await.expect("write");
        for _ in 0..n {
            let answer = read_response(&mut read).await;
            assert!(
                !matches!(answer.value, Some(Resp::Exception(_)) | None),
                "{answer:?}"
            );
        }
        let flushed = read_response(&mut read).await;
        assert!(matches!(flushed.value, Some(Resp::Flush(_))));
        rates.push(n as f64 / start.elapsed().as_secs_f64());
    }
    rates
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let smoke = std::env::var_os("SEQPOOL_BENCH_SMOKE").is_some();
    let (n, count): (usize, usize) = if smoke { (200, 5) } else { (2_000, 30) };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let s = services();
        let ours = start_ours(&s).await;
        let tower = start_tower(&s).await;
        for kind in ["echo", "query", "check_tx_refused"] {
            // Warm up both, then alternate so a slower phase of the machine hits both.
            rounds(ours, kind, n, 2).await;
            rounds(tower, kind, n, 2).await;
            let mut a = Vec::new();
            let mut b = Vec::new();
            for _ in 0..count.div_ceil(5) {
                a.extend(rounds(ours, kind, n, 5).await);
                b.extend(rounds(tower, kind, n, 5).await);
            }
            let (a, b) = (median(a), median(b));
            println!(
                "abci server {kind}: ours {a:.0} req/s, tower-abci {b:.0} req/s, ours/tower {:.2} ({n} pipelined requests + Flush per round, median of {count})",
                a / b
            );
        }
    });
}
