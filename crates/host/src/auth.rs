//! Authentication: a provider's credential, in the parts its plugin's auth kind
//! names, and how each request carries it (a header, HTTP Basic, an AWS SigV4
//! signature, an OAuth 2.0 token, or nothing).
//!
//! The plugin only declares the kind ([`AuthSpec`]); everything that touches a
//! secret happens here, in the host. Nothing here logs, and what may be shown
//! of a request's auth ([`shown`]) is built from the kind alone.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use reqwest::{Client, Url};
use revoker_plugin_api::Auth as AuthSpec;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

/// Headers an auth kind sets itself, which no plugin may set.
pub(crate) fn owned_headers(spec: &AuthSpec) -> Vec<HeaderName> {
    let mut owned = vec![AUTHORIZATION];
    match spec.kind.as_str() {
        "header" => {
            if let Some(name) = spec
                .setting("header")
                .and_then(|h| HeaderName::from_bytes(h.as_bytes()).ok())
            {
                owned.push(name);
            }
        }
        "aws-sigv4" => owned.extend(
            ["x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]
                .map(HeaderName::from_static),
        ),
        _ => {}
    }
    owned
}

/// The auth header as a dry run or `-v` may show it, with no secret in it:
/// `None` for auth kind `none`.
pub(crate) fn shown(spec: &AuthSpec) -> Option<(HeaderName, String)> {
    let (name, value) = match spec.kind.as_str() {
        "header" => (
            HeaderName::from_bytes(spec.setting("header").unwrap_or_default().as_bytes()).ok()?,
            format!("{}<redacted>", spec.setting("prefix").unwrap_or_default()),
        ),
        "basic" => (AUTHORIZATION, "Basic <redacted>".to_owned()),
        "aws-sigv4" => (
            AUTHORIZATION,
            "signed with SigV4 (signature redacted)".to_owned(),
        ),
        "oauth2-client-credentials" => (
            AUTHORIZATION,
            "Bearer <redacted> (an OAuth2 client-credentials token)".to_owned(),
        ),
        _ => return None,
    };
    Some((name, value))
}

/// A provider's credential parts, by name, as read.
#[derive(Default)]
pub(crate) struct Parts(BTreeMap<String, SecretString>);

impl fmt::Debug for Parts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Parts {
    pub(crate) fn insert(&mut self, part: &str, value: SecretString) {
        self.0.insert(part.to_owned(), value);
    }

    pub(crate) fn get(&self, part: &str) -> Option<&SecretString> {
        self.0.get(part)
    }

    fn take(&mut self, part: &str) -> Option<SecretString> {
        self.0.remove(part)
    }
}

/// How each request to a provider is authenticated, credential included.
pub(crate) enum Authenticator {
    /// `<name>: <prefix><credential>`, or HTTP Basic (a header just the same).
    Header {
        name: HeaderName,
        value: HeaderValue,
    },
    /// AWS Signature Version 4.
    SigV4(SigV4),
    /// OAuth 2.0 client credentials: a token fetched, cached and sent as
    /// `Bearer`.
    OAuth2(Box<OAuth2>),
    /// No credential.
    None,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header { .. } => "Authenticator::Header(<redacted>)",
            Self::SigV4(_) => "Authenticator::SigV4(<redacted>)",
            Self::OAuth2(_) => "Authenticator::OAuth2(<redacted>)",
            Self::None => "Authenticator::None",
        })
    }
}

/// Why a request could not be authenticated; it was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// The provider refused the credential before the request (the token
    /// endpoint said no): the outcome is `unauthorized`.
    Refused(String),
    /// The credential could not be obtained for now (the token endpoint was
    /// unreachable or failed): the request was not sent, and may be retried.
    Unavailable(String),
}

/// A header value that `http`'s own `Debug` hides too.
fn sensitive(value: String) -> Result<HeaderValue, String> {
    let mut value = HeaderValue::from_str(&value).map_err(|_| {
        "the credential holds characters an HTTP header cannot carry (a newline?)".to_owned()
    })?;
    value.set_sensitive(true);
    Ok(value)
}

