//! The HTTP request a plugin plans and the response it interprets.

use std::fmt::{self, Write as _};

use abi_stable::StableAbi;
use abi_stable::std_types::{ROption, RString, RVec};

/// An HTTP method.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method's name, e.g. `DELETE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One HTTP header.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Header {
    /// The header's name, in any case.
    pub name: RString,
    /// Its value.
    pub value: RString,
}

/// The request a plugin plans: the host adds the base URL and the credential.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[must_use]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The path relative to the provider's base URL: starts with `/`, segments
    /// percent-encoded (see [`encode_path_segment`]), may carry a `?query`.
    pub path: RString,
    /// Headers besides the credential, e.g. `Content-Type`.
    pub headers: RVec<Header>,
    /// The body, if the endpoint takes one.
    pub body: ROption<RVec<u8>>,
}

impl HttpRequest {
    /// A request with no headers and no body.
    pub fn new(method: Method, path: impl Into<RString>) -> Self {
        Self {
            method,
            path: path.into(),
            headers: RVec::new(),
            body: ROption::RNone,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push(Header {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    pub fn json_body(self, json: impl Into<String>) -> Self {
        let mut request = self.header("Content-Type", "application/json");
        request.body = ROption::RSome(json.into().into_bytes().into());
        request
    }

    /// The body as text, if there is one and it is UTF-8.
    pub fn body_text(&self) -> Option<&str> {
        self.body
            .as_ref()
            .into_option()
            .and_then(|body| std::str::from_utf8(body).ok())
    }
}

/// The response the host received, handed to the plugin to interpret.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers, in the order received.
    pub headers: RVec<Header>,
    /// The body, possibly cut off by the host at its size limit.
    pub body: RVec<u8>,
}

impl HttpResponse {
    /// A response with `status`, no headers and `body`.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: RVec::new(),
            body: body.into().into(),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push(Header {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// The first value of header `name`, compared without regard to case.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The media type of the body without parameters, lowercased, e.g.
    /// `application/problem+json`.
    pub fn media_type(&self) -> Option<String> {
        self.header_value("content-type").map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// The body as text, replacing invalid UTF-8.
    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The start of the body as one line of text, for an outcome's detail when the
    /// body is not in a shape the plugin knows: at most 200 characters, invalid
    /// UTF-8 and control characters replaced, `…` where it was cut.
    pub fn body_snippet(&self) -> String {
        const MAX_CHARS: usize = 200;
        let text = self.body_text();
        let text = text.trim();
        let mut snippet: String = text
            .chars()
            .take(MAX_CHARS)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if text.chars().nth(MAX_CHARS).is_some() {
            snippet.push('…');
        }
        snippet
    }
}

/// Percent-encodes `segment` for use as one path segment: every byte but the
/// unreserved characters of RFC 3986 (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`, so a
/// value can never add a `/`, `?`, `#` or `..` segment to the path.
pub fn encode_path_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(byte as char);
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    // A segment of only dots would still be a relative segment: encode the dots.
    if !encoded.is_empty() && encoded.bytes().all(|b| b == b'.') {
        return encoded.replace('.', "%2E");
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(encode_path_segment("abc-1.2_3~"), "abc-1.2_3~");
        assert_eq!(encode_path_segment("a/b?c#d"), "a%2Fb%3Fc%23d");
        assert_eq!(encode_path_segment("k y%"), "k%20y%25");
        assert_eq!(encode_path_segment("é"), "%C3%A9");
    }

    #[test]
    fn dot_segments_cannot_climb() {
        assert_eq!(encode_path_segment(".."), "%2E%2E");
        assert_eq!(encode_path_segment("."), "%2E");
        assert_eq!(encode_path_segment("..a"), "..a");
    }

    #[test]
    fn json_body_sets_content_type() {
        let request = HttpRequest::new(Method::Put, "/x").json_body(r#"{"a":1}"#);
        assert_eq!(request.headers[0].name, "Content-Type");
        assert_eq!(request.headers[0].value, "application/json");
        assert_eq!(request.body_text(), Some(r#"{"a":1}"#));
    }

    #[test]
    fn body_snippet_is_one_bounded_line() {
        let response = HttpResponse::new(500, b"  oops\n\xff line two \r\n".to_vec());
        assert_eq!(response.body_snippet(), "oops \u{fffd} line two");
        let long = HttpResponse::new(500, "x".repeat(1000));
        assert_eq!(long.body_snippet().chars().count(), 201);
        assert!(long.body_snippet().ends_with('…'));
    }

    #[test]
    fn header_lookup_ignores_case_and_media_type_drops_parameters() {
        let response = HttpResponse::new(404, "")
            .header("Content-Type", "Application/Problem+JSON; charset=utf-8");
        assert_eq!(
            response.header_value("content-type"),
            Some("Application/Problem+JSON; charset=utf-8")
        );
        assert_eq!(
            response.media_type().as_deref(),
            Some("application/problem+json")
        );
    }
}
