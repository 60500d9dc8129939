//! # zkmed-issuer
//!
//! Being built (issue 15): see docs/state.md.
#![forbid(unsafe_code)]
