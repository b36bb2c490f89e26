//! Text from outside is data.
//!
//! Everything Revoker prints that it did not write itself — provider error
//! text, request ids, values from the input file, plugin manifests, URLs —
//! goes through one of these functions before it reaches a terminal, a
//! Markdown ticket or an HTML page, so that it is shown rather than
//! interpreted.
//!
//! * [`terminal_safe`] — for terminals and stderr: control characters become
//!   visible escapes.
//! * [`redact_url`] — for URLs in messages: userinfo, query and fragment are
//!   replaced by `<redacted>` markers.
//! * [`markdown_escape`] — for a cell of a GitHub-flavoured Markdown table.
//! * [`html_escape`] — for HTML text and attribute values.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Returns `true` for the characters [`terminal_safe`] escapes.
///
/// * C0 controls U+0000–U+001F (including `\n`, `\r`, `\t`: the fields this
///   is used for are single-line),
/// * DEL U+007F,
/// * C1 controls U+0080–U+009F (U+009B is a one-byte CSI on some terminals),
/// * the Unicode bidirectional controls U+061C, U+200E, U+200F,
///   U+202A–U+202E and U+2066–U+2069 (they reorder what is displayed),
/// * U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR (some terminals and
///   viewers break the line there; the fields are single-line).
pub fn is_escaped_char(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// Whether the byte can start a character that [`terminal_safe`] may have to
/// change. `0xC2` leads U+0080–U+00BF, `0xD8` leads U+0600–U+063F, `0xE2`
/// leads U+2000–U+2FFF; a backslash may need doubling. All of these are ASCII
/// or UTF-8 lead bytes, so their index is always a char boundary.
#[inline]
fn is_suspect_byte(b: u8) -> bool {
    b < 0x20 || b == 0x7f || b == b'\\' || b == 0xc2 || b == 0xd8 || b == 0xe2
}

/// Whether a backslash followed by `next` must be doubled (see
/// [`terminal_safe`]).
#[inline]
fn backslash_needs_doubling(next: Option<char>) -> bool {
    match next {
        Some(c) => c == '\\' || c == 'x' || c == 'u' || is_escaped_char(c),
        None => false,
    }
}

fn push_escape(out: &mut String, c: char) {
    let n = c as u32;
    if n < 0x80 {
        let _ = write!(out, "\\x{n:02x}");
    } else {
        let _ = write!(out, "\\u{{{n:x}}}");
    }
}

/// Makes every control character visible instead of interpreted, for anything
/// printed to a terminal or stderr that came from outside (provider error
/// text, request ids, input-file values, plugin manifests).
///
/// # Format
///
/// Each character listed in [`is_escaped_char`] is replaced by
///
/// * `\xHH` (two lowercase hex digits) when it is below U+0080: ESC becomes
///   `\x1b`, a newline `\x0a`, DEL `\x7f`;
/// * `\u{H…}` (lowercase hex, no leading zeros) otherwise: the C1 CSI becomes
///   `\u{9b}`, RIGHT-TO-LEFT OVERRIDE `\u{202e}`.
///
/// # Backslashes
///
/// A literal backslash is doubled **only when it would otherwise be
/// ambiguous**: when the next character is `\`, `x`, `u` or a character that
/// is itself escaped. So a Windows path `C:\Users\me` is unchanged, while the
/// literal text `\x1b` becomes `\\x1b` and cannot be mistaken for an escaped
/// ESC. The output always decodes back to the input by reading left to right:
/// `\\` is one backslash, `\xHH` and `\u{H…}` are escapes, and any other
/// backslash stands for itself.
///
/// # Cost
///
/// Returns [`Cow::Borrowed`] (no allocation) when nothing needs escaping. The
/// scan looks at bytes and only decodes a character at the few bytes that can
/// start one that needs escaping.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    let mut first = None;
    for (i, &b) in bytes.iter().enumerate() {
        if !is_suspect_byte(b) {
            continue;
        }
        // `i` is a char boundary (see `is_suspect_byte`).
        let mut it = s[i..].chars();
        let c = it.next().unwrap_or('\0');
        let needs = if c == '\\' {
            backslash_needs_doubling(it.next())
        } else {
            is_escaped_char(c)
        };
        if needs {
            first = Some(i);
            break;
        }
    }
    let Some(start) = first else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(&s[..start]);
    let mut chars = s[start..].chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push('\\');
            if backslash_needs_doubling(chars.peek().copied()) {
                out.push('\\');
            }
        } else if is_escaped_char(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The marker that stands for removed userinfo, query or fragment.
pub const REDACTED: &str = "<redacted>";

/// Whether `s` is a URL scheme: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(s: &str) -> bool {
    let mut it = s.bytes();
    matches!(it.next(), Some(b) if b.is_ascii_alphabetic())
        && it.all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
}

