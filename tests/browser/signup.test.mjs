// signup.test.mjs — a fresh visitor on a phone joins a session through its
// share link over HTTPS: sign-up on the recorder page, no operator, no token.
// Run by tests/browser/signup.sh:
//
//   node signup.test.mjs --url https://127.0.0.1:PORT --off-url https://127.0.0.1:PORT2
//        --open-url https://127.0.0.1:PORT3 --host-token TOKEN --spki BASE64 --chunk FILE.wav [--artifacts DIR]
//        [--chromium /usr/bin/chromium] [--timeout 180]
//
// --url runs `--signup link` (the default) with a worker; --off-url runs
// `--signup off`, --open-url `--signup open`. Chromium trusts the test certificate by its public key
// (--ignore-certificate-errors-spki-list; a browser without it must refuse
// the page); Node trusts it through NODE_EXTRA_CA_CERTS.
//
// Steps: the host (API) starts a session and uploads the chunk; the visitor
// opens the share link at phone size, the page offers "choose a name",
// the visitor types one and presses Enter (keyboard only) and lands in the
// session as a participant; HSTS and a secure context; the host ends the
// session; meanwhile a second visitor sees the errors in the page — the
// name taken, a bad name, a share link with a wrong code, a broken link, no
// link under --signup link, and --signup off (recorder page and
// dashboard); under --signup open the page without a link signs up; the first visitor's page follows processing, the visitor
// claims a speaker (keyboard), sees their counts and themselves on the
// leaderboard, reads their token in Settings, signs out and back in with
// it; last, wrong join codes lock the address out and the page says so.
// TAP lines "ok - signup: …"; exit status 1 at the first failure.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    'off-url': { type: 'string' },
    'open-url': { type: 'string' },
    'host-token': { type: 'string' },
    spki: { type: 'string' },
    chunk: { type: 'string' },
    artifacts: { type: 'string', default: 'build/test-artifacts/signup' },
    chromium: { type: 'string', default: process.env.PARLEY_CHROMIUM || '/usr/bin/chromium' },
    timeout: { type: 'string', default: '180' },
  },
  strict: true,
});
for (const k of ['url', 'off-url', 'open-url', 'host-token', 'spki', 'chunk']) {
  if (!opt[k]) {
    console.log(`not ok - signup: the argument --${k} is required (tests/browser/signup.sh passes it)`);
    process.exit(2);
  }
}
const URL0 = opt.url;
const OFF = opt['off-url'];
const OPEN = opt['open-url'];
const HOST = opt['host-token'];
const TIMEOUT = Number(opt.timeout) * 1000;
const PHONE = { width: 390, height: 844 };
const NAME = 'dee';
const tid = (id) => `[data-testid="${id}"]`;
fs.mkdirSync(opt.artifacts, { recursive: true });

const t0 = Date.now();
const since = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const consoleLines = [];
let browser = null;
let current = null; // the page a failure screenshots

async function finish(code) {
  if (browser) await browser.close().catch(() => {});
  process.exit(code);
}

async function shot(name, page = current) {
  if (!page) return;
  try {
    await page.screenshot({ path: path.join(opt.artifacts, `${name}.png`), fullPage: true });
  } catch (e) { console.log(`# screenshot ${name}: ${e.message}`); }
}

async function step(what, name, fn) {
  try {
    const extra = await fn();
    console.log(`ok - signup: ${what}${extra ? ` (${extra})` : ''} [${since()}]`);
    if (name) await shot(name);
    return extra;
  } catch (e) {
    console.log(`not ok - signup: ${what}: ${String(e.message).split('\n')[0]} [${since()}]`);
    try {
      if (current && await current.locator(tid('error')).isVisible()) {
        console.log(`# page error banner: ${(await current.locator(tid('error-message')).textContent()).trim()}`);
      }
    } catch (_) { /* page gone */ }
    if (name) await shot(`${name}-FAILED`);
    for (const l of consoleLines.slice(-20)) console.log(`# console: ${l}`);
    await finish(1);
    return undefined;
  }
}

