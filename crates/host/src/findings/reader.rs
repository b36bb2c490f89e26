//! The streaming reader: a report's bytes in, findings and problems out, one
//! record at a time.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

use super::array::{Event, Splitter};
use super::detect::{Framing, classify};
use super::lines::{Line, Lines};
use super::record::{self, Record};
use super::{
    Finding, Format, MAX_RECORD_BYTES, Position, Problem, ProblemKind, github, gitleaks, plain,
    trufflehog,
};

/// UTF-8's byte-order mark.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Reads a scanner's report, yielding each record's [`Finding`], or the
/// [`Problem`] that keeps it from being one, in the report's order.
///
/// Memory stays flat whatever the report's size: one record of at most
/// [`MAX_RECORD_BYTES`] (or [`FindingsReader::max_record_bytes`]) is held at
/// a time ([`FindingsReader::buffered_bytes`]), besides what the input
/// buffers. A record that is not a finding is a problem and reading goes on;
/// after a [final](Problem::is_final) problem the reader yields nothing more.
///
/// ```
/// use revoker_host::findings::{Format, FindingsReader, Position};
///
/// let report = "sk-lw-0123456789abcdef\n\n# rotated already\n\u{0}\u{ff}\n";
/// let items: Vec<_> = FindingsReader::new(report.as_bytes(), None).collect();
/// assert_eq!(items.len(), 2);
/// assert_eq!(items[0].as_ref().unwrap().location.at, Position::Line(1));
/// assert_eq!(items[1].as_ref().unwrap().location.at, Position::Line(4));
/// ```
pub struct FindingsReader<R> {
    input: Prefixed<R>,
    given: Option<Format>,
    format: Option<Format>,
    limit: usize,
    stage: Stage,
}

enum Stage {
    /// Nothing read yet: the format and framing are not decided.
    Start,
    Lines {
        lines: Lines,
        plain: bool,
    },
    Array(Splitter),
    Done,
}

impl<R> fmt::Debug for FindingsReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match &self.stage {
            Stage::Start => "start",
            Stage::Lines { plain: true, .. } => "plain lines",
            Stage::Lines { plain: false, .. } => "JSON lines",
            Stage::Array(_) => "JSON array",
            Stage::Done => "done",
        };
        f.debug_struct("FindingsReader")
            .field("format", &self.format)
            .field("stage", &stage)
            .field("max_record_bytes", &self.limit)
            .finish_non_exhaustive()
    }
}

impl<R: Read> FindingsReader<BufReader<R>> {
    /// Reads `input` (a file, a pipe) through a buffer, as `format` or as the
    /// format its content shows.
    pub fn from_read(input: R, format: Option<Format>) -> Self {
        Self::new(BufReader::new(input), format)
    }
}

impl<R: BufRead> FindingsReader<R> {
    /// Reads `input` as `format`, or as the format its content shows (see
    /// [`detect`](super::detect)).
    pub fn new(input: R, format: Option<Format>) -> Self {
        Self {
            input: Prefixed {
                head: Vec::new(),
                pos: 0,
                inner: input,
            },
            given: format,
            format,
            limit: MAX_RECORD_BYTES,
            stage: Stage::Start,
        }
    }

