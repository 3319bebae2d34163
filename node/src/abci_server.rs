//! The ABCI socket server: our own connection loop over tendermint-proto's types.
//!
//! tower-abci 0.19's loop converts each protobuf request with `?` and unwraps the connection task,
//! so one `abci_query` with `height=-1` (sent by anyone through CometBFT's public RPC) closed the
//! query connection and CometBFT exited. Here a request that fails to convert is answered in its own
//! kind where a safe answer exists (a Query or CheckTx gets an error code and a log, a snapshot offer
//! is refused, a proposal or vote extension we cannot read is rejected), and a frame that does not
//! decode closes only its connection, with a log line. docs/abci-server.md says why we did not patch
//! tower-abci instead.
//!
//! CometBFT's socket client pipelines requests on each of its four connections and reads the
//! answers in request order, with an explicit Flush; the loop keeps that order with a
//! `FuturesOrdered`, like tower-abci.
use std::convert::TryFrom;
use std::future::Future;
use std::pin::Pin;

use futures::stream::{FuturesOrdered, StreamExt};
use futures::FutureExt;
use prost::Message;
use seqpool_component::codes;
use tendermint::abci::MethodKind;
use tendermint::v0_38::abci::{
    ConsensusRequest, ConsensusResponse, InfoRequest, InfoResponse, MempoolRequest,
    MempoolResponse, Request, Response, SnapshotRequest, SnapshotResponse,
};
use tendermint_proto::v0_38::abci as pb;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::mpsc;
use tower::{Service, ServiceExt};

pub use crate::abci::BoxError;

/// Largest frame we read. CometBFT's largest request is a FinalizeBlock or PrepareProposal of a
/// block of at most 100 MiB (`MaxBlockSizeBytes`) plus the commit; anything longer is garbage,
/// and the cap keeps a bad length prefix from making us allocate without bound.
pub const MAX_FRAME_BYTES: usize = 128 << 20;

/// Requests read ahead of their answers on one connection (CometBFT pipelines CheckTx).
const READ_AHEAD: usize = 256;

type ResponseFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// What one request produced: an answer to send, or an answer after which the connection closes.
enum Outcome {
    Answer(pb::Response),
    Fatal(pb::Response, String),
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the length prefix is not a varint of at most 10 bytes")]
    BadLength,
    #[error("a frame of {0} bytes is longer than the limit of {MAX_FRAME_BYTES}")]
    TooLong(u64),
    #[error("the frame does not decode as an ABCI request: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("the connection ended inside a frame")]
    Truncated,
    #[error("read: {0}")]
    Io(std::io::Error),
}

/// Reads one length-prefixed request; `Ok(None)` at a clean end of the stream (between frames).
pub async fn read_frame<R: AsyncRead + Unpin>(
    read: &mut R,
) -> Result<Option<pb::Request>, FrameError> {
    let mut len: u64 = 0;
    for i in 0..10 {
        let byte = match read.read_u8().await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return if i == 0 {
                    Ok(None)
                } else {
                    Err(FrameError::Truncated)
                };
            }
            Err(e) => return Err(FrameError::Io(e)),
        };
        len |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if len > MAX_FRAME_BYTES as u64 {
                return Err(FrameError::TooLong(len));
            }
            // Bounded by MAX_FRAME_BYTES just above.
            let mut body = vec![0u8; len as usize];
            read.read_exact(&mut body).await.map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    FrameError::Truncated
                } else {
                    FrameError::Io(e)
                }
            })?;
            return Ok(Some(pb::Request::decode(body.as_slice())?));
        }
    }
    Err(FrameError::BadLength)
}

/// Writes one length-prefixed response (not flushed).
pub async fn write_frame<W: AsyncWrite + Unpin>(
    write: &mut W,
    response: &pb::Response,
) -> std::io::Result<()> {
    let body = response.encode_to_vec();
    let mut prefix = Vec::with_capacity(10);
    prost::encoding::encode_varint(body.len() as u64, &mut prefix);
    write.write_all(&prefix).await?;
    write.write_all(&body).await
}

/// The four ABCI services, cloned into every connection.
#[derive(Clone)]
pub struct AbciServer<C, M, I, S> {
    pub consensus: C,
    pub mempool: M,
    pub info: I,
    pub snapshot: S,
}