// The API from Node (over HTTPS, the certificate trusted through NODE_EXTRA_CA_CERTS).
async function api(method, p, { token = HOST, json, body, headers = {}, base = URL0, ok = true } = {}) {
  const hd = Object.assign(token ? { Authorization: `Bearer ${token}` } : {}, headers);
  let payload = body;
  if (json !== undefined) {
    hd['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  }
  const res = await fetch(`${base}${p}`, { method, headers: hd, body: payload });
  const out = await res.json().catch(() => null);
  if (ok && !res.ok) {
    throw new Error(`${method} ${p} answered ${res.status}: ${out && out.error ? out.error.message : ''}`);
  }
  return ok ? out : { status: res.status, body: out };
}

async function newPage(viewport = PHONE) {
  const ctx = await browser.newContext({ viewport, deviceScaleFactor: 1, hasTouch: true, isMobile: true });
  const page = await ctx.newPage();
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text().split('\n')[0]}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  page.setDefaultTimeout(30000);
  return page;
}

const text = async (page, id) => ((await page.locator(tid(id)).textContent()) || '').trim();
const storedToken = (page) => page.evaluate(() => localStorage.getItem('parley.token'));

// A fresh visitor's page (its own browser context: no token) at URL.
async function visit(url) {
  const page = await newPage();
  current = page;
  await page.goto(url);
  await page.locator(tid('signin-view')).waitFor({ state: 'visible' });
  // the page asked GET /v1/signup before it showed what it offers
  await page.waitForFunction(() => document.querySelector('[data-testid="welcome-heading"]').textContent !== 'Sign in'
    || !document.querySelector('[data-testid="signup-closed"]').hidden);
  return page;
}

// Type a name (keyboard) and submit with Enter; resolves to the inline error shown.
async function trySignup(page, name) {
  await page.locator(tid('signup-name')).fill('');
  await page.locator(tid('signup-name')).focus();
  await page.keyboard.type(name);
  await page.keyboard.press('Enter');
  await page.locator(tid('signup-error')).waitFor({ state: 'visible' });
  return text(page, 'signup-error');
}

// ---- the browser ----------------------------------------------------------------
await step('chromium refuses the test certificate without its SPKI hash', null, async () => {
  const plain = await chromium.launch({ executablePath: opt.chromium, headless: true, args: ['--no-sandbox'] });
  try {
    const page = await (await plain.newContext()).newPage();
    const err = await page.goto(`${URL0}/`).then(() => null, (e) => e);
    if (!err) throw new Error('the page loaded: the certificate was trusted without the flag');
    if (!/ERR_CERT/.test(err.message)) throw new Error(`another failure than a certificate error: ${err.message.split('\n')[0]}`);
    return err.message.match(/net::ERR_CERT_[A-Z_]+/)[0];
  } finally {
    await plain.close();
  }
});

await step('launch chromium trusting the certificate by its public key', null, async () => {
  browser = await chromium.launch({
    executablePath: opt.chromium, headless: true,
    args: ['--no-sandbox', `--ignore-certificate-errors-spki-list=${opt.spki}`],
  });
  return `chromium ${browser.version()}`;
});

// ---- the host's session ------------------------------------------------------------
let SID = '';
let CODE = '';
await step('the host starts a session and uploads a chunk (API over HTTPS)', null, async () => {
  const s = await api('POST', '/v1/sessions', { json: { title: 'Friday makan' } });
  SID = s.id;
  CODE = s.join_code;
  const chunk = fs.readFileSync(opt.chunk);
  const up = await api('PUT', `/v1/sessions/${SID}/chunks/0`, { body: chunk, headers: { 'Content-Type': 'audio/wav' } });
  return `session ${SID}, code ${CODE}, ${up.duration} s`;
});
const LINK = `${URL0}/?join=${SID}&code=${CODE}`;

// ---- the visitor signs up through the share link ------------------------------------
let page = null;
let response = null;
await step('a fresh visitor opens the share link on a phone: "choose a name" has the focus', 'offer', async () => {
  page = await newPage();
  current = page;
  response = await page.goto(LINK);
  await page.locator(tid('signup')).waitFor({ state: 'visible' });
  const heading = await text(page, 'welcome-heading');
  if (heading !== 'Join the session') throw new Error(`heading "${heading}"`);
  if (await page.locator(tid('token-signin')).isHidden()) throw new Error('the token sign-in is not offered next to it');
  await page.waitForFunction(() => document.activeElement && document.activeElement.dataset.testid === 'signup-name');
  if (await storedToken(page)) throw new Error('a token is stored before the sign-up');
  return `"${heading}"`;
});

await step('over HTTPS: HSTS on the page, a secure context (the microphone is allowed)', null, async () => {
  const hsts = (await response.allHeaders())['strict-transport-security'] || '';
  if (!/^max-age=\d+/.test(hsts)) throw new Error(`Strict-Transport-Security: "${hsts}"`);
  const secure = await page.evaluate(() => window.isSecureContext && location.protocol === 'https:');
  if (!secure) throw new Error('the page is not a secure context');
  const api1 = await fetch(`${URL0}/v1/signup`);
  const hsts2 = api1.headers.get('strict-transport-security') || '';
  if (!/^max-age=\d+/.test(hsts2)) throw new Error(`GET /v1/signup: Strict-Transport-Security "${hsts2}"`);
  return hsts;
});

await step(`the visitor types "${NAME}" and presses Enter: signed up, joined, in the session`, 'joined', async () => {
  await page.keyboard.type(NAME);
  await page.keyboard.press('Enter');
  await page.waitForFunction((id) => document.querySelector('[data-testid="session-view"]').hidden === false
    && document.querySelector('[data-testid="session-id"]').textContent === id
    && document.querySelector('[data-testid="session-status"]').dataset.status === 'recording', SID);
  const who = await text(page, 'me-name');
  if (who !== NAME) throw new Error(`signed in as "${who}"`);
  const hello = await text(page, 'notice');
  if (!hello.startsWith(`Welcome, ${NAME}`)) throw new Error(`the notice says "${hello}"`);
  await page.locator(tid('not-recorder')).waitFor({ state: 'visible' });
  if (await page.locator(tid('recorder')).isVisible()) throw new Error('a participant is offered the recorder');
  const tok = await storedToken(page);
  if (!tok) throw new Error('no token in localStorage');
  const meView = await api('GET', '/v1/me', { token: tok });
  if (meView.name !== NAME) throw new Error(`the stored token is ${meView.name}'s`);
  const s = await api('GET', `/v1/sessions/${SID}`, { token: tok });
  if (s.role !== 'participant') throw new Error(`role ${s.role}`);
  if (new URL(page.url()).search) throw new Error(`the share link stayed in the address: ${page.url()}`);
  return `role ${s.role}; ${page.url().replace(URL0, '')}`;
});

await step('the session page passes the share link on: "Copy the link" puts it on the clipboard', null, async () => {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: URL0 });
  await page.locator(tid('share-hint')).waitFor({ state: 'visible' });
  await page.locator(tid('share-copy')).focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid="notice"]').textContent.includes('copied'));
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  if (copied !== LINK) throw new Error(`the clipboard holds "${copied}"`);
  const href = await page.locator(tid('share-link')).getAttribute('href');
  if (href !== LINK) throw new Error(`the link is ${href}`);
  return copied.replace(URL0, '');
});

