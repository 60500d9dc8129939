//! The JSON-RPC connection's failure modes and address parsing: a dead node (closed port,
//! or a port that accepts and never answers) fails within the timeouts with
//! `ChainError::Unreachable`, never hangs; sends are not retried; `ping` reads the chain id;
//! mixed-case addresses must pass their EIP-55 checksum, in arguments and in deployment
//! files.

use std::time::{Duration, Instant};
use zkmed_chain::backend::{Backend, Registry};
use zkmed_chain::{parse_address, ChainError, Deployment, RpcBackend, RpcOptions};

/// A loopback port with nothing listening on it.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
    // dropped: closed
}

fn opts(request_ms: u64, retries: u32) -> RpcOptions {
    RpcOptions {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(request_ms),
        read_retries: retries,
    }
}

fn unreachable(e: ChainError) -> String {
    assert!(matches!(e, ChainError::Unreachable(_)), "{e:?}");
    e.to_string()
}

#[test]
fn defaults() {
    let o = RpcOptions::default();
    assert_eq!(o.connect_timeout, Duration::from_secs(5));
    assert_eq!(o.request_timeout, Duration::from_secs(10));
    assert_eq!(o.read_retries, 2);
}

#[test]
fn a_closed_port_fails_fast_with_unreachable() {
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}/secret-api-key");
    // The default options: a refused connection is retried twice (200 + 400 ms), then
    // reported; well within connect + request timeout.
    let t = Instant::now();
    let mut b = RpcBackend::read_only(&url).unwrap();
    let e = unreachable(b.ping().unwrap_err());
    let took = t.elapsed();
    assert!(took < Duration::from_secs(5 + 10 + 2), "took {took:?}");
    assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
    assert!(
        !e.contains("secret-api-key"),
        "the URL's path is not echoed: {e}"
    );
    assert!(e.contains("refused"), "the cause is named: {e}");
    // A contract read, through the registry.
    let d = Deployment {
        issuers: Default::default(),
        identity: Default::default(),
        verifier: Default::default(),
        state: Default::default(),
        poseidon: Default::default(),
    };
    let mut r = Registry::attach(RpcBackend::read_only_with(&url, opts(500, 0)).unwrap(), d);
    unreachable(r.is_accredited(Default::default()).unwrap_err());
    unreachable(r.ping().unwrap_err());
    // A send: refused at its preflight read, within the bound too.
    let key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    let mut s = RpcBackend::connect_with(&url, key, opts(500, 0)).unwrap();
    let t = Instant::now();
    unreachable(
        s.send("accredit", Some(Default::default()), Default::default())
            .unwrap_err(),
    );
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

/// A node that accepts connections and never answers: every read gives up after the
/// request timeout, retried `read_retries` times.
#[test]
fn a_silent_node_times_out_within_the_request_timeout_and_retries() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let held = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
    let h = held.clone();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            h.lock().unwrap().push(c); // accepted, never answered
        }
    });
    let url = format!("http://127.0.0.1:{port}");
    for retries in [0u32, 1] {
        let mut b = RpcBackend::read_only_with(&url, opts(700, retries)).unwrap();
        let t = Instant::now();
        let e = unreachable(b.chain_id().unwrap_err());
        let took = t.elapsed();
        let expect = Duration::from_millis(700 * (1 + retries as u64) + 200 * retries as u64);
        assert!(
            took >= Duration::from_millis(700) && took < expect + Duration::from_millis(1500),
            "retries {retries}: took {took:?}, expected about {expect:?}: {e}"
        );
    }
    assert!(
        held.lock().unwrap().len() >= 3,
        "every try reached the node"
    );
}

#[test]
fn ping_reads_the_chain_id_of_a_real_node() {
    let node = zkmed_chain::testing::anvil();
    let mut b = RpcBackend::read_only(&node.endpoint()).unwrap();
    b.ping().unwrap();
    assert_eq!(b.chain_id().unwrap(), 31337);
}

#[test]
fn addresses_lowercase_uppercase_or_checksummed() {
    // EIP-55's own examples.
    let good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
    let a = parse_address(good).unwrap();
    assert_eq!(a.to_checksum(None), good);
    assert_eq!(parse_address(&good.to_lowercase()).unwrap(), a);
    assert_eq!(
        parse_address(&format!("0x{}", good[2..].to_uppercase())).unwrap(),
        a
    );
    assert_eq!(parse_address(&format!("  {good} ")).unwrap(), a);
    // One character's case flipped: the checksum fails, and the error names the address.
    let typo = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
    let e = parse_address(typo).unwrap_err().to_string();
    assert!(e.contains(typo) && e.contains("checksum"), "{e}");
    // Not an address at all.
    for bad in [
        "",
        "0x",
        "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae",
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaedd",
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg",
    ] {
        let e = parse_address(bad).unwrap_err().to_string();
        assert!(e.contains("not an address"), "{bad:?}: {e}");
    }
}

#[test]
fn deployment_files_are_checked_address_by_address() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("deployment.json");
    let good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
    let write = |verifier: &str| {
        std::fs::write(
            &f,
            format!(
                r#"{{"issuers": "{good}", "identity": "{}", "state": "{}", "poseidon": "{good}", "verifier": "{verifier}"}}"#,
                good.to_lowercase(),
                good.to_uppercase().replace("0X", "0x"),
            ),
        )
        .unwrap()
    };
    write(good);
    let d = Deployment::load(&f).unwrap();
    assert_eq!(d.issuers, d.verifier);
    assert_eq!(d.identity, d.state);
    // Saved and loaded back.
    d.save(&f).unwrap();
    assert_eq!(Deployment::load(&f).unwrap(), d);
    let typo = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
    write(typo);
    let e = Deployment::load(&f).unwrap_err().to_string();
    assert!(
        e.contains("verifier") && e.contains(typo) && e.contains("checksum"),
        "{e}"
    );
    // A deployment from before issue 15 (no state registry) is refused by name.
    std::fs::write(
        &f,
        format!(r#"{{"issuers": "{good}", "identity": "{good}", "records": "{good}", "verifier": "{good}"}}"#),
    )
    .unwrap();
    let e = Deployment::load(&f).unwrap_err().to_string();
    assert!(e.contains("no `state` address"), "{e}");
    std::fs::write(&f, r#"{"issuers": "0x00"}"#).unwrap();
    let e = Deployment::load(&f).unwrap_err().to_string();
    assert!(e.contains("issuers") && e.contains("not an address"), "{e}");
    std::fs::write(&f, r#"{}"#).unwrap();
    let e = Deployment::load(&f).unwrap_err().to_string();
    assert!(e.contains("no `issuers` address"), "{e}");
}
