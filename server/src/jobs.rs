//! Asynchronous proving jobs and their durable status.
//!
//! Each job is one small JSON file `<data_dir>/jobs/<id>.json`, replaced atomically
//! (temporary file + rename) at every change: queued → running → done | failed. The file
//! holds the status, the result (attestation, answer) or the error — never the request's
//! secrets, which live only in memory while the job waits and runs.
//!
//! At start-up, jobs of this instance still `queued` or `running` were interrupted by a
//! crash or a restart: they are marked `failed` with a message saying so, never lost
//! silently. Finished jobs older than the retention are deleted.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use utoipa::ToSchema;
use uuid::Uuid;

/// A job file and what was read from it.
type JobFile = (PathBuf, Result<Job, JobStoreError>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

/// A job as stored and as returned by `GET /v1/jobs/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Job {
    pub id: Uuid,
    pub status: JobStatus,
    /// Unix seconds.
    pub created_at: u64,
    pub updated_at: u64,
    /// The token name that created it; only that caller may read it.
    #[serde(default)]
    #[schema(ignore)]
    pub owner: String,
    /// The instance that ran it.
    pub instance: String,
    /// When `done`: the attestation (JSON form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub attestation: Option<serde_json::Value>,
    /// When `done`: the proven answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prove_ms: Option<u64>,
    /// When `failed`: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum JobStoreError {
    #[error("job store {path}: {error}")]
    Io {
        path: String,
        // In the message, so not also a `source()` (a field named `source` would be one):
        // error chains never repeat a message.
        error: std::io::Error,
    },
    #[error("job file {path} is corrupt: {reason}")]
    Corrupt { path: String, reason: String },
}

/// The job files of one data directory.
pub struct JobStore {
    dir: PathBuf,
    instance: String,
}

pub fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl JobStore {
    /// Opens (creating) `<data_dir>/jobs`, fails this instance's interrupted jobs and
    /// prunes finished jobs older than `retention`. Returns the store and how many jobs
    /// were marked interrupted.
    pub fn open(
        data_dir: &Path,
        instance: &str,
        retention: Duration,
    ) -> Result<(JobStore, usize), JobStoreError> {
        let dir = data_dir.join("jobs");
        // Job files hold attestations and who asked for them: the data directory and the
        // job directory are the service's own (0700), each job file 0600.
        for d in [data_dir, dir.as_path()] {
            zkmed_core::files::create_private_dir(d).map_err(|error| JobStoreError::Io {
                path: d.display().to_string(),
                error,
            })?;
        }
        let store = JobStore {
            dir,
            instance: instance.to_string(),
        };
        let interrupted = store.recover()?;
        store.prune(retention)?;
        Ok((store, interrupted))
    }

    fn path(&self, id: Uuid) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Every job file, each with its job or why it could not be read.
    fn all(&self) -> Result<Vec<JobFile>, JobStoreError> {
        let io = |error| JobStoreError::Io {
            path: self.dir.display().to_string(),
            error,
        };
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir).map_err(io)? {
            let p = e.map_err(io)?.path();
            if p.extension().and_then(|x| x.to_str()) == Some("json") {
                let job = read_job(&p);
                out.push((p, job));
            }
        }
        Ok(out)
    }

    fn recover(&self) -> Result<usize, JobStoreError> {
        let mut n = 0;
        for (path, job) in self.all()? {
            match job {
                Ok(mut j)
                    if j.instance == self.instance
                        && matches!(j.status, JobStatus::Queued | JobStatus::Running) =>
                {
                    j.error = Some(format!(
                        "interrupted: the server stopped while the job was {}; submit it again",
                        if j.status == JobStatus::Queued {
                            "queued"
                        } else {
                            "running"
                        }
                    ));
                    j.status = JobStatus::Failed;
                    j.updated_at = now_s();
                    self.save(&j)?;
                    n += 1;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "skipping unreadable job file")
                }
            }
        }
        Ok(n)
    }

    /// Deletes finished jobs last updated more than `retention` ago.
    pub fn prune(&self, retention: Duration) -> Result<usize, JobStoreError> {
        let cutoff = now_s().saturating_sub(retention.as_secs());
        let mut n = 0;
        for (path, job) in self.all()? {
            if let Ok(j) = job {
                if matches!(j.status, JobStatus::Done | JobStatus::Failed) && j.updated_at < cutoff
                {
                    let _ = std::fs::remove_file(&path);
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// A new queued job.
    pub fn create(&self, owner: &str) -> Result<Job, JobStoreError> {
        let t = now_s();
        let job = Job {
            id: Uuid::new_v4(),
            status: JobStatus::Queued,
            created_at: t,
            updated_at: t,
            owner: owner.to_string(),
            instance: self.instance.clone(),
            attestation: None,
            answer: None,
            circuit: None,
            prove_ms: None,
            error: None,
        };
        self.save(&job)?;
        Ok(job)
    }

    /// Writes `job` atomically (temporary file, mode 0600, fsync, rename).
    pub fn save(&self, job: &Job) -> Result<(), JobStoreError> {
        use std::io::Write;
        let path = self.path(job.id);
        let tmp = self.dir.join(format!(".{}.tmp", job.id));
        let io = |error| JobStoreError::Io {
            path: path.display().to_string(),
            error,
        };
        let bytes = serde_json::to_vec_pretty(job).expect("a job serializes");
        let _ = std::fs::remove_file(&tmp); // a leftover of a crash mid-write
        let mut f = zkmed_core::files::create_private_file(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(())
    }

    /// Reads a job (from disk, so instances sharing the directory see each other's jobs).
    pub fn get(&self, id: Uuid) -> Result<Option<Job>, JobStoreError> {
        let path = self.path(id);
        if !path.exists() {
            return Ok(None);
        }
        read_job(&path).map(Some)
    }

    /// Applies `f` to a stored job and saves it.
    pub fn update(&self, id: Uuid, f: impl FnOnce(&mut Job)) -> Result<(), JobStoreError> {
        let mut job = self.get(id)?.ok_or_else(|| JobStoreError::Corrupt {
            path: self.path(id).display().to_string(),
            reason: "the job file disappeared".into(),
        })?;
        f(&mut job);
        job.updated_at = now_s();
        self.save(&job)
    }
}

fn read_job(path: &Path) -> Result<Job, JobStoreError> {
    let bytes = std::fs::read(path).map_err(|error| JobStoreError::Io {
        path: path.display().to_string(),
        error,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| JobStoreError::Corrupt {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}
