// The status page: an admin "Webhooks" list over GET /v1/subscriptions (docs/status.md).
//
// One self-contained document: no framework, no external assets, no web fonts. It polls the API every 2 s,
// asks for the admin token when the API answers 401 (kept in localStorage, sent as "Authorization: Bearer";
// a `#token=...` fragment sets it, for automation), and reactivates deactivated subscriptions.
//
// Every piece of server data reaches the DOM through textContent or an attribute, never parsed as HTML.
// Stable hooks for tests and scripts (the full list is in docs/status.md):
//   body[data-status]                       loading | ok | unauthorized | unreachable | error
//   tr[data-sub][data-state][data-backlog]  one row per subscription; cells td.c-id, td.c-url, td.c-state...
//   button.reactivate[data-sub]             on deactivated rows (in td.c-state)
//   #auth, #token-form, #token-input        the token prompt
//   #error, #notice, #last-updated          "server unreachable", action results, last successful refresh
#include "service/status_page.h"

namespace hooksim::service {

const std::string_view kStatusPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Webhooks · hooksim</title>
<style>
:root {
  --bg: #f5f6f8; --panel: #fff; --text: #1d2330; --muted: #697386; --faint: #8d96a7; --border: #e2e5ea;
  --head: #fafbfc; --accent: #2f5bd3; --accent-bg: #eef2fd;
  --ok: #157347; --ok-bg: #e2f4ea; --warn: #9a5800; --warn-bg: #fdf0d5; --bad: #b42318; --bad-bg: #fde7e4;
  --mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html, body { margin: 0; }
body {
  background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", "Liberation Sans",
        Arial, sans-serif;
}
header {
  display: flex; align-items: center; gap: 20px; flex-wrap: wrap;
  padding: 16px 24px; background: var(--panel); border-bottom: 1px solid var(--border);
}
.brand { font-weight: 700; letter-spacing: .02em; color: var(--accent); }
h1 { margin: 0; font-size: 20px; font-weight: 600; }
.counts { display: flex; gap: 8px; flex-wrap: wrap; }
.count {
  padding: 2px 10px; border-radius: 999px; background: var(--bg); color: var(--muted); font-size: 12px;
}
.count b { color: var(--text); font-weight: 600; }
.meta {
  margin-left: auto; display: flex; align-items: center; gap: 12px; color: var(--muted); font-size: 12px;
}
.linkish { border: 0; background: none; padding: 0; color: var(--accent); font: inherit; cursor: pointer; }
.linkish:hover { text-decoration: underline; }
main { padding: 20px 24px 28px; }
.banner { margin: 0 0 16px; padding: 10px 14px; border-radius: 8px; border: 1px solid; font-size: 13px; }
.banner.error { color: var(--bad); background: var(--bad-bg); border-color: #f5c2bb; }
.banner.ok { color: var(--ok); background: var(--ok-bg); border-color: #b7e2c9; }
.card { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; overflow-x: auto; }
.card.auth { max-width: 520px; padding: 20px 24px; }
.auth h2 { margin: 0 0 6px; font-size: 16px; }
.auth p { margin: 0 0 14px; color: var(--muted); }
.auth code { font-family: var(--mono); font-size: 12.5px; white-space: nowrap; }
.auth form { display: flex; gap: 8px; }
.auth input {
  flex: 1; padding: 7px 10px; border: 1px solid var(--border); border-radius: 6px; font: inherit;
}
.auth input:focus { outline: 2px solid var(--accent-bg); border-color: var(--accent); }
.auth .bad { color: var(--bad); margin: 10px 0 0; }
.btn {
  padding: 6px 12px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent);
  color: #fff; font: inherit; font-weight: 600; cursor: pointer;
}
.btn.secondary { background: var(--panel); color: var(--accent); padding: 3px 10px; font-size: 12px; }
.btn.secondary:hover { background: var(--accent-bg); }
.btn:disabled { opacity: .55; cursor: default; }
table { width: 100%; border-collapse: collapse; }
th {
  text-align: left; padding: 9px 8px; background: var(--head); border-bottom: 1px solid var(--border);
  color: var(--muted); font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: .03em;
  white-space: nowrap;
}
td { padding: 10px 8px; border-top: 1px solid var(--border); vertical-align: top; }
tbody tr:first-child td { border-top: 0; }
th:first-child, td:first-child { padding-left: 14px; }
th:last-child, td:last-child { padding-right: 14px; }
tbody tr:hover td { background: #fbfcfd; }
tr[data-state="deactivated"] td { background: #fffafa; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
.mono { font-family: var(--mono); font-size: 12.5px; }
td.c-id { font-weight: 600; white-space: nowrap; }
td.c-url .url {
  display: block; max-width: 210px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  color: var(--muted);
}
.sub { display: block; color: var(--faint); font-size: 12px; white-space: nowrap; }
.line { display: block; white-space: nowrap; }
.badge {
  display: inline-flex; align-items: center; gap: 6px; padding: 1px 9px; border-radius: 999px;
  font-size: 12px; font-weight: 600; white-space: nowrap;
}
.badge::before { content: ""; width: 7px; height: 7px; border-radius: 50%; background: currentColor; }
.state-active { color: var(--ok); background: var(--ok-bg); }
.state-retrying { color: var(--warn); background: var(--warn-bg); }
.state-deactivated { color: var(--bad); background: var(--bad-bg); }
.outcome { font-weight: 600; white-space: nowrap; }
.outcome.ok { color: var(--ok); }
.outcome.fail { color: var(--bad); }
.none { color: var(--faint); }
.warn-num { color: var(--bad); font-weight: 600; }
td.c-backlog.big { font-weight: 700; }
.reactivate { margin-top: 6px; display: block; }
body[data-status="unreachable"] #list, body[data-status="error"] #list { opacity: .6; }
tr.empty td { padding: 28px 12px; text-align: center; color: var(--muted); }
footer { padding: 0 24px 24px; color: var(--faint); font-size: 12px; }
</style>
</head>
<body data-status="loading">
<header>
  <span class="brand">hooksim</span>
  <h1>Webhooks</h1>
  <div class="counts" id="counts">
    <span class="count"><b id="count-total">0</b> subscriptions</span>
    <span class="count"><b id="count-active">0</b> active</span>
    <span class="count"><b id="count-retrying">0</b> retrying</span>
    <span class="count"><b id="count-deactivated">0</b> deactivated</span>
  </div>
  <div class="meta">
    <span id="last-updated">Loading…</span>
    <button type="button" class="linkish" id="forget-token" hidden>Forget token</button>
  </div>
</header>
<main>
  <p class="banner error" id="error" role="alert" hidden></p>
  <p class="banner" id="notice" role="status" hidden></p>
  <section class="card auth" id="auth" hidden>
    <h2>Admin token required</h2>
    <p>This hooksim server requires an admin token for its API. It is kept in this browser (localStorage)
      and sent as <code>Authorization: Bearer</code>.</p>
    <form id="token-form" autocomplete="off">
      <input id="token-input" type="password" placeholder="Admin token" aria-label="Admin token" required>
      <button class="btn" type="submit">Use token</button>
    </form>
    <p class="bad" id="auth-msg" hidden>The saved token was rejected.</p>
  </section>
  <section class="card" id="list">
    <table id="subscriptions">
      <thead>
        <tr>
          <th>Subscription</th>
          <th>URL</th>
          <th>State</th>
          <th class="num">Backlog</th>
          <th title="Age of the oldest queued event">Oldest</th>
          <th>Last attempt</th>
          <th>Next attempt</th>
          <th class="num">Delivered</th>
          <th class="num" title="Events discarded when the subscription was deactivated">Discarded</th>
          <th class="num" title="Events published while it was deactivated">Dropped</th>
        </tr>
      </thead>
      <tbody id="rows">
        <tr class="empty" id="empty-row"><td colspan="10">Loading…</td></tr>
      </tbody>
    </table>
  </section>
</main>
<footer>Refreshes every 2 s from <span class="mono">GET /v1/subscriptions</span>. Times are local to this
  browser; hover a time for the exact UTC value.</footer>
<script>
(function () {
  'use strict';
  var REFRESH_MS = 2000, TIMEOUT_MS = 8000, TOKEN_KEY = 'hooksim.adminToken';
  var STATES = ['active', 'retrying', 'deactivated'];
  var $ = function (id) { return document.getElementById(id); };
  var timer = null, busy = false, again = false, lastOk = null, memoryToken = '', noticeTimer = null;
  var rows = new Map();  // subscription id -> its <tr>
  // Server clock minus this browser's, so that "3s ago" and "in 4m" agree with the server's own ages even
  // when the clocks differ; estimated from any queued event (its time plus the age the server reports).
  var serverOffset = 0;
  var emptyRow = $('empty-row');  // shown when there is no subscription (detached otherwise)

  // --- the admin token ----------------------------------------------------------------------------------
  function store() { try { return window.localStorage; } catch (e) { return null; } }
  function getToken() {
    var s = store();
    try { return (s && s.getItem(TOKEN_KEY)) || memoryToken; } catch (e) { return memoryToken; }
  }
  function setToken(t) {
    memoryToken = t;
    var s = store();
    try {
      if (s && t) s.setItem(TOKEN_KEY, t);
      else if (s) s.removeItem(TOKEN_KEY);
    } catch (e) { /* kept in memory only */ }
    $('forget-token').hidden = !t;
  }
  // "#token=..." (also "#a=b&token=..."): saved like a typed token, then removed from the address bar.
  function tokenFromFragment() {
    var m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (!m) return;
    var t = m[1];
    try { t = decodeURIComponent(t); } catch (e) { /* keep it raw */ }
    setToken(t);
    try { history.replaceState(null, '', location.pathname + location.search); } catch (e) { /* ignore */ }
  }

  // --- formatting ---------------------------------------------------------------------------------------
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function clock(d) {
    var now = new Date(), hms = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
    if (d.toDateString() === now.toDateString()) return hms;
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + hms;
  }
  function span(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    if (s < 60) return s + 's';
    var m = Math.floor(s / 60); s %= 60;
    if (m < 60) return m + 'm' + (s ? ' ' + s + 's' : '');
    var h = Math.floor(m / 60); m %= 60;
    if (h < 24) return h + 'h' + (m ? ' ' + m + 'm' : '');
    var d = Math.floor(h / 24); h %= 24;
    return d + 'd' + (h ? ' ' + h + 'h' : '');
  }
  function ago(ms) { return ms < 1000 ? 'just now' : span(ms) + ' ago'; }
  function until(ms) { return ms < 1000 ? 'due now' : 'in ' + span(ms); }
  function errorMessage(r) {
    var e = r.body && r.body.error;
    if (e && e.message) return (e.field ? e.field + ': ' : '') + e.message;
    return 'HTTP ' + r.status;
  }

  // --- DOM helpers (data goes in as text, never parsed as HTML) ------------------------------------------
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function fill(cell) {
    cell.replaceChildren.apply(cell, Array.prototype.slice.call(arguments, 1).filter(Boolean));
  }
  function none() { return el('span', 'none', '—'); }
  // "<lead> 12:00:01" over "3s ago" (relative(d) says how); the exact UTC time in the tooltip.
  function timeCell(cell, iso, relative, lead) {
    if (!iso) { fill(cell, lead || none()); cell.title = ''; return; }
    var d = new Date(iso);
    cell.title = iso;
    var line = el('span', 'line');
    if (lead) line.append(lead, ' ');
    line.append(el('span', 'when', clock(d)));
    fill(cell, line, el('span', 'sub', relative(d)));
  }

  // --- the table ----------------------------------------------------------------------------------------
  var COLUMNS = ['id', 'url', 'state', 'backlog', 'oldest', 'last', 'next', 'delivered', 'discarded',
                 'dropped'];
  var NUMERIC = {backlog: 1, delivered: 1, discarded: 1, dropped: 1};

  function newRow(id) {
    var tr = el('tr');
    tr.dataset.sub = id;
    COLUMNS.forEach(function (c) { tr.appendChild(el('td', 'c-' + c + (NUMERIC[c] ? ' num' : ''))); });
    var button = el('button', 'btn secondary reactivate', 'Reactivate');
    button.type = 'button';
    button.dataset.sub = id;
    button.addEventListener('click', function () { reactivate(id, button); });
    tr.reactivateButton = button;
    return tr;
  }

  function cell(tr, name) { return tr.querySelector('td.c-' + name); }

  function fillState(c, tr, s) {
    var detail = null;
    if (s.state === 'retrying') {
      var n = s.streak_attempts;
      detail = el('span', 'sub', n + ' failed attempt' + (n === 1 ? '' : 's'));
      if (s.streak_start) detail.title = 'failing since ' + s.streak_start;
    } else if (s.state === 'deactivated' && s.deactivated_at) {
      detail = el('span', 'sub', 'since ' + clock(new Date(s.deactivated_at)));
      detail.title = (s.deactivation_reason ? s.deactivation_reason + ', ' : '') + s.deactivated_at;
    } else if (s.in_flight) {
      detail = el('span', 'sub', 'sending…');
    }
    var state = STATES.indexOf(s.state) >= 0 ? s.state : 'unknown', button = tr.reactivateButton;
    if (s.state === 'deactivated') {
      if (!button.isConnected) { button.disabled = false; button.textContent = 'Reactivate'; }
    } else {
      button = null;
    }
    fill(c, el('span', 'badge state-' + state, s.state), detail, button);
  }

  function updateRow(tr, s) {
    var now = Date.now() + serverOffset;
    tr.dataset.state = s.state;
    tr.dataset.backlog = String(s.backlog);
    fill(cell(tr, 'id'), el('span', 'mono', s.id));
    cell(tr, 'id').title = s.id;
    fill(cell(tr, 'url'), el('span', 'url mono', s.url));
    cell(tr, 'url').title = s.url;

    // Rebuilt only when it changes, so that a refresh never pulls the Reactivate button from under a click.
    var stateCell = cell(tr, 'state');
    var stateKey =
        JSON.stringify([s.state, s.streak_attempts, s.streak_start, s.deactivated_at, s.in_flight]);
    if (stateCell.dataset.key !== stateKey) {
      stateCell.dataset.key = stateKey;
      fillState(stateCell, tr, s);
    }

    var backlog = cell(tr, 'backlog');
    backlog.textContent = String(s.backlog);
    backlog.classList.toggle('big', s.backlog > 0);
    var oldest = cell(tr, 'oldest');
    if (s.oldest_queued_age_ms === null || s.oldest_queued_age_ms === undefined) {
      fill(oldest, none());
      oldest.title = '';
    } else {
      fill(oldest, el('span', '', span(s.oldest_queued_age_ms)));
      oldest.title = 'queued since ' + s.oldest_queued_at;
    }

    var la = s.last_attempt, outcome = null;
    if (la) {
      var failed = la.error !== null && la.error !== undefined;
      var what = !failed ? String(la.status) : la.error === 'status' ? String(la.status) : la.error;
      outcome = el('span', 'outcome ' + (failed ? 'fail' : 'ok'), what);
      outcome.dataset.outcome = failed ? 'failed' : 'delivered';
    }
    timeCell(cell(tr, 'last'), la && la.at, function (d) { return ago(now - d); }, outcome);

    var next = cell(tr, 'next');
    if (s.in_flight && s.state !== 'deactivated') {
      fill(next, el('span', '', 'in flight'));
      next.title = '';
    } else {
      timeCell(next, s.next_attempt, function (d) { return until(d - now); });
    }

    ['delivered', 'discarded', 'dropped'].forEach(function (k) {
      var v = k === 'dropped' ? s.dropped_inactive : s[k];
      var c = cell(tr, k);
      c.textContent = String(v);
      c.classList.toggle('warn-num', k !== 'delivered' && v > 0);
    });
  }

  function render(list) {
    var tbody = $('rows'), seen = new Set(), counts = {active: 0, retrying: 0, deactivated: 0};
    list.some(function (s) {
      if (!s.oldest_queued_at || typeof s.oldest_queued_age_ms !== 'number') return false;
      var offset = Date.parse(s.oldest_queued_at) + s.oldest_queued_age_ms - Date.now();
      if (!isNaN(offset)) serverOffset = offset;
      return true;
    });
    list.forEach(function (s, i) {
      seen.add(s.id);
      var tr = rows.get(s.id);
      if (!tr) { tr = newRow(s.id); rows.set(s.id, tr); }
      updateRow(tr, s);
      if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
      if (counts[s.state] !== undefined) counts[s.state]++;
    });
    rows.forEach(function (tr, id) {
      if (!seen.has(id)) { tr.remove(); rows.delete(id); }
    });
    var empty = emptyRow;
    if (list.length === 0) {
      fill(empty.firstElementChild,
           document.createTextNode('No subscriptions yet. Create one with '),
           el('span', 'mono', 'POST /v1/subscriptions'),
           document.createTextNode('.'));
      tbody.appendChild(empty);
    } else if (empty.parentNode) {
      empty.remove();
    }
    $('count-total').textContent = String(list.length);
    STATES.forEach(function (k) { $('count-' + k).textContent = String(counts[k]); });
  }

  function clearRows() {
    rows.forEach(function (tr) { tr.remove(); });
    rows.clear();
  }

  // --- status lines -------------------------------------------------------------------------------------
  function setStatus(s) { document.body.dataset.status = s; }
  function showError(text) {
    var e = $('error');
    e.textContent = text + (lastOk ? ' Showing the data from ' + clock(lastOk) + '.' : '') +
                    ' Retrying every ' + REFRESH_MS / 1000 + ' s.';
    e.hidden = false;
  }
  function notice(text, ok) {
    var n = $('notice');
    n.textContent = text;
    n.className = 'banner ' + (ok ? 'ok' : 'error');
    n.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { n.hidden = true; }, 6000);
  }
  function showAuth() {
    var had = !!getToken();
    setStatus('unauthorized');
    clearRows();
    $('list').hidden = true;
    $('counts').hidden = true;
    $('auth').hidden = false;
    $('auth-msg').hidden = !had;
    $('error').hidden = true;
    $('last-updated').textContent = 'Admin token required';
    if (document.activeElement !== $('token-input')) $('token-input').focus();
  }

  // --- the API ------------------------------------------------------------------------------------------
  async function api(method, path) {
    var headers = {'Accept': 'application/json'}, token = getToken();
    if (token) headers['Authorization'] = 'Bearer ' + token;
    var ctrl = new AbortController(), t = setTimeout(function () { ctrl.abort(); }, TIMEOUT_MS);
    try {
      var res = await fetch(path, {method: method, headers: headers, cache: 'no-store', signal: ctrl.signal});
      var text = await res.text(), body = null;
      try { body = text ? JSON.parse(text) : null; } catch (e) { /* not JSON */ }
      return {status: res.status, ok: res.ok, body: body};
    } finally {
      clearTimeout(t);
    }
  }

  async function refresh() {
    clearTimeout(timer);
    if (busy) { again = true; return; }
    busy = true;
    try {
      var r;
      try {
        r = await api('GET', '/v1/subscriptions');
      } catch (e) {
        setStatus('unreachable');
        var why = e && e.name === 'AbortError' ? 'timed out' : e.message;
        showError('Cannot reach the hooksim server (' + why + ').');
        return;
      }
      if (r.status === 401) {
        showAuth();
      } else if (!r.ok || !r.body || !Array.isArray(r.body.subscriptions)) {
        setStatus('error');
        showError('The server answered ' + (r.ok ? 'an unexpected body' : errorMessage(r)) + '.');
      } else {
        render(r.body.subscriptions);
        lastOk = new Date();
        setStatus('ok');
        $('auth').hidden = true;
        $('list').hidden = false;
        $('counts').hidden = false;
        $('error').hidden = true;
        $('last-updated').textContent = 'Updated ' + clock(lastOk);
        $('last-updated').title = lastOk.toISOString();
      }
    } catch (e) {
      setStatus('error');
      showError('Could not show the answer (' + e.message + ').');
    } finally {
      busy = false;
      if (again) { again = false; refresh(); } else { timer = setTimeout(refresh, REFRESH_MS); }
    }
  }

  async function reactivate(id, button) {
    button.disabled = true;
    button.textContent = 'Reactivating…';
    try {
      var r = await api('POST', '/v1/subscriptions/' + encodeURIComponent(id) + '/reactivate');
      if (r.status === 401) showAuth();
      else if (!r.ok) notice('Could not reactivate ' + id + ': ' + errorMessage(r), false);
      else notice('Reactivated ' + id + '.', true);
    } catch (e) {
      notice('Could not reactivate ' + id + ': the server is unreachable (' + e.message + ').', false);
    } finally {
      button.disabled = false;
      button.textContent = 'Reactivate';
      refresh();
    }
  }

  $('token-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var t = $('token-input').value.trim();
    if (!t) return;
    setToken(t);
    $('token-input').value = '';
    $('auth-msg').hidden = true;
    refresh();
  });
  $('forget-token').addEventListener('click', function () {
    setToken('');
    refresh();
  });

  tokenFromFragment();
  $('forget-token').hidden = !getToken();
  refresh();
})();
</script>
</body>
</html>
)html";

}  // namespace hooksim::service
