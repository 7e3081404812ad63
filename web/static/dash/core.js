// parley dashboard core (served by `parley serve` at /dashboard). Plain JS, no build.
//
// window.Dash is the whole API the page scripts (web/static/dash/*.js) use:
//
//   Dash.page('overview', {match: /^\/$/, nav: 'overview', render(params, el, ctx) {…}})
//   Dash.api(method, path, {json, body, headers, text, raw})  -> JSON (Bearer token)
//   Dash.stream(path, onEvent, {onState, onError})            -> close()
//   Dash.h(tag, attrs, ...children)    DOM builder (text nodes only: never innerHTML)
//   Dash.fmt.{time, date, duration, int, num, pct, bytes, ago}
//   Dash.progress(el, done, total, {failed, running, label})  -> the bar element
//   Dash.table({columns, rows, sort, onSort, empty, testid, rowTestid}) -> element
//   Dash.error(msg) / Dash.clearError() / Dash.notice(text) / Dash.me() / Dash.navigate(hash)
//
// A page's render(params, el, ctx) gets the RegExp match groups, the <main>
// element to fill, and ctx: ctx.onLeave(fn) (runs when the page is left),
// ctx.alive() (false once left: stale async work stops), ctx.on(type, fn)
// (events of the one shared live stream GET /v1/events, unsubscribed on
// leave), ctx.follow({key: value}) (query parameters of that stream while the
// page is shown, e.g. {log: BID}), ctx.stream(path, fn) (another stream,
// closed on leave), ctx.title(text).
//
// Live updates use ONE server-sent event stream, GET /v1/events, read with
// fetch (EventSource cannot send Authorization) and reopened with
// Last-Event-ID after an error with backoff (1 s doubling to 30 s, ±25 %).
'use strict';

