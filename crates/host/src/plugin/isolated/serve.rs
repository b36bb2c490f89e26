//! The child's side of an isolated plugin: load it, answer calls until the
//! pipe closes.

use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

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
    let image = match image_path(&image) {
        Ok(path) => path,
        Err(why) => {
            eprintln!("plugin runner: {why}");
            return Some(2);
        }
    };
    Some(match serve(&image) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("plugin runner: {e}");
            3
        }
    })
}

/// The path to load the image given as `arg` from: on Linux only `fd:N`, an
/// inherited descriptor (the bytes the host checked, never a path, which could
/// name another file by now); elsewhere the file's path.
fn image_path(arg: &std::ffi::OsStr) -> Result<PathBuf, String> {
    let text = arg.to_string_lossy();
    let Some(number) = text.strip_prefix(crate::plugin::image::FD_ARG_PREFIX) else {
        if cfg!(target_os = "linux") {
            return Err(format!(
                "{text:?} is not an inherited plugin image (fd:N): a path is never loaded"
            ));
        }
        return Ok(PathBuf::from(arg));
    };
    let fd: i32 = number
        .parse()
        .map_err(|_| format!("{text:?} names no descriptor"))?;
    check_image(fd)?;
    Ok(PathBuf::from(format!("/proc/self/fd/{fd}")))
}

/// Descriptor `fd` is an inherited plugin image: a regular file (the sealed
/// copy the host made, or the very file it checked where it could make none).
#[cfg(target_os = "linux")]
fn check_image(fd: i32) -> Result<(), String> {
    // SAFETY: `stat` is plain data, written by fstat before it is read; an
    // invalid `fd` is an error, not undefined behaviour.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstat(fd, &mut stat) } != 0 || stat.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(format!("descriptor {fd} is not a plugin image"));
    }
    // Not passed on to anything the plugin starts.
    // SAFETY: F_SETFD on a valid descriptor.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn check_image(fd: i32) -> Result<(), String> {
    Err(format!(
        "descriptor {fd}: plugin images are inherited on Linux only"
    ))
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
                Call::PlanBatch { operation, items } => Answer::PlanBatch(
                    module
                        .plan_batch()
                        .ok_or_else(|| not_exported("plan_batch"))
                        .and_then(|f| {
                            f(operation.as_str().into(), items.as_slice().into()).into_result()
                        }),
                ),
                Call::InterpretBatch {
                    operation,
                    items,
                    response,
                } => Answer::InterpretBatch(
                    module
                        .interpret_batch()
                        .ok_or_else(|| not_exported("interpret_batch"))
                        .and_then(|f| {
                            f(
                                operation.as_str().into(),
                                items.as_slice().into(),
                                &response,
                            )
                            .into_result()
                        })
                        .map(Vec::from),
                ),
                Call::Resolve {
                    secret,
                    hint,
                    context,
                } => Answer::Resolve(match module.resolve() {
                    None => Ok(None),
                    Some(f) => f(secret.as_str().into(), hint.as_str().into(), &context)
                        .into_result()
                        .map(Option::from),
                }),
            },
        };
        write_message(&mut out, &answer)?;
    }
    Ok(())
}

/// The error for a call to a function an older plugin does not export (the
/// host asks only for those the plugin's details promise).
fn not_exported(function: &str) -> revoker_plugin_api::PluginError {
    revoker_plugin_api::PluginError::internal(format_args!(
        "the plugin does not export {function} (built against an earlier plugin API)"
    ))
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
