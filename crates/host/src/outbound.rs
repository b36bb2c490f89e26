//! Checks on a plugin's planned request before anything goes out: the path stays
//! under the provider's base URL, and the headers are plain and leave the
//! credential to the host.

use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};
use revoker_plugin_api::HttpRequest;

use crate::plugin::info::HOST_HEADERS;

/// Joins `base` and a plugin's relative `path`: the base's scheme and authority,
/// the base's path without its trailing `/`, then `path`.
///
/// # Errors
///
/// If `path` is not a plain absolute path: it must start with one `/`, hold no
/// scheme or authority, no `..` or `.` segment (even percent-encoded), no
/// backslash, fragment, space or control character.
pub(crate) fn join_url(base: &Url, path: &str) -> Result<Url, String> {
    if !path.starts_with('/') {
        return Err(format!("path {path:?} does not start with '/'"));
    }
    if path.starts_with("//") {
        return Err(format!("path {path:?} names another host"));
    }
    if let Some(c) = path
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || matches!(c, '\\' | '#'))
    {
        return Err(format!("path {path:?} contains {c:?}"));
    }
    let (path_only, query) = match path.split_once('?') {
        Some((path_only, query)) => (path_only, Some(query)),
        None => (path, None),
    };
    if let Some(segment) = path_only.split('/').find(|segment| is_dot_segment(segment)) {
        return Err(format!("path {path:?} has a {segment:?} segment"));
    }
    // The base's scheme and authority stay as parsed: only the path and query
    // are set, so nothing in `path` can reach the host.
    let base_path = base.path().trim_end_matches('/');
    let mut full_path = String::with_capacity(base_path.len() + path_only.len());
    full_path.push_str(base_path);
    full_path.push_str(path_only);
    let mut url = base.clone();
    url.set_path(&full_path);
    url.set_query(query);
    if !url.path().starts_with(base_path) {
        return Err(format!("path {path:?} leaves the base URL {base}"));
    }
    Ok(url)
}

/// Whether `segment` is `.` or `..`, spelled plainly or percent-encoded.
fn is_dot_segment(segment: &str) -> bool {
    let mut rest = segment;
    let mut dots = 0;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            rest = after;
        } else if rest.len() >= 3 && rest.as_bytes()[..3].eq_ignore_ascii_case(b"%2e") {
            rest = &rest[3..];
        } else {
            return false;
        }
        dots += 1;
    }
    matches!(dots, 1 | 2)
}

/// Refuses an `http://` base URL whose host is not on loopback: the credential
/// would cross the network in the clear.
///
/// # Errors
///
/// What is wrong and what to do.
pub(crate) fn require_https_off_loopback(url: Url) -> Result<Url, String> {
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if url.scheme() == "http" && !loopback {
        return Err(format!(
            "base URL {url} is not https: the credential would cross the network in the clear \
             (use https, or pass --allow-insecure-http)"
        ));
    }
    Ok(url)
}

/// Checks a base URL a user configured: http or https, a host, no credentials,
/// no query or fragment.
///
/// # Errors
///
/// What is wrong with it.
pub(crate) fn check_base_url(text: &str) -> Result<Url, String> {
    // Shown without userinfo, query or fragment: they may hold a secret.
    let shown = crate::text::redact_url(text);
    let url = Url::parse(text).map_err(|e| format!("invalid base URL {shown:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("base URL {shown:?} must be http or https"));
    }
    if url.host().is_none() {
        return Err(format!("base URL {shown:?} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "base URL {shown:?} must not carry credentials; set the credential's variable instead"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "base URL {shown:?} must not have a query or fragment"
        ));
    }
    Ok(url)
}

/// The plugin's headers as `reqwest` headers, refusing invalid ones and any that
/// would set the credential (`Authorization`, and the headers its auth kind
/// sets, `owned`), the host or cookies.
///
/// # Errors
///
/// The first header at fault.
pub(crate) fn checked_headers(
    request: &HttpRequest,
    owned: &[HeaderName],
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    request
        .headers
        .iter()
        .map(|header| {
            let name = HeaderName::from_bytes(header.name.as_bytes())
                .map_err(|_| format!("header name {:?} is invalid", header.name))?;
            // The host's headers, and the credential's: `Authorization` and the
            // provider's own credential header.
            if HOST_HEADERS.contains(&name.as_str())
                || name == reqwest::header::AUTHORIZATION
                || owned.contains(&name)
            {
                return Err(format!("header {name} is set by the host, not by a plugin"));
            }
            let value = HeaderValue::from_str(&header.value)
                .map_err(|_| format!("header {name} has an invalid value"))?;
            Ok((name, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use revoker_plugin_api::Method;

    use super::*;

    fn base(text: &str) -> Url {
        check_base_url(text).unwrap()
    }

    #[test]
    fn joins_under_the_base_path() {
        let url = join_url(&base("https://api.example.com"), "/v3/keys/a%2Fb").unwrap();
        assert_eq!(url.as_str(), "https://api.example.com/v3/keys/a%2Fb");
        let url = join_url(&base("http://127.0.0.1:4010/proxy/"), "/x?y=1").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:4010/proxy/x?y=1");
    }

    #[test]
    fn refuses_paths_that_could_leave_the_base() {
        let base = base("https://api.example.com/base");
        for path in [
            "v3/keys",
            "//evil.example/x",
            "https://evil.example/x",
            "/../x",
            "/a/%2e%2E/x",
            "/a/./x",
            "/a/.%2E",
            "/%2e?x=1",
            "/a\\b",
            "/a#frag",
            "/a b",
            "/a\r\nHost: evil",
            "/a\u{0}",
            "@evil.example/x",
        ] {
            assert!(join_url(&base, path).is_err(), "{path:?} must be refused");
        }
    }

    #[test]
    fn http_is_for_loopback_only() {
        for ok in [
            "https://api.example.com",
            "http://127.0.0.1:4010",
            "http://[::1]:80",
            "http://localhost:9",
        ] {
            assert!(require_https_off_loopback(base(ok)).is_ok(), "{ok}");
        }
        let err = require_https_off_loopback(base("http://api.example.com")).unwrap_err();
        assert!(err.contains("--allow-insecure-http"), "{err}");
    }

    #[test]
    fn base_urls_must_be_plain_http_or_https() {
        assert!(check_base_url("http://127.0.0.1:4010").is_ok());
        for bad in [
            "ftp://x.example",
            "not a url",
            "https://user:pass@x.example",
            "https://x.example/?q=1",
            "https://x.example/#f",
            "file:///etc/passwd",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plugins_cannot_set_credential_host_or_cookie_headers() {
        let credential = [
            HeaderName::from_static("x-dolfin-api-key"),
            HeaderName::from_static("x-amz-date"),
        ];
        for name in [
            "Authorization",
            "HOST",
            "cookie",
            "X-Dolfin-Api-Key",
            "X-Amz-Date",
            "Content-Length",
        ] {
            let request = HttpRequest::new(Method::Get, "/").header(name, "x");
            let err = checked_headers(&request, &credential).unwrap_err();
            assert!(err.contains("set by the host"), "{name}: {err}");
        }
        let request = HttpRequest::new(Method::Get, "/").header("X-Ok", "a\r\nInjected: 1");
        assert!(checked_headers(&request, &credential).is_err());
        let request = HttpRequest::new(Method::Get, "/").header("Bad Name", "x");
        assert!(checked_headers(&request, &credential).is_err());
        let request = HttpRequest::new(Method::Get, "/").header("Content-Type", "application/json");
        assert_eq!(checked_headers(&request, &credential).unwrap().len(), 1);
    }
}
