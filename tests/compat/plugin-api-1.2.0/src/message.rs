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
        self.raw_body("application/json", json.into().into_bytes())
    }

    /// Appends `name=value` pairs to the path's query, each form-encoded
    /// (`application/x-www-form-urlencoded`, as browsers and most APIs read a
    /// query), after any query the path already has.
    pub fn query<'p>(mut self, pairs: impl IntoIterator<Item = (&'p str, &'p str)>) -> Self {
        let encoded = form_encode(pairs);
        if !encoded.is_empty() {
            let sep = if self.path.contains('?') { '&' } else { '?' };
            self.path.push(sep);
            self.path.push_str(&encoded);
        }
        self
    }

    /// Sets a form body (`application/x-www-form-urlencoded`) of `name=value`
    /// pairs, each encoded, and its `Content-Type`.
    pub fn form_body<'p>(self, pairs: impl IntoIterator<Item = (&'p str, &'p str)>) -> Self {
        self.raw_body(
            "application/x-www-form-urlencoded; charset=utf-8",
            form_encode(pairs).into_bytes(),
        )
    }

    /// Sets `body` as it is, with `content_type` (e.g. `application/xml`).
    pub fn raw_body(self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        let mut request = self.header("Content-Type", content_type);
        request.body = ROption::RSome(body.into().into());
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

    /// What an outcome's detail says of a failed request: `text`, the
    /// provider's own error text as the plugin found it in the body (e.g. a
    /// JSON `error` field); else, unless the body is empty, the body's
    /// [snippet](HttpResponse::body_snippet); else `None`.
    ///
    /// ```
    /// # use revoker_plugin_api::HttpResponse;
    /// let response = HttpResponse::new(500, "<html>oops</html>");
    /// assert_eq!(response.error_detail(Some("quota exceeded".into())).as_deref(), Some("quota exceeded"));
    /// assert_eq!(response.error_detail(None).as_deref(), Some("<html>oops</html>"));
    /// assert_eq!(HttpResponse::new(500, "").error_detail(None), None);
    /// ```
    pub fn error_detail(&self, text: Option<String>) -> Option<String> {
        match text {
            Some(text) => Some(text),
            None if self.body.is_empty() => None,
            None => Some(self.body_snippet()),
        }
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

/// `first: second`, or whichever of the two is there: the shape of most
/// providers' error text (a code and a message, a title and a detail).
///
/// ```
/// # use revoker_plugin_api::join_detail;
/// assert_eq!(join_detail(Some("ApiKey.NotFound"), Some("no such key")).as_deref(), Some("ApiKey.NotFound: no such key"));
/// assert_eq!(join_detail(None, Some("no such key")).as_deref(), Some("no such key"));
/// assert_eq!(join_detail::<&str>(None, None), None);
/// ```
pub fn join_detail<S: Into<String>>(first: Option<S>, second: Option<S>) -> Option<String> {
    match (first, second) {
        (Some(first), Some(second)) => {
            let mut text = first.into();
            text.push_str(": ");
            text.push_str(&second.into());
            Some(text)
        }
        (Some(text), None) | (None, Some(text)) => Some(text.into()),
        (None, None) => None,
    }
}

/// A path with each `{}` filled by one argument percent-encoded as one path
/// segment ([`encode_path_segment`]), so that no value can add a `/`, `?`, `#`
/// or `..` segment to it.
///
/// The template must start with `/` and may hold only `{}` placeholders (and
/// `{{`, `}}` for braces): a named or formatted placeholder such as `{id}`
/// would skip the encoding, so it does not compile.
///
/// ```
/// # use revoker_plugin_api::path;
/// let (gateway, key) = ("g/1", "..");
/// assert_eq!(
///     path!("/v3/gateways/{}/access_tokens/{}", gateway, key),
///     "/v3/gateways/g%2F1/access_tokens/%2E%2E"
/// );
/// ```
///
/// ```compile_fail,E0080
/// # use revoker_plugin_api::path;
/// let id = "a/b";
/// let path = path!("/v1/keys/{id}"); // not encoded: refused
/// ```
#[macro_export]
macro_rules! path {
    ($template:literal $(, $segment:expr)* $(,)?) => {{
        const _: () = $crate::__private::check_path_template($template);
        ::std::format!($template $(, $crate::encode_path_segment(&$segment))*)
    }};
}

/// Panics (at compile time, in [`path!`]) unless `template` starts with `/`
/// and holds no placeholder but `{}`.
#[doc(hidden)]
pub const fn check_path_template(template: &str) {
    let bytes = template.as_bytes();
    if bytes.is_empty() || bytes[0] != b'/' {
        panic!("path! needs a template that starts with `/`");
    }
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if i + 1 < bytes.len() && (bytes[i + 1] == b'}' || bytes[i + 1] == b'{') => i += 2,
            b'}' if i + 1 < bytes.len() && bytes[i + 1] == b'}' => i += 2,
            b'{' | b'}' => panic!(
                "path! takes only `{{}}` placeholders, each filled with one encoded segment \
                 (a named or formatted placeholder would not be encoded)"
            ),
            _ => i += 1,
        }
    }
}

