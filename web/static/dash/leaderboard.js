// Leaderboard (#/leaderboard?word=lah&since=2025-01-01): users ranked by the
// target words their claimed speakers said (GET /v1/leaderboard), for one
// word or all of them, since a day or all time. The form's values live in the
// hash, so a ranking can be linked to.
'use strict';

(() => {
  const { h, fmt, api } = window.Dash;

  async function render([query], el, ctx) {
    ctx.title('Leaderboard');
    const q = new URLSearchParams(query || '');
    const word = h('input', {
      id: 'lb-word', testid: 'lb-word', type: 'text', value: q.get('word') || '', placeholder: 'every target word',
      pattern: "[a-z'\\-]{1,47}", autocomplete: 'off', spellcheck: 'false', list: 'lb-words',
    });
    const since = h('input', { id: 'lb-since', testid: 'lb-since', type: 'date', value: q.get('since') || '' });
    const limit = h('select', { id: 'lb-limit', testid: 'lb-limit' },
      [10, 50, 100, 1000].map((n) => h('option', { value: String(n), selected: String(n) === (q.get('limit') || '50') }, String(n))));
    const words = h('datalist', { id: 'lb-words' });
    const body = h('div', { testid: 'lb-body' });
    const form = h('form', { class: 'row', testid: 'lb-form' },
      h('label', { for: 'lb-word' }, 'Word', word),
      h('label', { for: 'lb-since' }, 'Since', since),
      h('label', { for: 'lb-limit' }, 'Top', limit),
      h('button', { type: 'submit', testid: 'lb-show' }, 'Show'), words);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const p = new URLSearchParams();
      if (word.value.trim()) p.set('word', word.value.trim().toLowerCase());
      if (since.value) p.set('since', since.value);
      if (limit.value !== '50') p.set('limit', limit.value);
      const s = p.toString();
      window.Dash.navigate(`#/leaderboard${s ? `?${s}` : ''}`);
    });
    el.append(h('h1', null, 'Leaderboard'),
      h('section', { class: 'card' }, form,
        h('p', { class: 'hint' }, 'Only claimed speakers count: a user’s count is what the speakers they claimed said.')),
      h('section', { class: 'card' }, h('h2', null, q.get('word') ? `“${q.get('word')}”` : 'Every target word',
        h('span', { class: 'meta' }, q.get('since') ? `since ${fmt.date(Date.parse(`${q.get('since')}T00:00:00Z`) / 1000)}` : 'all time')), body));
    const args = new URLSearchParams();
    for (const k of ['word', 'since', 'limit']) if (q.get(k)) args.set(k, q.get(k));
    const [lb, sessions] = await Promise.all([
      api('GET', `/v1/leaderboard${args.toString() ? `?${args}` : ''}`),
      api('GET', '/v1/sessions').catch(() => ({ sessions: [] })),
    ]);
    if (!ctx.alive()) return;
    // The word list: the targets of a session the viewer sees that is ready.
    const ready = sessions.sessions.find((s) => s.status === 'ready_for_claiming');
    if (ready) {
      api('GET', `/v1/sessions/${ready.id}/results`).then((r) => {
        if (ctx.alive()) words.replaceChildren(...(r.words || []).map((w) => h('option', { value: w })));
      }).catch(() => {});
    }
    const top = lb.entries.length ? lb.entries[0].count : 0;
    body.replaceChildren(window.Dash.table({
      testid: 'lb-table',
      empty: 'Nobody has claimed a speaker who said it yet.',
      rows: lb.entries,
      rowTestid: (e) => `lb-row-${e.user}`,
      columns: [
        { key: 'rank', label: 'Rank', num: true, cell: (e) => fmt.int(e.rank) },
        { key: 'user', label: 'User', cell: (e) => h('strong', null, e.user) },
        { key: 'count', label: 'Count', num: true, cell: (e) => fmt.int(e.count) },
        {
          key: 'bar', label: '', cell: (e) => {
            const bar = h('span', { class: 'lb-bar', 'aria-hidden': 'true' });
            bar.style.width = `${top ? (100 * e.count) / top : 0}%`;
            return h('span', { class: 'lb-track' }, bar);
          },
        },
        { key: 'sessions', label: 'Sessions', num: true, cell: (e) => fmt.int(e.sessions) },
      ],
    }));
  }

  window.Dash.page('leaderboard', { match: /^\/leaderboard(?:\?(.*))?$/, title: 'Leaderboard', render });
})();
