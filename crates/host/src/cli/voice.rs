//! One voice for everything revoker says to a person on stderr:
//! `revoker: error: …`, `revoker: warning: …`, `revoker: note: …`, whoever
//! says it (the CLI, clap, or the library through a `tracing` warning), and
//! `--color auto|always|never` with `NO_COLOR`.
//!
//! Logs (timestamps, levels, targets) are for `-v` and up only.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::output::terminal_safe;

/// `--color`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum ColorChoice {
    /// Colour on a terminal, unless `NO_COLOR` is set (to anything but "").
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// `auto`, `always` or `never`.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "auto" => Some(Self::Auto),
            "always" => Some(Self::Always),
            "never" => Some(Self::Never),
            _ => None,
        }
    }

    /// Whether stderr gets colour: `always`, or `auto` on a terminal without
    /// `NO_COLOR` (<https://no-color.org>).
    pub(crate) fn for_stderr(self) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        }
    }

    /// The same choice for clap's help and errors.
    pub(crate) fn clap(self, colored: bool) -> clap::ColorChoice {
        match (self, colored) {
            (Self::Never, _) | (Self::Auto, false) => clap::ColorChoice::Never,
            (Self::Always, _) => clap::ColorChoice::Always,
            (Self::Auto, true) => clap::ColorChoice::Auto,
        }
    }
}

static COLOR: AtomicBool = AtomicBool::new(false);

/// Sets whether what is said on stderr is coloured (once, early).
pub(crate) fn set_color(on: bool) {
    COLOR.store(on, Ordering::Relaxed);
}

/// Whether what is said on stderr is coloured.
pub(crate) fn color() -> bool {
    COLOR.load(Ordering::Relaxed)
}

/// How serious a thing said is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    Error,
    Warning,
    Note,
}

impl Tone {
    fn word(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Note => "note",
        }
    }

    /// Bold red, bold yellow, bold.
    fn ansi(self) -> &'static str {
        match self {
            Self::Error => "\x1b[1;31m",
            Self::Warning => "\x1b[1;33m",
            Self::Note => "\x1b[1m",
        }
    }
}

/// `revoker: LEVEL: message`, the message made terminal-safe line by line (a
/// message of several lines keeps its line breaks, and nothing else).
pub(crate) fn line(level: Tone, message: &str) -> String {
    let mut text = String::from("revoker: ");
    if color() {
        let _ = write!(text, "{}{}:\x1b[0m ", level.ansi(), level.word());
    } else {
        let _ = write!(text, "{}: ", level.word());
    }
    let mut lines = message.trim_end_matches('\n').split('\n');
    text.push_str(&terminal_safe(lines.next().unwrap_or_default()));
    for rest in lines {
        text.push('\n');
        text.push_str(&terminal_safe(rest));
    }
    text.push('\n');
    text
}

/// Says `message` on stderr.
pub(crate) fn say(level: Tone, message: &str) {
    eprint!("{}", line(level, message));
}

/// `revoker: error: …` on stderr.
pub(crate) fn error(message: &str) {
    say(Tone::Error, message);
}

/// `revoker: warning: …` on stderr.
pub(crate) fn warning(message: &str) {
    say(Tone::Warning, message);
}

/// `revoker: note: …` on stderr.
pub(crate) fn note(message: &str) {
    say(Tone::Note, message);
}

/// clap's own error (`error: unexpected argument …`, its tip and usage
/// lines) in revoker's voice; help and version texts stay as they are.
pub(crate) fn clap_error(error: &clap::Error) -> String {
    let text = error.render().to_string();
    match text.strip_prefix("error: ") {
        Some(rest) => line(Tone::Error, rest),
        None => text,
    }
}

/// The `tracing` events shown without `-v` (warnings and errors from the
/// library: a plugin built to abort on panic, a file whose mode was
/// tightened, …), as the CLI's own: `revoker: warning: message (field value)`.
pub(crate) struct PersonFormat;

impl<S, N> FormatEvent<S, N> for PersonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let level = match *event.metadata().level() {
            Level::ERROR => Tone::Error,
            Level::WARN => Tone::Warning,
            _ => Tone::Note,
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut message = fields.message;
        if !fields.others.is_empty() {
            let _ = write!(message, " ({})", fields.others.join(", "));
        }
        writer.write_str(&line(level, &message))
    }
}

/// An event's message and its other fields, `name value`.
#[derive(Default)]
struct Fields {
    message: String,
    others: Vec<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.others.push(format!("{} {value}", field.name()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.others.push(format!("{} {value:?}", field.name()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_line_of_the_message_and_nothing_else_escaped_away() {
        set_color(false);
        assert_eq!(
            line(Tone::Warning, "a\x1b[2Jb\nsecond"),
            "revoker: warning: a\\x1b[2Jb\nsecond\n"
        );
        assert_eq!(line(Tone::Error, "x\n"), "revoker: error: x\n");
    }

    #[test]
    fn color_choices() {
        assert_eq!(ColorChoice::parse("always"), Some(ColorChoice::Always));
        assert_eq!(ColorChoice::parse("sometimes"), None);
        assert!(ColorChoice::Always.for_stderr());
        assert!(!ColorChoice::Never.for_stderr());
    }
}
