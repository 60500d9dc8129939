//! The HTTP service (actix-web): `issuer::Application::build(config)`.

use crate::anchor::{Anchor, LedgerAnchor};
use crate::api::RegisterRequest;
use crate::auth::{FileIdentities, Identities, OperatorToken, SIGNATURE_HEADER};
use crate::error::{IssuerError, Result};
use crate::issuer::{Issuer, IssuerOptions};
use crate::store::{create_private_dir, IssuerStore, SqliteStore};
use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, ResponseError};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use zkmed_core::encoding::Kind;
use zkmed_core::field::parse_fr;

/// The service's configuration (`zkmed issuer serve`'s flags).
#[derive(Clone, Debug)]
pub struct Config {
    /// Database, ledger, identities and operator token live here (mode 0700).
    pub data_dir: PathBuf,
    /// The issuer's name on the local ledger.
    pub issuer_id: String,
    /// `host:port` (port 0: any free port).
    pub listen: String,
    pub batch_size: usize,
    pub batch_interval: Duration,
    /// Where batches are anchored.
    pub anchor: AnchorChoice,
    /// Operator bearer token file (default `<data_dir>/operator.token`, created if absent).
    pub operator_token_file: Option<PathBuf>,
    /// Token owners (default `<data_dir>/identities.json`).
    pub identities_file: Option<PathBuf>,
    /// HTTP worker threads.
    pub workers: usize,
    /// Testing hook, see [`IssuerOptions::pause_at`].
    pub pause_at: Option<String>,
}

impl Config {
    /// Defaults: listen on 127.0.0.1:0, batches of 1,000 or every 60 s.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            issuer_id: "issuer".into(),
            listen: "127.0.0.1:0".into(),
            batch_size: 1000,
            batch_interval: Duration::from_secs(60),
            anchor: AnchorChoice::Embedded,
            operator_token_file: None,
            identities_file: None,
            workers: 2,
            pause_at: None,
        }
    }

    pub fn operator_token_path(&self) -> PathBuf {
        self.operator_token_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join(OperatorToken::FILE))
    }

    pub fn identities_path(&self) -> PathBuf {
        self.identities_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join(FileIdentities::FILE))
    }
}

/// Where batches are anchored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnchorChoice {
    /// The embedded chain under `<data_dir>/chain` (deployed, this issuer accredited, on
    /// first start).
    Embedded,
    /// The local ledger file `<data_dir>/ledger.jsonl`.
    Ledger,
    /// A node: contracts from `deployment`, transactions signed with the key in `key_file`
    /// (hex, mode 0600).
    Rpc {
        url: String,
        deployment: PathBuf,
        key_file: PathBuf,
    },
}

/// What the issuer runs on, when not the defaults.
pub struct Parts {
    pub store: Box<dyn IssuerStore>,
    pub anchor: Box<dyn Anchor>,
    pub identities: Box<dyn Identities>,
}

struct AppState {
    issuer: Arc<Issuer>,
    operator: OperatorToken,
}

/// A bound (not yet running) service with its batcher thread started.
pub struct Application {
    port: u16,
    server: Server,
    issuer: Arc<Issuer>,
}

