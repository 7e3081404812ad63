// dashlib.mjs — what every dashboard browser test (tests/browser/dash_*.test.mjs)
// shares: the arguments tests/browser/dashboard.sh passes, Debian's chromium
// through playwright-core, TAP steps with a screenshot each, screenshots at
// desktop (1280x800) and phone (390x844) width, sign-in, and the API from
// Node (fetch with the bearer token) to prepare what a test watches.
//
//   import { T } from './dashlib.mjs';
//   const t = await T.start('shell');                  // parses argv, launches chromium
//   await t.step('sign in', 'signed-in', async () => { await t.signIn(t.opt['admin-token']); });
//   await t.shots('overview');                         // desktop + phone screenshots
//   await t.done();
//
// One TAP line per step ("ok - NAME: what" / "not ok - NAME: what: why"); the
// first failure prints the page's error banner and console, and ends the
// test with exit status 1.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
export const tid = (id) => `[data-testid="${id}"]`;

const OPTIONS = {
  url: { type: 'string' },
  'admin-token': { type: 'string' },
  'user-token': { type: 'string' },
  admin: { type: 'string', default: 'admin' },
  user: { type: 'string', default: 'user' },
  artifacts: { type: 'string', default: 'build/test-artifacts/dashboard' },
  chromium: { type: 'string', default: process.env.PARLEY_CHROMIUM || '/usr/bin/chromium' },
  root: { type: 'string', default: path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..') },
  tmp: { type: 'string', default: process.env.TMPDIR || '/tmp' },
  parley: { type: 'string' },
  store: { type: 'string' },
  timeout: { type: 'string', default: '120' },
};

class Test {
  constructor(name, opt) {
    this.name = name;
    this.opt = opt;
    this.t0 = Date.now();
    this.browser = null;
    this.page = null;
    this.console = [];
    this.steps = 0;
    this.timeout = Number(opt.timeout) * 1000;
    fs.mkdirSync(opt.artifacts, { recursive: true });
  }

  since() { return `${((Date.now() - this.t0) / 1000).toFixed(1)} s`; }

  async newPage(viewport = DESKTOP) {
    const ctx = await this.browser.newContext({ viewport, deviceScaleFactor: 1 });
    const page = await ctx.newPage();
    page.on('console', (m) => this.console.push(`${m.type()}: ${m.text().split('\n')[0]}`));
    page.on('pageerror', (e) => this.console.push(`pageerror: ${e.message}`));
    page.setDefaultTimeout(30000);
    return page;
  }

  async bannerText(page = this.page) {
    try {
      if (page && await page.locator(tid('error')).isVisible()) {
        return (await page.locator(tid('error-message')).textContent()).trim();
      }
    } catch (_) { /* page gone */ }
    return '';
  }

  async noBanner(page = this.page) {
    const b = await this.bannerText(page);
    if (b) throw new Error(`the page shows an error: ${b}`);
  }

  async screenshot(name, page = this.page) {
    if (!page) return;
    const file = path.join(this.opt.artifacts, `${this.name}-${name}.png`);
    try { await page.screenshot({ path: file, fullPage: true }); } catch (e) { console.log(`# screenshot ${file}: ${e.message}`); }
  }

  // The current page at desktop and at phone width: NAME-desktop.png, NAME-phone.png.
  async shots(name, page = this.page) {
    const vp = page.viewportSize();
    await page.setViewportSize(DESKTOP);
    await this.screenshot(`${name}-desktop`, page);
    await page.setViewportSize(PHONE);
    await this.screenshot(`${name}-phone`, page);
    // nothing may be wider than a phone but the tables (they scroll inside their box)
    const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await page.setViewportSize(vp);
    if (over > 1) throw new Error(`at phone width the page is ${over} px wider than the screen`);
  }

  async step(what, shot, fn) {
    this.steps++;
    try {
      const extra = await fn();
      console.log(`ok - ${this.name}: ${what}${extra ? ` (${extra})` : ''} [${this.since()}]`);
      if (shot) await this.screenshot(shot);
      return extra;
    } catch (e) {
      console.log(`not ok - ${this.name}: ${what}: ${String(e.message).split('\n')[0]} [${this.since()}]`);
      const banner = await this.bannerText();
      if (banner) console.log(`# page error banner: ${banner}`);
      if (shot) await this.screenshot(`${shot}-FAILED`);
      for (const l of this.console.slice(-20)) console.log(`# console: ${l}`);
      await this.finish(1);
      return undefined;
    }
  }

  async finish(code) {
    if (this.browser) await this.browser.close().catch(() => {});
    process.exit(code);
  }

  async done() {
    const bad = this.console.filter((l) => /^pageerror|Content Security Policy|Refused to/.test(l));
    if (bad.length) {
      console.log(`not ok - ${this.name}: no script errors or CSP violations in the console: ${bad[0]}`);
      await this.finish(1);
    }
    await this.finish(0);
  }

  // Sign in on /dashboard with a token (the sign-in form).
  async signIn(token, page = this.page) {
    await page.goto(`${this.opt.url}/dashboard#/`);
    await page.locator(tid('token')).waitFor({ state: 'visible' });
    await page.fill(tid('token'), token);
    await page.click(tid('signin'));
    await page.locator(tid('me-name')).waitFor({ state: 'visible' });
  }

  // The API from Node: JSON (or text with {text: true}); throws with the server's message.
  async api(method, p, { token = this.opt['admin-token'], json, body, headers = {}, text } = {}) {
    const hd = Object.assign({ Authorization: `Bearer ${token}` }, headers);
    let payload = body;
    if (json !== undefined) {
      hd['Content-Type'] = 'application/json';
      payload = JSON.stringify(json);
    }
    const res = await fetch(`${this.opt.url}${p}`, { method, headers: hd, body: payload });
    const out = text ? await res.text() : await res.json().catch(() => null);
    if (!res.ok) {
      const msg = out && out.error ? out.error.message : String(out);
      const e = new Error(`${method} ${p} answered ${res.status}: ${msg}`);
      e.status = res.status;
      throw e;
    }
    return out;
  }

  // Wait until fn() (in Node) returns a truthy value; polls every 200 ms.
  async until(what, fn, ms = this.timeout) {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > end) throw new Error(`${what}: not after ${ms / 1000} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

// A WAV file (16-bit mono PCM) of a sine: seconds long at rate Hz.
export function wav(seconds = 1, freq = 440, rate = 8000) {
  const n = Math.round(seconds * rate);
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + n * 2, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(rate * 2, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write('data', 36); buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * freq * i) / rate)), 44 + i * 2);
  return buf;
}

export const T = {
  async start(name) {
    const { values: opt } = parseArgs({ options: OPTIONS, strict: true });
    const need = ['url', 'admin-token', 'user-token'];
    for (const k of need) {
      if (!opt[k]) {
        console.log(`not ok - ${name}: the argument --${k} is required (tests/browser/dashboard.sh passes it)`);
        process.exit(2);
      }
    }
    const t = new Test(name, opt);
    await t.step('launch chromium', null, async () => {
      t.browser = await chromium.launch({ executablePath: opt.chromium, headless: true, args: ['--no-sandbox'] });
      t.page = await t.newPage();
      return `chromium ${t.browser.version()}`;
    });
    return t;
  },
};
