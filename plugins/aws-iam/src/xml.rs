//! Reading the few things Revoker needs from an IAM answer: the root element,
//! `Error/Code`, `Error/Message`, the `RequestId`, and the
//! `GetAccessKeyLastUsedResult/UserName` a lookup answers.
//!
//! Whatever the bytes (malformed, truncated, HTML, huge, not UTF-8), reading
//! ends with what was found before the first fault and never panics: the time
//! is linear in the body, the memory bounded by [`MAX_DEPTH`] and
//! [`MAX_FIELD_BYTES`]. Entities other than XML's five and character
//! references are a fault, never expanded.

use quick_xml::Reader;
use quick_xml::events::{BytesRef, Event};

/// Elements nested deeper than this are a fault (an IAM answer has four levels).
const MAX_DEPTH: usize = 32;
/// What is kept of each field's text, in bytes.
const MAX_FIELD_BYTES: usize = 4096;

/// What an IAM answer says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    /// The root element's local name, e.g. `DeleteAccessKeyResponse`.
    pub root: Option<String>,
    /// Whether the body is one well-formed element, read to its end.
    pub complete: bool,
    /// The text of `Error/Code`, e.g. `NoSuchEntity`.
    pub code: Option<String>,
    /// The text of `Error/Message`.
    pub message: Option<String>,
    /// The text of the first `RequestId` (in `ResponseMetadata` on success, in
    /// `ErrorResponse` on error).
    pub request_id: Option<String>,
    /// The text of `GetAccessKeyLastUsedResult/UserName`: the key's owner.
    pub user_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Code,
    Message,
    RequestId,
    UserName,
}

impl Field {
    fn of(parent: Option<&str>, name: &str) -> Option<Self> {
        match (parent, name) {
            (Some("Error"), "Code") => Some(Self::Code),
            (Some("Error"), "Message") => Some(Self::Message),
            (Some(_), "RequestId") => Some(Self::RequestId),
            (Some("GetAccessKeyLastUsedResult"), "UserName") => Some(Self::UserName),
            _ => None,
        }
    }
}

impl Answer {
    /// Keeps a field's text unless it was found before (only the first counts)
    /// or is blank.
    fn set(&mut self, field: Field, text: String) {
        let slot = match field {
            Field::Code => &mut self.code,
            Field::Message => &mut self.message,
            Field::RequestId => &mut self.request_id,
            Field::UserName => &mut self.user_name,
        };
        let text = text.trim();
        if slot.is_none() && !text.is_empty() {
            *slot = Some(text.to_owned());
        }
    }
}

/// Appends `text` to `out`, keeping `out` within [`MAX_FIELD_BYTES`].
fn push_bounded(out: &mut String, text: &str) {
    let room = MAX_FIELD_BYTES.saturating_sub(out.len());
    if text.len() <= room {
        out.push_str(text);
    } else {
        let mut end = room;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        out.push_str(&text[..end]);
    }
}

/// The character an entity or character reference stands for, if it is one
/// XML defines without a DTD.
fn resolve(reference: &BytesRef<'_>) -> Option<char> {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return Some(c);
    }
    match &**reference {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    }
}

