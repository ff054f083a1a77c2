use super::*;

fn apply(sm: &mut RegistryStateMachine, index: LogIndex, command: Command) -> Response {
    Response::decode(&sm.apply(index, &command.encode())).unwrap()
}

fn register(service: &str, id: &str, ttl_ms: u64, now_ms: u64) -> Command {
    Command::Register {
        service: service.into(),
        id: id.into(),
        address: format!("{id}.local:80"),
        metadata: BTreeMap::new(),
        ttl_ms,
        now_ms,
    }
}

/// A registry that has seen term 1's first tick already (which renews every lease).
fn in_term_one() -> RegistryStateMachine {
    let mut sm = RegistryStateMachine::default();
    sm.state.leader_term = 1;
    sm
}

fn list(sm: &RegistryStateMachine, service: &str) -> Vec<String> {
    match sm.answer(&Query::List {
        service: service.into(),
    }) {
        Response::Instances { instances, .. } => instances.into_iter().map(|i| i.id).collect(),
        other => panic!("not instances: {other:?}"),
    }
}

fn watch(sm: &RegistryStateMachine, service: &str, from: u64) -> Response {
    sm.answer(&Query::Watch {
        service: service.into(),
        from,
        limit: 1000,
    })
}

#[test]
fn a_registration_gets_the_entry_index_as_lease_and_the_next_revision() {
    let mut sm = RegistryStateMachine::default();
    let answer = apply(&mut sm, 7, register("web", "a", 1000, 0));
    assert_eq!(
        answer,
        Response::Registered {
            revision: 1,
            lease: 7,
            ttl_ms: 1000
        }
    );
    assert_eq!(list(&sm, "web"), ["a"]);
    assert_eq!(list(&sm, "db"), Vec::<String>::new());
}

#[test]
fn a_lease_expires_only_when_a_tick_passes_its_deadline_in_log_time() {
    let mut sm = in_term_one();
    apply(&mut sm, 1, register("web", "a", 1000, 10_000));
    apply(
        &mut sm,
        2,
        Command::Tick {
            now_ms: 10_500,
            term: 1,
        },
    );
    assert_eq!(list(&sm, "web"), ["a"]);
    // A command with a later time but no tick expires nothing.
    apply(
        &mut sm,
        3,
        Command::ConfigPut {
            key: "k".into(),
            value: "v".into(),
        },
    );
    apply(&mut sm, 4, register("web", "b", 60_000, 12_000));
    assert_eq!(list(&sm, "web"), ["a", "b"]);
    let ticked = apply(
        &mut sm,
        5,
        Command::Tick {
            now_ms: 12_000,
            term: 1,
        },
    );
    assert!(matches!(ticked, Response::Ticked { expired: 1, .. }));
    assert_eq!(list(&sm, "web"), ["b"]);
}

#[test]
fn log_time_never_goes_back_when_a_proposer_clock_is_behind() {
    let mut sm = in_term_one();
    apply(&mut sm, 1, register("web", "a", 1000, 10_000));
    apply(
        &mut sm,
        2,
        Command::Tick {
            now_ms: 11_000,
            term: 1,
        },
    );
    apply(&mut sm, 3, register("web", "b", 1000, 5_000));
    assert_eq!(sm.log_time_ms(), 11_000);
    // b's deadline counts from log time (11 000), not from its proposer's 5 000.
    apply(
        &mut sm,
        4,
        Command::Tick {
            now_ms: 11_999,
            term: 1,
        },
    );
    assert_eq!(list(&sm, "web"), ["b"]);
}

#[test]
fn a_keepalive_renews_its_lease_and_an_unknown_lease_is_not_found() {
    let mut sm = in_term_one();
    apply(&mut sm, 1, register("web", "a", 1000, 0));
    let kept = apply(
        &mut sm,
        2,
        Command::KeepAlive {
            lease: 1,
            now_ms: 900,
        },
    );
    assert!(matches!(
        kept,
        Response::KeptAlive {
            lease: 1,
            ttl_ms: 1000,
            ..
        }
    ));
    apply(
        &mut sm,
        3,
        Command::Tick {
            now_ms: 1500,
            term: 1,
        },
    );
    assert_eq!(list(&sm, "web"), ["a"]);
    apply(
        &mut sm,
        4,
        Command::Tick {
            now_ms: 1900,
            term: 1,
        },
    );
    assert_eq!(list(&sm, "web"), Vec::<String>::new());
    let gone = apply(
        &mut sm,
        5,
        Command::KeepAlive {
            lease: 1,
            now_ms: 2000,
        },
    );
    assert!(matches!(gone, Response::LeaseNotFound { lease: 1, .. }));
}

#[test]
fn the_first_tick_of_a_new_term_renews_every_lease_before_expiring() {
    let mut sm = RegistryStateMachine::default();
    apply(&mut sm, 1, Command::Tick { now_ms: 0, term: 1 });
    apply(&mut sm, 2, register("web", "a", 1000, 0));
    // A new leader's first tick comes late (an election): a full TTL from it, not expiry.
    apply(
        &mut sm,
        3,
        Command::Tick {
            now_ms: 5000,
            term: 2,
        },
    );
    assert_eq!(list(&sm, "web"), ["a"]);
    apply(
        &mut sm,
        4,
        Command::Tick {
            now_ms: 6000,
            term: 2,
        },
    );
    assert_eq!(list(&sm, "web"), Vec::<String>::new());
}

