// The recording page (#/r/RID): one recording's story from
// GET /v1/recordings/RID (docs/api.md "Recordings") — its audio (Range-served,
// so the player seeks), a timeline of speaker turns and call events (IVR,
// hold, music, tones, overlap, silence) as bands, the transcript (every word
// a button that seeks; the word being played is highlighted), target words
// and corrections marked, metrics, the answers with their evidence (a click
// jumps to the moment), the verdict with the rules that fired, and for a
// session's recording the speakers' samples and claims. Live: while the
// recording is not done (or its batch gets a new audit version), the events
// of its batch or session on the live stream (ctx.on) load the view again;
// a changed view redraws the page (or, while the audio plays, offers to).
'use strict';

(() => {
  const { h, fmt } = window.Dash;

  // "1:05.3" — a position in the recording (not a clock time).
  function at(s) {
    if (typeof s !== 'number' || !Number.isFinite(s)) return '–';
    const m = Math.floor(s / 60);
    const sec = s - m * 60;
    return `${m}:${sec.toFixed(1).padStart(4, '0')}`;
  }

  const speakerName = (rec, n) => {
    if (n === null || n === undefined) return 'unknown';
    const sp = (rec.speakers || []).find((x) => x.speaker === n);
    return sp && sp.role ? `speaker ${n} (${sp.role})` : `speaker ${n}`;
  };

  // Every kind of band of the timeline: its row and its label.
  const BAND_ROWS = [
    { row: 'events', label: 'Call events' },
    { row: 'spans', label: 'Silence, overlap, hold' },
  ];

  function timeline(rec, seek) {
    const dur = rec.duration > 0 ? rec.duration : 1;
    const pct = (x) => `${Math.max(0, Math.min(100, (100 * x) / dur))}%`;
    const band = (cls, start, end, title, testid, extra) => {
      const b = h('button', {
        type: 'button', class: `band ${cls}`, title, 'aria-label': title, testid,
        dataset: Object.assign({ start: String(start) }, extra || {}),
        onclick: () => seek(start),
      });
      b.style.left = pct(start);
      b.style.width = `max(3px, ${pct(Math.max(0, end - start))})`;
      return b;
    };
    const rows = [];
    const speakers = (rec.speakers || []).map((s) => s.speaker);
    for (const n of speakers) {
      const bands = (rec.turns || []).filter((t) => t.speaker === n)
        .map((t) => band(`spk spk${((n - 1) % 6) + 1}`, t.start, t.end, `${speakerName(rec, n)} ${at(t.start)}–${at(t.end)}`, null));
      rows.push({ label: speakerName(rec, n), bands, testid: `tl-speaker-${n}` });
    }
    const ev = (rec.events || []).map((e) => band(`ev ev-${e.kind}`, e.start, e.end,
      `${e.kind.replace(/_/g, ' ')}${e.detail && e.detail.digits ? ` ${e.detail.digits}` : ''} ${at(e.start)}–${at(e.end)}`,
      `band-${e.kind}`, { kind: e.kind }));
    const sp = (rec.spans || []).concat((rec.overlaps || []).map((o) => ({ kind: 'overlap', start: o.start, end: o.end, who: `speaker ${o.speaker}` })))
      .map((s) => band(`sp sp-${s.kind}`, s.start, s.end,
        `${s.kind}${s.who ? ` (${s.who}${s.other ? ` / ${s.other}` : ''})` : ''} ${at(s.start)}–${at(s.end)}`,
        `band-${s.kind}`, { kind: s.kind }));
    rows.push({ label: BAND_ROWS[0].label, bands: ev, testid: 'tl-events' });
    rows.push({ label: BAND_ROWS[1].label, bands: sp, testid: 'tl-spans' });
    const head = h('div', { class: 'playhead', 'aria-hidden': 'true', testid: 'playhead' });
    const lanes = h('div', { class: 'lanes' },
      rows.map((r) => h('div', { class: 'lane', testid: r.testid },
        h('span', { class: 'lane-label' }, r.label),
        h('div', { class: 'lane-track' }, r.bands.length ? r.bands : h('span', { class: 'lane-empty' }, 'none')))),
      head);
    const kinds = [...new Set([...(rec.events || []), ...(rec.spans || [])].map((x) => x.kind))];
    const legend = h('p', { class: 'legend meta' }, kinds.length ? kinds.map((k) =>
      h('span', { class: 'legend-item' }, h('span', { class: `swatch ev-${k} sp-${k}` }), k.replace(/_/g, ' '))) : 'No call events.');
    return { el: h('div', { class: 'timeline', testid: 'timeline' }, lanes, legend), head };
  }

  function transcript(rec, seek) {
    const words = rec.words || [];
    if (!rec.transcribed && !words.length) {
      return { el: h('p', { class: 'meta', testid: 'transcript' }, 'Not transcribed (yet).'), buttons: [] };
    }
    // One paragraph per speaker turn: consecutive words of the same speaker.
    const paras = [];
    let cur = null;
    const buttons = [];
    words.forEach((w, i) => {
      if (!cur || cur.speaker !== w.speaker || (i > 0 && w.start - words[i - 1].end > 2.5)) {
        cur = { speaker: w.speaker, start: w.start, words: [] };
        paras.push(cur);
      }
      const cls = ['w'];
      let title = `${at(w.start)} · confidence ${fmt.pct(w.confidence)}`;
      if (w.target) { cls.push(w.counted ? 'target counted' : 'target'); title += w.counted ? ' · target word, counted' : ' · target word, not counted'; }
      if (w.heard) { cls.push('corrected'); title += ` · heard "${w.heard}"`; }
      if (w.confidence < 0.5) cls.push('low');
      const b = h('button', {
        type: 'button', class: cls.join(' '), title, testid: `word-${i}`,
        dataset: { start: String(w.start), end: String(w.end) },
        onclick: () => seek(w.start),
      }, w.word);
      buttons.push(b);
      cur.words.push(b, ' ');
    });
    const el = h('div', { class: 'transcript', testid: 'transcript' },
      paras.map((p) => h('p', { class: `turn spk${p.speaker ? ((p.speaker - 1) % 6) + 1 : 0}` },
        h('span', { class: 'turn-who' }, h('button', { type: 'button', class: 'link at', onclick: () => seek(p.start) }, at(p.start)),
          ' ', speakerName(rec, p.speaker)),
        h('span', { class: 'turn-words' }, p.words))));
    return { el, buttons };
  }

  function metrics(rec) {
    const scopes = Object.keys(rec.metrics || {});
    if (!scopes.length) return h('p', { class: 'meta', testid: 'metrics' }, 'No call metrics.');
    const names = [...new Set(scopes.flatMap((s) => Object.keys(rec.metrics[s])))].sort();
    const show = (name, v) => {
      if (typeof v !== 'number') return '–';
      if (/count|turns|words|made|received/.test(name)) return fmt.int(v);
      if (/share|ratio|rate$/.test(name) && v <= 1.0001) return fmt.pct(v, 1);
      if (/time|silence|duration|seconds|_s$|longest|hold/.test(name)) return fmt.duration(v);
      return fmt.num(v, Number.isInteger(v) ? 0 : 2);
    };
    return window.Dash.table({
      testid: 'metrics',
      columns: [{ key: 'name', label: 'Metric', cell: (r) => r.name.replace(/_/g, ' ') }].concat(scopes.map((s) => ({
        key: s, label: s, num: true, cell: (r) => show(r.name, rec.metrics[s][r.name]),
      }))),
      rows: names.map((n) => ({ name: n })),
      rowTestid: (r) => `metric-${r.name}`,
    });
  }

  function answerText(a) {
    if (a.na) return 'n/a';
    if (a.answer === null || a.answer === undefined) return '–';
    if (Array.isArray(a.answer)) return a.answer.join(', ');
    if (typeof a.answer === 'number') return fmt.num(a.answer, 2);
    return String(a.answer);
  }

  function audit(rec, seek) {
    if (!rec.audit) return null;
    const v = rec.audit.verdict;
    const verdict = v
      ? h('div', { class: 'verdict', testid: 'verdict', dataset: { verdict: v.verdict } },
        h('span', { class: 'badge', dataset: { status: v.verdict } }, v.verdict),
        ' ', h('span', { class: 'num' }, `${fmt.num(v.score, 1)} of ${fmt.num(v.max_score, 1)}`),
        v.auto_fail ? h('span', { class: 'badge', dataset: { status: 'fail' } }, 'auto-fail') : null,
        (v.reasons || []).length
          ? h('ul', { class: 'reasons', testid: 'reasons' }, v.reasons.map((r) =>
            h('li', { testid: `rule-${r.rule}` }, h('code', null, r.rule), ' → ',
              h('span', { class: 'badge', dataset: { status: r.verdict } }, r.verdict),
              r.weight !== undefined ? h('span', { class: 'meta' }, ` weight ${fmt.num(r.weight, 0)}`) : null,
              r.why ? h('span', { class: 'meta' }, ` — ${r.why}`) : null)))
          : h('p', { class: 'meta' }, 'No rule fired.'))
      : h('p', { class: 'meta', testid: 'verdict' }, 'No verdict yet.');
    const answers = (rec.audit.answers || []).map((a) => {
      const ev = (a.evidence || []).map((e, k) => {
        if (typeof e.start === 'number') {
          return h('li', null, h('button', {
            type: 'button', class: 'evidence', testid: `evidence-${a.question}-${k}`,
            dataset: { start: String(e.start) }, onclick: () => seek(e.start),
          }, h('span', { class: 'num' }, at(e.start)), ' ', `“${e.text || ''}”`, e.role ? h('span', { class: 'meta' }, ` ${e.role}`) : null));
        }
        if (e.metric) {
          return h('li', { class: 'meta' }, `${e.scope ? `${e.scope} ` : ''}${e.metric.replace(/_/g, ' ')} = ${typeof e.value === 'number' ? fmt.num(e.value, 3) : e.value}`);
        }
        return h('li', { class: 'meta' }, JSON.stringify(e));
      });
      return h('li', { class: 'answer', testid: `answer-${a.question}` },
        h('div', { class: 'answer-head' },
          h('span', { class: 'q' }, a.text || a.question),
          h('strong', { class: 'a', testid: `answer-value-${a.question}` }, answerText(a)),
          h('span', { class: 'meta num' }, `${fmt.num(a.score, 1)}/${fmt.num(a.max_score, 1)} · ${a.source}`),
          a.auto_fail ? h('span', { class: 'badge', dataset: { status: 'fail' } }, 'auto-fail') : null,
          a.valid === false ? h('span', { class: 'badge', dataset: { status: 'flag' } }, 'invalid reply') : null),
        a.error ? h('p', { class: 'error-text' }, a.error) : null,
        ev.length ? h('ul', { class: 'evidence-list' }, ev) : null);
    });
    return h('div', null, verdict,
      h('h3', null, `Answers (audit version ${rec.audit.version})`),
      answers.length ? h('ol', { class: 'answers', testid: 'answers' }, answers) : h('p', { class: 'meta' }, 'No answers yet.'));
  }

  function sessionSpeakers(rec) {
    const list = rec.session && rec.session.speakers || [];
    if (!list.length) return h('p', { class: 'meta' }, 'No speakers yet.');
    return h('ul', { class: 'samples', testid: 'session-speakers' }, list.map((s) => h('li', { testid: `sample-row-${s.speaker}` },
      h('strong', null, `Speaker ${s.speaker}`),
      h('span', { class: 'meta num' }, ` ${fmt.duration(s.talk_time)} · ${fmt.int(s.turns)} turns · `),
      s.claimed_by ? h('span', { testid: `claimed-${s.speaker}` }, `claimed by ${s.claimed_by}`) : h('span', { class: 'meta' }, 'unclaimed'),
      s.sample_url ? sampleAudio(s.sample_url, s.speaker) : null)));
  }

  // <audio> cannot send Authorization: fetch the WAV with the token and play it
  // from a blob URL (samples are short).
  function sampleAudio(url, n) {
    const a = h('audio', { controls: true, preload: 'none', testid: `sample-${n}` });
    const btn = h('button', {
      type: 'button', class: 'small secondary', testid: `load-sample-${n}`,
      onclick: async () => {
        btn.disabled = true;
        try {
          const res = await window.Dash.api('GET', url, { raw: true });
          a.src = URL.createObjectURL(await res.blob());
          btn.hidden = true;
          a.hidden = false;
          await a.play().catch(() => {});
        } catch (e) { window.Dash.error(e); btn.disabled = false; }
      },
    }, `Play sample`);
    a.hidden = true;
    return h('span', { class: 'sample' }, btn, a);
  }

  function stagesLine(rec) {
    return h('ol', { class: 'stages', testid: 'stages' }, (rec.stages || []).map((s) =>
      h('li', null, h('span', { class: 'badge', dataset: { status: s.status }, testid: `stage-${s.stage}` }, s.stage))));
  }

  window.Dash.page('recording', {
    match: /^\/r\/([1-9][0-9]{0,11})$/,
    nav: 'overview',
    title: 'Recording',
    async render([rid], el, ctx) {
      el.append(h('h1', { tabindex: '-1' }, `Recording ${rid}`));
      const rec = await window.Dash.api('GET', `/v1/recordings/${rid}`);
      if (!ctx.alive()) return;
      ctx.title(rec.name);
      el.replaceChildren();

      // The audio: the WAV fetched with the token into a blob URL (an
      // <audio src> cannot send Authorization). Range still serves it in
      // pieces when the browser asks; a blob seeks anywhere at once.
      const audio = h('audio', { controls: true, preload: 'auto', testid: 'audio', class: 'player' });
      let blobUrl = '';
      ctx.onLeave(() => { audio.pause(); if (blobUrl) URL.revokeObjectURL(blobUrl); });
      const seek = (t) => {
        if (!audio.src) return;
        audio.currentTime = Math.max(0, t);
        audio.play().catch(() => {});
      };

      const owner = rec.kind === 'session'
        ? h('a', { href: `#/s/${rec.session.id}`, testid: 'owner-link' }, `session ${rec.session.id}`)
        : h('a', { href: `#/b/${rec.batch.id}`, testid: 'owner-link' }, `batch ${rec.batch.name}`);
      const head = h('div', { class: 'rec-head' },
        h('h1', { tabindex: '-1', testid: 'rec-name' }, rec.name),
        h('p', { class: 'meta' }, 'Recording ', h('span', { class: 'num' }, `#${rec.id}`), ' of ', owner, ' · ',
          h('span', { class: 'badge', dataset: { status: rec.status }, testid: 'rec-status' }, rec.status), ' · ',
          h('span', { class: 'num' }, fmt.duration(rec.duration)),
          rec.language ? ` · language ${rec.language.code}` : '',
          rec.attempts > 1 ? ` · ${rec.attempts} attempts` : ''),
        rec.error ? h('p', { class: 'error-text', testid: 'rec-error' }, rec.error) : null,
        (rec.warnings || []).length
          ? h('ul', { class: 'warn-text', testid: 'rec-warnings', 'aria-label': 'Processed with warnings' },
            rec.warnings.map((w, i) => h('li', { testid: `rec-warning-${i}` }, `Warning (${w.stage}): ${w.message}`)))
          : null,
        stagesLine(rec));

      const tl = timeline(rec, seek);
      const tr = transcript(rec, seek);
      const player = h('section', { class: 'card sticky-player', 'aria-label': 'Audio and timeline' },
        rec.audio_url ? audio : h('p', { class: 'meta', testid: 'no-audio' }, 'The audio is not decoded yet.'),
        h('p', { class: 'meta now' }, 'Position ', h('span', { class: 'num', testid: 'position' }, at(0)), ' of ', h('span', { class: 'num' }, at(rec.duration))),
        tl.el);
      const speakers = window.Dash.table({
        testid: 'speakers',
        columns: [
          { key: 'speaker', label: 'Speaker', cell: (s) => h('span', { class: `dot spk${((s.speaker - 1) % 6) + 1}` }, s.label) },
          { key: 'role', label: 'Role', cell: (s) => s.role || '–' },
          { key: 'channel', label: 'Channel', num: true, cell: (s) => (s.channel === null ? '–' : String(s.channel)) },
          { key: 'talk_time', label: 'Talk time', num: true, cell: (s) => fmt.duration(s.talk_time) },
          { key: 'turns', label: 'Turns', num: true, cell: (s) => fmt.int(s.turns) },
          { key: 'counts', label: 'Target words', cell: (s) => Object.entries(s.counts || {}).filter(([, c]) => c > 0).map(([w, c]) => `${w} ${c}`).join(', ') || '–' },
        ],
        rows: rec.speakers || [],
        rowTestid: (s) => `speaker-row-${s.speaker}`,
        empty: 'No speakers yet.',
      });
      const legend = h('p', { class: 'meta legend' },
        h('span', { class: 'w target counted' }, 'target word'), ' counted · ',
        h('span', { class: 'w target' }, 'target word'), ' not counted · ',
        h('span', { class: 'w corrected' }, 'corrected'), ' spelling corrected (hover: what was heard) · ',
        h('span', { class: 'w low' }, 'low'), ' confidence under 50 %');
      const corrections = (rec.words || []).filter((w) => w.heard);
      const auditEl = audit(rec, seek);
      el.append(head, player,
        h('div', { class: 'grid rec-grid' },
          h('section', { class: 'card transcript-card' }, h('h2', null, 'Transcript',
            h('span', { class: 'meta num' }, `${fmt.int((rec.words || []).length)} words · ${fmt.int(corrections.length)} corrected`)), legend, tr.el),
          h('div', null,
            auditEl ? h('section', { class: 'card', testid: 'audit' }, h('h2', null, 'Verdict and answers'), auditEl) : null,
            rec.kind === 'session' ? h('section', { class: 'card' }, h('h2', null, 'Speakers, samples and claims'), sessionSpeakers(rec)) : null,
            h('section', { class: 'card' }, h('h2', null, 'Speakers'), speakers),
            h('section', { class: 'card' }, h('h2', null, 'Metrics'), metrics(rec)))));

      // Highlight the word being played (binary search over start times)
      // and move the playhead; no layout change: only classes and a transform.
      const starts = tr.buttons.map((b) => Number(b.dataset.start));
      let lit = null;
      const pos = el.querySelector('[data-testid="position"]');
      const tick = () => {
        const t = audio.currentTime;
        pos.textContent = at(t);
        const f = Math.min(1, t / (rec.duration || 1));
        tl.head.style.left = `calc(var(--lab) + (100% - var(--lab)) * ${f.toFixed(5)})`;
        let lo = 0; let hi = starts.length - 1; let k = -1;
        while (lo <= hi) { const mid = (lo + hi) >> 1; if (starts[mid] <= t) { k = mid; lo = mid + 1; } else hi = mid - 1; }
        const b = k >= 0 && t <= Number(tr.buttons[k].dataset.end) + 0.25 ? tr.buttons[k] : null;
        if (b !== lit) {
          if (lit) { lit.classList.remove('now'); lit.removeAttribute('aria-current'); }
          if (b) {
            b.classList.add('now');
            b.setAttribute('aria-current', 'time');
            if (!audio.paused) b.scrollIntoView({ block: 'nearest', inline: 'nearest' });
          }
          lit = b;
        }
      };
      audio.addEventListener('timeupdate', tick);
      audio.addEventListener('seeked', tick);
      let raf = 0;
      const loop = () => { tick(); raf = audio.paused ? 0 : requestAnimationFrame(loop); };
      audio.addEventListener('play', () => { if (!raf) raf = requestAnimationFrame(loop); });
      ctx.onLeave(() => cancelAnimationFrame(raf));

      // ---- live: reload the view when its batch or session moves ----
      const gist = (r) => JSON.stringify([r.status, r.error, r.attempts, r.stages, r.transcribed,
        (r.words || []).length, (r.warnings || []).length, r.audit && r.audit.version,
        r.audit && r.audit.verdict && r.audit.verdict.verdict]);
      const shown = gist(rec);
      let checking = false;
      let again = false;
      const check = async () => {
        if (checking) { again = true; return; }
        checking = true;
        try {
          do {
            again = false;
            const now = await window.Dash.api('GET', `/v1/recordings/${rid}`);
            if (!ctx.alive()) return;
            if (gist(now) === shown) continue;
            if (audio.src && !audio.paused) { // do not cut the audio: offer the new view
              if (!el.querySelector('[data-testid="rec-updated"]')) {
                head.append(h('p', { class: 'notice', testid: 'rec-updated' }, 'This recording changed. ',
                  h('button', { type: 'button', class: 'small', onclick: () => window.Dash.navigate(location.hash) }, 'Show it')));
              }
              return;
            }
            window.Dash.navigate(location.hash);
            return;
          } while (again && ctx.alive());
        } catch (e) {
          if (ctx.alive()) window.Dash.error(e);
        } finally {
          checking = false;
        }
      };
      const moving = () => rec.status !== 'done';
      if (rec.kind === 'session') {
        ctx.on('session', (v) => { if (v.id === rec.session.id && moving()) check(); });
      } else {
        ctx.on('batch', (v) => {
          if (v.id === rec.batch.id && (moving() || v.audit_version !== rec.batch.audit_version)) check();
        });
      }

      if (rec.audio_url) {
        const res = await window.Dash.api('GET', rec.audio_url, { raw: true });
        const blob = await res.blob();
        if (!ctx.alive()) return;
        blobUrl = URL.createObjectURL(blob);
        audio.src = blobUrl;
        audio.dataset.ready = '1';
      }
    },
  });
})();
