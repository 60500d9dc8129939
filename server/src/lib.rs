//! # zkmed-server
//!
//! The `zkmed` command-line tool and the prover service (`zkmed serve`): an actix-web 4 API
//! that issues attestations (`POST /v1/attestations`, `POST /v1/jobs`), verifies them
//! (`POST /v1/verify`), and publishes circuits and verifying keys, with bearer-token
//! authentication, optional TLS (rustls), a bounded prover pool with back-pressure (`429`),
//! Prometheus metrics and an OpenAPI document generated from the code.
//!
//! Start one in a test:
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let mut settings = zkmed_server::config::Settings::load_with_env(None, false)?;
//! settings.server.port = 0; // any free port
//! let app = zkmed_server::Application::build(settings)?;
//! let port = app.port();
//! tokio::spawn(app.run_until_stopped());
//! # Ok(()) }
//! ```
#![doc = include_str!("../../docs/service.md")]
#![forbid(unsafe_code)]

pub mod auth;
pub mod config;
pub mod genesis;
pub mod input;
pub mod jobs;
pub mod metrics;
pub mod openapi;
pub mod pool;
pub mod roots;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;

pub use startup::{Application, StartError};
pub use state::{AppState, Readiness};