impl Application {
    /// The defaults: SQLite at `<data_dir>/issuer.sqlite`, the ledger at
    /// `<data_dir>/ledger.jsonl`, owners from the identities file.
    pub fn build(config: Config) -> Result<Application> {
        create_private_dir(&config.data_dir)?;
        let max = zkmed_chain::bench::MAX_NULLIFIERS_PER_TX;
        if config.anchor != AnchorChoice::Ledger && config.batch_size > max {
            return Err(IssuerError::Config(format!(
                "a batch of {} nullifiers does not fit one transaction (at most {max})",
                config.batch_size
            )));
        }
        let store = Box::new(SqliteStore::open_in(&config.data_dir)?);
        let file_identities =
            || -> Box<dyn Identities> { Box::new(FileIdentities::new(&config.identities_path())) };
        let (anchor, identities): (Box<dyn Anchor>, Box<dyn Identities>) = match &config.anchor {
            AnchorChoice::Embedded => (
                Box::new(crate::chain::open_embedded(&config.data_dir.join("chain"))?),
                file_identities(),
            ),
            AnchorChoice::Ledger => (
                Box::new(LedgerAnchor::open(
                    &config.data_dir.join(LedgerAnchor::FILE),
                    &config.issuer_id,
                )?),
                file_identities(),
            ),
            AnchorChoice::Rpc {
                url,
                deployment,
                key_file,
            } => {
                let chain = |e: zkmed_chain::ChainError| IssuerError::Config(e.to_string());
                let deployment = zkmed_chain::Deployment::load(deployment).map_err(chain)?;
                let key = crate::auth::read_secret_file(key_file)?;
                let backend = zkmed_chain::RpcBackend::connect(url, key.trim()).map_err(chain)?;
                let anchor = crate::chain::ChainAnchor::new(
                    zkmed_chain::backend::Registry::attach(backend, deployment),
                )?;
                let identities: Box<dyn Identities> = if config.identities_file.is_some() {
                    file_identities()
                } else {
                    Box::new(crate::auth::ChainIdentities {
                        registry: zkmed_chain::backend::Registry::attach(
                            zkmed_chain::RpcBackend::read_only(url).map_err(chain)?,
                            deployment,
                        ),
                    })
                };
                (Box::new(anchor), identities)
            }
        };
        Self::build_with(
            config,
            Parts {
                store,
                anchor,
                identities,
            },
        )
    }

    /// [`Application::build`] with the given store, anchor and identities.
    pub fn build_with(config: Config, parts: Parts) -> Result<Application> {
        create_private_dir(&config.data_dir)?;
        let operator = OperatorToken::load_or_create(&config.operator_token_path())?;
        let issuer = Arc::new(Issuer::open(
            IssuerOptions {
                data_dir: config.data_dir.clone(),
                batch_size: config.batch_size,
                batch_interval: config.batch_interval,
                pause_at: config.pause_at.clone(),
            },
            parts.store,
            parts.anchor,
            parts.identities,
        )?);
        let listener = TcpListener::bind(&config.listen)
            .map_err(|e| IssuerError::Config(format!("cannot listen on {}: {e}", config.listen)))?;
        let port = listener
            .local_addr()
            .map_err(|e| IssuerError::Config(format!("listener: {e}")))?
            .port();
        let state = web::Data::new(AppState {
            issuer: issuer.clone(),
            operator,
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(16 << 20))
                .route(
                    "/healthz",
                    web::get().to(|| async { HttpResponse::Ok().body("ok") }),
                )
                .route("/v1/info", web::get().to(info))
                .route("/v1/updates", web::post().to(submit_update))
                .route("/v1/updates/{id}", web::get().to(update_status))
                .route("/v1/notes/{index}", web::get().to(note_path))
                .route("/v1/spent/{nullifier}", web::get().to(spent_proof))
                .route("/v1/records", web::post().to(register_records))
        })
        .workers(config.workers.max(1))
        .disable_signals()
        .listen(listener)
        .map_err(|e| IssuerError::Config(format!("listen: {e}")))?
        .run();
        let batcher = issuer.clone();
        std::thread::Builder::new()
            .name("zkmed-issuer-batcher".into())
            .spawn(move || batcher.run_batcher())
            .map_err(|e| IssuerError::Config(format!("batcher thread: {e}")))?;
        Ok(Application {
            port,
            server,
            issuer,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn issuer(&self) -> Arc<Issuer> {
        self.issuer.clone()
    }

    /// Serves until the server stops; then stops the batcher.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let r = self.server.await;
        self.issuer.shutdown();
        r
    }
}

// ----- errors, one enum per route -----

fn json_error(status: StatusCode, code: &str, message: String) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": code, "message": message }))
}

fn internal(e: &IssuerError) -> String {
    tracing::error!(error = %e, "internal error");
    "internal error (see the issuer's log)".into()
}

/// `POST /v1/updates`.
#[derive(Debug, thiserror::Error)]
pub enum SubmitUpdateError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    WrongIssuer(String),
    #[error("{0}")]
    Spent(String),
    #[error("{0}")]
    UnknownRoot(String),
    #[error("{0}")]
    NotInTree(String),
    #[error("{0}")]
    BadFrontier(String),
    #[error("{message}")]
    FrontierRequired { message: String, kinds: Vec<Kind> },
    #[error("{0}")]
    Internal(String),
}

