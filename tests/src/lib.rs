//! Shared helpers for the end-to-end tests: where the built `revoker` binary and
//! plugin files are, a clean command to run it, and plugin directories.
//!
//! The tests drive the real binary with the real `.so` files, so the workspace
//! must be built first: `cargo build --workspace && cargo test --workspace`.

pub mod fault_server;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Output};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Made-up credentials; no test ever uses a real one.
pub const PINATA_JWT: &str = "test-pinata-jwt.made-up";
/// Made-up LangWatch project key.
pub const LANGWATCH_KEY: &str = "sk-lw-test-made-up";
/// Made-up Dolfin API key.
pub const DOLFIN_KEY: &str = "test-dolfin-key-made-up";

/// The providers of the bundled plugins, sorted.
pub const BUNDLED_PROVIDERS: [&str; 5] = ["aws-iam", "dolfin", "github", "langwatch", "pinata"];

/// `target/debug` (or whichever profile built this test).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/e2e-<hash>
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary is in target/<profile>/deps")
        .to_owned()
}

fn built(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (`cargo build --workspace`)",
        path.display()
    );
    path
}

/// The built `revoker` binary.
pub fn revoker_bin() -> PathBuf {
    built(target_dir().join(format!("revoker{}", std::env::consts::EXE_SUFFIX)))
}

/// A bundled plugin's file, e.g. `plugin_file("pinata")`.
pub fn plugin_file(provider: &str) -> PathBuf {
    let (prefix, suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    built(target_dir().join(format!("{prefix}revoker_{provider}{suffix}")))
}

/// A test fixture plugin's file, e.g. `fixture_file("panicky")`.
pub fn fixture_file(name: &str) -> PathBuf {
    let (prefix, suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    built(target_dir().join(format!(
        "{prefix}fixture_{}{suffix}",
        name.replace('-', "_")
    )))
}

/// The `revoker` binary with an empty environment (so no credential or setting
/// of the machine leaks in), and `PATH` only.
pub fn revoker() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(revoker_bin());
    command.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command
}

/// A private temporary directory (mode 0700) under the target directory, for
/// what revoker trusts only when no one else can change it: plugin files and
/// config files. Never under `/tmp`, which is shared (world-writable, sticky),
/// so revoker refuses anything below it.
pub fn private_dir() -> TempDir {
    use std::os::unix::fs::PermissionsExt as _;
    let base = target_dir().join("e2e-tmp");
    std::fs::create_dir_all(&base).expect("create target/<profile>/e2e-tmp");
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o700))
        .expect("make e2e-tmp private");
    tempfile::tempdir_in(&base).expect("temp dir")
}

/// A private temporary directory of plugins, for `--plugin-dir`.
#[derive(Debug)]
pub struct PluginDir {
    dir: TempDir,
}

impl PluginDir {
    /// An empty one, made by [`private_dir`].
    pub fn new() -> Self {
        Self { dir: private_dir() }
    }

    /// Copies `file` in as `librevoker_<name>.so`, so the loader picks it up.
    pub fn with(self, file: &Path, name: &str) -> Self {
        let (prefix, suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
        let dest = self
            .dir
            .path()
            .join(format!("{prefix}revoker_{name}{suffix}"));
        std::fs::copy(file, &dest).expect("copy plugin");
        self
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Default for PluginDir {
    fn default() -> Self {
        Self::new()
    }
}

/// Stdout of a finished command, as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Stderr of a finished command, as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Stdout parsed as one JSON value.
pub fn stdout_json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(output),
            stderr(output)
        )
    })
}

/// Runs `revoker` with `env` and `args` plus `--output json`; returns the exit
/// code and the result object printed on stdout.
pub fn run_json(env: &[(&str, &str)], args: &[&str]) -> (i32, serde_json::Value) {
    let output = revoker()
        .envs(env.iter().copied())
        .args(args)
        .args(["--output", "json"])
        .output()
        .expect("run revoker");
    let code = output
        .status
        .code()
        .expect("revoker exited, not killed by a signal");
    (code, stdout_json(&output))
}

/// A wiremock matcher: the request has no body and no `Content-Type`, as for an
/// endpoint whose document defines no request body.
pub fn no_body(request: &wiremock::Request) -> bool {
    request.body.is_empty() && !request.headers.contains_key("content-type")
}

/// A JSON response with `status`.
pub fn json_response(status: u16, body: serde_json::Value) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(status)
        .insert_header("Content-Type", "application/json; charset=utf-8")
        .set_body_string(body.to_string())
}

/// Reads a JSONL file (a report) into its values.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// One bulk JSONL line for `provider` `operation` with `params`.
pub fn bulk_line(provider: &str, operation: &str, params: &[(&str, &str)]) -> String {
    let params: serde_json::Map<String, serde_json::Value> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).into()))
        .collect();
    serde_json::json!({"provider": provider, "operation": operation, "params": params}).to_string()
}