await step('the host ends the session; the worker processes it', null, async () => {
  const e = await api('POST', `/v1/sessions/${SID}/end`, { json: {} });
  return `status ${e.status}`;
});

// ---- the errors, while the worker works --------------------------------------------
let other = null;
await step(`another visitor with the link: "${NAME}" is taken, said in the page`, 'taken', async () => {
  other = await visit(LINK);
  const msg = await trySignup(other, NAME);
  if (!/taken/.test(msg) || !msg.includes(NAME)) throw new Error(`the error says "${msg}"`);
  if (await other.locator(tid('signup-name')).getAttribute('aria-invalid') !== 'true') throw new Error('the name field is not marked invalid');
  const focus = await other.evaluate(() => document.activeElement.dataset.testid);
  if (focus !== 'signup-name') throw new Error(`the focus is on ${focus}, not the name`);
  if (await storedToken(other)) throw new Error('a token was stored');
  return msg;
});

await step('a name with a space is refused in the page, before any request', null, async () => {
  const msg = await trySignup(other, 'dee two');
  if (!/cannot be a name/.test(msg)) throw new Error(`the error says "${msg}"`);
  return msg;
});

await step('a share link with a wrong join code: the page says the link does not work', null, async () => {
  const wrong = CODE.startsWith('A') ? `B${CODE.slice(1)}` : `A${CODE.slice(1)}`;
  const p = await visit(`${URL0}/?join=${SID}&code=${wrong}`);
  const msg = await trySignup(p, 'erin');
  if (!/share link does not work/.test(msg)) throw new Error(`the error says "${msg}"`);
  await shot('bad-link', p);
  await p.context().close();
  return msg;
});

