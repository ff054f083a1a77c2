//! The spill files' record: one paired operation in a compact binary form (variable-length
//! integers, tagged values), written once and read back once, by this process only.

use std::collections::BTreeMap;

use crate::history::{Function, Op, OpType, Process};
use crate::value::Value;

/// One paired client operation as spilled: its invocation and completion with where each is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// Position of the invocation among the history's events.
    pub(crate) invoke_position: usize,
    /// The invocation's line in the file.
    pub(crate) invoke_line: usize,
    /// The invocation.
    pub(crate) invoke: Op,
    /// The completion's position, and the completion, if it completed.
    pub(crate) completion: Option<(usize, Op)>,
}

/// Appends `record` to `out`, after its length (so that a file's records can be told apart
/// without decoding them, and decoded in parallel).
pub(crate) fn encode(record: &Record, out: &mut Vec<u8>) {
    let start = out.len();
    put_body(record, out);
    let mut length = Vec::with_capacity(4);
    put_unsigned(&mut length, (out.len() - start) as u64);
    out.splice(start..start, length);
}

fn put_body(record: &Record, out: &mut Vec<u8>) {
    put_unsigned(out, record.invoke_position as u64);
    put_unsigned(out, record.invoke_line as u64);
    put_op(out, &record.invoke);
    match &record.completion {
        None => out.push(0),
        Some((position, op)) => {
            out.push(1);
            put_unsigned(out, *position as u64);
            put_op(out, op);
        }
    }
}

/// The records of `bytes` (a whole spill file), undecoded: each one's offset in `bytes` and
/// its encoding. `Err` says where it is corrupt, which only a broken disk or another writer
/// can cause.
pub(crate) fn split(bytes: &[u8]) -> Result<Vec<(usize, &[u8])>, String> {
    let mut records = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let offset = bytes.len() - rest.len();
        let length = length(&mut rest)?;
        let (record, after) = rest.split_at(length);
        records.push((offset, record));
        rest = after;
    }
    Ok(records)
}

/// Decodes one record's encoding, as [`split`] gives it.
pub(crate) fn decode(mut bytes: &[u8]) -> Result<Record, String> {
    let decoded = record(&mut bytes)?;
    if !bytes.is_empty() {
        return Err(format!("{} bytes past a record's end", bytes.len()));
    }
    Ok(decoded)
}

/// Decodes the record whose encoding starts at `offset` of a spill file's `bytes` (an offset
/// [`split`] gave).
pub(crate) fn decode_at(bytes: &[u8], offset: usize) -> Result<Record, String> {
    let mut rest = bytes.get(offset..).ok_or("an offset past the end")?;
    let length = length(&mut rest)?;
    decode(&rest[..length])
}

/// Every record of `bytes`, decoded.
#[cfg(test)]
fn decode_all(bytes: &[u8]) -> Result<Vec<Record>, String> {
    split(bytes)?
        .into_iter()
        .map(|(_, record)| decode(record))
        .collect()
}

/// Appends the key's encoding (what the bucket of a key is hashed from); `None` is one byte.
pub(crate) fn encode_key(key: Option<&Value>, out: &mut Vec<u8>) {
    match key {
        None => out.push(0),
        Some(key) => {
            out.push(1);
            put_value(out, key);
        }
    }
}

fn record(bytes: &mut &[u8]) -> Result<Record, String> {
    let invoke_position = unsigned(bytes)? as usize;
    let invoke_line = unsigned(bytes)? as usize;
    let invoke = op(bytes)?;
    let completion = match byte(bytes)? {
        0 => None,
        1 => {
            let position = unsigned(bytes)? as usize;
            Some((position, op(bytes)?))
        }
        other => return Err(format!("bad completion tag {other}")),
    };
    Ok(Record {
        invoke_position,
        invoke_line,
        invoke,
        completion,
    })
}

fn put_op(out: &mut Vec<u8>, op: &Op) {
    let Process::Client(process) = op.process else {
        unreachable!("only client operations are spilled");
    };
    put_unsigned(out, op.index);
    put_unsigned(out, process);
    out.push(match op.kind {
        OpType::Invoke => 0,
        OpType::Ok => 1,
        OpType::Fail => 2,
        OpType::Info => 3,
    });
    put_text(out, op.f.as_str());
    encode_key(op.key.as_ref(), out);
    put_value(out, &op.value);
}

fn op(bytes: &mut &[u8]) -> Result<Op, String> {
    let index = unsigned(bytes)?;
    let process = Process::Client(unsigned(bytes)?);
    let kind = match byte(bytes)? {
        0 => OpType::Invoke,
        1 => OpType::Ok,
        2 => OpType::Fail,
        3 => OpType::Info,
        other => return Err(format!("bad op type tag {other}")),
    };
    let f = Function::new(&text(bytes)?);
    let key = match byte(bytes)? {
        0 => None,
        1 => Some(value(bytes, 0)?),
        other => return Err(format!("bad key tag {other}")),
    };
    let value = value(bytes, 0)?;
    Ok(Op {
        index,
        time: None,
        process,
        kind,
        f,
        key,
        value,
    })
}

