//! The `--nemesis` list: kinds by name, `all`, `none`.

use super::kind::FaultKind;
use crate::run::config::LogKind;

/// A parsed `--nemesis` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindList {
    /// The kinds named one by one, sorted, without duplicates.
    pub named: Vec<FaultKind>,
    /// Whether the list said `all` (whose kinds depend on the log: [`Fault::in_all`]).
    ///
    /// [`Fault::in_all`]: super::kind::Fault::in_all
    pub all: bool,
}

impl KindList {
    /// The kinds for a run with `log`: those named, plus what `all` means with that log.
    pub fn resolve(&self, log: LogKind) -> Vec<FaultKind> {
        let mut kinds = self.named.clone();
        if self.all {
            kinds.extend(FaultKind::all(log));
        }
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }
}

/// Parse a comma-separated list of fault kinds, `all` and `none` (an empty list or name is
/// refused; an unknown name is named, with every known one).
pub fn parse_kind_list(text: &str) -> Result<KindList, String> {
    let mut all = false;
    let mut named = Vec::new();
    for part in text.split(',').map(str::trim) {
        match part {
            "" => {
                return Err(format!(
                    "`{text}` has an empty name; list kinds separated by single commas, or \
                     say `none` for no faults"
                ));
            }
            "all" => all = true,
            "none" => {}
            other => named.push(other.parse()?),
        }
    }
    named.sort_unstable();
    named.dedup();
    Ok(KindList { named, all })
}

/// Parse a list for a run with `log` (see [`KindList::resolve`]).
pub fn parse_kinds(text: &str, log: LogKind) -> Result<Vec<FaultKind>, String> {
    parse_kind_list(text).map(|list| list.resolve(log))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str) -> FaultKind {
        FaultKind::named(name).unwrap()
    }

    fn kinds(names: &[&str]) -> Vec<FaultKind> {
        names.iter().map(|name| kind(name)).collect()
    }

    /// An empty list or an empty name between commas is a typo, not a silent `none`.
    #[test]
    fn empty_names_are_refused_not_read_as_none() {
        for text in ["", ",", "kill,", ",kill", "kill,,partition", " , "] {
            let error = parse_kind_list(text).expect_err(text);
            assert!(error.contains("empty name"), "{text:?}: {error}");
        }
    }

    #[test]
    fn parses_lists_all_and_none_in_registry_order() {
        let memory = LogKind::Memory;
        assert_eq!(
            parse_kinds("kill,partition,kill", memory).unwrap(),
            kinds(&["partition", "kill"])
        );
        assert_eq!(
            parse_kinds("all", memory).unwrap(),
            kinds(&[
                "partition",
                "kill",
                "pause",
                "latency",
                "clog",
                "figure8",
                "install-snapshot",
                "replay"
            ])
        );
        assert!(parse_kinds("none", memory).unwrap().is_empty());
        assert_eq!(
            parse_kinds("figure8,disk", memory).unwrap(),
            kinds(&["disk", "figure8"])
        );
        assert_eq!(parse_kinds("corrupt", memory).unwrap(), kinds(&["corrupt"]));
    }

    /// `disk` and `corrupt` are never in `all`, even with a file log; they are added by name.
    #[test]
    fn corrupt_is_outside_all_and_added_by_name() {
        let all = parse_kind_list("all").unwrap();
        assert!(!all.resolve(LogKind::File).contains(&kind("corrupt")));
        let both = parse_kind_list("all,corrupt")
            .unwrap()
            .resolve(LogKind::File);
        assert!(both.contains(&kind("corrupt")) && both.contains(&kind("power")));
        assert_eq!(both.len(), FaultKind::all(LogKind::File).len() + 1);
    }

    #[test]
    fn all_means_power_too_only_with_a_file_log() {
        let all = parse_kind_list("all").unwrap();
        let memory = all.resolve(LogKind::Memory);
        let file = all.resolve(LogKind::File);
        assert_eq!(file.len(), memory.len() + 2);
        assert!(file.contains(&kind("power")) && file.contains(&kind("power-mid-write")));
        assert!(!memory.contains(&kind("power")));
        let listed = parse_kind_list("kill,pause").unwrap();
        assert_eq!(listed.resolve(LogKind::File), kinds(&["kill", "pause"]));
    }

    #[test]
    fn unknown_kind_is_named_in_the_error_with_every_known_one() {
        let error = parse_kind_list("partition,bogus").unwrap_err();
        assert!(error.contains("`bogus`"), "{error}");
        for known in FaultKind::every() {
            assert!(error.contains(known.name()), "{error}");
        }
    }
}
