use super::*;
use crate::history::{Op, OpType, Process};

/// A history built in time order: each call adds an invocation and its completion.
#[derive(Default)]
struct Builder {
    history: History,
    time: u64,
}

fn s(text: &str) -> Value {
    Value::String(text.into())
}

fn l(items: Vec<Value>) -> Value {
    Value::List(items)
}

fn i(n: i64) -> Value {
    Value::Int(n)
}

fn change(revision: i64, version: i64, kind: &str, id: &str, lease: i64) -> Value {
    l(vec![i(revision), i(version), s(kind), s(id), i(lease)])
}

impl Builder {
    fn op(
        &mut self,
        process: u64,
        f: &str,
        service: &str,
        arg: Value,
        kind: OpType,
        out: Value,
    ) -> &mut Self {
        let p = Process::Client(process);
        self.time += 10;
        let invoke = Op::new(p.clone(), OpType::Invoke, f, arg)
            .with_key(s(service))
            .with_time(self.time);
        self.history.push(invoke);
        self.time += 10;
        let done = Op::new(p, kind, f, out)
            .with_key(s(service))
            .with_time(self.time);
        self.history.push(done);
        self
    }

    fn ok(&mut self, process: u64, f: &str, service: &str, arg: Value, out: Value) -> &mut Self {
        self.op(process, f, service, arg, OpType::Ok, out)
    }

    fn check(&self) -> RegistryReport {
        check_registry(&self.history).unwrap()
    }
}

/// Register a (rev 1, lease 10) and b (rev 2, lease 11), deregister a (rev 3), list, expire b
/// (rev 4), and a watcher that saw it all.
fn valid() -> Builder {
    let mut b = Builder::default();
    b.ok(
        0,
        "register",
        "web",
        l(vec![s("a"), i(1000)]),
        l(vec![i(1), i(10)]),
    )
    .ok(
        1,
        "register",
        "web",
        l(vec![s("b"), i(1000)]),
        l(vec![i(2), i(11)]),
    )
    .ok(
        0,
        "keepalive",
        "web",
        l(vec![s("a"), i(10)]),
        l(vec![i(2), Value::Bool(true)]),
    )
    .ok(
        0,
        "deregister",
        "web",
        s("a"),
        l(vec![i(3), Value::Bool(true)]),
    )
    .ok(1, "list", "web", Value::Nil, l(vec![i(3), l(vec![s("b")])]))
    .ok(
        0,
        "deregister",
        "web",
        s("zz"),
        l(vec![i(3), Value::Bool(false)]),
    )
    .ok(
        1,
        "keepalive",
        "web",
        l(vec![s("a"), i(10)]),
        l(vec![i(3), Value::Bool(false)]),
    );
    b.ok(
        9,
        "watch",
        "web",
        i(1),
        l(vec![
            i(3),
            l(vec![
                change(1, 1, "put", "a", 10),
                change(2, 2, "put", "b", 11),
            ]),
        ]),
    );
    b.ok(
        9,
        "watch",
        "web",
        i(3),
        l(vec![
            i(4),
            l(vec![
                change(3, 3, "deregistered", "a", 0),
                change(4, 4, "expired", "b", 11),
            ]),
        ]),
    );
    b
}

#[test]
fn a_history_legal_at_every_revision_with_complete_watches_is_valid() {
    let report = valid().check();
    assert!(report.valid, "{:?}", report.problems);
    assert_eq!(report.changes, 4);
    assert_eq!(report.checked, 9);
    assert_eq!(report.watchers[&9], ("web".to_owned(), 4));
}

/// `valid()` and an acknowledged registration of c at revision 5 that no watcher saw.
fn with_an_unseen_registration() -> Builder {
    let mut b = valid();
    b.ok(
        2,
        "register",
        "web",
        l(vec![s("c"), i(1000)]),
        l(vec![i(5), i(12)]),
    );
    b
}

#[test]
fn an_acknowledged_registration_missing_from_the_change_log_is_lost() {
    let mut b = with_an_unseen_registration();
    // The watcher's next poll is answered at revision 5 without the change: it is gone.
    b.ok(9, "watch", "web", i(5), l(vec![i(5), l(vec![])]));
    let report = b.check();
    assert!(!report.valid);
    assert_eq!(report.verdict(), "invalid");
    assert_eq!(report.unknown_count, 0, "{:?}", report.unknown);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("acknowledged at revision 5")),
        "{:?}",
        report.problems
    );
}

