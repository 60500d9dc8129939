//! Building and running the service.

use crate::auth::Authenticator;
use crate::config::Settings;
use crate::jobs::{JobStore, JobStoreError};
use crate::metrics::Metrics;
use crate::pool::ProverPool;
use crate::roots::{ChainHealth, ChainReader};
use crate::routes::{attestations, health, info, jobs, verify};
use crate::state::{AppState, Readiness};
use actix_cors::Cors;
use actix_web::dev::{Server, ServerHandle, Service};
use actix_web::http::{header, KeepAlive, Method};
use actix_web::middleware::Condition;
use actix_web::{web, App, FromRequest, Handler, HttpRequest, HttpServer, Resource, Responder};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing_actix_web::TracingLogger;
use zkmed_circuits::CircuitId;
use zkmed_prover::{KeyStore, ProveError};
use zkmed_verifier::{KeySet, VerifyError};

/// Why the service could not start. Each message includes its cause, which is therefore
/// not also a `source()`: error chains never repeat a message ("X: X").
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("proving keys in {dir}: {error} (run `zkmed setup --keys {dir}`)")]
    Keys { dir: String, error: ProveError },
    #[error("verifying keys: {0}")]
    VerifierKeys(VerifyError),
    #[error("unknown circuit {0:?} in prover.preload")]
    UnknownCircuit(String),
    #[error(transparent)]
    Jobs(#[from] JobStoreError),
    #[error("cannot listen on {addr}: {error}")]
    Bind { addr: String, error: std::io::Error },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("[chain]: {0}")]
    Chain(String),
    #[error("I/O: {0}")]
    Io(std::io::Error),
}

impl From<VerifyError> for StartError {
    fn from(e: VerifyError) -> Self {
        StartError::VerifierKeys(e)
    }
}

impl From<std::io::Error> for StartError {
    fn from(e: std::io::Error) -> Self {
        StartError::Io(e)
    }
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
            KeyStore::open(&settings.keys).map_err(|error| StartError::Keys {
                dir: settings.keys.display().to_string(),
                error,
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
        let listener = TcpListener::bind(&addr).map_err(|error| StartError::Bind {
            addr: addr.clone(),
            error,
        })?;
        let port = listener.local_addr()?.port();
        let tls = settings.tls.as_ref().map(load_tls).transpose()?;
        let chain = settings.chain.as_ref().map(open_chain).transpose()?;
        let chain_health = Arc::new(Mutex::new(ChainHealth::Unknown));
        if let (Some(c), Some(cs)) = (&chain, &settings.chain) {
            crate::roots::spawn_probe(
                c,
                chain_health.clone(),
                Duration::from_secs(cs.probe_interval_s),
            )?;
        }
        let http_workers = settings.http_workers();
        let shutdown = settings.server.shutdown_timeout_s;
        let header_timeout = Duration::from_secs(settings.server.header_timeout_s);
        let keep_alive = match settings.server.keep_alive_s {
            0 => KeepAlive::Disabled,
            s => KeepAlive::Timeout(Duration::from_secs(s)),
        };
        let cors = settings.server.cors.clone();
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
            chain_health,
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
                .wrap(Condition::new(
                    !cors.allowed_origins.is_empty(),
                    cors_middleware(&cors),
                ))
                .app_data(data.clone())
                .service(endpoint("/healthz", Method::GET, health::healthz))
                .service(endpoint("/readyz", Method::GET, health::readyz))
                .service(endpoint("/metrics", Method::GET, health::metrics))
                .service(
                    web::scope("/v1")
                        .service(endpoint(
                            "/attestations",
                            Method::POST,
                            attestations::create,
                        ))
                        .service(endpoint("/jobs", Method::POST, jobs::submit))
                        .service(endpoint("/jobs/{id}", Method::GET, jobs::status))
                        .service(endpoint("/verify", Method::POST, verify::verify))
                        .service(endpoint("/circuits", Method::GET, info::circuits))
                        .service(endpoint(
                            "/keys/{circuit}/vk",
                            Method::GET,
                            info::verifying_key,
                        ))
                        .service(endpoint("/predicates", Method::GET, info::predicates_list))
                        .service(endpoint(
                            "/openapi.json",
                            Method::GET,
                            crate::openapi::openapi,
                        )),
                )
                .default_service(web::to(crate::routes::not_found))
        })
        // A client gets `header_timeout` to send its request head, then 408 and the
        // connection is closed; bodies have `body_timeout` (in the routes). Idle
        // keep-alive connections are closed after `keep_alive_s`.
        .client_request_timeout(header_timeout)
        .client_disconnect_timeout(Duration::from_secs(1))
        .keep_alive(keep_alive)
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

/// A route for `method` at `path`; any other method is answered `405` with `Allow`.
fn endpoint<F, Args>(path: &str, method: Method, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    let allow = method.clone();
    web::resource(path)
        .route(web::method(method).to(handler))
        .default_service(web::to(move |req: HttpRequest| {
            let allow = allow.clone();
            async move { crate::routes::method_not_allowed(&req, &allow) }
        }))
}

/// CORS for the configured origins: `GET` and `POST` with `Authorization` and
/// `Content-Type`, the headers clients read exposed.
fn cors_middleware(c: &crate::config::CorsSettings) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([
            header::LOCATION,
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
            header::ETAG,
            header::HeaderName::from_static("x-zkmed-key-sha256"),
        ])
        .max_age(c.max_age_s);
    for o in &c.allowed_origins {
        cors = if o == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(o)
        };
    }
    cors
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

fn open_chain(c: &crate::config::ChainSettings) -> Result<Arc<ChainReader>, StartError> {
    let d = zkmed_chain::Deployment::load(&c.deployment)
        .map_err(|e| StartError::Chain(e.to_string()))?;
    let source = zkmed_chain::ChainRoots::connect_with(&c.rpc, d, c.rpc_options())
        .map_err(|e| StartError::Chain(e.to_string()))?;
    Ok(Arc::new(source.named(format!(
        "chain at {}",
        crate::roots::node_label(&c.rpc)
    ))))
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
