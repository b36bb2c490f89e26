//! The host's side of an isolated plugin: a child process started on demand,
//! one call at a time, killed and replaced when it crashes or hangs.

use std::io::BufReader;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use super::protocol::{Answer, Call, read_message, write_message};
use super::serve::RUNNER_COMMAND;
use crate::plugin::image::Image;

struct ChildProcess {
    process: Child,
    stdin: ChildStdin,
    answers: Receiver<std::io::Result<Vec<u8>>>,
}

/// A plugin served by a child process.
pub(crate) struct Runner {
    exe: PathBuf,
    /// The plugin's bytes, kept open for every child to load.
    image: Image,
    name: String,
    timeout: Duration,
    child: Mutex<Option<ChildProcess>>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("exe", &self.exe)
            .field("image", &self.image)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// A runner that starts `exe __plugin-runner image` for plugin `name`.
    pub(crate) fn new(exe: PathBuf, image: Image, name: String, timeout: Duration) -> Self {
        Self {
            exe,
            image,
            name,
            timeout,
            child: Mutex::new(None),
        }
    }

    /// Names the plugin in messages from now on (its provider, once known).
    pub(crate) fn set_name(&mut self, name: &str) {
        name.clone_into(&mut self.name);
    }

    fn spawn(&self) -> Result<ChildProcess, String> {
        let mut process = Command::new(&self.exe)
            .arg(RUNNER_COMMAND)
            .arg(self.image.child_path())
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start {} to run plugin {} isolated: {e}",
                    self.exe.display(),
                    self.name
                )
            })?;
        let stdin = process.stdin.take().expect("piped");
        let mut stdout = BufReader::new(process.stdout.take().expect("piped"));
        let (tx, answers) = mpsc::channel();
        std::thread::Builder::new()
            .name("revoker-runner-reader".into())
            .spawn(move || {
                loop {
                    match read_message(&mut stdout) {
                        Ok(Some(body)) => {
                            if tx.send(Ok(body)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => return,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
            })
            .map_err(|e| format!("cannot start a reader thread: {e}"))?;
        Ok(ChildProcess {
            process,
            stdin,
            answers,
        })
    }

    /// Sends `call` to the child (starting one if needed) and waits for the
    /// answer.
    ///
    /// # Errors
    ///
    /// What happened to the child: it crashed (with its signal or status), did
    /// not answer in time (it is killed), or answered something unreadable.
    pub(crate) fn call(&self, call: &Call) -> Result<Answer, String> {
        let mut slot = self
            .child
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(self.spawn()?);
        }
        let child = slot.as_mut().expect("just started");
        let sent = write_message(&mut child.stdin, call);
        let answer = match sent {
            Ok(()) => child.answers.recv_timeout(self.timeout),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        };
        let failure = match answer {
            Ok(Ok(body)) => {
                return serde_json::from_slice(&body).map_err(|e| {
                    let mut child = slot.take().expect("running");
                    let _ = child.process.kill();
                    let _ = child.process.wait();
                    format!("plugin {} (isolated) answered garbage: {e}", self.name)
                });
            }
            Ok(Err(e)) => format!("its pipe failed: {e}"),
            Err(RecvTimeoutError::Timeout) => {
                format!(
                    "it did not answer within {:?}, and was killed",
                    self.timeout
                )
            }
            Err(RecvTimeoutError::Disconnected) => String::new(),
        };
        let mut child = slot.take().expect("running");
        let _ = child.process.kill();
        let status = child.process.wait();
        let why = if failure.is_empty() {
            match status {
                Ok(status) => format!("it crashed ({})", describe_exit(status)),
                Err(e) => format!("it crashed ({e})"),
            }
        } else {
            failure
        };
        tracing::debug!(plugin = %self.name, "isolated plugin failed: {why}");
        Err(format!(
            "plugin {} (isolated) failed: {why}; a fresh process serves the next request",
            self.name
        ))
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.get_mut().ok().and_then(Option::take) {
            drop(child.stdin);
            let _ = child.process.kill();
            let _ = child.process.wait();
        }
    }
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            let name = match signal {
                libc::SIGSEGV => " SIGSEGV",
                libc::SIGABRT => " SIGABRT",
                libc::SIGBUS => " SIGBUS",
                libc::SIGILL => " SIGILL",
                libc::SIGKILL => " SIGKILL",
                libc::SIGFPE => " SIGFPE",
                _ => "",
            };
            return format!("signal {signal}{name}");
        }
    }
    status.to_string()
}
