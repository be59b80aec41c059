//! Checks: the trait, a closure adapter, and two built-ins (disk space, process memory).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use serde::Serialize;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Working.
    Ok,
    /// Working, but something needs attention.
    Degraded,
    /// Not working.
    Down,
}

/// What a check found: a status and, when not ok, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The status.
    pub status: Status,
    /// Why it is not ok, or a figure worth showing.
    pub message: Option<String>,
}

impl Outcome {
    /// Working.
    pub fn ok() -> Self {
        Outcome {
            status: Status::Ok,
            message: None,
        }
    }
    /// Working, with a figure worth showing.
    pub fn ok_with(message: impl Into<String>) -> Self {
        Outcome {
            status: Status::Ok,
            message: Some(message.into()),
        }
    }
    /// Needs attention.
    pub fn degraded(message: impl Into<String>) -> Self {
        Outcome {
            status: Status::Degraded,
            message: Some(message.into()),
        }
    }
    /// Not working.
    pub fn down(message: impl Into<String>) -> Self {
        Outcome {
            status: Status::Down,
            message: Some(message.into()),
        }
    }
}

/// A boxed check future.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// A dependency or resource check.
pub trait Check: Send + Sync + 'static {
    /// Name in reports.
    fn name(&self) -> &str;
    /// Whether readiness depends on it (a down critical check makes `/health/ready` 503 and
    /// `/health` unhealthy; a non-critical one only degrades `/health`).
    fn critical(&self) -> bool;
    /// Runs the check.
    fn run(&self) -> CheckFuture<'_>;
}

/// A check made of a closure returning a future.
pub struct FnCheck<F> {
    name: String,
    critical: bool,
    f: F,
}

impl<F, Fut> FnCheck<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    /// A check readiness depends on.
    pub fn critical(name: impl Into<String>, f: F) -> Self {
        FnCheck {
            name: name.into(),
            critical: true,
            f,
        }
    }
    /// A check that only reports.
    pub fn informational(name: impl Into<String>, f: F) -> Self {
        FnCheck {
            name: name.into(),
            critical: false,
            f,
        }
    }
}

impl<F, Fut> Check for FnCheck<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }
    fn critical(&self) -> bool {
        self.critical
    }
    fn run(&self) -> CheckFuture<'_> {
        Box::pin((self.f)())
    }
}

/// Free space on the disk holding a directory: degraded under a threshold (default 1 GiB).
pub struct DiskSpace {
    path: PathBuf,
    warn_below: u64,
}

impl DiskSpace {
    /// Watches the disk of `path`, warning below `warn_below` bytes free.
    pub fn new(path: impl Into<PathBuf>, warn_below: u64) -> Self {
        DiskSpace {
            path: path.into(),
            warn_below,
        }
    }

    /// Free bytes on the disk holding `path` (the mount point with the longest matching prefix).
    pub fn free_bytes(path: &std::path::Path) -> Option<u64> {
        let path = std::path::absolute(path).ok()?;
        let disks = sysinfo::Disks::new_with_refreshed_list().ok()?;
        disks
            .iter()
            .filter(|d| path.starts_with(d.mount_point()))
            .max_by_key(|d| d.mount_point().as_os_str().len())
            .map(|d| d.available_space())
    }
}

impl Check for DiskSpace {
    fn name(&self) -> &str {
        "disk"
    }
    fn critical(&self) -> bool {
        false
    }
    fn run(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            let path = self.path.clone();
            let free = tokio::task::spawn_blocking(move || DiskSpace::free_bytes(&path))
                .await
                .ok()
                .flatten();
            match free {
                None => Outcome::degraded(format!(
                    "cannot tell the free space of {}",
                    self.path.display()
                )),
                Some(f) if f < self.warn_below => Outcome::degraded(format!(
                    "{} MiB free under {}",
                    f >> 20,
                    self.path.display()
                )),
                Some(f) => Outcome::ok_with(format!("{} MiB free", f >> 20)),
            }
        })
    }
}

/// This process's resident memory: degraded above a threshold (0 = report only).
pub struct ProcessMemory {
    warn_above: u64,
}

impl ProcessMemory {
    /// Reports resident memory, warning above `warn_above` bytes (0: never).
    pub fn new(warn_above: u64) -> Self {
        ProcessMemory { warn_above }
    }

    /// Resident set size of this process, in bytes.
    pub fn rss_bytes() -> Option<u64> {
        let pid = sysinfo::get_current_pid().ok()?;
        let mut sys = sysinfo::System::new().ok()?;
        sys.refresh_processes(sysinfo::ProcessesToUpdate::Some(&[pid]), true);
        sys.process(pid).map(|p| p.memory())
    }
}

impl Check for ProcessMemory {
    fn name(&self) -> &str {
        "memory"
    }
    fn critical(&self) -> bool {
        false
    }
    fn run(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            match tokio::task::spawn_blocking(ProcessMemory::rss_bytes)
                .await
                .ok()
                .flatten()
            {
                None => Outcome::degraded("cannot read this process's memory"),
                Some(b) if self.warn_above > 0 && b > self.warn_above => {
                    Outcome::degraded(format!(
                        "{} MiB resident, above {} MiB",
                        b >> 20,
                        self.warn_above >> 20
                    ))
                }
                Some(b) => Outcome::ok_with(format!("{} MiB resident", b >> 20)),
            }
        })
    }
}
