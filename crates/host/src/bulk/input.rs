//! Reading a bulk input, one line at a time: JSONL or CSV, with bounded memory
//! however long the input or any one line is.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufRead};
use std::path::Path;
use std::str::FromStr;

use revoker_plugin_api::Params;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::model::{LineDigest, Request};

/// The longest line read; a longer one is an `invalid-request` item, skipped
/// without being held in memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The format of a bulk input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// One JSON object a line: `{"provider":…,"operation":…,"params":{…}}`.
    Jsonl,
    /// A header `provider,operation,<param>,…`, then one request a line; an
    /// empty cell is a parameter not given. One record per line (no newlines
    /// inside quoted fields).
    Csv,
}

impl InputFormat {
    /// The format a file's extension says: `.csv` is CSV, `.jsonl`, `.ndjson` and
    /// `.json` are JSONL.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" | "json" => Some(Self::Jsonl),
            _ => None,
        }
    }

    /// The format of an input whose first non-blank line is `line`: JSONL if it
    /// starts with `{`, else CSV.
    pub fn sniff(line: &str) -> Self {
        if line.trim_start().starts_with('{') {
            Self::Jsonl
        } else {
            Self::Csv
        }
    }
}

impl FromStr for InputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jsonl" => Ok(Self::Jsonl),
            "csv" => Ok(Self::Csv),
            other => Err(format!(
                "unknown input format {other:?} (expected jsonl or csv)"
            )),
        }
    }
}

/// One line of a bulk input, read and parsed.
#[derive(Debug, Clone)]
pub struct BulkItem {
    /// Its line number, from 1.
    pub line: u64,
    /// The digest of its bytes.
    pub digest: LineDigest,
    /// The request, or why the line is not one.
    pub request: Result<Request, String>,
}

/// One physical line.
enum RawLine {
    Text(String),
    TooLong(usize),
    NotUtf8,
}

/// UTF-8's byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads lines of at most [`MAX_LINE_BYTES`], skipping over longer ones.
struct LineReader<R> {
    input: R,
    line: u64,
    buffer: Vec<u8>,
    /// Whether lines are hashed (not needed to survey an input).
    digests: bool,
}

impl<R: BufRead> LineReader<R> {
    fn new(input: R) -> Self {
        Self {
            input,
            line: 0,
            buffer: Vec::new(),
            digests: true,
        }
    }

