// dash_records.test.mjs — the recording page (#/r/RID), the sessions pages
// (#/sessions, #/s/SID) and the leaderboard (#/leaderboard), plus the
// recorder page's link to the dashboard. Run by tests/browser/dashboard.sh.
//
// One short generated stereo call (tests/gen/gen_call.py: ringback, DTMF,
// hold music; cached in build/calls-it like tests/integration/test_recordings.sh)
// goes into an audit batch (preset audit, a phrase and a metric question, one
// rule) and 14 s of it, as the only chunk, into a session of the plain user; the
// harness's worker processes both. Then, in chromium:
//   - the session page, open before the session ends, follows it live (the
//     event stream) to ready for claiming without a reload;
//   - the admin's recording page: the audio loads; the timeline shows the
//     speakers and the call events; clicking a transcript word (and Enter on
//     another, by keyboard) moves the playhead there (audio.currentTime) and
//     highlights that word; playing highlights the word being played; an
//     answer's evidence seeks to its moment; the verdict names its rule;
//   - a WAV cut in half (a decode-only batch): its warning on the recording
//     page and in the batch's results table;
//   - the user's session recording: the speakers' samples and claims;
//   - the sessions list and the session page; the leaderboard after a claim;
//   - every page at desktop and phone width (screenshots), no page wider
//     than a phone, no CSP violation.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { T, tid } from './dashlib.mjs';

const t = await T.start('records');
const { page, opt } = t;
const ADMIN = opt['admin-token'];
const USER = opt['user-token'];

