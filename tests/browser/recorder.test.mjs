// recorder.test.mjs — the recorder page end to end in a real browser.
//
//   node recorder.test.mjs --url http://127.0.0.1:PORT --token TOKEN --wav CONV.wav
//        [--artifacts DIR] [--chunk 12] [--record-seconds 60] [--ready-timeout 300]
//        [--chromium /usr/bin/chromium] [--user tester] [--token2 TOKEN --user2 guest]
//
// Debian's chromium (headless, driven by playwright-core) records CONV.wav
// through its fake microphone: sign in with the token, start a session,
// record in chunks of --chunk seconds (?chunk=), end, wait for the session
// to be ready for claiming, play a speaker's sample, claim the speaker that
// said the most target words, check the results and the leaderboard. With
// --token2 a second user (own browser context) opens the share link, signs
// in with a token (and so joins) and claims another speaker. The first upload of chunk 1 fails with a network
// error and that of chunk 2 with a 503 (injected by the test): the page must
// show them retrying and upload them. A second session records while every
// upload fails, reloads the page, and its chunks must come back from
// IndexedDB and be uploaded.
// One TAP line per step ("ok N - …" / "not ok N - …"), a screenshot per step
// in --artifacts; the first failure stops the run (exit 1). tests/browser/run.sh
// starts the server and prepares the arguments.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    token: { type: 'string' },
    wav: { type: 'string' },
    artifacts: { type: 'string', default: 'build/test-artifacts/browser' },
    chunk: { type: 'string', default: '12' },
    'record-seconds': { type: 'string', default: '60' },
    'ready-timeout': { type: 'string', default: '300' },
    chromium: { type: 'string', default: process.env.PARLEY_CHROMIUM || '/usr/bin/chromium' },
    user: { type: 'string', default: 'tester' },
    // a second user (optional) who joins with the code and claims another speaker
    token2: { type: 'string' },
    user2: { type: 'string', default: 'guest' },
  },
});

function usage(msg) {
  console.log(`not ok 1 - recorder.test.mjs arguments: ${msg}`);
  process.exit(2);
}
if (!opt.url || !/^https?:\/\/[^/]+$/.test(opt.url)) usage('--url http://HOST:PORT is required');
if (!opt.token) usage('--token is required');
if (!opt.wav || !fs.existsSync(opt.wav)) usage(`--wav ${opt.wav || '(none)'}: no such file`);
const CHUNK = Number(opt.chunk);
const RECORD_S = Number(opt['record-seconds']);
const READY_S = Number(opt['ready-timeout']);
if (!(CHUNK >= 2)) usage('--chunk is a number of seconds >= 2');
if (!(RECORD_S > 0)) usage('--record-seconds is a positive number');
if (!(READY_S > 0)) usage('--ready-timeout is a positive number');
fs.mkdirSync(opt.artifacts, { recursive: true });

const tid = (id) => `[data-testid="${id}"]`;
const t0 = Date.now();
const since = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
let n = 0;
const injected = {}; // chunk seq -> PUT attempts seen by the test's route
let shot = 0;
let page = null;
let browser = null;
const consoleLines = [];

async function screenshot(name) {
  if (!page) return;
  shot++;
  const file = path.join(opt.artifacts, `${String(shot).padStart(2, '0')}-${name}.png`);
  try { await page.screenshot({ path: file, fullPage: true }); } catch (e) { console.log(`# screenshot ${file}: ${e.message}`); }
}

async function bannerText() {
  try {
    const el = page.locator(tid('error'));
    if (await el.isVisible()) return (await page.locator(tid('error-message')).textContent()).trim();
  } catch (_) { /* page gone */ }
  return '';
}

