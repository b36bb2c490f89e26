//! A report read a line at a time, each line held up to a limit.

use std::io::{self, BufRead};

/// One line, without its `\n` or `\r\n`.
pub(crate) enum Line<'a> {
    /// Its bytes.
    Text(&'a [u8]),
    /// Longer than the limit: its length; its bytes were not kept.
    TooLong(u64),
}

/// Reads lines of at most `limit` bytes, skipping over longer ones.
pub(crate) struct Lines {
    /// The number of the last line read (lines before the first were
    /// consumed by detection: see [`Lines::new`]).
    pub(crate) number: u64,
    buffer: Vec<u8>,
    limit: usize,
}

impl Lines {
    /// Lines counted from `first` (the line the input is at).
    pub(crate) fn new(first: u64, limit: usize) -> Self {
        Self {
            number: first.saturating_sub(1),
            buffer: Vec::new(),
            limit,
        }
    }

    /// The bytes held.
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.buffer.capacity()
    }

    /// The next line with its number.
    pub(crate) fn next<'a, R: BufRead>(
        &'a mut self,
        input: &mut R,
    ) -> io::Result<Option<(u64, Line<'a>)>> {
        self.buffer.clear();
        let mut total = 0u64;
        let mut saw_any = false;
        let mut last = None;
        loop {
            let available = match input.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            saw_any = true;
            let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
                Some(end) => (&available[..end], true),
                None => (available, false),
            };
            total += chunk.len() as u64;
            if let Some(&b) = chunk.last() {
                last = Some(b);
            }
            push_bounded(&mut self.buffer, chunk, self.limit);
            let consumed = chunk.len() + usize::from(done);
            input.consume(consumed);
            if done {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        self.number += 1;
        if last == Some(b'\r') {
            total -= 1;
            if self.buffer.len() as u64 > total {
                self.buffer.pop();
            }
        }
        if total > self.limit as u64 {
            self.buffer = Vec::new();
            return Ok(Some((self.number, Line::TooLong(total))));
        }
        Ok(Some((self.number, Line::Text(&self.buffer))))
    }
}

/// Appends as much of `chunk` as fits under `limit` (plus one byte, so that a
/// record one byte over is seen as over), growing `buffer` no further.
pub(crate) fn push_bounded(buffer: &mut Vec<u8>, chunk: &[u8], limit: usize) {
    let room = (limit + 1).saturating_sub(buffer.len());
    let take = chunk.len().min(room);
    if take == 0 {
        return;
    }
    let wanted = buffer.len() + take;
    if wanted > buffer.capacity() {
        let target = wanted.next_power_of_two().min(limit + 1).max(wanted);
        buffer.reserve_exact(target - buffer.len());
    }
    buffer.extend_from_slice(&chunk[..take]);
}
