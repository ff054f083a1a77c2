//! Every EDN shape Jepsen, Knossos and Elle write reads as a history (issue 19): any top-level
//! collection of op maps, comments and `#_` discards anywhere between values, tagged literals,
//! and each value type their histories carry. Bad input is an error naming file and line.

use rafty_checkers::import::{self, Format};
use rafty_checkers::{
    CheckOptions, CheckResult, Counterexample, History, ModelKind, Value, Verdict,
};

/// Detects the format of `text` as `rafty check` does, and parses it.
fn read(text: &str) -> History {
    let format = import::detect(text).expect("a detectable format");
    import::parse_str("h.edn", text, format).expect("a readable history")
}

fn error(text: &str) -> String {
    import::parse_str("h.edn", text, Format::Edn)
        .unwrap_err()
        .to_string()
}

/// The value of the one op of a history whose `:value` is written `edn`.
fn value_of(edn: &str) -> Value {
    let history = read(&format!(
        "[{{:process 0, :type :invoke, :f :write, :value {edn}}}]"
    ));
    assert_eq!(history.len(), 1, "{edn}");
    history.ops[0].value.clone()
}

fn literal(text: &str) -> Value {
    Value::Literal(text.to_owned())
}

/// A cas-register history with a violation (the read of 3 follows a failed write of 3),
/// written one op map a line, as Jepsen writes `history.edn`.
const BAD_LINES: &str = "\
{:index 0, :time 0, :type :invoke, :process 1, :f :read, :value nil}
{:index 1, :time 1, :type :invoke, :process 2, :f :write, :value 1}
{:index 2, :time 2, :type :ok, :process 2, :f :write, :value 1}
{:index 3, :time 3, :type :ok, :process 1, :f :read, :value 1}
{:index 4, :time 4, :type :invoke, :process 2, :f :write, :value 3}
{:index 5, :time 5, :type :fail, :process 2, :f :write, :value 3}
{:index 6, :time 6, :type :invoke, :process 1, :f :read, :value nil}
{:index 7, :time 7, :type :ok, :process 1, :f :read, :value 3}
";