impl Authenticator {
    /// The authenticator of `spec` with `parts`, for a provider at `base_url`;
    /// `Ok(None)` if a required part is missing (the caller says which, and
    /// where it was looked for).
    ///
    /// # Errors
    ///
    /// A part that cannot be used (a header cannot carry it); the message
    /// does not repeat it.
    pub(crate) fn new(
        spec: &AuthSpec,
        mut parts: Parts,
        base_url: &Url,
    ) -> Result<Option<Self>, String> {
        if spec
            .parts
            .iter()
            .any(|p| p.required && parts.get(&p.name).is_none())
        {
            return Ok(None);
        }
        let mut part = |name: &str| parts.take(name).expect("checked above");
        Ok(Some(match spec.kind.as_str() {
            "header" => Self::Header {
                name: HeaderName::from_bytes(spec.setting("header").unwrap_or_default().as_bytes())
                    .map_err(|_| "the credential header is not a header name".to_owned())?,
                value: sensitive(format!(
                    "{}{}",
                    spec.setting("prefix").unwrap_or_default(),
                    part("credential").expose_secret()
                ))?,
            },
            "basic" => Self::Header {
                name: AUTHORIZATION,
                value: basic(
                    part("user").expose_secret(),
                    part("password").expose_secret(),
                )?,
            },
            "aws-sigv4" => Self::SigV4(SigV4 {
                service: spec.setting("service").unwrap_or_default().to_owned(),
                region: spec.setting("region").unwrap_or_default().to_owned(),
                access_key_id: part("access-key-id"),
                secret_access_key: part("secret-access-key"),
                session_token: parts.take("session-token"),
            }),
            "oauth2-client-credentials" => {
                let path = spec.setting("token-path").unwrap_or_default();
                let token_url = crate::outbound::join_url(base_url, path)?;
                Self::OAuth2(Box::new(OAuth2 {
                    token_url,
                    scope: spec.setting("scope").unwrap_or_default().to_owned(),
                    client: basic(
                        &form_encoded(part("client-id").expose_secret()),
                        &form_encoded(part("client-secret").expose_secret()),
                    )?,
                    token: Mutex::new(None),
                }))
            }
            _ => Self::None,
        }))
    }

    /// Authenticates `request`, about to be sent with `client`; the OAuth2
    /// token it carries, if it does, to give [`Authenticator::answered`].
    ///
    /// # Errors
    ///
    /// Why it could not be: it must not be sent.
    pub(crate) async fn authorize(
        &self,
        client: &Client,
        request: &mut reqwest::Request,
    ) -> Result<Option<SentToken>, AuthFailure> {
        match self {
            Self::Header { name, value } => {
                request.headers_mut().insert(name.clone(), value.clone());
            }
            Self::SigV4(signer) => {
                for (name, value) in signer
                    .sign(request, SystemTime::now())
                    .map_err(AuthFailure::Refused)?
                {
                    request.headers_mut().insert(name, value);
                }
            }
            Self::OAuth2(oauth) => {
                let sent = oauth.bearer(client).await?;
                request
                    .headers_mut()
                    .insert(AUTHORIZATION, sent.bearer.clone());
                return Ok(Some(sent));
            }
            Self::None => {
                request.headers_mut().remove(AUTHORIZATION);
            }
        }
        Ok(None)
    }

    /// Tells it that the provider answered `status` to a request it
    /// authenticated, with `sent` the OAuth2 token it carried: a token the
    /// provider no longer takes (401) is dropped, unless another has replaced
    /// it already, so the next request fetches another. Whether the request
    /// is worth sending again: its token was cached before it (revoked or
    /// rotated since, perhaps), so a new one may be taken; a token fetched for
    /// it and refused at once would be refused again.
    pub(crate) async fn answered(&self, status: u16, sent: Option<&SentToken>) -> bool {
        let (Self::OAuth2(oauth), Some(sent)) = (self, sent) else {
            return false;
        };
        if status != 401 {
            return false;
        }
        let mut cached = oauth.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.bearer == sent.bearer) {
            *cached = None;
        }
        sent.cached
    }
}