impl From<IssuerError> for SubmitUpdateError {
    fn from(e: IssuerError) -> Self {
        let m = e.to_string();
        match e {
            IssuerError::BadRequest(_) | IssuerError::Records(_) => Self::BadRequest(m),
            IssuerError::Unauthenticated(_) => Self::Unauthenticated(m),
            IssuerError::WrongIssuer(_) => Self::WrongIssuer(m),
            IssuerError::Spent => Self::Spent(m),
            IssuerError::UnknownRoot => Self::UnknownRoot(m),
            IssuerError::NotInTree => Self::NotInTree(m),
            IssuerError::BadFrontier { .. } => Self::BadFrontier(m),
            IssuerError::FrontierRequired { kinds } => Self::FrontierRequired { message: m, kinds },
            other => Self::Internal(internal(&other)),
        }
    }
}

impl ResponseError for SubmitUpdateError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::WrongIssuer(_) => StatusCode::FORBIDDEN,
            Self::Spent(_) | Self::FrontierRequired { .. } => StatusCode::CONFLICT,
            Self::UnknownRoot(_) | Self::NotInTree(_) | Self::BadFrontier(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    fn error_response(&self) -> HttpResponse {
        let code = match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthenticated(_) => "unauthenticated",
            Self::WrongIssuer(_) => "wrong_issuer",
            Self::Spent(_) => "spent",
            Self::UnknownRoot(_) => "unknown_root",
            Self::NotInTree(_) => "not_in_tree",
            Self::BadFrontier(_) => "bad_frontier",
            Self::FrontierRequired { kinds, .. } => {
                return HttpResponse::build(self.status_code()).json(serde_json::json!({
                    "error": "frontier_required", "message": self.to_string(), "kinds": kinds
                }))
            }
            Self::Internal(_) => "internal",
        };
        json_error(self.status_code(), code, self.to_string())
    }
}

/// `GET /v1/updates/{id}`.
#[derive(Debug, thiserror::Error)]
pub enum UpdateStatusError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Internal(String),
}

impl From<IssuerError> for UpdateStatusError {
    fn from(e: IssuerError) -> Self {
        match e {
            IssuerError::NotFound(_) => Self::NotFound(e.to_string()),
            other => Self::Internal(internal(&other)),
        }
    }
}

impl ResponseError for UpdateStatusError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    fn error_response(&self) -> HttpResponse {
        let code = match self {
            Self::NotFound(_) => "not_found",
            Self::Internal(_) => "internal",
        };
        json_error(self.status_code(), code, self.to_string())
    }
}

/// `GET /v1/notes/{index}`.
#[derive(Debug, thiserror::Error)]
pub enum NotePathError {
    #[error("{0}")]
    BadIndex(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Internal(String),
}

impl From<IssuerError> for NotePathError {
    fn from(e: IssuerError) -> Self {
        match e {
            IssuerError::NotFound(_) => Self::NotFound(e.to_string()),
            other => Self::Internal(internal(&other)),
        }
    }
}

impl ResponseError for NotePathError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadIndex(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    fn error_response(&self) -> HttpResponse {
        let code = match self {
            Self::BadIndex(_) => "bad_request",
            Self::NotFound(_) => "not_found",
            Self::Internal(_) => "internal",
        };
        json_error(self.status_code(), code, self.to_string())
    }
}

/// `GET /v1/spent/{nullifier}`.
#[derive(Debug, thiserror::Error)]
pub enum SpentProofError {
    #[error("{0}")]
    BadNullifier(String),
    #[error("{0}")]
    Spent(String),
    #[error("{0}")]
    Internal(String),
}

impl From<IssuerError> for SpentProofError {
    fn from(e: IssuerError) -> Self {
        match e {
            IssuerError::BadRequest(_) => Self::BadNullifier(e.to_string()),
            IssuerError::Spent => Self::Spent(e.to_string()),
            other => Self::Internal(internal(&other)),
        }
    }
}

impl ResponseError for SpentProofError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadNullifier(_) => StatusCode::BAD_REQUEST,
            Self::Spent(_) => StatusCode::CONFLICT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    fn error_response(&self) -> HttpResponse {
        let code = match self {
            Self::BadNullifier(_) => "bad_request",
            Self::Spent(_) => "spent",
            Self::Internal(_) => "internal",
        };
        json_error(self.status_code(), code, self.to_string())
    }
}