impl<C, M, I, S> AbciServer<C, M, I, S>
where
    C: Service<ConsensusRequest, Response = ConsensusResponse, Error = BoxError>
        + Clone
        + Send
        + 'static,
    C::Future: Send + 'static,
    M: Service<MempoolRequest, Response = MempoolResponse, Error = BoxError>
        + Clone
        + Send
        + 'static,
    M::Future: Send + 'static,
    I: Service<InfoRequest, Response = InfoResponse, Error = BoxError> + Clone + Send + 'static,
    I::Future: Send + 'static,
    S: Service<SnapshotRequest, Response = SnapshotResponse, Error = BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    /// Accepts connections until the listener fails; each connection runs on its own task and its
    /// end (clean or not) is logged, never propagated.
    pub async fn listen_tcp(self, addr: &str) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(addr = %listener.local_addr()?, "ABCI server listening");
        self.serve(listener).await
    }

    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        loop {
            let (socket, peer) = match listener.accept().await {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait and go on rather than stop.
                    tracing::warn!("ABCI accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = socket.set_nodelay(true);
            let this = self.clone();
            tokio::spawn(async move {
                let (read, write) = socket.into_split();
                match this.run_connection(read, write).await {
                    Ok(()) => tracing::info!(%peer, "ABCI connection closed by the peer"),
                    Err(e) => tracing::warn!(%peer, "ABCI connection closed: {e}"),
                }
            });
        }
    }

    /// Serves one connection until its peer closes it, a frame is malformed, or a consensus call
    /// fails (CometBFT halts then, as it must when its app cannot apply a block).
    pub async fn run_connection<R, W>(mut self, read: R, write: W) -> Result<(), String>
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin,
    {
        let (requests_tx, mut requests) = mpsc::channel(READ_AHEAD);
        // Reading on its own task keeps the loop below free of half-read frames on cancellation.
        let reader = tokio::spawn(async move {
            let mut read = BufReader::with_capacity(64 << 10, read);
            loop {
                let frame = read_frame(&mut read).await;
                let done = !matches!(frame, Ok(Some(_)));
                if requests_tx.send(frame).await.is_err() || done {
                    return;
                }
            }
        });
        let mut write = BufWriter::with_capacity(64 << 10, write);
        let mut pending: FuturesOrdered<ResponseFuture> = FuturesOrdered::new();
        let result = loop {
            tokio::select! {
                frame = requests.recv() => match frame {
                    Some(Ok(Some(proto))) => {
                        if matches!(proto.value, Some(pb::request::Value::Flush(_))) {
                            if let Err(e) = self.flush(&mut pending, &mut write).await {
                                break Err(e);
                            }
                            continue;
                        }
                        pending.push_back(self.dispatch(proto).await);
                    }
                    Some(Ok(None)) | None => break Ok(()),
                    Some(Err(e)) => break Err(format!("malformed frame: {e}")),
                },
                outcome = pending.next(), if !pending.is_empty() => {
                    let Some(outcome) = outcome else { continue };
                    if let Err(e) = send(&mut write, outcome).await {
                        break Err(e);
                    }
                    // Answers that are already done go out in the same write.
                    let mut failed = None;
                    while let Some(Some(outcome)) = pending.next().now_or_never() {
                        if let Err(e) = send(&mut write, outcome).await {
                            failed = Some(e);
                            break;
                        }
                    }
                    if let Some(e) = failed {
                        break Err(e);
                    }
                    if let Err(e) = write.flush().await {
                        break Err(format!("write: {e}"));
                    }
                }
            }
        };
        reader.abort();
        let _ = write.flush().await;
        result
    }

    /// Answers every pending request in order, then the Flush itself.
    async fn flush<W: AsyncWrite + Unpin>(
        &mut self,
        pending: &mut FuturesOrdered<ResponseFuture>,
        write: &mut BufWriter<W>,
    ) -> Result<(), String> {
        while let Some(outcome) = pending.next().await {
            send(write, outcome).await?;
        }
        let flush = pb::Response {
            value: Some(pb::response::Value::Flush(pb::ResponseFlush {})),
        };
        write_frame(write, &flush)
            .await
            .map_err(|e| format!("write: {e}"))?;
        write.flush().await.map_err(|e| format!("write: {e}"))
    }

    /// Converts one request and starts its service call; never fails: a request that does not
    /// convert gets an answer of its own kind (see `unconvertible`).
    async fn dispatch(&mut self, proto: pb::Request) -> ResponseFuture {
        let fallback = proto.value.clone();
        let request = match Request::try_from(proto) {
            Ok(r) => r,
            Err(e) => return ready(unconvertible(fallback.as_ref(), &e.to_string())),
        };
        match request.kind() {
            MethodKind::Consensus => {
                let Ok(req) = ConsensusRequest::try_from(request) else {
                    return ready(fatal("a consensus request of another kind"));
                };
                match self.consensus.ready().await {
                    Ok(svc) => {
                        let fut = svc.call(req);
                        Box::pin(async move {
                            match fut.await {
                                Ok(r) => Outcome::Answer(Response::from(r).into()),
                                Err(e) => fatal(&format!("consensus call failed: {e}")),
                            }
                        })
                    }
                    Err(e) => ready(fatal(&format!("consensus service unavailable: {e}"))),
                }
            }
            MethodKind::Mempool => {
                let Ok(req) = MempoolRequest::try_from(request) else {
                    return ready(fatal("a mempool request of another kind"));
                };
                match self.mempool.ready().await {
                    Ok(svc) => {
                        let fut = svc.call(req);
                        Box::pin(async move {
                            match fut.await {
                                Ok(r) => Outcome::Answer(Response::from(r).into()),
                                Err(e) => Outcome::Answer(check_tx_error(
                                    codes::INTERNAL,
                                    &format!("CheckTx failed: {e}"),
                                )),
                            }
                        })
                    }
                    Err(e) => ready(Outcome::Answer(check_tx_error(
                        codes::INTERNAL,
                        &format!("mempool unavailable: {e}"),
                    ))),
                }
            }
            MethodKind::Info => {
                let Ok(req) = InfoRequest::try_from(request) else {
                    return ready(fatal("an info request of another kind"));
                };
                let is_query = matches!(req, InfoRequest::Query(_));
                match self.info.ready().await {
                    Ok(svc) => {
                        let fut = svc.call(req);
                        Box::pin(async move {
                            match fut.await {
                                Ok(r) => Outcome::Answer(Response::from(r).into()),
                                Err(e) if is_query => Outcome::Answer(query_error(
                                    codes::INTERNAL,
                                    &format!("query failed: {e}"),
                                )),
                                Err(e) => fatal(&format!("info call failed: {e}")),
                            }
                        })
                    }
                    Err(e) => ready(fatal(&format!("info service unavailable: {e}"))),
                }
            }
            MethodKind::Snapshot => {
                let Ok(req) = SnapshotRequest::try_from(request) else {
                    return ready(fatal("a snapshot request of another kind"));
                };
                match self.snapshot.ready().await {
                    Ok(svc) => {
                        let fut = svc.call(req);
                        Box::pin(async move {
                            match fut.await {
                                Ok(r) => Outcome::Answer(Response::from(r).into()),
                                Err(e) => fatal(&format!("snapshot call failed: {e}")),
                            }
                        })
                    }
                    Err(e) => ready(fatal(&format!("snapshot service unavailable: {e}"))),
                }
            }
            // Handled before dispatch.
            MethodKind::Flush => ready(Outcome::Answer(pb::Response {
                value: Some(pb::response::Value::Flush(pb::ResponseFlush {})),
            })),
        }
    }
}

