//! Building and running the service.

use crate::auth::Authenticator;
use crate::config::Settings;
use crate::jobs::{JobStore, JobStoreError};
use crate::metrics::Metrics;
use crate::pool::ProverPool;
use crate::routes::{attestations, health, info, jobs, verify};
use crate::state::{AppState, Readiness};
use actix_web::dev::{Server, ServerHandle, Service};
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing_actix_web::TracingLogger;
use zkmed_circuits::CircuitId;
use zkmed_prover::{KeyStore, ProveError};
use zkmed_verifier::{KeySet, VerifyError};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("proving keys in {dir}: {source} (run `zkmed setup --keys {dir}`)")]
    Keys {
        dir: String,
        #[source]
        source: ProveError,
    },
    #[error("verifying keys: {0}")]
    VerifierKeys(#[from] VerifyError),
    #[error("unknown circuit {0:?} in prover.preload")]
    UnknownCircuit(String),
    #[error(transparent)]
    Jobs(#[from] JobStoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("[chain]: {0}")]
    Chain(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// A built (bound, not yet running) service.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Loads keys and job state, binds the listener (port 0 = any free port), and starts
    /// loading the proving keys in the background (`/readyz` turns 200 when done).
    pub fn build(settings: Settings) -> Result<Application, StartError> {
        settings.validate()?;
        let keys = Arc::new(
            KeyStore::open(&settings.keys).map_err(|source| StartError::Keys {
                dir: settings.keys.display().to_string(),
                source,
            })?,
        );
        let vkeys = KeySet::load_manifest_dir(&settings.keys)?;
        if keys.manifest().insecure_setup {
            tracing::warn!("serving keys from an INSECURE single-party setup: not for production");
        }
        let preload: Vec<CircuitId> = match &settings.prover.preload {
            None => keys.available(),
            Some(list) => list
                .iter()
                .map(|s| CircuitId::parse(s).ok_or_else(|| StartError::UnknownCircuit(s.clone())))
                .collect::<Result<_, _>>()?,
        };
        let (store, interrupted) = JobStore::open(
            &settings.data_dir,
            &settings.instance,
            Duration::from_secs(settings.jobs.retention_s),
        )?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "jobs interrupted by the last shutdown were marked failed"
            );
        }
        let metrics = Arc::new(Metrics::new());
        let pool = ProverPool::new(
            settings.prover_workers(),
            settings.prover.queue,
            metrics.clone(),
        )?;
        let readiness = Arc::new(Mutex::new(Readiness::Loading(format!(
            "loading keys: {}",
            preload
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))));
        spawn_preload(keys.clone(), preload, readiness.clone());

        let addr = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&addr).map_err(|source| StartError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let port = listener.local_addr()?.port();
        let tls = settings.tls.as_ref().map(load_tls).transpose()?;
        let chain = settings.chain.as_ref().map(open_chain).transpose()?;
        let http_workers = settings.http_workers();
        let shutdown = settings.server.shutdown_timeout_s;
        let state = web::Data::new(AppState {
            auth: Authenticator::new(&settings.auth.tokens),
            settings,
            keys,
            vkeys,
            pool,
            jobs: Arc::new(store),
            metrics,
            chain,
            readiness,
        });
        let data = state.clone();
        let server = HttpServer::new(move || {
            let m = data.metrics.clone();
            App::new()
                .wrap(TracingLogger::<crate::telemetry::RedactingRootSpan>::new())
                .wrap_fn(move |req, srv| {
                    let method = req.method().to_string();
                    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
                    let m = m.clone();
                    let fut = srv.call(req);
                    async move {
                        let res = fut.await;
                        let status = match &res {
                            Ok(r) => r.status().as_u16(),
                            Err(e) => e.as_response_error().status_code().as_u16(),
                        };
                        m.requests
                            .with_label_values(&[&route, &method, &status.to_string()])
                            .inc();
                        res
                    }
                })
                .app_data(data.clone())
                .route("/healthz", web::get().to(health::healthz))
                .route("/readyz", web::get().to(health::readyz))
                .route("/metrics", web::get().to(health::metrics))
                .service(
                    web::scope("/v1")
                        .route("/attestations", web::post().to(attestations::create))
                        .route("/jobs", web::post().to(jobs::submit))
                        .route("/jobs/{id}", web::get().to(jobs::status))
                        .route("/verify", web::post().to(verify::verify))
                        .route("/circuits", web::get().to(info::circuits))
                        .route("/keys/{circuit}/vk", web::get().to(info::verifying_key))
                        .route("/predicates", web::get().to(info::predicates_list))
                        .route("/openapi.json", web::get().to(crate::openapi::openapi)),
                )
                .default_service(web::to(crate::routes::not_found))
        })
        .workers(http_workers)
        .shutdown_timeout(shutdown);
        let server = match tls {
            Some(cfg) => server.listen_rustls_0_23(listener, cfg)?,
            None => server.listen(listener)?,
        }
        .run();
        Ok(Application {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (gracefully) from elsewhere, e.g. a test.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until SIGINT/SIGTERM (or [`ServerHandle::stop`]); then stops accepting,
    /// lets in-flight requests finish (up to `shutdown_timeout_s`), and waits for admitted
    /// proofs and jobs to finish before returning.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Application { server, state, .. } = self;
        server.await?;
        let timeout = Duration::from_secs(state.settings.server.shutdown_timeout_s);
        tracing::info!("HTTP server stopped; finishing admitted proofs and jobs");
        if state.pool.drain(timeout).await {
            tracing::info!("all admitted work finished; bye");
        } else {
            tracing::warn!("shutdown timeout: unfinished jobs will be reported as interrupted at the next start");
        }
        Ok(())
    }
}

fn spawn_preload(keys: Arc<KeyStore>, preload: Vec<CircuitId>, readiness: Arc<Mutex<Readiness>>) {
    std::thread::Builder::new()
        .name("zkmed-key-loader".into())
        .spawn(move || {
            let t = std::time::Instant::now();
            for id in &preload {
                if let Err(e) = keys.get(*id) {
                    tracing::error!(circuit = id.as_str(), error = %e, "cannot load keys");
                    *readiness.lock().expect("readiness lock") =
                        Readiness::Failed(format!("{}: {e}", id.as_str()));
                    return;
                }
                tracing::info!(circuit = id.as_str(), "keys loaded and checked");
            }
            tracing::info!(ms = t.elapsed().as_millis() as u64, "ready");
            *readiness.lock().expect("readiness lock") = Readiness::Ready;
        })
        .expect("spawn key loader thread");
}

fn open_chain(
    c: &crate::config::ChainSettings,
) -> Result<Arc<dyn zkmed_verifier::CommitmentSource>, StartError> {
    let d = zkmed_chain::Deployment::load(&c.deployment)
        .map_err(|e| StartError::Chain(e.to_string()))?;
    let freshness = zkmed_chain::Freshness::from_window_s(c.within_s);
    let source = zkmed_chain::ChainCommitments::connect(
        &c.rpc,
        d,
        freshness,
        Duration::from_secs(c.cache_s),
    )
    .map_err(|e| StartError::Chain(e.to_string()))?;
    Ok(Arc::new(source))
}

fn load_tls(t: &crate::config::TlsSettings) -> Result<rustls::ServerConfig, StartError> {
    use std::io::BufReader;
    let open = |p: &std::path::Path| {
        std::fs::File::open(p)
            .map(BufReader::new)
            .map_err(|e| StartError::Tls(format!("{}: {e}", p.display())))
    };
    let certs = rustls_pemfile::certs(&mut open(&t.cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StartError::Tls(format!("{}: {e}", t.cert.display())))?;
    if certs.is_empty() {
        return Err(StartError::Tls(format!(
            "{}: no PEM certificate found",
            t.cert.display()
        )));
    }
    let key = rustls_pemfile::private_key(&mut open(&t.key)?)
        .map_err(|e| StartError::Tls(format!("{}: {e}", t.key.display())))?
        .ok_or_else(|| StartError::Tls(format!("{}: no PEM private key found", t.key.display())))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| StartError::Tls(e.to_string()))
}
