//! Reading IAM's answers: `200` with `<ActionResponse>` on success, an
//! `<ErrorResponse>` naming the error's `Code` otherwise.
//!
//! The error codes IAM documents for these actions decide the outcome:
//! `NoSuchEntity` not-found (also for a key deleted before: IAM cannot tell it
//! from a key that never existed, or that another user owns), `InvalidClientTokenId`
//! and `SignatureDoesNotMatch` unauthorized (the signing credential is bad),
//! `AccessDenied` forbidden, `Throttling` rate-limited, `ServiceFailure`
//! provider-error. Any other code, or none, gets the usual reading of its
//! status. The detail is `Code: Message`, or the start of the body when it
//! names no code.
//!
//! A lookup (`GetAccessKeyLastUsed`) revokes nothing: its success is an
//! outcome `created` whose one field, `user-name` (public), is the key's
//! owner, the field a resolution's lookup fills `user-name` from.

use revoker_plugin_api::abi_stable::std_types::ROption;
use revoker_plugin_api::{HttpResponse, Outcome, OutcomeKind};

use crate::requests::is_user_name;
use crate::xml::{self, Answer};
use crate::{Action, USER_NAME};

/// The most of the provider's message an outcome's detail carries.
const MAX_DETAIL_CHARS: usize = 300;
/// The most of a request id an outcome carries (IAM's are UUIDs).
const MAX_REQUEST_ID_CHARS: usize = 128;

/// The outcome of `action`, with IAM's request id (from the body, else the
/// `x-amzn-RequestId` header, which the host does not read).
pub(crate) fn interpret(action: Action, response: &HttpResponse) -> Outcome {
    let answer = xml::read(&response.body);
    let mut outcome = reading(action, response, &answer);
    let request_id = answer
        .request_id
        .as_deref()
        .or_else(|| response.header_value("x-amzn-RequestId"))
        .map(|id| one_line(id, MAX_REQUEST_ID_CHARS))
        .filter(|id| !id.is_empty());
    if let Some(id) = request_id {
        outcome.request_id = ROption::RSome(id.into());
    }
    outcome
}

/// The outcome an error code IAM documents stands for.
fn known_code(code: &str) -> Option<OutcomeKind> {
    Some(match code {
        "NoSuchEntity" => OutcomeKind::NotFound,
        "InvalidClientTokenId" | "SignatureDoesNotMatch" => OutcomeKind::Unauthorized,
        "AccessDenied" => OutcomeKind::Forbidden,
        "Throttling" => OutcomeKind::RateLimited,
        "ServiceFailure" => OutcomeKind::ProviderError,
        _ => return None,
    })
}

fn reading(action: Action, response: &HttpResponse, answer: &Answer) -> Outcome {
    let status = response.status;
    if let Some(code) = answer.code.as_deref() {
        let outcome = match known_code(code) {
            Some(kind) => Outcome::new(kind),
            None => Outcome::from_status(status),
        };
        let detail = match answer.message.as_deref() {
            Some(message) => format!("{code}: {message}"),
            None => code.to_owned(),
        };
        return outcome.detail(one_line(&detail, MAX_DETAIL_CHARS));
    }
    if status == 200 {
        let element = action.response_element();
        if answer.complete && answer.root.as_deref() == Some(element) {
            if action != Action::GetAccessKeyLastUsed {
                return Outcome::new(OutcomeKind::Revoked);
            }
            return match answer.user_name.as_deref() {
                Some(name) if is_user_name(name) => {
                    Outcome::new(OutcomeKind::Created).created_field(USER_NAME, name, false)
                }
                Some(_) => Outcome::new(OutcomeKind::ProviderError)
                    .detail("provider answered 200 with a UserName that is not an IAM user name"),
                None => Outcome::new(OutcomeKind::ProviderError)
                    .detail("provider answered 200 without the UserName of the key's owner"),
            };
        }
        let body = if response.body.is_empty() {
            "an empty body".to_owned()
        } else {
            response.body_snippet()
        };
        return Outcome::new(OutcomeKind::ProviderError).detail(format!(
            "provider answered 200 without the {element} that confirms it: {body}"
        ));
    }
    let outcome = Outcome::from_status(status);
    match answer.message.as_deref() {
        Some(message) => outcome.detail(one_line(message, MAX_DETAIL_CHARS)),
        None if response.body.is_empty() => outcome,
        None => outcome.detail(response.body_snippet()),
    }
}

