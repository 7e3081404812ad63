// Batch (#/b/BID): status and progress with rate and ETA, the per-stage
// table, the execution log tail (live), failures with their error and
// attempts (retry one, retry all), the reaudit form and the old → new
// verdict changes when it finishes, the results table (filtered, sorted and
// paged by the server: GET …/results?sort=&order=&offset=&status=&verdict=&q=),
// CSV download, webhook deliveries with redeliver. Live: the `batch` and
// `log` events of GET /v1/events?log=BID.
'use strict';

(() => {
  const { h, fmt, api } = Dash;
  const PAGE = 50;
  const LOG_KEEP = 200;
  const RATE_WINDOW_MS = 60000;

  const bpath = (bid, rest = '') => `/v1/batches/${bid}${rest}`;

  function badge(status, testid) {
    return h('span', { class: 'badge', testid, dataset: { status: status || 'none' } }, status || '–');
  }

  async function render([bidText], el, ctx) {
    const bid = Number(bidText);
    const b0 = await api('GET', bpath(bid));
    if (!ctx.alive()) return;
    ctx.title(`Batch ${b0.name}`);
    let batch = b0;

    // ---- header: status, progress, rate, ETA, actions ----
    const status = badge(batch.status, 'batch-status');
    const bar = Dash.progress(null, 0, 0);
    bar.dataset.testid = 'batch-progress';
    const counts = h('span', { class: 'progress-label', testid: 'batch-counts' });
    const rateEl = h('span', { class: 'progress-label', testid: 'batch-rate' });
    const startBtn = h('button', { type: 'button', testid: 'start', onclick: () => act(startBtn, () => api('POST', bpath(bid, '/start'), { json: {} }), 'Batch started.') }, 'Start');
    const retryAll = h('button', { type: 'button', class: 'secondary', testid: 'retry-all', onclick: () => act(retryAll, () => api('POST', bpath(bid, '/retry'), { json: {} }), (r) => `${r.requeued} recording(s) queued again.`) }, 'Retry all failed');
    el.append(
      h('p', { class: 'meta' }, h('a', { href: '#/' }, 'Overview'), ' › batch'),
      h('h1', null, batch.name, ' ', status),
      h('section', { class: 'card' },
        bar,
        h('div', { class: 'row' }, counts, rateEl),
        h('p', { class: 'meta', testid: 'batch-meta' }),
        h('div', { class: 'row' }, startBtn, retryAll)));

    async function act(btn, fn, done) {
      btn.disabled = true;
      Dash.clearError();
      try {
        const r = await fn();
        Dash.notice(typeof done === 'function' ? done(r) : done);
        refresh();
      } catch (e) {
        Dash.error(e);
      } finally {
        btn.disabled = false;
      }
    }

    // ---- per-stage table ----
    const stageBody = h('tbody');
    el.append(h('section', { class: 'card', testid: 'stages' }, h('h2', null, 'Stages'),
      h('div', { class: 'scroll' }, h('table', null,
        h('thead', null, h('tr', null, ['Stage', 'Status', 'Progress', 'Pending', 'Running', 'Done', 'Failed', 'Rate / min'].map((t, i) => h('th', { scope: 'col', class: i >= 3 ? 'num' : i === 2 ? 'wide' : null }, t)))),
        stageBody))));
    const stageRows = new Map();
    const history = []; // [{t, done: {stage: n}, all: n}] for rates

    function rateOf(key) {
      const now = Date.now();
      while (history.length > 2 && now - history[0].t > RATE_WINDOW_MS) history.shift();
      if (history.length < 2) return null;
      const a = history[0];
      const z = history[history.length - 1];
      const dt = (z.t - a.t) / 60000;
      if (dt <= 0) return null;
      return ((z.done[key] || 0) - (a.done[key] || 0)) / dt;
    }

    function showBatch(b) {
      batch = b;
      const rc = b.recordings;
      status.dataset.status = b.status;
      status.textContent = b.status;
      Dash.progress(bar, rc.done, rc.total, { failed: rc.failed, running: rc.running });
      counts.textContent = `${fmt.int(rc.done)} of ${fmt.int(rc.total)} done · ${fmt.int(rc.failed)} failed · ${fmt.int(rc.running)} running · ${fmt.int(rc.pending)} pending`;
      const snap = { t: Date.now(), done: { '*': rc.done + rc.failed } };
      for (const s of b.stages) snap.done[s.stage] = s.done + s.failed;
      history.push(snap);
      const r = rateOf('*');
      const left = rc.pending + rc.running;
      rateEl.textContent = r === null ? '' : `${fmt.num(r, 1)} / min${left && r > 0 ? ` · ETA ${fmt.duration((left / r) * 60)}` : ''}`;
      document.querySelector('[data-testid="batch-meta"]').textContent =
        `Created ${fmt.time(b.created_at)} · audit version ${b.audit_version} · ${fmt.duration(b.audio_seconds_done)} of audio done${b.webhook ? ` · webhook ${b.webhook.url}` : ''}`;
      startBtn.hidden = b.started;
      retryAll.disabled = rc.failed === 0;
      for (const s of b.stages) {
        let row = stageRows.get(s.stage);
        if (!row) {
          row = { status: badge(s.status), bar: Dash.progress(null, 0, 0), cells: [0, 1, 2, 3, 4].map(() => h('td', { class: 'num' })) };
          row.tr = h('tr', { testid: `stage-${s.stage}` }, h('td', null, s.stage), h('td', null, row.status), h('td', { class: 'wide' }, row.bar), row.cells);
          stageRows.set(s.stage, row);
          stageBody.append(row.tr);
        }
        row.tr.dataset.status = s.status;
        row.status.dataset.status = s.status;
        row.status.textContent = s.status;
        Dash.progress(row.bar, s.done, rc.total, { failed: s.failed, running: s.running });
        const sr = rateOf(s.stage);
        [s.pending, s.running, s.done, s.failed].forEach((v, i) => { row.cells[i].textContent = fmt.int(v); });
        row.cells[4].textContent = sr === null ? '–' : fmt.num(sr, 1);
      }
      fromStage.replaceChildren(h('option', { value: '' }, 'automatic (answers or verdicts)'),
        b.stages.map((s) => h('option', { value: s.stage }, s.stage)));
    }

    // ---- execution log tail (live) ----
    const logList = h('ol', { class: 'log', testid: 'log', 'aria-live': 'off' });
    el.append(h('section', { class: 'card' }, h('h2', null, 'Execution log'), logList));
    function onLog(ev) {
      if (ev.batch !== bid) return;
      logList.prepend(h('li', { testid: 'log-line', dataset: { type: ev.type } },
        h('time', { datetime: new Date(ev.time * 1000).toISOString() }, fmt.time(ev.time)),
        h('span', { class: 'type' }, ev.type, ev.stage ? ` · ${ev.stage}` : ''),
        h('span', null, ev.message)));
      while (logList.children.length > LOG_KEEP) logList.lastChild.remove();
    }

    // ---- failures ----
    const failBody = h('div');
    el.append(h('section', { class: 'card', testid: 'failures' }, h('h2', null, 'Failures'), failBody));
    async function loadFailures() {
      const f = await api('GET', bpath(bid, '/failed'));
      if (!ctx.alive()) return;
      failBody.replaceChildren(Dash.table({
        testid: 'failure-table',
        empty: 'Nothing failed.',
        rows: f.failed,
        rowTestid: (x) => `failure-${x.name}`,
        columns: [
          { key: 'name', label: 'File', cell: (x) => h('a', { href: `#/r/${x.recording}` }, x.name) },
          { key: 'stage', label: 'Stage' },
          { key: 'attempts', label: 'Attempts', num: true },
          { key: 'error', label: 'Error', class: 'error-text', cell: (x) => h('span', { testid: `failure-error-${x.name}` }, x.error) },
          { key: 'retry', label: 'Retry', cell: (x) => {
            const btn = h('button', { type: 'button', class: 'small', testid: `retry-${x.name}`, 'aria-label': `Retry ${x.name}` }, 'Retry');
            btn.addEventListener('click', () => act(btn, () => api('POST', bpath(bid, '/retry'), { json: { recording: x.recording } }), `${x.name} queued again.`));
            return btn;
          } },
        ],
      }));
    }

    // ---- reaudit ----
    const qText = h('textarea', { id: 'reaudit-q', testid: 'reaudit-questionnaire', spellcheck: 'false', placeholder: '{"version": 1, "questions": [...]} (empty: keep the current one)' });
    const rText = h('textarea', { id: 'reaudit-r', testid: 'reaudit-rules', spellcheck: 'false', placeholder: 'rule vip flag when meta.agent = "bob";  (empty: keep the current rules)' });
    const fromStage = h('select', { id: 'reaudit-from', testid: 'reaudit-from' });
    const reauditBtn = h('button', { type: 'submit', testid: 'reaudit-submit' }, 'Reaudit');
    const reauditState = h('p', { class: 'meta', testid: 'reaudit-state', 'aria-live': 'polite' });
    const changesBody = h('div', { testid: 'changes' });
    let awaiting = 0; // the version a reaudit is computing
    const form = h('form', { testid: 'reaudit-form' },
      h('label', { for: 'reaudit-q' }, 'New questionnaire (JSON)'), qText,
      h('label', { for: 'reaudit-r' }, 'New rules'), rText,
      h('div', { class: 'row' }, h('label', { for: 'reaudit-from' }, 'Rerun from', fromStage), reauditBtn),
      reauditState);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = {};
      if (qText.value.trim()) body.questionnaire = qText.value;
      if (rText.value.trim()) body.rules = rText.value;
      if (fromStage.value) body.from_stage = fromStage.value;
      reauditBtn.disabled = true;
      Dash.clearError();
      try {
        const r = await api('POST', bpath(bid, '/reaudit'), { json: body });
        awaiting = r.version;
        reauditState.textContent = `Version ${r.version}: ${fmt.int(r.requeued)} recording(s) rerun from ${r.from_stage}…`;
        changesBody.replaceChildren();
        lastKey = ''; // the next batch event (even one already counted) may finish it
      } catch (err) {
        Dash.error(err);
      } finally {
        reauditBtn.disabled = false;
      }
    });
    el.append(h('section', { class: 'card', testid: 'reaudit' }, h('h2', null, 'Reaudit'), form,
      h('h3', null, 'Verdict changes'), changesBody));

    async function loadChanges(to) {
      if (to < 2) {
        changesBody.replaceChildren(h('p', { class: 'hint' }, 'No reaudit yet: changes between audit versions show here.'));
        return;
      }
      const rows = [];
      let after = 0;
      for (let i = 0; i < 20; i++) { // at most 20 pages of 1000
        const c = await api('GET', bpath(bid, `/changes?from=${to - 1}&to=${to}&limit=1000${after ? `&after=${after}` : ''}`));
        rows.push(...c.changes);
        if (c.next === null) break;
        after = c.next;
      }
      if (!ctx.alive()) return;
      const v = (x) => (x && x.verdict ? x.verdict : 'none');
      changesBody.replaceChildren(
        h('p', { class: 'meta', testid: 'changes-summary' }, `Version ${to - 1} → ${to}: ${fmt.int(rows.length)} call(s) changed.`),
        Dash.table({
          testid: 'change-table',
          empty: 'No verdict, score, answer or rule changed.',
          rows,
          rowTestid: (x) => `change-${x.name}`,
          columns: [
            { key: 'name', label: 'File', cell: (x) => h('a', { href: `#/r/${x.recording}` }, x.name) },
            { key: 'verdict', label: 'Verdict', cell: (x) => h('span', { testid: `change-verdict-${x.name}` },
              badge(v(x.old)), ' → ', badge(v(x.new))) },
            { key: 'score', label: 'Score', num: true, cell: (x) => `${x.old ? fmt.num(x.old.score, 1) : '–'} → ${x.new ? fmt.num(x.new.score, 1) : '–'}` },
            { key: 'fired', label: 'Rules fired', cell: (x) => x.rules_fired.join(', ') || '–' },
            { key: 'cleared', label: 'Rules cleared', cell: (x) => x.rules_cleared.join(', ') || '–' },
          ],
        }));
    }

    // ---- results table (server-side) ----
    const q = { sort: 'recording', order: 'asc', offset: 0, status: '', verdict: '', q: '' };
    const fStatus = h('select', { testid: 'filter-status', 'aria-label': 'Status' },
      ['', 'done', 'failed', 'pending', 'running', 'held'].map((s) => h('option', { value: s }, s || 'any status')));
    const fVerdict = h('select', { testid: 'filter-verdict', 'aria-label': 'Verdict' },
      ['', 'pass', 'fail', 'flag', 'none'].map((s) => h('option', { value: s }, s || 'any verdict')));
    const fName = h('input', { type: 'search', testid: 'filter-q', placeholder: 'file name contains…', 'aria-label': 'File name contains', maxlength: '200' });
    const resultsBox = h('div', { testid: 'results' });
    const pageInfo = h('span', { class: 'progress-label', testid: 'results-range', 'aria-live': 'polite' });
    const prev = h('button', { type: 'button', class: 'secondary small', testid: 'page-prev' }, '‹ Previous');
    const next = h('button', { type: 'button', class: 'secondary small', testid: 'page-next' }, 'Next ›');
    const csvBtn = h('button', { type: 'button', class: 'secondary small', testid: 'csv' }, 'Download CSV');
    el.append(h('section', { class: 'card', testid: 'results-card' }, h('h2', null, 'Results'),
      h('form', { class: 'row filters', testid: 'filters' }, fStatus, fVerdict, fName,
        h('button', { type: 'submit', class: 'small', testid: 'filter-apply' }, 'Filter')),
      resultsBox, h('div', { class: 'pager' }, prev, pageInfo, next, csvBtn)));
    el.querySelector('[data-testid="filters"]').addEventListener('submit', (e) => {
      e.preventDefault();
      q.status = fStatus.value;
      q.verdict = fVerdict.value;
      q.q = fName.value.trim();
      q.offset = 0;
      loadResults();
    });
    prev.addEventListener('click', () => { q.offset = Math.max(0, q.offset - PAGE); loadResults(); });
    next.addEventListener('click', () => { q.offset += PAGE; loadResults(); });

    let resultsSeq = 0;
    async function loadResults() {
      const seq = ++resultsSeq;
      const params = new URLSearchParams({ sort: q.sort, order: q.order, offset: String(q.offset), limit: String(PAGE) });
      if (q.status) params.set('status', q.status);
      if (q.verdict) params.set('verdict', q.verdict);
      if (q.q) params.set('q', q.q);
      resultsBox.setAttribute('aria-busy', 'true');
      const r = await api('GET', bpath(bid, `/results?${params}`));
      if (!ctx.alive() || seq !== resultsSeq) return;
      resultsBox.removeAttribute('aria-busy');
      const table = Dash.table({
        testid: 'result-table',
        empty: 'No results match.',
        rows: r.recordings,
        rowTestid: (x) => `result-${x.name}`,
        sort: { key: q.sort, dir: q.order },
        onSort: (key, dir) => { q.sort = key; q.order = dir; q.offset = 0; loadResults(); },
        columns: [
          { key: 'recording', label: 'Id', num: true, sortable: true, cell: (x) => String(x.recording) },
          { key: 'name', label: 'File', sortable: true, cell: (x) => h('a', { href: `#/r/${x.recording}` }, x.name) },
          { key: 'status', label: 'Status', sortable: true, cell: (x) => badge(x.status) },
          { key: 'verdict', label: 'Verdict', sortable: true, cell: (x) => h('span', { testid: `verdict-${x.name}` }, badge(x.verdict || 'none')) },
          { key: 'score', label: 'Score', num: true, sortable: true, cell: (x) => (x.verdict ? `${fmt.num(x.score, 1)} / ${fmt.num(x.max_score, 1)}` : '–') },
          { key: 'trade', label: 'Trade', cell: (x) => x.trade_id || '–' },
          { key: 'reasons', label: 'Rules fired', class: 'wrap', cell: (x) => x.reasons.map((z) => z.rule || z).join(', ') || '–' },
          { key: 'error', label: 'Error', class: 'error-text', cell: (x) => x.error || '' },
          { key: 'warnings', label: 'Warnings', class: 'wrap', cell: (x) => ((x.warnings || []).length
            ? h('span', { class: 'warn-text', testid: `warnings-${x.name}` }, x.warnings.map((w) => w.message).join('; '))
            : '') },
        ],
      });
      resultsBox.replaceChildren(table);
      resultsBox.dataset.total = String(r.total);
      resultsBox.dataset.offset = String(r.offset);
      pageInfo.textContent = r.total ? `${fmt.int(r.offset + 1)}–${fmt.int(r.offset + r.recordings.length)} of ${fmt.int(r.total)}` : '0 results';
      prev.disabled = r.offset === 0;
      next.disabled = r.next_offset === null;
    }

    // CSV: every page of ?format=csv (1000 rows, cursor = the last row's id) in one file.
    csvBtn.addEventListener('click', async () => {
      csvBtn.disabled = true;
      try {
        const parts = [];
        let after = 0;
        for (let page = 0; page < 1000; page++) {
          const text = await api('GET', bpath(bid, `/results?format=csv&limit=1000${after ? `&after=${after}` : ''}`), { text: true });
          const lines = text.split('\r\n').filter((l) => l);
          parts.push(page === 0 ? lines : lines.slice(1));
          if (lines.length - 1 < 1000) break;
          after = Number(lines[lines.length - 1].split(',')[0]);
        }
        const blob = new Blob([parts.flat().join('\r\n'), '\r\n'], { type: 'text/csv' });
        const a = h('a', { href: URL.createObjectURL(blob), download: `${batch.name}-results.csv`, testid: 'csv-link' });
        document.body.append(a);
        a.click();
        setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
      } catch (e) {
        Dash.error(e);
      } finally {
        csvBtn.disabled = false;
      }
    });

    // ---- webhook deliveries ----
    const hookBody = h('div');
    const hookCard = h('section', { class: 'card', testid: 'webhooks', hidden: true }, h('h2', null, 'Webhook deliveries'), hookBody);
    el.append(hookCard);
    async function loadWebhooks() {
      const w = await api('GET', bpath(bid, '/webhooks'));
      if (!ctx.alive()) return;
      hookCard.hidden = !w.webhook;
      if (!w.webhook) return;
      hookBody.replaceChildren(
        h('p', { class: 'meta' }, `${w.webhook.url} · events ${w.webhook.events}${w.webhook.disabled ? ' · disabled (410)' : ''}`),
        Dash.table({
          testid: 'delivery-table',
          empty: 'Nothing sent yet.',
          rows: w.deliveries,
          rowTestid: (d) => `delivery-${d.id}`,
          columns: [
            { key: 'event_id', label: 'Event', cell: (d) => h('code', null, d.event_id) },
            { key: 'type', label: 'Type' },
            { key: 'status', label: 'Status', cell: (d) => badge(d.status, `delivery-status-${d.id}`) },
            { key: 'attempts', label: 'Attempts', num: true },
            { key: 'last_status', label: 'HTTP', num: true, cell: (d) => (d.last_status ? String(d.last_status) : '–') },
            { key: 'last_error', label: 'Last error', class: 'error-text', cell: (d) => d.last_error || '' },
            { key: 'next_at', label: 'Next try', cell: (d) => (d.status === 'pending' ? fmt.time(d.next_at) : '–') },
            { key: 'redeliver', label: 'Redeliver', cell: (d) => {
              const btn = h('button', { type: 'button', class: 'small secondary', testid: `redeliver-${d.id}`, 'aria-label': `Redeliver ${d.event_id}` }, 'Redeliver');
              btn.addEventListener('click', () => act(btn, () => api('POST', bpath(bid, '/webhooks/redeliver'), { json: { delivery: d.id } }), `${d.event_id} will be sent again now.`));
              return btn;
            } },
          ],
        }));
    }

    // ---- live ----
    let lastKey = '';
    async function refresh() {
      try {
        await Promise.all([loadFailures(), loadWebhooks()]);
      } catch (e) {
        if (ctx.alive()) Dash.error(e);
      }
    }
    function onBatch(b) {
      if (b.id !== bid) return;
      const key = `${b.status}|${b.recordings.failed}|${b.recordings.done}|${b.audit_version}`;
      showBatch(b);
      if (key === lastKey) return;
      const finished = b.status === 'Completed' || b.status === 'CompletedWithErrors';
      const wasFailed = lastKey.split('|')[1];
      lastKey = key;
      if (String(b.recordings.failed) !== wasFailed || finished) refresh();
      if (finished) {
        loadResults().catch((e) => Dash.error(e));
        if (awaiting && b.audit_version >= awaiting) {
          reauditState.textContent = `Version ${b.audit_version} finished.`;
          awaiting = 0;
          loadChanges(b.audit_version).catch((e) => Dash.error(e));
        }
      }
    }
    showBatch(b0);
    lastKey = `${b0.status}|${b0.recordings.failed}|${b0.recordings.done}|${b0.audit_version}`;
    await Promise.all([loadFailures(), loadResults(), loadWebhooks(), loadChanges(b0.audit_version)]);
    ctx.follow({ log: String(bid) });
    ctx.on('batch', onBatch);
    ctx.on('log', onLog);
  }

  Dash.page('batch', { match: /^\/b\/([1-9][0-9]{0,11})$/, nav: 'overview', title: 'Batch', render });
})();
