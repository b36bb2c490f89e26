//! What the CLI prints: results, dry runs, providers and descriptions, for people
//! or as JSON.

use std::fmt::Write as _;

use clap::ArgMatches;
use revoker_host::{
    FlowStatus, Host, Outcome, PlannedJson, PlannedRequest, ProviderRuntime, Request, RequestResult,
};
use revoker_plugin_api::Params;
use serde_json::{Value, json};

use super::{Exit, Fatal};
pub(crate) use revoker_host::text::terminal_safe;

/// `--output human|json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    Human,
    Json,
}

impl OutputFormat {
    pub(crate) fn from_matches(matches: &ArgMatches) -> Self {
        match matches.get_one::<String>("output").map(String::as_str) {
            Some("json") => Self::Json,
            _ => Self::Human,
        }
    }
}

pub(crate) fn json_line(value: &impl serde::Serialize) -> String {
    let mut line = serde_json::to_string(value).expect("JSON values serialize");
    line.push('\n');
    line
}

/// The progress bar's message: failures so far, and each provider's pace
/// where something set it (`dolfin 48/s, 12 throttled; pinata held 3s`).
pub(crate) fn progress_message(failed: u64, flow: &[(String, FlowStatus)]) -> String {
    let mut parts = Vec::new();
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    for (name, status) in flow {
        if status.rate.is_none() && status.throttled == 0 {
            continue;
        }
        let mut part = terminal_safe(name).into_owned();
        if let Some(held) = status.held_for {
            part.push_str(&held_text(held, std::time::SystemTime::now()));
        } else if let Some(rate) = status.rate {
            let _ = write!(part, " {rate:.1}/s");
        }
        if status.throttled > 0 {
            let _ = write!(part, ", {} throttled", status.throttled);
        }
        parts.push(part);
    }
    parts.join("; ")
}

/// How long a provider holds the run, from `now`: ` held 3s`; a hold of a
/// minute or more (a quota's window, as GitHub's hour) also says until when,
/// ` held 41m12s, until 14:05 UTC`.
fn held_text(held: std::time::Duration, now: std::time::SystemTime) -> String {
    let secs = held.as_secs() + 1;
    if secs < 60 {
        return format!(" held {secs}s");
    }
    let until = (now + held)
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (hour, minute) = ((until % 86_400) / 3_600, (until % 3_600) / 60);
    format!(
        " held {}m{:02}s, until {hour:02}:{minute:02} UTC",
        secs / 60,
        secs % 60
    )
}

