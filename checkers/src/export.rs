//! Writing histories: EDN (so that Knossos and Elle can check them) and native JSON lines.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::history::{History, Op, Process};

/// One op as an EDN map: `{:index 0, :time 5, :process 3, :type :invoke, :f :cas, :value [1 2]}`.
pub fn op_to_edn(op: &Op) -> String {
    let mut out = String::with_capacity(96);
    let _ = write!(out, "{{:index {}", op.index);
    if let Some(time) = op.time {
        let _ = write!(out, ", :time {time}");
    }
    match &op.process {
        Process::Client(id) => {
            let _ = write!(out, ", :process {id}");
        }
        Process::Named(name) => {
            let _ = write!(out, ", :process :{name}");
        }
    }
    let _ = write!(out, ", :type :{}, :f :{}", op.kind, op.f);
    if let Some(key) = &op.key {
        let _ = write!(out, ", :key {key}");
    }
    let _ = write!(out, ", :value {}}}", op.value);
    out
}

/// Writes the history as EDN, one op map a line (the layout of Jepsen's `history.edn`).
pub fn write_edn(history: &History, mut out: impl Write) -> io::Result<()> {
    for op in &history.ops {
        writeln!(out, "{}", op_to_edn(op))?;
    }
    out.flush()
}

/// Writes the history in the native format, one JSON op a line.
pub fn write_jsonl(history: &History, mut out: impl Write) -> io::Result<()> {
    for op in &history.ops {
        serde_json::to_writer(&mut out, op)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::OpType;
    use crate::import::{self, Format};
    use crate::value::Value;

    fn sample() -> History {
        let mut history = History::from_ops([
            Op::new(
                Process::Client(3),
                OpType::Invoke,
                "cas",
                vec![1.into(), 2.into()].into(),
            )
            .with_time(5),
            Op::new(Process::Client(4), OpType::Invoke, "get", Value::Nil)
                .with_key(Value::from("k\"1")),
            Op::new(
                Process::nemesis(),
                OpType::Info,
                "start",
                Value::Keyword("x".into()),
            ),
            Op::new(
                Process::Client(3),
                OpType::Ok,
                "cas",
                vec![1.into(), 2.into()].into(),
            ),
        ]);
        history.ops[3].time = Some(9);
        history
    }

    #[test]
    fn edn_form_of_an_op() {
        assert_eq!(
            op_to_edn(&sample().ops[0]),
            "{:index 0, :time 5, :process 3, :type :invoke, :f :cas, :value [1 2]}"
        );
    }

    #[test]
    fn edn_export_reads_back_identically() {
        let history = sample();
        let mut out = Vec::new();
        write_edn(&history, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(import::detect(&text), Some(Format::Edn));
        let back = import::parse_str("h.edn", &text, Format::Edn).unwrap();
        assert_eq!(back.ops, history.ops);
    }

    #[test]
    fn jsonl_export_reads_back_identically() {
        let history = sample();
        let mut out = Vec::new();
        write_jsonl(&history, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(import::detect(&text), Some(Format::Jsonl));
        let back = import::parse_str("h.jsonl", &text, Format::Jsonl).unwrap();
        assert_eq!(back.ops, history.ops);
    }
}
