//! Prometheus metrics, served at `GET /metrics` in the text exposition format.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// The service's metrics, in its own registry (several apps in one test process do not
/// share counters).
pub struct Metrics {
    registry: Registry,
    /// `zkmed_http_requests_total{route, method, status}`.
    pub requests: IntCounterVec,
    /// `zkmed_prove_duration_seconds{circuit}`: time inside the prover (not queueing).
    pub prove_seconds: HistogramVec,
    /// `zkmed_queue_depth`: accepted requests waiting for a prover worker.
    pub queue_depth: IntGauge,
    /// `zkmed_proofs_in_flight`: proofs being computed now.
    pub in_flight: IntGauge,
    /// `zkmed_rejected_total{reason}`: requests turned away (`queue_full`, `timeout`).
    pub rejected: IntCounterVec,
    /// `zkmed_proofs_total{circuit, outcome}`.
    pub proofs: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "zkmed_http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let prove_seconds = HistogramVec::new(
            HistogramOpts::new(
                "zkmed_prove_duration_seconds",
                "Time spent computing one proof (witness + Groth16), by circuit",
            )
            .buckets(vec![
                0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0,
                12.0, 20.0, 40.0,
            ]),
            &["circuit"],
        )
        .expect("valid metric");
        let queue_depth = IntGauge::new(
            "zkmed_queue_depth",
            "Accepted proving requests waiting for a worker",
        )
        .expect("valid metric");
        let in_flight = IntGauge::new("zkmed_proofs_in_flight", "Proofs being computed now")
            .expect("valid metric");
        let rejected = IntCounterVec::new(
            Opts::new(
                "zkmed_rejected_total",
                "Proving requests turned away, by reason",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let proofs = IntCounterVec::new(
            Opts::new(
                "zkmed_proofs_total",
                "Proofs finished, by circuit and outcome",
            ),
            &["circuit", "outcome"],
        )
        .expect("valid metric");
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(prove_seconds.clone()),
            Box::new(queue_depth.clone()),
            Box::new(in_flight.clone()),
            Box::new(rejected.clone()),
            Box::new(proofs.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        Metrics {
            registry,
            requests,
            prove_seconds,
            queue_depth,
            in_flight,
            rejected,
            proofs,
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("encoding metrics into a Vec");
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
