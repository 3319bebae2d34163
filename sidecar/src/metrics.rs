//! The sidecar's counters and gauges, served as Prometheus text on `--metrics-addr`
//! (`GET /metrics`; any path answers the same), and summarised in the status line.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use alloy::primitives::U256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Default)]
pub struct Metrics {
    /// BATCH requests on chain waiting for or in a signing attempt.
    pub batches_pending: AtomicU64,
    /// BATCH requests signed and not yet landed on L1 (as the chain says).
    pub batches_signed: AtomicU64,
    /// Batches this relayer's transactions appended.
    pub batches_relayed: AtomicU64,
    /// Batches this submitter proposed (MsgSubmitBatch accepted by CheckTx).
    pub batches_submitted: AtomicU64,
    /// Payloads of any type this relayer sent.
    pub relays_sent: AtomicU64,
    /// Payloads found already on L1 (another relayer was first).
    pub relays_already_done: AtomicU64,
    /// Payloads found on L1 once and gone later (an L1 reorg), then relayed again.
    pub reorged_relays: AtomicU64,
    pub relay_failures: AtomicU64,
    pub fee_bumps: AtomicU64,
    l1_balance_wei: Mutex<U256>,
    l1_up: AtomicBool,
    chain_up: AtomicBool,
}

impl Metrics {
    pub fn inc(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
    pub fn set(&self, gauge: &AtomicU64, value: u64) {
        gauge.store(value, Ordering::Relaxed);
    }
    pub fn get(&self, counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
    pub fn set_balance(&self, wei: U256) {
        if let Ok(mut b) = self.l1_balance_wei.lock() {
            *b = wei;
        }
    }
    pub fn balance(&self) -> U256 {
        self.l1_balance_wei.lock().map(|b| *b).unwrap_or_default()
    }
    pub fn set_l1_up(&self, up: bool) {
        self.l1_up.store(up, Ordering::Relaxed);
    }
    pub fn set_chain_up(&self, up: bool) {
        self.chain_up.store(up, Ordering::Relaxed);
    }
    /// "up" / "down" of the last L1 and seqpoold rounds (the relayer's), for the status line.
    pub fn reachability(&self) -> (&'static str, &'static str) {
        let word = |b: &AtomicBool| {
            if b.load(Ordering::Relaxed) {
                "up"
            } else {
                "down"
            }
        };
        (word(&self.l1_up), word(&self.chain_up))
    }

    /// The balance in ether with 4 decimals, for the status line.
    pub fn balance_eth(&self) -> String {
        let wei = self.balance();
        let unit = U256::from(10u64).pow(U256::from(14u64));
        let tenths_of_milli = wei / unit;
        let whole = tenths_of_milli / U256::from(10_000u64);
        let frac = tenths_of_milli % U256::from(10_000u64);
        format!("{whole}.{frac:0>4}")
    }

    /// Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            out.push_str(&format!(
                "# HELP seqpool_sidecar_{name} {help}\n# TYPE seqpool_sidecar_{name} {kind}\nseqpool_sidecar_{name} {value}\n"
            ));
        };
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed).to_string();
        metric(
            "batches_pending",
            "gauge",
            "Batch requests on chain waiting for their signature.",
            g(&self.batches_pending),
        );
        metric(
            "batches_signed",
            "gauge",
            "Batch requests signed on chain and not yet landed on L1.",
            g(&self.batches_signed),
        );
        metric(
            "batches_relayed_total",
            "counter",
            "Batches appended to BatchInbox by this relayer.",
            g(&self.batches_relayed),
        );
        metric(
            "batches_submitted_total",
            "counter",
            "Batches this submitter proposed to the chain.",
            g(&self.batches_submitted),
        );
        metric(
            "relays_sent_total",
            "counter",
            "Signed payloads this relayer carried to L1.",
            g(&self.relays_sent),
        );
        metric(
            "relays_already_done_total",
            "counter",
            "Signed payloads found already on L1.",
            g(&self.relays_already_done),
        );
        metric(
            "reorged_relays_total",
            "counter",
            "Signed payloads that an L1 reorg took off L1 after they landed, relayed again.",
            g(&self.reorged_relays),
        );
        metric(
            "relay_failures_total",
            "counter",
            "Relay attempts that failed (retried).",
            g(&self.relay_failures),
        );
        metric(
            "fee_bumps_total",
            "counter",
            "Resends with higher fees.",
            g(&self.fee_bumps),
        );
        let balance = self.balance().to_string();
        metric(
            "l1_balance_wei",
            "gauge",
            "L1 balance of the relayer key in wei.",
            balance,
        );
        metric(
            "l1_up",
            "gauge",
            "1 when the last L1 round succeeded.",
            u8::from(self.l1_up.load(Ordering::Relaxed)).to_string(),
        );
        metric(
            "chain_up",
            "gauge",
            "1 when the last seqpoold query succeeded.",
            u8::from(self.chain_up.load(Ordering::Relaxed)).to_string(),
        );
        out
    }
}

/// Serves [`Metrics::render`] over plain HTTP/1.1 on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, metrics: std::sync::Arc<Metrics>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            // The request itself does not matter; read what arrived so the client sees a clean close.
            let mut buf = [0u8; 1024];
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), stream.read(&mut buf))
                .await;
            let body = metrics.render();
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_metric_and_the_balance_in_ether() {
        let m = Metrics::default();
        m.inc(&m.batches_relayed);
        m.inc(&m.relays_already_done);
        m.set(&m.batches_pending, 3);
        m.set_balance(U256::from(1_234_500_000_000_000_000u64));
        let text = m.render();
        assert!(
            text.contains("seqpool_sidecar_batches_relayed_total 1\n"),
            "{text}"
        );
        assert!(text.contains("seqpool_sidecar_relays_already_done_total 1\n"));
        assert!(text.contains("seqpool_sidecar_batches_pending 3\n"));
        assert!(text.contains("seqpool_sidecar_l1_balance_wei 1234500000000000000\n"));
        assert_eq!(m.balance_eth(), "1.2345");
    }

    #[tokio::test]
    async fn serves_the_text_over_http() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let metrics = std::sync::Arc::new(Metrics::default());
        metrics.inc(&metrics.fee_bumps);
        let server = tokio::spawn(serve(listener, metrics));
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("request");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .await
            .expect("response");
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        assert!(response.contains("seqpool_sidecar_fee_bumps_total 1\n"));
        server.abort();
    }
}
