//! Planning: a request checked against its operation, planned by its plugin,
//! and the plan checked in turn (a relative path joined to the provider's base
//! URL, headers that cannot carry or displace a credential). Nothing is sent.

use std::borrow::Cow;
use std::sync::Arc;

use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};
use revoker_plugin_api::{HttpRequest, Method, Params};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::error::{Error, Result};
use crate::model::{ParamsJson, Request};
use crate::outbound;
use crate::plugin::PluginCallError;
use crate::provider::ProviderRuntime;

/// A request planned by its plugin and checked, ready to send.
#[derive(Debug, Clone)]
pub struct PlannedRequest {
    pub(crate) request: Request,
    pub(crate) idempotent: bool,
    pub(crate) http: HttpRequest,
    pub(crate) url: Url,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// The auth header as it may be shown (no secret in it), if there is one.
    pub(crate) shown_auth: Option<Arc<(HeaderName, String)>>,
    /// The operation's secret parameters, if it has any.
    pub(crate) secret: Option<Arc<[String]>>,
    /// For a batch: its lines' parameters, which the plugin reads its answer
    /// with.
    pub(crate) batch: Option<Arc<[Params]>>,
}

impl PlannedRequest {
    /// The request this was planned from.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The HTTP method.
    pub fn method(&self) -> Method {
        self.http.method
    }

    /// The full URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Whether the operation may be retried.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// What the provider would receive, as a digest: two plans with the same
    /// fingerprint are the same request (method, URL, headers, body) to the
    /// same provider, and sending one is sending both.
    pub(crate) fn fingerprint(&self) -> u128 {
        use sha2::{Digest as _, Sha256};
        let mut hasher = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_be_bytes());
            hasher.update(bytes);
        };
        field(self.request.provider.as_bytes());
        field(self.http.method.to_string().as_bytes());
        field(self.url.as_str().as_bytes());
        for (name, value) in &self.headers {
            field(name.as_str().as_bytes());
            field(value.as_bytes());
        }
        field(
            self.http
                .body
                .as_ref()
                .map_or(&[][..], |body| body.as_slice()),
        );
        let digest = hasher.finalize();
        let mut first = [0; 16];
        first.copy_from_slice(&digest[..16]);
        u128::from_be_bytes(first)
    }

    /// The parameters as they may be shown: secret values `<redacted>`.
    pub fn shown_params(&self) -> Cow<'_, Params> {
        match &self.secret {
            Some(secret) => Cow::Owned(shown_params(&self.request.params, secret)),
            None => Cow::Borrowed(&self.request.params),
        }
    }

    /// The request as it may be shown or recorded: secret values `<redacted>`.
    pub fn shown_request(&self) -> Request {
        Request {
            params: self.shown_params().into_owned(),
            ..self.request.clone()
        }
    }

    /// Every header that will be sent besides those of the HTTP client, the
    /// credential first, shown without its secret (`<prefix><redacted>`,
    /// `Basic <redacted>`, `signed with SigV4 (signature redacted)`), secret
    /// parameters' values `<redacted>` too.
    pub fn redacted_headers(&self) -> impl Iterator<Item = (&str, Cow<'_, str>)> {
        let credential = self
            .shown_auth
            .as_deref()
            .map(|(name, value)| (name.as_str(), Cow::Borrowed(value.as_str())));
        credential
            .into_iter()
            .chain(self.headers.iter().map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes());
                (name.as_str(), self.redact_secrets(value))
            }))
    }

    /// The URL as it may be shown: secret parameters' values `<redacted>`.
    pub fn shown_url(&self) -> Cow<'_, str> {
        self.redact_secrets(Cow::Borrowed(self.url.as_str()))
    }

    /// The body as it may be shown (as text): secret parameters' values
    /// `<redacted>`, however the plugin wrote them in (as they are, JSON- or
    /// percent-encoded).
    pub fn shown_body(&self) -> Option<Cow<'_, str>> {
        self.body()
            .map(|body| self.redact_secrets(String::from_utf8_lossy(body)))
    }

    /// The body as it will be sent, if there is one: secret values included;
    /// show [`PlannedRequest::shown_body`] instead.
    pub fn body(&self) -> Option<&[u8]> {
        self.http
            .body
            .as_ref()
            .into_option()
            .map(|body| body.as_slice())
    }

    /// `text` with every form of every secret parameter's value replaced.
    fn redact_secrets<'t>(&self, text: Cow<'t, str>) -> Cow<'t, str> {
        match &self.secret {
            Some(secret) => redact_secrets(text, &self.request.params, secret),
            None => text,
        }
    }
}