/// `POST /v1/records` (operator).
#[derive(Debug, thiserror::Error)]
pub enum RegisterRecordsError {
    #[error("a valid operator bearer token is required")]
    Unauthorized,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    BadBundle(String),
    #[error("{0}")]
    Internal(String),
}

impl From<IssuerError> for RegisterRecordsError {
    fn from(e: IssuerError) -> Self {
        match e {
            IssuerError::BadRequest(_) => Self::BadRequest(e.to_string()),
            IssuerError::Records(_) => Self::BadBundle(e.to_string()),
            other => Self::Internal(internal(&other)),
        }
    }
}

impl ResponseError for RegisterRecordsError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::BadBundle(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    fn error_response(&self) -> HttpResponse {
        let code = match self {
            Self::Unauthorized => "unauthorized",
            Self::BadRequest(_) => "bad_request",
            Self::BadBundle(_) => "bad_bundle",
            Self::Internal(_) => "internal",
        };
        json_error(self.status_code(), code, self.to_string())
    }
}

/// Runs CPU and database work off the executor.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    web::block(f)
        .await
        .map_err(|e| IssuerError::Corrupt(format!("blocking task: {e}")))?
}

// ----- routes -----

async fn info(state: web::Data<AppState>) -> std::result::Result<HttpResponse, UpdateStatusError> {
    let issuer = state.issuer.clone();
    let i = blocking(move || issuer.info()).await?;
    Ok(HttpResponse::Ok().json(i))
}

async fn submit_update(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> std::result::Result<HttpResponse, SubmitUpdateError> {
    let signature = req
        .headers()
        .get(SIGNATURE_HEADER)
        .map(|v| {
            v.to_str().map(str::to_owned).map_err(|_| {
                SubmitUpdateError::Unauthenticated("unreadable signature header".into())
            })
        })
        .transpose()?;
    let issuer = state.issuer.clone();
    let accepted = blocking(move || issuer.submit(&body, signature.as_deref())).await?;
    Ok(HttpResponse::Accepted().json(accepted))
}

async fn update_status(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> std::result::Result<HttpResponse, UpdateStatusError> {
    let issuer = state.issuer.clone();
    let id = id.into_inner();
    let v = blocking(move || issuer.update_status(&id)).await?;
    Ok(HttpResponse::Ok().json(v))
}

async fn note_path(
    state: web::Data<AppState>,
    index: web::Path<String>,
) -> std::result::Result<HttpResponse, NotePathError> {
    let index: u64 = index
        .parse()
        .map_err(|_| NotePathError::BadIndex(format!("{index:?} is not a note index")))?;
    let issuer = state.issuer.clone();
    let p = blocking(move || issuer.note_path(index)).await?;
    Ok(HttpResponse::Ok().json(p))
}

async fn spent_proof(
    state: web::Data<AppState>,
    nullifier: web::Path<String>,
) -> std::result::Result<HttpResponse, SpentProofError> {
    let n = parse_fr(&nullifier).map_err(|e| SpentProofError::BadNullifier(e.to_string()))?;
    let issuer = state.issuer.clone();
    let p = blocking(move || issuer.spent_proof(n)).await?;
    Ok(HttpResponse::Ok().json(p))
}

async fn register_records(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> std::result::Result<HttpResponse, RegisterRecordsError> {
    let auth = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !state.operator.check(auth) {
        return Err(RegisterRecordsError::Unauthorized);
    }
    let issuer = state.issuer.clone();
    let r = blocking(move || {
        let r: RegisterRequest =
            serde_json::from_slice(&body).map_err(|e| IssuerError::BadRequest(e.to_string()))?;
        let bundle =
            serde_json::to_vec(&r.bundle).map_err(|e| IssuerError::BadRequest(e.to_string()))?;
        issuer.register(r.identity_commitment, &bundle)
    })
    .await?;
    Ok(HttpResponse::Created().json(r))
}
