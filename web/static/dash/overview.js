// Overview (#/): the batches (operators and admins) with their progress, and
// the sessions the viewer may see with their status.
'use strict';

(() => {
  const { h, fmt, api } = Dash;

  function batchRow(b) {
    const rc = b.recordings || {};
    return {
      b,
      bar: Dash.progress(null, rc.done || 0, rc.total || 0, { failed: rc.failed || 0, running: rc.running || 0 }),
    };
  }

  async function render(_params, el, ctx) {
    ctx.title('Overview');
    const me = Dash.me();
    const mayBatches = me.admin || me.operator;
    const batchesCard = h('section', { class: 'card', testid: 'batches' }, h('h2', null, 'Batches'));
    const sessionsCard = h('section', { class: 'card', testid: 'sessions' }, h('h2', null, 'Sessions'));
    el.append(h('h1', null, 'Overview'), mayBatches ? batchesCard : null, sessionsCard);

    const [batches, sessions] = await Promise.all([
      mayBatches ? api('GET', '/v1/batches?limit=1000') : Promise.resolve(null),
      api('GET', '/v1/sessions'),
    ]);
    if (!ctx.alive()) return;
    if (batches) {
      const rows = batches.batches.slice().reverse().map(batchRow);
      batchesCard.append(Dash.table({
        testid: 'batch-table',
        empty: 'No batches yet: parley batch create NAME, or POST /v1/batches.',
        rows,
        rowTestid: (r) => `batch-${r.b.id}`,
        columns: [
          { key: 'name', label: 'Batch', cell: (r) => h('a', { href: `#/b/${r.b.id}` }, r.b.name) },
          { key: 'status', label: 'Status', cell: (r) => h('span', { class: 'badge', testid: `batch-status-${r.b.id}`, dataset: { status: r.b.status } }, r.b.status) },
          { key: 'progress', label: 'Progress', cell: (r) => r.bar },
          { key: 'done', label: 'Done', num: true, cell: (r) => fmt.int(r.b.recordings.done) },
          { key: 'failed', label: 'Failed', num: true, cell: (r) => fmt.int(r.b.recordings.failed) },
          { key: 'total', label: 'Files', num: true, cell: (r) => fmt.int(r.b.recordings.total) },
          { key: 'created', label: 'Created', cell: (r) => fmt.time(r.b.created_at) },
        ],
      }));
    }
    sessionsCard.append(Dash.table({
      testid: 'session-table',
      empty: 'No sessions yet.',
      rows: sessions.sessions,
      rowTestid: (s) => `session-${s.id}`,
      columns: [
        { key: 'title', label: 'Session', cell: (s) => h('a', { href: `#/s/${s.id}` }, s.title || s.id) },
        { key: 'owner', label: 'Owner' },
        { key: 'status', label: 'Status', cell: (s) => h('span', { class: 'badge', dataset: { status: s.status } }, s.status) },
        { key: 'audio', label: 'Audio', num: true, cell: (s) => fmt.duration(s.audio_seconds) },
        { key: 'created', label: 'Created', cell: (s) => fmt.time(s.created_at) },
      ],
    }));
  }

  Dash.page('overview', { match: /^\/$/, title: 'Overview', render });
})();
