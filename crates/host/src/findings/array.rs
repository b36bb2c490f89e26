//! A JSON array split into its elements as bytes arrive, each element held up
//! to a limit, so that a report of any size is read in one element's memory.
//!
//! The splitter is a plain state machine fed chunks ([`Splitter::feed`]): it
//! tracks strings, escapes and nesting depth, and does not parse the
//! elements (each is parsed alone afterwards, see `record`). Consecutive
//! top-level arrays (`[…][…]`, as some tools write pages) are read as one.

use super::lines::push_bounded;
use super::{Position, ProblemKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the opening `[`.
    BeforeArray,
    /// After `[` (`first`) or after `,`.
    BeforeElement { first: bool },
    /// Inside an element.
    InElement,
    /// After an element, before `,` or `]`.
    AfterElement,
    /// After the closing `]`.
    AfterArray,
    /// Stopped at a final problem.
    Stopped,
}

/// The element being read.
#[derive(Debug, Clone, Copy, Default)]
struct Element {
    depth: u64,
    in_string: bool,
    escaped: bool,
    /// A bare scalar (`12`, `true`): it ends before a delimiter.
    scalar: bool,
    len: u64,
    start: Option<Position>,
}

/// What one call to [`Splitter::feed`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// An element is complete: its bytes are [`Splitter::element`] unless it
    /// is longer than the limit.
    Element {
        /// Where it starts.
        at: Position,
        /// Its length.
        len: u64,
    },
    /// The array is broken here; nothing more is read.
    Stop(Position, ProblemKind),
}

/// Splits a JSON array's bytes into elements.
#[derive(Debug)]
pub(crate) struct Splitter {
    state: State,
    element: Element,
    buffer: Vec<u8>,
    limit: usize,
    index: u64,
    line: u64,
    byte: u64,
}

impl Splitter {
    /// A splitter for an input at `line` (from 1) and `byte` (from 0).
    pub(crate) fn new(line: u64, byte: u64, limit: usize) -> Self {
        Self {
            state: State::BeforeArray,
            element: Element::default(),
            buffer: Vec::new(),
            limit,
            index: 0,
            line,
            byte,
        }
    }

    /// The bytes held.
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.buffer.capacity()
    }

    /// The last complete element's bytes (after an [`Event::Element`] no
    /// longer than the limit).
    pub(crate) fn element(&self) -> &[u8] {
        &self.buffer
    }

    /// Where the splitter is in the input.
    pub(crate) fn position(&self) -> Position {
        self.here()
    }

    fn here(&self) -> Position {
        Position::Byte {
            line: self.line,
            byte: self.byte,
        }
    }

    fn stop(&mut self, kind: ProblemKind) -> Event {
        self.state = State::Stopped;
        self.buffer = Vec::new();
        Event::Stop(self.here(), kind)
    }

    /// Reads from `chunk` up to the next event: returns how many bytes were
    /// used, and the event if there was one (none: the chunk is used up).
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> (usize, Option<Event>) {
        let mut i = 0;
        // Where the current element's bytes start in this chunk.
        let mut span = (self.state == State::InElement).then_some(0);
        while i < chunk.len() {
            let b = chunk[i];
            match self.state {
                State::Stopped => return (chunk.len(), None),
                State::BeforeArray => match b {
                    b' ' | b'\t' | b'\r' | b'\n' => {}
                    b'[' => self.state = State::BeforeElement { first: true },
                    _ => {
                        return (
                            i,
                            Some(self.stop(ProblemKind::Malformed { expected: "`[`" })),
                        );
                    }
                },
                State::BeforeElement { first } => match b {
                    b' ' | b'\t' | b'\r' | b'\n' => {}
                    b']' if first => self.state = State::AfterArray,
                    b']' | b',' | b'}' | b':' => {
                        let expected = if first {
                            "an element or `]`"
                        } else {
                            "an element after `,`"
                        };
                        return (i, Some(self.stop(ProblemKind::Malformed { expected })));
                    }
                    _ => {
                        self.index += 1;
                        self.element = Element {
                            depth: u64::from(matches!(b, b'{' | b'[')),
                            in_string: b == b'"',
                            scalar: !matches!(b, b'{' | b'[' | b'"'),
                            start: Some(Position::Element {
                                index: self.index,
                                line: self.line,
                                byte: self.byte,
                            }),
                            ..Element::default()
                        };
                        self.buffer.clear();
                        self.state = State::InElement;
                        span = Some(i);
                        if self.element.scalar {
                            // The scalar's first byte is read below.
                            continue;
                        }
                        self.element.len = 1;
                    }
                },
                State::InElement => {
                    let e = &mut self.element;
                    if e.scalar {
                        if matches!(
                            b,
                            b',' | b']' | b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'}' | b'[' | b'"'
                        ) {
                            // Ends before the delimiter, which is not consumed.
                            let event = self.complete(chunk, span, i);
                            return (i, Some(event));
                        }
                        e.len += 1;
                    } else {
                        e.len += 1;
                        if e.in_string {
                            if e.escaped {
                                e.escaped = false;
                            } else if b == b'\\' {
                                e.escaped = true;
                            } else if b == b'"' {
                                e.in_string = false;
                                if e.depth == 0 {
                                    self.advance(b);
                                    let event = self.complete(chunk, span, i + 1);
                                    return (i + 1, Some(event));
                                }
                            }
                        } else {
                            match b {
                                b'"' => e.in_string = true,
                                b'{' | b'[' => e.depth += 1,
                                b'}' | b']' => {
                                    e.depth -= 1;
                                    if e.depth == 0 {
                                        self.advance(b);
                                        let event = self.complete(chunk, span, i + 1);
                                        return (i + 1, Some(event));
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                }
                State::AfterElement => match b {
                    b' ' | b'\t' | b'\r' | b'\n' => {}
                    b',' => self.state = State::BeforeElement { first: false },
                    b']' => self.state = State::AfterArray,
                    _ => {
                        let expected = "`,` or `]` after an element";
                        return (i, Some(self.stop(ProblemKind::Malformed { expected })));
                    }
                },
                State::AfterArray => match b {
                    b' ' | b'\t' | b'\r' | b'\n' => {}
                    b'[' => self.state = State::BeforeElement { first: true },
                    _ => return (i, Some(self.stop(ProblemKind::TrailingData))),
                },
            }
            self.advance(b);
            i += 1;
        }
        if let Some(start) = span {
            push_bounded(&mut self.buffer, &chunk[start..], self.limit);
        }
        (chunk.len(), None)
    }

    fn advance(&mut self, b: u8) {
        self.byte += 1;
        if b == b'\n' {
            self.line += 1;
        }
    }

    /// The element ends at `end` in `chunk` (its bytes in this chunk start at
    /// `span`).
    fn complete(&mut self, chunk: &[u8], span: Option<usize>, end: usize) -> Event {
        if let Some(start) = span {
            push_bounded(&mut self.buffer, &chunk[start..end], self.limit);
        }
        self.state = State::AfterElement;
        let len = self.element.len;
        if len > self.limit as u64 {
            self.buffer = Vec::new();
        }
        let at = self.element.start.unwrap_or_else(|| self.here());
        Event::Element { at, len }
    }

    /// The input has ended: the final problem, if it ended where it may not.
    pub(crate) fn finish(&mut self) -> Option<Event> {
        match self.state {
            State::AfterArray | State::Stopped => None,
            State::BeforeArray => Some(self.stop(ProblemKind::Malformed { expected: "`[`" })),
            _ => Some(self.stop(ProblemKind::Truncated)),
        }
    }
}
