//! The bounded prover pool: proving never runs on the async executor.
//!
//! * `workers` dedicated OS threads take proofs one at a time from a queue. Inside a proof
//!   the MSMs and FFTs fan out on rayon's pool (sized to the cores); the worker threads are
//!   not rayon threads, so one proof never steals and nests another.
//! * Admission is a semaphore of `workers + queue` permits taken *before* a request is
//!   queued ([`ProverPool::try_reserve`]) and after its body is read (a slow client holds
//!   no permit); when none is left the caller answers `429` with `Retry-After`. A permit is released only when its proof has finished, so the bound
//!   holds even for requests whose caller gave up.
//! * [`ProverPool::drain`] waits until every admitted proof has finished (graceful
//!   shutdown).

use crate::metrics::Metrics;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

type Task = Box<dyn FnOnce() + Send + 'static>;

/// No room: every worker is busy and the queue is full.
#[derive(Debug, thiserror::Error)]
#[error("the prover queue is full ({capacity} proofs admitted); retry after {retry_after_s} s")]
pub struct QueueFull {
    pub capacity: usize,
    pub retry_after_s: u64,
}

/// An admitted request's place: holds a permit until its proof finishes.
pub struct Slot {
    /// Held, never read: dropping it readmits one request.
    _permit: OwnedSemaphorePermit,
    metrics: Arc<Metrics>,
    started: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.started {
            self.metrics.queue_depth.dec();
        }
    }
}

pub struct ProverPool {
    sender: Mutex<Option<mpsc::Sender<Task>>>,
    permits: Arc<Semaphore>,
    capacity: usize,
    workers: usize,
    metrics: Arc<Metrics>,
    /// Moving average of recent proof times, for `Retry-After`.
    avg_ms: Arc<AtomicU64>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl ProverPool {
    pub fn new(workers: usize, queue: usize, metrics: Arc<Metrics>) -> std::io::Result<ProverPool> {
        let workers = workers.max(1);
        let (tx, rx) = mpsc::channel::<Task>();
        let rx = Arc::new(Mutex::new(rx));
        let mut threads = Vec::with_capacity(workers);
        for i in 0..workers {
            let rx = rx.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("zkmed-prover-{i}"))
                    .spawn(move || loop {
                        let next = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match next {
                            Ok(task) => task(),
                            Err(_) => return, // pool dropped
                        }
                    })?,
            );
        }
        Ok(ProverPool {
            sender: Mutex::new(Some(tx)),
            permits: Arc::new(Semaphore::new(workers + queue)),
            capacity: workers + queue,
            workers,
            metrics,
            avg_ms: Arc::new(AtomicU64::new(0)),
            threads: Mutex::new(threads),
        })
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// `Ok` if a request could be admitted now (nothing is reserved): lets a route answer
    /// `429` before reading a body it could not serve.
    pub fn check_room(&self) -> Result<(), QueueFull> {
        if self.permits.available_permits() > 0 {
            return Ok(());
        }
        self.metrics
            .rejected
            .with_label_values(&["queue_full"])
            .inc();
        Err(QueueFull {
            capacity: self.capacity,
            retry_after_s: self.retry_after_s(),
        })
    }

    /// Admits one request, or says when to come back.
    pub fn try_reserve(&self) -> Result<Slot, QueueFull> {
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                self.metrics.queue_depth.inc();
                Ok(Slot {
                    _permit: permit,
                    metrics: self.metrics.clone(),
                    started: false,
                })
            }
            Err(_) => {
                self.metrics
                    .rejected
                    .with_label_values(&["queue_full"])
                    .inc();
                Err(QueueFull {
                    capacity: self.capacity,
                    retry_after_s: self.retry_after_s(),
                })
            }
        }
    }

    /// Seconds until a slot is likely free: the queue ahead divided among the workers,
    /// times the recent proof time (at least 1).
    pub fn retry_after_s(&self) -> u64 {
        let avg = self.avg_ms.load(Ordering::Relaxed).max(250);
        let ms = avg * (self.capacity as u64).div_ceil(self.workers as u64);
        ms.div_ceil(1000).max(1)
    }

    /// Runs `f` on a prover worker. Resolves to `None` if `cancel` was set before the task
    /// started (its caller timed out), so abandoned requests do not burn a worker.
    pub fn spawn<T, F>(
        &self,
        mut slot: Slot,
        cancel: Arc<AtomicBool>,
        f: F,
    ) -> oneshot::Receiver<Option<T>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let metrics = self.metrics.clone();
        let avg = self.avg_ms.clone();
        let task: Task = Box::new(move || {
            slot.started = true;
            metrics.queue_depth.dec();
            if cancel.load(Ordering::SeqCst) {
                let _ = tx.send(None);
                drop(slot);
                return;
            }
            metrics.in_flight.inc();
            let t = Instant::now();
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let ms = t.elapsed().as_millis() as u64;
            let old = avg.load(Ordering::Relaxed);
            avg.store(
                if old == 0 { ms } else { (old * 3 + ms) / 4 },
                Ordering::Relaxed,
            );
            metrics.in_flight.dec();
            drop(slot); // the permit: a new request may be admitted
            match out {
                Ok(v) => {
                    let _ = tx.send(Some(v));
                }
                Err(_) => {
                    tracing::error!(
                        "a proving task panicked; the request fails, the worker lives on"
                    );
                    // Dropping `tx` makes the receiver see an error: reported as internal.
                }
            }
        });
        let sent = self
            .sender
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(|s| s.send(task)));
        if !matches!(sent, Some(Ok(()))) {
            tracing::error!("prover pool is shut down; task dropped");
        }
        rx
    }

    /// Waits (up to `timeout`) until every admitted proof has finished, then stops the
    /// workers. Returns whether everything finished in time.
    pub async fn drain(&self, timeout: Duration) -> bool {
        let all = self.capacity as u32;
        let done = tokio::time::timeout(timeout, self.permits.clone().acquire_many_owned(all))
            .await
            .map(|r| r.is_ok())
            .unwrap_or(false);
        if let Ok(mut s) = self.sender.lock() {
            s.take(); // workers exit once the queue is empty
        }
        if done {
            let threads = std::mem::take(&mut *self.threads.lock().expect("threads lock"));
            for t in threads {
                let _ = t.join();
            }
        }
        done
    }
}