/// `name=value name=value`.
pub(crate) fn params_inline(params: &Params) -> String {
    params
        .iter()
        .map(|p| format!("{}={}", terminal_safe(&p.name), terminal_safe(&p.value)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The result of one request.
pub(crate) fn result(result: &RequestResult, format: OutputFormat) -> String {
    if format == OutputFormat::Json {
        return json_line(result);
    }
    let mut text = format!(
        "{}: {} {} {}",
        result.outcome,
        terminal_safe(&result.provider),
        terminal_safe(&result.operation),
        params_inline(&result.params)
    );
    let mut facts = Vec::new();
    if let Some(status) = result.status {
        facts.push(format!("HTTP {status}"));
    }
    facts.push(match result.attempts {
        1 => "1 attempt".to_owned(),
        n => format!("{n} attempts"),
    });
    if let Some(id) = &result.request_id {
        facts.push(format!("request id {}", terminal_safe(id)));
    }
    let _ = writeln!(text, " ({})", facts.join(", "));
    if let Some(detail) = &result.detail {
        let _ = writeln!(text, "  {}", terminal_safe(detail));
    }
    for (name, value) in &result.created {
        let _ = writeln!(
            text,
            "  {}: {}",
            terminal_safe(name),
            terminal_safe(value.expose())
        );
    }
    if result.created.iter().any(|(_, value)| value.is_secret()) {
        text.push_str("  (the key's value is shown only this once: store it now)\n");
    }
    text
}

/// A planned request that `--dry-run` does not send.
pub(crate) fn dry_run(planned: &PlannedRequest, format: OutputFormat) -> String {
    if format == OutputFormat::Json {
        return json_line(&PlannedJson {
            planned,
            line: None,
            duplicate_of: None,
        });
    }
    let request = planned.request();
    let mut text = format!(
        "dry run, nothing sent: {} {} {}\n{} {}\n",
        terminal_safe(&request.provider),
        terminal_safe(&request.operation),
        params_inline(&planned.shown_params()),
        planned.method(),
        terminal_safe(&planned.shown_url())
    );
    for (name, value) in planned.redacted_headers() {
        let _ = writeln!(text, "{name}: {}", terminal_safe(&value));
    }
    if let Some(body) = planned.shown_body() {
        let _ = writeln!(text, "\n{}", terminal_safe(&body));
    }
    text
}

/// `revoker PROVIDER OPERATION … --dry-run`: prints the request that would be
/// sent; or, for one the plugin failed to plan or planned so that the host
/// refuses to send it, the `plugin-error` result a real run would print, and
/// the same exit code.
pub(crate) fn dry_run_command(
    host: &Host,
    request: &Request,
    format: OutputFormat,
) -> Result<Exit, Fatal> {
    match host.plan(request) {
        Ok(planned) => {
            super::print(&dry_run(&planned, format));
            Ok(Exit::Success)
        }
        Err(error @ revoker_host::Error::PluginFailed { .. }) => {
            let refused = RequestResult::unsent(
                &host.redact(request.clone()),
                Outcome::PluginError,
                error.to_string(),
            );
            super::print(&result(&refused, format));
            Ok(Exit::Failure)
        }
        Err(error) => Err(error.into()),
    }
}

/// One line of a bulk dry run, for people: the request on one line.
pub(crate) fn dry_run_line(
    planned: &PlannedRequest,
    line: u64,
    duplicate_of: Option<u64>,
) -> String {
    let request = planned.request();
    let headers: Vec<String> = planned
        .redacted_headers()
        .map(|(name, value)| format!("{name}: {}", terminal_safe(&value)))
        .collect();
    let mut text = format!(
        "line {line}: {} {} {} -> {} {} [{}]",
        terminal_safe(&request.provider),
        terminal_safe(&request.operation),
        params_inline(&planned.shown_params()),
        planned.method(),
        terminal_safe(&planned.shown_url()),
        headers.join("; ")
    );
    if let Some(body) = planned.shown_body() {
        let _ = write!(text, " {}", terminal_safe(&body));
    }
    if let Some(first) = duplicate_of {
        let _ = write!(text, " (same request as line {first}: sent once)");
    }
    text.push('\n');
    text
}

/// One finished line of a bulk run, for people.
pub(crate) fn bulk_result_line(result: &RequestResult, line: u64) -> String {
    let mut text = format!("line {line}: {}", result.outcome);
    if !result.provider.is_empty() {
        let _ = write!(
            text,
            " {} {}",
            terminal_safe(&result.provider),
            terminal_safe(&result.operation)
        );
    }
    if !result.params.is_empty() {
        let _ = write!(text, " {}", params_inline(&result.params));
    }
    let mut facts = Vec::new();
    if let Some(status) = result.status {
        facts.push(format!("HTTP {status}"));
    }
    if result.attempts > 1 {
        facts.push(format!("{} attempts", result.attempts));
    }
    if !facts.is_empty() {
        let _ = write!(text, " ({})", facts.join(", "));
    }
    if let Some(detail) = &result.detail {
        let _ = write!(text, ": {}", terminal_safe(detail));
    }
    for (name, value) in &result.created {
        let _ = write!(
            text,
            " {}={}",
            terminal_safe(name),
            terminal_safe(value.expose())
        );
    }
    text.push('\n');
    text
}

fn provider_json(provider: &ProviderRuntime) -> Value {
    let plugin = provider.plugin();
    let manifest = plugin.manifest();
    let operations: Vec<Value> = manifest
        .operations
        .iter()
        .map(|op| OperationView { provider, op }.json())
        .collect();
    json!({
        "provider": manifest.provider.as_str(),
        "version": manifest.version.as_str(),
        "description": manifest.description.as_str(),
        "file": plugin.path(),
        "sha256": plugin.sha256(),
        "plugin_api": plugin.api_version(),
        "isolated": plugin.is_isolated(),
        "base_url": provider.base_url().as_str(),
        "auth": auth_json(provider),
        "credential_env": provider.credential_env(),
        "credential_set": provider.has_credential(),
        "rate": provider.rate().map(|rate| rate.to_string()),
        "operations": operations,
    })
}

/// What `describe` and `providers --json` say of one operation, for people
/// and as JSON alike: every fact is one [`Fact`] in [`OperationView::facts`],
/// so a new one is added there once and shows in both.
struct OperationView<'a> {
    provider: &'a ProviderRuntime,
    op: &'a revoker_plugin_api::OperationSpec,
}

/// One fact of an operation: its JSON key and value, and its line for people.
struct Fact {
    key: &'static str,
    json: Value,
    /// `None`: shown in JSON only (the heading shows it already).
    text: Option<String>,
}

impl OperationView<'_> {
    fn facts(&self) -> Vec<Fact> {
        let op = self.op;
        let retried = if op.idempotent {
            "idempotent: retried on 408, 429, 5xx and transport errors"
        } else {
            "not idempotent: never retried"
        };
        let vars = self.provider.credential_vars();
        let credential = if vars.is_empty() {
            "none (this provider takes no credential)".to_owned()
        } else {
            let set = if self.provider.has_credential() {
                "set"
            } else {
                "not set"
            };
            let vars: Vec<String> = vars.iter().map(|v| format!("${v}")).collect();
            format!("{} ({set})", vars.join(", "))
        };
        // Plugin API 1.3: what it sends, what success is, how lines travel.
        let details = self.provider.plugin().details(&op.name);
        let nonempty = |text: Option<&str>| text.filter(|t| !t.is_empty()).map(str::to_owned);
        let method = nonempty(details.map(|d| d.method.as_str()));
        let path = nonempty(details.map(|d| d.path.as_str()));
        let success = nonempty(details.map(|d| d.success.as_str()));
        let batch = self.provider.plugin().batch_size(&op.name);
        let asynchronous = self.provider.plugin().is_asynchronous(&op.name);
        let request = match (&method, &path) {
            (Some(method), Some(path)) => format!("request: {method} {path}"),
            _ => "request: (the plugin does not say)".to_owned(),
        };
        let mut success_text = format!(
            "success: {}",
            success.as_deref().unwrap_or("(the plugin does not say)")
        );
        if asynchronous {
            success_text.push_str(
                " (accepted: the provider carries it out later; the outcome is `accepted`)",
            );
        }
        vec![
            Fact {
                key: "name",
                json: json!(op.name.as_str()),
                text: None,
            },
            Fact {
                key: "method",
                json: json!(method),
                text: Some(request),
            },
            Fact {
                key: "path",
                json: json!(path),
                text: None,
            },
            Fact {
                key: "success",
                json: json!(success),
                text: Some(success_text),
            },
            Fact {
                key: "asynchronous",
                json: json!(asynchronous),
                text: None,
            },
            Fact {
                key: "batch",
                json: json!(batch),
                text: (batch > 1).then(|| format!("travels: up to {batch} lines in one request")),
            },
            Fact {
                key: "summary",
                json: json!(op.summary.as_str()),
                text: None,
            },
            Fact {
                key: "kind",
                json: json!(op.kind.as_str()),
                text: Some(format!("{}, {retried}", op.kind.as_str())),
            },
            Fact {
                key: "idempotent",
                json: json!(op.idempotent),
                text: None,
            },
            Fact {
                key: "credential_vars",
                json: json!(vars),
                text: Some(format!("credential: {credential}")),
            },
            Fact {
                key: "params",
                json: json!(
                    op.params
                        .iter()
                        .map(|p| json!({
                            "name": p.name.as_str(),
                            "type": p.kind.as_str(),
                            "required": p.required,
                            "help": p.help.as_str(),
                        }))
                        .collect::<Vec<_>>()
                ),
                text: Some(self.params_text()),
            },
        ]
    }

    fn json(&self) -> Value {
        let map: serde_json::Map<String, Value> = self
            .facts()
            .into_iter()
            .map(|fact| (fact.key.to_owned(), fact.json))
            .collect();
        Value::Object(map)
    }

    fn text(&self) -> String {
        let mut text = format!("\n{} — {}\n", self.op.name, self.op.summary);
        for fact in self.facts() {
            match fact.text {
                Some(line) if !line.is_empty() => {
                    for line in line.lines() {
                        let _ = writeln!(text, "  {line}");
                    }
                }
                _ => {}
            }
        }
        text
    }

    /// `--NAME <type> (required)  help`, a line each.
    fn params_text(&self) -> String {
        let mut text = String::new();
        for param in self.op.params.iter() {
            // A parameter a public part of the credential fills is optional
            // on the command line: say where its value comes from instead.
            let filled_by = self.provider.plugin().auth().parts.iter().find(|part| {
                !part.secret
                    && part
                        .param
                        .as_ref()
                        .into_option()
                        .is_some_and(|p| p.as_str() == param.name.as_str())
            });
            let note = match filled_by {
                Some(part) => format!(" (default: the credential's {} part)", part.name),
                None if param.required => " (required)".to_owned(),
                None => String::new(),
            };
            let _ = writeln!(
                text,
                "--{} <{}>{note}  {}",
                param.name,
                param.kind.as_str(),
                param.help
            );
        }
        text
    }
}

/// A provider's auth: its kind, the kind's settings, and each credential part
/// with the variable it is read from (never a value).
fn auth_json(provider: &ProviderRuntime) -> serde_json::Value {
    let auth = provider.plugin().auth();
    let settings: serde_json::Map<String, serde_json::Value> = auth
        .settings
        .iter()
        .map(|s| (s.name.to_string(), json!(s.value.as_str())))
        .collect();
    let parts: Vec<_> = auth
        .parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            json!({
                "name": part.name.as_str(),
                "env": if i == 0 { provider.credential_env() } else { part.env.as_str() },
                "secret": part.secret,
                "required": part.required,
            })
        })
        .collect();
    let mut value = json!({
        "kind": auth.kind.as_str(),
        "settings": settings,
        "parts": parts,
    });
    if auth.kind == "header" {
        // As before 1.2, for scripts that read them.
        value["header"] = json!(auth.setting("header").unwrap_or_default());
        value["prefix"] = json!(auth.setting("prefix").unwrap_or_default());
    }
    value
}

