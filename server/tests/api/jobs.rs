//! Jobs: accepted, polled to the end, durable across restarts, finished on shutdown.

use crate::helpers::*;
use std::time::{Duration, Instant};
use zkmed_core::attestation::Attestation;
use zkmed_server::jobs::{JobStatus, JobStore};

async fn poll_done(app: &TestApp, location: &str) -> serde_json::Value {
    let t = Instant::now();
    loop {
        let v = expect(app.get(location).await, 200).await;
        match v["status"].as_str().unwrap() {
            "done" | "failed" => return v,
            "queued" | "running" => {}
            other => panic!("unknown status {other}"),
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "job never finished: {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn job_runs_to_done_and_survives_restart() {
    let data = tempfile::tempdir().unwrap();
    let opts = || Options {
        data_dir: Some(data.path().to_path_buf()),
        keys: Some(exists_only_keys()), // so that a scan fails: no scan keys
        ..Default::default()
    };
    let app = spawn_app_with(opts()).await;
    let r = app
        .post(
            "/v1/jobs",
            &prove_body("has-organ-transplant", "text:job"),
            None,
        )
        .await;
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let accepted = expect(r, 202).await;
    assert_eq!(accepted["status"], "queued");
    assert_eq!(accepted["location"], location.as_str());
    let done = poll_done(&app, &location).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["answer"], true);
    assert_eq!(done["circuit"], "exists-v3");
    let att = Attestation::from_json(done["attestation"].to_string().as_bytes()).unwrap();
    assert_eq!(att.public.state_root, anchored().1.state_root);
    // The job file holds no secret: not the identity secret, not the nullifier key, not
    // the state's rho, not a salt, not a record; and nothing that names the patient.
    let file = std::fs::read_to_string(
        data.path()
            .join("jobs")
            .join(format!("{}.json", accepted["id"].as_str().unwrap())),
    )
    .unwrap();
    assert!(!file.contains(IDENTITY));
    assert!(!file.contains(NULLIFIER_KEY));
    assert!(!file.contains(RHO));
    assert!(!file.contains(&dec(&commitment())));
    assert!(!file.contains(&dec(&identity().commitment())));
    assert!(!file.contains("salt"));
    assert!(!file.contains("Hermiston"));
    // A failing job says why.
    let mut bad = prove_body("has-organ-transplant", "text:job");
    bad["query"] = serde_json::json!({"version": 1, "records": {"kind": "Observation", "quantifier": "none", "where": []}});
    bad.as_object_mut().unwrap().remove("predicate");
    let failed_loc = expect(app.post("/v1/jobs", &bad, None).await, 202).await["location"]
        .as_str()
        .unwrap()
        .to_string();
    let failed = poll_done(&app, &failed_loc).await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"].as_str().unwrap().contains("scan512-v3"),
        "{failed}"
    );
    app.stop().await;

    // A new instance on the same data directory still knows both jobs.
    let app = spawn_app_with(opts()).await;
    let again = expect(app.get(&location).await, 200).await;
    assert_eq!(again["status"], "done");
    assert_eq!(again["attestation"], done["attestation"]);
    assert_eq!(
        expect(app.get(&failed_loc).await, 200).await["status"],
        "failed"
    );
    app.stop().await;
}

/// A job that was queued or running when its instance died is reported as failed
/// (interrupted) after the restart, not lost and not left "running" forever.
#[tokio::test]
async fn interrupted_jobs_are_failed_at_restart() {
    let data = tempfile::tempdir().unwrap();
    let (store, _) = JobStore::open(data.path(), "test", Duration::from_secs(3600)).unwrap();
    let running = store.create("anonymous").unwrap();
    store
        .update(running.id, |j| j.status = JobStatus::Running)
        .unwrap();
    let queued = store.create("anonymous").unwrap();
    let (other_store, _) =
        JobStore::open(data.path(), "other-instance", Duration::from_secs(3600)).unwrap();
    let others = other_store.create("anonymous").unwrap();
    drop((store, other_store));

    let app = spawn_app_with(Options {
        data_dir: Some(data.path().to_path_buf()),
        ..Default::default()
    })
    .await;
    for id in [running.id, queued.id] {
        let v = expect(app.get(&format!("/v1/jobs/{id}")).await, 200).await;
        assert_eq!(v["status"], "failed", "{v}");
        assert!(v["error"].as_str().unwrap().contains("interrupted"), "{v}");
    }
    // Another instance's job (same shared directory) is left to that instance.
    let v = expect(app.get(&format!("/v1/jobs/{}", others.id)).await, 200).await;
    assert_eq!(v["status"], "queued");
    app.stop().await;
}

/// Graceful shutdown: stop right after submitting; the job still finishes and is saved.
#[tokio::test]
async fn shutdown_finishes_admitted_jobs() {
    let data = tempfile::tempdir().unwrap();
    let app = spawn_app_with(Options {
        data_dir: Some(data.path().to_path_buf()),
        workers: 1,
        ..Default::default()
    })
    .await;
    let mut ids = vec![];
    for i in 0..2 {
        let v = expect(
            app.post(
                "/v1/jobs",
                &prove_body("has-organ-transplant", &format!("text:s{i}")),
                None,
            )
            .await,
            202,
        )
        .await;
        ids.push(v["id"].as_str().unwrap().parse().unwrap());
    }
    app.stop().await; // returns only when admitted work is done
    let (store, interrupted) =
        JobStore::open(data.path(), "test", Duration::from_secs(3600)).unwrap();
    assert_eq!(interrupted, 0);
    for id in ids {
        assert_eq!(store.get(id).unwrap().unwrap().status, JobStatus::Done);
    }
}