/// The OAuth2 token a request was sent with.
pub(crate) struct SentToken {
    bearer: HeaderValue,
    /// Whether it was cached before the request (not fetched for it).
    cached: bool,
}

/// `Basic base64(user:password)`.
fn basic(user: &str, password: &str) -> Result<HeaderValue, String> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    sensitive(format!("Basic {encoded}"))
}

/// `application/x-www-form-urlencoded`, as RFC 6749 §2.3.1 has client ids and
/// secrets encoded before Basic.
fn form_encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `text` on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// AWS SigV4 credentials and scope.
pub(crate) struct SigV4 {
    service: String,
    region: String,
    access_key_id: SecretString,
    secret_access_key: SecretString,
    session_token: Option<SecretString>,
}

impl SigV4 {
    /// The headers that sign `request` at `time`: `Authorization`,
    /// `X-Amz-Date` and, with a session token, `X-Amz-Security-Token`.
    ///
    /// # Errors
    ///
    /// If the request cannot be signed (the message holds no secret).
    pub(crate) fn sign(
        &self,
        request: &reqwest::Request,
        time: SystemTime,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        use aws_smithy_runtime_api::client::identity::Identity;

        let identity: Identity = aws_credential_types::Credentials::new(
            self.access_key_id.expose_secret(),
            self.secret_access_key.expose_secret(),
            self.session_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            None,
            "revoker",
        )
        .into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("cannot sign for SigV4: {e}"))?
            .into();
        let headers: Vec<(&str, String)> = request
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?.to_owned())))
            .collect();
        let host = request
            .url()
            .host_str()
            .map(|host| match request.url().port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            })
            .unwrap_or_default();
        let body = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .unwrap_or_default();
        let signable = SignableRequest::new(
            request.method().as_str(),
            request.url().as_str(),
            headers
                .iter()
                .map(|(name, value)| (*name, value.as_str()))
                .chain(std::iter::once(("host", host.as_str()))),
            SignableBody::Bytes(body),
        )
        .map_err(|e| format!("cannot sign for SigV4: {e}"))?;
        // The signer traces its canonical request (which holds a session
        // token) and its inputs: none of that may reach a log, whatever
        // subscriber the embedding program has.
        let output =
            tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
                sign(signable, &params)
            })
            .map_err(|e| format!("cannot sign for SigV4: {e}"))?;
        let (instructions, _signature) = output.into_parts();
        let (headers, _params) = instructions.into_parts();
        headers
            .into_iter()
            .map(|header| {
                let name = HeaderName::from_static(header.name());
                let mut value = HeaderValue::from_str(header.value())
                    .map_err(|_| "the credential holds characters a header cannot carry")?;
                value.set_sensitive(true);
                Ok((name, value))
            })
            .collect()
    }
}

/// An OAuth 2.0 client-credentials grant (RFC 6749 §4.4), its token cached.
pub(crate) struct OAuth2 {
    token_url: Url,
    scope: String,
    /// `Basic` with the client id and secret.
    client: HeaderValue,
    token: Mutex<Option<Token>>,
}

struct Token {
    bearer: HeaderValue,
    /// When to fetch another: a little before it expires.
    renew_at: Instant,
}

/// How long a token that states no lifetime is used before another is asked
/// for.
const UNSTATED_LIFETIME: Duration = Duration::from_secs(300);
/// The most a token endpoint's answer is read.
const TOKEN_BODY_LIMIT: usize = 64 * 1024;

impl OAuth2 {
    /// `Bearer <token>`: the cached token, or a new one.
    async fn bearer(&self, client: &Client) -> Result<SentToken, AuthFailure> {
        // One fetch at a time: requests waiting for it use its token.
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.renew_at
        {
            return Ok(SentToken {
                bearer: token.bearer.clone(),
                cached: true,
            });
        }
        let token = self.fetch(client).await?;
        let bearer = token.bearer.clone();
        *cached = Some(token);
        Ok(SentToken {
            bearer,
            cached: false,
        })
    }