#[test]
fn a_watch_delivers_each_change_of_its_service_in_revision_order_with_contiguous_versions() {
    let mut sm = in_term_one();
    apply(&mut sm, 1, register("web", "a", 1000, 0));
    apply(&mut sm, 2, register("db", "x", 1000, 0));
    apply(
        &mut sm,
        3,
        Command::ConfigPut {
            key: "k".into(),
            value: "v".into(),
        },
    );
    apply(&mut sm, 4, register("web", "b", 1000, 0));
    apply(
        &mut sm,
        5,
        Command::Deregister {
            service: "web".into(),
            id: "a".into(),
            now_ms: 0,
        },
    );
    apply(
        &mut sm,
        6,
        Command::Tick {
            now_ms: 2000,
            term: 1,
        },
    );
    let Response::Changes { revision, changes } = watch(&sm, "web", 1) else {
        panic!("not changes")
    };
    assert_eq!(revision, 7);
    let seen: Vec<(u64, u64)> = changes.iter().map(|c| (c.revision, c.version)).collect();
    assert_eq!(seen, [(1, 1), (4, 2), (5, 3), (7, 4)]);
    assert!(matches!(&changes[2].kind, ChangeKind::Deregistered { id } if id == "a"));
    assert!(matches!(&changes[3].kind, ChangeKind::Expired { id, lease: 4 } if id == "b"));
    // Resumed from after the second change: the rest only.
    let Response::Changes { changes, .. } = watch(&sm, "web", 5) else {
        panic!("not changes")
    };
    assert_eq!(
        changes.iter().map(|c| c.revision).collect::<Vec<_>>(),
        [5, 7]
    );
}

#[test]
fn a_watch_from_a_compacted_revision_is_refused_naming_the_compaction() {
    let mut sm = RegistryStateMachine::new(2);
    for index in 1..=4 {
        apply(
            &mut sm,
            index,
            register("web", &format!("i{index}"), 1000, 0),
        );
    }
    assert_eq!(
        watch(&sm, "web", 2),
        Response::Compacted {
            revision: 4,
            compacted_through: 2
        }
    );
    let Response::Changes { changes, .. } = watch(&sm, "web", 3) else {
        panic!("not changes")
    };
    assert_eq!(changes.len(), 2);
}

#[test]
fn config_compare_and_set_holds_only_on_the_expected_value() {
    let mut sm = RegistryStateMachine::default();
    let cas = |expected: Option<&str>, value: &str| Command::ConfigCas {
        key: "k".into(),
        expected: expected.map(str::to_owned),
        value: value.into(),
    };
    assert_eq!(
        apply(&mut sm, 1, cas(None, "1")),
        Response::ConfigWritten { revision: 1 }
    );
    assert_eq!(
        apply(&mut sm, 2, cas(None, "2")),
        Response::CasFailed {
            revision: 1,
            current: Some("1".into())
        }
    );
    assert_eq!(
        apply(&mut sm, 3, cas(Some("1"), "2")),
        Response::ConfigWritten { revision: 2 }
    );
    assert_eq!(
        sm.answer(&Query::ConfigGet { key: "k".into() }),
        Response::Value {
            revision: 2,
            value: Some("2".into())
        }
    );
}

#[test]
fn registering_an_id_again_replaces_it_and_revokes_the_old_lease() {
    let mut sm = RegistryStateMachine::default();
    apply(&mut sm, 1, register("web", "a", 1000, 0));
    apply(&mut sm, 2, register("web", "a", 5000, 0));
    let old = apply(
        &mut sm,
        3,
        Command::KeepAlive {
            lease: 1,
            now_ms: 0,
        },
    );
    assert!(matches!(old, Response::LeaseNotFound { .. }));
    let Response::Changes { changes, .. } = watch(&sm, "web", 1) else {
        panic!("not changes")
    };
    assert_eq!(
        changes.iter().map(|c| c.version).collect::<Vec<_>>(),
        [1, 2]
    );
}

#[test]
fn undecodable_bytes_are_an_invalid_answer_and_change_nothing() {
    let mut sm = RegistryStateMachine::default();
    let answer = Response::decode(&sm.apply(1, &[0xff, 0xff, 0xff])).unwrap();
    assert!(matches!(answer, Response::Invalid { .. }));
    assert_eq!(sm.revision(), 0);
    let query = Response::decode(&sm.query(b"\xff\xff").unwrap()).unwrap();
    assert!(matches!(query, Response::Invalid { .. }));
}

#[test]
fn a_snapshot_restores_the_same_state_and_writes_the_same_bytes() {
    let mut sm = RegistryStateMachine::new(3);
    for index in 1..=5 {
        apply(
            &mut sm,
            index,
            register("web", &format!("i{index}"), 1000, index * 100),
        );
    }
    apply(
        &mut sm,
        6,
        Command::ConfigPut {
            key: "k".into(),
            value: "v".into(),
        },
    );
    let mut bytes = Vec::new();
    sm.snapshot().unwrap().write_to(&mut bytes).unwrap();
    let mut restored = RegistryStateMachine::new(3);
    restored.restore(6, &mut bytes.as_slice()).unwrap();
    assert_eq!(restored.state, sm.state);
    let mut again = Vec::new();
    restored.snapshot().unwrap().write_to(&mut again).unwrap();
    assert_eq!(again, bytes);
    assert!(restored.restore(6, &mut &b"not json"[..]).is_err());
    assert_eq!(
        restored.state, sm.state,
        "a refused snapshot leaves the state as it was"
    );
}