    /// The next line with its number and digest, without its line ending.
    fn next_line(&mut self) -> io::Result<Option<(u64, LineDigest, RawLine)>> {
        self.buffer.clear();
        let mut hasher = Sha256::new();
        let mut total = 0usize;
        let mut saw_any = false;
        loop {
            let available = match self.input.fill_buf() {
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
            if self.digests {
                hasher.update(chunk);
            }
            total += chunk.len();
            if total <= MAX_LINE_BYTES {
                self.buffer.extend_from_slice(chunk);
            }
            let consumed = chunk.len() + usize::from(done);
            self.input.consume(consumed);
            if done {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        self.line += 1;
        let mut first = [0; 8];
        first.copy_from_slice(&hasher.finalize()[..8]);
        let digest = LineDigest(u64::from_be_bytes(first));
        if total > MAX_LINE_BYTES {
            self.buffer = Vec::new();
            return Ok(Some((self.line, digest, RawLine::TooLong(total))));
        }
        if self.buffer.last() == Some(&b'\r') {
            self.buffer.pop();
        }
        // A byte-order mark (as some editors and exporters write) is not text.
        if self.line == 1 && self.buffer.starts_with(BOM) {
            self.buffer.drain(..BOM.len());
        }
        let raw = match String::from_utf8(std::mem::take(&mut self.buffer)) {
            Ok(text) => RawLine::Text(text),
            Err(_) => RawLine::NotUtf8,
        };
        Ok(Some((self.line, digest, raw)))
    }
}

/// A bulk line in JSONL.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLine {
    provider: String,
    operation: String,
    #[serde(default)]
    params: BTreeMap<String, serde_json::Value>,
}

/// The provider and operation of a line, without its params.
#[derive(Deserialize)]
struct JsonHead<'a> {
    #[serde(borrow)]
    provider: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    operation: std::borrow::Cow<'a, str>,
}

/// What [`read_heads`] read: the input back, and a CSV input's parameter
/// columns (the header after `provider,operation`).
pub(crate) struct Heads<R> {
    pub(crate) input: R,
    pub(crate) csv_params: Option<Vec<String>>,
}

/// Reads `input` once, cheaply, calling `f` with each item's provider and
/// operation (`None` for a line that is not a request): no digests, no params.
///
/// # Errors
///
/// If the input cannot be read or (CSV) its header is invalid.
pub(crate) fn read_heads<R: BufRead>(
    input: R,
    format: Option<InputFormat>,
    mut f: impl FnMut(Option<(&str, &str)>),
) -> io::Result<Heads<R>> {
    let mut lines = LineReader::new(input);
    lines.digests = false;
    let mut format = format;
    let mut csv_params = None;
    while let Some((line, _, raw)) = lines.next_line()? {
        let RawLine::Text(text) = raw else {
            f(None);
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        match *format.get_or_insert_with(|| InputFormat::sniff(&text)) {
            InputFormat::Jsonl => match serde_json::from_str::<JsonHead<'_>>(&text) {
                Ok(head) => f(Some((&head.provider, &head.operation))),
                Err(_) => f(None),
            },
            InputFormat::Csv if csv_params.is_none() => {
                let mut header = parse_csv_header(&text, line)?;
                csv_params = Some(header.split_off(2));
            }
            InputFormat::Csv => match csv_fields(&text) {
                Ok(fields) if fields.len() >= 2 => f(Some((fields[0].trim(), fields[1].trim()))),
                _ => f(None),
            },
        }
    }
    Ok(Heads {
        input: lines.input,
        csv_params,
    })
}

/// Streams the items of a bulk input. Blank lines are not items; every other
/// line is one, valid or not.
pub struct InputReader<R> {
    lines: LineReader<R>,
    format: Option<InputFormat>,
    csv_header: Option<Vec<String>>,
}

impl<R> fmt::Debug for InputReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputReader")
            .field("line", &self.lines.line)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> InputReader<R> {
    /// Reads `input` in `format`, or the format its first line suggests.
    pub fn new(input: R, format: Option<InputFormat>) -> Self {
        Self {
            lines: LineReader::new(input),
            format,
            csv_header: None,
        }
    }

    /// The reader this reads from.
    pub fn get_ref(&self) -> &R {
        &self.lines.input
    }

    /// The reader this reads from.
    pub fn into_inner(self) -> R {
        self.lines.input
    }

    /// The next item.
    ///
    /// # Errors
    ///
    /// If the input cannot be read, or a CSV input's header is invalid.
    pub fn next_item(&mut self) -> io::Result<Option<BulkItem>> {
        loop {
            let Some((line, digest, raw)) = self.lines.next_line()? else {
                return Ok(None);
            };
            let text = match raw {
                RawLine::Text(text) => text,
                RawLine::TooLong(len) => {
                    return Ok(Some(BulkItem {
                        line,
                        digest,
                        request: Err(format!(
                            "line is {len} bytes long, more than the {MAX_LINE_BYTES} allowed"
                        )),
                    }));
                }
                RawLine::NotUtf8 => {
                    return Ok(Some(BulkItem {
                        line,
                        digest,
                        request: Err("line is not valid UTF-8".to_owned()),
                    }));
                }
            };
            if text.trim().is_empty() {
                continue;
            }
            let format = *self.format.get_or_insert_with(|| InputFormat::sniff(&text));
            let request = match format {
                InputFormat::Jsonl => parse_json_line(&text),
                InputFormat::Csv => match &self.csv_header {
                    None => {
                        self.csv_header = Some(parse_csv_header(&text, line)?);
                        continue;
                    }
                    Some(header) => parse_csv_line(header, &text),
                },
            };
            return Ok(Some(BulkItem {
                line,
                digest,
                request,
            }));
        }
    }
}

impl<R: BufRead> Iterator for InputReader<R> {
    type Item = io::Result<BulkItem>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}

fn parse_json_line(text: &str) -> Result<Request, String> {
    let line: JsonLine =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON line: {e}"))?;
    let mut params = Params::new();
    for (name, value) in line.params {
        let value = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => return Err(format!("parameter {name:?} must be a string")),
        };
        params.insert(&name, &value);
    }
    Ok(Request::new(line.provider, line.operation, params))
}

/// Splits one CSV line into fields (RFC 4180 quoting).
fn csv_fields(text: &str) -> Result<Vec<String>, String> {
    // With its line ending, the record completes in one call.
    let input = format!("{text}\n");
    let mut output = vec![0; input.len()];
    let mut ends = vec![0; input.len()];
    let (result, _, _, fields) =
        csv_core::Reader::new().read_record(input.as_bytes(), &mut output, &mut ends);
    if !matches!(result, csv_core::ReadRecordResult::Record) {
        return Err("CSV line could not be split into fields".into());
    }
    let mut start = 0;
    ends[..fields]
        .iter()
        .map(|&end| {
            let field =
                std::str::from_utf8(&output[start..end]).map_err(|_| "CSV field is not UTF-8")?;
            start = end;
            Ok(field.to_owned())
        })
        .collect()
}