// One step: runs fn, prints one TAP line, takes a screenshot. A failure
// prints what the page showed and ends the run.
async function step(what, name, fn) {
  n++;
  try {
    const extra = await fn();
    console.log(`ok ${n} - ${what}${extra ? ` (${extra})` : ''} [${since()}]`);
    await screenshot(name);
  } catch (e) {
    console.log(`not ok ${n} - ${what}: ${e.message.split('\n')[0]} [${since()}]`);
    const banner = await bannerText();
    if (banner) console.log(`# page error banner: ${banner}`);
    await screenshot(`${name}-FAILED`);
    for (const l of consoleLines.slice(-20)) console.log(`# console: ${l}`);
    await finish(1);
  }
}

async function finish(code) {
  console.log(`1..${n}`);
  if (browser) await browser.close().catch(() => {});
  process.exit(code);
}

async function noBanner() {
  const b = await bannerText();
  if (b) throw new Error(`the page shows an error: ${b}`);
}

// ---------------------------------------------------------------------------
await step('launch chromium with the fake microphone', 'launch', async () => {
  browser = await chromium.launch({
    executablePath: opt.chromium,
    headless: true,
    args: [
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${path.resolve(opt.wav)}`,
      '--autoplay-policy=no-user-gesture-required',
      '--no-sandbox',
    ],
  });
  // A phone-sized window: the page must work there.
  const ctx = await browser.newContext({ viewport: { width: 412, height: 915 }, deviceScaleFactor: 1 });
  page = await ctx.newPage();
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text().split('\n')[0]}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  page.setDefaultTimeout(30000);
  // Every state a chunk shows is recorded (the list is re-rendered often).
  await page.addInitScript(() => {
    window.__chunkStates = {};
    new MutationObserver(() => {
      for (const el of document.querySelectorAll('[data-testid^="chunk-"][data-state]')) {
        const seen = (window.__chunkStates[el.dataset.testid] ||= []);
        if (seen[seen.length - 1] !== el.dataset.state) seen.push(el.dataset.state);
      }
    }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
  });
  // The upload queue meets a network error (first PUT of chunk 1) and a
  // 503 (first PUT of chunk 2): both must be retried, not dropped.
  await page.route(/\/v1\/sessions\/[a-z2-7]+\/chunks\/[12]$/, async (route) => {
    const seq = Number(route.request().url().split('/').pop());
    injected[seq] = (injected[seq] || 0) + 1;
    if (injected[seq] > 1) return route.continue();
    if (seq === 1) return route.abort('connectionreset');
    return route.fulfill({
      status: 503, contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'unavailable', message: 'injected by the test: store unavailable' } }),
    });
  });
  return `chromium ${browser.version()}`;
});

await step('the page loads at / and asks for a token', 'signin', async () => {
  const res = await page.goto(`${opt.url}/?chunk=${CHUNK}`);
  if (!res || res.status() !== 200) throw new Error(`GET / answered ${res && res.status()}`);
  await page.locator(tid('token')).waitFor({ state: 'visible' });
});

await step('a wrong token is refused with the server\'s message', 'signin-refused', async () => {
  await page.fill(tid('token'), 'not-a-real-token');
  await page.click(tid('signin'));
  await page.locator(tid('error')).waitFor({ state: 'visible' });
  const msg = (await page.locator(tid('error-message')).textContent()).trim();
  if (!msg) throw new Error('empty error message');
  await page.click(tid('error-close'));
  return `"${msg}"`;
});

await step(`sign in with the token of ${opt.user}`, 'signed-in', async () => {
  await page.fill(tid('token'), opt.token);
  await page.click(tid('signin'));
  await page.locator(tid('me-name')).waitFor({ state: 'visible' });
  const name = (await page.locator(tid('me-name')).textContent()).trim();
  if (!name.startsWith(opt.user)) throw new Error(`signed in as "${name}", expected ${opt.user}`);
  await page.locator(tid('home-view')).waitFor({ state: 'visible' });
  await noBanner();
});

let sessionId = '';
let joinCode = '';
let page2 = null;
await step('start a session: id, join code and share hint shown', 'session', async () => {
  await page.fill(tid('session-title'), 'browser test');
  await page.click(tid('start-session'));
  await page.locator(tid('session-view')).waitFor({ state: 'visible' });
  await page.waitForFunction(() => /^[a-z2-7]{20}$/.test(document.querySelector('[data-testid="session-id"]').textContent));
  sessionId = (await page.locator(tid('session-id')).textContent()).trim();
  await page.waitForFunction(() => /^[A-HJ-NP-Z2-9]{10}$/.test(document.querySelector('[data-testid="session-code"]').textContent));
  const code = (await page.locator(tid('session-code')).textContent()).trim();
  joinCode = code;
  await page.locator(tid('share-hint')).waitFor({ state: 'visible' });
  const status = await page.locator(tid('session-status')).getAttribute('data-status');
  if (status !== 'recording') throw new Error(`status ${status}, expected recording`);
  await noBanner();
  return `session ${sessionId}, code ${code}`;
});

if (opt.token2) {
  await step(`${opt.user2} opens the share link, signs in with a token and is in the session`, 'guest-joined', async () => {
    const ctx2 = await browser.newContext({ viewport: { width: 412, height: 915 } });
    page2 = await ctx2.newPage();
    page2.setDefaultTimeout(30000);
    await page2.goto(`${opt.url}/?join=${sessionId}&code=${joinCode}`);
    // the share link offers a sign-up (tests/browser/signup.sh) and the token sign-in;
    // signed in with a token, the page joins the session of the link at once
    await page2.fill(tid('token'), opt.token2);
    await page2.click(tid('signin'));
    await page2.waitForFunction((id) => document.querySelector('[data-testid="session-id"]').textContent === id
      && document.querySelector('[data-testid="session-status"]').dataset.status === 'recording', sessionId);
    await page2.locator(tid('not-recorder')).waitFor({ state: 'visible' });
    if (await page2.locator(tid('recorder')).isVisible()) throw new Error('a participant is offered the recorder');
    const shot2 = path.join(opt.artifacts, 'guest-joined.png');
    await page2.screenshot({ path: shot2, fullPage: true });
    return `via the share link; screenshot ${path.basename(shot2)}`;
  });
}

await step(`record ${RECORD_S} s in chunks of ${CHUNK} s, the first chunks upload while recording`, 'recording', async () => {
  await page.click(tid('record'));
  await page.locator(`${tid('recorder-state')}[data-state="recording"]`).waitFor({ timeout: 30000 });
  const started = Date.now();
  // the first chunk must be uploaded while still recording
  await page.locator(`${tid('chunk-0')}[data-state="done"]`).waitFor({ timeout: (CHUNK + 60) * 1000 });
  const left = RECORD_S * 1000 - (Date.now() - started);
  if (left > 0) await page.waitForTimeout(left);
  await noBanner();
  const states = await page.$$eval('[data-testid^="chunk-"][data-state]', (els) => els.map((e) => e.dataset.state));
  return `${states.length} chunks so far: ${states.join(' ')}`;
});

let chunks = 0;
await step('end: the last chunk is flushed, every chunk uploaded, the session is processing', 'ended', async () => {
  await page.click(tid('end'));
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid="session-status"]').dataset.status;
    return s === 'processing' || s === 'ready_for_claiming' || s === 'failed';
  }, null, { timeout: 120000 });
  const states = await page.$$eval('[data-testid^="chunk-"][data-state]', (els) => els.map((e) => `${e.dataset.testid.slice(6)}:${e.dataset.state}`));
  chunks = states.length;
  const bad = states.filter((s) => !s.endsWith(':done'));
  if (bad.length) throw new Error(`chunks not uploaded: ${bad.join(' ')}`);
  const seen = await page.evaluate(() => window.__chunkStates);
  for (const seq of [1, 2]) {
    const path1 = (seen[`chunk-${seq}`] || []).join('>');
    if (!(injected[seq] >= 2) || !/uploading>retrying>(queued>)?uploading>done/.test(path1)) {
      throw new Error(`chunk ${seq} (first upload failed on purpose): ${injected[seq] || 0} PUTs, states ${path1}`);
    }
  }
  const expect = Math.floor(RECORD_S / CHUNK);
  if (chunks < expect) throw new Error(`${chunks} chunks, expected at least ${expect}`);
  const audio = (await page.locator(tid('session-audio')).textContent()).trim();
  if (/missing/.test(audio)) throw new Error(`the server reports gaps: ${audio}`);
  await noBanner();
  return `${chunks} chunks, 1 and 2 retried after an injected network error and 503; server: ${audio}`;
});

await step(`processing reaches ready_for_claiming (up to ${READY_S} s)`, 'ready', async () => {
  const began = Date.now();
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid="session-status"]').dataset.status;
    return s === 'ready_for_claiming' || s === 'failed';
  }, null, { timeout: READY_S * 1000, polling: 1000 });
  const status = await page.locator(tid('session-status')).getAttribute('data-status');
  const stages = await page.$$eval('[data-testid^="stage-"]', (els) => els.map((e) => `${e.dataset.testid.slice(6)}:${e.dataset.status}`));
  if (status !== 'ready_for_claiming') {
    const err = (await page.locator(tid('session-error')).textContent()).trim();
    throw new Error(`status ${status}: ${err} (stages ${stages.join(' ')})`);
  }
  return `after ${((Date.now() - began) / 1000).toFixed(0)} s; stages ${stages.join(' ')}`;
});

let speakers = [];
await step('at least one speaker is listed, each with a sample player', 'speakers', async () => {
  await page.locator(tid('speaker-1')).waitFor({ state: 'visible', timeout: 30000 });
  speakers = await page.$$eval('[data-testid^="speaker-"][data-speaker]', (els) => els.map((e) => Number(e.dataset.speaker)));
  if (speakers.length < 1) throw new Error('no speaker');
  for (const s of speakers) await page.locator(tid(`sample-${s}`)).waitFor({ state: 'attached' });
  await noBanner();
  return `${speakers.length} speakers`;
});

await step('the sample of speaker 1 (fetched with the bearer token) loads and plays', 'sample', async () => {
  await page.waitForFunction(() => {
    const a = document.querySelector('[data-testid="sample-1"]');
    return a && a.dataset.loaded === '1' && a.readyState >= 1 && Number.isFinite(a.duration) && a.duration > 0;
  }, null, { timeout: 30000 });
  const r = await page.evaluate(async () => {
    const a = document.querySelector('[data-testid="sample-1"]');
    let played = false;
    let why = '';
    try {
      await a.play();
      await new Promise((resolve) => {
        const done = () => resolve();
        a.addEventListener('timeupdate', () => { if (a.currentTime > 0.2) done(); });
        a.addEventListener('ended', done);
        setTimeout(done, 10000);
      });
      played = a.currentTime > 0 || a.ended;
      a.pause();
    } catch (e) { why = e.message; }
    return { duration: a.duration, played, currentTime: a.currentTime, why };
  });
  if (!(r.duration > 0)) throw new Error(`duration ${r.duration}`);
  if (!r.played) console.log(`# the sample did not advance while playing (${r.why || `currentTime ${r.currentTime}`}); its duration is known`);
  return `duration ${r.duration.toFixed(1)} s, ${r.played ? `played to ${r.currentTime.toFixed(1)} s` : 'not played'}`;
});

let claimed = 0;
await step('claim the speaker with the most target words', 'claimed', async () => {
  await page.locator(tid('results')).waitFor({ state: 'visible' });
  const totals = await page.$$eval('[data-testid^="result-speaker-"]', (els) => els.map((e) => ({
    speaker: Number(e.dataset.key), total: Number(e.querySelector('td.total').textContent),
  })));
  totals.sort((a, b) => b.total - a.total || a.speaker - b.speaker);
  claimed = totals.length ? totals[0].speaker : speakers[0];
  await page.click(tid(`claim-${claimed}`));
  await page.waitForFunction((k) => /you/.test(document.querySelector(`[data-testid="claimed-by-${k}"]`).textContent), claimed);
  await noBanner();
  return `speaker ${claimed} (${totals.map((t) => `${t.speaker}:${t.total}`).join(' ')} target words)`;
});

let myTotal = 0;
await step(`the results list ${opt.user} with the claimed speaker's counts`, 'results', async () => {
  const row = page.locator(tid(`result-user-${opt.user}`));
  await row.waitFor({ state: 'visible' });
  myTotal = Number(await row.locator('td.total').textContent());
  const spTotal = Number(await page.locator(`${tid(`result-speaker-${claimed}`)} td.total`).textContent());
  if (myTotal !== spTotal) throw new Error(`user total ${myTotal}, speaker ${claimed} total ${spTotal}`);
  const words = await page.$$eval(`${tid('results-users')} thead th`, (els) => els.map((e) => e.textContent).slice(2));
  return `${opt.user}: ${myTotal} target words; columns ${words.join(' ')}`;
});

await step('claiming a second speaker is refused (409) with the server\'s message', 'claim-conflict', async () => {
  const other = speakers.find((s) => s !== claimed);
  if (other === undefined) return 'skipped: one speaker only';
  // The page disables the button; call the API as the page would to see the 409 shown.
  await page.evaluate((k) => { const b = document.querySelector(`[data-testid="claim-${k}"]`); if (b) b.disabled = false; }, other);
  await page.click(tid(`claim-${other}`));
  await page.locator(tid(`speaker-error-${other}`)).waitFor({ state: 'visible' });
  const msg = (await page.locator(tid(`speaker-error-${other}`)).textContent()).trim();
  if (!msg) throw new Error('empty message');
  await page.click(tid('error-close'));
  return `"${msg}"`;
});

if (page2) {
  await step(`${opt.user2} claims another speaker; the results list both users`, 'guest-claimed', async () => {
    const other = speakers.find((s) => s !== claimed);
    if (other === undefined) return 'skipped: one speaker only';
    await page2.click(tid('speakers-refresh'));
    await page2.locator(tid(`claim-${other}`)).waitFor({ state: 'visible', timeout: 60000 });
    // the speaker the first user claimed is not claimable by the guest
    const taken = (await page2.locator(tid(`claimed-by-${claimed}`)).textContent()).trim();
    if (!taken.includes(opt.user)) throw new Error(`speaker ${claimed} shows "${taken}" to ${opt.user2}`);
    await page2.click(tid(`claim-${other}`));
    await page2.waitForFunction((k) => /you/.test(document.querySelector(`[data-testid="claimed-by-${k}"]`).textContent), other);
    await page2.locator(tid(`result-user-${opt.user2}`)).waitFor({ state: 'visible' });
    await page2.locator(tid(`result-user-${opt.user}`)).waitFor({ state: 'visible' });
    await page2.screenshot({ path: path.join(opt.artifacts, 'guest-claimed.png'), fullPage: true });
    // and the first user sees the guest's claim after a refresh
    await page.click(tid('speakers-refresh'));
    await page.waitForFunction((k) => document.querySelector(`[data-testid="claimed-by-${k}"]`).textContent.includes('claimed by'), other);
    await page.locator(tid(`result-user-${opt.user2}`)).waitFor({ state: 'visible' });
    return `speaker ${other}`;
  });
}

await step('the leaderboard shows the claimed counts', 'leaderboard', async () => {
  await page.click(tid('home-link'));
  await page.locator(tid('home-view')).waitFor({ state: 'visible' });
  const opts = await page.$$eval(`${tid('lb-word')} option`, (els) => els.map((e) => e.value).filter(Boolean));
  await page.click(tid('lb-refresh'));
  await page.waitForFunction(() => {
    const t = document.querySelector('[data-testid="lb-table"]');
    const e = document.querySelector('[data-testid="lb-empty"]');
    return !t.hidden || !e.hidden;
  });
  const rows = await page.$$eval('[data-testid="lb-row"]', (els) => els.map((e) => `${e.dataset.user}:${e.children[2].textContent}`));
  const mine = rows.find((r) => r.startsWith(`${opt.user}:`));
  if (myTotal > 0 && !mine) throw new Error(`${opt.user} (${myTotal} words) is not on the leaderboard: ${rows.join(' ') || 'empty'}`);
  if (mine && Number(mine.split(':')[1]) !== myTotal) throw new Error(`leaderboard ${mine}, results ${myTotal}`);
  const sessions = await page.$$eval('[data-testid="session-item"]', (els) => els.map((e) => e.dataset.id));
  if (!sessions.includes(sessionId)) throw new Error(`session ${sessionId} is not in "My sessions"`);
  await noBanner();
  return `${rows.join(' ') || 'empty'}; word picker: ${opts.length} words`;
});

await step('chunks recorded while uploads fail survive a page reload and are uploaded after it', 'reload', async () => {
  // A second session, 2 s chunks; every chunk upload fails (no network)
  // until after the reload.
  const blocked = /\/v1\/sessions\/[a-z2-7]+\/chunks\/\d+$/;
  const block = (route) => route.abort('internetdisconnected');
  await page.route(blocked, block);
  await page.fill(tid('session-title'), 'reload test');
  await page.click(tid('start-session'));
  await page.waitForFunction((id) => {
    const t = document.querySelector('[data-testid="session-id"]').textContent;
    return /^[a-z2-7]{20}$/.test(t) && t !== id && document.querySelector('[data-testid="session-status"]').dataset.status === 'recording';
  }, sessionId);
  const sid2 = (await page.locator(tid('session-id')).textContent()).trim();
  await page.goto(`${opt.url}/?chunk=2#/s/${sid2}`);
  await page.locator(`${tid('session-status')}[data-status="recording"]`).waitFor();
  await page.click(tid('record'));
  await page.locator(`${tid('chunk-1')}[data-state]`).waitFor({ timeout: 60000 });
  await page.click(tid('pause'));
  await page.locator(`${tid('recorder-state')}[data-state="idle"]`).waitFor();
  const before = await page.$$eval('[data-testid^="chunk-"][data-state]', (els) => els.map((e) => `${e.dataset.testid.slice(6)}:${e.dataset.state}`));
  if (before.some((x) => x.endsWith(':done'))) throw new Error(`a chunk was uploaded through the blocked route: ${before.join(' ')}`);
  await screenshot('reload-before');
  page.once('dialog', (d) => d.accept()); // "leave the page?" while uploads are pending
  await page.reload();
  await page.locator(tid('session-view')).waitFor({ state: 'visible' });
  await page.waitForFunction((k) => document.querySelectorAll('[data-testid^="chunk-"][data-state]').length === k, before.length);
  await page.unroute(blocked, block);
  await page.waitForFunction((k) => document.querySelectorAll('[data-testid^="chunk-"][data-state="done"]').length === k, before.length, { timeout: 120000 });
  await page.waitForFunction((k) => document.querySelector('[data-testid="session-audio"]').textContent.startsWith(`${k} chunks`), before.length);
  const audio = (await page.locator(tid('session-audio')).textContent()).trim();
  if (/missing/.test(audio)) throw new Error(`the server reports gaps: ${audio}`);
  await page.click(tid('end'));
  await page.waitForFunction(() => document.querySelector('[data-testid="session-status"]').dataset.status !== 'recording', null, { timeout: 60000 });
  await noBanner();
  return `${before.length} chunks (${before.join(' ')}) restored from IndexedDB and uploaded; server: ${audio}`;
});

await step('sign out forgets the token', 'signed-out', async () => {
  await page.click(tid('signout'));
  await page.locator(tid('token')).waitFor({ state: 'visible' });
  const kept = await page.evaluate(() => localStorage.getItem('parley.token'));
  if (kept) throw new Error('the token is still in localStorage');
});

console.log(`# ${chunks} chunks, total ${since()}; screenshots in ${opt.artifacts}`);
await finish(0);
