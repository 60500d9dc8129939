//! The prover service's HTTP API against the real server on a free loopback port.

mod chain;
mod hardening;
mod helpers;
mod jobs;
mod rejections;
mod routes;
mod tls;