/// A provider's credential in one line: `Header: prefix<$VAR>`, or the auth
/// kind and each part's variable.
fn credential_line(provider: &ProviderRuntime) -> String {
    let auth = provider.plugin().auth();
    let set = if provider.has_credential() {
        "set"
    } else {
        "not set"
    };
    let env = |i: usize, part: &revoker_plugin_api::CredentialPart| {
        if i == 0 {
            provider.credential_env().to_owned()
        } else {
            part.env.to_string()
        }
    };
    match auth.kind.as_str() {
        "header" => format!(
            "{}: {}<${}> ({set})",
            auth.setting("header").unwrap_or_default(),
            auth.setting("prefix").unwrap_or_default(),
            provider.credential_env()
        ),
        "none" => "none: no credential is sent".to_owned(),
        kind => {
            let parts: Vec<String> = auth
                .parts
                .iter()
                .enumerate()
                .map(|(i, part)| {
                    let optional = if part.required { "" } else { ", optional" };
                    format!("{} (${}{optional})", part.name, env(i, part))
                })
                .collect();
            let settings: Vec<String> = auth
                .settings
                .iter()
                .filter(|s| !s.value.is_empty())
                .map(|s| format!("{} {}", s.name, s.value))
                .collect();
            let settings = if settings.is_empty() {
                String::new()
            } else {
                format!(" [{}]", settings.join(", "))
            };
            format!("{kind}{settings}; {} ({set})", parts.join(", "))
        }
    }
}

