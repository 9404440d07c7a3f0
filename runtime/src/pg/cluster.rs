//! A private PostgreSQL cluster started from the system's binaries: for
//! tests (a throw-away cluster in a temp dir) and for running MeetAssist on
//! one machine without a database server of its own.
//!
//! The cluster listens on 127.0.0.1 only, on a free port, with trust
//! authentication and no Unix socket. Run as root, it drops to the
//! `postgres` system user, as PostgreSQL refuses to run as root. It is
//! stopped when the [`LocalCluster`] is dropped, and, should this process
//! die without dropping it, the kernel stops it too (parent-death signal).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::fs::chown;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The superuser the cluster is created with.
pub const SUPERUSER: &str = "postgres";

/// Why a local cluster could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server binaries not found (looked in $MEETASSIST_PG_BINDIR, `pg_config --bindir` and /usr/lib/postgresql/*/bin); \
         on Debian/Ubuntu: `sudo apt-get install postgresql postgresql-contrib`"
    )]
    BinariesNotFound,
    #[error(
        "running as root needs the `postgres` system user to run the server as (it comes with Debian's postgresql package): {0}"
    )]
    NoPostgresUser(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("initdb failed ({status}):\n{output}")]
    Initdb { status: String, output: String },
    #[error(
        "the PostgreSQL server did not become ready within {seconds} s; its log ends with:\n{log}"
    )]
    NotReady { seconds: u64, log: String },
    #[error("the PostgreSQL server exited during start-up ({status}); its log ends with:\n{log}")]
    Exited { status: String, log: String },
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClusterError {
    let what = what.into();
    move |source| ClusterError::Io { what, source }
}

/// Where the cluster keeps its files.
enum Storage {
    /// Deleted when the cluster stops.
    Temporary(tempfile::TempDir),
    /// Kept: the data survives restarts.
    Persistent(PathBuf),
}

impl Storage {
    fn root(&self) -> &Path {
        match self {
            Storage::Temporary(dir) => dir.path(),
            Storage::Persistent(path) => path,
        }
    }
}

/// A running PostgreSQL server of this process's own.
pub struct LocalCluster {
    // Field order matters: the server is stopped (in `Drop`) before the
    // storage is deleted (dropped after it).
    server: Option<Child>,
    keeper: Option<mpsc::Sender<()>>,
    port: u16,
    storage: Storage,
}

impl std::fmt::Debug for LocalCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCluster")
            .field("port", &self.port)
            .field("root", &self.storage.root())
            .finish()
    }
}

/// The system user the server runs as, when this process is root.
#[derive(Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

impl LocalCluster {
    /// Starts a new cluster in a fresh temporary directory, deleted on drop.
    pub fn start_temporary() -> Result<Self, ClusterError> {
        let dir = tempfile::Builder::new()
            .prefix("meetassist-pg-")
            .tempdir()
            .map_err(io_error("creating a temporary directory"))?;
        Self::start(Storage::Temporary(dir))
    }

    /// Starts the cluster kept in `root` (created with `initdb` the first
    /// time). The data stays there after the cluster stops.
    pub fn start_persistent(root: &Path) -> Result<Self, ClusterError> {
        std::fs::create_dir_all(root).map_err(io_error(format!("creating {}", root.display())))?;
        let root = root
            .canonicalize()
            .map_err(io_error(format!("resolving {}", root.display())))?;
        Self::start(Storage::Persistent(root))
    }

    fn start(storage: Storage) -> Result<Self, ClusterError> {
        let bindir = find_bindir().ok_or(ClusterError::BinariesNotFound)?;
        let run_as = run_as()?;
        let root = storage.root().to_path_buf();
        if let Some(user) = run_as {
            chown(&root, Some(user.uid), Some(user.gid)).map_err(io_error(format!(
                "giving {} to the postgres user",
                root.display()
            )))?;
        }
        let data = root.join("data");
        if !data.join("PG_VERSION").exists() {
            initdb(&bindir, &data, run_as)?;
        }
        // The port may be taken between choosing it and the server binding
        // it; a few attempts make that race harmless.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port()?;
            let (mut server, keeper) = launch(&bindir, &root, port, run_as)?;
            match wait_until_ready(&mut server, &root) {
                Ok(()) => {
                    return Ok(LocalCluster {
                        server: Some(server),
                        keeper: Some(keeper),
                        port,
                        storage,
                    });
                }
                Err(ClusterError::Exited { log, .. })
                    if attempt < 5 && log.contains("could not bind") =>
                {
                    tracing::debug!(
                        attempt,
                        port,
                        "port taken while starting PostgreSQL; retrying"
                    );
                }
                Err(error) => {
                    stop(server);
                    return Err(error);
                }
            }
        }
    }

    /// The TCP port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the data directory and the server log.
    pub fn root(&self) -> &Path {
        self.storage.root()
    }

    /// A connection URL for `database` as `user` (trust authentication: no
    /// password).
    pub fn url(&self, user: &str, database: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{database}", self.port)
    }

    /// The superuser's URL for `database`.
    pub fn superuser_url(&self, database: &str) -> String {
        self.url(SUPERUSER, database)
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            stop(server);
        }
        // Lets the keeper thread end.
        self.keeper.take();
    }
}