async fn send<W: AsyncWrite + Unpin>(write: &mut W, outcome: Outcome) -> Result<(), String> {
    match outcome {
        Outcome::Answer(r) => write_frame(write, &r)
            .await
            .map_err(|e| format!("write: {e}")),
        Outcome::Fatal(r, why) => {
            tracing::error!("ABCI: {why}; closing the connection");
            let _ = write_frame(write, &r).await;
            let _ = write.flush().await;
            Err(why)
        }
    }
}

fn ready(outcome: Outcome) -> ResponseFuture {
    Box::pin(std::future::ready(outcome))
}

fn fatal(why: &str) -> Outcome {
    Outcome::Fatal(
        pb::Response {
            value: Some(pb::response::Value::Exception(pb::ResponseException {
                error: why.to_string(),
            })),
        },
        why.to_string(),
    )
}

fn query_error(code: u32, log: &str) -> pb::Response {
    pb::Response {
        value: Some(pb::response::Value::Query(pb::ResponseQuery {
            code,
            log: log.to_string(),
            codespace: codes::CODESPACE.into(),
            ..Default::default()
        })),
    }
}

fn check_tx_error(code: u32, log: &str) -> pb::Response {
    pb::Response {
        value: Some(pb::response::Value::CheckTx(pb::ResponseCheckTx {
            code,
            log: log.to_string(),
            codespace: codes::CODESPACE.into(),
            ..Default::default()
        })),
    }
}

