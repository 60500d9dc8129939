//! `zkmed predicates [NAME --param k=v]`: list the named predicates, or print one as a query.

use super::{load_query, out_line, Ctx, QueryArgs};
use anyhow::Result;
use clap::Args;
use serde_json::json;
use zkmed_core::predicates;

#[derive(Args)]
pub struct PredicatesArgs {
    /// Print this predicate's instantiated query.
    name: Option<String>,
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
}

pub fn run(ctx: &Ctx, a: PredicatesArgs) -> Result<()> {
    match a.name {
        None => {
            let list: Vec<_> = predicates::names()
                .into_iter()
                .map(|n| {
                    let p = predicates::get(n).expect("shipped predicate parses");
                    json!({"name": n, "description": p.description, "params": p.params.keys().collect::<Vec<_>>()})
                })
                .collect();
            out_line(ctx.json, json!(list), || {
                list.iter()
                    .map(|p| {
                        format!(
                            "{:<24} {}",
                            p["name"].as_str().unwrap_or(""),
                            p["description"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        Some(n) => {
            let q = load_query(&QueryArgs {
                predicate: Some(n),
                params: a.params,
                query: None,
            })?;
            super::emit(&serde_json::to_string_pretty(&q)?);
        }
    }
    Ok(())
}