fn parse_csv_header(text: &str, line: u64) -> io::Result<Vec<String>> {
    let invalid = |message: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("line {line}: {message}"),
        )
    };
    let header = csv_fields(text).map_err(invalid)?;
    let header: Vec<String> = header.into_iter().map(|h| h.trim().to_owned()).collect();
    if header.len() < 2 || header[0] != "provider" || header[1] != "operation" {
        return Err(invalid(format!(
            "CSV header must start with provider,operation (got {:?})",
            text
        )));
    }
    if let Some(empty) = header.iter().position(String::is_empty) {
        return Err(invalid(format!(
            "CSV header column {} has no name",
            empty + 1
        )));
    }
    Ok(header)
}

fn parse_csv_line(header: &[String], text: &str) -> Result<Request, String> {
    let fields = csv_fields(text)?;
    if fields.len() != header.len() {
        return Err(format!(
            "CSV line has {} fields, the header has {}",
            fields.len(),
            header.len()
        ));
    }
    let params = Params::from_pairs(
        header[2..]
            .iter()
            .zip(&fields[2..])
            .filter(|(_, value)| !value.is_empty()),
    );
    Ok(Request::new(fields[0].trim(), fields[1].trim(), params))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str, format: Option<InputFormat>) -> Vec<BulkItem> {
        InputReader::new(text.as_bytes(), format)
            .collect::<io::Result<Vec<_>>>()
            .unwrap()
    }

    #[test]
    fn reads_jsonl_with_line_numbers_skipping_blank_lines() {
        let text = "{\"provider\":\"dolfin\",\"operation\":\"revoke-api-key\",\"params\":{\"id\":\"a\"}}\n\n  \r\n{\"provider\":\"pinata\",\"operation\":\"revoke-api-key\",\"params\":{\"api-key\":7}}\r\n";
        let items = items(text, None);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].line, 1);
        let request = items[0].request.as_ref().unwrap();
        assert_eq!(request.provider, "dolfin");
        assert_eq!(request.params.get("id"), Some("a"));
        assert_eq!(items[1].line, 4);
        assert_eq!(
            items[1].request.as_ref().unwrap().params.get("api-key"),
            Some("7")
        );
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_line() {
        for text in [
            "\u{feff}{\"provider\":\"dolfin\",\"operation\":\"revoke-api-key\",\"params\":{\"id\":\"a\"}}\n",
            "\u{feff}provider,operation,id\ndolfin,revoke-api-key,a\n",
        ] {
            let items = items(text, None);
            assert_eq!(items.len(), 1, "{text:?}");
            let request = items[0].request.as_ref().unwrap();
            assert_eq!(request.params.get("id"), Some("a"));
            let mut heads = Vec::new();
            read_heads(text.as_bytes(), None, |head| {
                heads.push(head.map(|(p, o)| format!("{p} {o}")));
            })
            .unwrap();
            assert_eq!(heads, [Some("dolfin revoke-api-key".to_owned())]);
        }
        // Only at the start of the input.
        let later = "{\"provider\":\"d\",\"operation\":\"o\"}\n\u{feff}{\"provider\":\"d\",\"operation\":\"o\"}\n";
        assert!(items(later, None)[1].request.is_err());
    }

    #[test]
    fn bad_json_lines_are_items_with_a_reason() {
        let text = "not json\n{\"provider\":\"x\"}\n{\"provider\":\"x\",\"operation\":\"y\",\"params\":{\"a\":[1]}}\n{\"provider\":\"x\",\"operation\":\"y\",\"extra\":1}\n";
        let items = items(text, Some(InputFormat::Jsonl));
        let errors: Vec<&str> = items
            .iter()
            .map(|i| i.request.as_ref().unwrap_err().as_str())
            .collect();
        assert!(errors[0].starts_with("invalid JSON line"), "{}", errors[0]);
        assert!(
            errors[1].contains("missing field `operation`"),
            "{}",
            errors[1]
        );
        assert_eq!(errors[2], "parameter \"a\" must be a string");
        assert!(errors[3].contains("unknown field `extra`"), "{}", errors[3]);
    }

    #[test]
    fn reads_csv_with_quotes_and_empty_cells() {
        let text = "provider,operation,id,gateway-id,key-id\ndolfin,revoke-api-key,\"5eb8,1\",,\npinata,revoke-gateway-key,,g1,\"k\"\"1\"\n";
        let items = items(text, Some(InputFormat::Csv));
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].line, 2);
        let first = items[0].request.as_ref().unwrap();
        assert_eq!(first.params, Params::from_pairs([("id", "5eb8,1")]));
        let second = items[1].request.as_ref().unwrap();
        assert_eq!(
            second.params,
            Params::from_pairs([("gateway-id", "g1"), ("key-id", "k\"1")])
        );
    }

    #[test]
    fn csv_lines_with_the_wrong_field_count_are_items_with_a_reason() {
        let items = items("provider,operation,id\ndolfin,revoke-api-key\n", None);
        assert_eq!(
            items[0].request.as_ref().unwrap_err(),
            "CSV line has 2 fields, the header has 3"
        );
    }

    #[test]
    fn a_bad_csv_header_is_an_error() {
        let err = InputReader::new("id,provider\nx,y\n".as_bytes(), Some(InputFormat::Csv))
            .next_item()
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("must start with provider,operation"),
            "{err}"
        );
    }

    #[test]
    fn a_huge_line_is_skipped_not_held() {
        let mut text = String::from("{\"provider\":\"a\",\"operation\":\"b\"}\n");
        text.push_str(&"x".repeat(MAX_LINE_BYTES * 3));
        text.push('\n');
        text.push_str("{\"provider\":\"c\",\"operation\":\"d\"}");
        let items = items(&text, None);
        assert_eq!(items.len(), 3);
        assert!(
            items[1]
                .request
                .as_ref()
                .unwrap_err()
                .contains("more than the 65536 allowed")
        );
        assert_eq!(items[2].request.as_ref().unwrap().provider, "c");
        assert_eq!(items[2].line, 3);
    }

    #[test]
    fn invalid_utf8_is_an_item_with_a_reason() {
        let items: Vec<BulkItem> = InputReader::new(&b"\xff\xfe\n"[..], None)
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(
            items[0].request.as_ref().unwrap_err(),
            "line is not valid UTF-8"
        );
    }

    #[test]
    fn digests_tell_lines_apart_and_round_trip() {
        let text =
            "{\"provider\":\"a\",\"operation\":\"b\"}\n{\"provider\":\"a\",\"operation\":\"c\"}\n";
        let items = items(text, None);
        assert_ne!(items[0].digest, items[1].digest);
        assert_eq!(
            items[0].digest,
            LineDigest::of(b"{\"provider\":\"a\",\"operation\":\"b\"}")
        );
        let shown = items[0].digest.to_string();
        assert_eq!(shown.len(), 16);
        assert_eq!(shown.parse::<LineDigest>().unwrap(), items[0].digest);
    }

    #[test]
    fn formats_from_extension_and_content() {
        assert_eq!(
            InputFormat::from_path(Path::new("a.CSV")),
            Some(InputFormat::Csv)
        );
        assert_eq!(
            InputFormat::from_path(Path::new("a.jsonl")),
            Some(InputFormat::Jsonl)
        );
        assert_eq!(InputFormat::from_path(Path::new("a.txt")), None);
        assert_eq!(InputFormat::sniff("  {\"a\":1}"), InputFormat::Jsonl);
        assert_eq!(InputFormat::sniff("provider,operation"), InputFormat::Csv);
    }
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any bytes: no panic, one item per non-blank line at most, lines in order.
        #[test]
        fn any_input_reads_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let lines = bytes.split(|&b| b == b'\n').count() as u64;
            for format in [None, Some(InputFormat::Jsonl), Some(InputFormat::Csv)] {
                let mut last = 0;
                for item in InputReader::new(bytes.as_slice(), format) {
                    let Ok(item) = item else { break };
                    prop_assert!(item.line > last && item.line <= lines);
                    last = item.line;
                }
            }
        }

        /// JSON-ish lines, the shapes a hostile file would try.
        #[test]
        fn json_lines_never_panic(
            provider in "\\PC{0,20}",
            operation in "\\PC{0,20}",
            key in "\\PC{0,10}",
            value in prop_oneof![
                "\\PC{0,30}".prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<bool>().prop_map(serde_json::Value::from),
                Just(serde_json::Value::Null),
                Just(serde_json::json!([1, {"a": 2}])),
            ],
        ) {
            let line = serde_json::json!({"provider": provider, "operation": operation, "params": {key: value}});
            let text = format!("{line}\n");
            let items: Vec<_> = InputReader::new(text.as_bytes(), None).collect();
            prop_assert_eq!(items.len(), 1);
        }

        /// CSV after a valid header.
        #[test]
        fn csv_lines_never_panic(rows in proptest::collection::vec("\\PC{0,60}", 0..20)) {
            let text = format!("provider,operation,id\n{}\n", rows.join("\n"));
            let count = InputReader::new(text.as_bytes(), Some(InputFormat::Csv))
                .collect::<io::Result<Vec<_>>>()
                .unwrap()
                .len();
            prop_assert!(count <= rows.len());
        }
    }
}
