//! A throwaway PostgreSQL cluster, one per test process.
//!
//! Started on first use from the `initdb` and `postgres` binaries on `PATH` or under
//! `/usr/lib/postgresql/<version>/bin`, in a private directory, listening on a free loopback
//! port. Durability is switched off (`fsync`, `synchronous_commit`, `full_page_writes`): the data
//! only has to outlive the test process. PostgreSQL refuses to run as root, so when the tests run
//! as root (as in CI) the server runs as the unprivileged `postgres` system user.
//!
//! Cleanup does not rely on destructors, which do not run for statics at exit: a small watchdog
//! process, detached in its own process group, waits for the test process to end (however it
//! ends) and then stops the server and deletes the directory.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::HarnessError;

/// Settings that make a test cluster fast; data loss on a crash does not matter here.
const FAST_SETTINGS: [&str; 8] = [
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=500",
    "shared_buffers=128MB",
    "log_min_messages=warning",
    "max_locks_per_transaction=256",
    "lc_messages=C",
];

/// A running throwaway cluster.
#[derive(Debug)]
pub(crate) struct Cluster {
    pub(crate) admin_url: String,
}

/// Where the server's files go and who owns them.
struct Layout {
    root: PathBuf,
    data: PathBuf,
    log: PathBuf,
    owner: Option<(u32, u32)>,
}

impl Cluster {
    pub(crate) fn start(durable: bool) -> Result<Cluster, HarnessError> {
        let bin = find_binaries()?;
        let layout = prepare_layout()?;
        run_initdb(&bin, &layout)?;
        let port = free_port()?;
        let pid = spawn_server(&bin, &layout, port, durable)?;
        spawn_watchdog(pid, &layout.root)?;
        let admin_url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        wait_until_ready(port, pid, &layout)?;
        tracing::info!(%admin_url, dir = %layout.root.display(), "throwaway PostgreSQL started");
        Ok(Cluster { admin_url })
    }
}

fn find_binaries() -> Result<PathBuf, HarnessError> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    if let Some(dir) =
        on_path.into_iter().find(|d| d.join("initdb").is_file() && d.join("postgres").is_file())
    {
        return Ok(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or(HarnessError::NoPostgres)
}

fn prepare_layout() -> Result<Layout, HarnessError> {
    let root = std::env::temp_dir().join(format!(
        "pupsourcing-pg-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    fs::create_dir_all(&root).map_err(|e| HarnessError::io("create cluster directory", e))?;
    let owner = if running_as_root()? { Some(postgres_user()?) } else { None };
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&root, Some(uid), Some(gid))
            .map_err(|e| HarnessError::io("hand the cluster directory to the postgres user", e))?;
    }
    Ok(Layout { data: root.join("data"), log: root.join("postgres.log"), root, owner })
}

fn running_as_root() -> Result<bool, HarnessError> {
    let me = fs::metadata("/proc/self").map_err(|e| HarnessError::io("read /proc/self", e))?;
    Ok(me.uid() == 0)
}

/// The uid and gid of the `postgres` system user, from `/etc/passwd`.
fn postgres_user() -> Result<(u32, u32), HarnessError> {
    let passwd =
        fs::read_to_string("/etc/passwd").map_err(|e| HarnessError::io("read /etc/passwd", e))?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&"postgres"))
        .and_then(|fields| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))
        .ok_or(HarnessError::NoPostgresUser)
}

fn as_owner(command: &mut Command, layout: &Layout) {
    command.current_dir(&layout.root);
    if let Some((uid, gid)) = layout.owner {
        command.uid(uid).gid(gid);
    }
}

fn run_initdb(bin: &Path, layout: &Layout) -> Result<(), HarnessError> {
    let mut command = Command::new(bin.join("initdb"));
    command
        .arg("-D")
        .arg(&layout.data)
        .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
        .stdin(Stdio::null());
    as_owner(&mut command, layout);
    let output = command.output().map_err(|e| HarnessError::io("run initdb", e))?;
    if !output.status.success() {
        return Err(HarnessError::Startup {
            step: "initdb",
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    Ok(())
}

fn free_port() -> Result<u16, HarnessError> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| HarnessError::io("find a free port", e))?;
    let port = listener.local_addr().map_err(|e| HarnessError::io("find a free port", e))?.port();
    Ok(port)
}

fn spawn_server(
    bin: &Path,
    layout: &Layout,
    port: u16,
    durable: bool,
) -> Result<u32, HarnessError> {
    let log =
        fs::File::create(&layout.log).map_err(|e| HarnessError::io("create server log", e))?;
    if let Some((uid, gid)) = layout.owner {
        std::os::unix::fs::chown(&layout.log, Some(uid), Some(gid))
            .map_err(|e| HarnessError::io("hand the server log to the postgres user", e))?;
    }
    let err_log = log.try_clone().map_err(|e| HarnessError::io("open server log", e))?;
    let mut command = Command::new(bin.join("postgres"));
    command
        .arg("-D")
        .arg(&layout.data)
        .arg("-p")
        .arg(port.to_string())
        .arg("-k")
        .arg(&layout.root)
        .args(["-c", "listen_addresses=127.0.0.1"]);
    for setting in FAST_SETTINGS.iter().filter(|s| !durable || !is_durability_setting(s)) {
        command.arg("-c").arg(setting);
    }
    command.stdin(Stdio::null()).stdout(log).stderr(err_log).process_group(0);
    as_owner(&mut command, layout);
    let child = command.spawn().map_err(|e| HarnessError::io("start postgres", e))?;
    Ok(child.id())
}

fn is_durability_setting(setting: &str) -> bool {
    ["fsync=", "synchronous_commit=", "full_page_writes="].iter().any(|p| setting.starts_with(p))
}

/// Stops the server and removes its directory once this process is gone.
fn spawn_watchdog(server_pid: u32, root: &Path) -> Result<(), HarnessError> {
    let script = format!(
        "while kill -0 {parent} 2>/dev/null; do sleep 1; done; \
         kill -INT {server_pid} 2>/dev/null; \
         for _ in $(seq 1 100); do kill -0 {server_pid} 2>/dev/null || break; sleep 0.1; done; \
         kill -KILL {server_pid} 2>/dev/null; rm -rf '{root}'",
        parent = std::process::id(),
        root = root.display(),
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| HarnessError::io("start the cleanup watchdog", e))?;
    Ok(())
}

/// Ready once `postmaster.pid` reports `ready` and the port accepts connections.
fn wait_until_ready(port: u16, pid: u32, layout: &Layout) -> Result<(), HarnessError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = fs::read_to_string(layout.data.join("postmaster.pid")).unwrap_or_default();
        let ready = status.lines().nth(7).is_some_and(|line| line.trim() == "ready");
        if ready && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let alive = !stat.is_empty() && !stat.contains(") Z ");
        if !alive || Instant::now() > deadline {
            let output = fs::read_to_string(&layout.log).unwrap_or_default();
            return Err(HarnessError::Startup { step: "postgres", output });
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}
