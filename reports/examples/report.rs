//! Draws (or redraws) the reports of stored runs and the store's index:
//!
//! ```sh
//! cargo run -p rafty-reports --example report -- store/kv-5n-all-memory/20261126T070828Z-5 ...
//! ```
//!
//! The store's index (`store/index.html`, two levels above each run) is regenerated too.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut code = ExitCode::SUCCESS;
    for dir in std::env::args().skip(1) {
        let dir = Path::new(&dir);
        match rafty_reports::write_stored_run_report(dir) {
            Ok(files) => {
                for file in files {
                    println!("{}", file.display());
                }
            }
            Err(error) => {
                eprintln!("{error}");
                code = ExitCode::from(2);
                continue;
            }
        }
        if let Some(store) = dir.parent().and_then(Path::parent) {
            match rafty_reports::write_store_index(store) {
                Ok(index) => println!("{}", index.display()),
                Err(error) => eprintln!("{error}"),
            }
        }
    }
    code
}