/// The same history as a list, as Clojure prints a sequence, with comments, a discarded op
/// and tagged literals.
const BAD_LIST: &str = "\
; A cas-register history with a known violation.
(
 ; the first read and write
 {:index 0, :time 0, :type :invoke, :process 1, :f :read, :value nil}
 {:index 1, :time 1, :type :invoke, :process 2, :f :write, :value 1} ; overlaps the read
 {:index 2, :time 2, :type :ok, :process 2, :f :write, :value 1}
 #_ {:index 99, :type :ok, :process 2, :f :write, :value 3}
 #jepsen.history.Op{:index 3, :time 3, :type :ok, :process 1, :f :read, :value 1}
 {:index 4, :time 4, :type :invoke, :process 2, :f :write, :value 3, :at #inst \"2026-12-06T18:00:00.000-00:00\"}
 {:index 5, :time 5, :type :fail, :process 2, :f :write, :value 3, :error [:timeout #uuid \"6f1c0c7e-6b8f-4d3a-9d3e-2f0a5b1c7d9e\"]}
 ; the read of a value never written
 {:index 6, :time 6, :type :invoke, :process 1, :f :read, :value nil}
 {:index 7, :time 7, :type :ok, :process 1, :f :read, :value 3}
 ; end
)
";

fn check(history: &History) -> CheckResult {
    ModelKind::CasRegister
        .check(
            Format::Edn.default_convention(),
            history,
            &CheckOptions::default(),
        )
        .expect("checkable")
}

fn without_lines(mut counterexample: Counterexample) -> Counterexample {
    counterexample.operation.line = 0;
    for op in &mut counterexample.concurrent {
        op.line = 0;
    }
    for step in &mut counterexample.linearized {
        step.operation.line = 0;
    }
    counterexample
}

#[test]
fn a_list_with_comments_gets_the_verdict_of_the_same_history_one_map_a_line() {
    let lines = read(BAD_LINES);
    let list = read(BAD_LIST);
    assert_eq!(import::detect(BAD_LIST), Some(Format::Edn));
    assert_eq!(list.ops, lines.ops);
    let (from_lines, from_list) = (check(&lines), check(&list));
    assert_eq!(from_lines.valid, Verdict::NotLinearizable);
    assert_eq!(from_list.valid, from_lines.valid);
    // The same counterexample, its ops on the lines they are on in each file.
    let (from_lines, from_list) = (
        from_lines.counterexample.expect("a counterexample"),
        from_list.counterexample.expect("a counterexample"),
    );
    assert_eq!(from_lines.operation.line, 7);
    assert_eq!(from_list.operation.line, 12);
    assert_eq!(without_lines(from_list), without_lines(from_lines));
    assert_eq!(list.lines, vec![4, 5, 6, 8, 9, 10, 12, 13]);

    // And a valid history stays valid: the same without the final read.
    let valid_lines: String = BAD_LINES
        .lines()
        .take(6)
        .map(|l| format!("{l}\n"))
        .collect();
    let valid_list = BAD_LIST.replace(
        "{:index 6, :time 6, :type :invoke, :process 1, :f :read, :value nil}",
        "#_{:index 6}",
    );
    let valid_list = valid_list.replace(
        "{:index 7, :time 7, :type :ok, :process 1, :f :read, :value 3}",
        "",
    );
    assert_eq!(check(&read(&valid_lines)).valid, Verdict::Linearizable);
    assert_eq!(check(&read(&valid_list)).valid, Verdict::Linearizable);
}

#[test]
fn a_top_level_list_vector_or_sequence_of_maps_reads_the_same_ops() {
    let maps = "{:process 0, :type :invoke, :f :read, :value nil}\n\
                {:process 0, :type :ok, :f :read, :value 5}";
    let sequence = read(maps);
    assert_eq!(sequence.len(), 2);
    for text in [
        format!("({maps})"),
        format!("[{maps}]"),
        format!("( {maps}\n)\n"),
    ] {
        assert_eq!(read(&text).ops, sequence.ops, "{text}");
    }
    assert_eq!(read("()").len(), 0);
    assert_eq!(read("[]").len(), 0);
}

#[test]
fn detection_recognises_a_list_a_vector_and_a_leading_comment() {
    assert_eq!(import::detect("({:process 0}\n"), Some(Format::Edn));
    assert_eq!(import::detect("(\n {:process 0}\n"), Some(Format::Edn));
    assert_eq!(import::detect("[{:process 0}\n"), Some(Format::Edn));
    assert_eq!(
        import::detect("; a history\n;; of ops\n(\n"),
        Some(Format::Edn)
    );
    assert_eq!(
        import::detect("; a history\n{:process 0, :type :invoke, :f :read}\n"),
        Some(Format::EdnLines)
    );
    // Nothing but comments: an empty history.
    let text = "; nothing happened\n";
    assert_eq!(import::detect(text), Some(Format::Edn));
    assert!(read(text).is_empty());
}

#[test]
fn comments_may_come_anywhere_between_values() {
    let history = read(
        "[; before the first op\n\
         {:process 0 ; after a key\n :type :invoke, :f :read, :value [1 ; in a vector\n 2]}\n\
         ; before the closing bracket\n]\n; after it\n",
    );
    assert_eq!(history.len(), 1);
    assert_eq!(
        history.ops[0].value,
        Value::List(vec![Value::Int(1), Value::Int(2)])
    );
}

#[test]
fn a_discard_skips_the_next_value() {
    assert_eq!(value_of("#_ 1 2"), Value::Int(2));
    assert_eq!(
        value_of("[1 #_ 2 3]"),
        Value::List(vec![Value::Int(1), Value::Int(3)])
    );
    assert_eq!(value_of("#_ #_ 1 2 3"), Value::Int(3));
    assert_eq!(
        value_of("#_ {:a [1 2]} :kept"),
        Value::Keyword("kept".into())
    );
    let history = read("(#_{:process 9} {:process 0, :type :invoke, :f :read} #_ :x)");
    assert_eq!(history.len(), 1);
}

#[test]
fn a_tagged_literal_reads_as_its_value() {
    assert_eq!(
        value_of("#inst \"2026-12-06T18:00:00.000-00:00\""),
        Value::from("2026-12-06T18:00:00.000-00:00")
    );
    assert_eq!(
        value_of("#uuid \"6f1c0c7e-6b8f-4d3a-9d3e-2f0a5b1c7d9e\""),
        Value::from("6f1c0c7e-6b8f-4d3a-9d3e-2f0a5b1c7d9e")
    );
    assert_eq!(
        value_of("#jepsen.x/Y {:a 1}").get_keyword("a"),
        Some(&Value::Int(1))
    );
    let history = read("[#jepsen.history.Op{:process 0, :type :invoke, :f :read, :index 7}]");
    assert_eq!(history.ops[0].index, 7);
}

#[test]
fn keywords_symbols_and_strings_with_escapes() {
    assert_eq!(value_of(":timed-out"), Value::Keyword("timed-out".into()));
    assert_eq!(value_of(":jepsen/ns"), Value::Keyword("jepsen/ns".into()));
    assert_eq!(value_of("foo"), literal("foo"));
    assert_eq!(value_of("clojure.core/+"), literal("clojure.core/+"));
    assert_eq!(
        value_of(r#""a\"b\\c\nd\te\u00e9""#),
        Value::from("a\"b\\c\nd\te\u{e9}")
    );
}

#[test]
fn integers_with_n_and_m_suffixes() {
    assert_eq!(value_of("-42"), Value::Int(-42));
    assert_eq!(value_of("+7"), Value::Int(7));
    assert_eq!(
        value_of("3N"),
        Value::Int(3),
        "a big integer that fits is an integer"
    );
    assert_eq!(
        value_of("123456789012345678901234567890N"),
        literal("123456789012345678901234567890N")
    );
    assert_eq!(
        value_of("-123456789012345678901234567890"),
        literal("-123456789012345678901234567890N")
    );
    assert_eq!(value_of("1.50M"), literal("1.50M"));
    assert_eq!(value_of("3M"), literal("3M"));
}

#[test]
fn floats_read_in_canonical_form() {
    assert_eq!(value_of("1.5"), literal("1.5"));
    assert_eq!(value_of("-0.25"), literal("-0.25"));
    assert_eq!(value_of("1e3"), value_of("1000.0"));
    assert_eq!(value_of("1E-2"), literal("0.01"));
    assert_ne!(
        value_of("1.0"),
        Value::Int(1),
        "Clojure: (= 1.0 1) is false"
    );
    assert_eq!(value_of("##Inf"), literal("##Inf"));
    assert_eq!(value_of("##-Inf"), literal("##-Inf"));
    assert_eq!(value_of("##NaN"), literal("##NaN"));
}

#[test]
fn ratios_read_in_lowest_terms() {
    assert_eq!(value_of("1/3"), literal("1/3"));
    assert_eq!(value_of("2/6"), literal("1/3"));
    assert_eq!(value_of("-4/6"), literal("-2/3"));
    assert_eq!(value_of("4/2"), Value::Int(2));
}

#[test]
fn nil_and_booleans() {
    assert_eq!(value_of("nil"), Value::Nil);
    assert_eq!(value_of("true"), Value::Bool(true));
    assert_eq!(value_of("false"), Value::Bool(false));
}

#[test]
fn characters() {
    assert_eq!(value_of("\\a"), literal("\\a"));
    assert_eq!(value_of("\\("), literal("\\("));
    assert_eq!(value_of("\\newline"), literal("\\newline"));
    assert_eq!(value_of("\\u0041"), value_of("\\A"));
    assert_eq!(value_of("\\u000a"), value_of("\\newline"));
    assert_eq!(value_of("\\é"), literal("\\é"));
    assert_ne!(value_of("\\a"), Value::from("a"));
    assert_eq!(
        value_of("[\\a \\b]"),
        Value::List(vec![literal("\\a"), literal("\\b")])
    );
}

#[test]
fn sets_and_nested_collections() {
    assert_eq!(value_of("#{}"), Value::List(vec![]));
    assert_eq!(
        value_of("#{3 1 2}"),
        value_of("#{2 3 1}"),
        "sets are unordered"
    );
    let nested = value_of("{:a [1 (2 #{3})], :b {:c nil}, [1 2] \"vector key\"}");
    assert_eq!(
        nested.get_keyword("a"),
        Some(&Value::List(vec![
            Value::Int(1),
            Value::List(vec![Value::Int(2), Value::List(vec![Value::Int(3)])])
        ]))
    );
    assert_eq!(
        nested.get_keyword("b").and_then(|b| b.get_keyword("c")),
        Some(&Value::Nil)
    );
}

#[test]
fn every_literal_reads_back_from_its_display() {
    for edn in [
        "1.5",
        "1/3",
        "-2/3",
        "12345678901234567890N",
        "1.50M",
        "\\a",
        "\\newline",
        "\\space",
        "foo",
        "##Inf",
        "#{1 2}",
        "{:a 1.5, :b [\\c 1/2]}",
    ] {
        let value = value_of(edn);
        assert_eq!(
            value_of(&value.to_string()),
            value,
            "{edn} shown as {value}"
        );
    }
}

#[test]
fn bad_input_names_file_and_line() {
    assert_eq!(
        error("(\n{:process 0, :type :invoke, :f :read}\n"),
        "h.edn:3: unexpected end of input: missing ')'"
    );
    assert_eq!(
        error("({:process 0, :type :invoke, :f :read})\n{:process 1}"),
        "h.edn:2: unexpected form after the history's closing ')'"
    );
    assert_eq!(
        error("(\n; a comment\n{:process 0, :type :invoke, :f :read, :value 1/0})"),
        "h.edn:3: unsupported number '1/0'"
    );
    assert_eq!(
        error("(\n{:process 0, :type :invoke, :f :read, :value \\bogus})"),
        "h.edn:2: unknown character literal '\\bogus'"
    );
    assert_eq!(
        error("(\n\n:not-an-op)"),
        "h.edn:3: expected an op map, found :not-an-op"
    );
    assert_eq!(error("(\n{:process 0 #_})"), "h.edn:2: unexpected '}'");
    assert_eq!(error("[\n#inst]"), "h.edn:2: unexpected ']'");
}