/// `name=value` pairs joined with `&`, each name and value encoded as
/// `application/x-www-form-urlencoded` does: unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`, and `*`) as they are, space as `+`, every other
/// byte `%XX`.
pub fn form_encode<'p>(pairs: impl IntoIterator<Item = (&'p str, &'p str)>) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        form_encode_into(&mut out, name);
        out.push('=');
        form_encode_into(&mut out, value);
    }
    out
}

fn form_encode_into(out: &mut String, text: &str) {
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'*' => {
                out.push(byte as char);
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
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
    fn query_and_form_bodies_are_encoded() {
        let request = HttpRequest::new(Method::Get, "/keys")
            .query([("id", "a b&c=d"), ("é", "/")])
            .query([("page", "2")]);
        assert_eq!(
            request.path.as_str(),
            "/keys?id=a+b%26c%3Dd&%C3%A9=%2F&page=2"
        );
        let request = HttpRequest::new(Method::Post, "/")
            .form_body([("Action", "UpdateAccessKey"), ("Status", "In active")]);
        assert_eq!(
            request.body_text(),
            Some("Action=UpdateAccessKey&Status=In+active")
        );
        assert_eq!(
            request.headers[0].value,
            "application/x-www-form-urlencoded; charset=utf-8"
        );
        let request = HttpRequest::new(Method::Post, "/").raw_body("application/xml", "<a/>");
        assert_eq!(request.headers[0].value, "application/xml");
        assert_eq!(request.body_text(), Some("<a/>"));
        assert_eq!(
            HttpRequest::new(Method::Get, "/x").query([]).path.as_str(),
            "/x"
        );
    }

    #[test]
    fn path_encodes_each_segment() {
        let id = String::from("k 1/2");
        assert_eq!(crate::path!("/v1/keys/{}", id), "/v1/keys/k%201%2F2");
        assert_eq!(
            crate::path!("/v1/keys/{}/{}", &id, "."),
            "/v1/keys/k%201%2F2/%2E"
        );
        assert_eq!(crate::path!("/{{literal}}/{}", "x",), "/{literal}/x");
        assert_eq!(crate::path!("/v1/keys"), "/v1/keys");
        check_path_template("/a/{}/b{{}}");
    }

    #[test]
    fn path_templates_with_other_placeholders_are_refused() {
        for bad in [
            "", "v1/{}", "/v1/{id}", "/v1/{:?}", "/v1/{", "/v1/}", "/{0}",
        ] {
            let refused = std::panic::catch_unwind(|| check_path_template(bad)).is_err();
            assert!(refused, "{bad:?}");
        }
    }

    #[test]
    fn error_detail_prefers_the_providers_text_then_the_body() {
        let response = HttpResponse::new(502, "  <html>\n</html> ");
        assert_eq!(
            response.error_detail(Some("upstream".into())).as_deref(),
            Some("upstream")
        );
        assert_eq!(
            response.error_detail(None).as_deref(),
            Some("<html> </html>")
        );
        assert_eq!(HttpResponse::new(404, "").error_detail(None), None);
        assert_eq!(
            join_detail(Some(String::from("a")), Some(String::from("b"))).as_deref(),
            Some("a: b")
        );
        assert_eq!(join_detail(Some("a"), None).as_deref(), Some("a"));
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
