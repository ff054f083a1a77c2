//! Escaping text for XML/HTML and for JSON embedded in an HTML `<script>` element.

use std::fmt::Write;

/// Escapes `text` for XML or HTML text and attribute values (`&`, `<`, `>`, `"`, `'`), and
/// drops the control characters XML 1.0 forbids.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Makes serialized JSON safe inside `<script type="application/json">`: every `<` becomes
/// `\u003c` (it can only occur inside JSON strings), so `</script>` and `<!--` cannot appear.
pub fn json_for_script(json: &str) -> String {
    json.replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_drops_forbidden_controls() {
        assert_eq!(
            xml("a<b & \"c\" 'd'>\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;\\x01"
        );
    }

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let json = serde_json::to_string("</script><!--").unwrap();
        let safe = json_for_script(&json);
        assert!(!safe.contains("</"));
        assert!(!safe.contains("<!--"));
        assert_eq!(
            serde_json::from_str::<String>(&safe).unwrap(),
            "</script><!--"
        );
    }
}