/// Reads `body` as an IAM answer.
pub(crate) fn read(body: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(body);
    let mut reader = Reader::from_str(&text);
    let mut answer = Answer::default();
    // The local names of the open elements, outermost first.
    let mut open: Vec<String> = Vec::new();
    // The field whose text is being read: the innermost open element's.
    let mut field: Option<(Field, String)> = None;
    let mut root_closed = false;
    loop {
        let Ok(event) = reader.read_event() else {
            return answer;
        };
        let empty = matches!(event, Event::Empty(_));
        match &event {
            Event::Start(start) | Event::Empty(start) if !root_closed => {
                if open.len() >= MAX_DEPTH {
                    return answer;
                }
                let name = start.local_name().as_ref().to_owned();
                answer.root.get_or_insert_with(|| name.clone());
                let parent = open.last().map(String::as_str);
                // A child ends its parent's text: IAM's fields hold none.
                field = Field::of(parent, &name).map(|f| (f, String::new()));
                if empty {
                    field = None;
                    root_closed = open.is_empty();
                } else {
                    open.push(name);
                }
            }
            Event::End(_) => {
                // quick-xml has checked that it closes the innermost element.
                if open.pop().is_none() {
                    return answer;
                }
                if let Some((f, text)) = field.take() {
                    answer.set(f, text);
                }
                root_closed = open.is_empty();
            }
            Event::Text(text) if !open.is_empty() => {
                if let Some((_, value)) = &mut field {
                    push_bounded(value, &text.xml10_content());
                }
            }
            Event::CData(data) if !open.is_empty() => {
                if let Some((_, value)) = &mut field {
                    push_bounded(value, &data.xml10_content());
                }
            }
            Event::GeneralRef(reference) if !open.is_empty() => {
                let Some(c) = resolve(reference) else {
                    return answer;
                };
                if let Some((_, value)) = &mut field {
                    push_bounded(value, c.encode_utf8(&mut [0; 4]));
                }
            }
            // Whitespace around the root element is allowed; anything else is not.
            Event::Text(text) if text.trim().is_empty() => {}
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            Event::Eof => {
                answer.complete = root_closed && open.is_empty();
                return answer;
            }
            // A second root, or text or a reference outside the root.
            _ => return answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ERROR: &str = r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <Error>
    <Type>Sender</Type>
    <Code>NoSuchEntity</Code>
    <Message>The Access Key with id AKIAIOSFODNN7EXAMPLE cannot be found.</Message>
  </Error>
  <RequestId>4c1e7b2e-1f0a-4d8b-9a3e-0c6f5e2d7a11</RequestId>
</ErrorResponse>
"#;

    #[test]
    fn reads_an_error_answer() {
        let answer = read(ERROR.as_bytes());
        assert_eq!(
            answer,
            Answer {
                root: Some("ErrorResponse".into()),
                complete: true,
                code: Some("NoSuchEntity".into()),
                message: Some(
                    "The Access Key with id AKIAIOSFODNN7EXAMPLE cannot be found.".into()
                ),
                request_id: Some("4c1e7b2e-1f0a-4d8b-9a3e-0c6f5e2d7a11".into()),
                user_name: None,
            }
        );
    }

    #[test]
    fn reads_a_success_answer_with_a_declaration_and_prefixes() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<iam:DeleteAccessKeyResponse xmlns:iam="https://iam.amazonaws.com/doc/2010-05-08/">
  <iam:ResponseMetadata><iam:RequestId>r-1</iam:RequestId></iam:ResponseMetadata>
</iam:DeleteAccessKeyResponse>"#;
        let answer = read(body.as_bytes());
        assert_eq!(answer.root.as_deref(), Some("DeleteAccessKeyResponse"));
        assert!(answer.complete);
        assert_eq!(answer.request_id.as_deref(), Some("r-1"));
        assert_eq!(answer.code, None);
    }

    #[test]
    fn reads_the_user_name_of_a_lookup_only_from_its_result() {
        let body = r#"<GetAccessKeyLastUsedResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <GetAccessKeyLastUsedResult>
    <AccessKeyLastUsed>
      <Region>us-west-2</Region>
      <LastUsedDate>2015-03-13T10:45:00Z</LastUsedDate>
      <ServiceName>s3</ServiceName>
    </AccessKeyLastUsed>
    <UserName>bob</UserName>
  </GetAccessKeyLastUsedResult>
  <ResponseMetadata>
    <RequestId>510a8a47-c9b1-11e4-8f7c-EXAMPLE</RequestId>
  </ResponseMetadata>
</GetAccessKeyLastUsedResponse>"#;
        let answer = read(body.as_bytes());
        assert_eq!(answer.root.as_deref(), Some("GetAccessKeyLastUsedResponse"));
        assert!(answer.complete);
        assert_eq!(answer.user_name.as_deref(), Some("bob"));
        assert_eq!(
            answer.request_id.as_deref(),
            Some("510a8a47-c9b1-11e4-8f7c-EXAMPLE")
        );
        for elsewhere in [
            "<GetAccessKeyLastUsedResponse><UserName>bob</UserName></GetAccessKeyLastUsedResponse>",
            "<ErrorResponse><Error><UserName>bob</UserName></Error></ErrorResponse>",
            "<GetAccessKeyLastUsedResult><AccessKeyLastUsed><UserName>bob</UserName>\
             </AccessKeyLastUsed></GetAccessKeyLastUsedResult>",
        ] {
            assert_eq!(read(elsewhere.as_bytes()).user_name, None, "{elsewhere}");
        }
    }

    #[test]
    fn entities_and_cdata_are_decoded_but_never_expanded_from_a_dtd() {
        let body = "<ErrorResponse><Error><Code>AccessDenied</Code>\
            <Message>a &amp; b &lt;c&gt; &#39;d&#x27; <![CDATA[<e>]]></Message></Error></ErrorResponse>";
        assert_eq!(
            read(body.as_bytes()).message.as_deref(),
            Some("a & b <c> 'd' <e>")
        );

        let body = r#"<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>
<ErrorResponse><Error><Code>&b;</Code></Error></ErrorResponse>"#;
        let answer = read(body.as_bytes());
        assert_eq!(answer.code, None);
        assert!(!answer.complete);
    }

    #[test]
    fn only_what_was_closed_before_a_fault_is_kept() {
        let truncated = &ERROR[..ERROR.find("cannot").unwrap()];
        let answer = read(truncated.as_bytes());
        assert_eq!(answer.code.as_deref(), Some("NoSuchEntity"));
        assert_eq!(answer.message, None);
        assert!(!answer.complete);

        let mismatched =
            "<ErrorResponse><Error><Code>AccessDenied</Message></Error></ErrorResponse>";
        let answer = read(mismatched.as_bytes());
        assert_eq!(answer.code, None);
        assert!(!answer.complete);
    }

    #[test]
    fn a_second_root_or_text_outside_it_makes_it_incomplete() {
        for body in [
            "<DeleteAccessKeyResponse/><DeleteAccessKeyResponse/>",
            "<DeleteAccessKeyResponse></DeleteAccessKeyResponse>trailing",
            "leading<DeleteAccessKeyResponse></DeleteAccessKeyResponse>",
            "<DeleteAccessKeyResponse></DeleteAccessKeyResponse>&amp;",
        ] {
            let answer = read(body.as_bytes());
            assert!(!answer.complete, "{body}");
        }
        assert!(read(b"  <DeleteAccessKeyResponse/>\n").complete);
    }

    #[test]
    fn fields_are_found_only_where_iam_puts_them() {
        let body = "<ErrorResponse><Code>Throttling</Code><Message>m</Message>\
            <Error><Detail><Code>x</Code></Detail></Error></ErrorResponse>";
        let answer = read(body.as_bytes());
        assert_eq!((answer.code, answer.message), (None, None));
        // A child element inside a field ends its text.
        let body =
            "<ErrorResponse><Error><Code>Access<b>x</b>Denied</Code></Error></ErrorResponse>";
        assert_eq!(read(body.as_bytes()).code, None);
        let body = "<RequestId>top</RequestId>";
        assert_eq!(read(body.as_bytes()).request_id, None);
    }

    #[test]
    fn bodies_that_are_not_xml_give_nothing_and_never_panic() {
        let deep = "<a>".repeat(100_000);
        let wide = format!(
            "<ErrorResponse><Error><Message>{}</Message></Error></ErrorResponse>",
            "é".repeat(600_000)
        );
        for body in [
            &b""[..],
            b"   ",
            b"\xff\xfe<\x00E\x00",
            b"<",
            b"<<<>>>",
            b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><hr><center>nginx</center></body></html>",
            b"{\"__type\":\"Throttling\"}",
            b"<a attr=\"unterminated>",
            b"<![CDATA[",
            b"<!--",
            b"</ErrorResponse>",
            deep.as_bytes(),
            wide.as_bytes(),
        ] {
            let answer = read(body);
            assert_eq!(answer.code, None);
            assert!(!answer.complete || answer.root.is_some());
            if let Some(message) = answer.message {
                assert!(message.len() <= MAX_FIELD_BYTES);
            }
        }
        let answer = read(wide.as_bytes());
        assert!(answer.complete);
        let message = answer.message.unwrap();
        assert!(message.len() <= MAX_FIELD_BYTES && message.len() > MAX_FIELD_BYTES - 4);
    }
}