const NIL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const STRING: u8 = 4;
const KEYWORD: u8 = 5;
const LIST: u8 = 6;
const MAP: u8 = 7;
const LITERAL: u8 = 8;

/// Deeper values than this are refused on reading (the writer never nests that deep: values
/// come from parsers with their own depth limits).
const MAX_DEPTH: usize = 512;

fn put_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Nil => out.push(NIL),
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Int(i) => {
            out.push(INT);
            // Zig-zag, so that small negative numbers stay short.
            put_unsigned(out, ((i << 1) ^ (i >> 63)) as u64);
        }
        Value::String(s) => {
            out.push(STRING);
            put_text(out, s);
        }
        Value::Keyword(k) => {
            out.push(KEYWORD);
            put_text(out, k);
        }
        Value::Literal(l) => {
            out.push(LITERAL);
            put_text(out, l);
        }
        Value::List(items) => {
            out.push(LIST);
            put_unsigned(out, items.len() as u64);
            for item in items {
                put_value(out, item);
            }
        }
        Value::Map(map) => {
            out.push(MAP);
            put_unsigned(out, map.len() as u64);
            for (key, value) in map {
                put_value(out, key);
                put_value(out, value);
            }
        }
    }
}

fn value(bytes: &mut &[u8], depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("values nested too deep".to_owned());
    }
    Ok(match byte(bytes)? {
        NIL => Value::Nil,
        FALSE => Value::Bool(false),
        TRUE => Value::Bool(true),
        INT => {
            let zigzag = unsigned(bytes)?;
            Value::Int(((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64))
        }
        STRING => Value::String(text(bytes)?),
        KEYWORD => Value::Keyword(text(bytes)?),
        LITERAL => Value::Literal(text(bytes)?),
        LIST => {
            let count = length(bytes)?;
            let mut items = Vec::with_capacity(count);
            for _ in 0..count {
                items.push(value(bytes, depth + 1)?);
            }
            Value::List(items)
        }
        MAP => {
            let count = length(bytes)?;
            let mut map = BTreeMap::new();
            for _ in 0..count {
                let key = value(bytes, depth + 1)?;
                map.insert(key, value(bytes, depth + 1)?);
            }
            Value::Map(map)
        }
        other => return Err(format!("bad value tag {other}")),
    })
}

fn put_unsigned(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn unsigned(bytes: &mut &[u8]) -> Result<u64, String> {
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let b = byte(bytes)?;
        n |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(n);
        }
    }
    Err("an integer longer than 64 bits".to_owned())
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    put_unsigned(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

fn text(bytes: &mut &[u8]) -> Result<String, String> {
    let length = length(bytes)?;
    let (text, rest) = bytes.split_at(length);
    *bytes = rest;
    String::from_utf8(text.to_vec()).map_err(|_| "text that is not UTF-8".to_owned())
}

/// A length, no longer than what is left (so a corrupt length cannot allocate wildly).
fn length(bytes: &mut &[u8]) -> Result<usize, String> {
    let length = unsigned(bytes)?;
    if length > bytes.len() as u64 {
        return Err(format!("a length of {length} past the end"));
    }
    Ok(length as usize)
}

fn byte(bytes: &mut &[u8]) -> Result<u8, String> {
    let (&first, rest) = bytes.split_first().ok_or("cut short")?;
    *bytes = rest;
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_value() -> Value {
        let mut map = BTreeMap::new();
        map.insert(Value::Keyword("k".into()), Value::Literal("1.5".into()));
        map.insert(Value::Int(-1), Value::Bool(true));
        Value::List(vec![
            Value::Nil,
            Value::Bool(false),
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::Int(-3),
            Value::String("héllo".into()),
            Value::Map(map),
        ])
    }

    #[test]
    fn records_round_trip_with_every_value_type() {
        let invoke = Op {
            index: 7,
            time: None,
            process: Process::Client(300),
            kind: OpType::Invoke,
            f: Function::new("frobnicate"),
            key: Some(every_value()),
            value: every_value(),
        };
        let completion = Op {
            kind: OpType::Info,
            key: None,
            ..invoke.clone()
        };
        let records = vec![
            Record {
                invoke_position: 1 << 40,
                invoke_line: 3,
                invoke: invoke.clone(),
                completion: Some((9, completion)),
            },
            Record {
                invoke_position: 0,
                invoke_line: 1,
                invoke,
                completion: None,
            },
        ];
        let mut bytes = Vec::new();
        for record in &records {
            encode(record, &mut bytes);
        }
        assert_eq!(decode_all(&bytes).unwrap(), records);
        let at: Vec<Record> = split(&bytes)
            .unwrap()
            .into_iter()
            .map(|(offset, _)| decode_at(&bytes, offset).unwrap())
            .collect();
        assert_eq!(at, records);
    }

    #[test]
    fn a_cut_record_is_an_error_not_a_panic() {
        let record = Record {
            invoke_position: 5,
            invoke_line: 6,
            invoke: Op::new(Process::Client(1), OpType::Invoke, "read", every_value()),
            completion: None,
        };
        let mut bytes = Vec::new();
        encode(&record, &mut bytes);
        for cut in 1..bytes.len() {
            assert!(decode_all(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}