/// `params` as they may be shown or recorded: the value of each parameter
/// named in `secret` replaced by `<redacted sha256:…>`, its fingerprint (a
/// truncated SHA-256, the one the findings reports name a secret by), so that
/// a line is told apart from another in every record without its value.
pub(crate) fn shown_params(params: &Params, secret: &[String]) -> Params {
    let mut shown = Params::new();
    for param in params.iter() {
        if secret
            .iter()
            .any(|name| name.as_str() == param.name.as_str())
        {
            let fingerprint = crate::findings::Fingerprint::of(param.value.as_bytes());
            shown.insert(&param.name, &format!("<redacted {fingerprint}>"));
        } else {
            shown.insert(&param.name, &param.value);
        }
    }
    shown
}

/// `text` with every form of the value in `params` of each parameter named in
/// `secret` replaced by `<redacted>`: as it is, JSON-, percent- or
/// form-encoded.
pub(crate) fn redact_secrets<'t>(
    text: Cow<'t, str>,
    params: &Params,
    secret: &[String],
) -> Cow<'t, str> {
    redact_forms(text, secret_forms(params, secret))
}

/// Every form (as it is, JSON-, percent- or form-encoded) of the value in
/// `params` of each parameter named in `secret`.
pub(crate) fn secret_forms(params: &Params, secret: &[String]) -> Vec<String> {
    let mut forms = Vec::new();
    for name in secret {
        let Some(value) = params.get(name).filter(|v| !v.is_empty()) else {
            continue;
        };
        let json = serde_json::to_string(value).unwrap_or_default();
        forms.extend([
            value.to_owned(),
            json.trim_matches('"').to_owned(),
            revoker_plugin_api::encode_path_segment(value),
            url::form_urlencoded::byte_serialize(value.as_bytes()).collect(),
        ]);
    }
    forms.retain(|f| !f.is_empty());
    forms
}

/// `text` with each of `forms` replaced by `<redacted>`, the longest first (a
/// shorter secret may be part of a longer one, of this line or another).
pub(crate) fn redact_forms(text: Cow<'_, str>, mut forms: Vec<String>) -> Cow<'_, str> {
    let mut text = text;
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    for form in forms {
        if text.contains(form.as_str()) {
            text = Cow::Owned(text.replace(form.as_str(), "<redacted>"));
        }
    }
    text
}

/// A [`PlannedRequest`] as the JSON object of a dry run: the request, its
/// parameters, and the HTTP request it would send with the credential redacted;
/// `line` for a bulk line.
#[derive(Debug, Clone, Copy)]
pub struct PlannedJson<'a> {
    /// The planned request.
    pub planned: &'a PlannedRequest,
    /// The bulk input line it came from.
    pub line: Option<u64>,
    /// The earlier line of the same bulk input with the same request, which
    /// alone would be sent.
    pub duplicate_of: Option<u64>,
}

impl Serialize for PlannedJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        struct Headers<'a>(&'a PlannedRequest);
        impl Serialize for Headers<'_> {
            fn serialize<S: Serializer>(
                &self,
                serializer: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.redacted_headers())
            }
        }
        struct Http<'a>(&'a PlannedRequest);
        impl Serialize for Http<'_> {
            fn serialize<S: Serializer>(
                &self,
                serializer: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(4))?;
                map.serialize_entry("method", self.0.method().as_str())?;
                map.serialize_entry("url", &self.0.shown_url())?;
                map.serialize_entry("headers", &Headers(self.0))?;
                map.serialize_entry("body", &self.0.shown_body())?;
                map.end()
            }
        }
        let request = &self.planned.request;
        let mut map = serializer.serialize_map(None)?;
        if let Some(line) = self.line {
            map.serialize_entry("line", &line)?;
        }
        map.serialize_entry("dry_run", &true)?;
        if let Some(first) = self.duplicate_of {
            map.serialize_entry("duplicate_of", &first)?;
        }
        map.serialize_entry("provider", &request.provider)?;
        map.serialize_entry("operation", &request.operation)?;
        map.serialize_entry("params", &ParamsJson(&self.planned.shown_params()))?;
        map.serialize_entry("request", &Http(self.planned))?;
        map.end()
    }
}