await step('a broken share link: no form, the page says to ask for the link again', null, async () => {
  const p = await visit(`${URL0}/?join=${SID}&code=XY`);
  if (await p.locator(tid('signup')).isVisible()) throw new Error('the sign-up form is offered');
  const msg = await text(p, 'signup-closed');
  if (!/not a whole share link/.test(msg)) throw new Error(`the page says "${msg}"`);
  await shot('broken-link', p);
  await p.context().close();
  return msg;
});

await step('--signup link, the page without a link: no form, ask for the share link or sign in', null, async () => {
  const p = await visit(`${URL0}/`);
  if (await p.locator(tid('signup')).isVisible()) throw new Error('the sign-up form is offered');
  const msg = await text(p, 'signup-closed');
  if (!/share link/.test(msg)) throw new Error(`the page says "${msg}"`);
  await p.locator(tid('token')).waitFor({ state: 'visible' });
  await shot('no-link', p);
  await p.context().close();
  return msg;
});

await step('--signup off: the page says to ask the operator for a token; the token sign-in stays', null, async () => {
  const info = await api('GET', '/v1/signup', { token: '', base: OFF });
  if (info.signup !== 'off') throw new Error(`GET /v1/signup says ${JSON.stringify(info)}`);
  const p = await visit(`${OFF}/?join=${SID}&code=${CODE}`);
  if (await p.locator(tid('signup')).isVisible()) throw new Error('the sign-up form is offered');
  const msg = await text(p, 'signup-closed');
  if (!/no sign-ups/.test(msg) || !/operator/.test(msg)) throw new Error(`the page says "${msg}"`);
  await p.locator(tid('token')).waitFor({ state: 'visible' });
  const r = await api('POST', '/v1/signup', { token: '', base: OFF, json: { name: 'fay' }, ok: false });
  if (r.status !== 403) throw new Error(`POST /v1/signup answered ${r.status}`);
  await shot('off', p);
  await p.goto(`${OFF}/dashboard`);
  await p.locator(tid('signup-hint')).waitFor({ state: 'visible' });
  const hint = await text(p, 'signup-hint');
  if (!/no sign-ups/.test(hint)) throw new Error(`the dashboard says "${hint}"`);
  await shot('off-dashboard', p);
  await p.context().close();
  return msg;
});

await step('--signup open: the page without a link offers "Sign up"; a name makes the account', null, async () => {
  const p = await visit(`${OPEN}/`);
  const heading = await text(p, 'welcome-heading');
  if (heading !== 'Sign up or sign in') throw new Error(`heading "${heading}"`);
  if (await text(p, 'signup-submit') !== 'Sign up') throw new Error('the button does not say "Sign up"');
  await p.locator(tid('signup-name')).focus();
  await p.keyboard.type('fay');
  await p.keyboard.press('Enter');
  await p.locator(tid('home-view')).waitFor({ state: 'visible' });
  const who = await text(p, 'me-name');
  if (who !== 'fay') throw new Error(`signed in as "${who}"`);
  const tok = await storedToken(p);
  const meView = await api('GET', '/v1/me', { token: tok, base: OPEN });
  if (meView.name !== 'fay' || meView.admin) throw new Error(`the token is ${JSON.stringify(meView)}`);
  await shot('open', p);
  await p.context().close();
  return 'home, signed in as fay (a plain user)';
});

