//! One JSON record, parsed alone, and its fields read with problems that name
//! the field, never its value.

use serde_json::{Map, Value};

use super::{FieldProblem, ProblemKind};

/// A record's JSON object.
#[derive(Clone, Copy)]
pub(crate) struct Record<'a>(pub(crate) &'a Map<String, Value>);

/// Parses one record's bytes (UTF-8 already checked or not) as a JSON object.
pub(crate) fn parse(bytes: &[u8]) -> Result<Map<String, Value>, ProblemKind> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(ProblemKind::NotUtf8);
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ProblemKind::NotAnObject {
            found: kind_of(&other),
        }),
        Err(e) => Err(invalid_json(&e)),
    }
}

/// The parser's error without any of the record's text: only a syntax or
/// end-of-input error's fixed words are kept (serde_json writes a value it
/// did not expect into a *data* error's message, which is never used).
fn invalid_json(e: &serde_json::Error) -> ProblemKind {
    let reason = if e.is_syntax() || e.is_eof() {
        let message = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        message
            .strip_suffix(&suffix)
            .unwrap_or("malformed")
            .to_owned()
    } else {
        "malformed".to_owned()
    };
    ProblemKind::InvalidJson {
        reason,
        line: e.line() as u64,
        column: e.column() as u64,
    }
}

pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong(field: &'static str, expected: &'static str) -> ProblemKind {
    ProblemKind::Field {
        field,
        problem: FieldProblem::WrongType { expected },
    }
}

impl<'a> Record<'a> {
    /// Whether the field is there (even `null`).
    pub(crate) fn has(self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// A string field; `None` when absent, `null` or empty.
    pub(crate) fn string(self, field: &'static str) -> Result<Option<&'a str>, ProblemKind> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong(field, "a string")),
        }
    }

    /// A string field that must be there and not empty.
    pub(crate) fn required_string(self, field: &'static str) -> Result<&'a str, ProblemKind> {
        match self.0.get(field) {
            None | Some(Value::Null) => Err(ProblemKind::Field {
                field,
                problem: FieldProblem::Missing,
            }),
            Some(Value::String(s)) if s.is_empty() => Err(ProblemKind::Field {
                field,
                problem: FieldProblem::Empty,
            }),
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(wrong(field, "a string")),
        }
    }

    /// A string field kept only when it is one: for location fields, which
    /// never decide what a finding is (a finding is not lost over them).
    pub(crate) fn lenient_string(self, field: &'static str) -> Option<String> {
        self.string(field).ok().flatten().map(str::to_owned)
    }

    /// A number field kept only when it is a whole number ≥ 0 (lines), or a
    /// string of one.
    pub(crate) fn lenient_uint(self, field: &'static str) -> Option<u64> {
        match self.0.get(field)? {
            Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 9.0e15)
                    .map(|f| f as u64)
            }),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// A boolean field; `None` when absent or `null`.
    pub(crate) fn bool(self, field: &'static str) -> Result<Option<bool>, ProblemKind> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(wrong(field, "true or false")),
        }
    }

    /// An object field; `None` when absent, `null` or not an object.
    pub(crate) fn lenient_object(self, field: &'static str) -> Option<Record<'a>> {
        match self.0.get(field)? {
            Value::Object(map) => Some(Record(map)),
            _ => None,
        }
    }
}