/// Validates `request` against `provider`'s operation, has the plugin plan it,
/// and checks what it planned.
///
/// # Errors
///
/// [`Error::UnknownOperation`] or [`Error::InvalidParams`] for a bad request;
/// [`Error::PluginFailed`] if the plugin failed or planned a request the host
/// refuses to send.
pub(crate) fn plan(
    provider: &ProviderRuntime,
    mut request: Request,
) -> Result<PlannedRequest, Box<(Request, Error)>> {
    // The credential's public parts (an account id, say) fill the parameters
    // they are declared for, unless the request gives them.
    for (param, value) in &provider.part_params {
        if request.params.get(param).is_none()
            && provider
                .plugin()
                .operation(&request.operation)
                .is_some_and(|op| op.params.iter().any(|p| p.name == param.as_str()))
        {
            request.params.insert(param, value);
        }
    }
    match checked(provider, &request) {
        Ok((http, url, headers, idempotent)) => Ok(PlannedRequest {
            idempotent,
            http,
            url,
            headers,
            shown_auth: provider.shown_auth.clone(),
            secret: provider.plugin().secret_params(&request.operation).cloned(),
            batch: None,
            request,
        }),
        Err(error) => Err(Box::new((request, error))),
    }
}

/// Why a batch could not be planned.
#[derive(Debug)]
pub(crate) enum BatchPlanError {
    /// The plugin refused one of its lines' parameters: planned alone, only
    /// the bad line fails.
    Invalid,
    /// The plugin failed, or planned a request the host refuses to send.
    Failed(Error),
}

/// Plans one request for `lines`, each already planned alone, of a batched
/// operation: the plugin's `plan_batch`, checked as any plan. The batch is
/// named, where a request's parameters are (the audit log), by its lines'
/// numbers in `numbers`, never by their values.
pub(crate) fn plan_batch(
    provider: &ProviderRuntime,
    lines: &[PlannedRequest],
    numbers: &[u64],
) -> std::result::Result<PlannedRequest, BatchPlanError> {
    let first = &lines.first().expect("a batch has a line").request;
    let items: Vec<Params> = lines.iter().map(|l| l.request.params.clone()).collect();
    let failed = |message: String| {
        BatchPlanError::Failed(Error::PluginFailed {
            provider: first.provider.clone(),
            message,
        })
    };
    let http = provider
        .plugin()
        .plan_batch(&first.operation, &items)
        .map_err(|e| match e {
            PluginCallError::Invalid(_) => BatchPlanError::Invalid,
            PluginCallError::Failed(message) => failed(message),
        })?;
    let unsafe_request = |why: String| {
        let why = lines
            .iter()
            .fold(Cow::Owned(why), |why, line| line.redact_secrets(why));
        failed(format!(
            "plugin {} planned a request the host refuses to send: {why}",
            first.provider
        ))
    };
    let url = outbound::join_url(&provider.base_url, &http.path).map_err(unsafe_request)?;
    let headers =
        outbound::checked_headers(&http, &provider.owned_headers).map_err(unsafe_request)?;
    let numbers = numbers
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    Ok(PlannedRequest {
        request: Request::new(
            first.provider.clone(),
            first.operation.clone(),
            Params::from_pairs([("lines", numbers.as_str())]),
        ),
        idempotent: true,
        http,
        url,
        headers,
        shown_auth: provider.shown_auth.clone(),
        secret: None,
        batch: Some(items.into()),
    })
}

type Checked = (HttpRequest, Url, Vec<(HeaderName, HeaderValue)>, bool);

