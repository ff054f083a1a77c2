//! Each check a shrink keeps, explained in words for the counterexample: which rule it
//! holds the system to, with the paper's section.

/// The rule behind each invariant, by name (as the invariant checker names them).
const RULES: &[(&str, &str)] = &[
    (
        "election-safety",
        "at most one leader per term (Raft §5.2, Figure 3).",
    ),
    (
        "leader-term-stale",
        "a leader's term never goes back (§5.1).",
    ),
    (
        "commit-monotonic",
        "a node's commit index never goes back (§5.3).",
    ),
    (
        "state-machine-safety",
        "no two nodes apply different commands at one log index (§5.4.3).",
    ),
    (
        "apply-order",
        "a node applies entries in index order, each once (§5.3).",
    ),
    (
        "applied-behind-compaction",
        "a node never compacts past what it has applied (§7).",
    ),
    (
        "snapshot-state",
        "a snapshot holds exactly the state of the entries it covers, all committed (§7).",
    ),
    (
        "snapshot-backwards",
        "a node never installs a snapshot older than what it has (§7).",
    ),
    (
        "corruption-detected",
        "a node's storage never hands back data other than what was written.",
    ),
    (
        "node-panic",
        "the node's own assertion fired (a check inside the implementation, not from outside).",
    ),
    (
        "durable-before-reply",
        "persistent state (term, vote) is durable before a node answers (§5.1, Figure 2).",
    ),
    (
        "durable-state-kept",
        "a log reopened after a crash or power cut holds every entry, term and vote it had \
         made durable (§5.1).",
    ),
    (
        "one-vote-per-term",
        "a voter grants its vote of a term to one candidate only, across restarts (§5.2).",
    ),
    (
        "election-quorum",
        "a new leader received votes of its own term from a majority of its configuration \
         (§5.2, §4.3).",
    ),
    (
        "commit-quorum",
        "a leader commits an index only once a majority of the configuration acknowledged it \
         in its term (§5.4.2, §4.3).",
    ),
    (
        "term-origin",
        "a node makes a term durable only after some candidate voted for itself in it (§5.2; \
         a pre-vote changes no state, thesis §9.6).",
    ),
    (
        "vote-up-to-date",
        "a (pre-)vote goes only to a log at least as up-to-date as the voter's (§5.4.1).",
    ),
    (
        "pre-vote",
        "a pre-vote changes no durable state (thesis §9.6).",
    ),
    (
        "stale-term-rejected",
        "an AppendEntries of a term older than the follower's is refused (§5.1).",
    ),
    (
        "acknowledge-covered",
        "a follower acknowledges no more of its log than the AppendEntries covered (§5.3).",
    ),
    (
        "log-matching",
        "a follower accepts entries only when its entry at prevLogIndex has prevLogTerm (§5.3).",
    ),
    (
        "higher-term-deposes",
        "a leader that heard of a higher term stops acting as leader of its old one (Figure 2).",
    ),
    (
        "compact-behind-snapshot",
        "a node compacts its log only through an index a durable snapshot covers (§7).",
    ),
    (
        "leader-completeness",
        "an entry reported committed is in the log of every later leader and never truncated \
         (§5.4).",
    ),
    (
        "commit-agreement",
        "two nodes never commit different entries at one index (§5.4).",
    ),
    (
        "committed-entry-kept",
        "a committed entry is never removed from a log (§5.4).",
    ),
    (
        "configuration-chain",
        "each configuration is one step from the one before it (§4.1).",
    ),
    (
        "one-change-at-a-time",
        "a leader appends a configuration change only once the previous one is committed \
         (§4.1).",
    ),
    (
        "membership-change-own-term",
        "a leader changes the configuration only after an entry of its own term is committed \
         (errata to §4.2).",
    ),
    (
        "removed-node-disrupts",
        "a node removed from the configuration never deposes a leader (§4.2.3).",
    ),
];

/// The rule `check` (as [`crate::catalogue::search::fired`] names it) holds the run to, in
/// words.
pub fn rule(check: &str) -> String {
    if let Some(name) = super::tester::invariant_of(check) {
        return match RULES.iter().find(|(rule, _)| *rule == name) {
            Some((_, words)) => format!("The rule broken: {words}"),
            None => format!("The harness's invariant `{name}` was violated."),
        };
    }
    match check {
        "linearizability" => "The rule broken: every operation appears to take effect at one \
                              instant between its invocation and its completion \
                              (linearizability): no order of the operations explains what \
                              the clients saw."
            .into(),
        "durability" => "The rule broken: a write acknowledged to a client is in the final \
                         state (durability)."
            .into(),
        "liveness" => "The rule broken: the cluster makes progress in a window without \
                       faults (liveness)."
            .into(),
        other => format!("The check `{other}` failed."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_check_is_explained_with_its_rule() {
        assert!(rule("invariant leader-completeness").contains("§5.4"));
        assert!(rule("invariant node-panic (the node's own assertion)").contains("own assertion"));
        assert!(rule("linearizability").contains("linearizability"));
        assert!(rule("invariant no-such-rule").contains("`no-such-rule`"));
    }
}
