//! Reading Dolfin's responses: 204 on success, RFC 7807 problem details otherwise.

use revoker_plugin_api::{HttpResponse, Outcome, OutcomeKind, join_detail};
use serde::Deserialize;

/// `application/problem+json`, every field optional and nullable.
#[derive(Debug, Default, Deserialize)]
struct ProblemDetails {
    title: Option<String>,
    detail: Option<String>,
}

/// 204 revoked; 403 `Member.Forbidden`; 404 `ApiKey.NotFound`; 409
/// `ApiKey.AlreadyRevoked` (a success: revocation is idempotent).
pub(crate) fn revoke_api_key(response: &HttpResponse) -> Outcome {
    let outcome = match response.status {
        204 => return Outcome::new(OutcomeKind::Revoked),
        409 => Outcome::new(OutcomeKind::AlreadyRevoked),
        404 => Outcome::new(OutcomeKind::NotFound),
        403 => Outcome::new(OutcomeKind::Forbidden),
        status @ 200..=299 => {
            return Outcome::new(OutcomeKind::ProviderError).detail(format!(
                "unexpected HTTP status {status} (the documented success is 204)"
            ));
        }
        status => Outcome::from_status(status),
    };
    outcome.error_detail(response, problem_text(response))
}

/// `title: detail` from a problem body, or whichever of the two is there.
fn problem_text(response: &HttpResponse) -> Option<String> {
    let problem: ProblemDetails = serde_json::from_slice(&response.body).ok()?;
    join_detail(problem.title, problem.detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(status: u16, title: &str, detail: &str) -> HttpResponse {
        let body = serde_json::json!({
            "type": "https://tools.ietf.org/html/rfc9110#section-15.5",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": null,
        });
        HttpResponse::new(status, body.to_string())
            .header("Content-Type", "application/problem+json")
    }

    #[test]
    fn no_content_is_revoked() {
        let outcome = revoke_api_key(&HttpResponse::new(204, ""));
        assert_eq!(outcome, Outcome::new(OutcomeKind::Revoked));
    }

    #[test]
    fn documented_problems_map_to_outcomes_with_their_text() {
        let cases = [
            (
                403,
                "Member.Forbidden",
                "caller is not an Admin or Owner",
                OutcomeKind::Forbidden,
            ),
            (
                404,
                "ApiKey.NotFound",
                "API key does not exist",
                OutcomeKind::NotFound,
            ),
            (
                409,
                "ApiKey.AlreadyRevoked",
                "key is already revoked",
                OutcomeKind::AlreadyRevoked,
            ),
        ];
        for (status, title, detail, kind) in cases {
            let outcome = revoke_api_key(&problem(status, title, detail));
            assert_eq!(outcome.kind, kind, "{status}");
            assert_eq!(outcome.detail, format!("{title}: {detail}").as_str());
        }
    }

    #[test]
    fn already_revoked_is_a_success() {
        let outcome = revoke_api_key(&problem(409, "ApiKey.AlreadyRevoked", "x"));
        assert!(outcome.kind.is_success());
    }

    #[test]
    fn problem_fields_may_be_null_or_absent() {
        let response = HttpResponse::new(404, r#"{"title":null,"detail":"gone","status":"404"}"#);
        assert_eq!(revoke_api_key(&response).detail, "gone");
        let response = HttpResponse::new(404, "{}");
        assert_eq!(revoke_api_key(&response).detail, "{}");
    }

    #[test]
    fn undocumented_statuses_get_a_sensible_outcome() {
        let cases = [
            (401, OutcomeKind::Unauthorized),
            (429, OutcomeKind::RateLimited),
            (500, OutcomeKind::ProviderError),
            (502, OutcomeKind::ProviderError),
            (200, OutcomeKind::ProviderError),
            (400, OutcomeKind::InvalidRequest),
        ];
        for (status, kind) in cases {
            assert_eq!(
                revoke_api_key(&HttpResponse::new(status, "")).kind,
                kind,
                "{status}"
            );
        }
    }

    #[test]
    fn malformed_bodies_never_panic_and_are_quoted() {
        for body in [
            &b"<html>bad gateway</html>"[..],
            b"\xff\xfe",
            b"{\"title\":",
            b"null",
            b"[]",
        ] {
            let outcome = revoke_api_key(&HttpResponse::new(502, body.to_vec()));
            assert_eq!(outcome.kind, OutcomeKind::ProviderError);
        }
        let outcome = revoke_api_key(&HttpResponse::new(503, "<html>busy</html>"));
        assert_eq!(outcome.detail, "<html>busy</html>");
    }
}