// ---- processed: claim, results, leaderboard -----------------------------------------
current = page;
await step('the visitor\'s page follows processing to ready_for_claiming', 'ready', async () => {
  await page.waitForFunction(() => {
    const st = document.querySelector('[data-testid="session-status"]').dataset.status;
    return st === 'ready_for_claiming' || st === 'failed';
  }, null, { timeout: TIMEOUT });
  const st = await page.locator(tid('session-status')).getAttribute('data-status');
  if (st !== 'ready_for_claiming') throw new Error(`status ${st}: ${await text(page, 'session-error')}`);
  await page.locator(tid('claim-1')).waitFor({ state: 'visible' });
  const hint = await text(page, 'share-hint');
  if (!/can still join until/.test(hint) || /null|undefined|NaN/.test(hint)) throw new Error(`the share hint says "${hint}"`);
  const n = await page.locator('[data-testid^="speaker-"][data-speaker]').count();
  return `${n} speaker${n === 1 ? '' : 's'} to claim`;
});

await step('the visitor claims speaker 1 with the keyboard; the results name them', 'claimed', async () => {
  await page.locator(tid('claim-1')).focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((name) => {
    const el = document.querySelector('[data-testid="claimed-by-1"]');
    return el && el.textContent.includes(`claimed by you (${name})`);
  }, NAME);
  await page.locator(tid(`result-user-${NAME}`)).waitFor({ state: 'visible' });
  const total = await page.locator(`${tid(`result-user-${NAME}`)} td.total`).textContent();
  return `${total} target words`;
});

await step('the visitor sees themselves on the leaderboard', 'leaderboard', async () => {
  await page.click(tid('home-link'));
  await page.locator(`${tid('lb-row')}[data-user="${NAME}"]`).waitFor({ state: 'visible' });
  const rows = await page.locator(tid('lb-row')).evaluateAll((els) => els.map((e) => e.dataset.user));
  await page.locator(`${tid('session-item')}[data-id="${SID}"]`).waitFor({ state: 'visible' });
  return `board: ${rows.join(', ')}`;
});

await step('Settings shows the token; signed out, it signs the visitor back in', 'token', async () => {
  const tok = await storedToken(page);
  await page.locator(`${tid('settings')} summary`).click();
  await page.click(tid('token-show'));
  const shown = await text(page, 'my-token');
  if (shown !== tok) throw new Error('Settings shows another token');
  await page.click(tid('signout'));
  await page.locator(tid('signin-view')).waitFor({ state: 'visible' });
  if (await storedToken(page)) throw new Error('the token stayed after signing out');
  if (await page.locator(tid('signup')).isVisible()) throw new Error('sign-up offered without a link under --signup link');
  await page.fill(tid('token'), shown);
  await page.click(tid('signin'));
  await page.waitForFunction((name) => document.querySelector('[data-testid="me-name"]').textContent === name, NAME);
  return 'signed in again';
});

// ---- rate-limited (last: it locks this address out of joining) ----------------------
await step('after 10 wrong join codes from the address the page says to wait', 'rate-limited', async () => {
  // the page's wrong code above was one; these make it ten (and more)
  for (let i = 0; i < 9; i++) {
    const r = await api('POST', '/v1/signup', { token: '', json: { name: `x${i}`, session: SID, code: 'ZZZZZZZZZZ' }, ok: false });
    if (r.status !== 404 && r.status !== 429) throw new Error(`a wrong code answered ${r.status}`);
  }
  current = other;
  const msg = await trySignup(other, 'gus');
  if (!/too many wrong join codes/i.test(msg)) throw new Error(`the error says "${msg}"`);
  if (await storedToken(other)) throw new Error('a token was stored');
  return msg;
});

await step('no script errors or CSP violations in the console', null, async () => {
  const bad = consoleLines.filter((l) => /^pageerror|Content Security Policy|Refused to/.test(l));
  if (bad.length) throw new Error(bad[0]);
});
await finish(0);
