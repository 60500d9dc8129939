//! The HTTP routes. Each route family has its own error enum, mapped to status codes in its
//! `ResponseError` impl; every error body is [`ErrorBody`] JSON.

pub mod attestations;
pub mod health;
pub mod info;
pub mod jobs;
pub mod verify;

use crate::auth::AuthError;
use crate::input::InputError;
use crate::pool::QueueFull;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;

/// Every error response: a stable machine-readable `error` code and a message for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// e.g. `bad_request`, `payload_too_large`, `unauthorized`, `queue_full`.
    pub error: String,
    pub message: String,
}

pub(crate) fn error_json(status: StatusCode, code: &str, message: String) -> HttpResponse {
    HttpResponse::build(status).json(ErrorBody {
        error: code.into(),
        message,
    })
}

pub(crate) fn auth_status(e: &AuthError) -> StatusCode {
    match e {
        AuthError::Forbidden { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    }
}

pub(crate) fn auth_response(e: &AuthError) -> HttpResponse {
    let status = auth_status(e);
    let mut r = error_json(
        status,
        if status == StatusCode::FORBIDDEN {
            "forbidden"
        } else {
            "unauthorized"
        },
        e.to_string(),
    );
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"zkmed\""),
        );
    }
    r
}

pub(crate) fn input_status(e: &InputError) -> StatusCode {
    match e {
        InputError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        InputError::Timeout { .. } => StatusCode::REQUEST_TIMEOUT,
        _ => StatusCode::BAD_REQUEST,
    }
}

pub(crate) fn input_response(e: &InputError) -> HttpResponse {
    if let InputError::Timeout { .. } = e {
        return timeout_response(e.to_string());
    }
    let status = input_status(e);
    error_json(
        status,
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            "payload_too_large"
        } else {
            "bad_request"
        },
        e.to_string(),
    )
}

pub(crate) fn busy_response(e: &QueueFull) -> HttpResponse {
    let mut r = error_json(StatusCode::TOO_MANY_REQUESTS, "queue_full", e.to_string());
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&e.retry_after_s.to_string()).expect("digits are a header value"),
    );
    r
}

/// Any path no route serves: `404` with the method and path.
pub(crate) async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    error_json(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route {} {}", req.method(), req.path()),
    )
}

/// A known path asked with another method: `405` with `Allow`.
pub(crate) fn method_not_allowed(
    req: &actix_web::HttpRequest,
    allow: &actix_web::http::Method,
) -> HttpResponse {
    let mut r = error_json(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} {}: use {allow}", req.method(), req.path()),
    );
    r.headers_mut().insert(
        header::ALLOW,
        HeaderValue::from_str(allow.as_str()).expect("a method is a header value"),
    );
    r
}

/// The body did not arrive within `server.body_timeout_s`: `408`, and the connection is
/// closed.
pub(crate) fn timeout_response(message: String) -> HttpResponse {
    let mut r = error_json(StatusCode::REQUEST_TIMEOUT, "request_timeout", message);
    r.head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    r
}
