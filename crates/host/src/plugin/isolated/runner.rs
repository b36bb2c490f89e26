//! The host's side of an isolated plugin: a child process started on demand,
//! one call at a time, killed and replaced when it crashes or hangs.

use std::io::{self, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use super::protocol::{Answer, Call, read_message, write_message};
use super::serve::RUNNER_COMMAND;
use crate::plugin::image::Image;

/// Why a call to an isolated plugin got no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunnerError {
    /// The child could not be started.
    #[error("cannot start {} to run plugin {plugin} isolated: {source}", exe.display())]
    Start {
        /// The runner program.
        exe: PathBuf,
        /// The plugin (its file name, or its provider once known).
        plugin: String,
        /// Why.
        source: io::Error,
    },
    /// The thread that reads the child's answers could not be started.
    #[error("cannot start a reader thread: {0}")]
    ReaderThread(io::Error),
    /// The child answered something that is not an answer (it is killed).
    #[error("plugin {plugin} (isolated) answered garbage: {why}")]
    Garbage {
        /// The plugin.
        plugin: String,
        /// What was wrong with the answer.
        why: String,
    },
    /// The child died, hung or broke its pipe (it is killed).
    #[error(
        "plugin {plugin} (isolated) failed: {failure}; a fresh process serves the next request"
    )]
    Failed {
        /// The plugin.
        plugin: String,
        /// What happened to its process.
        failure: ChildFailure,
    },
}

/// What happened to an isolated plugin's process.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChildFailure {
    /// Its pipe failed.
    #[error("its pipe failed: {0}")]
    Pipe(io::Error),
    /// It did not answer in time.
    #[error("it did not answer within {0:?}, and was killed")]
    Timeout(Duration),
    /// It died (its signal or exit status).
    #[error("it crashed ({0})")]
    Crashed(String),
}

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
    /// A runner that starts `exe __plugin-runner fd:N` for plugin `name`, each
    /// child inheriting the image's descriptor N (a sealed copy: Linux), or
    /// `exe __plugin-runner PATH` where there are none.
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

    fn spawn(&self) -> Result<ChildProcess, RunnerError> {
        let (image_arg, inherit) = self.image.child_arg();
        let mut command = Command::new(&self.exe);
        command
            .arg(RUNNER_COMMAND)
            .arg(image_arg)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        #[cfg(unix)]
        if let Some(fd) = inherit {
            use std::os::unix::process::CommandExt as _;
            // SAFETY: the closure runs in the child between fork and exec, and
            // only calls fcntl (async-signal-safe) on a descriptor the child
            // inherited: it lets this one descriptor, the sealed image, survive
            // the exec. In this process it stays close-on-exec.
            unsafe {
                command.pre_exec(move || {
                    if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        #[cfg(not(unix))]
        let _ = inherit;
        let mut process = command.spawn().map_err(|source| RunnerError::Start {
            exe: self.exe.clone(),
            plugin: self.name.clone(),
            source,
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
            .map_err(RunnerError::ReaderThread)?;
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
    pub(crate) fn call(&self, call: &Call) -> Result<Answer, RunnerError> {
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
                    RunnerError::Garbage {
                        plugin: self.name.clone(),
                        why: e.to_string(),
                    }
                });
            }
            Ok(Err(e)) => Some(ChildFailure::Pipe(e)),
            Err(RecvTimeoutError::Timeout) => Some(ChildFailure::Timeout(self.timeout)),
            Err(RecvTimeoutError::Disconnected) => None,
        };
        let mut child = slot.take().expect("running");
        let _ = child.process.kill();
        let status = child.process.wait();
        let failure = failure.unwrap_or_else(|| {
            ChildFailure::Crashed(match status {
                Ok(status) => describe_exit(status),
                Err(e) => e.to_string(),
            })
        });
        tracing::debug!(plugin = %self.name, "isolated plugin failed: {failure}");
        Err(RunnerError::Failed {
            plugin: self.name.clone(),
            failure,
        })
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
