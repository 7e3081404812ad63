// Overview (#/): the queue (ready, retrying, processing), dead letters,
// throughput and ETA, live workers and what each does (operators and
// admins), the batches with live per-stage progress, the sessions the viewer
// may see, and the /metrics figures. GET /v1/overview once, then the live
// stream (queue, workers, metrics, batch, session events) updates the
// numbers in place: no reload, no polling.
'use strict';

(() => {
  const { h, fmt, api } = Dash;

  // A figure that keeps its box while its value changes.
  function stat(id, label) {
    const dd = h('dd', { testid: `stat-${id}` }, '–');
    return { el: h('div', { class: 'stat' }, h('dt', null, label), dd), set: (v) => { dd.textContent = v; } };
  }

  function badge(status, testid) {
    return h('span', { class: 'badge', testid, dataset: { status } }, status);
  }
  function setBadge(el, status) {
    el.dataset.status = status;
    el.textContent = status;
  }

  // Per-stage dots of a batch: the stage name with done/total as its title.
  function stageStrip(stages, total) {
    return h('span', { class: 'stages-strip' }, (stages || []).map((s) => h('span', {
      class: 'dot', dataset: { status: s.status }, title: `${s.stage}: ${s.done} of ${total} done${s.failed ? `, ${s.failed} failed` : ''}`,
    }, s.stage)));
  }

  async function render(_params, el, ctx) {
    const me = Dash.me();
    const ops = me.admin || me.operator;
    const figures = {
      ready: stat('ready', 'Ready'),
      retrying: stat('retrying', 'Retrying'),
      processing: stat('processing', 'Processing'),
      workers: stat('workers', 'Live workers'),
      dead: stat('dead', 'Dead letters (failed)'),
      done: stat('done', 'Recordings done'),
      rate: stat('rate', 'Throughput / min'),
      eta: stat('eta', 'ETA'),
      requests: stat('requests', 'HTTP requests'),
      errors: stat('errors', 'HTTP 5xx'),
    };
    const queueCard = h('section', { class: 'card', testid: 'queue' }, h('h2', null, 'Queue'),
      h('dl', { class: 'stats' }, Object.values(figures).map((f) => f.el)));
    const workersBody = h('div');
    const workersCard = h('section', { class: 'card', testid: 'workers' }, h('h2', null, 'Workers'), workersBody);
    const batchesBody = h('tbody');
    const batchesCard = h('section', { class: 'card', testid: 'batches' },
      h('h2', null, 'Batches'),
      h('div', { class: 'scroll' }, h('table', null,
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Batch'), h('th', { scope: 'col' }, 'Status'),
          h('th', { scope: 'col', class: 'wide' }, 'Progress'), h('th', { scope: 'col', class: 'num' }, 'Done'),
          h('th', { scope: 'col', class: 'num' }, 'Failed'), h('th', { scope: 'col', class: 'num' }, 'Files'),
          h('th', { scope: 'col' }, 'Stages'))),
        batchesBody)),
      h('p', { class: 'hint', testid: 'batches-empty', hidden: true }, 'No batches yet: parley batch create NAME, or POST /v1/batches.'));
    const sessionsBody = h('tbody');
    const sessionsCard = h('section', { class: 'card', testid: 'sessions' }, h('h2', null, 'Sessions'),
      h('div', { class: 'scroll' }, h('table', null,
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Session'), h('th', { scope: 'col' }, 'Owner'),
          h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Stages'), h('th', { scope: 'col', class: 'num' }, 'Audio'),
          h('th', { scope: 'col' }, 'Created'))),
        sessionsBody)),
      h('p', { class: 'hint', testid: 'sessions-empty', hidden: true }, 'No sessions yet.'));
    const stagesBody = h('div');
    const stagesCard = h('section', { class: 'card', testid: 'stage-figures' }, h('h2', null, 'Stages (every run so far)'), stagesBody);
    el.append(h('h1', null, 'Overview'), queueCard, ops ? batchesCard : null,
      h('div', { class: 'grid' }, ops ? workersCard : null, stagesCard), sessionsCard);

    // ---- updates in place ----
    function onQueue(q) {
      figures.ready.set(fmt.int(q.ready));
      figures.retrying.set(fmt.int(q.retrying));
      figures.processing.set(fmt.int(q.processing));
      figures.workers.set(fmt.int(q.workers));
      figures.dead.set(fmt.int(q.dead_letters));
      figures.done.set(`${fmt.int(q.recordings.done)} / ${fmt.int(q.recordings.total)}`);
      figures.rate.set(fmt.num(q.throughput.per_minute, 1));
      figures.eta.set(q.throughput.remaining === 0 ? 'idle' : q.throughput.eta_seconds === null ? '–' : fmt.duration(q.throughput.eta_seconds));
    }
    function onWorkers(w) {
      workersBody.replaceChildren(Dash.table({
        testid: 'worker-table',
        empty: 'No worker holds a recording now.',
        rows: w.workers,
        rowTestid: (x) => `worker-${x.recording}`,
        columns: [
          { key: 'worker', label: 'Worker', cell: (x) => h('code', null, x.worker) },
          { key: 'what', label: 'Working on', cell: (x) => (x.kind === 'batch'
            ? h('span', null, h('a', { href: `#/b/${x.batch}` }, x.batch_name), ' · ', x.name)
            : x.session ? h('a', { href: `#/s/${x.session}` }, `session ${x.session}`) : `${x.batch_name} · ${x.name}`) },
          { key: 'stage', label: 'Stage', cell: (x) => x.stage || '–' },
          { key: 'attempts', label: 'Attempt', num: true, cell: (x) => fmt.int(x.attempts) },
          { key: 'since', label: 'Since', cell: (x) => fmt.time(x.since) },
        ],
      }));
    }
    function onMetrics(m) {
      stagesBody.replaceChildren(Dash.table({
        testid: 'stage-figure-table',
        empty: 'No stage has run yet.',
        rows: m.stages,
        columns: [
          { key: 'stage', label: 'Stage' },
          { key: 'runs', label: 'Runs', num: true, cell: (s) => fmt.int(s.runs) },
          { key: 'mean', label: 'Mean', num: true, cell: (s) => fmt.duration(s.mean_seconds) },
          { key: 'seconds', label: 'Total', num: true, cell: (s) => fmt.duration(s.seconds) },
        ],
      }));
    }
    function onHttp(x) {
      if (!x) return;
      figures.requests.set(fmt.int(x.requests));
      figures.errors.set(fmt.int(x.errors));
    }

    const batchRows = new Map();
    function onBatch(b) {
      let r = batchRows.get(b.id);
      if (!r) {
        r = {
          status: badge(b.status, `batch-status-${b.id}`),
          bar: Dash.progress(null, 0, 0),
          done: h('td', { class: 'num' }), failed: h('td', { class: 'num' }), total: h('td', { class: 'num' }),
          stages: h('td'),
          name: h('a', { href: `#/b/${b.id}` }, b.name),
        };
        r.tr = h('tr', { testid: `batch-${b.id}` }, h('td', null, r.name), h('td', null, r.status),
          h('td', { class: 'wide' }, r.bar), r.done, r.failed, r.total, r.stages);
        batchRows.set(b.id, r);
        // newest first
        const before = [...batchesBody.children].find((tr) => Number(tr.dataset.testid.slice(6)) < b.id);
        batchesBody.insertBefore(r.tr, before || null);
        batchesCard.querySelector('[data-testid="batches-empty"]').hidden = true;
      }
      const rc = b.recordings;
      setBadge(r.status, b.status);
      Dash.progress(r.bar, rc.done, rc.total, { failed: rc.failed, running: rc.running });
      r.done.textContent = fmt.int(rc.done);
      r.failed.textContent = fmt.int(rc.failed);
      r.total.textContent = fmt.int(rc.total);
      r.stages.replaceChildren(stageStrip(b.stages, rc.total));
    }

    const sessionRows = new Map();
    function onSession(s) {
      let r = sessionRows.get(s.id);
      if (!r) {
        r = {
          status: badge(s.status, `session-status-${s.id}`),
          stages: h('td'), audio: h('td', { class: 'num' }),
        };
        r.tr = h('tr', { testid: `session-${s.id}` },
          h('td', null, h('a', { href: `#/s/${s.id}` }, s.title || s.id)), h('td', null, s.owner),
          h('td', null, r.status), r.stages, r.audio, h('td', null, fmt.time(s.created_at)));
        sessionRows.set(s.id, r);
        sessionsBody.prepend(r.tr);
        sessionsCard.querySelector('[data-testid="sessions-empty"]').hidden = true;
      }
      setBadge(r.status, s.status);
      r.stages.replaceChildren(h('span', { class: 'stages-strip' }, (s.stages || []).map((x) => h('span', {
        class: 'dot', dataset: { status: x.status }, title: `${x.stage}: ${x.status}`,
      }, x.stage))));
      r.audio.textContent = fmt.duration(s.audio_seconds);
    }

    // ---- the first state, then live ----
    const [ov, sessions] = await Promise.all([api('GET', '/v1/overview'), api('GET', '/v1/sessions')]);
    if (!ctx.alive()) return;
    onQueue(ov.queue);
    onHttp(ov.http);
    if (ops) onWorkers({ workers: ov.workers || [] });
    onMetrics({ stages: ov.stages || [] });
    if (ops) {
      for (const b of (ov.batches || []).slice().reverse()) onBatch(b);
      if (!batchRows.size) batchesCard.querySelector('[data-testid="batches-empty"]').hidden = false;
    }
    for (const s of sessions.sessions.slice().reverse()) onSession(s);
    if (!sessionRows.size) sessionsCard.querySelector('[data-testid="sessions-empty"]').hidden = false;

    ctx.on('queue', onQueue);
    ctx.on('metrics', onMetrics);
    if (ops) {
      ctx.on('workers', onWorkers);
      ctx.on('batch', onBatch);
    }
    ctx.on('session', onSession);
  }

  Dash.page('overview', { match: /^\/$/, title: 'Overview', render });
})();
