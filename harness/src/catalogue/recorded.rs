//! The seeds at which the catalogue's caught bugs were last caught (`harness/catalogue-seeds.tsv`):
//! one line per bug, `name<TAB>seed<TAB>checks that fired`. `rafty catalogue --run --record
//! FILE` refreshes it from a measurement; the regression test (`tests/catalogue_regression.rs`)
//! reruns each bug at its seed only and fails when the bug is no longer caught there.

use std::collections::BTreeMap;

use super::Outcome;

/// The table file as committed, compiled in.
pub const RECORDED: &str = include_str!("../../catalogue-seeds.tsv");

/// One recorded catch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The bug's catalogue name.
    pub name: String,
    /// Its first failing seed in the measurement.
    pub seed: u64,
    /// The checks that fired, as `rafty catalogue --run` names them.
    pub checks: Vec<String>,
}

/// Read a table file's text; an error names the line and what is wrong with it.
pub fn parse(text: &str) -> Result<Vec<Recorded>, String> {
    let mut recorded = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, seed, checks] = fields[..] else {
            return Err(format!(
                "catalogue-seeds.tsv line {}: expected name<TAB>seed<TAB>checks, got {line:?}",
                number + 1
            ));
        };
        let seed = seed.parse().map_err(|_| {
            format!(
                "catalogue-seeds.tsv line {}: the seed {seed:?} is not a whole number",
                number + 1
            )
        })?;
        recorded.push(Recorded {
            name: name.to_owned(),
            seed,
            checks: checks.split("; ").map(str::to_owned).collect(),
        });
    }
    Ok(recorded)
}

/// `existing` (a table file's text) with the bugs measured in `outcomes` replaced: a caught
/// one at its new seed, one no longer caught removed; every other line kept. In name order.
pub fn refresh(existing: &str, outcomes: &[Outcome]) -> Result<String, String> {
    let mut lines: BTreeMap<String, Recorded> = parse(existing)?
        .into_iter()
        .map(|recorded| (recorded.name.clone(), recorded))
        .collect();
    for outcome in outcomes {
        lines.remove(&outcome.name);
        if let Some(caught) = &outcome.caught {
            let recorded = Recorded {
                name: outcome.name.clone(),
                seed: caught.seed,
                checks: caught.checks.clone(),
            };
            lines.insert(outcome.name.clone(), recorded);
        }
    }
    let mut text = String::from(
        "# The first failing seed of each caught catalogue bug (rafty catalogue --run --record).\n\
         # name<TAB>seed<TAB>checks that fired\n",
    );
    for recorded in lines.values() {
        let checks = recorded.checks.join("; ");
        text.push_str(&format!("{}\t{}\t{checks}\n", recorded.name, recorded.seed));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::catalogue::search::Caught;

    fn outcome(name: &str, seed: Option<u64>) -> Outcome {
        Outcome {
            name: name.to_owned(),
            caught: seed.map(|seed| Caught {
                seed,
                seeds_to_catch: seed,
                wall: Duration::ZERO,
                checks: vec!["invariant log-matching".to_owned(), "liveness".to_owned()],
                detail: String::new(),
            }),
            runs: 1,
            unknown: 0,
            first_unknown: None,
            wall: Duration::ZERO,
            out_of_budget: false,
        }
    }

    #[test]
    fn a_refresh_replaces_measured_bugs_and_keeps_the_others() {
        let existing = "# header\nkept\t3\tliveness\nmoved\t9\tliveness\ngone\t1\tliveness\n";
        let text = refresh(
            existing,
            &[outcome("moved", Some(4)), outcome("gone", None)],
        )
        .unwrap();
        let recorded = parse(&text).unwrap();
        let seeds: Vec<(&str, u64)> = recorded.iter().map(|r| (r.name.as_str(), r.seed)).collect();
        assert_eq!(seeds, [("kept", 3), ("moved", 4)]);
        assert_eq!(recorded[1].checks, ["invariant log-matching", "liveness"]);
    }

    #[test]
    fn a_bad_line_is_named() {
        let error = parse("# header\nname\tseven\tliveness\n").unwrap_err();
        assert!(
            error.contains("line 2") && error.contains("seven"),
            "{error}"
        );
        let error = parse("just-a-name\n").unwrap_err();
        assert!(error.contains("line 1"), "{error}");
    }

    /// The committed table names only catalogued bugs.
    #[test]
    fn the_committed_table_names_catalogued_bugs() {
        let names: Vec<&str> = crate::catalogue::entries().iter().map(|e| e.name).collect();
        for recorded in parse(RECORDED).unwrap() {
            assert!(names.contains(&recorded.name.as_str()), "{}", recorded.name);
        }
    }
}
