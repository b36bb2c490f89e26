//! Reading GitHub's answers to `POST /credentials/revoke`: one outcome for
//! every credential of the request, since the answer says nothing of each.
//!
//! The crate's documentation has the table of answers and outcomes.
//!
//! The detail is GitHub's `message` (and its `errors`, if any), else a
//! snippet of the body, with every credential of the request in it replaced
//! by `<redacted>`: an outcome's detail is shown and recorded.

use revoker_plugin_api::{HttpResponse, Outcome, OutcomeKind, Params, join_detail};
use serde::Deserialize;
use serde_json::Value;

use crate::credential::CREDENTIAL;

/// What replaces a credential found in an answer.
const REDACTED: &str = "<redacted>";

/// GitHub's error body: `{"message": …, "errors": […], "documentation_url": …}`.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    message: Option<String>,
    errors: Option<Vec<Value>>,
}

/// The outcome of the request for one credential.
pub(crate) fn revoke_credential(params: &Params, response: &HttpResponse) -> Outcome {
    revoke_credentials(std::slice::from_ref(params), response)
}

/// The outcome of the request for the credentials of `items`: one for all.
pub(crate) fn revoke_credentials(items: &[Params], response: &HttpResponse) -> Outcome {
    let status = response.status;
    if matches!(status, 403 | 429) && quota_exhausted(response) {
        let mut what = String::from("rate limit exhausted (x-ratelimit-remaining: 0)");
        if let Some(reset) = response
            .header_value("x-ratelimit-reset")
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            what.push_str(&format!(", resets at {reset} (epoch seconds)"));
        }
        let text = join_detail(Some(what), error_text(items, response)).unwrap_or_default();
        return Outcome::new(OutcomeKind::RateLimited).detail(text);
    }
    let outcome = match status {
        202 => return Outcome::new(OutcomeKind::Revoked),
        422 => Outcome::new(OutcomeKind::InvalidRequest)
            .detail("HTTP 422: validation failed, or the endpoint has been spammed"),
        500 => Outcome::new(OutcomeKind::ProviderError).detail("HTTP 500: GitHub's internal error"),
        403 => Outcome::new(OutcomeKind::Forbidden).detail(
            "HTTP 403: refused (GitHub answers 403 to an authenticated request; none was sent)",
        ),
        200..=299 => Outcome::new(OutcomeKind::ProviderError).detail(format!(
            "unexpected HTTP status {status} (the documented success is 202)"
        )),
        status => Outcome::from_status(status),
    };
    match error_text(items, response).or_else(|| snippet(items, response)) {
        Some(text) => outcome.detail(text),
        None => outcome,
    }
}

/// Whether `x-ratelimit-remaining` (in any letter case) says `0`.
fn quota_exhausted(response: &HttpResponse) -> bool {
    response
        .header_value("x-ratelimit-remaining")
        .is_some_and(|value| value.trim().parse::<u64>() == Ok(0))
}

/// How much of GitHub's words an outcome's detail keeps, in characters.
const MAX_TEXT: usize = 500;

/// How much of a body a snippet keeps, in characters (as
/// [`HttpResponse::body_snippet`]).
const MAX_SNIPPET: usize = 200;

/// GitHub's own words from an error body, credentials redacted: its
/// `message`, then what each of its `errors` says.
fn error_text(items: &[Params], response: &HttpResponse) -> Option<String> {
    let body: ErrorBody = serde_json::from_slice(&response.body).ok()?;
    let errors: Vec<String> = body
        .errors
        .unwrap_or_default()
        .iter()
        .filter_map(|error| match error {
            Value::String(text) => Some(text.clone()),
            Value::Object(fields) => ["message", "code"]
                .iter()
                .find_map(|name| fields.get(*name).and_then(Value::as_str))
                .map(str::to_owned),
            _ => None,
        })
        .collect();
    let errors = (!errors.is_empty()).then(|| errors.join("; "));
    let message = body.message.filter(|m| !m.is_empty());
    join_detail(message, errors).map(|text| redacted(items, &text, MAX_TEXT))
}

