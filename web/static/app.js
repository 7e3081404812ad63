// parley recorder page (served by `parley serve` at /). Plain JS, no build.
//
// Views (hash routes): #/ home (start, join, my sessions, leaderboard,
// settings), #/s/ID one session (recorder, progress, speakers, results).
// The API is docs/api.md; every request carries the bearer token kept in
// localStorage, and every error shows the server's error.message.
//
// Without a token the page offers a sign-up ("choose a name", POST
// /v1/signup) when the server takes them (GET /v1/signup: open, or link and
// the page was opened through a session's share link /?join=ID&code=CODE;
// the account is made and joins the session in one step), and a sign-in
// with a token. A signed-in visitor who opens a share link joins at once.
//
// Recording: one getUserMedia stream; a MediaRecorder per chunk, replaced
// every N seconds (?chunk=N or the setting, default 30), so that each chunk
// is a complete file with its own header. Chunks go through an upload queue
// (one request at a time, in order) that retries network errors, 5xx, 408
// and 429 with exponential backoff and never drops a chunk.
'use strict';

(() => {
  const TOKEN_KEY = 'parley.token';
  const CHUNK_KEY = 'parley.chunkSeconds';
  const DEFAULT_CHUNK_SECONDS = 30;
  const CHUNK_MIN = 2;
  const CHUNK_MAX = 600;
  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const POLL_PROCESSING_MS = 2000;
  const POLL_RECORDING_MS = 10000;
  const AUDIO_BITS_PER_SECOND = 64000; // speech: plenty for the recogniser, half the default upload
  const MIME_TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/webm', 'audio/mp4'];

  // ---- DOM helpers ------------------------------------------------------
  const $ = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'testid') el.dataset.testid = v;
      else if (k === 'class') el.className = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k in el && typeof v !== 'string') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function show(el, on) { el.hidden = !on; }

  function fmtSeconds(s) {
    if (s === null || s === undefined || !Number.isFinite(s)) return '–';
    const t = Math.round(s);
    const m = Math.floor(t / 60);
    const r = t % 60;
    return `${m}:${String(r).padStart(2, '0')}`;
  }

  function fmtBytes(n) {
    if (!Number.isFinite(n)) return '–';
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  }

  function fmtTime(epoch) {
    if (!Number.isFinite(epoch)) return '';
    return new Date(epoch * 1000).toLocaleString();
  }

  // ---- messages ---------------------------------------------------------
  function showError(err) {
    const msg = err instanceof Error ? err.message : String(err);
    $('error-message').textContent = msg;
    show($('error'), true);
    console.warn('parley:', err);
  }
  function clearError() { show($('error'), false); $('error-message').textContent = ''; }

  let noticeTimer = 0;
  function notice(text, ms = 4000) {
    const el = $('notice');
    el.textContent = text;
    show(el, true);
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => show(el, false), ms);
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

  // fetch with the bearer token; resolves to the Response for 2xx, throws
  // ApiError otherwise (status 0 = the request never got an answer).
  async function request(method, path, { body, json, headers, tokenOverride } = {}) {
    const h2 = Object.assign({}, headers);
    const tok = tokenOverride !== undefined ? tokenOverride : token;
    if (tok) h2.Authorization = `Bearer ${tok}`;
    let payload = body;
    if (json !== undefined) {
      h2['Content-Type'] = 'application/json';
      payload = JSON.stringify(json);
    }
    let res;
    try {
      res = await fetch(path, { method, headers: h2, body: payload, cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, 'network', `Cannot reach the server (${method} ${path}): ${e.message}`);
    }
    if (res.ok) return res;
    let code = 'http';
    let message = `${method} ${path} answered ${res.status} ${res.statusText}`;
    try {
      const j = await res.json();
      if (j && j.error) {
        code = j.error.code || code;
        if (j.error.message) message = j.error.message;
      }
    } catch (_) { /* not JSON: keep the status line */ }
    throw new ApiError(res.status, code, message);
  }

  async function api(method, path, opts) {
    try {
      const res = await request(method, path, opts);
      if (res.status === 204) return null;
      return await res.json();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401 && !(opts && opts.tokenOverride !== undefined)) {
        signedOut('Your token was not accepted any more; sign in again.');
      }
      throw e;
    }
  }

  const sessPath = (id) => `/v1/sessions/${encodeURIComponent(id)}`;

  // ---- settings -----------------------------------------------------------
  function parseChunkSeconds(v) {
    const n = Number(v);
    if (!Number.isFinite(n) || n < CHUNK_MIN || n > CHUNK_MAX) return null;
    return n;
  }

  const urlParams = new URLSearchParams(location.search);
  let chunkFromUrl = null;
  if (urlParams.has('chunk')) {
    chunkFromUrl = parseChunkSeconds(urlParams.get('chunk'));
    if (chunkFromUrl === null) {
      setTimeout(() => showError(`?chunk=${urlParams.get('chunk')} is not a number of seconds between ${CHUNK_MIN} and ${CHUNK_MAX}; using the setting instead.`), 0);
    }
  }
  function chunkSeconds() {
    if (chunkFromUrl !== null) return chunkFromUrl;
    return parseChunkSeconds(localStorage.getItem(CHUNK_KEY)) || DEFAULT_CHUNK_SECONDS;
  }

  // ---- state --------------------------------------------------------------
  let me = null;            // {id, name, admin}
  let current = null;       // session object being viewed
  let pollTimer = 0;
  let pollGen = 0;          // bumps when the view changes: stale polls are ignored
  const sampleUrls = new Map(); // "sessionId/speaker" -> blob URL
  const speakerErrors = new Map(); // speaker number -> last claim error (current session)

  // ---- sign in / out --------------------------------------------------------
  function signedOut(message) {
    token = '';
    me = null;
    localStorage.removeItem(TOKEN_KEY);
    $('my-token').textContent = '';
    show($('my-token-box'), false);
    $('token-show').textContent = 'Show my token';
    $('token-show').setAttribute('aria-expanded', 'false');
    if (message) showError(message);
    route();
  }

  async function signIn(tok) {
    const t = tok.trim();
    if (!/^[\x21-\x7e]+$/.test(t)) throw new Error('The token is empty or holds spaces or other characters a token cannot have.');
    const who = await api('GET', '/v1/me', { tokenOverride: t });
    token = t;
    me = who;
    localStorage.setItem(TOKEN_KEY, t);
  }

  // ---- sign-up and the share link -------------------------------------------
  // The share link is /?join=ID&code=CODE. shareLink: null without one,
  // else {id, code, ok} (ok: both look right).
  const NAME_RE = /^[A-Za-z0-9._-]{1,63}$/;
  const ID_RE = /^[a-z2-7]{20}$/;
  const CODE_RE = /^[A-HJ-NP-Z2-9]{6,10}$/;
  let shareLink = null;
  if (urlParams.has('join') || urlParams.has('code')) {
    const id = (urlParams.get('join') || '').trim().toLowerCase();
    const code = (urlParams.get('code') || '').trim().toUpperCase();
    shareLink = { id, code, ok: ID_RE.test(id) && CODE_RE.test(code) };
  }
  const BAD_LINK = 'The link you opened is not a whole share link (it holds a session id and a 10-character join code): ask for the link again.';

  // The link is used once: later reloads and bookmarks are the plain page.
  function forgetShareLink() {
    shareLink = null;
    const q = new URLSearchParams(location.search);
    q.delete('join');
    q.delete('code');
    const rest = q.toString();
    history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`);
  }

  // Go to a session (or home); route() runs whether or not the hash changes.
  function goTo(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  // What the server takes: 'open', 'link' or 'off'; null when it did not
  // say (unreachable, or a server without sign-ups): then only the token.
  let signupMode = null;
  let signupAsked = null;
  let welcome = ''; // the notice after a sign-up, shown once the next view is up
  function loadSignupMode() {
    if (!signupAsked) {
      signupAsked = api('GET', '/v1/signup', { tokenOverride: '' })
        .then((j) => { signupMode = ['open', 'link', 'off'].includes(j.signup) ? j.signup : null; })
        .catch(() => { signupMode = null; signupAsked = null; });
    }
    return signupAsked || Promise.resolve();
  }

  function signupError(text) {
    const el = $('signup-error');
    el.textContent = text || '';
    show(el, !!text);
    $('signup-name').setAttribute('aria-invalid', text ? 'true' : 'false');
  }

  // The view for a visitor without a token.
  async function renderWelcome(focus) {
    await loadSignupMode();
    if (token) return; // signed in meanwhile (another tab)
    const link = shareLink && shareLink.ok;
    const can = link ? signupMode === 'open' || signupMode === 'link' : signupMode === 'open';
    let closed = '';
    if (shareLink && !shareLink.ok) closed = `${BAD_LINK} Or sign in with a token.`;
    else if (signupMode === 'off') closed = 'This server takes no sign-ups: ask its operator for a token (they make one with parley user add NAME) and sign in with it below.';
    else if (signupMode === 'link' && !link) closed = 'New here? Accounts are made through a session\'s share link: ask someone in the session to send it to you (their session page shows it), or sign in with a token.';
    $('signup-closed').textContent = closed;
    show($('signup-closed'), !!closed);
    show($('signup'), can);
    let heading = 'Sign in';
    if (can && link) heading = 'Join the session';
    else if (can) heading = 'Sign up or sign in';
    $('welcome-heading').textContent = heading;
    $('signin-heading').textContent = can ? 'Already have a token?' : 'Sign in with a token';
    if (can) {
      $('signup-intro').textContent = link
        ? 'You were invited to a parley session. Choose a name: it makes your account in this browser and joins you to the session. When the recording has been processed you claim your voice and see the leaderboard.'
        : 'Choose a name to make your account on this server (kept in this browser).';
      $('signup-submit').textContent = link ? 'Join' : 'Sign up';
    }
    if (focus) (can ? $('signup-name') : $('welcome-heading')).focus();
  }

  // POST /v1/signup: the sentence to show for each way it can fail.
  function signupFailure(e, name) {
    if (!(e instanceof ApiError)) return e.message;
    const msg = e.message ? e.message.charAt(0).toUpperCase() + e.message.slice(1) : '';
    switch (e.status) {
      case 409: return /taken/.test(e.message) ? `The name "${name}" is taken: choose another.` : msg;
      case 404: return 'This share link does not work: the session does not exist or its join code is wrong. Ask for the link again.';
      case 429: return `${msg}.`.replace(/\.\.$/, '.');
      default: return msg || `The sign-up failed (${e.status}).`;
    }
  }

  async function signUp() {
    const name = $('signup-name').value.trim();
    signupError('');
    if (!NAME_RE.test(name)) {
      signupError(name ? `"${name.slice(0, 70)}" cannot be a name: use 1 to 63 letters, digits, dots, dashes or underscores (no spaces).` : 'Choose a name first.');
      $('signup-name').focus();
      return;
    }
    const link = shareLink && shareLink.ok ? shareLink : null;
    const body = link ? { name, session: link.id, code: link.code } : { name };
    let j;
    try {
      j = await api('POST', '/v1/signup', { json: body, tokenOverride: '' });
    } catch (e) {
      if (e.status === 403) { // sign-up turned off since the page asked
        signupMode = 'off';
        await renderWelcome(true);
        return;
      }
      signupError(signupFailure(e, name));
      $('signup-name').focus();
      return;
    }
    token = j.token;
    me = j.user;
    localStorage.setItem(TOKEN_KEY, token);
    $('signup-name').value = '';
    forgetShareLink();
    welcome = (j.session
      ? `Welcome, ${me.name}: you are in the session. Settings shows your token, to sign in on another device.`
      : `Welcome, ${me.name}. Settings shows your token, to sign in on another device.`);
    goTo(j.session ? `#/s/${j.session.id}` : '#/');
  }

  // A signed-in visitor who came through a share link joins that session.
  async function joinShareLink() {
    const link = shareLink;
    forgetShareLink();
    if (!link.ok) { showError(BAD_LINK); return false; }
    $('join-id').value = link.id;
    $('join-code').value = link.code;
    try {
      await api('POST', `${sessPath(link.id)}/join`, { json: { code: link.code } });
    } catch (e) {
      showError(e.status === 404 ? 'This share link does not work: the session does not exist or its join code is wrong. Ask for the link again.' : e);
      return false;
    }
    goTo(`#/s/${link.id}`);
    return true;
  }

  // ---- routing ------------------------------------------------------------
  async function route() {
    stopPolling();
    const m = location.hash.match(/^#\/s\/([a-z2-7]{20})$/);
    if (!token) {
      show($('me'), false);
      show($('home-view'), false);
      show($('session-view'), false);
      show($('signin-view'), true);
      await renderWelcome(!!shareLink);
      return;
    }
    if (!me) {
      try {
        me = await api('GET', '/v1/me');
      } catch (e) {
        if (e.status === 401) return;
        // server unreachable or failing: say so and try again shortly
        showError(`${e.message} (trying again in 5 s)`);
        setTimeout(() => { if (!me && token) route(); }, 5000);
        return;
      }
    }
    restoreStash();
    $('me-name').textContent = me.name + (me.admin ? ' (admin)' : '');
    show($('me'), true);
    show($('signin-view'), false);
    if (welcome) { notice(welcome, 10000); welcome = ''; }
    if (shareLink && await joinShareLink()) return;
    if (m) {
      await loadSignupMode(); // the share hint depends on it (asked once)
      show($('home-view'), false);
      show($('session-view'), true);
      await openSession(m[1]);
    } else {
      if (recorder.active()) { location.hash = `#/s/${recorder.sessionId}`; return; }
      show($('session-view'), false);
      show($('home-view'), true);
      await Promise.all([loadSessions(), loadLeaderboard()]);
    }
  }

  // ---- home -----------------------------------------------------------------
  async function loadSessions() {
    const list = $('sessions');
    try {
      const j = await api('GET', '/v1/sessions');
      list.replaceChildren(...j.sessions.map((s) => h('li', { testid: 'session-item', 'data-id': s.id },
        h('a', { href: `#/s/${s.id}` }, s.title || s.id),
        ' ',
        h('span', { class: `status s-${s.status}` }, s.status.replace(/_/g, ' ')),
        h('span', { class: 'meta' }, `${s.role} · ${fmtSeconds(s.audio_seconds)} · ${fmtTime(s.created_at)}`))));
      show($('sessions-empty'), j.sessions.length === 0);
      // the leaderboard's word picker lists the target words of the results
      const ready = j.sessions.find((x) => x.status === 'ready_for_claiming');
      if (ready && $('lb-word').options.length <= 1) {
        api('GET', `${sessPath(ready.id)}/results`).then((r) => fillWordPicker(r.words)).catch(() => {});
      }
    } catch (e) {
      showError(e);
    }
  }

  async function startSession(title) {
    const body = title ? { title } : {};
    const s = await api('POST', '/v1/sessions', { json: body });
    location.hash = `#/s/${s.id}`;
  }

  async function joinSession(id, code) {
    const sid = id.trim().toLowerCase();
    const c = code.trim().toUpperCase();
    if (!/^[a-z2-7]{20}$/.test(sid)) throw new Error('A session id is 20 characters of a-z and 2-7.');
    if (!/^[A-HJ-NP-Z2-9]{6,10}$/.test(c)) throw new Error('A join code is 10 characters (6 for older sessions) of A-Z (no I or O) and 2-9.');
    await api('POST', `${sessPath(sid)}/join`, { json: { code: c } });
    location.hash = `#/s/${sid}`;
  }

  function fillWordPicker(words) {
    const sel = $('lb-word');
    const have = new Set([...sel.options].map((o) => o.value));
    for (const w of words || []) {
      if (!have.has(w)) { sel.append(h('option', { value: w }, w)); have.add(w); }
    }
  }

  async function loadLeaderboard() {
    const q = new URLSearchParams();
    const word = $('lb-word').value;
    const since = $('lb-since').value;
    if (word) q.set('word', word);
    if (since) q.set('since', since);
    q.set('limit', '50');
    try {
      const j = await api('GET', `/v1/leaderboard?${q}`);
      const rows = j.entries.map((e) => h('tr', { testid: 'lb-row', 'data-user': e.user },
        h('td', null, e.rank), h('td', { class: 'name' }, e.user), h('td', null, e.count), h('td', null, e.sessions)));
      $('lb-table').tBodies[0].replaceChildren(...rows);
      show($('lb-table'), rows.length > 0);
      show($('lb-empty'), rows.length === 0);
    } catch (e) {
      showError(e);
    }
  }

  // ---- one session ----------------------------------------------------------
  async function openSession(id) {
    const gen = ++pollGen;
    if (!current || current.id !== id) {
      current = null;
      for (const url of sampleUrls.values()) URL.revokeObjectURL(url);
      sampleUrls.clear();
      speakerErrors.clear();
      $('speakers').replaceChildren();
      show($('speakers-card'), false);
      show($('results'), false);
      $('session-heading').textContent = 'Session';
      $('session-id').textContent = id;
      $('session-code').textContent = '';
      $('session-status').textContent = 'loading…';
      $('stages').replaceChildren();
      renderChunks(queue.items); // none until the session is loaded
    }
    await refreshSession(id, gen);
  }

  async function refreshSession(id, gen) {
    let s;
    try {
      s = await api('GET', sessPath(id));
    } catch (e) {
      if (gen !== pollGen) return;
      showError(e);
      if (!current) $('session-status').textContent = '–';
      if (e.status === 0 || e.status >= 500) schedulePoll(id, gen, POLL_PROCESSING_MS * 2);
      return;
    }
    if (gen !== pollGen) return;
    const was = current && current.id === s.id ? current.status : null;
    current = s;
    renderSession(s);
    if (s.status === 'ready_for_claiming' && was !== 'ready_for_claiming') {
      await Promise.all([loadSpeakers(s.id), loadResults(s.id)]);
    }
    if (s.status === 'processing') schedulePoll(id, gen, POLL_PROCESSING_MS);
    else if (s.status === 'recording') schedulePoll(id, gen, POLL_RECORDING_MS);
  }

  function schedulePoll(id, gen, ms) {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(() => { if (gen === pollGen) refreshSession(id, gen); }, ms);
  }
  function stopPolling() { clearTimeout(pollTimer); pollGen++; }

  function renderSession(s) {
    $('session-heading').textContent = s.title || 'Session';
    $('session-id').textContent = s.id;
    $('session-code').textContent = s.join_code || '–';
    const st = $('session-status');
    st.textContent = s.status.replace(/_/g, ' ');
    st.className = `status s-${s.status}`;
    st.dataset.status = s.status;
    // gaps: [first, last] ranges of missing chunk numbers
    const gaps = s.gaps && s.gaps.length
      ? ` · missing chunks: ${s.gaps.map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`)).join(', ')}` : '';
    $('session-audio').textContent = `${s.chunks} chunks · ${fmtSeconds(s.audio_seconds)} · ${fmtBytes(s.bytes)}${gaps}`;

    // The share link while others can still join: until claim_until once ended.
    const share = $('share-hint');
    const joinable = s.join_code && s.status !== 'failed'
      && (s.status === 'recording' || !Number.isFinite(s.claim_until) || Date.now() / 1000 < s.claim_until);
    if (joinable) {
      const link = `${location.origin}${location.pathname}?join=${s.id}&code=${s.join_code}`;
      const key = `${link} ${signupMode} ${s.status === 'recording'} ${s.claim_until}`;
      if (share.dataset.key !== key) { // rebuilt only when it changes: a poll keeps the focus
        share.dataset.key = key;
        const a = h('a', { href: link, testid: 'share-link' }, 'this link');
        const until = s.status === 'recording' ? '' : ` They can still join${Number.isFinite(s.claim_until) ? ` until ${fmtTime(s.claim_until)}` : ''} and claim their voice.`;
        const copy = h('button', {
          type: 'button', class: 'link', testid: 'share-copy',
          onclick: () => copyLink(link),
        }, 'Copy the link');
        const send = navigator.share ? h('button', {
          type: 'button', class: 'link', testid: 'share-send',
          onclick: () => navigator.share({ title: s.title || 'parley session', url: link }).catch(() => {}),
        }, 'Send it…') : null;
        const tools = send ? [copy, ' ', send] : [copy];
        if (signupMode === 'open' || signupMode === 'link') {
          share.replaceChildren('Others open ', a, ' on their phone: they choose a name there (or sign in with a token) and are in. Or they join with session id ',
            h('code', null, s.id), ' and code ', h('code', null, s.join_code), '.', until, ' ', ...tools);
        } else {
          share.replaceChildren('Others join with session id ', h('code', null, s.id), ' and code ',
            h('code', null, s.join_code), ', or open ', a, ' and sign in with their own token.', until, ' ', ...tools);
        }
      }
      show(share, true);
    } else {
      show(share, false);
    }

    const err = $('session-error');
    err.textContent = s.error ? `Processing failed: ${s.error}` : '';
    show(err, !!s.error);

    $('stages').replaceChildren(...(s.stages || []).map((g) => h('li', {
      testid: `stage-${g.stage}`, 'data-status': g.status, class: `st-${g.status}`,
    }, h('span', { class: 'dot' }), g.stage, ' ', h('span', { class: 'meta' }, g.status))));
    show($('progress'), s.status !== 'recording');
    // once there are speakers to claim, the stages go below them
    const view = $('session-view');
    if (s.status === 'ready_for_claiming') view.append($('progress'));
    else view.insertBefore($('progress'), $('speakers-card'));

    // One recorder per session: the owner's (chunk numbers are one sequence).
    const mine = recorder.sessionId === s.id;
    if (mine && recorder.active() && !recorder.ending && s.status !== 'recording') {
      recorder.stop();
      showError(`Recording stopped: the session was ended elsewhere (status ${s.status.replace(/_/g, ' ')}).`);
    }
    show($('recorder'), (s.status === 'recording' && s.role === 'owner') || (mine && recorder.busy()));
    show($('not-recorder'), s.status === 'recording' && s.role !== 'owner');
    renderChunks(queue.items); // this session's chunks, restored ones included
    recorder.render();
  }

  async function copyLink(link) {
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(link);
      notice('The share link is copied.');
    } catch (_) {
      showError('The link could not be copied here: press and hold "this link" and copy it.');
    }
  }

  // ---- speakers ---------------------------------------------------------------
  async function loadSpeakers(id) {
    try {
      const j = await api('GET', `${sessPath(id)}/speakers`);
      if (!current || current.id !== id) return;
      renderSpeakers(id, j);
    } catch (e) {
      showError(e);
    }
  }

  function renderSpeakers(id, view) {
    const list = $('speakers');
    const iClaimed = view.speakers.some((sp) => sp.mine);
    const items = view.speakers.map((sp) => {
      const n = sp.speaker;
      const audio = h('audio', { controls: true, preload: 'auto', testid: `sample-${n}` });
      const err = speakerErrors.get(n);
      const msg = h('p', { class: 'error-inline', testid: `speaker-error-${n}`, hidden: !err }, err || '');
      attachSample(id, sp, audio, msg);
      const claimedBy = sp.claimed_by
        ? h('span', { testid: `claimed-by-${n}`, class: sp.mine ? 'mine' : '' }, sp.mine ? `claimed by you (${sp.claimed_by})` : `claimed by ${sp.claimed_by}`)
        : h('span', { testid: `claimed-by-${n}`, class: 'meta' }, 'unclaimed');
      const act = [];
      if (!sp.claimed_by) {
        act.push(h('button', {
          type: 'button', testid: `claim-${n}`, disabled: iClaimed,
          title: iClaimed ? 'You already claimed another speaker here; unclaim it first.' : '',
          onclick: () => claim(id, n, 'POST', msg),
        }, 'This is me'));
      } else if (sp.mine || (me && me.admin)) {
        act.push(h('button', { type: 'button', testid: `unclaim-${n}`, onclick: () => claim(id, n, 'DELETE', msg) },
          sp.mine ? 'Not me' : 'Remove claim'));
      }
      return h('li', { testid: `speaker-${n}`, 'data-speaker': n, class: sp.mine ? 'speaker mine' : 'speaker' },
        h('div', { class: 'speaker-head' },
          h('strong', null, `Speaker ${n}`),
          h('span', { class: 'meta' }, ` ${fmtSeconds(sp.talk_time)} talking · ${sp.turns} turns`)),
        audio,
        h('div', { class: 'row' }, claimedBy, ...act),
        msg);
    });
    list.replaceChildren(...items);
    if (items.length === 0) {
      list.append(h('li', { class: 'hint', testid: 'speakers-none' },
        view.status === 'ready_for_claiming' ? 'No speaker was found in this recording.' : 'Speakers appear when processing is done.'));
    }
    show($('speakers-card'), true);
  }

  // <audio src> cannot send the bearer header: fetch the sample with it and
  // play it from a blob URL (kept per speaker while the session is open).
  async function attachSample(id, sp, audio, msg) {
    const key = `${id}/${sp.speaker}`;
    let url = sampleUrls.get(key);
    if (!url) {
      try {
        const res = await request('GET', sp.sample_url || `${sessPath(id)}/speakers/${sp.speaker}/sample`);
        const blob = await res.blob();
        url = URL.createObjectURL(blob);
        sampleUrls.set(key, url);
      } catch (e) {
        msg.textContent = `Sample: ${e.message}`;
        show(msg, true);
        return;
      }
    }
    audio.src = url;
    audio.dataset.loaded = '1';
  }

  async function claim(id, n, method, msg) {
    show(msg, false);
    speakerErrors.clear();
    clearError();
    try {
      const view = await api(method, `${sessPath(id)}/speakers/${n}/claim`, method === 'POST' ? { json: {} } : {});
      renderSpeakers(id, view);
      notice(method === 'POST' ? `You claimed speaker ${n}.` : `Claim on speaker ${n} removed.`);
      await loadResults(id);
    } catch (e) {
      speakerErrors.set(n, e.message);
      msg.textContent = e.message;
      show(msg, true);
      showError(e);
      if (e.status === 409) await loadSpeakers(id); // someone else may have claimed it
    }
  }

  // ---- results ------------------------------------------------------------------
  async function loadResults(id) {
    try {
      const j = await api('GET', `${sessPath(id)}/results`);
      if (!current || current.id !== id) return;
      renderResults(j);
      fillWordPicker(j.words);
    } catch (e) {
      showError(e);
    }
  }

  // Columns: name, total, then only the words somebody said here (most
  // said first): twenty mostly-zero columns do not fit a phone.
  function countsTable(table, firstHead, rows, words, keyAttr) {
    table.tHead.replaceChildren(h('tr', null, h('th', null, firstHead), h('th', null, 'total'), ...words.map((w) => h('th', null, w))));
    table.tBodies[0].replaceChildren(...rows.map((r) => h('tr', { testid: `${keyAttr}-${r.key}`, 'data-key': r.key },
      h('th', { scope: 'row' }, r.label),
      h('td', { class: 'total' }, r.total),
      ...words.map((w) => h('td', { class: (r.counts[w] || 0) ? '' : 'zero' }, r.counts[w] || 0)))));
  }

  function renderResults(j) {
    const said = new Map();
    for (const sp of j.speakers || []) {
      for (const [w, c] of Object.entries(sp.counts || {})) if (c > 0) said.set(w, (said.get(w) || 0) + c);
    }
    const words = (j.words || []).filter((w) => said.has(w)).sort((a, b) => said.get(b) - said.get(a) || a.localeCompare(b));
    const users = (j.users || []).map((u) => ({ key: u.user, label: u.user, counts: u.counts || {}, total: u.total }));
    countsTable($('results-users'), 'user', users, words, 'result-user');
    show($('results-users-empty'), users.length === 0);
    const speakers = (j.speakers || []).map((sp) => ({
      key: sp.speaker, label: `Speaker ${sp.speaker}${sp.claimed_by ? ` (${sp.claimed_by})` : ''}`, counts: sp.counts || {}, total: sp.total,
    }));
    countsTable($('results-speakers'), 'speaker', speakers, words, 'result-speaker');
    $('results-words').textContent = words.length
      ? `Target words heard: ${words.map((w) => `${w} ${said.get(w)}`).join(', ')}.`
      : 'No target word was heard in this session.';
    show($('results'), true);
  }

  // ---- chunk stash (IndexedDB) -------------------------------------------------
  // Every recorded chunk is kept here until the server has it, so a reload,
  // a crash or a closed tab loses nothing: the next visit uploads what is
  // left. Without IndexedDB (private modes) the queue works from memory.
  const stash = {
    db: null,
    open() {
      if (this.db) return this.db;
      this.db = new Promise((resolve) => {
        try {
          const req = indexedDB.open('parley', 1);
          req.onupgradeneeded = () => req.result.createObjectStore('chunks', { keyPath: 'key' });
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => resolve(null);
        } catch (_) { resolve(null); }
      });
      return this.db;
    },
    async tx(mode, fn) {
      const db = await this.open();
      if (!db) return null;
      return new Promise((resolve) => {
        try {
          const t = db.transaction('chunks', mode);
          const r = fn(t.objectStore('chunks'));
          t.oncomplete = () => resolve(r && 'result' in r ? r.result : null);
          t.onerror = () => resolve(null);
          t.onabort = () => resolve(null);
        } catch (_) { resolve(null); }
      });
    },
    put(item) {
      return this.tx('readwrite', (st) => st.put({
        key: `${item.sessionId}/${item.seq}`, sessionId: item.sessionId, seq: item.seq, blob: item.blob, type: item.type,
      }));
    },
    remove(item) { return this.tx('readwrite', (st) => st.delete(`${item.sessionId}/${item.seq}`)); },
    async all() { return (await this.tx('readonly', (st) => st.getAll())) || []; },
  };

  // Chunks a previous visit recorded but did not upload go back in the queue.
  let restored = false;
  async function restoreStash() {
    if (restored) return;
    restored = true;
    const left = await stash.all();
    left.sort((a, b) => (a.sessionId === b.sessionId ? a.seq - b.seq : a.sessionId < b.sessionId ? -1 : 1));
    for (const c of left) {
      if (queue.items.some((i) => i.sessionId === c.sessionId && i.seq === c.seq)) continue;
      queue.add(c.sessionId, c.seq, c.blob, { stashed: true, type: c.type });
    }
    if (left.length) notice(`${left.length} chunk(s) recorded earlier are being uploaded.`);
  }

  // ---- upload queue ---------------------------------------------------------------
  // Items: {sessionId, seq, blob, type, state, attempts, error, timer}.
  // States: queued → uploading → done | retrying (→ uploading …) | failed.
  // One upload at a time, oldest first; a failed item stays (with a retry
  // button) until it is uploaded or the user ends without it.
  const queue = {
    items: [],
    running: false,
    waiters: [],

    add(sessionId, seq, blob, { stashed = false, type = '' } = {}) {
      const item = {
        sessionId, seq, blob, size: blob.size, type: type || blob.type || 'application/octet-stream',
        state: 'queued', attempts: 0, error: '', timer: 0, info: '', retryAt: 0,
      };
      this.items.push(item);
      renderChunks(this.items);
      // stored before the first attempt; uploads do not wait for it
      item.restored = stashed;
      item.stashed = stashed ? Promise.resolve() : stash.put(item);
      this.pump();
      return item;
    },

    pending() { return this.items.filter((i) => i.state === 'queued' || i.state === 'uploading' || i.state === 'retrying'); },
    failed() { return this.items.filter((i) => i.state === 'failed'); },

    // Resolves when nothing is queued, uploading or waiting to retry.
    idle() {
      if (this.pending().length === 0) return Promise.resolve();
      return new Promise((resolve) => this.waiters.push(resolve));
    },

    settle() {
      if (this.pending().length === 0) {
        const w = this.waiters.splice(0);
        for (const f of w) f();
      }
    },

    retryNow(item) {
      clearTimeout(item.timer);
      item.state = 'queued';
      item.error = '';
      renderChunks(this.items);
      this.pump();
    },

    wakeRetrying() {
      for (const i of this.items) if (i.state === 'retrying') { clearTimeout(i.timer); i.state = 'queued'; }
      this.pump();
    },

    async pump() {
      if (this.running) return;
      this.running = true;
      try {
        for (;;) {
          const item = this.items.find((i) => i.state === 'queued');
          if (!item) break;
          await this.upload(item);
        }
      } finally {
        this.running = false;
        renderChunks(this.items);
        this.settle();
      }
    },

    async upload(item) {
      item.state = 'uploading';
      item.attempts++;
      renderChunks(this.items);
      try {
        const res = await request('PUT', `${sessPath(item.sessionId)}/chunks/${item.seq}`, {
          body: item.blob, headers: { 'Content-Type': item.type },
        });
        const j = await res.json().catch(() => ({}));
        item.state = 'done';
        item.error = '';
        item.info = Number.isFinite(j.duration) ? `${j.duration.toFixed(1)} s` : '';
        item.blob = null; // uploaded: the server has it
        item.stashed.then(() => stash.remove(item));
        // show the server's chunk count and audio length without waiting for the next poll
        if (current && current.id === item.sessionId && current.status === 'recording') refreshSession(current.id, pollGen);
      } catch (e) {
        const st = e.status || 0;
        const retryable = st === 0 || st >= 500 || st === 408 || st === 429;
        item.error = e.message;
        if (retryable) {
          item.state = 'retrying';
          const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(item.attempts - 1, 10));
          const wait = Math.round(base * (0.75 + Math.random() * 0.5));
          item.retryAt = Date.now() + wait;
          item.timer = setTimeout(() => {
            if (item.state === 'retrying') { item.state = 'queued'; this.pump(); }
          }, wait);
        } else {
          item.state = 'failed';
          // refused for good (4xx): a chunk from an earlier visit is not kept for the next one
          if (item.restored) item.stashed.then(() => stash.remove(item));
        }
      }
      renderChunks(this.items);
    },
  };

  window.addEventListener('online', () => queue.wakeRetrying());

  function renderChunks(items) {
    const list = $('chunks');
    const mine = items.filter((i) => current && i.sessionId === current.id);
    list.replaceChildren(...mine.map((i) => {
      let label = i.state;
      if (i.state === 'retrying') label = `retrying (attempt ${i.attempts + 1} in ${Math.max(0, Math.round((i.retryAt - Date.now()) / 1000))} s)`;
      if (i.state === 'done' && i.info) label = `done · ${i.info}`;
      return h('li', { testid: `chunk-${i.seq}`, 'data-state': i.state, class: `chunk c-${i.state}` },
        h('span', null, `chunk ${i.seq}`),
        h('span', { class: 'meta' }, fmtBytes(i.size)),
        h('span', { class: 'state', testid: `chunk-state-${i.seq}` }, label),
        i.error && i.state !== 'done' ? h('span', { class: 'error-inline' }, i.error) : null,
        i.state === 'failed' || i.state === 'retrying'
          ? h('button', { type: 'button', class: 'link', testid: `chunk-retry-${i.seq}`, onclick: () => queue.retryNow(i) }, 'retry now')
          : null);
    }));
  }

  // ---- recorder -----------------------------------------------------------------
  const recorder = {
    sessionId: null,
    stream: null,
    mediaRecorder: null,
    mimeType: '',
    nextSeq: 0,
    rotateTimer: 0,
    clockTimer: 0,
    startedAt: 0,
    recordedMs: 0,
    ending: false,
    stops: [],        // promises of recorders still flushing
    audioCtx: null,
    analyser: null,
    meterRaf: 0,
    wakeLock: null,

    active() { return !!this.mediaRecorder; },
    busy() { return this.active() || this.ending || queue.pending().length > 0; },

    async start() {
      if (!current || current.status !== 'recording') return;
      if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        throw new Error('This browser cannot record here: the microphone needs https:// or http://localhost (open the page that way, or put parley behind TLS).');
      }
      if (typeof MediaRecorder === 'undefined') throw new Error('This browser has no MediaRecorder; use a current Chrome, Firefox or Safari.');
      const sid = current.id;
      if (this.sessionId !== sid) {
        // Continue after what the server already holds (highest seq + 1).
        this.nextSeq = (current.chunks || 0) + (current.missing || 0);
        const have = queue.items.filter((i) => i.sessionId === sid).map((i) => i.seq + 1);
        this.nextSeq = Math.max(this.nextSeq, ...have);
        this.recordedMs = 0;
      }
      try {
        this.stream = await navigator.mediaDevices.getUserMedia({
          audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: true, channelCount: 1 },
        });
      } catch (e) {
        throw new Error(`The microphone could not be opened: ${e.name === 'NotAllowedError' ? 'permission was refused' : e.message}.`);
      }
      this.mimeType = MIME_TYPES.find((t) => MediaRecorder.isTypeSupported(t)) || '';
      this.sessionId = sid;
      this.startedAt = Date.now();
      this.newRecorder();
      this.rotateTimer = setInterval(() => this.rotate(), chunkSeconds() * 1000);
      this.clockTimer = setInterval(() => this.render(), 500);
      this.startMeter();
      this.lockScreen();
      this.render();
    },

    newRecorder() {
      const opts = { audioBitsPerSecond: AUDIO_BITS_PER_SECOND };
      if (this.mimeType) opts.mimeType = this.mimeType;
      const mr = new MediaRecorder(this.stream, opts);
      const parts = [];
      const sid = this.sessionId;
      mr.ondataavailable = (e) => { if (e.data && e.data.size > 0) parts.push(e.data); };
      const stopped = new Promise((resolve) => {
        mr.onstop = () => {
          const blob = new Blob(parts, { type: mr.mimeType || this.mimeType || 'application/octet-stream' });
          // seq is given when the chunk is complete, so an empty one leaves no gap
          if (blob.size > 0) queue.add(sid, this.nextSeq++, blob);
          resolve();
        };
        mr.onerror = (e) => { showError(`Recorder error: ${e.error ? e.error.message : 'unknown'}`); };
      });
      mr.start();
      this.mediaRecorder = mr;
      return stopped;
    },

    // Start the next recorder, then stop the previous one in the same task:
    // each chunk is a whole file and almost nothing falls between them.
    rotate() {
      if (!this.mediaRecorder) return;
      const prev = this.mediaRecorder;
      const prevStopped = new Promise((resolve) => { prev.addEventListener('stop', () => setTimeout(resolve, 0), { once: true }); });
      this.newRecorder();
      this.stops.push(prevStopped);
      prev.stop();
      this.render();
    },

    // Stop recording and flush the last chunk into the queue.
    async stop() {
      clearInterval(this.rotateTimer);
      clearInterval(this.clockTimer);
      const mr = this.mediaRecorder;
      if (mr) {
        const done = new Promise((resolve) => { mr.addEventListener('stop', () => setTimeout(resolve, 0), { once: true }); });
        this.recordedMs += Date.now() - this.startedAt;
        mr.stop();
        this.stops.push(done);
      }
      this.mediaRecorder = null;
      const pending = this.stops.splice(0);
      await Promise.all(pending);
      if (this.stream) for (const t of this.stream.getTracks()) t.stop();
      this.stream = null;
      this.stopMeter();
      this.unlockScreen();
      this.render();
    },

    async end(force) {
      if (!current) return;
      const sid = current.id;
      this.ending = true;
      show($('end-blocked'), false);
      this.render();
      try {
        if (this.active()) await this.stop();
        $('recorder-state').textContent = 'Uploading the last chunks…';
        await queue.idle();
        const failed = queue.failed().filter((i) => i.sessionId === sid);
        if (failed.length && !force) {
          $('end-blocked-message').textContent = `${failed.length} chunk(s) could not be uploaded (${failed.map((i) => i.seq).join(', ')}). Retry them, or end without them.`;
          show($('end-blocked'), true);
          return;
        }
        for (const i of failed) stash.remove(i); // ended without them: do not retry on the next visit
        const s = await api('POST', `${sessPath(sid)}/end`, { json: {} });
        if (current && current.id === sid) {
          current = s;
          renderSession(s);
          notice('Session ended; processing started.');
          const gen = ++pollGen;
          schedulePoll(sid, gen, POLL_PROCESSING_MS);
        }
      } finally {
        this.ending = false;
        this.render();
      }
    },

    render() {
      const rec = this.active() && current && this.sessionId === current.id;
      const btn = $('record');
      btn.textContent = rec ? 'Recording…' : (this.recordedMs > 0 && this.sessionId === (current && current.id) ? 'Resume' : 'Record');
      btn.disabled = rec || this.ending || !current || current.status !== 'recording';
      btn.classList.toggle('on', rec);
      show($('pause'), rec);
      $('end').disabled = this.ending || !current || current.status !== 'recording';
      const ms = this.recordedMs + (rec ? Date.now() - this.startedAt : 0);
      $('elapsed').textContent = fmtSeconds(ms / 1000);
      let state = 'Not recording.';
      if (rec) state = `Recording (${this.mimeType || 'default format'}), a chunk every ${chunkSeconds()} s.`;
      else if (this.ending) state = 'Ending…';
      else if (queue.pending().length) state = 'Uploading…';
      $('recorder-state').textContent = state;
      $('recorder-state').dataset.state = rec ? 'recording' : (this.ending ? 'ending' : 'idle');
      if (queue.items.some((i) => i.state === 'retrying')) renderChunks(queue.items);
    },

    startMeter() {
      try {
        const Ctx = window.AudioContext || window.webkitAudioContext;
        this.audioCtx = new Ctx();
        const src = this.audioCtx.createMediaStreamSource(this.stream);
        this.analyser = this.audioCtx.createAnalyser();
        this.analyser.fftSize = 1024;
        src.connect(this.analyser);
        const buf = new Float32Array(this.analyser.fftSize);
        const bar = $('level');
        const tick = () => {
          if (!this.analyser) return;
          this.analyser.getFloatTimeDomainData(buf);
          let sum = 0;
          for (const x of buf) sum += x * x;
          const db = 10 * Math.log10(sum / buf.length + 1e-10);
          bar.style.width = `${Math.max(0, Math.min(100, (db + 60) * (100 / 60)))}%`;
          this.meterRaf = requestAnimationFrame(tick);
        };
        tick();
      } catch (_) { /* the meter is a nicety */ }
    },

    stopMeter() {
      cancelAnimationFrame(this.meterRaf);
      this.analyser = null;
      if (this.audioCtx) this.audioCtx.close().catch(() => {});
      this.audioCtx = null;
      $('level').style.width = '0';
    },

    async lockScreen() {
      try { if (navigator.wakeLock) this.wakeLock = await navigator.wakeLock.request('screen'); } catch (_) { /* optional */ }
    },
    unlockScreen() {
      if (this.wakeLock) this.wakeLock.release().catch(() => {});
      this.wakeLock = null;
    },
  };

  window.addEventListener('beforeunload', (e) => {
    if (recorder.active() || queue.pending().length || queue.failed().length) {
      e.preventDefault();
      e.returnValue = 'Recording or uploads are still in progress.';
    }
  });

  // ---- wiring ---------------------------------------------------------------------
  function guard(fn) {
    return async (e) => {
      if (e && e.preventDefault) e.preventDefault();
      clearError();
      const el = e && e.currentTarget;
      const btn = el && el.tagName === 'FORM' ? el.querySelector('button[type=submit]') : el;
      if (btn) btn.disabled = true;
      try { await fn(e); } catch (err) { showError(err); } finally { if (btn && btn.dataset.testid !== 'record' && btn.dataset.testid !== 'end') btn.disabled = false; recorder.render(); }
    };
  }

  function wire() {
    $('signin-form').addEventListener('submit', guard(async () => {
      await signIn($('token').value);
      $('token').value = '';
      await route();
    }));
    $('signup-form').addEventListener('submit', guard(signUp));
    $('signup-name').addEventListener('input', () => { if (!$('signup-error').hidden) signupError(''); });
    $('token-show').addEventListener('click', () => {
      const box = $('my-token-box');
      const on = box.hidden;
      $('my-token').textContent = on ? token : '';
      show(box, on);
      $('token-show').textContent = on ? 'Hide my token' : 'Show my token';
      $('token-show').setAttribute('aria-expanded', String(on));
    });
    $('signout').addEventListener('click', () => {
      if (recorder.busy() && !confirm('Recording or uploads are in progress. Sign out anyway?')) return;
      if (recorder.active()) recorder.stop();
      clearError();
      signedOut();
    });
    $('error-close').addEventListener('click', clearError);
    $('start-form').addEventListener('submit', guard(() => startSession($('session-title').value.trim())));
    $('join-form').addEventListener('submit', guard(() => joinSession($('join-id').value, $('join-code').value)));
    $('sessions-refresh').addEventListener('click', guard(loadSessions));
    $('leaderboard-form').addEventListener('submit', guard(loadLeaderboard));
    $('speakers-refresh').addEventListener('click', guard(async () => {
      if (current) await Promise.all([loadSpeakers(current.id), loadResults(current.id)]);
    }));
    $('record').addEventListener('click', guard(() => recorder.start()));
    $('pause').addEventListener('click', guard(() => recorder.stop()));
    $('end').addEventListener('click', guard(() => recorder.end(false)));
    $('end-anyway').addEventListener('click', guard(() => recorder.end(true)));

    const cs = $('chunk-seconds');
    cs.value = chunkSeconds();
    cs.disabled = chunkFromUrl !== null;
    if (chunkFromUrl !== null) cs.title = 'Set by ?chunk= in the address';
    cs.addEventListener('change', () => {
      const v = parseChunkSeconds(cs.value);
      if (v === null) { showError(`A chunk is between ${CHUNK_MIN} and ${CHUNK_MAX} seconds long.`); cs.value = chunkSeconds(); return; }
      localStorage.setItem(CHUNK_KEY, String(v));
      notice(`Chunks of ${v} s from the next recording on.`);
    });

    // ?join=ID&code=CODE (the share link) fills the join form too, for when joining fails.
    if (shareLink) {
      $('join-id').value = shareLink.id;
      $('join-code').value = shareLink.code;
    }
    loadSignupMode(); // the share hint names the sign-up when there is one

    window.addEventListener('hashchange', () => { clearError(); show($('notice'), false); route(); });
  }

  wire();
  route();
})();