fn wait_until_ready(server: &mut Child, root: &Path) -> Result<(), ClusterError> {
    const LIMIT: Duration = Duration::from_secs(60);
    let started = Instant::now();
    let pid_file = root.join("data").join("postmaster.pid");
    let log = root.join("postgres.log");
    loop {
        if let Ok(Some(status)) = server.try_wait() {
            return Err(ClusterError::Exited {
                status: status.to_string(),
                log: log_tail(&log),
            });
        }
        // Line 8 of postmaster.pid is the server's state; "ready" means it
        // accepts connections (this is what pg_ctl waits for).
        if let Ok(file) = File::open(&pid_file) {
            let ready = BufReader::new(file)
                .lines()
                .nth(7)
                .and_then(Result::ok)
                .is_some_and(|state| state.trim() == "ready");
            if ready {
                return Ok(());
            }
        }
        if started.elapsed() > LIMIT {
            return Err(ClusterError::NotReady {
                seconds: LIMIT.as_secs(),
                log: log_tail(&log),
            });
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Fast shutdown (SIGINT: roll back open transactions, disconnect clients,
/// exit cleanly), then a kill if the server is still there after 15 s.
fn stop(mut server: Child) {
    signal(&server, libc::SIGINT);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match server.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) if Instant::now() > deadline => {
                let _ = server.kill();
                let _ = server.wait();
                return;
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn signal(child: &Child, signal: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: kill(2) with a pid we spawned and still own (not yet reaped).
    unsafe {
        libc::kill(pid, signal);
    }
}

fn log_tail(path: &Path) -> String {
    let Ok(mut file) = File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let length = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(length.saturating_sub(4000)));
    let mut tail = String::new();
    let _ = file.read_to_string(&mut tail);
    tail
}

/// The directory with `initdb` and `postgres`.
fn find_bindir() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("postgres").is_file() && dir.join("initdb").is_file();
    if let Some(dir) = std::env::var_os("MEETASSIST_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        return has_server(&dir).then_some(dir);
    }
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if has_server(&dir) {
            return Some(dir);
        }
    }
    // Debian installs each major version side by side; take the newest.
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_server(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

fn run_as() -> Result<Option<RunAs>, ClusterError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let id = |flag: &str| -> Result<u32, ClusterError> {
        let output = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .map_err(|error| ClusterError::NoPostgresUser(error.to_string()))?;
        if !output.status.success() {
            return Err(ClusterError::NoPostgresUser(
                String::from_utf8_lossy(&output.stderr).trim().to_string(),
            ));
        }
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .map_err(|_| ClusterError::NoPostgresUser("`id` printed no number".into()))
    };
    Ok(Some(RunAs {
        uid: id("-u")?,
        gid: id("-g")?,
    }))
}

fn command_as(program: PathBuf, run_as: Option<RunAs>) -> Command {
    let mut command = Command::new(program);
    if let Some(user) = run_as {
        // std also clears root's supplementary groups when it sets the uid.
        command.uid(user.uid).gid(user.gid);
        command
            .env("HOME", "/tmp")
            .env("USER", "postgres")
            .env("LOGNAME", "postgres");
    }
    command
}

fn initdb(bindir: &Path, data: &Path, run_as: Option<RunAs>) -> Result<(), ClusterError> {
    let output = command_as(bindir.join("initdb"), run_as)
        .arg("--pgdata")
        .arg(data)
        .args([
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
        ])
        // A UTF-8 collation, so lower()/ILIKE know Vietnamese letters.
        .args(["--locale", "C.UTF-8", "--no-sync", "--no-instructions"])
        .stdin(Stdio::null())
        .output()
        .map_err(io_error("running initdb"))?;
    if !output.status.success() {
        return Err(ClusterError::Initdb {
            status: output.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    Ok(())
}

fn free_port() -> Result<u16, ClusterError> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(io_error("finding a free port"))?;
    let port = listener
        .local_addr()
        .map_err(io_error("finding a free port"))?
        .port();
    Ok(port)
}

/// Spawns the server from a thread that lives as long as the cluster: the
/// parent-death signal fires when the spawning *thread* ends, so a cluster
/// started by a short-lived thread (a test) must not be spawned by it.
fn launch(
    bindir: &Path,
    root: &Path,
    port: u16,
    run_as: Option<RunAs>,
) -> Result<(Child, mpsc::Sender<()>), ClusterError> {
    let log =
        File::create(root.join("postgres.log")).map_err(io_error("creating the server log"))?;
    let log_err = log
        .try_clone()
        .map_err(io_error("creating the server log"))?;
    let mut command = command_as(bindir.join("postgres"), run_as);
    command
        .arg("-D")
        .arg(root.join("data"))
        .args(["-p", &port.to_string()])
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args(["-c", "unix_socket_directories="])
        // Throw-away and local clusters trade durability for speed.
        .args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ])
        // Every CREATE DATABASE writes its template into the WAL; with the
        // default 1 GB budget a test run's WAL alone took about 1 GB of disk.
        // Checkpoints cost little with fsync off, and nothing replicates.
        .args([
            "-c",
            "max_wal_size=64MB",
            "-c",
            "min_wal_size=32MB",
            "-c",
            "wal_level=minimal",
            "-c",
            "max_wal_senders=0",
        ])
        .args(["-c", "max_connections=300"])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches only
    // the calling (child) process.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (spawned_tx, spawned_rx) = mpsc::channel();
    let (keeper_tx, keeper_rx) = mpsc::channel::<()>();
    thread::Builder::new()
        .name(format!("postgres-{port}"))
        .spawn(move || {
            let _ = spawned_tx.send(command.spawn());
            // Blocks until the cluster drops its sender.
            let _ = keeper_rx.recv();
        })
        .map_err(io_error("starting the server's keeper thread"))?;
    let child = spawned_rx
        .recv()
        .map_err(|_| ClusterError::Io {
            what: "starting postgres".into(),
            source: std::io::Error::other("the keeper thread died"),
        })?
        .map_err(io_error(format!(
            "starting {}",
            bindir.join("postgres").display()
        )))?;
    Ok((child, keeper_tx))
}
