//! Running a plugin in a child process, so that a plugin that segfaults, aborts
//! or loops costs one request, not the run.
//!
//! The child is `revoker` itself in a hidden mode (`revoker __plugin-runner
//! FILE`, see [`serve`]); it loads the plugin and answers the same `manifest`,
//! `plan` and `interpret` calls as a loaded plugin, one at a time, over a pipe:
//! each message a 4-byte little-endian length and a JSON body. A child that dies
//! or does not answer in time is reported (the call fails, naming the plugin),
//! killed, and replaced by a fresh one at the next call.

use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use revoker_plugin_api::{HttpRequest, HttpResponse, Outcome, Params, PluginError};
use serde::{Deserialize, Serialize};

use crate::loader::PluginInfo;
use crate::trust::Image;

/// The hidden subcommand the child runs.
pub const RUNNER_COMMAND: &str = "__plugin-runner";

/// The largest message accepted from either side.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// A call to the plugin.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Call {
    Describe,
    Plan {
        operation: String,
        params: Params,
    },
    Interpret {
        operation: String,
        params: Params,
        response: HttpResponse,
    },
}

/// The plugin's answer.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Answer {
    Describe(Box<PluginInfo>),
    Plan(Result<HttpRequest, PluginError>),
    Interpret(Result<Outcome, PluginError>),
    /// The child could not load the plugin.
    LoadFailed(String),
}

fn write_message(out: &mut impl Write, message: &impl Serialize) -> io::Result<()> {
    let body = serde_json::to_vec(message).map_err(io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(|_| io::Error::other("message too large"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&body)?;
    out.flush()
}

fn read_message(input: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_MESSAGE {
        return Err(io::Error::other(format!(
            "message of {len} bytes is too large"
        )));
    }
    let mut body = vec![0; len];
    input.read_exact(&mut body)?;
    Ok(Some(body))
}

struct ChildProcess {
    process: Child,
    stdin: ChildStdin,
    answers: Receiver<io::Result<Vec<u8>>>,
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

/// The child's side: loads the plugin at `image` and answers calls on stdin and
/// stdout until stdin closes. Whatever the plugin itself prints goes to stderr.
///
/// # Errors
///
/// If the pipe fails.
pub fn serve(image: &Path) -> io::Result<()> {
    let mut out = protocol_stdout()?;
    let mut input = BufReader::new(io::stdin().lock());
    let module = crate::loader::load_module(image);
    while let Some(body) = read_message(&mut input)? {
        let call: Call = serde_json::from_slice(&body).map_err(io::Error::other)?;
        let answer = match &module {
            Err(why) => Answer::LoadFailed(why.clone()),
            Ok((module, info)) => match call {
                Call::Describe => Answer::Describe(Box::new(info.clone())),
                Call::Plan { operation, params } => {
                    Answer::Plan((module.plan())(operation.as_str().into(), &params).into_result())
                }
                Call::Interpret {
                    operation,
                    params,
                    response,
                } => Answer::Interpret(
                    (module.interpret())(operation.as_str().into(), &params, &response)
                        .into_result(),
                ),
            },
        };
        write_message(&mut out, &answer)?;
    }
    Ok(())
}

/// The protocol's output: the process's stdout, moved to a descriptor of its
/// own, with stdout itself pointed at stderr so that a plugin's prints cannot
/// corrupt the protocol.
#[cfg(unix)]
fn protocol_stdout() -> io::Result<std::fs::File> {
    use std::os::fd::FromRawFd as _;
    // SAFETY: dup and dup2 on the process's own standard descriptors.
    unsafe {
        let fd = libc::dup(libc::STDOUT_FILENO);
        if fd < 0 || libc::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(std::fs::File::from_raw_fd(fd))
    }
}

#[cfg(not(unix))]
fn protocol_stdout() -> io::Result<std::fs::File> {
    Err(io::Error::other("isolated plugins need a Unix system"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_end_cleanly() {
        let mut pipe = Vec::new();
        let call = Call::Plan {
            operation: "revoke".into(),
            params: Params::from_pairs([("id", "k1")]),
        };
        write_message(&mut pipe, &call).unwrap();
        let mut input = pipe.as_slice();
        let body = read_message(&mut input).unwrap().unwrap();
        match serde_json::from_slice::<Call>(&body).unwrap() {
            Call::Plan { operation, params } => {
                assert_eq!(operation, "revoke");
                assert_eq!(params.get("id"), Some("k1"));
            }
            other => panic!("{other:?}"),
        }
        assert!(read_message(&mut input).unwrap().is_none());
    }

    #[test]
    fn oversized_messages_are_refused() {
        let mut input: &[u8] = &u32::MAX.to_le_bytes();
        assert!(read_message(&mut input).is_err());
    }
}
