// Sessions (#/sessions): every session the viewer may see (all of them for
// admins), newest first, filterable by status; and one session (#/s/SID):
// its status and stages, its speakers with their samples and claims (an
// admin may drop a claim), the target-word counts per speaker and per user,
// and a link to its recording page (#/r/RID). Both follow the live stream
// (ctx.on('session'): a session's view as it ends and is processed), so
// neither needs a reload; "Refresh" reloads either all the same.
'use strict';

(() => {
  const { h, fmt, api } = window.Dash;
  const STATUSES = ['recording', 'processing', 'ready_for_claiming', 'failed'];

  // The same JSON value, whatever the order of the keys.
  const canon = (v) => (Array.isArray(v) ? `[${v.map(canon).join(',')}]`
    : v && typeof v === 'object' ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(',')}}`
      : JSON.stringify(v));
  const same = (a, b) => canon(a) === canon(b);

  const badge = (status, testid) => h('span', { class: 'badge', dataset: { status }, testid }, status.replace(/_/g, ' '));

  async function list(_params, el, ctx) {
    ctx.title('Sessions');
    const filter = h('select', { id: 'sess-status', testid: 'sessions-status' },
      h('option', { value: '' }, 'every status'), STATUSES.map((s) => h('option', { value: s }, s.replace(/_/g, ' '))));
    const search = h('input', { id: 'sess-q', type: 'search', placeholder: 'title, owner or id', testid: 'sessions-q' });
    const body = h('div', { testid: 'sessions-body' });
    const count = h('span', { class: 'meta num', testid: 'sessions-count' });
    el.append(h('h1', null, 'Sessions'),
      h('section', { class: 'card' },
        h('form', { class: 'row', testid: 'sessions-filter', onsubmit: (e) => e.preventDefault() },
          h('label', { for: 'sess-q' }, 'Find', search),
          h('label', { for: 'sess-status' }, 'Status', filter)),
        h('h2', null, 'Sessions you may see', count,
          h('button', { type: 'button', class: 'small secondary', testid: 'sessions-refresh', onclick: () => window.Dash.navigate(location.hash) }, 'Refresh')), body));
    let sessions = [];
    const draw = () => {
      const q = search.value.trim().toLowerCase();
      const st = filter.value;
      const rows = sessions.filter((s) => (!st || s.status === st) &&
        (!q || [s.title, s.owner, s.id].some((x) => (x || '').toLowerCase().includes(q))));
      count.textContent = `${fmt.int(rows.length)} of ${fmt.int(sessions.length)}`;
      body.replaceChildren(window.Dash.table({
        testid: 'sessions-table',
        empty: sessions.length ? 'No session matches.' : 'No sessions yet: start one on the recorder page.',
        rows,
        rowTestid: (s) => `sessions-row-${s.id}`,
        columns: [
          { key: 'title', label: 'Session', cell: (s) => h('a', { href: `#/s/${s.id}`, testid: `sessions-link-${s.id}` }, s.title || s.id) },
          { key: 'owner', label: 'Owner' },
          { key: 'role', label: 'You', cell: (s) => s.role },
          { key: 'status', label: 'Status', cell: (s) => badge(s.status, `sessions-status-${s.id}`) },
          { key: 'chunks', label: 'Chunks', num: true, cell: (s) => fmt.int(s.chunks) },
          { key: 'audio', label: 'Audio', num: true, cell: (s) => fmt.duration(s.audio_seconds) },
          { key: 'created', label: 'Started', cell: (s) => fmt.time(s.created_at) },
          { key: 'rec', label: 'Recording', cell: (s) => (s.recording ? h('a', { href: `#/r/${s.recording}` }, `#${s.recording}`) : '–') },
        ],
      }));
    };
    search.addEventListener('input', draw);
    filter.addEventListener('change', draw);
    const j = await api('GET', '/v1/sessions');
    if (!ctx.alive()) return;
    sessions = j.sessions;
    draw();
    // live: a session's view (the same as the list's rows) replaces its row;
    // one not listed yet goes first (the list is newest first)
    ctx.on('session', (v) => {
      const k = sessions.findIndex((x) => x.id === v.id);
      if (k >= 0) {
        if (same(sessions[k], v)) return;
        sessions[k] = v;
      } else {
        sessions.unshift(v);
      }
      draw();
    });
  }

  function sampleButton(url, n) {
    const audio = h('audio', { controls: true, preload: 'none', testid: `s-sample-${n}` });
    audio.hidden = true;
    const btn = h('button', {
      type: 'button', class: 'small secondary', testid: `s-play-${n}`,
      onclick: async () => {
        btn.disabled = true;
        try {
          const res = await api('GET', url, { raw: true });
          audio.src = URL.createObjectURL(await res.blob());
          audio.hidden = false;
          btn.hidden = true;
          await audio.play().catch(() => {});
        } catch (e) { window.Dash.error(e); btn.disabled = false; }
      },
    }, 'Play sample');
    return h('span', { class: 'sample' }, btn, audio);
  }

  async function one([sid], el, ctx) {
    el.append(h('h1', null, `Session ${sid}`));
    const me = window.Dash.me();
    const load = () => Promise.all([
      api('GET', `/v1/sessions/${sid}`),
      api('GET', `/v1/sessions/${sid}/speakers`),
      api('GET', `/v1/sessions/${sid}/results`),
    ]);
    let [s, sp, res] = await load();
    if (!ctx.alive()) return;
    const draw = () => {
      ctx.title(s.title || `Session ${s.id}`);
      const counts = new Map((res.speakers || []).map((x) => [x.speaker, x]));
      const speakers = window.Dash.table({
        testid: 's-speakers',
        empty: s.status === 'ready_for_claiming' ? 'No speakers were found.' : 'Speakers appear when processing is done.',
        rows: sp.speakers || [],
        rowTestid: (x) => `s-speaker-${x.speaker}`,
        columns: [
          { key: 'speaker', label: 'Speaker', cell: (x) => `Speaker ${x.speaker}` },
          { key: 'talk', label: 'Talk time', num: true, cell: (x) => fmt.duration(x.talk_time) },
          { key: 'turns', label: 'Turns', num: true, cell: (x) => fmt.int(x.turns) },
          { key: 'words', label: 'Target words', num: true, cell: (x) => fmt.int(counts.has(x.speaker) ? counts.get(x.speaker).total : 0) },
          { key: 'sample', label: 'Sample', cell: (x) => (x.sample_url ? sampleButton(x.sample_url, x.speaker) : '–') },
          {
            key: 'claim', label: 'Claimed by', cell: (x) => (x.claimed_by
              ? h('span', { testid: `s-claimed-${x.speaker}` }, x.claimed_by, ' ',
                (me.admin || x.mine) ? h('button', {
                  type: 'button', class: 'small danger', testid: `s-unclaim-${x.speaker}`,
                  onclick: async () => {
                    if (!window.confirm(`Drop ${x.claimed_by}'s claim on speaker ${x.speaker}?`)) return;
                    try { sp = await api('DELETE', `/v1/sessions/${sid}/speakers/${x.speaker}/claim`); window.Dash.notice('Claim dropped.'); draw(); } catch (e) { window.Dash.error(e); }
                  },
                }, 'Drop claim') : null)
              : h('span', { class: 'meta' }, 'unclaimed')),
          },
        ],
      });
      const words = res.words || [];
      const perUser = window.Dash.table({
        testid: 's-users',
        empty: 'Nobody claimed a speaker yet.',
        rows: res.users || [],
        rowTestid: (u) => `s-user-${u.user}`,
        columns: [{ key: 'user', label: 'User' }, { key: 'total', label: 'Total', num: true, cell: (u) => fmt.int(u.total) }]
          .concat(words.map((w) => ({ key: w, label: w, num: true, cell: (u) => fmt.int((u.counts || {})[w] || 0) }))),
      });
      el.replaceChildren(...[
        h('h1', { tabindex: '-1', testid: 's-title' }, s.title || `Session ${s.id}`),
        h('button', { type: 'button', class: 'small secondary', testid: 's-refresh', onclick: () => window.Dash.navigate(location.hash) }, 'Refresh'),
        h('p', { class: 'meta' }, h('code', null, s.id), ' · owner ', h('strong', null, s.owner), ` · you: ${s.role} · `,
          badge(s.status, 's-status'), ' · ', h('span', { class: 'num' }, fmt.duration(s.audio_seconds)),
          ` in ${fmt.int(s.chunks)} chunk${s.chunks === 1 ? '' : 's'} · started ${fmt.time(s.created_at)}`,
          s.ended_at ? ` · ended ${fmt.time(s.ended_at)}` : ''),
        s.error ? h('p', { class: 'error-text' }, s.error) : null,
        h('div', { class: 'grid' },
          h('section', { class: 'card' }, h('h2', null, 'Recording'),
            s.recording
              ? h('p', null, h('a', { href: `#/r/${s.recording}`, testid: 's-recording-link' }, 'Open the recording'),
                ': the audio, the timeline, the transcript')
              : h('p', { class: 'meta' }, s.status === 'recording' ? 'Still recording.' : 'Not ended yet.'),
            s.join_code ? h('p', { class: 'meta' }, 'Join code ', h('code', { testid: 's-code' }, s.join_code),
              (s.gaps || []).length ? ` · missing chunks ${s.gaps.map((g) => (g[0] === g[1] ? `${g[0]}` : `${g[0]}–${g[1]}`)).join(', ')}` : '') : null,
            (s.stages || []).length
              ? h('ol', { class: 'stages' }, s.stages.map((x) => h('li', null, badge(x.status, `s-stage-${x.stage}`), ' ', x.stage)))
              : null),
          h('section', { class: 'card' }, h('h2', null, 'Counts per user'), perUser)),
        h('section', { class: 'card' }, h('h2', null, 'Speakers, samples and claims'), speakers),
      ].filter(Boolean));
    };
    draw();
    // live: when the stream's view of this session differs from the one shown
    // (it ended, a stage moved, it is ready for claiming), load the page's
    // three answers again and redraw; one load at a time, one more after it
    // when something came meanwhile.
    let loading = false;
    let again = false;
    const reload = async () => {
      if (loading) { again = true; return; }
      loading = true;
      try {
        do {
          again = false;
          const [s2, sp2, res2] = await load();
          if (!ctx.alive()) return;
          s = s2; sp = sp2; res = res2;
          draw();
        } while (again && ctx.alive());
      } catch (e) {
        if (ctx.alive()) window.Dash.error(e);
      } finally {
        loading = false;
      }
    };
    ctx.on('session', (v) => {
      if (v.id !== sid || same(v, s)) return;
      reload();
    });
  }

  window.Dash.page('sessions', { match: /^\/sessions$/, title: 'Sessions', render: list });
  window.Dash.page('session', { match: /^\/s\/([a-z2-7]{20})$/, nav: 'sessions', title: 'Session', render: one });
})();
