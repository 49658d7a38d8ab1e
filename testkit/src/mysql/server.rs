//! A throwaway MariaDB server, one per test process.
//!
//! Started on first use from Debian's `mariadb-server-core` and `mariadb-client-core` binaries (`mariadb-install-db`,
//! `mariadbd`), in a private directory, listening only on a private Unix socket, accepting
//! packets up to 1 GiB (the store's payload limits exceed the 16 MiB default of
//! `max_allowed_packet`). Commits are not flushed per transaction
//! (`innodb_flush_log_at_trx_commit=2`) unless the server is asked to be durable, and then,
//! if asked, with a binary log synced per commit as a replicated primary runs. As root,
//! `mariadbd` drops its privileges to the unprivileged `nobody` user, who then owns the
//! directory. A watchdog process stops the server and deletes the directory
//! once the test process is gone, however it ends.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::HarnessError;

/// A running throwaway server.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) admin_url: String,
}

struct Layout {
    root: PathBuf,
    data: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    user: Option<String>,
}

/// How a throwaway server commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// The redo log is written at commit and flushed about once a second: fast tests.
    Relaxed,
    /// The redo log is flushed at every commit (the server's default).
    Durable,
    /// As [`Durability::Durable`], with a binary log (`log_bin`) synced at every commit
    /// (`sync_binlog=1`), as on a primary with replicas.
    DurableWithBinlog,
}

impl Server {
    pub(crate) fn start(durable: Durability) -> Result<Server, HarnessError> {
        let (install, server) = find_binaries()?;
        let layout = prepare_layout()?;
        install_data(&install, &layout)?;
        let pid = spawn_server(&server, &layout, durable)?;
        spawn_watchdog(pid, &layout.root)?;
        wait_until_ready(pid, &layout)?;
        let socket = layout.socket.display().to_string();
        let admin_url = format!("mysql://root@localhost/mysql?socket={}", encode(&socket));
        tracing::info!(%admin_url, dir = %layout.root.display(), "throwaway MariaDB started");
        Ok(Server { admin_url })
    }
}

/// Percent-encodes the characters of a path that a URL query may not hold as they are.
fn encode(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn find_binaries() -> Result<(PathBuf, PathBuf), HarnessError> {
    let dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    let find = |name: &str| {
        dirs.iter()
            .map(|dir| dir.join(name))
            .chain([PathBuf::from("/usr/sbin").join(name), PathBuf::from("/usr/bin").join(name)])
            .find(|path| path.is_file())
    };
    // `mariadb-install-db` runs `my_print_defaults`, which Debian ships in the client package.
    match (find("mariadb-install-db"), find("mariadbd"), find("my_print_defaults")) {
        (Some(install), Some(server), Some(_)) => Ok((install, server)),
        _ => Err(HarnessError::NoMariadb),
    }
}

fn prepare_layout() -> Result<Layout, HarnessError> {
    // Short: a Unix socket path must fit in 107 bytes.
    let id = uuid::Uuid::new_v4().simple().to_string();
    let root = std::env::temp_dir().join(format!(
        "pupsourcing-my-{}-{}",
        std::process::id(),
        id.get(..8).unwrap_or(&id)
    ));
    fs::create_dir_all(&root).map_err(|e| HarnessError::io("create the server directory", e))?;
    let me = fs::metadata("/proc/self").map_err(|e| HarnessError::io("read /proc/self", e))?;
    let user = (me.uid() == 0).then(|| "nobody".to_owned());
    if user.is_some() {
        let (uid, gid) = nobody()?;
        std::os::unix::fs::chown(&root, Some(uid), Some(gid))
            .map_err(|e| HarnessError::io("hand the server directory to nobody", e))?;
    }
    Ok(Layout {
        data: root.join("data"),
        socket: root.join("s.sock"),
        log: root.join("error.log"),
        root,
        user,
    })
}

/// The uid and gid of `nobody`, from `/etc/passwd`.
fn nobody() -> Result<(u32, u32), HarnessError> {
    let passwd =
        fs::read_to_string("/etc/passwd").map_err(|e| HarnessError::io("read /etc/passwd", e))?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&"nobody"))
        .and_then(|fields| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))
        .ok_or(HarnessError::NoMariadbUser)
}

fn with_user(command: &mut Command, layout: &Layout) {
    command.current_dir(&layout.root);
    if let Some(user) = &layout.user {
        command.arg(format!("--user={user}"));
    }
}

fn install_data(install: &Path, layout: &Layout) -> Result<(), HarnessError> {
    let mut command = Command::new(install);
    command
        .arg("--no-defaults")
        .arg(format!("--datadir={}", layout.data.display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"])
        .stdin(Stdio::null());
    with_user(&mut command, layout);
    let output = command.output().map_err(|e| HarnessError::io("run mariadb-install-db", e))?;
    if !output.status.success() {
        return Err(HarnessError::Startup {
            step: "mariadb-install-db",
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    Ok(())
}

fn spawn_server(server: &Path, layout: &Layout, durable: Durability) -> Result<u32, HarnessError> {
    let mut command = Command::new(server);
    command
        .arg("--no-defaults")
        .arg(format!("--datadir={}", layout.data.display()))
        .arg(format!("--socket={}", layout.socket.display()))
        .arg(format!("--pid-file={}", layout.root.join("mariadbd.pid").display()))
        .arg(format!("--log-error={}", layout.log.display()))
        .args([
            "--skip-networking",
            "--max-connections=500",
            "--max-allowed-packet=1G",
            "--innodb-buffer-pool-size=128M",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_bin",
        ]);
    match durable {
        Durability::Relaxed => {
            command.args(["--innodb-flush-log-at-trx-commit=2", "--sync-binlog=0"]);
        }
        Durability::Durable => {}
        Durability::DurableWithBinlog => {
            let log = layout.root.join("binlog");
            command.arg(format!("--log-bin={}", log.display())).args([
                "--server-id=1",
                "--sync-binlog=1",
                "--binlog-format=ROW",
            ]);
        }
    }
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).process_group(0);
    with_user(&mut command, layout);
    let child = command.spawn().map_err(|e| HarnessError::io("start mariadbd", e))?;
    Ok(child.id())
}

/// Stops the server and removes its directory once this process is gone.
fn spawn_watchdog(server_pid: u32, root: &Path) -> Result<(), HarnessError> {
    let script = format!(
        "while kill -0 {parent} 2>/dev/null; do sleep 1; done; \
         kill -TERM {server_pid} 2>/dev/null; \
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

/// Ready once the socket accepts connections.
fn wait_until_ready(pid: u32, layout: &Layout) -> Result<(), HarnessError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if std::os::unix::net::UnixStream::connect(&layout.socket).is_ok() {
            return Ok(());
        }
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let alive = !stat.is_empty() && !stat.contains(") Z ");
        if !alive || Instant::now() > deadline {
            let output = fs::read_to_string(&layout.log).unwrap_or_default();
            return Err(HarnessError::Startup { step: "mariadbd", output });
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}
