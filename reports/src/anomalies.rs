//! A transactional check's findings in words, from `results.json`'s
//! `checks.linearizability` when a transactional checker made it (`checker` names it): Elle's
//! anomalies (each cycle's transactions, then each edge with why it exists) or a direct
//! checker's violations (each with its line). For summary.txt and the timeline's header.

use std::fmt::Write;

use serde_json::Value as Json;

/// The findings of `check` (the `checks.linearizability` object) in plain text, one item a
/// line, indented by two; `None` when no transactional checker made it or it found nothing.
pub fn text(check: &Json) -> Option<String> {
    let checker = check.get("checker")?.as_str()?;
    let mut out = String::new();
    if let Some(describe) = check.get("describe").and_then(Json::as_str) {
        let _ = writeln!(out, "{checker}: {describe}");
    }
    if let Some(Json::Object(counts)) = check.get("anomaly_counts") {
        for (kind, count) in counts {
            let _ = writeln!(out, "  {kind}: {count} found");
        }
    }
    for anomaly in check
        .get("anomalies")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        elle_anomaly(&mut out, anomaly);
    }
    if let Some(findings) = check.get("findings").and_then(Json::as_array) {
        for finding in findings {
            let _ = writeln!(
                out,
                "  line {}: {}: {}",
                finding["line"],
                finding["kind"].as_str().unwrap_or("?"),
                finding["message"].as_str().unwrap_or("")
            );
        }
    }
    let found = check
        .get("anomalies")
        .and_then(Json::as_array)
        .is_some_and(|a| !a.is_empty())
        || check
            .get("findings")
            .and_then(Json::as_array)
            .is_some_and(|f| !f.is_empty());
    found.then_some(out)
}

/// One Elle anomaly: its class and explanation, its transactions, its cycle's edges.
fn elle_anomaly(out: &mut String, anomaly: &Json) {
    let str_of = |value: &Json, field: &str| value[field].as_str().unwrap_or("?").to_owned();
    let _ = writeln!(
        out,
        "  {}: {}",
        str_of(anomaly, "type"),
        str_of(anomaly, "explanation")
    );
    for txn in anomaly["txns"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "    {} = {}",
            str_of(txn, "name"),
            str_of(txn, "description")
        );
    }
    for edge in anomaly["cycle"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "    {} -{}-> {}: {}",
            str_of(edge, "from"),
            str_of(edge, "kind"),
            str_of(edge, "to"),
            str_of(edge, "why")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_elle_cycle_is_written_with_its_transactions_and_each_edge_with_why() {
        let check = serde_json::json!({
            "valid": false,
            "checker": "elle list-append",
            "describe": "not strict-serializable: G-single (ruling out serializable)",
            "anomaly_counts": {"G-single": 1},
            "anomalies": [{
                "type": "G-single",
                "explanation": "a cycle of 2 transactions: T1 -rw-> T2 -wr-> T1",
                "txns": [
                    {"name": "T1", "description": "process 0, line 4, ok [[r x []]]"},
                    {"name": "T2", "description": "process 1, line 5, ok [[append x 1]]"}
                ],
                "cycle": [
                    {"from": "T1", "to": "T2", "kind": "rw", "why": "T1 read x without 1; T2 appended 1"},
                    {"from": "T2", "to": "T1", "kind": "wr", "why": "T1 read T2's append"}
                ]
            }]
        });
        let text = text(&check).expect("an anomaly");
        assert!(
            text.starts_with("elle list-append: not strict-serializable"),
            "{text}"
        );
        assert!(text.contains("  G-single: 1 found\n"), "{text}");
        assert!(
            text.contains("    T2 = process 1, line 5, ok [[append x 1]]\n"),
            "{text}"
        );
        assert!(
            text.contains("    T1 -rw-> T2: T1 read x without 1; T2 appended 1\n"),
            "{text}"
        );
    }

    #[test]
    fn a_direct_checkers_findings_are_written_with_their_lines() {
        let check = serde_json::json!({
            "valid": false,
            "checker": "bank",
            "describe": "invalid bank: 1 violation(s)",
            "findings": [{"line": 12, "kind": "wrong-total", "message": "sum to 95"}]
        });
        let text = text(&check).expect("a finding");
        assert!(
            text.contains("  line 12: wrong-total: sum to 95\n"),
            "{text}"
        );
    }

    #[test]
    fn a_linearizability_result_or_a_clean_one_has_no_text() {
        assert_eq!(text(&serde_json::json!({"valid": true})), None);
        let clean = serde_json::json!({"valid": true, "checker": "bank", "findings": []});
        assert_eq!(text(&clean), None);
    }
}
