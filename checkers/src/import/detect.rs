//! `--format auto`: tells the formats apart from the start of a file.

use super::Format;
use crate::edn::Reader;
use crate::value::Value;

/// Detects the format from the start of a file; `None` if it looks like none of them.
///
/// The first line that is not blank or an EDN `;` comment decides. Starting `{"` it is JSON
/// lines; `[` (a vector) or `(` (a list, as Clojure prints a sequence) is EDN; `{:` or `#` is
/// EDN, as a Jepsen sequence if the first op map has `:time` or `:index`, else one map a line;
/// a line containing `jepsen.util - ` (other log lines may come first) is the old log format.
/// A file of nothing but white space is an empty history in any format (as Porcupine reads its
/// empty `etcd_095.log`): JSON lines, which read it as such. A file of nothing but comments is
/// an empty EDN history.
pub fn detect(head: &str) -> Option<Format> {
    if head.trim().is_empty() {
        return Some(Format::Jsonl);
    }
    let Some(first) = head
        .lines()
        .map(str::trim_start)
        .find(|line| !line.is_empty() && !line.starts_with(';'))
    else {
        return Some(Format::Edn);
    };
    if first.starts_with("{\"") || first.starts_with("{ \"") {
        return Some(Format::Jsonl);
    }
    if first.starts_with(['[', '(']) {
        return Some(Format::Edn);
    }
    if first.starts_with('{') || first.starts_with('#') {
        return Some(detect_edn_flavour(first));
    }
    head.lines()
        .any(|line| line.contains("jepsen.util - "))
        .then_some(Format::JepsenLog)
}

fn detect_edn_flavour(first_line: &str) -> Format {
    let mut reader = Reader::new("", first_line);
    match reader.next_form() {
        Ok(Some((map @ Value::Map(_), _)))
            if map.get_keyword("time").is_none() && map.get_keyword("index").is_none() =>
        {
            Format::EdnLines
        }
        _ => Format::Edn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_format() {
        assert_eq!(
            detect("{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n"),
            Some(Format::Jsonl)
        );
        assert_eq!(detect("[{:process 0, :type :invoke}\n"), Some(Format::Edn));
        assert_eq!(
            detect("{:index 0, :time 5, :process 0, :type :invoke, :f :read}\n"),
            Some(Format::Edn)
        );
        assert_eq!(
            detect("\n{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n"),
            Some(Format::EdnLines)
        );
        assert_eq!(
            detect("INFO  jepsen.core - starting\nINFO  jepsen.util - 3\t:invoke\t:read\tnil\n"),
            Some(Format::JepsenLog)
        );
        assert_eq!(detect("hello world\n"), None);
    }

    #[test]
    fn an_empty_or_blank_file_is_an_empty_history() {
        assert_eq!(detect(""), Some(Format::Jsonl));
        assert_eq!(detect("\n"), Some(Format::Jsonl));
        assert_eq!(detect(" \r\n\t\n"), Some(Format::Jsonl));
    }
}