/// The start of the body as one line, credentials redacted (the shape of
/// [`HttpResponse::body_snippet`]); `None` for an empty body.
fn snippet(items: &[Params], response: &HttpResponse) -> Option<String> {
    if response.body.is_empty() {
        return None;
    }
    Some(redacted(items, response.body_text().trim(), MAX_SNIPPET))
}

/// At most `keep` characters of `text`, control characters as spaces, with
/// each credential of `items` (as it is, and as a JSON string would hold it)
/// replaced by `<redacted>` before it is cut, so that no part of one is left;
/// `…` where it was cut.
fn redacted(items: &[Params], text: &str, keep: usize) -> String {
    let forms: Vec<String> = items
        .iter()
        .filter_map(|params| params.get(CREDENTIAL))
        .filter(|value| !value.is_empty())
        .flat_map(|value| {
            let quoted = serde_json::to_string(value).unwrap_or_default();
            let escaped = quoted
                .get(1..quoted.len().saturating_sub(1))
                .unwrap_or_default()
                .to_owned();
            [value.to_owned(), escaped]
        })
        .filter(|form| !form.is_empty())
        .collect();
    // Only what may be kept is searched: a credential that starts in it ends
    // within the longest form's length after it.
    let longest = forms.iter().map(|f| f.chars().count()).max().unwrap_or(0);
    let window_chars = keep.saturating_add(longest);
    let mut window: String = text
        .chars()
        .take(window_chars)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cut_before = text.chars().nth(window_chars).is_some();
    // The longest first: a shorter credential may be part of a longer one.
    let mut forms = forms;
    forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
    for form in &forms {
        if window.contains(form.as_str()) {
            window = window.replace(form.as_str(), REDACTED);
        }
    }
    let mut kept: String = window.chars().take(keep).collect();
    if cut_before || window.chars().nth(keep).is_some() {
        kept.push('…');
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_token;

    fn one(value: &str) -> Vec<Params> {
        vec![Params::from_pairs([(CREDENTIAL, value)])]
    }

    fn read(response: &HttpResponse) -> Outcome {
        revoke_credentials(&one(&sample_token("ghp_")), response)
    }

    #[test]
    fn accepted_is_revoked_and_says_nothing_more() {
        let outcome = read(&HttpResponse::new(202, ""));
        assert_eq!(outcome, Outcome::new(OutcomeKind::Revoked));
        let outcome = read(&HttpResponse::new(202, r#"{"message":"ok"}"#));
        assert_eq!(outcome, Outcome::new(OutcomeKind::Revoked));
    }

    #[test]
    fn validation_failure_is_an_invalid_request() {
        let outcome = read(&HttpResponse::new(422, ""));
        assert_eq!(outcome.kind, OutcomeKind::InvalidRequest);
        assert_eq!(
            outcome.detail,
            "HTTP 422: validation failed, or the endpoint has been spammed"
        );
        let body = r#"{"message":"Validation Failed","errors":[{"resource":"Credential","code":"invalid","message":"credentials is too long"},"second"],"documentation_url":"https://docs.github.com/rest","status":"422"}"#;
        let outcome = read(&HttpResponse::new(422, body));
        assert_eq!(outcome.kind, OutcomeKind::InvalidRequest);
        assert_eq!(
            outcome.detail,
            "Validation Failed: credentials is too long; second"
        );
        let outcome = read(&HttpResponse::new(
            422,
            r#"{"message":"Validation Failed"}"#,
        ));
        assert_eq!(outcome.detail, "Validation Failed");
    }

    #[test]
    fn an_internal_error_is_a_provider_error() {
        let outcome = read(&HttpResponse::new(500, ""));
        assert_eq!(outcome.kind, OutcomeKind::ProviderError);
        assert_eq!(outcome.detail, "HTTP 500: GitHub's internal error");
        let outcome = read(&HttpResponse::new(500, "<html>oops</html>"));
        assert_eq!(outcome.detail, "<html>oops</html>");
    }

    #[test]
    fn an_exhausted_quota_is_throttling_whether_403_or_429() {
        for status in [403, 429] {
            for name in [
                "x-ratelimit-remaining",
                "X-RateLimit-Remaining",
                "X-RATELIMIT-REMAINING",
            ] {
                let response = HttpResponse::new(
                    status,
                    r#"{"message":"API rate limit exceeded for 192.0.2.1."}"#,
                )
                .header("X-RateLimit-Limit", "60")
                .header(name, "0")
                .header("x-ratelimit-used", "60")
                .header("X-RateLimit-Reset", "1700000000")
                .header("Retry-After", "60");
                let outcome = read(&response);
                assert_eq!(outcome.kind, OutcomeKind::RateLimited, "{status} {name}");
                assert_eq!(
                    outcome.detail,
                    "rate limit exhausted (x-ratelimit-remaining: 0), resets at 1700000000 \
                     (epoch seconds): API rate limit exceeded for 192.0.2.1."
                );
            }
        }
        let response = HttpResponse::new(403, "").header("x-ratelimit-remaining", " 0 ");
        let outcome = read(&response);
        assert_eq!(outcome.kind, OutcomeKind::RateLimited);
        assert_eq!(
            outcome.detail,
            "rate limit exhausted (x-ratelimit-remaining: 0)"
        );
    }

    #[test]
    fn a_403_with_quota_left_is_forbidden() {
        for remaining in [
            None,
            Some("59"),
            Some("1"),
            Some(""),
            Some("zero"),
            Some("-0x"),
        ] {
            let mut response = HttpResponse::new(403, "");
            if let Some(value) = remaining {
                response = response.header("x-ratelimit-remaining", value);
            }
            let outcome = read(&response);
            assert_eq!(outcome.kind, OutcomeKind::Forbidden, "{remaining:?}");
            assert!(outcome.detail.starts_with("HTTP 403"), "{}", outcome.detail);
        }
        let response = HttpResponse::new(403, r#"{"message":"Must not be authenticated"}"#)
            .header("x-ratelimit-remaining", "12");
        assert_eq!(read(&response).detail, "Must not be authenticated");
    }

    #[test]
    fn a_429_is_throttling_even_without_the_header() {
        let outcome = read(&HttpResponse::new(429, ""));
        assert_eq!(outcome.kind, OutcomeKind::RateLimited);
        let outcome = read(&HttpResponse::new(429, "").header("x-ratelimit-remaining", "5"));
        assert_eq!(outcome.kind, OutcomeKind::RateLimited);
    }

    #[test]
    fn the_remaining_count_matters_only_on_403_and_429() {
        for status in [202, 422, 500] {
            let response = HttpResponse::new(status, "").header("x-ratelimit-remaining", "0");
            assert_ne!(read(&response).kind, OutcomeKind::RateLimited, "{status}");
        }
        let response = HttpResponse::new(202, "").header("x-ratelimit-remaining", "0");
        assert_eq!(read(&response).kind, OutcomeKind::Revoked);
    }

    #[test]
    fn other_statuses_get_the_usual_reading() {
        let cases = [
            (200, OutcomeKind::ProviderError),
            (201, OutcomeKind::ProviderError),
            (204, OutcomeKind::ProviderError),
            (400, OutcomeKind::InvalidRequest),
            (401, OutcomeKind::Unauthorized),
            (404, OutcomeKind::NotFound),
            (502, OutcomeKind::ProviderError),
            (503, OutcomeKind::ProviderError),
            (0, OutcomeKind::ProviderError),
            (999, OutcomeKind::ProviderError),
        ];
        for (status, kind) in cases {
            let outcome = read(&HttpResponse::new(status, ""));
            assert_eq!(outcome.kind, kind, "{status}");
            assert!(
                outcome.detail.contains(&status.to_string()),
                "{}",
                outcome.detail
            );
        }
        assert_eq!(
            read(&HttpResponse::new(200, "")).detail,
            "unexpected HTTP status 200 (the documented success is 202)"
        );
    }

    #[test]
    fn credentials_in_an_answer_are_redacted() {
        let token = sample_token("ghp_");
        let odd = r#"gho_quo"te"#;
        let items = [
            Params::from_pairs([(CREDENTIAL, token.as_str())]),
            Params::from_pairs([(CREDENTIAL, odd)]),
        ];
        let body = format!(
            r#"{{"message":"bad credential {token}","errors":[{{"code":"invalid","value":"{token}"}},"also gho_quo\"te"]}}"#
        );
        let outcome = revoke_credentials(&items, &HttpResponse::new(422, body));
        assert_eq!(
            outcome.detail,
            "bad credential <redacted>: invalid; also <redacted>"
        );
        // In a snippet, too, however the body is cut.
        let body = format!(
            "<html>{} {token} {}</html>",
            "x".repeat(180),
            r#"gho_quo\"te"#
        );
        let outcome = revoke_credentials(&items, &HttpResponse::new(500, body));
        assert!(!outcome.detail.contains(&token), "{}", outcome.detail);
        assert!(!outcome.detail.contains("ghp_"), "{}", outcome.detail);
        let body = format!("{token} and {}", r#"gho_quo\"te"#);
        let outcome = revoke_credentials(&items, &HttpResponse::new(502, body));
        assert_eq!(outcome.detail, "<redacted> and <redacted>");
        // A JSON escape GitHub might use is decoded before redaction.
        let escaped: String = token
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        let body = format!(r#"{{"message":"{escaped}"}}"#);
        let outcome = revoke_credentials(&items, &HttpResponse::new(422, body));
        assert_eq!(outcome.detail, "<redacted>");
        let body = format!("rate limited {token}");
        let response = HttpResponse::new(403, body).header("x-ratelimit-remaining", "0");
        let outcome = revoke_credentials(&items, &response);
        assert!(!outcome.detail.contains(&token), "{}", outcome.detail);
        assert!(!format!("{outcome:?}").contains(&token));
    }

    #[test]
    fn a_credential_holding_another_is_redacted_whole() {
        let short = format!("{}AAAA", sample_token("ghp_"));
        let long = format!("{short}BBBBCCCC");
        let items = [
            Params::from_pairs([(CREDENTIAL, short.as_str())]),
            Params::from_pairs([(CREDENTIAL, long.as_str())]),
        ];
        let text = redacted(&items, &format!("bad credential {long}"), 200);
        assert!(!text.contains("BBBB"), "{text}");
        assert_eq!(text, "bad credential <redacted>");
    }

    #[test]
    fn a_long_answer_is_cut_after_redaction_so_no_part_of_a_credential_is_left() {
        let token = sample_token("ghp_");
        let items = one(&token);
        // The credential straddles the snippet's 200th character.
        for start in [190, 199, 200, 201] {
            let body = format!("{}{token}{}", "x".repeat(start), "y".repeat(300));
            let outcome = revoke_credentials(&items, &HttpResponse::new(502, body));
            assert!(outcome.detail.ends_with('…'), "{}", outcome.detail);
            assert!(!outcome.detail.contains("ghp_"), "{}", outcome.detail);
            assert!(!outcome.detail.contains("made-up"), "{}", outcome.detail);
            assert!(outcome.detail.chars().count() <= 201);
        }
        let message = format!("{}{token}", "m".repeat(495));
        let body = serde_json::json!({ "message": message }).to_string();
        let outcome = revoke_credentials(&items, &HttpResponse::new(422, body));
        assert_eq!(outcome.detail, format!("{}<reda…", "m".repeat(495)));
        // A short body is shown whole, control characters as spaces.
        let outcome = read(&HttpResponse::new(500, " line one\nline two\t "));
        assert_eq!(outcome.detail, "line one line two");
    }

    #[test]
    fn malformed_bodies_never_panic_and_are_quoted() {
        for body in [
            &b"<html>bad gateway</html>"[..],
            b"\xff\xfe",
            b"{\"message\":",
            b"null",
            b"[]",
            b"{\"message\":5,\"errors\":\"x\"}",
            b"{\"errors\":[1,null,{}]}",
        ] {
            let outcome = read(&HttpResponse::new(502, body.to_vec()));
            assert_eq!(outcome.kind, OutcomeKind::ProviderError);
        }
        let outcome = read(&HttpResponse::new(500, r#"{"errors":[1,null,{}]}"#));
        assert_eq!(outcome.detail, r#"{"errors":[1,null,{}]}"#);
    }
}
