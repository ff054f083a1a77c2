import json, sys
# Each case: name, model, events, expected types, valid under strict-serializable.
# An event: ('i', process, mops) invocation (reads as given, usually None), or
# (type, process, mops) completion.
def a(k, v): return ["append", k, v]
def r(k, v=None): return ["r", k, v]
def w(k, v): return ["w", k, v]

cases = []
def case(name, model, events, types, valid, note):
    cases.append((name, model, events, types, valid, note))

def inv(p, *m): return ('invoke', p, list(m))
def ok(p, *m): return ('ok', p, list(m))
def fail(p, *m): return ('fail', p, list(m))
def info(p, *m): return ('info', p, list(m))

# G0: two transactions append to x and y in opposite orders.
g0 = lambda y_read: [inv(0, a("x",1), a("y",1)), inv(1, a("x",2), a("y",2)), ok(0, a("x",1), a("y",1)), ok(1, a("x",2), a("y",2)),
      inv(2, r("x"), r("y")), ok(2, r("x",[1,2]), r("y",y_read))]
case("g0", "list-append", g0([2,1]), ["G0"], False, "T1 and T2 append to x in one order and to y in the other (dirty write)")
case("g0-near", "list-append", g0([1,2]), [], True, "as g0, but y's order agrees with x's")

g1c = lambda x_read: [inv(0, a("x",1), r("y")), inv(1, a("y",1), r("x")), ok(0, a("x",1), r("y",[1])), ok(1, a("y",1), r("x",x_read))]
case("g1c", "list-append", g1c([1]), ["G1c"], False, "each transaction reads the other's append (circular information flow)")
case("g1c-near", "list-append", g1c([]), [], True, "as g1c, but T2 does not see T1's append: T2 then T1")

gs = lambda x_read: [inv(0, a("x",1), a("y",1)), inv(1, r("x"), r("y")), ok(0, a("x",1), a("y",1)), ok(1, r("x",x_read), r("y",[1])),
      inv(2, r("x"), r("y")), ok(2, r("x",[1]), r("y",[1]))]
case("g-single", "list-append", gs([]), ["G-single"], False, "T2 sees T1's append to y but not to x (read skew)")
case("g-single-near", "list-append", gs([1]), [], True, "as g-single, but T2 sees both appends")

g2 = lambda x_read: [inv(0, a("x",1), r("y")), inv(1, a("y",1), r("x")), ok(0, a("x",1), r("y",[])), ok(1, a("y",1), r("x",x_read)),
      inv(2, r("x"), r("y")), ok(2, r("x",[1]), r("y",[1]))]
case("g2-item", "list-append", g2([]), ["G2-item"], False, "each appends to one key and misses the other's append (write skew)")
case("g2-item-near", "list-append", g2([1]), [], True, "as g2-item, but T2 sees T1's append")

g1a = lambda outcome: [inv(0, a("x",1)), (outcome, 0, [a("x",1)]), inv(1, r("x")), ok(1, r("x",[1]))]
case("g1a", "list-append", g1a('fail'), ["G1a"], False, "T2 reads an element whose append failed (aborted read)")
case("g1a-near", "list-append", g1a('info'), [], True, "as g1a, but the append is indeterminate: it may have happened")

g1b = lambda x_read: [inv(0, a("x",1), a("x",2)), inv(1, r("x")), ok(0, a("x",1), a("x",2)), ok(1, r("x",x_read))]
case("g1b", "list-append", g1b([1]), ["G1b", "G-single"], False, "T2 reads x between T1's two appends (intermediate read)")
case("g1b-near", "list-append", g1b([1,2]), [], True, "as g1b, but T2 reads both appends")

dup = lambda x_read: [inv(0, a("x",1)), ok(0, a("x",1)), inv(1, r("x")), ok(1, r("x",x_read))]
case("duplicate-elements", "list-append", dup([1,1]), ["duplicate-elements"], False, "a read holds one element twice")
case("duplicate-elements-near", "list-append", dup([1]), [], True, "as duplicate-elements, once")

internal = lambda second: [inv(0, r("x"), a("x",2), r("x")), ok(0, r("x",[]), a("x",2), r("x",second))]
case("internal", "list-append", internal([]), ["internal"], False, "T1 reads x without its own append")
case("internal-near", "list-append", internal([2]), [], True, "as internal, with its append")

garbage = lambda x_read: [inv(0, a("x",1)), ok(0, a("x",1)), inv(1, r("x")), ok(1, r("x",x_read))]
case("garbage-read", "list-append", garbage([9]), ["garbage-read"], False, "T2 reads an element nobody appended")
case("garbage-read-near", "list-append", garbage([1]), [], True, "as garbage-read, reading what was appended")

inc = lambda second: [inv(0, a("x",1)), inv(3, r("x")), inv(1, a("x",2)), ok(0, a("x",1)), ok(1, a("x",2)),
      ok(3, r("x",second)), inv(2, r("x")), ok(2, r("x",[1,2]))]
case("incompatible-order", "list-append", inc([2,1]), ["incompatible-order"], False, "two reads of x disagree on its order")
case("incompatible-order-near", "list-append", inc([1]), [], True, "as incompatible-order, the second read a prefix of the first")

dirty = lambda outcome: [inv(0, a("x",1)), (outcome, 0, [a("x",1)]), inv(1, a("x",2)), ok(1, a("x",2)), inv(2, r("x")), ok(2, r("x",[1,2]))]
case("dirty-update", "list-append", dirty('fail'), ["G1a", "dirty-update"], False, "T2 appends after a failed append, and T3 reads both")
case("dirty-update-near", "list-append", dirty('info'), [], True, "as dirty-update, but the first append is indeterminate")

