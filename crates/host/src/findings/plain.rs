//! Plain text: one secret a line.
//!
//! Each line is trimmed of white space (a `\r\n` ending included); blank
//! lines and lines starting with `#` are skipped. Every other line is one
//! secret, with no type hint and no location but its line (a `#` after the
//! start of a line is part of the secret).
//! [`Verdict::NotChecked`](super::Verdict::NotChecked).

use super::{Draft, Finding, Position, ProblemKind};

/// Reads one line: `None` for a blank or comment line.
pub(crate) fn read(line: &[u8], at: Position) -> Option<Result<Finding, ProblemKind>> {
    let Ok(text) = std::str::from_utf8(line) else {
        return Some(Err(ProblemKind::NotUtf8));
    };
    let secret = text.trim();
    if secret.is_empty() || secret.starts_with('#') {
        return None;
    }
    Some(Ok(Draft::new(secret.to_owned(), at).finish()))
}
