//! An EDN reader for everything Jepsen, Knossos and Elle write in histories: maps, vectors,
//! lists, sets, keywords, strings, characters, numbers (integers, `N` and `M` suffixes,
//! floats, ratios, `##Inf`), symbols, `nil` and booleans. A tagged literal (`#inst "..."`,
//! `#uuid "..."`, `#jepsen.history.Op{...}`) reads as the tagged form, the tag dropped; `#_`
//! discards the next form; `;` starts a comment. Scalars are read by [`scalar`]. Every error
//! names the file and line.

mod scalar;

use std::collections::BTreeMap;

use crate::error::HistoryError;
use crate::value::Value;

/// Deepest nesting accepted, so that hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 128;

/// Reads EDN forms one at a time from a string, tracking the line.
#[derive(Debug)]
pub struct Reader<'a> {
    file: &'a str,
    src: &'a str,
    position: usize,
    line: usize,
    discarding: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `src`, which came from `file` (named in errors).
    pub fn new(file: &'a str, src: &'a str) -> Reader<'a> {
        Reader {
            file,
            src,
            position: 0,
            line: 1,
            discarding: 0,
        }
    }

    /// A reader over `src`, whose first line is line `line` of `file` (a piece of a file).
    pub fn starting_at(file: &'a str, src: &'a str, line: usize) -> Reader<'a> {
        Reader {
            line,
            ..Reader::new(file, src)
        }
    }

    /// Whether every byte of the input has been consumed (an error then may be a form cut by
    /// the input's end, which more input could complete).
    pub fn exhausted(&self) -> bool {
        self.position >= self.src.len()
    }

    /// An error at the current line.
    pub fn error(&self, reason: impl Into<String>) -> HistoryError {
        HistoryError::malformed(self.file, self.line, reason)
    }

    /// Skips whitespace, commas, comments and `#_` discarded forms; returns the next byte.
    pub fn peek(&mut self) -> Result<Option<u8>, HistoryError> {
        loop {
            let Some(&byte) = self.src.as_bytes().get(self.position) else {
                return Ok(None);
            };
            match byte {
                b'\n' => {
                    self.line += 1;
                    self.position += 1;
                }
                b' ' | b'\t' | b'\r' | b',' => self.position += 1,
                b';' => {
                    while let Some(&b) = self.src.as_bytes().get(self.position) {
                        if b == b'\n' {
                            break;
                        }
                        self.position += 1;
                    }
                }
                b'#' if self.src.as_bytes().get(self.position + 1) == Some(&b'_') => {
                    self.position += 2;
                    self.discarding += 1;
                    if self.discarding > MAX_DEPTH {
                        return Err(self.error(format!("forms nested deeper than {MAX_DEPTH}")));
                    }
                    let discarded = self.read_form(0);
                    self.discarding -= 1;
                    discarded?;
                }
                _ => return Ok(Some(byte)),
            }
        }
    }

    /// Consumes the next byte, which must be `expected`.
    pub fn expect(&mut self, expected: u8) -> Result<(), HistoryError> {
        match self.peek()? {
            Some(byte) if byte == expected => {
                self.position += 1;
                Ok(())
            }
            Some(byte) => Err(self.error(format!(
                "expected '{}', found '{}'",
                expected as char, byte as char
            ))),
            None => Err(self.error(format!(
                "expected '{}', found end of input",
                expected as char
            ))),
        }
    }

    /// Consumes the byte [`Reader::peek`] returned.
    pub fn skip_byte(&mut self) {
        self.position += 1;
    }

    /// Reads the next form and the line it starts on; `None` at the end of input.
    pub fn next_form(&mut self) -> Result<Option<(Value, usize)>, HistoryError> {
        if self.peek()?.is_none() {
            return Ok(None);
        }
        let line = self.line;
        Ok(Some((self.read_form(0)?, line)))
    }

    fn read_form(&mut self, depth: usize) -> Result<Value, HistoryError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("forms nested deeper than {MAX_DEPTH}")));
        }
        let Some(byte) = self.peek()? else {
            return Err(self.error("unexpected end of input"));
        };
        match byte {
            b'{' => {
                self.position += 1;
                let start = self.line;
                let items = self.read_until(b'}', depth)?;
                if items.len() % 2 != 0 {
                    return Err(HistoryError::malformed(
                        self.file,
                        start,
                        "a map needs an even number of forms",
                    ));
                }
                let mut map = BTreeMap::new();
                let mut items = items.into_iter();
                while let (Some(k), Some(v)) = (items.next(), items.next()) {
                    map.insert(k, v);
                }
                Ok(Value::Map(map))
            }
            b'[' => {
                self.position += 1;
                Ok(Value::List(self.read_until(b']', depth)?))
            }
            b'(' => {
                self.position += 1;
                Ok(Value::List(self.read_until(b')', depth)?))
            }
            b'#' => self.read_dispatch(depth),
            b'"' => self.read_string(),
            b':' => {
                self.position += 1;
                let token = self.token();
                if token.is_empty() {
                    return Err(self.error("empty keyword"));
                }
                Ok(Value::Keyword(token.to_owned()))
            }
            b'}' | b']' | b')' => Err(self.error(format!("unexpected '{}'", byte as char))),
            b'\\' => self.read_character(),
            _ => {
                let token = self.token();
                scalar::atom(token).map_err(|reason| self.error(reason))
            }
        }
    }

    fn read_dispatch(&mut self, depth: usize) -> Result<Value, HistoryError> {
        self.position += 1;
        match self.src.as_bytes().get(self.position) {
            Some(b'{') => {
                // A set, in canonical (sorted) order, so that equal sets are equal values.
                self.position += 1;
                let mut items = self.read_until(b'}', depth)?;
                items.sort();
                items.dedup();
                Ok(Value::List(items))
            }
            Some(b'#') => {
                self.position += 1;
                match self.token() {
                    name @ ("Inf" | "-Inf" | "NaN") => Ok(Value::Literal(format!("##{name}"))),
                    name => Err(self.error(format!("unknown symbolic value '##{name}'"))),
                }
            }
            Some(b) if b.is_ascii_alphabetic() => {
                // A tagged literal: the tag is dropped, the form is kept.
                self.token();
                if self.peek()?.is_none() {
                    return Err(self.error("a tag with no form after it"));
                }
                self.read_form(depth + 1)
            }
            Some(b':') => Err(self.error("namespaced maps ('#:ns{...}') are not supported")),
            _ => Err(self.error("unsupported '#' dispatch")),
        }
    }

    fn read_until(&mut self, close: u8, depth: usize) -> Result<Vec<Value>, HistoryError> {
        let mut items = Vec::new();
        loop {
            match self.peek()? {
                Some(byte) if byte == close => {
                    self.position += 1;
                    return Ok(items);
                }
                Some(_) => items.push(self.read_form(depth + 1)?),
                None => {
                    return Err(self.error(format!(
                        "unexpected end of input: missing '{}'",
                        close as char
                    )));
                }
            }
        }
    }

    fn read_string(&mut self) -> Result<Value, HistoryError> {
        let start_line = self.line;
        self.position += 1;
        let mut out = String::new();
        let mut chunk_start = self.position;
        let bytes = self.src.as_bytes();
        loop {
            let Some(&byte) = bytes.get(self.position) else {
                return Err(HistoryError::malformed(
                    self.file,
                    start_line,
                    "unterminated string",
                ));
            };
            match byte {
                b'"' => {
                    out.push_str(&self.src[chunk_start..self.position]);
                    self.position += 1;
                    return Ok(Value::String(out));
                }
                b'\\' => {
                    out.push_str(&self.src[chunk_start..self.position]);
                    let escaped = bytes.get(self.position + 1).copied();
                    self.position += 2;
                    match escaped {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'n') => out.push('\n'),
                        Some(b't') => out.push('\t'),
                        Some(b'r') => out.push('\r'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'u') => out.push(self.read_unicode_escape()?),
                        _ => return Err(self.error("unknown escape in string")),
                    }
                    chunk_start = self.position;
                }
                b'\n' => {
                    self.line += 1;
                    self.position += 1;
                }
                _ => self.position += 1,
            }
        }
    }

    fn read_unicode_escape(&mut self) -> Result<char, HistoryError> {
        let hex = self
            .src
            .get(self.position..self.position + 4)
            .ok_or_else(|| self.error("truncated \\u escape"))?;
        let code = u32::from_str_radix(hex, 16).map_err(|_| self.error("bad \\u escape"))?;
        self.position += 4;
        char::from_u32(code).ok_or_else(|| self.error("\\u escape is not a character"))
    }

    /// Consumes the bytes up to the next delimiter.
    fn token(&mut self) -> &'a str {
        let start = self.position;
        let bytes = self.src.as_bytes();
        while let Some(&byte) = bytes.get(self.position) {
            if is_delimiter(byte) {
                break;
            }
            self.position += 1;
        }
        &self.src[start..self.position]
    }

    /// A character literal: `\a`, `\(`, `\newline`, `\u00e9`.
    fn read_character(&mut self) -> Result<Value, HistoryError> {
        self.position += 1;
        let Some(first) = self.src[self.position..].chars().next() else {
            return Err(self.error("a backslash at the end of input"));
        };
        if first.is_whitespace() {
            return Err(self.error("a backslash before white space"));
        }
        let start = self.position;
        self.position += first.len_utf8();
        if first.is_alphanumeric() {
            self.token();
        }
        let name = &self.src[start..self.position];
        scalar::character(name)
            .map(scalar::character_literal)
            .map_err(|reason| self.error(reason))
    }
}