fn providers_sorted(host: &Host) -> Vec<&ProviderRuntime> {
    let mut providers: Vec<&ProviderRuntime> = host
        .registry()
        .plugins()
        .iter()
        .filter_map(|plugin| host.provider(plugin.provider()))
        .collect();
    providers.sort_by(|a, b| a.plugin().provider().cmp(b.plugin().provider()));
    providers
}

/// `revoker providers`.
pub(crate) fn providers(host: &Host, format: OutputFormat) -> String {
    // Every plugin's hash is shown.
    host.registry().hash_all();
    let providers = providers_sorted(host);
    if format == OutputFormat::Json {
        let list: Vec<Value> = providers.into_iter().map(provider_json).collect();
        return json_line(&list);
    }
    if providers.is_empty() {
        return "no provider plugins loaded (see --plugin-dir and REVOKER_PLUGIN_PATH)\n".into();
    }
    let mut text = String::new();
    for provider in providers {
        let plugin = provider.plugin();
        let manifest = plugin.manifest();
        let _ = writeln!(
            text,
            "{} {} — {}\n  operations: {}\n  file: {}\n  sha256: {}\n  plugin API: {}",
            manifest.provider,
            manifest.version,
            manifest.description,
            manifest
                .operations
                .iter()
                .map(|op| op.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            plugin.path().display(),
            plugin.sha256(),
            plugin.api_version()
        );
    }
    safe_lines(&text)
}

/// `text` with each line made terminal-safe, its line breaks kept.
fn safe_lines(text: &str) -> String {
    text.lines()
        .map(|line| terminal_safe(line).into_owned() + "\n")
        .collect()
}

/// A plugin file found, with its SHA-256: loaded, or refused for want of a
/// pin (its provider then read from its file name).
struct Hashed {
    sha256: String,
    provider: String,
    file: std::path::PathBuf,
    loaded: bool,
}

fn hashed(host: &Host) -> Vec<Hashed> {
    host.registry().hash_all();
    let mut found: Vec<Hashed> = providers_sorted(host)
        .into_iter()
        .map(|provider| {
            let plugin = provider.plugin();
            Hashed {
                sha256: plugin.sha256().to_owned(),
                provider: plugin.provider().to_owned(),
                file: plugin.path().to_owned(),
                loaded: true,
            }
        })
        .collect();
    // Once one plugin is pinned, the others are refused, not loaded (their
    // code never runs): their hash is known, their provider only from the
    // file's name.
    for refusal in host.registry().refusals() {
        if let revoker_host::LoadError::NotPinned { sha256 } = &refusal.error {
            let provider = refusal.provider_name().unwrap_or_else(|| "NAME".to_owned());
            found.push(Hashed {
                sha256: sha256.clone(),
                provider,
                file: refusal.path.clone(),
                loaded: false,
            });
        }
    }
    found.sort_by(|a, b| a.provider.cmp(&b.provider).then(a.file.cmp(&b.file)));
    found
}

/// `revoker providers --hashes`: `<sha256>  <provider>  <file>`; with `--toml`
/// a block to paste into the config file, pinning every plugin found (the
/// bundled ones beside the binary too: once one is pinned, an unpinned one is
/// refused).
pub(crate) fn hashes(host: &Host, format: OutputFormat, toml: bool) -> String {
    let found = hashed(host);
    if format == OutputFormat::Json {
        let list: Vec<Value> = found
            .iter()
            .map(|h| json!({"provider": h.provider, "sha256": h.sha256, "file": h.file, "loaded": h.loaded}))
            .collect();
        return json_line(&list);
    }
    if !toml {
        return found
            .iter()
            .map(|h| {
                let note = if h.loaded {
                    ""
                } else {
                    "  (not loaded: not pinned)"
                };
                format!("{}  {}  {}{note}\n", h.sha256, h.provider, h.file.display())
            })
            .collect();
    }
    let mut text = String::from(
        "# Pins for the config file (`revoker config path` says where it is): once one plugin\n\
         # is pinned, only pinned plugins load, so every plugin found is here. Where the file\n\
         # has a [providers.NAME] section already, put its sha256 line in that section.\n",
    );
    for h in &found {
        let _ = write!(
            text,
            "\n[providers.{}]\nsha256 = \"{}\"  # {}",
            h.provider,
            h.sha256,
            h.file.display()
        );
        if !h.loaded {
            text.push_str(
                " (not loaded now: not pinned; the provider's name is from the file's name)",
            );
        }
        text.push('\n');
    }
    text
}

/// `revoker describe PROVIDER [OPERATION]`.
pub(crate) fn describe(
    host: &Host,
    provider_name: &str,
    operation: Option<&str>,
    format: OutputFormat,
) -> Result<String, Fatal> {
    let provider = host.provider(provider_name).ok_or_else(|| {
        match host.registry().refused(provider_name) {
            Some(refused) => Fatal::from(refused),
            None => Fatal::usage(format!(
                "unknown provider {provider_name:?} (loaded providers: {})",
                host.registry().provider_names()
            )),
        }
    })?;
    let manifest = provider.plugin().manifest();
    let operations: Vec<_> = match operation {
        Some(name) => vec![manifest.find_operation(name).ok_or_else(|| {
            Fatal::usage(format!(
                "provider {provider_name} has no operation {name:?} (operations: {})",
                manifest
                    .operations
                    .iter()
                    .map(|op| op.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?],
        None => manifest.operations.iter().collect(),
    };
    if format == OutputFormat::Json {
        let mut value = provider_json(provider);
        if let Some(name) = operation {
            value["operations"]
                .as_array_mut()
                .expect("operations is an array")
                .retain(|op| op["name"] == name);
        }
        return Ok(json_line(&value));
    }
    let mut text = format!(
        "{} {} — {}\n  plugin:     {}\n  base URL:   {}\n  credential: {}\n  rate limit: {}\n",
        manifest.provider,
        manifest.version,
        manifest.description,
        provider.plugin().path().display(),
        provider.base_url(),
        credential_line(provider),
        match (
            provider.rate(),
            manifest.default_rate.as_ref().into_option()
        ) {
            (Some(rate), _) => rate.to_string(),
            (None, Some(documented)) => format!(
                "none set; the provider documents {} requests per {}s, the pace a run starts at",
                documented.requests, documented.per_seconds
            ),
            (None, None) => "none".to_owned(),
        },
    );
    for op in operations {
        text.push_str(&OperationView { provider, op }.text());
    }
    // A manifest's text is the plugin's: shown, never obeyed.
    Ok(safe_lines(&text))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn a_long_hold_says_until_when() {
        // 2026-12-01 13:24:00 UTC.
        let now = UNIX_EPOCH + Duration::from_secs(1_796_131_440);
        assert_eq!(held_text(Duration::from_millis(2_500), now), " held 3s");
        assert_eq!(
            held_text(Duration::from_secs(2_471), now),
            " held 41m12s, until 14:05 UTC"
        );
    }
}
