/**
 * The inline stylesheet and script of report.html. The script reads the
 * report data from the page's <script type="application/json"> element and
 * builds the grids and the details panel with createElement/textContent
 * only, so no report text is ever parsed as markup. It is plain ES2017 with
 * no dependencies; test/vm/html-render.test.ts runs it in Chromium.
 */

export const STYLE = `
:root { --ok:#2e7d32; --refused:#546e7a; --wrong:#ef6c00; --signal:#f9a825; --complaint:#d84315;
  --oops:#c62828; --panic:#6a1b1b; --hang:#6a1b9a; --error:#757575; --line:#d0d4d8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1d2327; background: #fafbfc; }
header { padding: 12px 20px; background: #263238; color: #eceff1; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 0; font-size: 12px; color: #b0bec5; }
.layout { display: grid; grid-template-columns: minmax(0, 1fr) 400px; gap: 16px; padding: 12px 16px; }
main { min-width: 0; }
h2 { font-size: 17px; margin: 18px 0 8px; }
h3 { font-size: 15px; margin: 0 0 6px; }
code, pre, .mono { font-family: "DejaVu Sans Mono", monospace; font-size: 12px; }
.kernels { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.kernel { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; overflow-x: auto; max-width: 100%; }
.kernel h2 { margin: 0 0 2px; font-size: 15px; } .kernel p { margin: 0 0 6px; font-size: 12px; }
table { border-collapse: collapse; }
table.grid th, table.grid td { border: 1px solid var(--line); }
table.grid th.method { writing-mode: vertical-rl; transform: rotate(180deg); font-weight: normal; font-size: 11px;
  padding: 4px 2px; white-space: nowrap; text-align: left; }
table.grid th.row { text-align: left; font-weight: normal; padding: 2px 6px; white-space: nowrap; font-size: 12px; }
td.cell { min-width: 26px; height: 24px; padding: 0 1px; text-align: center; cursor: pointer; color: #fff; font-weight: bold;
  font-size: 13px; letter-spacing: -1px; white-space: nowrap; }
td.cell:hover, tr.pick:hover { outline: 2px solid #1565c0; outline-offset: -2px; }
td.cell.selected, tr.pick.selected { outline: 3px solid #0d47a1; outline-offset: -3px; }
td.not-run { background: #eceff1; color: #90a4ae; cursor: default; }
td.none { background: repeating-linear-gradient(45deg, #fff, #fff 3px, #eceff1 3px, #eceff1 5px); cursor: default; }
.v-ok { background: var(--ok); } .v-refused { background: var(--refused); } .v-wrong-data { background: var(--wrong); }
.v-user-signal { background: var(--signal); color: #222 !important; } .v-kernel-complaint { background: var(--complaint); }
.v-oops { background: var(--oops); } .v-panic { background: var(--panic); } .v-hang { background: var(--hang); }
.v-error, .v-unknown { background: var(--error); }
td.cell.a-differs, td.cell.a-flaky, td.cell.a-no-expectation { box-shadow: inset 0 0 0 3px #ffeb3b; }
td.cell.a-as-recorded { box-shadow: inset 0 0 0 3px #90caf9; }
.recorded { color: #1a4f8b; }
.badge { display: inline-block; padding: 0 6px; border-radius: 3px; color: #fff; font-size: 12px; white-space: nowrap; }
.s-supports { background: var(--ok); } .s-contradicts { background: var(--oops); } .s-mixed { background: var(--wrong); }
.s-untested { background: var(--error); }
table.list { width: 100%; background: #fff; }
table.list th, table.list td { border: 1px solid var(--line); padding: 4px 6px; vertical-align: top; text-align: left; }
table.list th { background: #eceff1; }
table.claims td:first-child { width: 34%; }
table.others { margin-top: 8px; font-size: 12px; }
table.others td { padding: 1px 4px; border-bottom: 1px solid #eceff1; }
.sym { display: inline-block; min-width: 22px; text-align: center; color: #fff; border-radius: 3px; font-weight: bold; }
a.cell-link { color: #0d47a1; cursor: pointer; text-decoration: none; font-family: "DejaVu Sans Mono", monospace; font-size: 12px; }
a.cell-link:hover { text-decoration: underline; }
td.use { cursor: pointer; white-space: nowrap; font-size: 12px; }
td.use.series-differs { background: #fff3c4; }
ul.cells { margin: 4px 0 0; padding-left: 0; list-style: none; }
aside { position: sticky; top: 12px; align-self: start; max-height: calc(100vh - 24px); overflow: auto;
  background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px; }
aside dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 8px; margin: 6px 0; }
aside dt { color: #546e7a; } aside dd { margin: 0; overflow-wrap: anywhere; }
aside pre { background: #263238; color: #eceff1; padding: 6px; max-height: 260px; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
.run { border-top: 1px solid var(--line); margin-top: 8px; padding-top: 6px; }
.hint { color: #78909c; }
table.legend td { padding: 1px 6px; font-size: 12px; }
`;

