//! Writes a synthetic key-value history as JSON lines, linearizable by construction or with
//! one planted violation:
//! `cargo run --release -p rafty-checkers --example synthetic -- OUT.jsonl [OPERATIONS]
//! [--keys K] [--processes P] [--seed S] [--plant]` (`OUT.edn` writes Jepsen's EDN, one op map
//! a line)
//! (default: 1,000,000 operations on 1,000 keys by 20 processes, 1% indeterminate, seed 1).
//! `--plant` makes one `ok` read past the middle return a value never written, and prints its
//! key and position.

use std::fs::File;
use std::io::BufWriter;
use std::process::ExitCode;

use rafty_checkers::export::{write_edn, write_jsonl};
use rafty_checkers::synthetic::{KvShape, kv_history, plant_violation};

const USAGE: &str = "usage: synthetic OUT.jsonl|OUT.edn [OPERATIONS] [--keys K] [--processes P] [--seed S] [--plant]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or(USAGE)?;
    let mut shape = KvShape::default();
    let mut plant = false;
    while let Some(arg) = args.next() {
        let mut number = |flag: &str| -> Result<u64, String> {
            let value = args.next().ok_or(format!("{flag}: expected a number"))?;
            value
                .parse()
                .map_err(|error| format!("{flag}: bad number '{value}': {error}"))
        };
        match arg.as_str() {
            "--keys" => shape.keys = number("--keys")?.max(1),
            "--processes" => shape.processes = number("--processes")?.max(1),
            "--seed" => shape.seed = number("--seed")?,
            "--plant" => plant = true,
            operations => {
                shape.operations = operations
                    .parse()
                    .map_err(|error| format!("bad operation count '{operations}': {error}"))?;
            }
        }
    }
    let mut history = kv_history(&shape);
    if plant {
        let (position, key) = plant_violation(&mut history).ok_or("no read to plant in")?;
        eprintln!("planted: key {key}, event {position}");
    }
    let edn = path.ends_with(".edn");
    File::create(&path)
        .and_then(|file| {
            if edn {
                write_edn(&history, BufWriter::new(file))
            } else {
                write_jsonl(&history, BufWriter::new(file))
            }
        })
        .map_err(|error| format!("{path}: {error}"))?;
    eprintln!("{path}: {} events", history.len());
    Ok(())
}