/// Whether the authority (no `@` in it) has a `:` that is not a host:port
/// separator — then it is most likely `user:password` whose password contains
/// a `/`, `\`, `?` or `#`.
fn has_non_port_colon(authority: &str) -> bool {
    // Skip a bracketed IPv6 literal, whose colons are part of the host.
    let rest = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => &authority[end + 1..],
            None => return authority.contains(':'),
        }
    } else {
        authority
    };
    match rest.find(':') {
        None => false,
        Some(i) => {
            let port = &rest[i + 1..];
            !port.bytes().all(|b| b.is_ascii_digit())
        }
    }
}

/// The index of the last `@` in `s` whose path segment (since the previous
/// `/` or `\\`) contains a `:` — `x://y/https://u:pw@host` and the like.
fn last_colon_segment_at(s: &str) -> Option<usize> {
    let mut found = None;
    let mut seg_has_colon = false;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'/' | b'\\' => seg_has_colon = false,
            b':' => seg_has_colon = true,
            b'@' if seg_has_colon => found = Some(i),
            _ => {}
        }
    }
    found
}

/// Returns a URL fit for a message: the userinfo (`user:password@`), the
/// query and the fragment are removed and replaced by markers.
///
/// # Format
///
/// * userinfo → `<redacted>@`: `https://u:pw@host/x` → `https://<redacted>@host/x`
/// * query (with any fragment after it) → `?<redacted>`
/// * fragment → `#<redacted>`
/// * an empty query or fragment (`https://h/x?`) is dropped without marker.
///
/// The scheme, host, port and path are kept as they are, so the message
/// still says where the request went.
///
/// # Malformed input
///
/// The string need not be a valid URL (`https://user:PASSWORD@host:99999/x`);
/// nothing is parsed beyond finding delimiters, the function never panics,
/// and it errs on the side of removing too much:
///
/// * The query/fragment starts at the first `?` or `#` anywhere.
/// * The authority starts after the first `://` when what comes before it is
///   a scheme, else after a leading `//`, else at the start of the string; it
///   ends at the first `/` or `\` (or the query).
/// * If the authority contains `@`, everything up to its last `@` is
///   userinfo.
/// * If it has no `@` but a `:` not followed by a numeric port
///   (`user:pa/ss@host`, `user:pa?ss@host`), the password must contain a
///   delimiter: everything up to the last `@` before the query is userinfo,
///   or, when there is none, the whole authority is replaced by
///   `<redacted>`.
/// * In any case, if a later path segment holds `:` and then `@` (a doubled
///   `https://https://u:pw@host`), everything up to that `@` is redacted.
///
/// Known limit: a userinfo *without* a `:` that contains an unencoded `/`
/// (`https://TO/KEN@host`) cannot be told from a path containing `@`
/// (`…/serviceAccounts/sa@p.iam.gserviceaccount.com/keys`) and is kept as a
/// path. Control characters are not escaped: pass the result through
/// [`terminal_safe`] before printing it.
pub fn redact_url(s: &str) -> String {
    // 1. Query and fragment.
    let (pre, tail_marker) = match s.find(['?', '#']) {
        Some(i) => {
            let marker = if i + 1 < s.len() {
                if s.as_bytes()[i] == b'?' { "?" } else { "#" }
            } else {
                ""
            };
            (&s[..i], marker)
        }
        None => (s, ""),
    };

    // 2. Where the authority starts.
    let auth_start = match pre.find("://") {
        Some(i) if is_scheme(&pre[..i]) => i + 3,
        // Not a scheme before "://": if it holds an '@' it may be userinfo
        // itself (`u:pw@host://x`), so treat the whole string as authority.
        Some(i) if pre[..i].contains('@') => 0,
        Some(i) => i + 3,
        None if pre.starts_with("//") => 2,
        None => 0,
    };
    let after = &pre[auth_start..];
    let auth_len = after.find(['/', '\\']).unwrap_or(after.len());
    let authority = &after[..auth_len];

    // 3. Where the userinfo ends (index of its '@' in `after`), if any.
    let userinfo_end = if let Some(at) = authority.rfind('@') {
        Some(at)
    } else if has_non_port_colon(authority) {
        // `user:pa/ss@host`: up to the last '@'; `user:pa?ss@…`: no '@' left
        // before the query, so the whole authority goes.
        Some(after.rfind('@').unwrap_or(auth_len))
    } else {
        None
    };
    // A later `:…@` segment wins: it is further right and may hide a password.
    let userinfo_end = userinfo_end.max(last_colon_segment_at(after));

    let mut out = String::with_capacity(s.len());
    out.push_str(&pre[..auth_start]);
    match userinfo_end {
        Some(end) => {
            out.push_str(REDACTED);
            out.push_str(&after[end..]);
        }
        None => out.push_str(after),
    }
    if !tail_marker.is_empty() {
        out.push_str(tail_marker);
        out.push_str(REDACTED);
    }
    out
}

