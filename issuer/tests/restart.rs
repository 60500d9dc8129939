//! Restarting from the database: the trees are rebuilt and checked against the last
//! anchored roots; a database that does not give them is refused at start.

mod common;

use common::*;
use std::time::Duration;
use zkmed_issuer::{FileIdentities, Issuer, IssuerError, IssuerOptions, LedgerAnchor, SqliteStore};

fn open(dir: &std::path::Path, ledger: &LedgerAnchor) -> zkmed_issuer::Result<Issuer> {
    Issuer::open(
        IssuerOptions {
            data_dir: dir.to_path_buf(),
            batch_size: 100,
            batch_interval: Duration::from_secs(3600),
            pause_at: None,
        },
        Box::new(SqliteStore::open_in(dir).unwrap()),
        Box::new(ledger.as_issuer("clinic")),
        Box::new(FileIdentities::new(&dir.join("identities.json"))),
    )
}

#[test]
fn rebuilt_trees_are_checked_against_anchored_roots() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("i");
    std::fs::create_dir_all(&dir).unwrap();
    let ledger = LedgerAnchor::open(&tmp.path().join("ledger.jsonl"), "x").unwrap();
    let issuer = open(&dir, &ledger).unwrap();
    let mut ps: Vec<Patient> = (0..5).map(|_| Patient::new(&[&dir])).collect();
    for p in ps.iter_mut() {
        let req = p.request("clinic", false);
        let (body, sig) = p.sign(&req);
        issuer.submit(&body, Some(&sig)).unwrap();
    }
    issuer.step(true).unwrap();
    let before = issuer.info().unwrap();
    let path = issuer.note_path(3).unwrap();
    drop(issuer);

    // Reopened: same roots, same paths.
    let issuer = open(&dir, &ledger).unwrap();
    let after = issuer.info().unwrap();
    assert_eq!(
        (after.note_root, after.note_count, after.spent_root),
        (before.note_root, before.note_count, before.spent_root)
    );
    assert_eq!(issuer.note_path(3).unwrap(), path);
    drop(issuer);

    // A note changed behind the issuer's back: refused at start.
    let conn = rusqlite_conn(&dir);
    conn.execute("UPDATE notes SET leaf = ?1 WHERE idx = 2", [vec![1u8; 32]])
        .unwrap();
    drop(conn);
    match open(&dir, &ledger) {
        Err(IssuerError::Corrupt(m)) => assert!(m.contains("last anchored batch"), "{m}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a tampered note tree was accepted"),
    }
}

fn rusqlite_conn(dir: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("issuer.sqlite")).unwrap()
}