fn checked(provider: &ProviderRuntime, request: &Request) -> Result<Checked> {
    let plugin = provider.plugin();
    let operation =
        plugin
            .operation(&request.operation)
            .ok_or_else(|| Error::UnknownOperation {
                provider: request.provider.clone(),
                operation: request.operation.clone(),
                known: plugin
                    .manifest()
                    .operations
                    .iter()
                    .map(|op| op.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
    let secret = plugin.secret_params(&request.operation);
    let invalid = |error: revoker_plugin_api::PluginError| {
        let param = error.param.as_ref().into_option().map(|p| p.to_string());
        let mut message = error.message.to_string();
        // A message may quote the value it refuses: not a secret one.
        if let Some(name) = &param
            && secret.is_some_and(|secret| secret.contains(name))
            && let Some(value) = request.params.get(name).filter(|v| !v.is_empty())
        {
            message = message.replace(value, "<redacted>");
        }
        Error::InvalidParams {
            provider: request.provider.clone(),
            operation: request.operation.clone(),
            param,
            message,
        }
    };
    operation.check_params(&request.params).map_err(invalid)?;
    let failed = |message: String| Error::PluginFailed {
        provider: request.provider.clone(),
        message,
    };
    let http = plugin
        .plan(&request.operation, &request.params)
        .map_err(|e| match e {
            PluginCallError::Invalid(error) => invalid(error),
            PluginCallError::Failed(message) => failed(message),
        })?;
    let unsafe_request = |why: String| {
        // The refused path may hold a secret parameter's value.
        let why = redact_secrets(Cow::Owned(why), &request.params, secret.map_or(&[], |s| s));
        failed(format!(
            "plugin {} planned a request the host refuses to send: {why}",
            request.provider
        ))
    };
    let url = outbound::join_url(&provider.base_url, &http.path).map_err(unsafe_request)?;
    let headers =
        outbound::checked_headers(&http, &provider.owned_headers).map_err(unsafe_request)?;
    Ok((http, url, headers, operation.idempotent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(token: &str, path: &str, body: &str) -> PlannedRequest {
        let url = Url::parse("https://api.example.com")
            .unwrap()
            .join(path)
            .unwrap();
        PlannedRequest {
            request: Request::new(
                "acme",
                "revoke-token",
                Params::from_pairs([("token", token), ("id", "k1")]),
            ),
            idempotent: true,
            http: HttpRequest::new(Method::Post, path).json_body(body.to_owned()),
            url,
            headers: vec![(
                HeaderName::from_static("x-token"),
                HeaderValue::from_str(token).unwrap(),
            )],
            shown_auth: Some(Arc::new((
                HeaderName::from_static("authorization"),
                "Bearer <redacted>".to_owned(),
            ))),
            secret: Some(Arc::from(vec!["token".to_owned()])),
            batch: None,
        }
    }

    #[test]
    fn a_longer_secret_is_redacted_before_a_shorter_one_it_holds() {
        let short = Params::from_pairs([("token", "ghp_AAAA")]);
        let long = Params::from_pairs([("token", "ghp_AAAABBBBCCCC")]);
        let secret = ["token".to_owned()];
        let forms = [secret_forms(&short, &secret), secret_forms(&long, &secret)].concat();
        let text = redact_forms(Cow::Borrowed("bad: ghp_AAAABBBBCCCC and ghp_AAAA"), forms);
        assert_eq!(text, "bad: <redacted> and <redacted>");
    }

    #[test]
    fn a_shown_secret_parameter_is_named_by_its_fingerprint_only() {
        let params = Params::from_pairs([("credential", "ghp_made-up-1"), ("note", "n")]);
        let shown = shown_params(&params, &["credential".to_owned()]);
        let value = shown.get("credential").unwrap();
        assert!(value.starts_with("<redacted sha256:"), "{value}");
        assert!(!value.contains("made-up"), "{value}");
        assert_eq!(shown.get("note"), Some("n"));
        // The same secret, the same name; another, another.
        let again = shown_params(&params, &["credential".to_owned()]);
        assert_eq!(again.get("credential"), Some(value));
        let other = Params::from_pairs([("credential", "ghp_made-up-2")]);
        let other = shown_params(&other, &["credential".to_owned()]);
        assert_ne!(other.get("credential"), Some(value));
    }

    #[test]
    fn a_secret_parameter_is_redacted_wherever_the_plugin_put_it() {
        let token = "s3cr\"et/tok en";
        let encoded = revoker_plugin_api::encode_path_segment(token);
        let form: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        let plan = planned(
            token,
            &format!("/revoke/{encoded}?t={form}"),
            &format!(
                "{{\"token\":{},\"id\":\"k1\"}}",
                serde_json::to_string(token).unwrap()
            ),
        );
        let shown = [
            plan.shown_url().into_owned(),
            plan.shown_body().unwrap().into_owned(),
            plan.redacted_headers()
                .map(|(name, value)| format!("{name}: {value}"))
                .collect::<Vec<_>>()
                .join("\n"),
            serde_json::to_string(&PlannedJson {
                planned: &plan,
                line: Some(1),
                duplicate_of: None,
            })
            .unwrap(),
        ];
        for text in &shown {
            for form in [token, "s3cr\\\"et/tok en", &encoded, &form, "s3cr"] {
                assert!(!text.contains(form), "{form:?} in {text}");
            }
            assert!(text.contains("<redacted>"), "{text}");
        }
        assert!(shown[1].contains("\"id\":\"k1\""), "{}", shown[1]);
        // What is sent is untouched.
        assert!(String::from_utf8_lossy(plan.body().unwrap()).contains("s3cr"));
    }
}