/// `text` trimmed, as one line of at most `max` characters (control characters
/// replaced, `…` where it was cut).
fn one_line(text: &str, max: usize) -> String {
    let text = text.trim();
    let mut line: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(max).is_some() {
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
    const REQUEST_ID: &str = "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE";

    fn success(action: &str) -> HttpResponse {
        let body = format!(
            "<{action}Response xmlns=\"{NS}\">\n  <ResponseMetadata>\n    \
             <RequestId>{REQUEST_ID}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n"
        );
        HttpResponse::new(200, body)
            .header("x-amzn-RequestId", REQUEST_ID)
            .header("Content-Type", "text/xml")
    }

    fn error(status: u16, kind: &str, code: &str, message: &str) -> HttpResponse {
        let body = format!(
            "<ErrorResponse xmlns=\"{NS}\">\n  <Error>\n    <Type>{kind}</Type>\n    \
             <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n  \
             <RequestId>{REQUEST_ID}</RequestId>\n</ErrorResponse>\n"
        );
        HttpResponse::new(status, body).header("Content-Type", "text/xml")
    }

    /// The outcome of each action: a lookup reads errors as the revocations do.
    fn each(response: &HttpResponse) -> [Outcome; 3] {
        [
            interpret(Action::UpdateAccessKey, response),
            interpret(Action::DeleteAccessKey, response),
            interpret(Action::GetAccessKeyLastUsed, response),
        ]
    }

    fn lookup_success(user: &str) -> HttpResponse {
        let body = format!(
            "<GetAccessKeyLastUsedResponse xmlns=\"{NS}\">\n  <GetAccessKeyLastUsedResult>\n    \
             <AccessKeyLastUsed>\n      <Region>us-west-2</Region>\n      \
             <LastUsedDate>2015-03-13T10:45:00Z</LastUsedDate>\n      \
             <ServiceName>s3</ServiceName>\n    </AccessKeyLastUsed>\n    \
             <UserName>{user}</UserName>\n  </GetAccessKeyLastUsedResult>\n  \
             <ResponseMetadata>\n    <RequestId>{REQUEST_ID}</RequestId>\n  \
             </ResponseMetadata>\n</GetAccessKeyLastUsedResponse>\n"
        );
        HttpResponse::new(200, body).header("Content-Type", "text/xml")
    }

    #[test]
    fn a_lookup_answers_the_owner_as_a_public_field() {
        let outcome = interpret(Action::GetAccessKeyLastUsed, &lookup_success("bob"));
        assert_eq!(outcome.kind, OutcomeKind::Created);
        assert_eq!(outcome.created.len(), 1);
        let field = &outcome.created[0];
        assert_eq!(
            (field.name.as_str(), field.value.as_str()),
            (USER_NAME, "bob")
        );
        assert!(!field.secret, "a user name is no secret");
        assert_eq!(outcome.request_id, ROption::RSome(REQUEST_ID.into()));
        let outcome = interpret(
            Action::GetAccessKeyLastUsed,
            &lookup_success("ci+deploy=bot,ops@example.com"),
        );
        assert_eq!(outcome.created[0].value, "ci+deploy=bot,ops@example.com");
        // A key never used still names its owner.
        let body = "<GetAccessKeyLastUsedResponse><GetAccessKeyLastUsedResult><AccessKeyLastUsed>\
            <Region>N/A</Region><ServiceName>N/A</ServiceName></AccessKeyLastUsed>\
            <UserName>alice</UserName></GetAccessKeyLastUsedResult></GetAccessKeyLastUsedResponse>";
        let outcome = interpret(Action::GetAccessKeyLastUsed, &HttpResponse::new(200, body));
        assert_eq!(outcome.created[0].value, "alice");
    }

    #[test]
    fn a_lookup_without_a_valid_owner_or_its_own_answer_is_no_success() {
        for (response, detail) in [
            (lookup_success("path/bob"), "not an IAM user name"),
            (lookup_success(""), "without the UserName"),
            (lookup_success("   "), "without the UserName"),
            (
                HttpResponse::new(
                    200,
                    "<GetAccessKeyLastUsedResponse><GetAccessKeyLastUsedResult>\
                     </GetAccessKeyLastUsedResult></GetAccessKeyLastUsedResponse>",
                ),
                "without the UserName",
            ),
            (
                success("DeleteAccessKey"),
                "without the GetAccessKeyLastUsedResponse",
            ),
        ] {
            let outcome = interpret(Action::GetAccessKeyLastUsed, &response);
            assert_eq!(outcome.kind, OutcomeKind::ProviderError, "{detail}");
            assert!(outcome.detail.contains(detail), "{}", outcome.detail);
            assert!(outcome.created.is_empty());
        }
        // A lookup's answer is no revocation.
        let outcome = interpret(Action::DeleteAccessKey, &lookup_success("bob"));
        assert_eq!(outcome.kind, OutcomeKind::ProviderError);
        assert!(outcome.created.is_empty());
        // Cut short, it gives no owner.
        let text = lookup_success("bob").body_text().into_owned();
        let cut = &text[..text.find("</GetAccessKeyLastUsedResult>").unwrap()];
        let outcome = interpret(Action::GetAccessKeyLastUsed, &HttpResponse::new(200, cut));
        assert_eq!(outcome.kind, OutcomeKind::ProviderError);
    }

    #[test]
    fn a_lookup_reads_iams_errors() {
        for (status, code, kind) in [
            (404, "NoSuchEntity", OutcomeKind::NotFound),
            (403, "AccessDenied", OutcomeKind::Forbidden),
            (403, "InvalidClientTokenId", OutcomeKind::Unauthorized),
            (400, "Throttling", OutcomeKind::RateLimited),
            (429, "Throttling", OutcomeKind::RateLimited),
            (500, "ServiceFailure", OutcomeKind::ProviderError),
        ] {
            let response = error(status, "Sender", code, "m");
            let outcome = interpret(Action::GetAccessKeyLastUsed, &response);
            assert_eq!(outcome.kind, kind, "{code}");
            assert_eq!(outcome.detail, format!("{code}: m").as_str());
            assert!(outcome.created.is_empty());
        }
    }

    #[test]
    fn each_action_succeeds_with_its_own_response_element() {
        for (action, name) in [
            (Action::UpdateAccessKey, "UpdateAccessKey"),
            (Action::DeleteAccessKey, "DeleteAccessKey"),
        ] {
            let outcome = interpret(action, &success(name));
            assert_eq!(outcome.kind, OutcomeKind::Revoked, "{name}");
            assert_eq!(outcome.detail, "");
            assert_eq!(outcome.request_id, ROption::RSome(REQUEST_ID.into()));
        }
        // Another action's success confirms nothing about this one.
        let outcome = interpret(Action::DeleteAccessKey, &success("UpdateAccessKey"));
        assert_eq!(outcome.kind, OutcomeKind::ProviderError);
        assert!(
            outcome
                .detail
                .starts_with("provider answered 200 without the DeleteAccessKeyResponse"),
            "{}",
            outcome.detail
        );
    }

    #[test]
    fn documented_error_codes_map_to_outcomes_with_code_and_message() {
        let cases = [
            (
                404,
                "Sender",
                "NoSuchEntity",
                "The Access Key with id AKIAIOSFODNN7EXAMPLE cannot be found.",
                OutcomeKind::NotFound,
            ),
            (
                403,
                "Sender",
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
                OutcomeKind::Unauthorized,
            ),
            (
                403,
                "Sender",
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you \
                 provided. Check your AWS Secret Access Key and signing method. Consult \
                 the service documentation for details.",
                OutcomeKind::Unauthorized,
            ),
            (
                403,
                "Sender",
                "AccessDenied",
                "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: \
                 iam:UpdateAccessKey on resource: user alice because no identity-based \
                 policy allows the iam:UpdateAccessKey action",
                OutcomeKind::Forbidden,
            ),
            (
                400,
                "Sender",
                "Throttling",
                "Rate exceeded",
                OutcomeKind::RateLimited,
            ),
            (
                429,
                "Sender",
                "Throttling",
                "Rate exceeded",
                OutcomeKind::RateLimited,
            ),
            (
                500,
                "Receiver",
                "ServiceFailure",
                "Request processing has failed due to an unknown error, exception or failure.",
                OutcomeKind::ProviderError,
            ),
            (
                409,
                "Sender",
                "LimitExceeded",
                "Cannot exceed quota for AccessKeysPerUser: 2",
                OutcomeKind::ProviderError,
            ),
            (
                400,
                "Sender",
                "ValidationError",
                "1 validation error detected: Value at 'userName' failed to satisfy constraint",
                OutcomeKind::InvalidRequest,
            ),
            (
                403,
                "Sender",
                "ExpiredToken",
                "The security token included in the request is expired",
                OutcomeKind::Forbidden,
            ),
            (
                503,
                "Receiver",
                "ServiceUnavailable",
                "Service is unavailable",
                OutcomeKind::ProviderError,
            ),
        ];
        for (status, kind, code, message, outcome_kind) in cases {
            for outcome in each(&error(status, kind, code, message)) {
                assert_eq!(outcome.kind, outcome_kind, "{code}");
                assert_eq!(outcome.detail, format!("{code}: {message}").as_str());
                assert_eq!(outcome.request_id, ROption::RSome(REQUEST_ID.into()));
            }
        }
    }

    #[test]
    fn a_key_deleted_before_is_not_found() {
        // IAM answers a second DeleteAccessKey as it answers a key that never
        // existed or that another user owns: nothing tells them apart.
        let response = error(
            404,
            "Sender",
            "NoSuchEntity",
            "The Access Key with id AKIAIOSFODNN7EXAMPLE cannot be found.",
        );
        let outcome = interpret(Action::DeleteAccessKey, &response);
        assert_eq!(outcome.kind, OutcomeKind::NotFound);
        assert!(!outcome.kind.is_success());
    }

    #[test]
    fn the_code_decides_whatever_the_status() {
        let response = error(400, "Sender", "NoSuchEntity", "gone");
        assert_eq!(each(&response)[0].kind, OutcomeKind::NotFound);
        let response = error(200, "Sender", "AccessDenied", "no");
        assert_eq!(each(&response)[1].kind, OutcomeKind::Forbidden);
        // A code alone is the detail.
        let body = "<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>";
        let outcome = interpret(Action::UpdateAccessKey, &HttpResponse::new(403, body));
        assert_eq!(outcome.detail, "AccessDenied");
        assert_eq!(outcome.request_id, ROption::RNone);
    }

    #[test]
    fn the_request_id_comes_from_the_body_else_the_header() {
        let response = HttpResponse::new(503, "").header("X-Amzn-RequestId", " r-503 ");
        let outcome = interpret(Action::UpdateAccessKey, &response);
        assert_eq!(outcome.request_id, ROption::RSome("r-503".into()));
        let mut response = error(404, "Sender", "NoSuchEntity", "gone");
        response = response.header("x-amzn-RequestId", "from-the-header");
        let outcome = interpret(Action::UpdateAccessKey, &response);
        assert_eq!(outcome.request_id, ROption::RSome(REQUEST_ID.into()));
        let long = "x\n".repeat(500);
        let response = HttpResponse::new(500, "").header("x-amzn-RequestId", &long);
        let id = interpret(Action::UpdateAccessKey, &response)
            .request_id
            .into_option()
            .unwrap();
        assert_eq!(id.chars().count(), MAX_REQUEST_ID_CHARS + 1);
        assert!(!id.contains('\n'));
    }

    #[test]
    fn empty_bodies_get_the_reading_of_their_status() {
        let cases = [
            (200, OutcomeKind::ProviderError),
            (204, OutcomeKind::ProviderError),
            (400, OutcomeKind::InvalidRequest),
            (403, OutcomeKind::Forbidden),
            (404, OutcomeKind::NotFound),
            (429, OutcomeKind::RateLimited),
            (500, OutcomeKind::ProviderError),
            (503, OutcomeKind::ProviderError),
        ];
        for (status, kind) in cases {
            for outcome in each(&HttpResponse::new(status, "")) {
                assert_eq!(outcome.kind, kind, "{status}");
                assert!(!outcome.detail.is_empty(), "{status}");
            }
        }
        let outcome = interpret(Action::DeleteAccessKey, &HttpResponse::new(200, ""));
        assert_eq!(
            outcome.detail,
            "provider answered 200 without the DeleteAccessKeyResponse that confirms it: an empty body"
        );
    }

    #[test]
    fn html_error_pages_are_read_by_status_and_quoted() {
        let page = "<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>\n\
                    <body><h1>Service Unavailable</h1><br></body></html>";
        for outcome in each(&HttpResponse::new(503, page).header("Content-Type", "text/html")) {
            assert_eq!(outcome.kind, OutcomeKind::ProviderError);
            assert!(
                outcome.detail.starts_with("<!DOCTYPE html> <html>"),
                "{}",
                outcome.detail
            );
        }
        // A 200 from something in between (a captive portal, a proxy) is no success.
        let outcome = interpret(Action::UpdateAccessKey, &HttpResponse::new(200, page));
        assert_eq!(outcome.kind, OutcomeKind::ProviderError);
        assert!(outcome.detail.contains("UpdateAccessKeyResponse"));
        assert!(outcome.detail.contains("503 Service Unavailable"));
    }

    #[test]
    fn malformed_or_truncated_answers_never_succeed_or_panic() {
        let success = success("UpdateAccessKey");
        let text = success.body_text().into_owned();
        for cut in [1, 10, 30, text.len() / 2, text.len() - 3] {
            let body = &text.as_bytes()[..cut];
            let outcome = interpret(Action::UpdateAccessKey, &HttpResponse::new(200, body));
            assert_eq!(outcome.kind, OutcomeKind::ProviderError, "{cut}");
        }
        for body in [
            &b"<UpdateAccessKeyResponse><ResponseMetadata></UpdateAccessKeyResponse>"[..],
            b"<UpdateAccessKeyResponse/><UpdateAccessKeyResponse/>",
            b"<UpdateAccessKeyResponse/>garbage",
            b"\xff\xfe\xfd",
            b"{\"data\":null}",
        ] {
            let outcome = interpret(Action::UpdateAccessKey, &HttpResponse::new(200, body));
            assert_eq!(outcome.kind, OutcomeKind::ProviderError, "{body:?}");
        }
        // A truncated error keeps what was read before the cut.
        let error = error(
            404,
            "Sender",
            "NoSuchEntity",
            "The Access Key cannot be found.",
        );
        let text = error.body_text().into_owned();
        let cut = &text[..text.find("cannot").unwrap()];
        let outcome = interpret(Action::DeleteAccessKey, &HttpResponse::new(404, cut));
        assert_eq!(
            (outcome.kind, outcome.detail.as_str()),
            (OutcomeKind::NotFound, "NoSuchEntity")
        );
        let cut = &text[..text.find("Entity").unwrap()];
        let outcome = interpret(Action::DeleteAccessKey, &HttpResponse::new(404, cut));
        assert_eq!(outcome.kind, OutcomeKind::NotFound);
        assert!(
            outcome.detail.starts_with("<ErrorResponse"),
            "{}",
            outcome.detail
        );
    }

    #[test]
    fn huge_answers_give_a_bounded_detail() {
        let message = "m".repeat(1 << 20);
        let response = error(403, "Sender", "AccessDenied", &message);
        let outcome = interpret(Action::UpdateAccessKey, &response);
        assert_eq!(outcome.kind, OutcomeKind::Forbidden);
        assert_eq!(outcome.detail.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(outcome.detail.starts_with("AccessDenied: mmm"));

        let junk = "<x>".repeat(300_000);
        let outcome = interpret(Action::DeleteAccessKey, &HttpResponse::new(500, junk));
        assert_eq!(outcome.kind, OutcomeKind::ProviderError);
        assert!(outcome.detail.chars().count() <= 201);
    }

    #[test]
    fn messages_are_one_line() {
        let response = error(
            403,
            "Sender",
            "AccessDenied",
            "line one\nline two\t&amp; more  ",
        );
        let outcome = interpret(Action::UpdateAccessKey, &response);
        assert_eq!(outcome.detail, "AccessDenied: line one line two & more");
        // A message without a code still says something.
        let body = "<ErrorResponse><Error><Message>busy</Message></Error></ErrorResponse>";
        let outcome = interpret(Action::UpdateAccessKey, &HttpResponse::new(503, body));
        assert_eq!(
            (outcome.kind, outcome.detail.as_str()),
            (OutcomeKind::ProviderError, "busy")
        );
    }

    mod xml_shaped {
        use proptest::prelude::*;
        use proptest::sample::select;
        use proptest::test_runner::{Config, FileFailurePersistence};

        use super::*;

        /// Pieces of IAM answers, and of what breaks them.
        const PIECES: &[&str] = &[
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">",
            "</ErrorResponse>",
            "<Error>",
            "</Error>",
            "<Type>Sender</Type>",
            "<Code>",
            "</Code>",
            "<Message>",
            "</Message>",
            "<RequestId>",
            "</RequestId>",
            "<ResponseMetadata>",
            "</ResponseMetadata>",
            "<UpdateAccessKeyResponse>",
            "</UpdateAccessKeyResponse>",
            "<DeleteAccessKeyResponse/>",
            "<GetAccessKeyLastUsedResponse>",
            "</GetAccessKeyLastUsedResponse>",
            "<GetAccessKeyLastUsedResult>",
            "</GetAccessKeyLastUsedResult>",
            "<UserName>",
            "</UserName>",
            "bob",
            "NoSuchEntity",
            "AccessDenied",
            "Throttling",
            "&amp;",
            "&bogus;",
            "&#0;",
            "&#x1F600;",
            "&#xFFFFFFFF;",
            "<![CDATA[x]]>",
            "<!--c-->",
            "<?xml version=\"1.0\"?>",
            "<!DOCTYPE x [<!ENTITY e \"&e;\">]>",
            "<a b=\"c\">",
            "</a>",
            "\n",
            "<",
            ">",
            "\"",
            "\u{0}",
        ];

        proptest! {
            #![proptest_config(Config {
                cases: 1024,
                failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
                ..Config::default()
            })]

            #[test]
            fn never_panic_and_succeed_only_on_a_whole_answer(
                pieces in proptest::collection::vec(
                    prop_oneof![
                        select(PIECES).prop_map(str::to_owned),
                        "[^<&]{0,12}",
                    ],
                    0..48,
                ),
                status in prop_oneof![Just(200_u16), any::<u16>()],
            ) {
                let body = pieces.concat();
                let response = HttpResponse::new(status, body.as_str());
                for (action, element) in [
                    (Action::UpdateAccessKey, "UpdateAccessKeyResponse"),
                    (Action::DeleteAccessKey, "DeleteAccessKeyResponse"),
                    (Action::GetAccessKeyLastUsed, "GetAccessKeyLastUsedResponse"),
                ] {
                    let outcome = interpret(action, &response);
                    prop_assert!(outcome.detail.chars().count() <= MAX_DETAIL_CHARS + 1);
                    if outcome.kind.is_success() {
                        let lookup = action == Action::GetAccessKeyLastUsed;
                        let kind = if lookup { OutcomeKind::Created } else { OutcomeKind::Revoked };
                        prop_assert_eq!(outcome.kind, kind);
                        prop_assert_eq!(outcome.created.len(), usize::from(lookup));
                        prop_assert_eq!(status, 200);
                        prop_assert!(body.contains(element), "{}", body);
                    }
                }
            }
        }
    }
}
