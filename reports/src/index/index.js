// Filters the runs table: a row is shown when its verdict's box is ticked and it contains
// every word typed in the text box (case-insensitive). `#q=words&hide=valid,unknown` in the
// address sets both when the page opens.
(function () {
  'use strict';
  var box = document.getElementById('filter');
  var toggles = Array.prototype.slice.call(document.querySelectorAll('#verdicts input'));
  var rows = Array.prototype.slice.call(document.querySelectorAll('#runs tbody tr'));
  var shown = document.getElementById('shown');
  var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });

  function apply() {
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    var on = {};
    toggles.forEach(function (t) { on[t.value] = t.checked; });
    var count = 0;
    rows.forEach(function (row, n) {
      var visible = on[row.getAttribute('data-verdict')] !== false &&
        words.every(function (w) { return texts[n].indexOf(w) >= 0; });
      row.hidden = !visible;
      if (visible) { count++; }
    });
    shown.textContent = count + ' of ' + rows.length + ' runs shown';
  }

  var params = new URLSearchParams(window.location.hash.slice(1));
  if (params.has('q')) { box.value = params.get('q'); }
  (params.get('hide') || '').split(',').forEach(function (verdict) {
    toggles.forEach(function (t) { if (t.value === verdict) { t.checked = false; } });
  });
  box.addEventListener('input', apply);
  toggles.forEach(function (t) { t.addEventListener('change', apply); });
  apply();
})();
