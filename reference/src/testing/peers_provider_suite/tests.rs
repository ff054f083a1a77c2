use super::*;

/// The suite's reference: rafty's own file provider keeps the whole contract.
#[test]
fn the_file_peers_provider_passes_every_case() {
    let report = run(&mut FilePeers);
    assert_eq!(report.cases.len(), case_names().len());
    report.assert_all_passed();
}

fn failed(defect: PeersDefect) -> Vec<(&'static str, String)> {
    run(&mut BrokenFilePeers(defect))
        .cases
        .into_iter()
        .filter_map(|case| match case.outcome {
            Outcome::Failed(message) => Some((case.name, message)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_provider_that_drops_a_peer_fails_the_listing_cases() {
    let failed = failed(PeersDefect::DropsAPeer);
    let names: Vec<_> = failed.iter().map(|(name, _)| *name).collect();
    assert!(
        names.contains(&"lists_every_other_member_at_its_address"),
        "{failed:?}"
    );
    assert!(
        failed[0].1.contains("n3 (at 10.0.0.3:7001) is missing"),
        "{failed:?}"
    );
}

#[test]
fn a_provider_stale_after_a_change_fails_the_change_case_only() {
    let failed = failed(PeersDefect::StaleAfterAChange);
    let names: Vec<_> = failed.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["a_change_is_listed_by_the_next_call"], "{failed:?}");
    assert!(failed[0].1.contains("a stale list"), "{failed:?}");
}

#[test]
fn a_listing_names_what_differs() {
    let listed = vec![
        (2, "a:1".to_owned()),
        (2, "a:1".to_owned()),
        (5, "x:1".to_owned()),
    ];
    let expected = vec![(2, "b:1".to_owned()), (3, "c:1".to_owned())];
    let text = difference(&listed, &expected).unwrap();
    assert!(text.contains("n2 is listed twice"), "{text}");
    assert!(text.contains("n2 is listed at a:1, not at b:1"), "{text}");
    assert!(text.contains("n3 (at c:1) is missing"), "{text}");
    assert!(
        text.contains("n5 (at x:1) is listed but is not among"),
        "{text}"
    );
    assert_eq!(difference(&expected, &expected), None);
}
