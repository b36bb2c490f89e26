//! The messages between the host and an isolated plugin's process: each a
//! 4-byte little-endian length and a JSON body. Types and framing only, no
//! process handling.

use std::io::{self, Read, Write};

use revoker_plugin_api::{HttpRequest, HttpResponse, Outcome, Params, PluginError, Resolution};
use serde::{Deserialize, Serialize};

use crate::plugin::in_process::ModuleRefusal;
use crate::plugin::info::PluginInfo;

/// The largest message accepted from either side.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// A call to the plugin.
#[derive(Serialize, Deserialize)]
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
    PlanBatch {
        operation: String,
        items: Vec<Params>,
    },
    InterpretBatch {
        operation: String,
        items: Vec<Params>,
        response: HttpResponse,
    },
    /// A secret a scanner found: the child's pipe is the only place it goes.
    Resolve {
        secret: String,
        hint: String,
        context: Params,
    },
}

/// The call's name only: parameters and secrets stay out of every log.
impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Describe => "Describe",
            Self::Plan { .. } => "Plan",
            Self::Interpret { .. } => "Interpret",
            Self::PlanBatch { .. } => "PlanBatch",
            Self::InterpretBatch { .. } => "InterpretBatch",
            Self::Resolve { .. } => "Resolve",
        })
    }
}

/// The plugin's answer.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Answer {
    Describe(Box<PluginInfo>),
    Plan(Result<HttpRequest, PluginError>),
    Interpret(Result<Outcome, PluginError>),
    PlanBatch(Result<HttpRequest, PluginError>),
    InterpretBatch(Result<Vec<Outcome>, PluginError>),
    Resolve(Result<Option<Resolution>, PluginError>),
    /// The child could not load the plugin.
    LoadFailed(ModuleRefusal),
}

pub(super) fn write_message(out: &mut impl Write, message: &impl Serialize) -> io::Result<()> {
    let body = serde_json::to_vec(message).map_err(io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(|_| io::Error::other("message too large"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&body)?;
    out.flush()
}

pub(super) fn read_message(input: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
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