export const SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('mmaplab-data').textContent);

  /**
   * Control characters (but newline and tab) shown as \\xNN instead of
   * invisible or tofu; a lone surrogate (not text at all) as U+FFFD - left
   * in the DOM, it crashes Chromium's --dump-dom.
   */
  function visible(s) {
    return String(s)
      .replace(/[\\x00-\\x08\\x0b-\\x1f\\x7f]/g, function (c) {
        return '\\\\x' + ('0' + c.charCodeAt(0).toString(16)).slice(-2);
      })
      .replace(/[\\uD800-\\uDBFF][\\uDC00-\\uDFFF]|[\\uD800-\\uDFFF]/g, function (m) {
        return m.length === 2 ? m : '\\uFFFD';
      });
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = visible(text);
    return e;
  }
  function slug(s) { return String(s).toLowerCase().replace(/[^a-z0-9-]/g, '-'); }
  function verdictClass(v) { return data.verdicts.indexOf(v) >= 0 ? 'v-' + v : 'v-unknown'; }

  function gridTable(g) {
    var t = el('table', 'grid');
    var head = el('tr');
    head.appendChild(el('th', 'corner', ''));
    g.methods.forEach(function (m) { var th = el('th', 'method', m); th.title = visible(m); head.appendChild(th); });
    t.appendChild(head);
    g.rows.forEach(function (label, r) {
      var tr = el('tr');
      tr.appendChild(el('th', 'row', label));
      g.slots[r].forEach(function (slot, m) {
        var td;
        if (slot === null) {
          td = el('td', 'none', '');
          td.title = visible(label + ' / ' + g.methods[m] + ': no such cell');
        } else if (slot < 0) {
          td = el('td', 'not-run', data.notRun);
          td.title = visible(label + ' / ' + g.methods[m] + ': not in this run');
        } else {
          var c = data.cells[slot];
          td = el('td', 'cell ' + verdictClass(c.rc.verdict) + ' a-' + slug(c.rc.agreement), c.symbol);
          td.title = visible(c.rc.cell.id + ': ' + c.outcome + ' (' + c.rc.agreement + ')');
          td.setAttribute('data-cell', String(slot));
        }
        tr.appendChild(td);
      });
      t.appendChild(tr);
    });
    return t;
  }

  function othersTable(list) {
    var t = el('table', 'others');
    list.forEach(function (i) {
      var c = data.cells[i];
      var tr = el('tr', 'pick');
      tr.setAttribute('data-cell', String(i));
      var s = el('td'); s.appendChild(el('span', 'sym ' + verdictClass(c.rc.verdict), c.symbol)); tr.appendChild(s);
      tr.appendChild(el('td', 'mono', c.rc.cell.id));
      tr.appendChild(el('td', '', c.outcome));
      t.appendChild(tr);
    });
    return t;
  }

  data.grids.forEach(function (g, k) {
    var host = document.getElementById('grid-' + k);
    if (!host) return;
    host.appendChild(gridTable(g));
    if (data.others[k].length > 0) {
      var d = el('details');
      d.appendChild(el('summary', '', 'Other cells (' + data.others[k].length + ')'));
      d.appendChild(othersTable(data.others[k]));
      host.appendChild(d);
    }
  });

  function dl(pairs) {
    var d = el('dl');
    pairs.forEach(function (p) {
      if (p[1] === undefined || p[1] === null || p[1] === '') return;
      d.appendChild(el('dt', '', p[0]));
      d.appendChild(el('dd', '', p[1]));
    });
    return d;
  }
  function show(value) {
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  function runBlock(r, i) {
    var box = el('div', 'run');
    box.appendChild(el('h4', '', 'run ' + (i + 1) + ': ' + r.verdict + (r.detail ? ' (' + r.detail + ')' : '') + ', ' + r.durationMs + ' ms'));
    var ev = r.evidence || {};
    box.appendChild(dl([
      ['headline', r.headline],
      ['taint gained', (ev.taintGained || []).join('') || 'none'],
    ].concat(ev.stuck ? [['stuck probe', ev.stuck.where + (ev.stuck.step ? ', last step ' + ev.stuck.step : '')]] : [])
      .concat(ev.stuck ? ev.stuck.tasks.map(function (t) {
        return ['thread ' + t.tid, t.comm + ' state ' + t.state + (t.wchan ? ' at ' + t.wchan : '') + (t.stack ? '; stack: ' + t.stack.join(' < ') : '')];
      }) : [])
      .concat(ev.kmsgLost ? [['kmsg records lost', String(ev.kmsgLost)]] : [])));
    var findings = ev.findings || [];
    box.appendChild(el('h5', '', 'findings (' + findings.length + ')'));
    if (findings.length > 0) {
      var ul = el('ul');
      findings.forEach(function (f) {
        ul.appendChild(el('li', 'mono', f.severity + ' ' + f.kind + ': ' + f.line + (f.reason ? ' (' + f.reason + ')' : '')));
      });
      box.appendChild(ul);
    }
    box.appendChild(el('h5', '', 'probe observation'));
    var obs = ev.observation;
    if (obs) {
      box.appendChild(dl(Object.keys(obs).map(function (key) { return [key, show(obs[key])]; })));
    } else {
      box.appendChild(el('p', 'hint', 'none: the probe never reported'));
    }
    var kmsg = ev.kmsg || [];
    box.appendChild(el('h5', '', 'kmsg window (' + kmsg.length + ' lines)'));
    box.appendChild(el('pre', 'kmsg', kmsg.join('\\n')));
    if (ev.console && ev.console.length > 0) {
      box.appendChild(el('h5', '', 'console (last lines)'));
      box.appendChild(el('pre', 'console', ev.console.join('\\n')));
    }
    return box;
  }

  var panel = document.getElementById('details');
  function select(i) {
    var c = data.cells[i];
    if (!c) return;
    Array.prototype.forEach.call(document.querySelectorAll('.selected'), function (e) { e.classList.remove('selected'); });
    Array.prototype.forEach.call(document.querySelectorAll('[data-cell="' + i + '"]'), function (e) { e.classList.add('selected'); });
    while (panel.firstChild) panel.removeChild(panel.firstChild);
    panel.setAttribute('data-shown', String(i));
    panel.appendChild(el('h3', 'mono', c.rc.cell.id));
    var e = c.rc.expectation;
    panel.appendChild(dl([
      ['kernel', c.rc.kernel + ' (series ' + c.rc.series + ')'],
      ['what', c.rc.cell.title],
      ['verdict', c.symbol + ' ' + c.outcome],
      ['agreement', c.agreement],
      ['predicted', c.expected],
      ['rule', e ? e.rule : ''],
      ['reason', e ? e.reason : 'no expectation for this kernel series'],
      ['observation record', c.recorded.length > 0 ? c.recorded.join('; ') : 'none'],
      ['headline', c.rc.headline],
      ['runs', c.distribution],
    ]));
    (c.rc.runs || []).forEach(function (r, n) { panel.appendChild(runBlock(r, n)); });
  }

  document.addEventListener('click', function (ev) {
    var t = ev.target && ev.target.closest ? ev.target.closest('[data-cell]') : null;
    if (!t) return;
    ev.preventDefault();
    location.hash = 'cell-' + t.getAttribute('data-cell');
  });
  function fromHash() {
    var m = /^#cell-(\\d+)$/.exec(location.hash);
    if (m) select(Number(m[1]));
  }
  window.addEventListener('hashchange', fromHash);
  fromHash();
  document.body.setAttribute('data-ready', 'true');
})();
`;
