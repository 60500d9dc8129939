//! What the issuer keeps, behind [`IssuerStore`]; [`SqliteStore`] is the default.
//!
//! The trait is small on purpose: each method is one atomic step of the protocol in
//! docs/issuer.md (accept an update, prepare a batch, mark it sent, record a chain batch,
//! drop a stale batch), so a server database (PostgreSQL, several issuer instances behind
//! one database, `SELECT ... FOR UPDATE` on the batch row) can implement it method by method.

use crate::anchor::ChainBatch;
use crate::codec::{fr_from_blob, frs_from_blob, frs_to_blob, key};
use crate::error::{IssuerError, Result};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;
use zkmed_core::field::Fr;

/// Where an accepted update is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStatus {
    /// Accepted (durably), waiting for a batch.
    Queued,
    /// In a prepared or sent batch.
    Batched,
    /// Its batch is on chain.
    Anchored,
    /// Refused after acceptance: its old state was spent at another issuer first.
    Rejected,
}

impl UpdateStatus {
    fn parse(s: &str) -> Result<UpdateStatus> {
        Ok(match s {
            "queued" => UpdateStatus::Queued,
            "batched" => UpdateStatus::Batched,
            "anchored" => UpdateStatus::Anchored,
            "rejected" => UpdateStatus::Rejected,
            o => return Err(IssuerError::Corrupt(format!("update status {o:?}"))),
        })
    }
}

/// A batch's life: prepared (in the database, not sent) → sent (the transaction may be on
/// chain) → anchored (seen on chain). A prepared or sent batch whose base spent root is no
/// longer the chain's is dropped (its updates go back to the queue).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    Prepared,
    Sent,
    Anchored,
    Dropped,
}

impl BatchStatus {
    fn parse(s: &str) -> Result<BatchStatus> {
        Ok(match s {
            "prepared" => BatchStatus::Prepared,
            "sent" => BatchStatus::Sent,
            "anchored" => BatchStatus::Anchored,
            "dropped" => BatchStatus::Dropped,
            o => return Err(IssuerError::Corrupt(format!("batch status {o:?}"))),
        })
    }
}

/// An update as accepted.
#[derive(Clone, Debug)]
pub struct NewUpdate {
    pub id: String,
    pub note: Fr,
    pub nullifier: Fr,
}

/// An update as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredUpdate {
    pub id: String,
    pub note: Fr,
    pub nullifier: Fr,
    pub status: UpdateStatus,
    pub batch: Option<i64>,
    pub reason: Option<String>,
}

/// A registered record set (the issuer's own records for one identity), as JSON of
/// `Vec<OpenedRecord>`: salts included, so it is a secret.
pub struct Registration {
    pub id: i64,
    pub records_json: Zeroizing<String>,
}

/// A batch to prepare: notes in slot order from `first_index`, nullifiers in insertion order.
#[derive(Clone, Debug)]
pub struct NewBatch {
    pub first_index: u64,
    pub notes: Vec<Fr>,
    pub nullifiers: Vec<Fr>,
    pub note_root: Fr,
    /// Notes in the tree after this batch.
    pub note_count: u64,
    pub prev_spent_root: Fr,
    pub new_spent_root: Fr,
    pub updates: Vec<String>,
}

/// A batch as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBatch {
    pub id: i64,
    pub status: BatchStatus,
    pub first_index: u64,
    pub notes: Vec<Fr>,
    pub nullifiers: Vec<Fr>,
    pub note_root: Fr,
    pub note_count: u64,
    pub prev_spent_root: Fr,
    pub new_spent_root: Fr,
    pub tx: Option<String>,
    pub chain_seq: Option<u64>,
}

