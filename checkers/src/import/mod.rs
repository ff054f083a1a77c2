//! Reading histories: the native JSON-lines format and Jepsen's formats, with detection, and
//! the unwrapping of `jepsen.independent` `[key value]` tuples ([`Independent`]).

mod detect;
pub(crate) mod edn;
pub(crate) mod independent;
pub(crate) mod jepsen_log;
pub(crate) mod jsonl;
pub(crate) mod unreadable;

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::str::FromStr;

pub use detect::detect;
pub use independent::{Independent, looks_independent, unwrap_tuples};
pub use jsonl::first_keyed_client_op;
pub use unreadable::{ReadOptions, Unreadable};

use crate::error::HistoryError;
use crate::history::History;
use crate::model::Convention;
use unreadable::LineErrors;

/// A history file format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// rafty's native format: one serde-JSON [`Op`](crate::Op) a line.
    #[default]
    Jsonl,
    /// Jepsen, Knossos and Elle: one EDN vector of op maps, or a sequence of them.
    Edn,
    /// One EDN op map a line, without `:time` or `:index` (as Porcupine's kv tests store them).
    EdnLines,
    /// The old `jepsen.util` log lines: `INFO  jepsen.util - 3 :invoke :cas [1 4]`.
    JepsenLog,
}

impl Format {
    /// Every format, in the order detection considers them.
    pub const ALL: [Format; 4] = [
        Format::Jsonl,
        Format::Edn,
        Format::EdnLines,
        Format::JepsenLog,
    ];

    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Edn => "edn",
            Format::EdnLines => "edn-lines",
            Format::JepsenLog => "jepsen-log",
        }
    }

    /// The convention its histories are recorded under: Knossos's for Jepsen EDN, Porcupine's
    /// for the formats Porcupine's tests use, rafty's own for the native format.
    pub fn default_convention(self) -> Convention {
        match self {
            Format::Jsonl => Convention::Native,
            Format::Edn => Convention::Knossos,
            Format::EdnLines | Format::JepsenLog => Convention::Porcupine,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(name: &str) -> Result<Format, String> {
        Format::ALL
            .into_iter()
            .find(|format| format.name() == name)
            .ok_or_else(|| {
                format!("unknown format '{name}' (expected jsonl, edn, edn-lines or jepsen-log)")
            })
    }
}

/// A history read from a file, and the format it was read as.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The history.
    pub history: History,
    /// Its format (detected, unless one was given).
    pub format: Format,
    /// Lines skipped because they could not be read (only with
    /// [`ReadOptions::skip_unreadable`]; otherwise the first is an error).
    pub unreadable: Unreadable,
}

/// Parses `text` (from `file`, named in errors) in the given format; a line that cannot be
/// read is an error naming it.
pub fn parse_str(file: &str, text: &str, format: Format) -> Result<History, HistoryError> {
    parse_lines(file, text, format, &mut LineErrors::strict())
}

fn parse_lines(
    file: &str,
    text: &str,
    format: Format,
    errors: &mut LineErrors,
) -> Result<History, HistoryError> {
    match format {
        Format::Jsonl => jsonl::parse(file, text.as_bytes(), errors),
        Format::Edn => edn::parse(file, text),
        Format::EdnLines => edn::parse_lines(file, text, errors),
        Format::JepsenLog => jepsen_log::parse(file, text, errors),
    }
}

/// Reads a history file in `format`, or in the format detected from its start when `None`;
/// a line that cannot be read is an error naming it. JSON lines are streamed; the other
/// formats are read whole.
pub fn read_file(path: &Path, format: Option<Format>) -> Result<Imported, HistoryError> {
    read_file_with(path, format, &ReadOptions::default())
}

/// [`read_file`], skipping and counting the lines that cannot be read when `options` say so.
pub fn read_file_with(
    path: &Path,
    format: Option<Format>,
    options: &ReadOptions,
) -> Result<Imported, HistoryError> {
    let file_name = path.display().to_string();
    let io_error = |source| HistoryError::Io {
        file: file_name.clone(),
        source,
    };
    let format = match format {
        Some(format) => format,
        None => detect_file(path)?,
    };
    let file = File::open(path).map_err(io_error)?;
    let mut errors = LineErrors::new(options);
    let history = if format == Format::Jsonl {
        jsonl::parse(
            &file_name,
            BufReader::with_capacity(1 << 16, file),
            &mut errors,
        )?
    } else {
        let mut text = String::new();
        BufReader::new(file)
            .read_to_string(&mut text)
            .map_err(io_error)?;
        parse_lines(&file_name, &text, format, &mut errors)?
    };
    Ok(Imported {
        history,
        format,
        unreadable: errors.skipped,
    })
}

/// Detects a history file's format from its start.
pub fn detect_file(path: &Path) -> Result<Format, HistoryError> {
    let file_name = path.display().to_string();
    let mut head = Vec::new();
    File::open(path)
        .and_then(|file| file.take(DETECT_BYTES).read_to_end(&mut head))
        .map_err(|source| HistoryError::Io {
            file: file_name.clone(),
            source,
        })?;
    detect(&String::from_utf8_lossy(&head)).ok_or_else(|| {
        HistoryError::malformed(
            &file_name,
            1,
            "cannot detect the format (jsonl, edn, edn-lines or jepsen-log); use --format",
        )
    })
}

/// How much of a file detection looks at.
const DETECT_BYTES: u64 = 64 * 1024;