future = lambda mops_inv, mops_ok: [inv(0, *mops_inv), ok(0, *mops_ok)]
case("future-read", "list-append", future([r("x"), a("x",1)], [r("x",[1]), a("x",1)]), ["future-read"], False, "T1 reads its own append before making it")
case("future-read-near", "list-append", future([a("x",1), r("x")], [a("x",1), r("x",[1])]), [], True, "as future-read, appending first")

# Stale reads: T1 commits before T2 starts, and T2 misses T1's append.
stale = [inv(0, a("x",1)), ok(0, a("x",1)), inv(1, r("x")), ok(1, r("x",[])), inv(2, r("x")), ok(2, r("x",[1]))]
case("g-single-realtime", "list-append", stale, ["G-single-realtime"], False, "T2 starts after T1 commits and misses its append (stale read)")
stale_near = [inv(0, a("x",1)), inv(1, r("x")), ok(0, a("x",1)), ok(1, r("x",[])), inv(2, r("x")), ok(2, r("x",[1]))]
case("g-single-realtime-near", "list-append", stale_near, [], True, "as g-single-realtime, but T1 and T2 overlap")
stale_process = [inv(0, a("x",1)), ok(0, a("x",1)), inv(0, r("x")), ok(0, r("x",[])), inv(2, r("x")), ok(2, r("x",[1]))]
case("g-single-process", "list-append", stale_process, ["G-single-process"], False, "one process appends, then misses its own append")
# G0-realtime: T2's append lands before T1's although T1 committed first.
g0rt = [inv(0, a("x",1)), ok(0, a("x",1)), inv(1, a("x",2)), ok(1, a("x",2)), inv(2, r("x")), ok(2, r("x",[2,1]))]
case("g0-realtime", "list-append", g0rt, ["G0-realtime"], False, "T1 commits before T2 starts, yet T2's append comes first")
g0rt_near = [inv(0, a("x",1)), ok(0, a("x",1)), inv(1, a("x",2)), ok(1, a("x",2)), inv(2, r("x")), ok(2, r("x",[1,2]))]
case("g0-realtime-near", "list-append", g0rt_near, [], True, "as g0-realtime, in commit order")
# Indeterminate transactions: an info append read later happened; one never read did nothing.
info_seen = [inv(0, a("x",1), a("y",1)), info(0, a("x",1), a("y",1)), inv(1, r("x"), r("y")), ok(1, r("x",[1]), r("y",[]))]
case("info-g-single", "list-append", info_seen, ["G-single"], False, "T2 sees an indeterminate transaction's append to x but not to y (read skew)")
info_near = [inv(0, a("x",1), a("y",1)), info(0, a("x",1), a("y",1)), inv(1, r("x"), r("y")), ok(1, r("x",[]), r("y",[]))]
case("info-near", "list-append", info_near, [], True, "an indeterminate transaction nobody saw may never have happened")

# rw-register
rgs = lambda x_read: [inv(0, w("x",1), w("y",1)), inv(1, r("x"), r("y")), ok(0, w("x",1), w("y",1)), ok(1, r("x",x_read), r("y",1))]
case("register-g-single", "rw-register", rgs(None), ["G-single"], False, "T2 sees T1's write to y but x's initial value")
case("register-g-single-near", "rw-register", rgs(1), [], True, "as register-g-single, seeing both writes")
rg1a = lambda outcome: [inv(0, w("x",1)), (outcome, 0, [w("x",1)]), inv(1, r("x")), ok(1, r("x",1))]
case("register-g1a", "rw-register", rg1a('fail'), ["G1a"], False, "T2 reads a failed write")
case("register-g1a-near", "rw-register", rg1a('info'), [], True, "as register-g1a, the write indeterminate")
rg0 = lambda y_read: [inv(0, r("x"), w("x", 1)), ok(0, r("x", None), w("x", 1)), inv(1, r("x"), w("x",2), r("y")), ok(1, r("x",1), w("x",2), r("y",y_read)),
      inv(2, w("y", 5), r("x")), ok(2, w("y",5), r("x", 2))]
case("register-g1c", "rw-register", rg0(5), ["G1c"], False, "T2 reads T3's write to y and T3 reads T2's write to x")
case("register-g1c-near", "rw-register", rg0(None), [], True, "as register-g1c, T2 reads y's initial value")
rint = lambda second: [inv(0, w("x",1), r("x")), ok(0, w("x",1), r("x",second))]
case("register-internal", "rw-register", rint(None), ["internal"], False, "T1 reads x without its own write")
case("register-internal-near", "rw-register", rint(1), [], True, "as register-internal, with it")

expected = ["# file\tmodel\tanomalies (comma-separated, or -)\tvalid under strict-serializable\twhat it is"]
for name, model, events, types, valid, note in cases:
    lines = []
    for i, (t, p, mops) in enumerate(events):
        if t == 'invoke':
            mops = [[m[0], m[1], m[2] if m[0] != "r" else None] for m in mops]
        lines.append(json.dumps({"index": i, "time": i * 1000, "process": p, "type": t, "f": "txn", "value": mops}, separators=(",", ":")))
    open(f"{name}.jsonl", "w").write("\n".join(lines) + "\n")
    expected.append(f"{name}.jsonl\t{model}\t{','.join(types) or '-'}\t{'valid' if valid else 'invalid'}\t{note}")
open("expected.tsv", "w").write("\n".join(expected) + "\n")