/// The issuer's durable state. Every method is atomic.
pub trait IssuerStore: Send {
    /// Stores a registered record set for `identity`; returns its id.
    fn add_registration(&mut self, identity: &Fr, records_json: &str) -> Result<i64>;
    /// The identity's registrations not yet appended by an accepted update, oldest first.
    fn pending_registrations(&mut self, identity: &Fr) -> Result<Vec<Registration>>;
    /// Stores an accepted update (queued) and marks `registrations` as appended by it.
    fn accept_update(&mut self, update: &NewUpdate, registrations: &[i64]) -> Result<()>;
    /// One update by id.
    fn update(&mut self, id: &str) -> Result<Option<StoredUpdate>>;
    /// The queued and batched updates, in acceptance order.
    fn unanchored_updates(&mut self) -> Result<Vec<StoredUpdate>>;
    /// Stores a prepared batch, its notes, and moves its updates to `batched`; returns its id.
    fn prepare_batch(&mut self, batch: &NewBatch) -> Result<i64>;
    /// Marks a prepared batch as sent (before the transaction leaves).
    fn set_batch_sent(&mut self, id: i64) -> Result<()>;
    /// Drops a prepared or sent batch: its notes are deleted and its updates queued again.
    fn drop_batch(&mut self, id: i64) -> Result<()>;
    /// Every batch, oldest first (audits, tests).
    fn batches(&mut self) -> Result<Vec<StoredBatch>>;
    /// One batch by id.
    fn batch(&mut self, id: i64) -> Result<Option<StoredBatch>>;
    /// The prepared and sent batches (at most one in this issuer's protocol).
    fn open_batches(&mut self) -> Result<Vec<StoredBatch>>;
    /// The newest anchored batch.
    fn last_anchored_batch(&mut self) -> Result<Option<StoredBatch>>;
    /// The notes of anchored batches, in slot order.
    fn anchored_notes(&mut self) -> Result<Vec<Fr>>;
    /// Records a batch seen on chain (the mirror of the chain's batch log, every issuer's):
    /// when `own` is set, that batch of ours is marked anchored (with its transaction and
    /// updates); `rejected` updates (id, reason) are marked rejected and their
    /// registrations become pending again.
    fn record_chain_batch(
        &mut self,
        batch: &ChainBatch,
        own: Option<i64>,
        rejected: &[(String, String)],
    ) -> Result<()>;
    /// The mirrored chain batches, in chain order.
    fn chain_batches(&mut self) -> Result<Vec<ChainBatch>>;
}