    async fn fetch(&self, client: &Client) -> Result<Token, AuthFailure> {
        let endpoint = format!("the OAuth2 token endpoint {}", self.token_url.path());
        let mut form = vec![("grant_type", "client_credentials")];
        if !self.scope.is_empty() {
            form.push(("scope", self.scope.as_str()));
        }
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let asked = Instant::now();
        let mut response = client
            .post(self.token_url.clone())
            .header(AUTHORIZATION, self.client.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                AuthFailure::Unavailable(format!(
                    "{endpoint} could not be reached: {}",
                    one_line(&e.to_string())
                ))
            })?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            bytes.extend_from_slice(&chunk[..chunk.len().min(TOKEN_BODY_LIMIT - bytes.len())]);
            if bytes.len() >= TOKEN_BODY_LIMIT {
                break;
            }
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            // Wrapped in a SecretString as soon as it is read; no Debug here.
            access_token: Option<String>,
            token_type: Option<String>,
            expires_in: Option<serde_json::Value>,
            error: Option<String>,
        }
        let answer: Option<Answer> = serde_json::from_slice(&bytes).ok();
        if !(200..300).contains(&status) {
            // RFC 6749 §5.2: `error` names why; it is a fixed code, not a secret.
            let code = answer
                .and_then(|a| a.error)
                .filter(|e| e.len() <= 64 && e.bytes().all(|b| b.is_ascii_graphic()))
                .map_or_else(String::new, |e| format!(" ({e})"));
            let why = format!("{endpoint} answered {status}{code}");
            return Err(if matches!(status, 400 | 401 | 403) {
                AuthFailure::Refused(format!("{why}: the client id and secret were refused"))
            } else {
                AuthFailure::Unavailable(why)
            });
        }
        let Some(answer) = answer else {
            return Err(AuthFailure::Unavailable(format!(
                "{endpoint} answered {status} without a JSON token"
            )));
        };
        let Some(token) = answer
            .access_token
            .filter(|t| !t.is_empty())
            .map(SecretString::from)
        else {
            return Err(AuthFailure::Unavailable(format!(
                "{endpoint} answered {status} without an access_token"
            )));
        };
        if let Some(kind) = &answer.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(AuthFailure::Refused(format!(
                "{endpoint} gave a token of type {:?}, not a bearer token",
                one_line(kind)
            )));
        }
        // RFC 6749 §5.1: seconds, a number (some servers send a string).
        let lifetime = match &answer.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(UNSTATED_LIFETIME, |s| {
            Duration::from_secs_f64(s.min(86_400.0))
        });
        // Renewed a little early (a tenth of its life, at most a minute), so
        // it does not expire on the way.
        let margin = (lifetime / 10).min(Duration::from_secs(60));
        let bearer = sensitive(format!("Bearer {}", token.expose_secret())).map_err(|_| {
            AuthFailure::Unavailable(format!(
                "{endpoint} gave a token an HTTP header cannot carry"
            ))
        })?;
        Ok(Token {
            bearer,
            renew_at: asked + lifetime - margin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's SigV4 test suite: its credentials, scope and time.
    const SUITE_KEY_ID: &str = "AKIDEXAMPLE";
    const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const SUITE_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
    /// 2015-08-30T12:36:00Z.
    const SUITE_TIME: u64 = 1_440_938_160;

    fn suite_signer(token: Option<&str>) -> SigV4 {
        SigV4 {
            service: "service".into(),
            region: "us-east-1".into(),
            access_key_id: SUITE_KEY_ID.into(),
            secret_access_key: SUITE_SECRET.into(),
            session_token: token.map(SecretString::from),
        }
    }

    fn signed(
        signer: &SigV4,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> BTreeMap<String, String> {
        let mut request = reqwest::Request::new(method, Url::parse(url).unwrap());
        for (name, value) in headers {
            request.headers_mut().insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        if let Some(body) = body {
            *request.body_mut() = Some(body.to_owned().into());
        }
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(SUITE_TIME);
        signer
            .sign(&request, time)
            .unwrap()
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect()
    }

    const SCOPE: &str = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";

    #[test]
    fn sigv4_matches_the_suite_get_vanilla() {
        let headers = signed(
            &suite_signer(None),
            reqwest::Method::GET,
            "https://example.amazonaws.com/",
            &[],
            None,
        );
        assert_eq!(headers["x-amz-date"], "20150830T123600Z");
        assert_eq!(
            headers["authorization"],
            format!(
                "AWS4-HMAC-SHA256 {SCOPE}, SignedHeaders=host;x-amz-date, \
                 Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
            )
        );
        assert!(!headers.contains_key("x-amz-content-sha256"));
    }

    #[test]
    fn sigv4_matches_the_suite_get_vanilla_query_order_key_case() {
        let headers = signed(
            &suite_signer(None),
            reqwest::Method::GET,
            "https://example.amazonaws.com/?Param2=value2&Param1=value1",
            &[],
            None,
        );
        assert_eq!(
            headers["authorization"],
            format!(
                "AWS4-HMAC-SHA256 {SCOPE}, SignedHeaders=host;x-amz-date, \
                 Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
            )
        );
    }

    #[test]
    fn sigv4_matches_the_suite_post_x_www_form_urlencoded() {
        let headers = signed(
            &suite_signer(None),
            reqwest::Method::POST,
            "https://example.amazonaws.com/",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some("Param1=value1"),
        );
        assert_eq!(
            headers["authorization"],
            format!(
                "AWS4-HMAC-SHA256 {SCOPE}, SignedHeaders=content-type;host;x-amz-date, \
                 Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
            )
        );
    }

    #[test]
    fn sigv4_matches_the_suite_post_sts_header_before() {
        let headers = signed(
            &suite_signer(Some(SUITE_TOKEN)),
            reqwest::Method::POST,
            "https://example.amazonaws.com/",
            &[],
            None,
        );
        assert_eq!(headers["x-amz-security-token"], SUITE_TOKEN);
        assert_eq!(
            headers["authorization"],
            format!(
                "AWS4-HMAC-SHA256 {SCOPE}, SignedHeaders=host;x-amz-date;x-amz-security-token, \
                 Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"
            )
        );
    }

    #[test]
    fn a_port_in_the_base_url_is_part_of_the_signed_host() {
        let on_port = signed(
            &suite_signer(None),
            reqwest::Method::GET,
            "http://127.0.0.1:4000/",
            &[],
            None,
        );
        let without = signed(
            &suite_signer(None),
            reqwest::Method::GET,
            "http://127.0.0.1/",
            &[],
            None,
        );
        assert_ne!(on_port["authorization"], without["authorization"]);
    }

    #[test]
    fn signing_logs_nothing_even_at_trace() {
        use std::sync::{Arc, Mutex as StdMutex};
        #[derive(Clone, Default)]
        struct Capture(Arc<StdMutex<Vec<u8>>>);
        impl std::io::Write for Capture {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        struct Events(Capture);
        impl tracing::Subscriber for Events {
            fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
                true
            }
            fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
                tracing::span::Id::from_u64(1)
            }
            fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
            fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
            fn event(&self, event: &tracing::Event<'_>) {
                struct V<'a>(&'a mut Capture);
                impl tracing::field::Visit for V<'_> {
                    fn record_debug(&mut self, _: &tracing::field::Field, value: &dyn fmt::Debug) {
                        use std::io::Write as _;
                        let _ = write!(self.0, "{value:?}");
                    }
                }
                let mut capture = self.0.clone();
                event.record(&mut V(&mut capture));
            }
            fn enter(&self, _: &tracing::span::Id) {}
            fn exit(&self, _: &tracing::span::Id) {}
        }
        let capture = Capture::default();
        tracing::subscriber::with_default(Events(capture.clone()), || {
            tracing::trace!("the capture works");
            signed(
                &suite_signer(Some(SUITE_TOKEN)),
                reqwest::Method::POST,
                "https://example.amazonaws.com/",
                &[],
                Some("Param1=value1"),
            );
        });
        let logged = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("the capture works"), "{logged}");
        assert!(!logged.contains("AQoDYXdz"), "the session token was logged");
        assert!(!logged.contains("canonical"), "{logged}");
    }

    #[test]
    fn basic_encodes_user_and_password() {
        let value = basic("ACxxxx", "t0k:en").unwrap();
        assert!(value.is_sensitive());
        assert_eq!(value.to_str().unwrap(), "Basic QUN4eHh4OnQwazplbg==");
    }

    #[test]
    fn shown_auth_holds_no_secret_and_names_the_kind() {
        let spec = AuthSpec::aws_sigv4("iam", "us-east-1");
        let (name, value) = shown(&spec).unwrap();
        assert_eq!(name, AUTHORIZATION);
        assert_eq!(value, "signed with SigV4 (signature redacted)");
        assert_eq!(
            shown(&AuthSpec::basic("U", "P")).unwrap().1,
            "Basic <redacted>"
        );
        assert_eq!(
            shown(&AuthSpec::header("X-Key", "Token ", "K")).unwrap(),
            (HeaderName::from_static("x-key"), "Token <redacted>".into())
        );
        assert_eq!(shown(&AuthSpec::none()), None);
        assert!(owned_headers(&spec).contains(&HeaderName::from_static("x-amz-date")));
    }

    #[tokio::test]
    async fn a_refused_cached_token_is_dropped_and_its_request_worth_sending_again() {
        let bearer = |t: &str| sensitive(format!("Bearer {t}")).unwrap();
        let oauth = |cached: Option<&str>| {
            Authenticator::OAuth2(Box::new(OAuth2 {
                token_url: Url::parse("http://127.0.0.1:9/oauth/token").unwrap(),
                scope: String::new(),
                client: basic("id", "secret").unwrap(),
                token: Mutex::new(cached.map(|t| Token {
                    bearer: bearer(t),
                    renew_at: Instant::now() + Duration::from_secs(3600),
                })),
            }))
        };
        let sent = |t: &str, cached| SentToken {
            bearer: bearer(t),
            cached,
        };
        let cached = |auth: &Authenticator| match auth {
            Authenticator::OAuth2(oauth) => oauth
                .token
                .try_lock()
                .unwrap()
                .as_ref()
                .map(|t| t.bearer.clone()),
            _ => None,
        };
        // Cached before the request, refused: dropped, and sent again.
        let auth = oauth(Some("one"));
        assert!(auth.answered(401, Some(&sent("one", true))).await);
        assert_eq!(cached(&auth), None);
        // Another request has replaced it already: that one is kept.
        let auth = oauth(Some("two"));
        assert!(auth.answered(401, Some(&sent("one", true))).await);
        assert_eq!(cached(&auth), Some(bearer("two")));
        // Fetched for the request and refused at once: dropped, not resent.
        let auth = oauth(Some("three"));
        assert!(!auth.answered(401, Some(&sent("three", false))).await);
        assert_eq!(cached(&auth), None);
        // Any other answer keeps it.
        let auth = oauth(Some("four"));
        assert!(!auth.answered(403, Some(&sent("four", true))).await);
        assert_eq!(cached(&auth), Some(bearer("four")));
        // No token, nothing to renew.
        assert!(!Authenticator::None.answered(401, None).await);
    }

    #[test]
    fn a_missing_required_part_gives_no_authenticator() {
        let base = Url::parse("https://iam.amazonaws.com").unwrap();
        let spec = AuthSpec::aws_sigv4("iam", "us-east-1");
        let mut parts = Parts::default();
        parts.insert("access-key-id", "AKIDEXAMPLE".into());
        assert!(Authenticator::new(&spec, parts, &base).unwrap().is_none());
        let mut parts = Parts::default();
        parts.insert("access-key-id", "AKIDEXAMPLE".into());
        parts.insert("secret-access-key", "s".into());
        let auth = Authenticator::new(&spec, parts, &base).unwrap().unwrap();
        assert_eq!(format!("{auth:?}"), "Authenticator::SigV4(<redacted>)");
        assert!(matches!(
            Authenticator::new(&AuthSpec::none(), Parts::default(), &base),
            Ok(Some(Authenticator::None))
        ));
    }
}