// ---- the call (cached) ----------------------------------------------------------
let CALL = '';
await t.step('a generated stereo call (ringback, DTMF, hold)', null, async () => {
  const root = opt.root;
  const dir = process.env.PARLEY_CALLS_CACHE || path.join(root, 'build/calls-it');
  fs.mkdirSync(dir, { recursive: true });
  const args = '--seed 71 --channels 2 --ringback 1 --dtmf 2 --hold 6 --minutes 0.3 --singlish 0.6';
  const hash = (s) => crypto.createHash('sha256').update(s).digest('hex');
  // the same cache key as test_recordings.sh: sha256 of the generators' sums, then of "GENV args\n"
  const sums = ['tests/gen/gen_call.py', 'tests/gen/gen_conversation.py']
    .map((f) => `${hash(fs.readFileSync(path.join(root, f)))}  ${path.join(root, f)}\n`).join('');
  const genv = hash(sums).slice(0, 12);
  const key = hash(`${genv} ${args}\n`).slice(0, 12);
  CALL = path.join(dir, `rec-${key}.wav`);
  if (!fs.existsSync(CALL)) {
    execFileSync('python3', [path.join(root, 'tests/gen/gen_call.py'), '--out', dir, '--name', `rec-${key}`,
      '--cache-dir', process.env.PARLEY_GEN_CACHE || path.join(root, 'build/gen-cache'), '--quiet', ...args.split(' ')],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return `${(fs.statSync(CALL).size / 1e6).toFixed(1)} MB`;
});
const wav = fs.readFileSync(CALL);
// The session gets 14 s of the conversation only (less for the worker to do).
const SHORT = path.join(opt.tmp, 'session-chunk.wav');
execFileSync('sox', [CALL, SHORT, 'trim', '7', '14']);
const chunk = fs.readFileSync(SHORT);

// ---- an audit batch and a session ---------------------------------------------------
let RID = 0; let SRID = 0; let SID = ''; let BID = 0;
await t.step('an audit batch with the call, and a session with it as its only chunk', null, async () => {
  const name = `rec-${Date.now()}`;
  const b = await t.api('POST', '/v1/batches', {
    json: {
      name, preset: 'audit',
      questionnaire: {
        version: 1, name: 'rec', questions: [
          { id: 'greeting', type: 'yes_no', text: 'Did anyone say hello or thanks?', phrases: { any: ['hello', 'hi', 'thank*', 'thanks', 'lah', 'okay', 'yes', 'the'] } },
          { id: 'share', type: 'number', text: 'The agent share of the talk', metric: { metric: 'talk_share', scope: 'agent' } },
        ],
      },
      rules: 'rule talked pass when metric.agent.talk_share > 1% because "the agent talked";',
    },
  });
  BID = b.id;
  const up = await t.api('PUT', `/v1/batches/${BID}/files/call.wav`, { body: wav });
  RID = up.recording;
  await t.api('POST', `/v1/batches/${BID}/start`);
  const s = await t.api('POST', '/v1/sessions', { token: USER, json: { title: 'Friday lepak' } });
  SID = s.id;
  await t.api('PUT', `/v1/sessions/${SID}/chunks/0`, { token: USER, body: chunk, headers: { 'Content-Type': 'audio/wav' } });
  return `batch ${BID} recording ${RID}, session ${SID} (still recording)`;
});

// Live: the session page, open while the session is still recording, follows
// it through its end and processing to ready for claiming with no reload (a
// mark set on the window survives) and no click on Refresh.
await t.step(`sign in as ${opt.admin}; the session page follows the session live as it ends and is processed`, 'session-live', async () => {
  await t.signIn(ADMIN);
  await page.goto(`${opt.url}/dashboard#/s/${SID}`);
  await page.locator(`${tid('s-status')}[data-status="recording"]`).waitFor();
  await page.evaluate(() => { window.parleyNoReload = 1; });
  const e = await t.api('POST', `/v1/sessions/${SID}/end`, { token: USER });
  SRID = e.recording;
  await page.locator(`${tid('s-status')}[data-status="ready_for_claiming"]`).waitFor({ timeout: Math.max(t.timeout, 240000) });
  await page.locator(tid('s-recording-link')).waitFor();
  if (await page.evaluate(() => window.parleyNoReload) !== 1) throw new Error('the page was reloaded');
  const rows = await page.locator('[data-testid^="s-speaker-"]').count();
  if (rows < 1) throw new Error('no speaker rows after processing');
  await t.noBanner();
  return `session recording ${SRID}: ready for claiming, ${rows} speakers, no reload`;
});

await t.step('the worker processes both', null, async () => {
  await t.until('both recordings done', async () => {
    const a = await t.api('GET', `/v1/recordings/${RID}`);
    const b = await t.api('GET', `/v1/recordings/${SRID}`, { token: USER });
    if (a.status === 'failed' || b.status === 'failed') throw new Error(`failed: ${a.error || b.error}`);
    return a.status === 'done' && b.status === 'done';
  }, Math.max(t.timeout, 240000));
});

// ---- the recording page -------------------------------------------------------------
// No "null", "undefined", "NaN" or "[object" leaked into the page's text.
async function noJunk() {
  const text = await page.locator('main').innerText();
  const m = text.match(/\b(null|undefined|NaN)\b|\[object /);
  if (m) throw new Error(`the page shows "${m[0]}" near "${text.slice(Math.max(0, m.index - 40), m.index + 20).replace(/\s+/g, ' ')}"`);
}

const audioState = () => page.evaluate(() => {
  const a = document.querySelector('[data-testid="audio"]');
  return a ? { t: a.currentTime, ready: a.readyState, paused: a.paused, dur: a.duration } : null;
});
const nowWord = () => page.evaluate(() => {
  const w = document.querySelector('.transcript .w.now');
  return w ? w.dataset.testid : null;
});

await t.step(`as ${opt.admin}: the recording page of the call`, 'recording', async () => {
  await page.goto(`${opt.url}/dashboard#/r/${RID}`);
  await page.locator(tid('rec-name')).waitFor();
  await page.locator(`${tid('audio')}[data-ready="1"]`).waitFor({ state: 'attached' });
  await page.waitForFunction(() => document.querySelector('[data-testid="audio"]').readyState >= 1);
  const name = (await page.locator(tid('rec-name')).textContent()).trim();
  if (name !== 'call.wav') throw new Error(`heading "${name}"`);
  const words = await page.locator('.transcript .w').count();
  if (words < 10) throw new Error(`${words} words in the transcript`);
  for (const id of ['tl-speaker-1', 'tl-speaker-2', 'band-dtmf', 'band-ringback', 'verdict', 'rule-talked', 'metrics']) {
    if (!await page.locator(tid(id)).first().isVisible()) throw new Error(`no ${id} shown`);
  }
  await t.noBanner();
  await noJunk();
  const st = await audioState();
  return `${words} words, audio ${st.dur.toFixed(1)} s`;
});

await t.step('the recording page at desktop and phone width', null, async () => { await t.shots('recording'); });

// A word well into the call (not the first: the playhead starts at 0).
const pick = await page.evaluate(() => {
  const ws = [...document.querySelectorAll('.transcript .w')];
  const w = ws.find((b) => Number(b.dataset.start) > 8) || ws[ws.length - 1];
  const k = ws.find((b) => Number(b.dataset.start) > Number(w.dataset.start) + 3) || ws[0];
  return { id: w.dataset.testid, start: Number(w.dataset.start), kid: k.dataset.testid, kstart: Number(k.dataset.start) };
});

await t.step('clicking a transcript word moves the playhead there and highlights it', 'seek-word', async () => {
  await page.click(tid(pick.id));
  await page.waitForFunction((s) => Math.abs(document.querySelector('[data-testid="audio"]').currentTime - s) < 0.6, pick.start);
  await page.evaluate(() => document.querySelector('[data-testid="audio"]').pause());
  await page.evaluate((s) => { const a = document.querySelector('[data-testid="audio"]'); a.currentTime = s; }, pick.start + 0.01);
  await page.waitForFunction((id) => { const w = document.querySelector('.transcript .w.now'); return w && w.dataset.testid === id; }, pick.id);
  const st = await audioState();
  return `${pick.id} at ${pick.start} s → currentTime ${st.t.toFixed(2)} s`;
});

await t.step('keyboard: Tab to a word and Enter seeks to it', null, async () => {
  await page.focus(tid(pick.kid));
  await page.keyboard.press('Enter');
  await page.waitForFunction((s) => Math.abs(document.querySelector('[data-testid="audio"]').currentTime - s) < 0.6, pick.kstart);
  const st = await audioState();
  return `${pick.kid} at ${pick.kstart} s → ${st.t.toFixed(2)} s`;
});

await t.step('playing highlights the word being played as the time moves on', 'playing', async () => {
  const from = (await audioState()).t;
  await page.evaluate(() => document.querySelector('[data-testid="audio"]').play());
  await page.waitForFunction((f) => document.querySelector('[data-testid="audio"]').currentTime > f + 1.0, from);
  await page.waitForFunction(() => !!document.querySelector('.transcript .w.now'));
  await page.evaluate(() => document.querySelector('[data-testid="audio"]').pause());
  const st = await audioState();
  const lit = await nowWord();
  const litStart = Number(await page.getAttribute(tid(lit), 'data-start'));
  if (litStart > st.t + 0.3) throw new Error(`the lit word ${lit} starts at ${litStart} s, after the playhead ${st.t}`);
  return `played ${from.toFixed(1)} → ${st.t.toFixed(1)} s, lit ${lit} (${litStart} s)`;
});

await t.step("an answer's evidence seeks to its moment", 'evidence', async () => {
  const ev = page.locator('[data-testid^="evidence-greeting-"]').first();
  await ev.waitFor();
  const s = Number(await ev.getAttribute('data-start'));
  await ev.click();
  await page.waitForFunction((x) => Math.abs(document.querySelector('[data-testid="audio"]').currentTime - x) < 0.6, s);
  await page.evaluate(() => document.querySelector('[data-testid="audio"]').pause());
  const text = (await page.locator(tid('answer-value-greeting')).textContent()).trim();
  if (text !== 'yes') throw new Error(`greeting answered "${text}"`);
  return `evidence at ${s} s → ${(await audioState()).t.toFixed(2)} s`;
});

await t.step('a band of the timeline seeks too (the DTMF event)', null, async () => {
  const b = page.locator(tid('band-dtmf')).first();
  const s = Number(await b.getAttribute('data-start'));
  await b.click();
  await page.waitForFunction((x) => Math.abs(document.querySelector('[data-testid="audio"]').currentTime - x) < 0.6, s);
  await page.evaluate(() => document.querySelector('[data-testid="audio"]').pause());
});

// ---- honest inputs: a WAV cut in half is processed with a warning, shown ---------------
await t.step('a WAV cut in half (decode only): the recording page and the batch page show its warning', 'warning', async () => {
  const cut = chunk.subarray(0, Math.floor(chunk.length / 2)); // the header still promises 14 s
  const b = await t.api('POST', '/v1/batches', { json: { name: `cut-${Date.now()}`, stages: 'decode' } });
  const up = await t.api('PUT', `/v1/batches/${b.id}/files/half.wav`, { body: cut });
  await t.api('POST', `/v1/batches/${b.id}/start`);
  await t.until('the cut file processed', async () => {
    const r = await t.api('GET', `/v1/recordings/${up.recording}`);
    if (r.status === 'failed') throw new Error(`failed: ${r.error}`);
    return r.status === 'done';
  }, Math.max(t.timeout, 120000));
  await page.goto(`${opt.url}/dashboard#/r/${up.recording}`);
  await page.locator(tid('rec-name')).waitFor();
  const w = page.locator(tid('rec-warning-0'));
  await w.waitFor();
  const text = (await w.textContent()).trim();
  if (!/^Warning \(decode\): (.*\/)?half\.wav: the WAV header promises 14\.0 s/.test(text)) throw new Error(`warning "${text}"`);
  await t.noBanner();
  await noJunk();
  await page.goto(`${opt.url}/dashboard#/b/${b.id}`);
  const cell = page.locator(tid('warnings-half.wav'));
  await cell.waitFor();
  const ct = (await cell.textContent()).trim();
  if (!/header promises 14\.0 s/.test(ct)) throw new Error(`results table warning "${ct}"`);
  await t.noBanner();
  return text;
});

// ---- the session's recording, sessions, session page, leaderboard -----------------------
await t.step('the user signs in; the session recording shows the speakers\' samples and claims', 'session-recording', async () => {
  await page.click(tid('signout'));
  await t.signIn(USER);
  await page.goto(`${opt.url}/dashboard#/r/${SRID}`);
  await page.locator(tid('session-speakers')).waitFor();
  const n = await page.locator('[data-testid^="sample-row-"]').count();
  if (n < 1) throw new Error('no speaker rows');
  await page.click(tid('load-sample-1'));
  await page.waitForFunction(() => { const a = document.querySelector('[data-testid="sample-1"]'); return a && a.readyState >= 1; });
  await t.noBanner();
  await noJunk();
  await t.shots('session-recording');
  return `${n} speakers`;
});

await t.step('a recording the user may not see: the server\'s 404 message', null, async () => {
  await page.goto(`${opt.url}/dashboard#/r/${RID}`);
  await page.locator(tid('error')).waitFor({ state: 'visible' });
  const msg = (await page.locator(tid('error-message')).textContent()).trim();
  if (!/no recording/.test(msg)) throw new Error(`banner "${msg}"`);
  await page.click(tid('error-close'));
  return `"${msg}"`;
});

await t.step('the user claims speaker 1 (API)', null, async () => {
  await t.api('POST', `/v1/sessions/${SID}/speakers/1/claim`, { token: USER });
});

await t.step('the admin: #/sessions lists the session; the filter finds it', 'sessions', async () => {
  await page.click(tid('signout'));
  await t.signIn(ADMIN);
  await page.click(tid('nav-sessions'));
  await page.locator(tid(`sessions-row-${SID}`)).waitFor();
  await page.fill(tid('sessions-q'), 'lepak');
  await page.locator(tid(`sessions-row-${SID}`)).waitFor();
  await page.selectOption(tid('sessions-status'), 'recording');
  await page.locator(tid(`sessions-row-${SID}`)).waitFor({ state: 'detached' });
  await page.selectOption(tid('sessions-status'), '');
  await page.fill(tid('sessions-q'), '');
  await t.noBanner();
  await noJunk();
  await t.shots('sessions');
});

await t.step('#/s/SID: speakers with samples and the claim, counts per user, the recording link', 'session', async () => {
  await page.click(tid(`sessions-link-${SID}`));
  await page.locator(tid('s-speakers')).waitFor();
  const who = (await page.locator(tid('s-claimed-1')).textContent()).trim();
  if (!who.startsWith(opt.user)) throw new Error(`speaker 1 claimed by "${who}"`);
  await page.locator(tid(`s-user-${opt.user}`)).waitFor();
  await page.locator(tid('s-unclaim-1')).waitFor(); // an admin may drop a claim
  await t.noBanner();
  await noJunk();
  await t.shots('session');
  await page.click(tid('s-recording-link'));
  await page.locator(tid('session-speakers')).waitFor();
  return who;
});

await t.step('#/leaderboard: the user ranked; a word filter in the address', 'leaderboard', async () => {
  await page.click(tid('nav-leaderboard'));
  await page.locator(tid('lb-table')).waitFor();
  await t.noBanner();
  await noJunk();
  await t.shots('leaderboard');
  await page.fill(tid('lb-word'), 'lah');
  await page.click(tid('lb-show'));
  await page.waitForFunction(() => location.hash === '#/leaderboard?word=lah');
  await page.locator(tid('lb-table')).waitFor();
  await t.noBanner();
  const rows = await page.locator('[data-testid^="lb-row-"]').count();
  return `${rows} ranked for "lah"`;
});

await t.step('the recorder page links to the dashboard', null, async () => {
  await page.goto(`${opt.url}/`);
  const href = await page.getAttribute(tid('dashboard-link'), 'href');
  if (href !== '/dashboard') throw new Error(`href ${href}`);
  await page.click(tid('dashboard-link'));
  await page.locator(tid('me-name')).waitFor({ state: 'visible' });
});

await t.done();