/// The answer to a request whose fields do not convert (e.g. a Query with a negative height). Users
/// reach Query and CheckTx through CometBFT's RPC, a peer's data reaches ProcessProposal and
/// VerifyVoteExtension: those get an answer that refuses the input. The other consensus requests
/// come from CometBFT itself; failing to read one is a fault between the two processes, answered
/// with an Exception, which stops CometBFT rather than letting it go on with an app that skipped a
/// step.
fn unconvertible(value: Option<&pb::request::Value>, error: &str) -> Outcome {
    use pb::request::Value as Req;
    use pb::response::Value as Resp;
    tracing::warn!("ABCI request does not convert: {error}");
    let answer = |v: Resp| Outcome::Answer(pb::Response { value: Some(v) });
    match value {
        Some(Req::Query(q)) => Outcome::Answer(pb::Response {
            value: Some(Resp::Query(pb::ResponseQuery {
                code: codes::INVALID_QUERY,
                log: format!("invalid query: {error}"),
                codespace: codes::CODESPACE.into(),
                key: q.data.clone(),
                // A height that did not convert is echoed as 0, which CometBFT accepts.
                height: q.height.max(0),
                ..Default::default()
            })),
        }),
        Some(Req::CheckTx(_)) => Outcome::Answer(check_tx_error(
            codes::TX_DECODE,
            &format!("invalid CheckTx request: {error}"),
        )),
        Some(Req::Echo(e)) => answer(Resp::Echo(pb::ResponseEcho {
            message: e.message.clone(),
        })),
        Some(Req::ProcessProposal(_)) => {
            answer(Resp::ProcessProposal(pb::ResponseProcessProposal {
                status: pb::response_process_proposal::ProposalStatus::Reject as i32,
            }))
        }
        Some(Req::VerifyVoteExtension(_)) => {
            answer(Resp::VerifyVoteExtension(pb::ResponseVerifyVoteExtension {
                status: pb::response_verify_vote_extension::VerifyStatus::Reject as i32,
            }))
        }
        Some(Req::OfferSnapshot(_)) => answer(Resp::OfferSnapshot(pb::ResponseOfferSnapshot {
            result: pb::response_offer_snapshot::Result::Reject as i32,
        })),
        Some(Req::LoadSnapshotChunk(_)) => answer(Resp::LoadSnapshotChunk(Default::default())),
        Some(Req::ApplySnapshotChunk(_)) => {
            answer(Resp::ApplySnapshotChunk(pb::ResponseApplySnapshotChunk {
                result: pb::response_apply_snapshot_chunk::Result::Abort as i32,
                ..Default::default()
            }))
        }
        Some(_) => fatal(&format!("a consensus request does not convert: {error}")),
        None => fatal(&format!("an empty request: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;
    use crate::abci::{Consensus, Info, Mempool, Snapshots};
    use pb::request::Value as Req;
    use pb::response::Value as Resp;
    use seqpool_app::app::App;
    use seqpool_app::mempool::MempoolState;

    const DEADLINE: Duration = Duration::from_secs(20);

    struct Server {
        addr: std::net::SocketAddr,
        _dir: tempfile::TempDir,
    }

    async fn start() -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = seqpool_store::Storage::open(dir.path()).expect("storage");
        let mempool = Arc::new(Mutex::new(MempoolState::default()));
        let app = App::new(storage.clone(), mempool.clone()).expect("app");
        let server = AbciServer {
            consensus: Consensus::spawn(app),
            mempool: Mempool::new(mempool),
            info: Info::new(storage),
            snapshot: Snapshots,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(server.serve(listener));
        Server { addr, _dir: dir }
    }

    fn frame(value: Req) -> Vec<u8> {
        let body = pb::Request { value: Some(value) }.encode_to_vec();
        let mut out = Vec::new();
        prost::encoding::encode_varint(body.len() as u64, &mut out);
        out.extend(body);
        out
    }

    fn flush() -> Vec<u8> {
        frame(Req::Flush(pb::RequestFlush {}))
    }

    async fn read_response(conn: &mut TcpStream) -> Option<pb::Response> {
        let read = async {
            let mut len: u64 = 0;
            for i in 0..10 {
                let b = conn.read_u8().await.ok()?;
                len |= u64::from(b & 0x7f) << (7 * i);
                if b & 0x80 == 0 {
                    break;
                }
            }
            let mut body = vec![0u8; len as usize];
            conn.read_exact(&mut body).await.ok()?;
            pb::Response::decode(body.as_slice()).ok()
        };
        tokio::time::timeout(DEADLINE, read)
            .await
            .expect("an answer or a close before the deadline")
    }

    /// Sends `req` and a Flush; returns the answer to `req` (and checks the Flush answer).
    async fn ask(conn: &mut TcpStream, req: Req) -> Resp {
        let mut bytes = frame(req);
        bytes.extend(flush());
        conn.write_all(&bytes).await.expect("write");
        let answer = read_response(conn).await.expect("an answer");
        let flushed = read_response(conn).await.expect("the flush answer");
        assert!(matches!(flushed.value, Some(Resp::Flush(_))), "{flushed:?}");
        answer.value.expect("a value")
    }

    fn query(path: &str, data: Vec<u8>, height: i64, prove: bool) -> Req {
        Req::Query(pb::RequestQuery {
            data: data.into(),
            path: path.into(),
            height,
            prove,
        })
    }

    async fn info_answers(addr: std::net::SocketAddr) {
        let mut conn = TcpStream::connect(addr).await.expect("connect");
        let info = ask(&mut conn, Req::Info(Default::default())).await;
        assert!(
            matches!(&info, Resp::Info(i) if i.data == "seqpool"),
            "{info:?}"
        );
    }

    /// The request of issue 20 that stopped a node through tower-abci, and its neighbours: each gets a
    /// Query answer with a code and a log, on a connection that stays open.
    #[tokio::test]
    async fn bad_queries_get_codes_and_the_connection_stays_open() {
        let server = start().await;
        let mut conn = TcpStream::connect(server.addr).await.expect("connect");
        let validators = "/seqpool.staking.v1.Query/Validators";
        let cases: Vec<(&str, Req, u32)> = vec![
            (
                "height -1",
                query(validators, vec![], -1, false),
                codes::INVALID_QUERY,
            ),
            (
                "height i64::MIN",
                query(validators, vec![], i64::MIN, false),
                codes::INVALID_QUERY,
            ),
            (
                "height i64::MAX",
                query(validators, vec![], i64::MAX, false),
                codes::HEIGHT_UNAVAILABLE,
            ),
            (
                "unknown path",
                query("/no.such.Query/Path", vec![], 0, false),
                codes::UNKNOWN_QUERY,
            ),
            (
                "1 MiB of data that is no request",
                query(validators, vec![0xff; 1 << 20], 0, false),
                codes::INVALID_QUERY,
            ),
        ];
        for (name, req, want) in cases {
            match ask(&mut conn, req).await {
                Resp::Query(q) => {
                    assert_eq!(q.code, want, "{name}: {}", q.log);
                    assert!(!q.log.is_empty(), "{name}: a log says why");
                    assert_eq!(q.codespace, codes::CODESPACE, "{name}");
                }
                other => panic!("{name}: not a query answer: {other:?}"),
            }
        }
        // The same connection still answers.
        let info = ask(&mut conn, Req::Info(Default::default())).await;
        assert!(matches!(info, Resp::Info(_)), "{info:?}");
    }

    #[tokio::test]
    async fn unconvertible_check_tx_and_proposal_are_refused_not_fatal() {
        let server = start().await;
        let mut conn = TcpStream::connect(server.addr).await.expect("connect");
        let check = ask(
            &mut conn,
            Req::CheckTx(pb::RequestCheckTx {
                tx: vec![1, 2, 3].into(),
                r#type: 99,
            }),
        )
        .await;
        assert!(
            matches!(&check, Resp::CheckTx(c) if c.code == codes::TX_DECODE && !c.log.is_empty()),
            "{check:?}"
        );
        let proposal = ask(
            &mut conn,
            Req::ProcessProposal(pb::RequestProcessProposal {
                hash: vec![1; 7].into(),
                height: 5,
                ..Default::default()
            }),
        )
        .await;
        assert!(
            matches!(&proposal, Resp::ProcessProposal(p)
                if p.status == pb::response_process_proposal::ProposalStatus::Reject as i32),
            "{proposal:?}"
        );
        let extension = ask(
            &mut conn,
            Req::VerifyVoteExtension(pb::RequestVerifyVoteExtension {
                height: -3,
                ..Default::default()
            }),
        )
        .await;
        assert!(
            matches!(&extension, Resp::VerifyVoteExtension(v)
                if v.status == pb::response_verify_vote_extension::VerifyStatus::Reject as i32),
            "{extension:?}"
        );
    }

    async fn assert_closed(conn: &mut TcpStream, name: &str) {
        // A closed connection reads EOF (or a reset); an Exception answer may come first.
        loop {
            match read_response(conn).await {
                None => return,
                Some(r) => assert!(
                    matches!(r.value, Some(Resp::Exception(_))),
                    "{name}: only an exception may come before the close, got {r:?}"
                ),
            }
        }
    }

    #[tokio::test]
    async fn malformed_frames_close_only_their_connection() {
        let server = start().await;
        let mut survivor = TcpStream::connect(server.addr).await.expect("connect");
        let mut over_long_prefix = Vec::new();
        prost::encoding::encode_varint(1u64 << 40, &mut over_long_prefix);
        let mut just_over_the_limit = Vec::new();
        prost::encoding::encode_varint(MAX_FRAME_BYTES as u64 + 1, &mut just_over_the_limit);
        let mut truncated = Vec::new();
        prost::encoding::encode_varint(100, &mut truncated);
        truncated.extend([0x0a; 10]);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("garbage body", vec![5, 0xff, 0xff, 0xff, 0xff, 0xff]),
            ("a length prefix of 11 bytes", vec![0xff; 11]),
            ("a 1 TiB frame", over_long_prefix),
            ("one byte over the frame limit", just_over_the_limit),
            ("an empty request", vec![0]),
            ("a frame cut short", truncated),
            ("a length prefix cut short", vec![0x80]),
        ];
        for (name, bytes) in cases {
            let mut conn = TcpStream::connect(server.addr).await.expect("connect");
            conn.write_all(&bytes).await.expect("write");
            // The cut-short cases end only when we stop writing.
            conn.shutdown().await.expect("shutdown");
            assert_closed(&mut conn, name).await;
        }
        // Garbage after a good request: the good one is still answered before the close.
        let mut conn = TcpStream::connect(server.addr).await.expect("connect");
        let mut bytes = frame(Req::Echo(pb::RequestEcho {
            message: "first".into(),
        }));
        bytes.extend(flush());
        bytes.extend([3, 0xff, 0xff, 0xff]);
        conn.write_all(&bytes).await.expect("write");
        let echo = read_response(&mut conn).await.expect("echo");
        assert!(
            matches!(&echo.value, Some(Resp::Echo(e)) if e.message == "first"),
            "{echo:?}"
        );
        let _flush = read_response(&mut conn).await.expect("flush");
        assert_closed(&mut conn, "garbage after a good request").await;

        // The connection opened first and a new one both still work.
        let info = ask(&mut survivor, Req::Info(Default::default())).await;
        assert!(matches!(info, Resp::Info(_)), "{info:?}");
        info_answers(server.addr).await;
    }

    #[tokio::test]
    async fn pipelined_requests_are_answered_in_order() {
        let server = start().await;
        let mut conn = TcpStream::connect(server.addr).await.expect("connect");
        let mut bytes = Vec::new();
        for i in 0..500 {
            bytes.extend(frame(Req::Echo(pb::RequestEcho {
                message: i.to_string(),
            })));
            if i % 100 == 99 {
                bytes.extend(flush());
            }
        }
        conn.write_all(&bytes).await.expect("write");
        for i in 0..500 {
            let r = read_response(&mut conn).await.expect("answer");
            match r.value {
                Some(Resp::Echo(e)) => assert_eq!(e.message, i.to_string()),
                other => panic!("answer {i}: {other:?}"),
            }
            if i % 100 == 99 {
                let f = read_response(&mut conn).await.expect("flush");
                assert!(matches!(f.value, Some(Resp::Flush(_))), "{f:?}");
            }
        }
    }
}
