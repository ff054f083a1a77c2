//! An EDN history streamed: a vector or list of op maps (`[{...} {...}]`, `({...} {...})`), or
//! op maps one after another, read a batch at a time without holding the file.
//!
//! A light scanner (strings, escapes, character literals, comments, brackets) finds where
//! top-level forms may end: after a form closes at the history's top level, or at a newline
//! there. The text up to such a cut is parsed by [`Reader`], in pieces in parallel. A cut can
//! still fall inside a form the scanner does not see whole (`#_` or a tag on one line and its
//! form on the next): the piece then fails at its very end, is parsed again with the text that
//! follows, and only a failure before the end of what was read is an error.

use std::fs::File;
use std::io::{BufReader, Read};

use rayon::prelude::*;

use super::source::{BATCH_BYTES, Batch, NO_INDEX, Source};
use crate::edn::Reader;
use crate::error::HistoryError;
use crate::value::Value;

/// A piece's forms and their lines, or its error and whether it came at the piece's end.
type Piece = Result<Vec<(Value, usize)>, (HistoryError, bool)>;

/// Parsed in parallel: pieces of about this many bytes.
const PIECE_BYTES: usize = 64 << 10;

/// The history's enclosing collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outer {
    /// Nothing significant seen yet.
    Unknown,
    /// Op maps one after another.
    None,
    /// A vector or list, closed by this byte; `true` once closed.
    Open(u8, bool),
}

/// The scanner's state at the end of what it has scanned.
#[derive(Debug)]
struct Scanner {
    depth: usize,
    in_string: bool,
    escape: bool,
    in_comment: bool,
    /// The next byte is a character literal's (`\(`, `\"`).
    literal: bool,
    outer: Outer,
    /// The line of the next byte.
    line: usize,
}

/// Reads an EDN history's op maps batch after batch.
pub(crate) struct EdnForms {
    file: String,
    reader: BufReader<File>,
    /// Text read and not yet parsed; its first byte is on line `start_line`.
    pending: Vec<u8>,
    start_line: usize,
    /// How much of `pending` the scanner has seen.
    scanned: usize,
    scanner: Scanner,
    /// Offsets in `pending` where a cut may fall, and the line there.
    cuts: Vec<(usize, usize)>,
    eof: bool,
    bytes_read: u64,
}

impl EdnForms {
    /// A source over `reader`, the file `file`.
    pub(crate) fn new(file: String, reader: BufReader<File>) -> EdnForms {
        EdnForms {
            file,
            reader,
            pending: Vec::new(),
            start_line: 1,
            scanned: 0,
            scanner: Scanner {
                depth: 0,
                in_string: false,
                escape: false,
                in_comment: false,
                literal: false,
                outer: Outer::Unknown,
                line: 1,
            },
            cuts: Vec::new(),
            eof: false,
            bytes_read: 0,
        }
    }

    fn error(&self, line: usize, reason: impl Into<String>) -> HistoryError {
        HistoryError::malformed(&self.file, line, reason)
    }