/// Escapes text for a cell of a GitHub-flavoured Markdown table, so that it
/// is shown as written and cannot become markup or break the table.
///
/// * `\r\n`, `\n`, `\r` and `\t` become one space each (a cell is one line);
/// * every other control character is made visible as by
///   [`terminal_safe`] (`\x1b`, `\u{202e}`, …);
/// * these ASCII punctuation characters get a backslash (CommonMark lets any
///   ASCII punctuation be backslash-escaped): `` \ ` * _ [ ] ( ) { } < > | # ! ~ & @ $ ``
///   (`&` stops entity references, `$` GitHub's math, `@` mentions where
///   GitHub honours the escape).
///
/// Known limit: GitHub turns bare `https://…` and `www.…` text into links
/// after rendering; the link text is still exactly the data.
pub fn markdown_escape(s: &str) -> String {
    let mut flat = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                flat.push(' ');
            }
            '\n' | '\t' => flat.push(' '),
            _ => flat.push(c),
        }
    }
    let visible = terminal_safe(&flat);
    let mut out = String::with_capacity(visible.len() + 8);
    for c in visible.chars() {
        if matches!(
            c,
            '\\' | '`'
                | '*'
                | '_'
                | '['
                | ']'
                | '('
                | ')'
                | '{'
                | '}'
                | '<'
                | '>'
                | '|'
                | '#'
                | '!'
                | '~'
                | '&'
                | '@'
                | '$'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes text for HTML text content and quoted attribute values:
/// `&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`, `"` → `&quot;`, `'` → `&#39;`.
///
/// Borrowed when there is nothing to escape. Control characters are left as
/// they are: for text from outside use `html_escape(&terminal_safe(s))`.
pub fn html_escape(s: &str) -> Cow<'_, str> {
    let Some(first) = s.find(['&', '<', '>', '"', '\'']) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `terminal_safe` output, following the rules in its docs.
    fn decode(s: &str) -> String {
        let mut out = String::new();
        let mut it = s.chars().peekable();
        while let Some(c) = it.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match it.peek().copied() {
                Some('\\') => {
                    it.next();
                    out.push('\\');
                }
                Some('x') => {
                    it.next();
                    let hex: String = it.by_ref().take(2).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                Some('u') => {
                    it.next();
                    assert_eq!(it.next(), Some('{'));
                    let hex: String = it.by_ref().take_while(|&c| c != '}').collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                _ => out.push('\\'),
            }
        }
        out
    }

    fn assert_no_controls(s: &str) {
        assert!(!s.chars().any(is_escaped_char), "control left in {s:?}");
    }

    #[test]
    fn terminal_safe_borrows_clean_text() {
        for s in [
            "",
            "plain text",
            "C:\\Users\\me",
            "naïve café ✓ 日本",
            "a\\b",
            "trailing\\",
        ] {
            assert!(matches!(terminal_safe(s), Cow::Borrowed(_)), "{s:?}");
            assert_eq!(terminal_safe(s), s);
        }
    }

    #[test]
    fn terminal_safe_escapes_c0_del_c1() {
        assert_eq!(terminal_safe("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(terminal_safe("l1\nl2\r\tx"), "l1\\x0al2\\x0d\\x09x");
        assert_eq!(terminal_safe("\0"), "\\x00");
        assert_eq!(terminal_safe("\x7f"), "\\x7f");
        assert_eq!(terminal_safe("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(terminal_safe("\u{80}\u{9f}\u{a0}"), "\\u{80}\\u{9f}\u{a0}");
    }

    #[test]
    fn terminal_safe_escapes_bidi() {
        for (c, esc) in [
            ('\u{61c}', "\\u{61c}"),
            ('\u{200e}', "\\u{200e}"),
            ('\u{200f}', "\\u{200f}"),
            ('\u{202a}', "\\u{202a}"),
            ('\u{202e}', "\\u{202e}"),
            ('\u{2066}', "\\u{2066}"),
            ('\u{2069}', "\\u{2069}"),
            ('\u{2028}', "\\u{2028}"),
        ] {
            assert_eq!(terminal_safe(&format!("a{c}b")), format!("a{esc}b"));
        }
        // Neighbours sharing lead bytes stay.
        for s in ["\u{2010}", "\u{2070}", "\u{600}", "\u{2026}", "\u{20ac}"] {
            assert!(matches!(terminal_safe(s), Cow::Borrowed(_)), "{s:?}");
        }
    }

    #[test]
    fn terminal_safe_backslash_only_when_ambiguous() {
        assert_eq!(terminal_safe("\\x1b"), "\\\\x1b");
        assert_eq!(terminal_safe("\\u{9b}"), "\\\\u{9b}");
        assert_eq!(terminal_safe("\\\\"), "\\\\\\");
        assert_eq!(terminal_safe("\\\x1b"), "\\\\\\x1b");
        assert_eq!(terminal_safe("C:\\Temp\x1b"), "C:\\Temp\\x1b");
    }

    #[test]
    fn terminal_safe_round_trips() {
        let pieces = [
            "\\", "x", "u", "{", "}", "1b", "\x1b", "\n", "\u{9b}", "\u{202e}", "é", "a", "\\\\",
        ];
        for_every_string_of(&pieces, |s| {
            let safe = terminal_safe(s);
            assert_no_controls(&safe);
            assert_eq!(&decode(&safe), s, "via {safe:?}");
        });
    }

    /// Calls `check` with every string of 1 to 4 of `pieces`.
    fn for_every_string_of(pieces: &[&str], mut check: impl FnMut(&str)) {
        let mut stack: Vec<String> = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for s in &stack {
                for p in pieces {
                    next.push(format!("{s}{p}"));
                }
            }
            next.iter().for_each(|s| check(s));
            stack = next;
        }
    }

    const SECRETS: [&str; 4] = ["PASSWORD", "abc", "SECRET", "s3cr3t"];

    fn assert_redacted(input: &str) -> String {
        let out = redact_url(input);
        for secret in SECRETS {
            assert!(!out.contains(secret), "{input:?} -> {out:?} leaks {secret}");
        }
        out
    }

    #[test]
    fn redact_url_wellformed() {
        assert_eq!(
            assert_redacted("https://user:PASSWORD@host:8443/x?token=abc#SECRET"),
            "https://<redacted>@host:8443/x?<redacted>"
        );
        assert_eq!(
            redact_url("https://api.example.com/v1/keys/k1"),
            "https://api.example.com/v1/keys/k1"
        );
        assert_eq!(redact_url("https://h/x#SECRET"), "https://h/x#<redacted>");
        assert_eq!(redact_url("https://h/x?"), "https://h/x");
        assert_eq!(redact_url("https://h/x#"), "https://h/x");
        assert_eq!(redact_url("https://[::1]:8080/x"), "https://[::1]:8080/x");
        assert_eq!(
            redact_url("https://tok@[::1]:8080/x"),
            "https://<redacted>@[::1]:8080/x"
        );
        assert_eq!(redact_url("https://host:443"), "https://host:443");
        assert_eq!(redact_url(""), "");
    }

    #[test]
    fn redact_url_keeps_at_in_path() {
        let gcp = "https://iam.googleapis.com/v1/projects/p/serviceAccounts/sa@p.iam.gserviceaccount.com/keys/k";
        assert_eq!(redact_url(gcp), gcp);
        assert_eq!(
            redact_url("https://iam.googleapis.com:443/v1/sa@p.iam/keys?x=abc"),
            "https://iam.googleapis.com:443/v1/sa@p.iam/keys?<redacted>"
        );
    }

    #[test]
    fn redact_url_malformed() {
        let cases = [
            (
                "https://user:PASSWORD@host:99999/x?token=abc",
                "https://<redacted>@host:99999/x?<redacted>",
            ),
            ("https://user:PASSWORD@", "https://<redacted>@"),
            ("https://:PASSWORD@host", "https://<redacted>@host"),
            ("https://user:PASS@WORD@host/x", "https://<redacted>@host/x"),
            ("https://user:PASS/WORD@host/x", "https://<redacted>@host/x"),
            (
                "https://user:PASS\\WORD@host/x",
                "https://<redacted>@host/x",
            ),
            (
                "https://user:PASS?WORD@host/x",
                "https://<redacted>?<redacted>",
            ),
            (
                "https://user:PASS#WORD@host/x",
                "https://<redacted>#<redacted>",
            ),
            ("https://user:PASSWORD", "https://<redacted>"),
            ("user:PASSWORD@host/x", "<redacted>@host/x"),
            ("//user:PASSWORD@host/x", "//<redacted>@host/x"),
            ("host/x?token=abc", "host/x?<redacted>"),
            ("?token=abc", "?<redacted>"),
            ("#SECRET", "#<redacted>"),
            ("@", "<redacted>@"),
            (":", ":"),
            ("://", "://"),
            ("u:PASSWORD@host://x", "<redacted>@host://x"),
            ("see https://u:PASSWORD@h/x", "see https://<redacted>@h/x"),
            ("https://https://u:PASSWORD@h/x", "https://<redacted>@h/x"),
            ("https://", "https://"),
            ("ht tp://u:PASSWORD@h", "ht tp://<redacted>@h"),
            (
                "https://u:PASSWORD@h\u{202e}/x",
                "https://<redacted>@h\u{202e}/x",
            ),
            (
                "https://é:PASSWORD@日本/é?é=abc",
                "https://<redacted>@日本/é?<redacted>",
            ),
            ("https://[::1:PASSWORD@h", "https://<redacted>@h"),
            ("https://[::1]:PASSWORD/x", "https://<redacted>/x"),
            ("HTTPS://U:PASSWORD@H", "HTTPS://<redacted>@H"),
            ("mailto:s3cr3t@example.com", "<redacted>@example.com"),
            ("https://host:abc/x", "https://<redacted>/x"),
        ];
        for (input, want) in cases {
            assert_eq!(assert_redacted(input), want, "{input:?}");
        }
    }

    #[test]
    fn redact_url_never_panics_on_odd_strings() {
        let pieces = [
            "https", "://", ":", "@", "/", "\\", "?", "#", "[", "]", "é", ":SECRET@", "99",
        ];
        for_every_string_of(&pieces, |s| {
            let out = redact_url(s);
            // A password (always written `:SECRET@`) never survives.
            assert!(!out.contains("SECRET"), "{s:?} -> {out:?}");
        });
    }

    #[test]
    fn markdown_escape_neutralises_markup() {
        assert_eq!(markdown_escape("| x |"), "\\| x \\|");
        assert_eq!(
            markdown_escape("<script>alert(1)</script>"),
            "\\<script\\>alert\\(1\\)\\</script\\>"
        );
        assert_eq!(
            markdown_escape("*a* _b_ `c` ~d~"),
            "\\*a\\* \\_b\\_ \\`c\\` \\~d\\~"
        );
        assert_eq!(markdown_escape("![x](y) [z]"), "\\!\\[x\\]\\(y\\) \\[z\\]");
        assert_eq!(
            markdown_escape("&amp; #1 @team $x$"),
            "\\&amp; \\#1 \\@team \\$x\\$"
        );
        assert_eq!(markdown_escape("a\\b"), "a\\\\b");
        assert_eq!(markdown_escape("plain text-1.2"), "plain text-1.2");
    }

    #[test]
    fn markdown_escape_flattens_and_shows_controls() {
        assert_eq!(markdown_escape("a\r\nb\nc\rd\te"), "a b c d e");
        assert_eq!(markdown_escape("a\x1b[2Jb"), "a\\\\x1b\\[2Jb");
        assert_eq!(markdown_escape("\u{202e}"), "\\\\u\\{202e\\}");
        assert!(
            !markdown_escape("a\u{2028}b\u{85}")
                .chars()
                .any(is_escaped_char)
        );
    }

    #[test]
    fn html_escape_basic() {
        assert!(matches!(html_escape("plain"), Cow::Borrowed("plain")));
        assert_eq!(
            html_escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(html_escape("é<"), "é&lt;");
    }
}