    /// Sets the longest record read (before the first item is read).
    #[must_use]
    pub fn max_record_bytes(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The report's format: the one given, or once detected (after the first
    /// record of a JSON report, the first line of plain text).
    pub fn format(&self) -> Option<Format> {
        self.format
    }

    /// The bytes the reader holds now, besides the input's own buffer: at
    /// most the record limit and a few bytes.
    pub fn buffered_bytes(&self) -> usize {
        self.input.head.capacity()
            + match &self.stage {
                Stage::Lines { lines, .. } => lines.buffered_bytes(),
                Stage::Array(splitter) => splitter.buffered_bytes(),
                Stage::Start | Stage::Done => 0,
            }
    }

    /// The input, as far as it was read.
    pub fn into_inner(self) -> R {
        self.input.inner
    }

    /// The next finding or problem; `None` at the end.
    pub fn next_item(&mut self) -> Option<Result<Finding, Problem>> {
        loop {
            match &mut self.stage {
                Stage::Done => return None,
                Stage::Start => {
                    let (first, line, byte) = match self.prelude() {
                        Ok(Some(start)) => start,
                        Ok(None) => {
                            self.stage = Stage::Done;
                            return None;
                        }
                        Err(e) => {
                            self.stage = Stage::Done;
                            let at = Position::Byte { line: 1, byte: 0 };
                            return Some(Err(Problem::new(
                                at,
                                ProblemKind::Read { kind: e.kind() },
                            )));
                        }
                    };
                    self.stage = match Framing::of(first, self.given) {
                        Framing::PlainLines => {
                            self.format = Some(Format::Plain);
                            Stage::Lines {
                                lines: Lines::new(line, self.limit),
                                plain: true,
                            }
                        }
                        Framing::JsonLines => Stage::Lines {
                            lines: Lines::new(line, self.limit),
                            plain: false,
                        },
                        Framing::Array => Stage::Array(Splitter::new(line, byte, self.limit)),
                    };
                }
                Stage::Lines { lines, plain } => {
                    let plain = *plain;
                    let next = match lines.next(&mut self.input) {
                        Ok(next) => next,
                        Err(e) => {
                            let at = Position::Line(lines.number + 1);
                            self.stage = Stage::Done;
                            return Some(Err(Problem::new(
                                at,
                                ProblemKind::Read { kind: e.kind() },
                            )));
                        }
                    };
                    let Some((number, line)) = next else {
                        self.stage = Stage::Done;
                        return None;
                    };
                    let at = Position::Line(number);
                    let bytes = match line {
                        Line::TooLong(bytes) => {
                            let limit = self.limit as u64;
                            return Some(Err(Problem::new(
                                at,
                                ProblemKind::TooLarge { bytes, limit },
                            )));
                        }
                        Line::Text(bytes) => bytes,
                    };
                    if plain {
                        match plain::read(bytes, at) {
                            None => continue,
                            Some(item) => return Some(item.map_err(|kind| Problem::new(at, kind))),
                        }
                    }
                    if bytes.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Some(decode(&mut self.format, bytes, at));
                }
                Stage::Array(splitter) => {
                    let chunk = match self.input.fill_buf() {
                        Ok(chunk) => chunk,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            let at = splitter.position();
                            self.stage = Stage::Done;
                            return Some(Err(Problem::new(
                                at,
                                ProblemKind::Read { kind: e.kind() },
                            )));
                        }
                    };
                    let event = if chunk.is_empty() {
                        let event = splitter.finish();
                        if event.is_none() {
                            self.stage = Stage::Done;
                            return None;
                        }
                        event
                    } else {
                        let (used, event) = splitter.feed(chunk);
                        self.input.consume(used);
                        event
                    };
                    match event {
                        None => continue,
                        Some(Event::Stop(at, kind)) => {
                            self.stage = Stage::Done;
                            return Some(Err(Problem::new(at, kind)));
                        }
                        Some(Event::Element { at, len }) if len > self.limit as u64 => {
                            let limit = self.limit as u64;
                            let kind = ProblemKind::TooLarge { bytes: len, limit };
                            return Some(Err(Problem::new(at, kind)));
                        }
                        Some(Event::Element { at, .. }) => {
                            return Some(decode(&mut self.format, splitter.element(), at));
                        }
                    }
                }
            }
        }
    }

    /// Skips a byte-order mark and white space: the first significant byte
    /// (not consumed) and the line and byte offset it is at; `None` for a
    /// blank report.
    fn prelude(&mut self) -> io::Result<Option<(u8, u64, u64)>> {
        let mut bom = 0;
        while bom < BOM.len() {
            match self.input.fill_buf() {
                Ok([]) => break,
                Ok([b, ..]) if *b == BOM[bom] => {
                    self.input.consume(1);
                    bom += 1;
                }
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if bom < BOM.len() {
            // Not a byte-order mark after all: its first bytes are content.
            self.input.head = BOM[..bom].to_vec();
        }
        let (mut line, mut byte) = (1, if bom == BOM.len() { 3 } else { 0 });
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok(None);
            }
            let blank = chunk
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                .count();
            line += chunk[..blank].iter().filter(|&&b| b == b'\n').count() as u64;
            byte += blank as u64;
            if blank < chunk.len() {
                let first = chunk[blank];
                self.input.consume(blank);
                return Ok(Some((first, line, byte)));
            }
            self.input.consume(blank);
        }
    }
}

/// Reads one JSON record as the report's format, deciding the format from it
/// if not yet known.
fn decode(format: &mut Option<Format>, bytes: &[u8], at: Position) -> Result<Finding, Problem> {
    let problem = |kind| Problem::new(at, kind);
    let map = record::parse(bytes).map_err(problem)?;
    let record = Record(&map);
    let format = match *format {
        Some(known) => known,
        None => {
            let found = classify(record).map_err(problem)?;
            *format = Some(found);
            found
        }
    };
    match format {
        Format::TruffleHog => trufflehog::read(record, at),
        Format::Gitleaks => gitleaks::read(record, at),
        Format::GitHub => github::read(record, at),
        // Plain text is read by lines, never as JSON.
        Format::Plain => Err(ProblemKind::UnknownShape),
    }
    .map_err(problem)
}

impl<R: BufRead> Iterator for FindingsReader<R> {
    type Item = Result<Finding, Problem>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_item()
    }
}

/// `inner`, after a few bytes read ahead of it (`head`).
struct Prefixed<R> {
    head: Vec<u8>,
    pos: usize,
    inner: R,
}

impl<R: BufRead> Read for Prefixed<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(out.len());
            out[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Prefixed<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos < self.head.len() {
            return Ok(&self.head[self.pos..]);
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if self.pos < self.head.len() {
            self.pos = (self.pos + amount).min(self.head.len());
            if self.pos == self.head.len() {
                self.head = Vec::new();
                self.pos = 0;
            }
        } else {
            self.inner.consume(amount);
        }
    }
}