    /// Reads more of the file and scans it.
    fn read_more(&mut self) -> Result<(), HistoryError> {
        let before = self.pending.len();
        self.pending.resize(before + BATCH_BYTES, 0);
        let read = loop {
            match self.reader.read(&mut self.pending[before..]) {
                Ok(read) => break read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(HistoryError::Io {
                        file: self.file.clone(),
                        source,
                    });
                }
            }
        };
        self.pending.truncate(before + read);
        self.bytes_read += read as u64;
        if read == 0 {
            self.eof = true;
        }
        self.scan()
    }

    /// Scans the bytes not scanned yet: records the cuts, blanks the enclosing collection's
    /// brackets (so pieces parse as forms one after another), and refuses anything after
    /// its closing bracket.
    fn scan(&mut self) -> Result<(), HistoryError> {
        let s = &mut self.scanner;
        for at in self.scanned..self.pending.len() {
            let byte = self.pending[at];
            if byte == b'\n' {
                s.line += 1;
            }
            if s.in_comment {
                s.in_comment = byte != b'\n';
                if !s.in_comment && s.depth == 0 {
                    self.cuts.push((at + 1, s.line));
                }
                continue;
            }
            if s.in_string {
                match byte {
                    _ if s.escape => s.escape = false,
                    b'\\' => s.escape = true,
                    b'"' => s.in_string = false,
                    _ => {}
                }
                continue;
            }
            if s.literal {
                s.literal = false;
                continue;
            }
            let significant = !matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b',' | b';');
            if let Outer::Open(close, true) = s.outer
                && significant
            {
                let line = s.line;
                return Err(self.error(
                    line,
                    format!(
                        "unexpected form after the history's closing '{}'",
                        close as char
                    ),
                ));
            }
            if s.outer == Outer::Unknown && significant {
                s.outer = match byte {
                    b'[' => Outer::Open(b']', false),
                    b'(' => Outer::Open(b')', false),
                    _ => Outer::None,
                };
                if s.outer != Outer::None {
                    self.pending[at] = b' ';
                    continue;
                }
            }
            match byte {
                b'"' => s.in_string = true,
                b';' => s.in_comment = true,
                b'\\' => s.literal = true,
                b'(' | b'[' | b'{' => s.depth += 1,
                b')' | b']' | b'}' if s.depth > 0 => {
                    s.depth -= 1;
                    if s.depth == 0 {
                        self.cuts.push((at + 1, s.line));
                    }
                }
                b')' | b']' => {
                    if let Outer::Open(close, false) = s.outer
                        && byte == close
                    {
                        s.outer = Outer::Open(close, true);
                        self.pending[at] = b' ';
                        self.cuts.push((at + 1, s.line));
                    }
                    // Otherwise the reader reports the unbalanced bracket.
                }
                b'\n' if s.depth == 0 => self.cuts.push((at + 1, s.line)),
                _ => {}
            }
        }
        self.scanned = self.pending.len();
        Ok(())
    }

    /// The last cut at or after `at` bytes, reading until there is one (or the file ends).
    fn cut_after(&mut self, at: usize) -> Result<(usize, usize), HistoryError> {
        loop {
            if let Some(&(offset, line)) = self.cuts.last()
                && offset > at
            {
                return Ok((offset, line));
            }
            if self.eof {
                return Ok((self.pending.len(), self.scanner.line));
            }
            self.read_more()?;
        }
    }

    /// Parses `pending[..end]` (pieces in parallel): its forms and their lines, or `None`
    /// when the text ends inside a form that more text may complete.
    fn parse(&self, end: usize) -> Result<Option<Vec<(Value, usize)>>, HistoryError> {
        let mut pieces = Vec::new();
        let (mut start, mut line) = (0, self.start_line);
        for &(offset, cut_line) in self.cuts.iter().take_while(|(offset, _)| *offset < end) {
            if offset - start >= PIECE_BYTES {
                pieces.push((start, offset, line));
                (start, line) = (offset, cut_line);
            }
        }
        pieces.push((start, end, line));
        let parsed: Vec<Piece> = pieces
            .par_iter()
            .map(|&(from, to, line)| self.forms(from, to, line))
            .collect();
        if parsed.iter().all(Result::is_ok) {
            return Ok(Some(parsed.into_iter().flat_map(Result::unwrap).collect()));
        }
        // A form may span pieces: the whole text at once decides.
        match self.forms(0, end, self.start_line) {
            Ok(forms) => Ok(Some(forms)),
            Err((_, true)) if !self.eof || end < self.pending.len() => Ok(None),
            Err((error, _)) => Err(error),
        }
    }

    /// The forms of `pending[from..to]`, which starts on `line`; an error says whether it
    /// came at the text's very end.
    fn forms(&self, from: usize, to: usize, line: usize) -> Piece {
        let text = std::str::from_utf8(&self.pending[from..to])
            .map_err(|error| (self.error(line, format!("not UTF-8: {error}")), false))?;
        let mut reader = Reader::starting_at(&self.file, text, line);
        let mut forms = Vec::new();
        loop {
            match reader.next_form() {
                Ok(Some(form)) => forms.push(form),
                Ok(None) => return Ok(forms),
                Err(error) => return Err((error, reader.exhausted())),
            }
        }
    }
}

impl Source for EdnForms {
    fn next_batch(&mut self) -> Result<Option<Batch>, HistoryError> {
        loop {
            let mut want = BATCH_BYTES.min(self.pending.len().max(1)) - 1;
            let (end, end_line, forms) = loop {
                let (end, end_line) = self.cut_after(want)?;
                if let Some(forms) = self.parse(end)? {
                    break (end, end_line, forms);
                }
                want = end;
            };
            if end == 0 && self.eof {
                if let Outer::Open(close, false) = self.scanner.outer {
                    let line = self.scanner.line;
                    return Err(self.error(
                        line,
                        format!("unexpected end of input: missing '{}'", close as char),
                    ));
                }
                return Ok(None);
            }
            self.pending.drain(..end);
            self.scanned -= end;
            self.cuts.retain(|(offset, _)| *offset > end);
            for (offset, _) in &mut self.cuts {
                *offset -= end;
            }
            self.start_line = end_line;
            let file = &self.file;
            let ops = forms
                .into_par_iter()
                .map(|(form, line)| {
                    crate::import::edn::op_from_map(form, NO_INDEX)
                        .map(|op| (line, Ok(op)))
                        .map_err(|reason| HistoryError::malformed(file, line, reason))
                })
                .collect::<Result<Vec<_>, HistoryError>>()?;
            if !ops.is_empty() {
                return Ok(Some(Batch {
                    ops,
                    bytes_read: self.bytes_read,
                }));
            }
        }
    }
}