(() => {
  const TOKEN_KEY = 'parley.token'; // shared with the recorder page
  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 30000;

  // ---- DOM ----------------------------------------------------------------
  const $ = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'testid') el.dataset.testid = v;
      else if (k === 'class') el.className = v;
      else if (k === 'style') Object.assign(el.style, v); // CSSOM, allowed under the CSP
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k in el && typeof v !== 'string') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  // ---- formatting (the viewer's locale) -------------------------------------
  const nf0 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  const nfCache = new Map();
  function nf(d) {
    if (!nfCache.has(d)) nfCache.set(d, new Intl.NumberFormat(undefined, { minimumFractionDigits: d, maximumFractionDigits: d }));
    return nfCache.get(d);
  }
  const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  const df = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
  const ok = (x) => typeof x === 'number' && Number.isFinite(x);
  const fmt = {
    int: (n) => (ok(n) ? nf0.format(n) : '–'),
    num: (n, digits = 1) => (ok(n) ? nf(digits).format(n) : '–'),
    pct: (x, digits = 0) => (ok(x) ? `${nf(digits).format(x * 100)} %` : '–'),
    time: (epoch) => (ok(epoch) && epoch > 0 ? dtf.format(new Date(epoch * 1000)) : '–'),
    date: (epoch) => (ok(epoch) && epoch > 0 ? df.format(new Date(epoch * 1000)) : '–'),
    duration(s) {
      if (!ok(s) || s < 0) return '–';
      if (s < 10) return `${nf(1).format(s)} s`;
      const t = Math.round(s);
      const hh = Math.floor(t / 3600);
      const mm = Math.floor((t % 3600) / 60);
      const ss = t % 60;
      if (hh) return `${hh} h ${String(mm).padStart(2, '0')} min`;
      if (mm) return `${mm} min ${String(ss).padStart(2, '0')} s`;
      return `${ss} s`;
    },
    bytes(n) {
      if (!ok(n)) return '–';
      if (n < 1024) return `${nf0.format(n)} B`;
      if (n < 1024 * 1024) return `${nf(1).format(n / 1024)} KiB`;
      if (n < 1024 ** 3) return `${nf(1).format(n / 1024 / 1024)} MiB`;
      return `${nf(1).format(n / 1024 ** 3)} GiB`;
    },
    ago(epoch) {
      if (!ok(epoch) || epoch <= 0) return '–';
      const d = Date.now() / 1000 - epoch;
      if (d < 0) return fmt.time(epoch);
      if (d < 60) return `${Math.round(d)} s ago`;
      if (d < 3600) return `${Math.round(d / 60)} min ago`;
      if (d < 86400) return `${Math.round(d / 3600)} h ago`;
      return fmt.date(epoch);
    },
  };

  // ---- messages ---------------------------------------------------------
  function error(err) {
    const msg = err instanceof Error ? err.message : String(err);
    $('error-message').textContent = msg;
    $('error').hidden = false;
    console.warn('parley:', err);
  }
  function clearError() { $('error').hidden = true; $('error-message').textContent = ''; }
  let noticeTimer = 0;
  function notice(text) {
    const el = $('notice');
    el.textContent = text;
    el.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { el.hidden = true; }, 4000);
  }

  // ---- API ----------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  let token = localStorage.getItem(TOKEN_KEY) || '';
  let me = null;

  function authHeaders(extra, tok = token) {
    const hd = Object.assign({}, extra);
    if (tok) hd.Authorization = `Bearer ${tok}`;
    return hd;
  }

  async function failure(method, path, res) {
    let code = 'http';
    let message = `${method} ${path} answered ${res.status} ${res.statusText}`;
    try {
      const j = await res.json();
      if (j && j.error) {
        code = j.error.code || code;
        if (j.error.message) message = j.error.message;
      }
    } catch (_) { /* not JSON: keep the status line */ }
    return new ApiError(res.status, code, message);
  }

  // opts: json (a value sent as JSON), body + headers (anything else),
  // text (answer as text), raw (the Response), token (another token).
  async function api(method, path, opts = {}) {
    const headers = authHeaders(opts.headers, opts.token !== undefined ? opts.token : token);
    let body = opts.body;
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    let res;
    try {
      res = await fetch(path, { method, headers, body, cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, 'network', `Cannot reach the server (${method} ${path}): ${e.message}`);
    }
    if (!res.ok) {
      const e = await failure(method, path, res);
      if (res.status === 401 && opts.token === undefined) signOut('Your token was not accepted any more; sign in again.');
      throw e;
    }
    if (opts.raw) return res;
    if (opts.text) return res.text();
    if (res.status === 204) return null;
    return res.json();
  }

  // ---- server-sent events over fetch -------------------------------------------
  // onEvent({type, data, id}) per event (data parsed as JSON when it is);
  // opts.onState('open' | 'retry' | 'closed'); opts.onError(ApiError) for an
  // answer that is not worth retrying (4xx but 408/429): the stream stops.
  function stream(path, onEvent, opts = {}) {
    let closed = false;
    let ctrl = null;
    let lastId = opts.lastEventId || '';
    let backoff = BACKOFF_FIRST_MS;
    let timer = 0;
    const state = (s) => { if (opts.onState) opts.onState(s); };

    function dispatch(ev) {
      if (ev.id !== undefined) lastId = ev.id;
      if (!ev.data && ev.type === 'message') return;
      let data = ev.data;
      try { data = JSON.parse(ev.data); } catch (_) { /* plain text */ }
      try { onEvent({ type: ev.type || 'message', data, id: ev.id }); } catch (e) { console.error(e); }
    }

    function retry(ms) {
      if (closed) return;
      state('retry');
      const wait = ms || backoff * (0.75 + Math.random() * 0.5);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      timer = setTimeout(connect, wait);
    }

    async function connect() {
      if (closed) return;
      ctrl = new AbortController();
      const headers = authHeaders({ Accept: 'text/event-stream' });
      if (lastId) headers['Last-Event-ID'] = lastId;
      let res;
      try {
        res = await fetch(path, { headers, signal: ctrl.signal, cache: 'no-store' });
      } catch (_) {
        retry();
        return;
      }
      if (!res.ok) {
        const e = await failure('GET', path, res);
        if (res.status === 401) { signOut('Your token was not accepted any more; sign in again.'); return; }
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
          closed = true;
          state('closed');
          if (opts.onError) opts.onError(e);
          return;
        }
        const ra = Number(res.headers.get('Retry-After'));
        retry(ok(ra) && ra > 0 ? ra * 1000 : 0);
        return;
      }
      state('open');
      backoff = BACKOFF_FIRST_MS;
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      let ev = { data: '' };
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let nl;
          while ((nl = buf.search(/\r\n|\n|\r/)) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1));
            if (line === '') {
              if (ev.data || ev.type || ev.id !== undefined) dispatch(ev);
              ev = { data: '' };
              continue;
            }
            if (line.startsWith(':')) continue;
            const c = line.indexOf(':');
            const field = c < 0 ? line : line.slice(0, c);
            let val = c < 0 ? '' : line.slice(c + 1);
            if (val.startsWith(' ')) val = val.slice(1);
            if (field === 'data') ev.data = ev.data ? `${ev.data}\n${val}` : val;
            else if (field === 'event') ev.type = val;
            else if (field === 'id') ev.id = val;
          }
        }
      } catch (_) { /* aborted or cut: reconnect below */ }
      if (!closed) retry(BACKOFF_FIRST_MS); // the server ends streams now and then
    }

    connect();
    return () => {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      if (ctrl) ctrl.abort();
      state('closed');
    };
  }

  // ---- the shared live stream (GET /v1/events) ------------------------------
  const live = {
    handlers: new Map(), // type -> Set(fn)
    params: {},          // query parameters (ctx.follow)
    close: null,
    path: '',
    on(type, fn) {
      if (!this.handlers.has(type)) this.handlers.set(type, new Set());
      this.handlers.get(type).add(fn);
      if (!routing) this.sync();
      return () => { const s = this.handlers.get(type); if (s) s.delete(fn); };
    },
    wanted() {
      for (const s of this.handlers.values()) if (s.size) return true;
      return false;
    },
    sync() {
      const q = new URLSearchParams(this.params).toString();
      const path = `/v1/events${q ? `?${q}` : ''}`;
      if (!token || !this.wanted()) { this.stop(); return; }
      if (this.close && this.path === path) return;
      this.stop();
      this.path = path;
      this.close = stream(path, (ev) => {
        for (const fn of this.handlers.get(ev.type) || []) fn(ev.data, ev);
        for (const fn of this.handlers.get('*') || []) fn(ev.data, ev);
      }, {
        onState: (s) => { const el = $('live'); if (el) el.dataset.state = s === 'open' ? 'on' : s === 'retry' ? 'retry' : 'off'; },
        onError: (e) => error(`Live updates stopped: ${e.message}`),
      });
    },
    stop() {
      if (this.close) this.close();
      this.close = null;
      this.path = '';
    },
  };

  // ---- widgets --------------------------------------------------------------
  // A bar of done (and failed, running) out of total; updated in place.
  function progress(el, done, total, opts = {}) {
    if (!el) {
      el = h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': '0' },
        h('span', { class: 'seg done' }), h('span', { class: 'seg failed' }), h('span', { class: 'seg running' }));
    }
    const t = total > 0 ? total : 0;
    const failed = opts.failed || 0;
    const running = opts.running || 0;
    const w = (x) => `${t ? Math.min(100, (100 * x) / t) : 0}%`;
    const [d, f, r] = el.children;
    d.style.width = w(done);
    f.style.width = w(failed);
    r.style.width = w(running);
    el.setAttribute('aria-valuemax', String(t));
    el.setAttribute('aria-valuenow', String(done + failed));
    el.setAttribute('aria-valuetext', opts.label ||
      `${fmt.int(done)} of ${fmt.int(t)} done${failed ? `, ${fmt.int(failed)} failed` : ''}`);
    el.dataset.done = String(done);
    el.dataset.total = String(t);
    return el;
  }

  // columns: [{key, label, num, sortable, cell(row) -> Node|string, class}]
  // sort: {key, dir: 'asc'|'desc'}; onSort(key, dir) when a header is used.
  function table(o) {
    const thead = h('thead', null, h('tr', null, o.columns.map((c) => {
      const sorted = o.sort && o.sort.key === c.key;
      const aria = sorted ? (o.sort.dir === 'desc' ? 'descending' : 'ascending') : (c.sortable ? 'none' : null);
      const label = c.sortable && o.onSort
        ? h('button', {
          type: 'button', class: 'sort', testid: `sort-${c.key}`,
          onclick: () => o.onSort(c.key, sorted && o.sort.dir === 'asc' ? 'desc' : 'asc'),
        }, c.label, h('span', { class: 'arrow', 'aria-hidden': 'true' }, sorted ? (o.sort.dir === 'desc' ? '▼' : '▲') : '↕'))
        : c.label;
      return h('th', { scope: 'col', class: [c.num ? 'num' : '', c.class || ''].join(' ').trim() || null, 'aria-sort': aria }, label);
    })));
    const tbody = h('tbody');
    for (const row of o.rows) {
      tbody.append(h('tr', { testid: o.rowTestid ? o.rowTestid(row) : null },
        o.columns.map((c) => {
          const v = c.cell ? c.cell(row) : row[c.key];
          return h('td', { class: [c.num ? 'num' : '', c.class || ''].join(' ').trim() || null }, v === null || v === undefined ? '–' : v);
        })));
    }
    if (!o.rows.length && o.empty) {
      tbody.append(h('tr', null, h('td', { colspan: String(o.columns.length), class: 'empty' }, o.empty)));
    }
    return h('div', { class: 'scroll', testid: o.testid || null },
      h('table', null, o.caption ? h('caption', null, o.caption) : null, thead, tbody));
  }

  // ---- pages and the hash router ------------------------------------------------
  const pages = [];
  let leaving = [];
  let generation = 0;

  function page(name, spec) {
    if (!spec || !(spec.match instanceof RegExp) || typeof spec.render !== 'function') {
      throw new Error(`Dash.page(${name}): {match: RegExp, render(params, el, ctx)} is required`);
    }
    pages.push(Object.assign({ name }, spec));
    if (started) route();
  }

  function leave() {
    const fns = leaving;
    leaving = [];
    for (const fn of fns) { try { fn(); } catch (e) { console.error(e); } }
    live.params = {};
  }

  function navigate(hash) {
    if (location.hash === hash) route(); else location.hash = hash;
  }

  // Under the sign-in: how someone without a token gets one on this server
  // (GET /v1/signup; sign-ups happen on the recorder page).
  let signupAsked = false;
  function signupHint() {
    if (signupAsked) return;
    signupAsked = true;
    const say = {
      open: ['No token yet? ', h('a', { href: '/' }, 'Sign up on the recorder page'), ' by choosing a name.'],
      link: ['No token yet? Open a session\'s share link (its owner has it on the recorder page) and choose a name there.'],
      off: ['This server takes no sign-ups: ask its operator for a token.'],
    };
    api('GET', '/v1/signup', { token: '' }).then((j) => {
      const el = $('signup-hint');
      if (!say[j.signup]) return;
      el.replaceChildren(...say[j.signup]);
      el.hidden = false;
    }).catch(() => { signupAsked = false; });
  }

  function showSignedIn(on) {
    $('signin-view').hidden = on;
    $('nav').hidden = !on;
    $('me').hidden = !on;
    $('view').hidden = !on;
  }

  let started = false;
  let routing = false; // while a page renders: the live stream is opened once, at the end
  async function route() {
    started = true;
    leave();
    const gen = ++generation;
    routing = false;
    const view = $('view');
    view.replaceChildren();
    if (!token) {
      live.stop();
      showSignedIn(false);
      document.title = 'parley dashboard · sign in';
      signupHint();
      return;
    }
    if (!me) {
      try {
        me = await api('GET', '/v1/me');
      } catch (e) {
        if (gen !== generation) return;
        if (!token) return; // signed out by the 401
        error(e);
        showSignedIn(true);
        view.append(h('h1', { tabindex: '-1' }, 'The server cannot be reached'),
          h('button', { type: 'button', onclick: () => route() }, 'Try again'));
        return;
      }
      if (gen !== generation) return;
    }
    showSignedIn(true);
    $('me-name').textContent = `${me.name}${me.admin ? ' (admin)' : me.operator ? ' (operator)' : ''}`;
    const path = (location.hash || '#/').slice(1) || '/';
    let found = null;
    let params = null;
    for (const p of pages) {
      const m = path.match(p.match);
      if (m) { found = p; params = m.slice(1); break; }
    }
    for (const a of document.querySelectorAll('nav [data-nav]')) {
      if (found && a.dataset.nav === (found.nav || found.name)) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    if (!found) {
      view.append(h('h1', { tabindex: '-1' }, 'No such page'),
        h('p', null, 'Nothing is at ', h('code', null, location.hash), '. ', h('a', { href: '#/' }, 'Back to the overview'), '.'));
      focusHeading(view);
      return;
    }
    const ctx = {
      alive: () => gen === generation,
      onLeave: (fn) => { if (gen === generation) leaving.push(fn); else fn(); },
      on: (type, fn) => { if (gen === generation) leaving.push(live.on(type, fn)); },
      follow: (params2) => { if (gen === generation) { live.params = Object.assign({}, params2); if (!routing) live.sync(); } },
      stream: (p, fn, opts) => { const c = stream(p, fn, opts); ctx.onLeave(c); return c; },
      title: (text) => { if (gen === generation) document.title = `${text} · parley dashboard`; },
      page: found.name,
    };
    ctx.title(found.title || found.name);
    view.dataset.page = found.name;
    routing = true;
    try {
      await found.render(params, view, ctx);
    } catch (e) {
      if (gen === generation) error(e);
    } finally {
      if (gen === generation) routing = false;
    }
    if (gen === generation) { live.sync(); focusHeading(view); }
  }

  function focusHeading(view) {
    const h1 = view.querySelector('h1');
    if (!h1) return;
    if (!h1.hasAttribute('tabindex')) h1.setAttribute('tabindex', '-1');
    if (!document.activeElement || document.activeElement === document.body || view.contains(document.activeElement) ||
        document.activeElement.closest('nav') || document.activeElement.classList.contains('brand')) {
      h1.focus({ preventScroll: true });
    }
  }

  // ---- sign in / out --------------------------------------------------------
  function signOut(message) {
    token = '';
    me = null;
    localStorage.removeItem(TOKEN_KEY);
    live.stop();
    if (message) error(message);
    route();
  }

  async function signIn(tok) {
    const t = tok.trim();
    if (!/^[\x21-\x7e]+$/.test(t)) throw new Error('The token is empty or holds spaces or other characters a token cannot have.');
    const who = await api('GET', '/v1/me', { token: t });
    token = t;
    me = who;
    localStorage.setItem(TOKEN_KEY, t);
  }

  function init() {
    $('error-close').addEventListener('click', clearError);
    $('signin-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      clearError();
      const btn = $('signin');
      btn.disabled = true;
      try {
        await signIn($('token').value);
        $('token').value = '';
        await route();
      } catch (err) {
        error(err);
      } finally {
        btn.disabled = false;
      }
    });
    $('signout').addEventListener('click', () => signOut());
    // The skip link focuses the content without touching the hash (the router's).
    $('skip').addEventListener('click', (e) => { e.preventDefault(); $('view').focus(); });
    window.addEventListener('hashchange', () => { clearError(); route(); });
    // Another tab signed in or out (the recorder page shares the token).
    window.addEventListener('storage', (e) => {
      if (e.key !== TOKEN_KEY) return;
      token = e.newValue || '';
      me = null;
      route();
    });
    route();
  }

  window.Dash = {
    api, ApiError, stream, page, navigate, h, fmt, progress, table, error, clearError, notice,
    me: () => me,
    signOut,
    live: { on: (type, fn) => live.on(type, fn) },
  };
  if (document.readyState === 'loading') {
    // every page script (deferred, after this one) registers before the first route
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