/// [`IssuerStore`] in one SQLite file (WAL, `synchronous=FULL`, mode 0600 in a 0700 dir).
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS registrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    identity BLOB NOT NULL,
    records TEXT NOT NULL,
    update_id TEXT
);
CREATE INDEX IF NOT EXISTS registrations_identity ON registrations(identity);
CREATE TABLE IF NOT EXISTS updates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    note BLOB NOT NULL,
    nullifier BLOB NOT NULL,
    status TEXT NOT NULL,
    batch_id INTEGER,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS updates_status ON updates(status);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    status TEXT NOT NULL,
    first_index INTEGER NOT NULL,
    note_count INTEGER NOT NULL,
    note_root BLOB NOT NULL,
    prev_spent_root BLOB NOT NULL,
    new_spent_root BLOB NOT NULL,
    nullifiers BLOB NOT NULL,
    tx TEXT,
    chain_seq INTEGER
);
CREATE TABLE IF NOT EXISTS notes (
    idx INTEGER PRIMARY KEY,
    leaf BLOB NOT NULL,
    batch_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chain_batches (
    seq INTEGER PRIMARY KEY,
    issuer TEXT NOT NULL,
    note_root BLOB NOT NULL,
    note_count INTEGER NOT NULL,
    prev_spent_root BLOB NOT NULL,
    new_spent_root BLOB NOT NULL,
    nullifiers BLOB NOT NULL,
    tx TEXT NOT NULL
);
";

/// Creates `dir` (and parents) with mode 0700 ([`zkmed_core::files::create_private_dir`]).
pub fn create_private_dir(dir: &Path) -> Result<()> {
    zkmed_core::files::create_private_dir(dir).map_err(|e| IssuerError::io(dir, e))
}

/// Creates `path` empty with mode 0600, or tightens it to 0600
/// ([`zkmed_core::files::touch_private`]).
pub fn touch_private(path: &Path) -> Result<()> {
    zkmed_core::files::touch_private(path).map_err(|e| IssuerError::io(path, e))
}

fn i(x: u64) -> i64 {
    x as i64
}

fn u(x: i64) -> u64 {
    x.max(0) as u64
}

impl SqliteStore {
    /// The file name under the data directory.
    pub const FILE: &'static str = "issuer.sqlite";

    /// Opens (or creates) `<data_dir>/issuer.sqlite`.
    pub fn open_in(data_dir: &Path) -> Result<SqliteStore> {
        create_private_dir(data_dir)?;
        SqliteStore::open(&data_dir.join(Self::FILE))
    }

    /// Opens (or creates) the database at `path` (mode 0600).
    pub fn open(path: &Path) -> Result<SqliteStore> {
        touch_private(path)?;
        let conn = Connection::open(path)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(IssuerError::Config(format!(
                "{}: SQLite refused WAL mode ({mode})",
                path.display()
            )));
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;")?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn row_update(r: &rusqlite::Row<'_>) -> rusqlite::Result<UpdateRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

type UpdateRow = (
    String,
    Vec<u8>,
    Vec<u8>,
    String,
    Option<i64>,
    Option<String>,
);

fn to_update(t: UpdateRow) -> Result<StoredUpdate> {
    Ok(StoredUpdate {
        id: t.0,
        note: fr_from_blob(&t.1)?,
        nullifier: fr_from_blob(&t.2)?,
        status: UpdateStatus::parse(&t.3)?,
        batch: t.4,
        reason: t.5,
    })
}

const UPDATE_COLS: &str = "id, note, nullifier, status, batch_id, reason";
const BATCH_COLS: &str = "id, status, first_index, note_count, note_root, prev_spent_root, new_spent_root, nullifiers, tx, chain_seq";

impl SqliteStore {
    fn select_batches<P: rusqlite::Params>(
        &self,
        tail: &str,
        params: P,
    ) -> Result<Vec<StoredBatch>> {
        let rows: Vec<_> = {
            let mut st = self
                .conn
                .prepare(&format!("SELECT {BATCH_COLS} FROM batches {tail}"))?;
            let rows = st.query_map(params, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                    r.get::<_, Vec<u8>>(5)?,
                    r.get::<_, Vec<u8>>(6)?,
                    r.get::<_, Vec<u8>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<i64>>(9)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        rows.into_iter()
            .map(|t| {
                Ok(StoredBatch {
                    id: t.0,
                    status: BatchStatus::parse(&t.1)?,
                    first_index: u(t.2),
                    notes: self.batch_notes(t.0)?,
                    note_count: u(t.3),
                    note_root: fr_from_blob(&t.4)?,
                    prev_spent_root: fr_from_blob(&t.5)?,
                    new_spent_root: fr_from_blob(&t.6)?,
                    nullifiers: frs_from_blob(&t.7)?,
                    tx: t.8,
                    chain_seq: t.9.map(u),
                })
            })
            .collect()
    }

    fn batch_notes(&self, id: i64) -> Result<Vec<Fr>> {
        let mut st = self
            .conn
            .prepare("SELECT leaf FROM notes WHERE batch_id = ?1 ORDER BY idx")?;
        let rows = st.query_map([id], |r| r.get::<_, Vec<u8>>(0))?;
        rows.map(|b| fr_from_blob(&b?)).collect()
    }
}

impl IssuerStore for SqliteStore {
    fn add_registration(&mut self, identity: &Fr, records_json: &str) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO registrations (identity, records) VALUES (?1, ?2)",
            params![key(identity).to_vec(), records_json],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn pending_registrations(&mut self, identity: &Fr) -> Result<Vec<Registration>> {
        let mut st = self.conn.prepare(
            "SELECT id, records FROM registrations WHERE identity = ?1 AND update_id IS NULL ORDER BY id",
        )?;
        let rows = st.query_map([key(identity).to_vec()], |r| {
            Ok(Registration {
                id: r.get(0)?,
                records_json: Zeroizing::new(r.get(1)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn accept_update(&mut self, u: &NewUpdate, registrations: &[i64]) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO updates (id, note, nullifier, status) VALUES (?1, ?2, ?3, 'queued')",
            params![u.id, key(&u.note).to_vec(), key(&u.nullifier).to_vec()],
        )?;
        for r in registrations {
            let n = tx.execute(
                "UPDATE registrations SET update_id = ?1 WHERE id = ?2 AND update_id IS NULL",
                params![u.id, r],
            )?;
            if n != 1 {
                return Err(IssuerError::Corrupt(format!(
                    "registration {r} is not pending"
                )));
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn update(&mut self, id: &str) -> Result<Option<StoredUpdate>> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {UPDATE_COLS} FROM updates WHERE id = ?1"),
                [id],
                row_update,
            )
            .optional()?;
        row.map(to_update).transpose()
    }

    fn unanchored_updates(&mut self) -> Result<Vec<StoredUpdate>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {UPDATE_COLS} FROM updates WHERE status IN ('queued', 'batched') ORDER BY seq"
        ))?;
        let rows = st.query_map([], row_update)?;
        rows.map(|r| to_update(r?)).collect()
    }

    fn prepare_batch(&mut self, b: &NewBatch) -> Result<i64> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO batches (status, first_index, note_count, note_root, prev_spent_root, new_spent_root, nullifiers)
             VALUES ('prepared', ?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                i(b.first_index),
                i(b.note_count),
                key(&b.note_root).to_vec(),
                key(&b.prev_spent_root).to_vec(),
                key(&b.new_spent_root).to_vec(),
                frs_to_blob(&b.nullifiers)
            ],
        )?;
        let id = tx.last_insert_rowid();
        for (k, note) in b.notes.iter().enumerate() {
            tx.execute(
                "INSERT INTO notes (idx, leaf, batch_id) VALUES (?1, ?2, ?3)",
                params![i(b.first_index + k as u64), key(note).to_vec(), id],
            )?;
        }
        for u in &b.updates {
            let n = tx.execute(
                "UPDATE updates SET status = 'batched', batch_id = ?1 WHERE id = ?2 AND status = 'queued'",
                params![id, u],
            )?;
            if n != 1 {
                return Err(IssuerError::Corrupt(format!("update {u} is not queued")));
            }
        }
        tx.commit()?;
        Ok(id)
    }

    fn set_batch_sent(&mut self, id: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE batches SET status = 'sent' WHERE id = ?1 AND status IN ('prepared', 'sent')",
            [id],
        )?;
        Ok(())
    }

    fn drop_batch(&mut self, id: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE batches SET status = 'dropped' WHERE id = ?1 AND status IN ('prepared', 'sent')",
            [id],
        )?;
        if n != 1 {
            return Err(IssuerError::Corrupt(format!("batch {id} is not open")));
        }
        tx.execute("DELETE FROM notes WHERE batch_id = ?1", [id])?;
        tx.execute(
            "UPDATE updates SET status = 'queued', batch_id = NULL WHERE batch_id = ?1 AND status = 'batched'",
            [id],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn batches(&mut self) -> Result<Vec<StoredBatch>> {
        self.select_batches("ORDER BY id", [])
    }

    fn batch(&mut self, id: i64) -> Result<Option<StoredBatch>> {
        Ok(self.select_batches("WHERE id = ?1", [id])?.pop())
    }

    fn open_batches(&mut self) -> Result<Vec<StoredBatch>> {
        self.select_batches("WHERE status IN ('prepared', 'sent') ORDER BY id", [])
    }

    fn last_anchored_batch(&mut self) -> Result<Option<StoredBatch>> {
        Ok(self
            .select_batches("WHERE status = 'anchored' ORDER BY id DESC LIMIT 1", [])?
            .pop())
    }

    fn anchored_notes(&mut self) -> Result<Vec<Fr>> {
        let mut st = self.conn.prepare(
            "SELECT n.idx, n.leaf FROM notes n JOIN batches b ON b.id = n.batch_id
             WHERE b.status = 'anchored' ORDER BY n.idx",
        )?;
        let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (idx, leaf) = row?;
            if u(idx) != out.len() as u64 {
                return Err(IssuerError::Corrupt(format!(
                    "anchored notes skip from slot {} to {idx}",
                    out.len()
                )));
            }
            out.push(fr_from_blob(&leaf)?);
        }
        Ok(out)
    }

    fn record_chain_batch(
        &mut self,
        b: &ChainBatch,
        own: Option<i64>,
        rejected: &[(String, String)],
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO chain_batches (seq, issuer, note_root, note_count, prev_spent_root, new_spent_root, nullifiers, tx)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                i(b.seq),
                b.issuer,
                key(&b.note_root).to_vec(),
                i(b.note_count),
                key(&b.prev_spent_root).to_vec(),
                key(&b.new_spent_root).to_vec(),
                frs_to_blob(&b.nullifiers),
                b.tx
            ],
        )?;
        if let Some(id) = own {
            let n = tx.execute(
                "UPDATE batches SET status = 'anchored', tx = ?1, chain_seq = ?2
                 WHERE id = ?3 AND status IN ('prepared', 'sent')",
                params![b.tx, i(b.seq), id],
            )?;
            if n != 1 {
                return Err(IssuerError::Corrupt(format!("batch {id} is not open")));
            }
            tx.execute(
                "UPDATE updates SET status = 'anchored' WHERE batch_id = ?1 AND status = 'batched'",
                [id],
            )?;
        }
        for (u, reason) in rejected {
            tx.execute(
                "UPDATE updates SET status = 'rejected', reason = ?1 WHERE id = ?2",
                params![reason, u],
            )?;
            tx.execute(
                "UPDATE registrations SET update_id = NULL WHERE update_id = ?1",
                [u],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn chain_batches(&mut self) -> Result<Vec<ChainBatch>> {
        let mut st = self.conn.prepare(
            "SELECT seq, issuer, note_root, note_count, prev_spent_root, new_spent_root, nullifiers, tx
             FROM chain_batches ORDER BY seq",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Vec<u8>>(4)?,
                r.get::<_, Vec<u8>>(5)?,
                r.get::<_, Vec<u8>>(6)?,
                r.get::<_, String>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let t = row?;
            out.push(ChainBatch {
                seq: u(t.0),
                issuer: t.1,
                note_root: fr_from_blob(&t.2)?,
                note_count: u(t.3),
                prev_spent_root: fr_from_blob(&t.4)?,
                new_spent_root: fr_from_blob(&t.5)?,
                nullifiers: frs_from_blob(&t.6)?,
                tx: t.7,
            });
        }
        Ok(out)
    }
}
