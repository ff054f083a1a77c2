//! Writes a synthetic, linearizable key-value history as JSON lines:
//! `cargo run --release -p rafty-checkers --example synthetic -- OUT.jsonl [OPERATIONS]`
//! (default: 1,000,000 operations on 1,000 keys by 20 processes, 1% indeterminate).

use std::fs::File;
use std::io::BufWriter;
use std::process::ExitCode;

use rafty_checkers::export::write_jsonl;
use rafty_checkers::synthetic::{KvShape, kv_history};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: synthetic OUT.jsonl [OPERATIONS]");
        return ExitCode::from(2);
    };
    let mut shape = KvShape::default();
    if let Some(operations) = args.next() {
        match operations.parse() {
            Ok(operations) => shape.operations = operations,
            Err(error) => {
                eprintln!("bad operation count '{operations}': {error}");
                return ExitCode::from(2);
            }
        }
    }
    let history = kv_history(&shape);
    let written = File::create(&path).and_then(|file| write_jsonl(&history, BufWriter::new(file)));
    if let Err(error) = written {
        eprintln!("{path}: {error}");
        return ExitCode::from(2);
    }
    eprintln!("{path}: {} events", history.len());
    ExitCode::SUCCESS
}
