//! The request GitHub documents: `POST /credentials/revoke` with the
//! credentials themselves in a JSON body, at most 1,000 of them.

use revoker_plugin_api::{HttpRequest, Method, Params, PluginError};
use serde::Serialize;

use crate::credential::{self, CREDENTIAL};

/// The endpoint's path.
pub(crate) const PATH: &str = "/credentials/revoke";

/// The most credentials one request may carry.
pub(crate) const MAX_BATCH: usize = 1000;

/// The API version the request is written for.
const API_VERSION: &str = "2022-11-28";

/// The body: `{"credentials": [...]}`.
#[derive(Serialize)]
struct Body<'a> {
    credentials: Vec<&'a str>,
}

/// One credential: a batch of one.
pub(crate) fn revoke_credential(params: &Params) -> Result<HttpRequest, PluginError> {
    plan(std::slice::from_ref(params), false)
}

/// The credentials of `items`, 1 to [`MAX_BATCH`] lines, in one request.
pub(crate) fn revoke_credentials(items: &[Params]) -> Result<HttpRequest, PluginError> {
    plan(items, true)
}

/// `POST /credentials/revoke`, `Accept: application/vnd.github+json`,
/// `X-GitHub-Api-Version: 2022-11-28`, body `{"credentials": [...]}`
/// (`Content-Type: application/json`); no `Authorization` (the auth kind is
/// `none`). `batch` says whether the lines are a batch, whose errors name the
/// line at fault by its place.
fn plan(items: &[Params], batch: bool) -> Result<HttpRequest, PluginError> {
    if items.is_empty() {
        return Err(PluginError::internal(
            "a batch of revoke-credential must have at least one line",
        ));
    }
    if items.len() > MAX_BATCH {
        return Err(PluginError::internal(format_args!(
            "a batch of {} lines is more than the {MAX_BATCH} credentials GitHub takes in one \
             request",
            items.len()
        )));
    }
    let credentials = items
        .iter()
        .enumerate()
        .map(|(i, params)| {
            let line = batch.then_some(i + 1);
            let Some(value) = params.get(CREDENTIAL) else {
                let mut error = PluginError::invalid_param(CREDENTIAL, "is required");
                if let Some(line) = line {
                    error.message = format!("{} (line {line} of the batch)", error.message).into();
                }
                return Err(error);
            };
            credential::check(value, line)?;
            Ok(value)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let body = serde_json::to_string(&Body { credentials })
        .map_err(|_| PluginError::internal("the request body could not be written"))?;
    Ok(HttpRequest::new(Method::Post, PATH)
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", API_VERSION)
        .json_body(body))
}

#[cfg(test)]
mod tests {
    use revoker_plugin_api::PluginErrorKind;

    use super::*;
    use crate::sample_token;

    fn line(value: &str) -> Params {
        Params::from_pairs([(CREDENTIAL, value)])
    }

    fn header<'r>(request: &'r HttpRequest, name: &str) -> Vec<&'r str> {
        request
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
            .collect()
    }

    #[test]
    fn one_credential_is_a_batch_of_one() {
        let token = sample_token("ghp_");
        let request = revoke_credential(&line(&token)).unwrap();
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.path, "/credentials/revoke");
        assert_eq!(
            request.body_text().unwrap(),
            format!(r#"{{"credentials":["{token}"]}}"#)
        );
        assert_eq!(header(&request, "accept"), ["application/vnd.github+json"]);
        assert_eq!(header(&request, "x-github-api-version"), ["2022-11-28"]);
        assert_eq!(header(&request, "content-type"), ["application/json"]);
        assert!(header(&request, "authorization").is_empty());
        assert_eq!(request.headers.len(), 3);
    }

    #[test]
    fn a_batch_of_1000_is_one_exact_json_body() {
        let tokens: Vec<String> = (0..1000)
            .map(|i| {
                let prefix = crate::credential::TOKEN_TYPES[i % 5].prefix;
                format!("{prefix}{i:04}")
            })
            .collect();
        let items: Vec<Params> = tokens.iter().map(|t| line(t)).collect();
        let request = revoke_credentials(&items).unwrap();
        let quoted: Vec<String> = tokens.iter().map(|t| format!("\"{t}\"")).collect();
        let expected = format!("{{\"credentials\":[{}]}}", quoted.join(","));
        assert_eq!(request.body_text().unwrap(), expected);
        assert!(expected.starts_with(r#"{"credentials":["ghp_0000","github_pat_0001","gho_0002""#));
        assert!(expected.ends_with(r#""ghr_0999"]}"#));
        let parsed: serde_json::Value = serde_json::from_str(&expected).unwrap();
        assert_eq!(parsed["credentials"].as_array().unwrap().len(), 1000);
    }

    #[test]
    fn credentials_are_escaped_as_json_strings() {
        let items = [
            line(r#"ghp_quote"and\backslash"#),
            line("gho_slash/</script>"),
            line("ghu_é日本\u{2028}"),
            line("ghr_\u{7f}"),
        ];
        // U+007F is a control character: refused before anything is sent.
        let err = revoke_credentials(&items).unwrap_err();
        assert!(
            err.message.contains("control characters"),
            "{}",
            err.message
        );
        let request = revoke_credentials(&items[..3]).unwrap();
        assert_eq!(
            request.body_text().unwrap(),
            "{\"credentials\":[\"ghp_quote\\\"and\\\\backslash\",\"gho_slash/</script>\",\
             \"ghu_é日本\u{2028}\"]}"
        );
        let parsed: serde_json::Value = serde_json::from_str(request.body_text().unwrap()).unwrap();
        assert_eq!(parsed["credentials"][0], r#"ghp_quote"and\backslash"#);
    }

    #[test]
    fn a_batch_is_between_one_and_1000_lines() {
        let err = revoke_credentials(&[]).unwrap_err();
        assert_eq!(err.kind, PluginErrorKind::Internal);
        assert!(err.message.contains("at least one line"), "{}", err.message);
        let items: Vec<Params> = (0..1001).map(|i| line(&format!("ghp_{i}"))).collect();
        let err = revoke_credentials(&items).unwrap_err();
        assert_eq!(err.kind, PluginErrorKind::Internal);
        assert_eq!(
            err.message,
            "a batch of 1001 lines is more than the 1000 credentials GitHub takes in one request"
        );
        assert!(revoke_credentials(&items[..1000]).is_ok());
    }

    #[test]
    fn a_bad_line_refuses_the_batch_naming_its_place_not_its_value() {
        let secret = "ghs_made-up-test-token-not-real";
        let items = [line(&sample_token("ghp_")), line(secret)];
        let err = revoke_credentials(&items).unwrap_err();
        assert_eq!(err.kind, PluginErrorKind::InvalidParam);
        assert!(
            err.message.ends_with("(line 2 of the batch)"),
            "{}",
            err.message
        );
        assert!(!err.message.contains(secret));
        assert!(!format!("{err:?}").contains(secret));

        let items = [line(&sample_token("ghp_")), Params::new()];
        let err = revoke_credentials(&items).unwrap_err();
        assert_eq!(
            err.message,
            "parameter \"credential\" is required (line 2 of the batch)"
        );
        let err = revoke_credential(&Params::new()).unwrap_err();
        assert_eq!(err.message, "parameter \"credential\" is required");
        let err = revoke_credential(&line(secret)).unwrap_err();
        assert!(err.message.ends_with("that does not"), "{}", err.message);
    }
}
