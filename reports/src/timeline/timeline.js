// Draws the embedded history on a canvas: one lane per client thread (or per process), one
// row per fault in effect at once, only what is visible.
(function () {
  'use strict';
  var errors = document.getElementById('errors');
  function fail(message) {
    errors.hidden = false;
    errors.textContent += message + '\n';
    document.body.setAttribute('data-rendered', 'error');
  }
  window.addEventListener('error', function (e) { fail('error: ' + e.message); });

  var started = Date.now();
  var D = JSON.parse(document.getElementById('data').textContent);
  var O = D.ops;
  var N = O.l.length;
  var COLORS = ['#2e9e44', '#d62728', '#f0a500'];
  var OUTCOMES = ['ok', 'fail', 'info'];
  var GUTTER = 56, AXIS_H = 20, FAULT_ROW_H = 16, FAULT_H = FAULT_ROW_H * D.fault_rows, LEADER_H = 16, NOTE_H = D.notes.length ? 16 : 0;
  var CONFIG_ROW_H = 14, CONFIG_TOP = AXIS_H + FAULT_H + LEADER_H;
  var CONFIG_H = D.configs.nodes.length * CONFIG_ROW_H;
  var CONFIG_COLORS = ['#c6dbef', '#fdd0a2', '#c7e9c0', '#dadaeb', '#fcbba1', '#d9d9d9', '#f6e8c3', '#c7eae5'];
  var NOTE_TOP = CONFIG_TOP + CONFIG_H;
  var HEAD = NOTE_TOP + NOTE_H, LANE_H = 18, BAR_H = 12;
  var canvas = document.getElementById('timeline');
  var ctx = canvas.getContext('2d');
  var tip = document.getElementById('tip');
  var keySelect = document.getElementById('key');
  var status = document.getElementById('status');
  var end = D.end > 0 ? D.end : 1;
  var view = { t0: 0, t1: end, scroll: 0 };
  var lanes = [];
  var visibleCount = 0;
  var width = 800, height = 300;
  var cex = D.cex;
  var minimal = D.minimal;
  var processCount = (function () {
    var seen = {}, n = 0;
    O.P.forEach(function (p) { if (!seen[p]) { seen[p] = true; n++; } });
    return n;
  })();
  var drawnFaults = [];  // [x0, x1, y] of each fault bar last drawn, for the self-test
  var role = {};   // op index -> 'bad' | 'concurrent'
  var order = {};  // op index -> 1-based position in the linearizable prefix
  if (cex) {
    role[cex.op] = 'bad';
    cex.concurrent.forEach(function (i) { role[i] = 'concurrent'; });
    cex.prefix.forEach(function (i, n) { order[i] = n + 1; });
  }

  function opEnd(i) { return O.e[i] < 0 ? end : O.e[i]; }
  function x(t) { return GUTTER + (t - view.t0) / (view.t1 - view.t0) * (width - GUTTER); }
  function timeAt(px) { return view.t0 + (px - GUTTER) / (width - GUTTER) * (view.t1 - view.t0); }
  function laneTop(lane) { return HEAD + lane * LANE_H - view.scroll; }

  function formatTime(t, step) {
    if (D.clock !== 'ns') { return String(Math.round(t)); }
    var s = step || Math.abs(t) || 1;
    if (s >= 1e8) { return (t / 1e9).toFixed(Math.max(0, -Math.floor(Math.log10(s / 1e9)))) + ' s'; }
    if (s >= 1e5) { return (t / 1e6).toFixed(Math.max(0, -Math.floor(Math.log10(s / 1e6)))) + ' ms'; }
    return (t / 1e3).toFixed(Math.max(0, -Math.floor(Math.log10(Math.max(s, 1) / 1e3)))) + ' µs';
  }
  // A point in time, exactly enough for a tooltip (µs), or an event position.
  function instant(t) {
    return D.clock === 'ns' ? (t / 1e9).toFixed(6) + ' s' : 'event ' + t;
  }
  // A duration, in the unit that suits it.
  function duration(d) {
    if (D.clock !== 'ns') { return d + ' events'; }
    if (d < 1e6) { return (d / 1e3).toFixed(1) + ' µs'; }
    if (d < 1e9) { return (d / 1e6).toFixed(3) + ' ms'; }
    return (d / 1e9).toFixed(3) + ' s';
  }
  function niceStep(raw) {
    var m = Math.pow(10, Math.floor(Math.log10(raw)));
    var f = raw / m;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * m;
  }

  // Per-lane operation lists for the selected key, in invocation order. A process has one
  // operation outstanding at a time, so both starts and ends increase along a lane.
  function selectKey() {
    var key = keySelect.value === '' ? -1 : Number(keySelect.value);
    lanes = D.lanes.map(function () { return []; });
    visibleCount = 0;
    for (var i = 0; i < N; i++) {
      if (key < 0 || O.k[i] === key) { lanes[O.l[i]].push(i); visibleCount++; }
    }
    status.textContent = visibleCount + ' of ' + N + ' operations, ' +
      (D.folded ? D.lanes.length + ' threads (' + processCount + ' processes), ' :
        D.lanes.length + ' processes, ') + D.faults.length + ' faults, ' + D.leaders.length + ' leader changes' +
      (D.configs.nodes.length ? ', ' + D.configs.segments.length + ' configuration changes' : '') +
      (D.notes.length ? ', ' + D.notes.length + ' invariant violations marked' : '');
    draw();
  }
  function cexShown() {
    return cex && (keySelect.value === '' || Number(keySelect.value) === cex.key || cex.key < 0);
  }

  // First index in `list` whose operation ends at or after t.
  function firstEndingAfter(list, t) {
    var lo = 0, hi = list.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (opEnd(list[mid]) < t) { lo = mid + 1; } else { hi = mid; }
    }
    return lo;
  }

  function resize() {
    var ratio = window.devicePixelRatio || 1;
    width = Math.max(300, document.getElementById('wrap').clientWidth);
    var top = canvas.getBoundingClientRect().top;
    var wanted = HEAD + D.lanes.length * LANE_H + 8;
    height = Math.max(200, Math.min(wanted, window.innerHeight - Math.max(0, top) - 8));
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.width = width + 'px';
    canvas.style.height = height + 'px';
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    clampScroll();
    draw();
  }
  function clampScroll() {
    var max = Math.max(0, HEAD + D.lanes.length * LANE_H + 8 - height);
    view.scroll = Math.min(max, Math.max(0, view.scroll));
  }

  function shade(t0, t1, color) {
    var a = Math.max(GUTTER, x(t0)), b = Math.min(width, x(t1));
    if (b > a) { ctx.fillStyle = color; ctx.fillRect(a, AXIS_H, Math.max(1, b - a), height - AXIS_H); }
    return [a, b];
  }

  function drawAxis() {
    var step = niceStep((view.t1 - view.t0) / Math.max(2, (width - GUTTER) / 110));
    ctx.fillStyle = '#333';
    ctx.strokeStyle = '#eee';
    ctx.font = '11px sans-serif';
    ctx.textAlign = 'center';
    for (var t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
      var px = x(t);
      ctx.beginPath(); ctx.moveTo(px, AXIS_H); ctx.lineTo(px, height); ctx.stroke();
      ctx.fillText(formatTime(t, step), px, 14);
    }
    ctx.textAlign = 'left';
  }

  // Each fault on its row (the lowest free when it started), its label clipped to its bar.
  function drawFaults() {
    drawnFaults = [];
    D.faults.forEach(function (f) {
      var span = shade(f.start, f.end, 'rgba(148,103,189,0.10)');
      if (span[1] <= span[0]) { return; }
      var top = AXIS_H + f.row * FAULT_ROW_H;
      ctx.fillStyle = 'rgba(148,103,189,0.55)';
      ctx.fillRect(span[0], top + 1, span[1] - span[0], FAULT_ROW_H - 2);
      drawnFaults.push([span[0], span[1], top]);
      if (span[1] - span[0] > 30) {
        ctx.save();
        ctx.beginPath(); ctx.rect(span[0], top, span[1] - span[0] - 2, FAULT_ROW_H); ctx.clip();
        ctx.fillStyle = '#fff';
        ctx.fillText(f.name + (f.detail ? ': ' + f.detail : ''), span[0] + 3, top + 12);
        ctx.restore();
      }
    });
  }

  function drawLeaders() {
    ctx.strokeStyle = '#1f77b4';
    ctx.fillStyle = '#1f77b4';
    ctx.setLineDash([3, 3]);
    var lastLabel = -1e9;
    D.leaders.forEach(function (c) {
      var px = x(c.time_ns);
      if (px < GUTTER || px > width) { return; }
      ctx.beginPath(); ctx.moveTo(px, AXIS_H + FAULT_H); ctx.lineTo(px, height); ctx.stroke();
      if (px - lastLabel > 48) {
        ctx.fillText('n' + c.node + ' t' + c.term, px + 2, AXIS_H + FAULT_H + 12);
        lastLabel = px;
      }
    });
    ctx.setLineDash([]);
  }

  // Each node's configuration in effect over time, a row per node whose configuration
  // changed: the same configuration has the same colour on every row, so a node that lags or
  // diverges stands out.
  function drawConfigs() {
    if (!CONFIG_H) { return; }
    ctx.save();
    ctx.font = '10px sans-serif';
    D.configs.segments.forEach(function (c) {
      var a = Math.max(GUTTER, x(c.start)), b = Math.min(width, x(c.end));
      if (b <= a) { return; }
      var top = CONFIG_TOP + c.row * CONFIG_ROW_H;
      ctx.fillStyle = CONFIG_COLORS[c.color % CONFIG_COLORS.length];
      ctx.fillRect(a, top + 1, Math.max(1, b - a), CONFIG_ROW_H - 2);
      ctx.fillStyle = '#555';
      ctx.fillRect(a, top + 1, 1, CONFIG_ROW_H - 2);
      if (b - a > 30) {
        ctx.save();
        ctx.beginPath(); ctx.rect(a, top, b - a - 2, CONFIG_ROW_H); ctx.clip();
        ctx.fillStyle = '#222';
        ctx.fillText('@' + c.index + ' ' + c.text, a + 3, top + 11);
        ctx.restore();
      }
    });
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, CONFIG_TOP, GUTTER - 2, CONFIG_H);
    ctx.fillStyle = '#333';
    D.configs.nodes.forEach(function (n, row) {
      ctx.fillText(n + ' conf', 4, CONFIG_TOP + row * CONFIG_ROW_H + 11);
    });
    ctx.restore();
  }

  function drawLanes() {
    var showCex = cexShown();
    var first = Math.max(0, Math.floor((view.scroll) / LANE_H));
    var last = Math.min(lanes.length - 1, Math.ceil((view.scroll + height - HEAD) / LANE_H));
    var marks = [], labels = [], kept = [];
    ctx.save();
    ctx.beginPath(); ctx.rect(GUTTER, HEAD, width - GUTTER, height - HEAD); ctx.clip();
    for (var lane = first; lane <= last; lane++) {
      var list = lanes[lane];
      var y = laneTop(lane) + (LANE_H - BAR_H) / 2;
      for (var j = firstEndingAfter(list, view.t0); j < list.length; j++) {
        var i = list[j];
        if (O.s[i] > view.t1) { break; }
        var a = x(O.s[i]), b = x(opEnd(i));
        // A shrunk run: its schedule's operations outlined, the final reads after it faded.
        var finalRead = minimal && O.s[i] >= minimal.until;
        ctx.globalAlpha = O.e[i] < 0 ? 0.4 : (finalRead ? 0.3 : 1);
        ctx.fillStyle = COLORS[O.o[i]];
        ctx.fillRect(a, y, Math.max(1, b - a), BAR_H);
        if (b - a > 16) { labels.push([i, a, b, y]); }
        if (minimal && !finalRead) { kept.push([i, a, b, y]); }
        if (showCex && (role[i] || order[i])) { marks.push([i, a, b, y]); }
      }
    }
    ctx.globalAlpha = 1;
    drawBarLabels(labels);
    ctx.lineWidth = 2; ctx.strokeStyle = '#1f3fbf';
    kept.forEach(function (m) {
      ctx.strokeRect(m[1] - 1, m[3] - 1, Math.max(2, m[2] - m[1]) + 2, BAR_H + 2);
    });
    marks.forEach(function (m) {
      var i = m[0], w = Math.max(2, m[2] - m[1]);
      if (role[i] === 'bad') {
        ctx.lineWidth = 3; ctx.strokeStyle = '#000';
        ctx.strokeRect(m[1] - 2, m[3] - 2, w + 4, BAR_H + 4);
        ctx.fillStyle = '#000';
        ctx.fillText('✗ cannot be linearized', m[1], m[3] - 3);
      } else if (role[i] === 'concurrent') {
        ctx.lineWidth = 2; ctx.strokeStyle = '#ff7f0e';
        ctx.setLineDash([3, 2]);
        ctx.strokeRect(m[1] - 1, m[3] - 1, w + 2, BAR_H + 2);
        ctx.setLineDash([]);
      }
      if (order[i] && role[i] !== 'bad') {
        ctx.lineWidth = 1.5; ctx.strokeStyle = '#1f77b4';
        ctx.strokeRect(m[1], m[3], w, BAR_H);
      }
    });
    ctx.lineWidth = 1;
    if (showCex && cex.prefix.length > 0) { drawPrefixPath(); }
    ctx.restore();
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, HEAD, GUTTER - 2, height - HEAD);
    ctx.fillStyle = '#333';
    for (lane = first; lane <= last; lane++) {
      var top = laneTop(lane);
      if (top >= HEAD - 4) { ctx.fillText(D.lanes[lane], 6, top + 13); }
    }
  }

  // Each wide enough bar's operation (`w 3`, `r 2`, `cas 1->4`; in the counterexample's
  // linearizable prefix, its step after it: `w 3 #4`), clipped to the bar.
  function drawBarLabels(labels) {
    ctx.font = '10px sans-serif';
    ctx.fillStyle = '#fff';
    labels.forEach(function (m) {
      var i = m[0], a = Math.max(GUTTER, m[1]), b = Math.min(width, m[2]);
      if (b - a < 12) { return; }
      var text = O.t[i] + (cexShown() && order[i] ? ' #' + order[i] : '');
      ctx.save();
      ctx.beginPath(); ctx.rect(a, m[3], b - a - 1, BAR_H); ctx.clip();
      ctx.fillText(text, a + 2, m[3] + BAR_H - 2);
      ctx.restore();
    });
    ctx.font = '11px sans-serif';
  }

  // The linearization order of the longest linearizable prefix, as a path through its ops:
  // only the steps with an end in view, and faint when many are, so it never hides the bars.
  function drawPrefixPath() {
    var steps = [];
    cex.prefix.forEach(function (i, n) {
      var next = cex.prefix[n + 1];
      if (next === undefined) { next = cex.op; }
      if (opEnd(i) >= view.t0 && O.s[i] <= view.t1 || opEnd(next) >= view.t0 && O.s[next] <= view.t1) {
        steps.push([i, next]);
      }
    });
    ctx.strokeStyle = steps.length > 40 ? 'rgba(31,119,180,0.25)' : 'rgba(31,119,180,0.8)';
    ctx.beginPath();
    steps.forEach(function (s) {
      ctx.moveTo((x(O.s[s[0]]) + x(opEnd(s[0]))) / 2, laneTop(O.l[s[0]]) + LANE_H / 2);
      ctx.lineTo((x(O.s[s[1]]) + x(opEnd(s[1]))) / 2, laneTop(O.l[s[1]]) + LANE_H / 2);
    });
    ctx.stroke();
  }

  // Invariant violations (and other observations): red marks in their own band, a faint line
  // down across the lanes.
  function drawNotes() {
    var shown = D.notes.filter(function (n) {
      var px = x(n.time_ns);
      return px >= GUTTER && px <= width;
    });
    shown.forEach(function (n) {
      var px = x(n.time_ns);
      ctx.strokeStyle = 'rgba(214,39,40,0.35)';
      ctx.beginPath(); ctx.moveTo(px, HEAD); ctx.lineTo(px, height); ctx.stroke();
      ctx.fillStyle = '#d62728';
      ctx.beginPath();
      ctx.moveTo(px, NOTE_TOP + 3); ctx.lineTo(px + 5, NOTE_TOP + 13); ctx.lineTo(px - 5, NOTE_TOP + 13);
      ctx.closePath(); ctx.fill();
    });
    // Labels after the marks, on a white ground, one per cluster.
    var lastEnd = -1e9;
    shown.forEach(function (n) {
      var px = x(n.time_ns);
      if (px - 6 < lastEnd) { return; }
      var text = n.label + (n.node !== null ? ' n' + n.node : '');
      var w = ctx.measureText(text).width;
      ctx.fillStyle = 'rgba(255,255,255,0.85)';
      ctx.fillRect(px + 6, NOTE_TOP + 2, w + 4, 12);
      ctx.fillStyle = '#d62728';
      ctx.fillText(text, px + 8, NOTE_TOP + 12);
      lastEnd = px + 10 + w;
    });
  }

  function draw() {
    ctx.clearRect(0, 0, width, height);
    ctx.font = '11px sans-serif';
    ctx.textBaseline = 'alphabetic';
    drawAxis();
    if (cexShown()) {
      shade(O.s[cex.op], opEnd(cex.op), 'rgba(255,220,0,0.22)');
    }
    if (minimal) {
      shade(0, minimal.until, 'rgba(31,63,191,0.06)');
    }
    drawFaults();
    drawLeaders();
    drawConfigs();
    drawNotes();
    drawLanes();
    ctx.strokeStyle = '#999';
    ctx.beginPath(); ctx.moveTo(GUTTER, HEAD); ctx.lineTo(width, HEAD); ctx.stroke();
  }

  // Input events can come faster than frames: draw at most once per frame.
  var drawPending = false;
  function requestDraw() {
    if (drawPending) { return; }
    drawPending = true;
    window.requestAnimationFrame(function () { drawPending = false; draw(); });
  }

  function zoom(factor, px) {
    var t = timeAt(px === undefined ? (GUTTER + width) / 2 : px);
    var span = Math.max(2, (view.t1 - view.t0) * factor);
    var fraction = (t - view.t0) / (view.t1 - view.t0);
    view.t0 = t - fraction * span;
    view.t1 = view.t0 + span;
    requestDraw();
  }
  function showRange(t0, t1, lane) {
    var margin = Math.max(1, (t1 - t0) * 0.5);
    view.t0 = t0 - margin;
    view.t1 = t1 + margin;
    if (lane !== undefined) { view.scroll = lane * LANE_H - (height - HEAD) / 2; clampScroll(); }
    draw();
  }

  function describe(i) {
    var text = 'op at history position ' + O.p[i] + '  process ' + O.P[i] +
      (D.folded ? ' (thread ' + D.lanes[O.l[i]].slice(1) + ')' : '') + '\n' +
      [D.fns[O.f[i]], O.k[i] >= 0 ? 'key ' + D.keys[O.k[i]] : '', O.a[i],
        O.e[i] >= 0 ? '→ ' + (O.r[i] === '' ? 'nil' : O.r[i]) : ''].filter(Boolean).join(' ') +
      '\n' +
      OUTCOMES[O.o[i]] + (O.e[i] < 0 ? ' (never completed)' : '') + '\n' +
      (O.n[i] ? 'served by ' + O.n[i] + '\n' : '') +
      'invoked ' + instant(O.s[i]) +
      (O.e[i] >= 0 ? ', completed ' + instant(O.e[i]) + ' (' + duration(O.e[i] - O.s[i]) + ')' : '');
    if (cexShown()) {
      if (role[i] === 'bad') { text += '\nCANNOT BE LINEARIZED'; }
      if (role[i] === 'concurrent') { text += '\nconcurrent with the unlinearizable op'; }
      if (order[i]) {
        text += '\nlinearized #' + order[i] + ' of the longest linearizable prefix';
        var state = cex.states[order[i] - 1];
        if (state !== undefined) { text += '\nstate after: ' + state; }
      }
    }
    return text;
  }

  function hit(px, py) {
    var t = timeAt(px), slack = 3 * (view.t1 - view.t0) / (width - GUTTER);
    if (py < AXIS_H) { return null; }
    if (py < AXIS_H + FAULT_H) {
      var row = Math.floor((py - AXIS_H) / FAULT_ROW_H);
      var faults = D.faults.filter(function (f) {
        return f.row === row && f.start <= t && t <= f.end;
      });
      return faults.length ? faults.map(function (f) {
        return 'fault ' + f.name + (f.detail ? ': ' + f.detail : '') + '\n' +
          instant(f.start) + ' to ' + instant(f.end) + ' (' + duration(f.end - f.start) + ')';
      }).join('\n') : null;
    }
    if (py >= CONFIG_TOP && py < NOTE_TOP) {
      var configRow = Math.floor((py - CONFIG_TOP) / CONFIG_ROW_H);
      var configs = D.configs.segments.filter(function (c) {
        return c.row === configRow && c.start <= t && t <= c.end;
      });
      return configs.length ? configs.map(function (c) {
        return D.configs.nodes[c.row] + ' configuration in effect (entry ' + c.index + '): ' +
          c.text + '\nfrom ' + instant(c.start) + ' to ' + instant(c.end);
      }).join('\n') : null;
    }
    if (py >= NOTE_TOP && py < HEAD) {
      var notes = D.notes.filter(function (n) { return Math.abs(n.time_ns - t) <= slack * 2; });
      return notes.length ? notes.slice(0, 8).map(function (n) {
        return n.label + (n.node !== null ? ' on n' + n.node : '') + ' at ' + instant(n.time_ns) +
          '\n' + n.detail;
      }).join('\n') + (notes.length > 8 ? '\n... ' + (notes.length - 8) + ' more' : '') : null;
    }
    if (py < CONFIG_TOP) {
      var near = D.leaders.filter(function (c) { return Math.abs(c.time_ns - t) <= slack * 2; });
      return near.length ? near.map(function (c) {
        return 'n' + c.node + ' became leader of term ' + c.term + ' at ' + instant(c.time_ns);
      }).join('\n') : null;
    }
    if (px < GUTTER) { return null; }
    var lane = Math.floor((py - HEAD + view.scroll) / LANE_H);
    if (lane < 0 || lane >= lanes.length) { return null; }
    var list = lanes[lane];
    for (var j = firstEndingAfter(list, t - slack); j < list.length; j++) {
      var i = list[j];
      if (O.s[i] > t + slack) { break; }
      return describe(i);
    }
    return null;
  }

  var drag = null;
  canvas.addEventListener('mousedown', function (e) {
    drag = { x: e.clientX, y: e.clientY, t0: view.t0, t1: view.t1, scroll: view.scroll };
    canvas.style.cursor = 'grabbing';
  });
  window.addEventListener('mouseup', function () { drag = null; canvas.style.cursor = 'grab'; });
  window.addEventListener('mousemove', function (e) {
    var r = canvas.getBoundingClientRect();
    if (drag) {
      var dt = (e.clientX - drag.x) / (width - GUTTER) * (drag.t1 - drag.t0);
      view.t0 = drag.t0 - dt;
      view.t1 = drag.t1 - dt;
      view.scroll = drag.scroll - (e.clientY - drag.y);
      clampScroll();
      requestDraw();
      tip.hidden = true;
      return;
    }
    var px = e.clientX - r.left, py = e.clientY - r.top;
    var text = (px >= 0 && py >= 0 && px <= width && py <= height) ? hit(px, py) : null;
    if (!text) { tip.hidden = true; return; }
    tip.textContent = text;
    tip.hidden = false;
    tip.style.left = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 4) + 'px';
    tip.style.top = Math.min(e.clientY + 14, window.innerHeight - tip.offsetHeight - 4) + 'px';
  });
  canvas.addEventListener('wheel', function (e) {
    e.preventDefault();
    if (e.shiftKey) {
      view.scroll += e.deltaY || e.deltaX;
      clampScroll();
      requestDraw();
    } else {
      zoom(e.deltaY > 0 ? 1.25 : 0.8, e.clientX - canvas.getBoundingClientRect().left);
    }
  }, { passive: false });
  document.getElementById('fit').addEventListener('click', function () {
    view.t0 = 0; view.t1 = end; draw();
  });
  document.getElementById('zoom-in').addEventListener('click', function () { zoom(0.5); });
  document.getElementById('zoom-out').addEventListener('click', function () { zoom(2); });
  var cexButton = document.getElementById('zoom-cex');
  function showCounterexample() {
    if (cex.key >= 0) { keySelect.value = String(cex.key); selectKey(); }
    // Its window, the completed operations concurrent with it (an indeterminate one may
    // take effect at any time after its invocation, so it would stretch the view to the end).
    // The last steps of the linearizable prefix give the context: the state it had reached.
    var ops = [cex.op].concat(cex.prefix.slice(-3),
      cex.concurrent.filter(function (i) { return O.o[i] !== 2; }));
    var t0 = Math.min.apply(null, ops.map(function (i) { return O.s[i]; }));
    var t1 = Math.max.apply(null, ops.map(opEnd));
    showRange(t0, t1, O.l[cex.op]);
  }
  if (cex) {
    cexButton.hidden = false;
    cexButton.addEventListener('click', showCounterexample);
  }

  D.keys.forEach(function (k, i) {
    var option = document.createElement('option');
    option.value = String(i);
    option.textContent = k;
    keySelect.appendChild(option);
  });
  if (D.keys.length === 0) { keySelect.disabled = true; }
  if (cex && cex.key >= 0) { keySelect.value = String(cex.key); }
  keySelect.addEventListener('change', selectKey);
  window.addEventListener('resize', resize);

  // A shrunk run opens on its schedule and its violation, not on the final reads after.
  function showShrunk() {
    view.t0 = 0;
    view.t1 = Math.max(minimal.until, minimal.violation || 0) * 1.1 + 1;
    draw();
  }

  selectKey();
  resize();
  if (cex) { showCounterexample(); } else if (minimal) { showShrunk(); }
  document.body.setAttribute('data-render-ms', String(Date.now() - started));
  // For the browser test: with `#selftest`, hover the unlinearizable operation (or the first
  // operation of the first lane) and record what the tooltip says.
  if (window.location.hash === '#selftest') {
    var probe = cex ? cex.op : (lanes.filter(function (l) { return l.length; })[0] || [])[0];
    var said = probe === undefined ? 'no operation' :
      hit((Math.max(GUTTER, x(O.s[probe])) + Math.min(width, x(opEnd(probe)))) / 2,
        laneTop(O.l[probe]) + LANE_H / 2);
    document.body.setAttribute('data-selftest', said || 'nothing');
    // And whether any two fault bars drawn at the fitted zoom overlap.
    view.t0 = 0; view.t1 = end; draw();
    var overlaps = 0;
    drawnFaults.forEach(function (f, n) {
      drawnFaults.slice(n + 1).forEach(function (g) {
        if (f[2] === g[2] && f[0] < g[1] && g[0] < f[1]) { overlaps++; }
      });
    });
    document.body.setAttribute('data-fault-bars', drawnFaults.length + ' drawn, ' +
      overlaps + ' overlapping, ' + D.fault_rows + ' rows');
    if (cex) { showCounterexample(); }
  }
  if (document.body.getAttribute('data-rendered') !== 'error') {
    document.body.setAttribute('data-rendered', 'ok');
  }
})();
