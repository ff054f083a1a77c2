//! The catalogue and its measurement as markdown tables (what CATALOGUE.md holds).

use std::fmt::Write;

use super::entry::Entry;
use super::search::{Outcome, SearchOptions};

/// The catalogue as a markdown table: one row per bug.
pub fn list(entries: &[Entry]) -> String {
    let mut table = String::from(
        "| # | bug | breaks | planted by | needs | must fire |\n|---|---|---|---|---|---|\n",
    );
    for (number, entry) in entries.iter().enumerate() {
        let _ = writeln!(
            table,
            "| {} | `{}` | {} | {} | {} | {} |",
            number + 1,
            entry.name,
            entry.breaks,
            entry.plant.describe(),
            entry.needs,
            entry.check
        );
    }
    table
}

/// One row of the measurement: a catalogued bug and what its search found.
pub fn result_row(outcome: &Outcome) -> String {
    let unknown = match &outcome.first_unknown {
        Some((seed, detail)) => format!("{} (first: seed {seed}: {detail})", outcome.unknown),
        None => "0".to_owned(),
    };
    match &outcome.caught {
        Some(caught) => format!(
            "| `{}` | **caught** | {} | {} | {:.1} s | {} | {} | {} | {} |",
            outcome.name,
            caught.seed,
            caught.seeds_to_catch,
            caught.wall.as_secs_f64(),
            caught.checks.join(", "),
            caught.detail,
            outcome.runs,
            unknown
        ),
        None => format!(
            "| `{}` | not caught{} | - | - | - | - | - | {} | {} |",
            outcome.name,
            if outcome.out_of_budget {
                " (budget spent)"
            } else {
                ""
            },
            outcome.runs,
            unknown
        ),
    }
}

/// The measurement as markdown: the settings, the reference rows (which must stay valid),
/// then one row per bug and the count caught.
pub fn results(options: &SearchOptions, reference: &[Outcome], bugs: &[Outcome]) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Default `rafty test` (kv workload, `--nemesis all`, 5 nodes, 10 s per run), core \
         assertions off; seeds {} to {} at most, {} job(s), a budget of {:.0} s per bug{}.\n",
        options.first_seed,
        options
            .first_seed
            .saturating_add(options.seeds.saturating_sub(1)),
        options.jobs,
        options.budget.as_secs_f64(),
        if options.from_outside {
            "; only catches from outside count (`--from-outside`: not the node's own \
             assertion, not liveness alone)"
        } else {
            ""
        }
    );
    text.push_str("| unplanted | runs | valid | invalid | unknown |\n|---|---|---|---|---|\n");
    for outcome in reference {
        let invalid = u64::from(outcome.caught.is_some());
        let _ = writeln!(
            text,
            "| {} | {} | {} | {}{} | {} |",
            outcome.name,
            outcome.runs,
            outcome.runs - outcome.unknown - invalid,
            invalid,
            outcome
                .caught
                .as_ref()
                .map_or(String::new(), |caught| format!(
                    " (seed {}: {})",
                    caught.seed,
                    caught.checks.join(", ")
                )),
            outcome.unknown
        );
    }
    text.push_str(
        "\n| bug | caught | first failing seed | seeds to catch | wall to catch | check that \
         fired | first violation | runs | unknown runs |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for outcome in bugs {
        text.push_str(&result_row(outcome));
        text.push('\n');
    }
    let caught = bugs
        .iter()
        .filter(|outcome| outcome.caught.is_some())
        .count();
    let _ = writeln!(text, "\n{caught} of {} caught.", bugs.len());
    text
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::catalogue::entries;
    use crate::catalogue::search::Caught;

    #[test]
    fn the_list_has_a_row_per_entry() {
        let entries = entries();
        let table = list(&entries);
        assert_eq!(table.lines().count(), entries.len() + 2);
        assert!(table.contains("`commit-previous-term-by-count`"));
    }

    #[test]
    fn a_row_says_caught_or_not() {
        let mut outcome = Outcome {
            name: "x".into(),
            caught: None,
            runs: 7,
            unknown: 0,
            first_unknown: None,
            wall: Duration::from_secs(3),
            out_of_budget: true,
        };
        assert!(result_row(&outcome).contains("not caught (budget spent)"));
        outcome.caught = Some(Caught {
            seed: 12,
            seeds_to_catch: 12,
            wall: Duration::from_millis(2500),
            checks: vec!["invariant election-safety".into()],
            detail: "two leaders".into(),
        });
        let row = result_row(&outcome);
        assert!(
            row.contains("**caught** | 12 | 12 | 2.5 s | invariant election-safety"),
            "{row}"
        );
    }
}
