//! Where the streaming check's first pass gets its ops: a file read in batches of about
//! [`BATCH_BYTES`], each batch parsed in parallel. Line formats ([`Lines`]: JSON lines, the old
//! jepsen-log lines, and EDN maps one a line when unreadable lines are skipped) parse each
//! line alone; an EDN history
//! ([`EdnForms`](super::edn_forms::EdnForms)) is cut between top-level forms.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use rayon::prelude::*;

use crate::error::HistoryError;
use crate::history::Op;
use crate::import::Format;
use crate::import::unreadable::CUT_MID_LINE;

/// How many bytes of the file are parsed at once (in parallel).
pub(crate) const BATCH_BYTES: usize = 1 << 20;

/// An op, or why its line cannot be read (an error the reader may skip and count).
pub(crate) type Parsed = Result<Op, String>;

/// One batch of a file: each op (or unreadable line) with its line, in file order.
pub(crate) struct Batch {
    /// The ops and their lines.
    pub(crate) ops: Vec<(usize, Parsed)>,
    /// Bytes of the file read so far, this batch included.
    pub(crate) bytes_read: u64,
}

/// A history file read batch after batch.
pub(crate) trait Source {
    /// The next batch; `None` at the end of the file. An error is one no option may skip
    /// (I/O, a malformed EDN collection), naming the file and line.
    fn next_batch(&mut self) -> Result<Option<Batch>, HistoryError>;
}

/// Opens `path` as a source of `format`; `skip_unreadable` picks, for EDN lines, whether each line is one op map (and may be
/// skipped) or the file is EDN forms (a map may span lines).
pub(crate) fn open(
    path: &Path,
    format: Format,
    skip_unreadable: bool,
) -> Result<Box<dyn Source + Send>, HistoryError> {
    let file = path.display().to_string();
    let reader = File::open(path)
        .map(|handle| BufReader::with_capacity(1 << 16, handle))
        .map_err(|source| HistoryError::Io {
            file: file.clone(),
            source,
        })?;
    Ok(match format {
        Format::Jsonl => Box::new(Lines::new(file, reader, json_line)),
        Format::EdnLines if skip_unreadable => Box::new(Lines::new(file, reader, edn_line)),
        Format::Edn | Format::EdnLines => Box::new(super::edn_forms::EdnForms::new(file, reader)),
        Format::JepsenLog => Box::new(Lines::new(file, reader, jepsen_log_line).whole_lines()),
    })
}

/// Whether a format can be streamed: every one can.
pub fn streams(format: Format) -> bool {
    matches!(
        format,
        Format::Jsonl | Format::Edn | Format::EdnLines | Format::JepsenLog
    )
}

/// A line format: each line parsed alone, blank lines passed over.
pub(crate) struct Lines {
    file: String,
    reader: BufReader<File>,
    parse: fn(&str, &[u8]) -> Option<Parsed>,
    line: usize,
    bytes_read: u64,
    text: Vec<u8>,
    /// Whether a last line without a newline is refused ([`CUT_MID_LINE`]): in formats where
    /// a value cut short still parses (`4` of `42`).
    whole_lines: bool,
}

impl Lines {
    fn new(
        file: String,
        reader: BufReader<File>,
        parse: fn(&str, &[u8]) -> Option<Parsed>,
    ) -> Lines {
        Lines {
            file,
            reader,
            parse,
            line: 0,
            bytes_read: 0,
            text: Vec::with_capacity(BATCH_BYTES + (1 << 16)),
            whole_lines: false,
        }
    }

    /// Refuses a last line without a newline.
    fn whole_lines(mut self) -> Lines {
        self.whole_lines = true;
        self
    }
}

impl Source for Lines {
    fn next_batch(&mut self) -> Result<Option<Batch>, HistoryError> {
        self.text.clear();
        let mut ends = Vec::new();
        while self.text.len() < BATCH_BYTES {
            let read = self
                .reader
                .read_until(b'\n', &mut self.text)
                .map_err(|source| HistoryError::Io {
                    file: self.file.clone(),
                    source,
                })?;
            if read == 0 {
                break;
            }
            ends.push(self.text.len());
        }
        if ends.is_empty() {
            return Ok(None);
        }
        self.bytes_read += self.text.len() as u64;
        let first_line = self.line + 1;
        self.line += ends.len();
        let lines: Vec<(usize, &[u8])> = ends
            .iter()
            .scan(0, |start, &end| {
                let line = &self.text[*start..end];
                *start = end;
                Some(line)
            })
            .enumerate()
            .map(|(i, line)| (first_line + i, line))
            .collect();
        let (file, parse) = (&self.file, self.parse);
        let cut = self.whole_lines && !self.text.ends_with(b"\n");
        let last = lines.len() - 1;
        let parsed: Vec<Option<(usize, Parsed)>> = lines
            .par_iter()
            .enumerate()
            .map(|(i, &(number, line))| {
                if cut && i == last && !line.trim_ascii().is_empty() {
                    return Some((number, Err(CUT_MID_LINE.to_owned())));
                }
                parse(file, line).map(|parsed| (number, parsed))
            })
            .collect();
        Ok(Some(Batch {
            ops: parsed.into_iter().flatten().collect(),
            bytes_read: self.bytes_read,
        }))
    }
}

/// A jepsen-log line: an op, or `None` for a blank line or another logger's. An op gets
/// [`NO_INDEX`], replaced by its position once it is known.
fn jepsen_log_line(file: &str, line: &[u8]) -> Option<Parsed> {
    match std::str::from_utf8(line) {
        Ok(text) => crate::import::jepsen_log::one_line(file, text, NO_INDEX),
        Err(error) => Some(Err(format!("not UTF-8: {error}"))),
    }
}

/// A JSON line: an op, or `None` for a blank line.
fn json_line(_file: &str, line: &[u8]) -> Option<Parsed> {
    let line = line.trim_ascii();
    (!line.is_empty()).then(|| {
        serde_json::from_slice::<Op>(line)
            .map_err(|error| format!("invalid op: {}", crate::import::jsonl::json_reason(&error)))
    })
}

/// An EDN op map alone on its line, or `None` for a line of blanks and comments. An op
/// without `:index` gets [`NO_INDEX`], replaced by its position once it is known.
fn edn_line(file: &str, line: &[u8]) -> Option<Parsed> {
    let text = match std::str::from_utf8(line) {
        Ok(text) => text,
        Err(error) => return Some(Err(format!("not UTF-8: {error}"))),
    };
    match crate::import::edn::one_op(file, text, NO_INDEX) {
        Ok(op) => op.map(Ok),
        Err(HistoryError::Malformed { reason, .. }) => Some(Err(reason)),
        Err(other) => Some(Err(other.to_string())),
    }
}

/// The index given to an EDN op without `:index` until its position is known (no `:index`
/// read from a file can be this large).
pub(crate) const NO_INDEX: u64 = u64::MAX;