#[test]
fn an_acknowledged_registration_past_every_watcher_is_unknown_not_lost() {
    // The watcher's last poll was answered at revision 4: it never got to revision 5.
    let report = with_an_unseen_registration().check();
    assert_eq!(report.verdict(), "unknown", "{:?}", report.problems);
    assert!(!report.valid, "unknown is not valid");
    assert_eq!(report.problem_count, 0, "{:?}", report.problems);
    assert_eq!(report.unknown_count, 1);
    assert!(
        report.unknown[0].contains("acknowledged at revision 5")
            && report.unknown[0].contains("answered up to revision 4"),
        "{:?}",
        report.unknown
    );
}

#[test]
fn an_acknowledged_removal_past_every_watcher_is_unknown_not_lost() {
    let mut b = valid();
    b.ok(
        2,
        "deregister",
        "web",
        s("b"),
        l(vec![i(5), Value::Bool(true)]),
    );
    let report = b.check();
    assert_eq!(report.verdict(), "unknown", "{:?}", report.problems);
    b.ok(9, "watch", "web", i(5), l(vec![i(5), l(vec![])]));
    let report = b.check();
    assert_eq!(report.verdict(), "invalid", "{:?}", report.unknown);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("removed b at revision 5")),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_watcher_that_skips_a_version_is_a_gap() {
    let mut b = valid();
    b.ok(
        8,
        "watch",
        "web",
        i(1),
        l(vec![
            i(4),
            l(vec![
                change(1, 1, "put", "a", 10),
                change(3, 3, "deregistered", "a", 0),
            ]),
        ]),
    );
    let report = b.check();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("gap: version 3 of web after version 1")),
        "{:?}",
        report.problems
    );
    assert!(
        report.problems.iter().any(|p| p.contains(
            "watcher process 8 of web saw up to version 3, but version 4 was in by revision 4"
        )),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_watcher_that_sees_a_change_twice_is_a_duplicate() {
    let mut b = valid();
    b.ok(
        9,
        "watch",
        "web",
        i(4),
        l(vec![i(4), l(vec![change(4, 4, "expired", "b", 11)])]),
    );
    let report = b.check();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("duplicate or out of order")),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_list_that_misses_an_instance_at_its_revision_is_illegal() {
    let mut b = valid();
    b.ok(3, "list", "web", Value::Nil, l(vec![i(2), l(vec![s("b")])]));
    let report = b.check();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("listed {\"b\"}, but at revision 2")),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_revision_lower_than_one_already_observed_breaks_real_time() {
    let mut b = valid();
    // Invoked after the list at revision 3 completed, yet answered at revision 1.
    b.ok(3, "list", "web", Value::Nil, l(vec![i(1), l(vec![s("a")])]));
    let report = b.check();
    assert!(
        report.problems.iter().any(|p| p.contains("had revision")),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_change_from_a_failed_registration_is_illegal() {
    let mut b = valid();
    b.op(
        4,
        "register",
        "web",
        l(vec![s("d"), i(1000)]),
        OpType::Fail,
        Value::Nil,
    );
    b.ok(
        9,
        "watch",
        "web",
        i(5),
        l(vec![i(5), l(vec![change(5, 5, "put", "d", 13)])]),
    );
    let report = b.check();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("put of web d was failed")),
        "{:?}",
        report.problems
    );
}

#[test]
fn an_expiry_of_a_lease_the_instance_does_not_hold_is_illegal() {
    let mut b = Builder::default();
    b.ok(
        0,
        "register",
        "web",
        l(vec![s("a"), i(1000)]),
        l(vec![i(1), i(10)]),
    );
    b.ok(
        9,
        "watch",
        "web",
        i(1),
        l(vec![
            i(2),
            l(vec![
                change(1, 1, "put", "a", 10),
                change(2, 2, "expired", "a", 99),
            ]),
        ]),
    );
    let report = b.check();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("expired with lease 99")),
        "{:?}",
        report.problems
    );
}
