//! The child's side of an isolated plugin: load it, answer calls until the
//! pipe closes.

use std::io::{self, BufReader};
use std::path::Path;

use super::protocol::{Answer, Call, read_message, write_message};

/// The hidden argument the child is started with.
pub(crate) const RUNNER_COMMAND: &str = "__plugin-runner";

/// Serves an isolated plugin when this process was started as a plugin runner
/// (its first argument the runner's hidden one): returns the exit code to exit
/// with. `None` for any other start: go on as usual.
pub fn serve_if_asked() -> Option<i32> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != RUNNER_COMMAND {
        return None;
    }
    let Some(image) = args.next() else {
        eprintln!("plugin runner: no plugin image given");
        return Some(2);
    };
    Some(match serve(Path::new(&image)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("plugin runner: {e}");
            3
        }
    })
}

/// The child's side: loads the plugin at `image` and answers calls on stdin and
/// stdout until stdin closes. Whatever the plugin itself prints goes to stderr.
///
/// # Errors
///
/// If the pipe fails.
fn serve(image: &Path) -> io::Result<()> {
    let mut out = protocol_stdout()?;
    let mut input = BufReader::new(io::stdin().lock());
    let module = crate::plugin::in_process::load_module(image);
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
