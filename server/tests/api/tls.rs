//! TLS with rustls: the server presents the configured certificate.

use crate::helpers::*;

#[tokio::test]
async fn serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let app = spawn_app_with(Options {
        tls: Some((cert_path.clone(), key_path.clone())),
        ..Default::default()
    })
    .await;
    assert!(app.base.starts_with("https://"));
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let r = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Plain HTTP to the TLS port does not get an answer.
    assert!(
        reqwest::get(format!("http://localhost:{}/healthz", app.port))
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
    );
    // A client that does not trust the certificate refuses the connection.
    assert!(reqwest::get(app.url("/healthz")).await.is_err());
    app.stop().await;

    // A missing or empty key file is a clear start-up error.
    std::fs::write(&key_path, "").unwrap();
    let o = Options {
        tls: Some((cert_path, key_path)),
        ..Default::default()
    };
    let err = zkmed_server::Application::build(settings(&o, dir.path()))
        .err()
        .expect("no key, no server")
        .to_string();
    assert!(err.contains("no PEM private key"), "{err}");
}
