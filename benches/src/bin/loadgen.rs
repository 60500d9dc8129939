//! `loadgen`: the prover service against the library, in one run.
//!
//! 1. Library, single proof: one thread proves back to back (latency of one proof).
//! 2. Library, saturated: one thread per core proves back to back (raw throughput).
//! 3. Service: the real HTTP server (in this process, on a loopback port, the same keys),
//!    driven by 1, 2, 4, 8 closed-loop clients, each sending the same proving request as
//!    the library call (the opening as JSON, the identity secret and nullifier key, the anchored state, a named predicate).
//!
//! For each: proofs/s, p50/p95/p99 latency, and the process's peak RSS. Then the targets:
//! service throughput at saturation ≥ 0.95 × library throughput at saturation, and p99 at
//! 4 clients ≤ 4 × single-proof latency (p50).
//!
//! ```sh
//! cargo run --release -p zkmed-benches --bin loadgen -- --seconds 20
//! ```
#![forbid(unsafe_code)]

use anyhow::{bail, Context, Result};
use clap::Parser;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zkmed_benches::{fixture, predicate};
use zkmed_core::field::Fr;
use zkmed_prover::ProveRequest;

#[derive(Parser)]
#[command(about = "Library vs service proving throughput and latency")]
struct Args {
    /// Seconds per measurement (each client count, each library mode).
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Client counts for the service.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    clients: Vec<usize>,
    /// Named predicate to prove (has-organ-transplant: exists-v3; no-chronic-conditions:
    /// scan64-v3).
    #[arg(long, default_value = "has-organ-transplant")]
    predicate: String,
    /// Prover workers for the service and threads for the saturated library run
    /// (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Write the results as JSON here too.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

#[derive(Clone, serde::Serialize)]
struct Row {
    what: String,
    concurrency: usize,
    requests: usize,
    errors: usize,
    throughput: f64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    peak_rss_mib: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Runs `work` on `n` threads, back to back, for `secs` seconds (after one warm-up call
/// each); returns the per-call latencies (ms), the error count and the wall time.
fn closed_loop<F>(n: usize, secs: f64, work: F) -> (Vec<f64>, usize, f64)
where
    F: Fn(usize, u64) -> bool + Send + Sync + 'static,
{
    let work = Arc::new(work);
    for i in 0..n {
        work(i, u64::MAX - i as u64); // warm-up: connections, caches
    }
    let stop = Arc::new(AtomicBool::new(false));
    let lat = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(0usize));
    let t0 = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (work, stop, lat, errors) =
                (work.clone(), stop.clone(), lat.clone(), errors.clone());
            std::thread::spawn(move || {
                let mut k = 0u64;
                let mut mine = Vec::new();
                let mut errs = 0;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    if work(i, k) {
                        mine.push(t.elapsed().as_secs_f64() * 1e3);
                    } else {
                        errs += 1;
                    }
                    k += 1;
                }
                lat.lock().unwrap().extend(mine);
                *errors.lock().unwrap() += errs;
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("load thread");
    }
    // Throughput over the time until the last in-flight call returned.
    let wall = t0.elapsed().as_secs_f64();
    let mut v = lat.lock().unwrap().clone();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let e = *errors.lock().unwrap();
    (v, e, wall)
}

fn row(what: &str, concurrency: usize, (lat, errors, wall): (Vec<f64>, usize, f64)) -> Row {
    Row {
        what: what.into(),
        concurrency,
        requests: lat.len(),
        errors,
        throughput: lat.len() as f64 / wall,
        p50_ms: percentile(&lat, 50.0),
        p95_ms: percentile(&lat, 95.0),
        p99_ms: percentile(&lat, 99.0),
        peak_rss_mib: peak_rss_mib(),
    }
}

fn print_row(r: &Row) {
    println!(
        "{:<22} {:>4} {:>7} {:>6} {:>10.2} {:>9.0} {:>9.0} {:>9.0} {:>10.0}",
        r.what,
        r.concurrency,
        r.requests,
        r.errors,
        r.throughput,
        r.p50_ms,
        r.p95_ms,
        r.p99_ms,
        r.peak_rss_mib
    );
}

fn main() -> Result<()> {
    let args = Args::parse();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let workers = args.workers.unwrap_or(cores);
    let fx = fixture();
    let query = predicate(&args.predicate);
    let keys_dir = fx.keys.dir().to_path_buf();
    let opening = Arc::new(fx.opening);
    let identity = Arc::new(fx.identity);
    let state = Arc::new(fx.state);
    let keys = Arc::new(fx.keys);
    let query = Arc::new(query);
    // Load keys + R1CS matrices before measuring.
    let plan = zkmed_prover::plan(&opening, &query.compile()?, &keys.available())?;
    keys.get(plan.circuit)?;
    println!(
        "loadgen: {} ({}, {} records of the kind), {} cores, {} prover workers, {:.0} s per point",
        args.predicate, plan.circuit, plan.records_of_kind, cores, workers, args.seconds
    );
    println!(
        "{:<22} {:>4} {:>7} {:>6} {:>10} {:>9} {:>9} {:>9} {:>10}",
        "what", "conc", "proofs", "errors", "proofs/s", "p50 ms", "p95 ms", "p99 ms", "peak MiB"
    );
    let mut rows = Vec::new();

    let lib = |n: usize| {
        let (keys, opening, identity, state, query) = (
            keys.clone(),
            opening.clone(),
            identity.clone(),
            state.clone(),
            query.clone(),
        );
        closed_loop(n, args.seconds, move |i, k| {
            let mut rng = rand::rngs::OsRng;
            zkmed_prover::prove(
                &keys,
                &ProveRequest {
                    opening: &opening,
                    identity: &identity,
                    state: &state,
                    query: &query,
                    request: Fr::from(k),
                    scope: Fr::from(i as u64),
                },
                &mut rng,
            )
            .is_ok()
        })
    };
    let single = row("library (sequential)", 1, lib(1));
    print_row(&single);
    rows.push(single.clone());
    let lib_sat = row("library (saturated)", workers, lib(workers));
    print_row(&lib_sat);
    rows.push(lib_sat.clone());
    let lib_best = single.throughput.max(lib_sat.throughput);

    // The service, in this process, on the same keys.
    let mut settings = zkmed_server::config::Settings::load_with_env(None, false)?;
    let data = tempfile::tempdir()?;
    settings.keys = keys_dir;
    settings.data_dir = data.path().to_path_buf();
    settings.server.port = 0;
    settings.prover.workers = workers;
    settings.prover.queue = 64;
    settings.prover.preload = Some(vec![plan.circuit.as_str().into()]);
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = zkmed_server::Application::build(settings).expect("build service");
            port_tx.send((app.port(), app.handle())).expect("send port");
            app.run_until_stopped().await
        })
    });
    let (port, handle) = port_rx.recv().context("service did not start")?;
    let url = format!("http://127.0.0.1:{port}/v1/attestations");
    let ready = format!("http://127.0.0.1:{port}/readyz");
    let t = Instant::now();
    while reqwest::blocking::get(&ready)
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        if t.elapsed() > Duration::from_secs(300) {
            bail!("service never became ready");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // The request body a patient's app would send (built once; the server parses it every
    // time, as it must).
    let body = serde_json::to_vec(&serde_json::json!({
        "opening": serde_json::from_str::<serde_json::Value>(&opening.to_json()?)?,
        "identity_secret": zkmed_core::field::fr_to_dec(&identity.secret()),
        "nullifier_key": zkmed_core::field::fr_to_dec(&identity.nullifier_key()),
        "state": serde_json::to_value(&*state)?,
        "predicate": args.predicate,
        "request": "text:loadgen",
        "scope": "text:loadgen",
    }))?;
    let body = Arc::new(body);
    println!("(request body {:.0} KiB)", body.len() as f64 / 1024.0);
    let mut service_best = 0.0f64;
    let mut p99_at_4 = None;
    for &n in &args.clients {
        let clients: Vec<_> = (0..n)
            .map(|_| {
                reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(600))
                    .build()
            })
            .collect::<Result<_, _>>()?;
        let clients = Arc::new(clients);
        let (url, body) = (url.clone(), body.clone());
        let r = row(
            "service (HTTP)",
            n,
            closed_loop(n, args.seconds, move |i, _| {
                clients[i]
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.as_ref().clone())
                    .send()
                    .map(|r| r.status() == 200 && r.bytes().is_ok())
                    .unwrap_or(false)
            }),
        );
        print_row(&r);
        if r.errors > 0 {
            eprintln!("warning: {} failed requests at {n} clients", r.errors);
        }
        service_best = service_best.max(r.throughput);
        if n == 4 {
            p99_at_4 = Some(r.p99_ms);
        }
        rows.push(r);
    }
    actix_web::rt::System::new().block_on(handle.stop(true));
    let _ = server.join();

    println!();
    let ratio = service_best / lib_best;
    println!(
        "service / library throughput at saturation: {:.3} ({:.2} vs {:.2} proofs/s)  target >= 0.95: {}",
        ratio,
        service_best,
        lib_best,
        if ratio >= 0.95 { "MET" } else { "NOT MET" }
    );
    if let Some(p99) = p99_at_4 {
        let k = p99 / single.p50_ms;
        println!(
            "p99 at 4 clients / single-proof latency: {:.2} ({:.0} ms vs {:.0} ms)  target <= 4: {}",
            k,
            p99,
            single.p50_ms,
            if k <= 4.0 { "MET" } else { "NOT MET" }
        );
    }
    if let Some(p) = args.json {
        std::fs::write(&p, serde_json::to_string_pretty(&rows)?)?;
    }
    Ok(())
}