/// A made-up UUID numbered `n`.
pub fn uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// Waits for `child` and returns its exit code and peak resident set size in
/// KiB: the high-water mark of its own memory (`VmHWM` in `/proc/PID/status`),
/// read until it exits. (`wait4`'s `ru_maxrss` would also count the test
/// process's own memory, which a `vfork`ed child shares until its `exec`.)
///
/// Fails the test (killing `child`) if it has not exited within [`PATIENCE`].
pub fn wait_with_max_rss(mut child: std::process::Child) -> (Option<i32>, u64) {
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path)
            && let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            return (status.code(), peak);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the process had not exited after {PATIENCE:?} (peak RSS so far {peak} KiB)");
        }
        std::thread::sleep(POLL);
    }
}

/// How long a test waits for something that should happen before it fails:
/// far longer than any of them takes, even a dry run of 200,000 lines on a
/// busy machine with a debug build (about a minute), so that reaching it
/// means the thing is not going to happen.
pub const PATIENCE: Duration = Duration::from_secs(300);

/// How often a condition is looked at again while waiting for it.
const POLL: Duration = Duration::from_millis(5);

/// Waits until `condition` holds; fails the test, naming `what` it waited for,
/// if it does not within [`PATIENCE`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "gave up after {PATIENCE:?} waiting for {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// Waits for `child` to exit; kills it and fails the test, naming `what` it
/// was doing, if it has not within [`PATIENCE`].
pub fn wait_within(child: &mut Child, what: &str) -> ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {PATIENCE:?}, killed");
        }
        std::thread::sleep(POLL);
    }
}

/// Like [`Child::wait_with_output`], but bounded as [`wait_within`] is.
pub fn wait_with_output_within(mut child: Child, what: &str) -> Output {
    let collect = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                pipe.read_to_end(&mut bytes)
                    .expect("read the child's output");
            }
            bytes
        })
    };
    let stdout = collect(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = collect(child.stderr.take().map(|p| Box::new(p) as _));
    let status = wait_within(&mut child, what);
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Starts the real `revoker` with `args` (joined by spaces, for a shell) on a
/// terminal, which util-linux `script` gives it, with nothing in its
/// environment but `PATH`, `TERM` and `env`. Its keyboard is the child's stdin;
/// its screen, watched, is returned beside it.
pub fn revoker_on_a_terminal(args: &str, term: &str, env: &[(&str, &str)]) -> (Child, Watched) {
    let command = format!("{} {args}", revoker_bin().display());
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TERM", term)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run script(1)");
    let screen = Watched::new(child.stdout.take().expect("a piped stdout"));
    (child, screen)
}

/// What a child process writes to one pipe, read as it comes, so a test can
/// wait for a given text to appear.
#[derive(Debug)]
pub struct Watched {
    chunks: mpsc::Receiver<Vec<u8>>,
    seen: Vec<u8>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Watched {
    /// Starts reading `pipe` on a thread of its own.
    pub fn new(mut pipe: impl Read + Send + 'static) -> Self {
        let (sender, chunks) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buffer) {
                if sender.send(buffer[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            chunks,
            seen: Vec::new(),
            reader: Some(reader),
        }
    }

    /// Waits until `text` has appeared; fails the test, with what did appear,
    /// if the pipe closes first or [`PATIENCE`] runs out.
    pub fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        while !self.text().contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                    "{text:?} did not appear within {PATIENCE:?}; the output so far:\n{}",
                    self.text()
                ),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("the output ended without {text:?}:\n{}", self.text())
                }
            }
        }
    }

    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    /// Everything written until the pipe closed (the process has exited).
    pub fn finish(mut self) -> String {
        if let Some(reader) = self.reader.take() {
            reader.join().expect("output reader");
        }
        self.seen.extend(self.chunks.try_iter().flatten());
        self.text()
    }
}

/// The workspace's root directory.
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_owned()
}

/// Copies the directory `from` to `to`, without any `Cargo.lock` (a crate
/// copied out resolves with the workspace's, see [`build_out_of_tree`]).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else if entry.file_name() != "Cargo.lock" {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// Builds (and with `test`, first tests) the crate at `dir` as its author would,
/// outside the workspace, into `target/out-of-tree`; returns that target's
/// `debug` directory. The workspace's lock file goes along, so no dependency is
/// resolved afresh.
pub fn build_out_of_tree(dir: &Path, test: bool) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = workspace_dir().join("target").join("out-of-tree");
    std::fs::copy(workspace_dir().join("Cargo.lock"), dir.join("Cargo.lock"))
        .expect("copy Cargo.lock");
    let steps: &[&str] = if test { &["test", "build"] } else { &["build"] };
    for step in steps {
        let output = std::process::Command::new(&cargo)
            .arg(step)
            .arg("--manifest-path")
            .arg(dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .output()
            .expect("run cargo");
        assert!(
            output.status.success(),
            "cargo {step} of {} failed:\n{}",
            dir.display(),
            stderr(&output)
        );
    }
    target.join("debug")
}
