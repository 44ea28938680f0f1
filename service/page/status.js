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

  // --- the admin token (in memory too: localStorage may be missing or refuse) ---------------------------
  function getToken() {
    try { return window.localStorage.getItem(TOKEN_KEY) || memoryToken; } catch (e) { return memoryToken; }
  }
  function setToken(t) {
    memoryToken = t;
    try {
      if (t) window.localStorage.setItem(TOKEN_KEY, t);
      else window.localStorage.removeItem(TOKEN_KEY);
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
  // A URL of more than URL_WIDTH characters shown by its distinctive parts: the start up to the end of the
  // host (at most half), '…', and as much of the end (path, query) as fits. As util::shorten_middle
  // (util/url_display.h) for `hooksim status`.
  var URL_WIDTH = 48;
  function shortUrl(url, width) {
    var chars = Array.from(url);
    if (chars.length <= width) return url;
    var scheme = url.indexOf('://'), hostEnd = chars.length;
    for (var i = scheme < 0 ? 0 : Array.from(url.slice(0, scheme)).length + 3; i < chars.length; i++) {
      if (chars[i] === '/' || chars[i] === '?' || chars[i] === '#') { hostEnd = i; break; }
    }
    var budget = width - 1, head = Math.min(hostEnd, Math.floor(budget / 2));
    var tail = Math.min(chars.length - hostEnd, budget - head);
    head = budget - tail;
    return chars.slice(0, head).join('') + '…' + chars.slice(chars.length - tail).join('');
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
  function fill(cell, ...parts) { cell.replaceChildren(...parts.filter(Boolean)); }
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
    var retry = el('button', 'btn secondary retry', 'Retry now');
    retry.type = 'button';
    retry.dataset.sub = id;
    retry.title = 'Make the next attempt now (the failure streak and its deadline stay)';
    retry.addEventListener('click', function () { retryNow(id, retry); });
    tr.retryButton = retry;
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
    } else if (s.state === 'retrying' && !s.in_flight) {
      button = tr.retryButton;  // waiting for its next attempt (or to give up)
      if (!button.isConnected) { button.disabled = false; button.textContent = 'Retry now'; }
    } else {
      button = null;
    }
    fill(c, el('span', 'badge state-' + state, s.state), detail, button);
  }

  function updateRow(tr, s) {
    var now = Date.now() + serverOffset;
    tr.dataset.state = s.state;
    tr.dataset.backlog = String(s.backlog);
    // In a cluster (docs/cluster.md), the node that delivers it, beneath.
    fill(cell(tr, 'id'), el('span', 'mono', s.id), s.owner ? el('span', 'sub', 'on ' + s.owner) : null);
    cell(tr, 'id').title = s.owner ? s.id + ', delivered by node ' + s.owner : s.id;
    fill(cell(tr, 'url'), el('span', 'url mono', shortUrl(s.url, URL_WIDTH)));
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
    var oldest = cell(tr, 'oldest'), age = s.oldest_queued_age_ms, queued = age !== null && age !== undefined;
    fill(oldest, queued ? el('span', '', span(age)) : none());
    oldest.title = queued ? 'queued since ' + s.oldest_queued_at : '';

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
    if (list.length === 0) {
      fill(emptyRow.firstElementChild,
           document.createTextNode('No subscriptions yet. Create one with '),
           el('span', 'mono', 'POST /v1/subscriptions'),
           document.createTextNode('.'));
      tbody.appendChild(emptyRow);
    } else {
      emptyRow.remove();
    }
    $('count-total').textContent = String(list.length);
    STATES.forEach(function (k) { $('count-' + k).textContent = String(counts[k]); });
  }

  // --- status lines -------------------------------------------------------------------------------------
  function setStatus(s) { document.body.dataset.status = s; }
  // The subscription list and its counts, or (list false) the admin token form; never the error line.
  function showList(list) {
    $('list').hidden = $('counts').hidden = !list;
    $('auth').hidden = list;
    $('error').hidden = true;
  }
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
    rows.forEach(function (tr) { tr.remove(); });
    rows.clear();
    showList(false);
    $('auth-msg').hidden = !had;
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
        showList(true);
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

  // POSTs /v1/subscriptions/ID/<action> for a row's button, says how it went, and refreshes the list.
  async function rowAction(id, button, action, busyText, doneText, verb) {
    var label = button.textContent;
    button.disabled = true;
    button.textContent = busyText;
    try {
      var r = await api('POST', '/v1/subscriptions/' + encodeURIComponent(id) + '/' + action);
      if (r.status === 401) showAuth();
      else if (!r.ok) notice('Could not ' + verb + ' ' + id + ': ' + errorMessage(r), false);
      else notice(doneText + ' ' + id + '.', true);
    } catch (e) {
      notice('Could not ' + verb + ' ' + id + ': the server is unreachable (' + e.message + ').', false);
    } finally {
      button.disabled = false;
      button.textContent = label;
      refresh();
    }
  }
  function reactivate(id, button) {
    return rowAction(id, button, 'reactivate', 'Reactivating…', 'Reactivated', 'reactivate');
  }
  function retryNow(id, button) {
    return rowAction(id, button, 'retry', 'Retrying…', 'Retrying now:', 'retry');
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