fn is_delimiter(byte: u8) -> bool {
    matches!(
        byte,
        b' ' | b'\t' | b'\r' | b'\n' | b',' | b'{' | b'}' | b'[' | b']' | b'(' | b')' | b'"' | b';'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads every form of `src`, with the line each starts on.
    fn read_all(file: &str, src: &str) -> Result<Vec<(Value, usize)>, HistoryError> {
        let mut reader = Reader::new(file, src);
        let mut forms = Vec::new();
        while let Some(form) = reader.next_form()? {
            forms.push(form);
        }
        Ok(forms)
    }

    fn read_one(src: &str) -> Value {
        let forms = read_all("t.edn", src).unwrap();
        assert_eq!(forms.len(), 1);
        forms.into_iter().next().unwrap().0
    }

    fn error(src: &str) -> String {
        read_all("t.edn", src).unwrap_err().to_string()
    }

    #[test]
    fn reads_the_subset() {
        let value = read_one(r#"{:a 1, :b [nil true false "s\"\n"], :c (-2 3N), :d #{:x}}"#);
        assert_eq!(
            value.get_keyword("b"),
            Some(&Value::List(vec![
                Value::Nil,
                Value::Bool(true),
                Value::Bool(false),
                Value::from("s\"\n")
            ]))
        );
        assert_eq!(
            value.get_keyword("c"),
            Some(&Value::List(vec![Value::Int(-2), Value::Int(3)]))
        );
        assert_eq!(
            value.get_keyword("d"),
            Some(&Value::List(vec![Value::Keyword("x".into())]))
        );
    }

    #[test]
    fn comments_discards_and_tags_are_skipped() {
        let value = read_one("; a comment\n#_ {:ignored 1} #jepsen.history.Op{:index 4}");
        assert_eq!(value.get_keyword("index"), Some(&Value::Int(4)));
    }

    #[test]
    fn reports_the_line_of_each_form() {
        let forms = read_all("t.edn", "{:a 1}\n\n{:b \"x\ny\"}\n:k").unwrap();
        let lines: Vec<usize> = forms.iter().map(|(_, line)| *line).collect();
        assert_eq!(lines, vec![1, 3, 5]);
    }

    #[test]
    fn malformed_input_names_file_and_line() {
        assert_eq!(
            error("{:a 1}\n{:b}"),
            "t.edn:2: a map needs an even number of forms"
        );
        assert_eq!(
            error("[1 2\n"),
            "t.edn:2: unexpected end of input: missing ']'"
        );
        assert_eq!(error("\n\"abc"), "t.edn:2: unterminated string");
        assert_eq!(error("\n1/0"), "t.edn:2: unsupported number '1/0'");
        assert_eq!(error("1.2.3"), "t.edn:1: unsupported number '1.2.3'");
        assert_eq!(error("0x1F"), "t.edn:1: unsupported number '0x1F'");
        assert_eq!(error("@x"), "t.edn:1: unsupported token '@x'");
        assert_eq!(error("\\foo"), "t.edn:1: unknown character literal '\\foo'");
        assert_eq!(error("##Foo"), "t.edn:1: unknown symbolic value '##Foo'");
        assert_eq!(error("#inst"), "t.edn:1: a tag with no form after it");
        assert_eq!(error("]"), "t.edn:1: unexpected ']'");
        assert_eq!(error(":"), "t.edn:1: empty keyword");
        assert_eq!(error("\"\\q\""), "t.edn:1: unknown escape in string");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = "[".repeat(10_000);
        assert!(error(&src).contains("nested deeper"));
        let src = "#_".repeat(10_000);
        assert!(error(&src).contains("nested deeper"));
    }
}
