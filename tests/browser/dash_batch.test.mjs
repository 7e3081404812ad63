// dash_batch.test.mjs — the batch page (#/b/BID) against a real server and
// its worker: a batch (decode, tick1, verdicts; rules on the metadata; a
// webhook nobody answers) is started from the page and the test watches its
// progress reach the end without a reload; a file made undecodable on disk
// shows its error, is fixed on disk and retried from the page until the
// batch is Completed; a reaudit with new rules shows the old → new verdicts;
// the results table is filtered and sorted by the server; a webhook delivery
// is redelivered. dashboard.sh runs the server with
// PARLEY_TEST_FAULTS="tick1 sleep slow 2" so that each slow-*.wav takes
// 2 s at tick1 and the progress moves in steps.
import fs from 'node:fs';
import path from 'node:path';
import { T, tid, wav } from './dashlib.mjs';

const t = await T.start('batch');
const { page, opt } = t;
const dataDir = path.dirname(opt.store);

const RULES1 = 'rule vip flag when meta.agent = "ann" because "ann is vip";\n';
const RULES2 = 'rule vip flag when meta.agent = "bob" because "bob is vip";\n';
const FILES = { 'slow-a1.wav': wav(1, 300), 'slow-a2.wav': wav(1, 500), 'slow-a3.wav': wav(1, 700), 'bad.wav': wav(1, 900) };
let bid = 0;

await t.step('a batch of 4 files with metadata and a webhook (through the API)', null, async () => {
  const b = await t.api('POST', '/v1/batches', { json: {
    name: 'watched', stages: 'decode,tick1,verdicts', rules: RULES1,
    webhook: { url: 'http://127.0.0.1:9/hook', secret: 'whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ=' },
  } });
  bid = b.id;
  for (const [name, bytes] of Object.entries(FILES)) {
    await t.api('PUT', `/v1/batches/${bid}/files/${name}`, { body: bytes, headers: { 'Content-Type': 'audio/wav' } });
  }
  await t.api('PUT', `/v1/batches/${bid}/metadata`, {
    body: 'file,trade_id,agent\nslow-a1.wav,T1,ann\nslow-a2.wav,T1,bob\nslow-a3.wav,T2,cy\nbad.wav,T2,dee\n',
    headers: { 'Content-Type': 'text/csv' },
  });
  // the stored copy of bad.wav stops being audio: its decode fails
  fs.writeFileSync(path.join(dataDir, 'batches', String(bid), 'files', 'bad.wav'), 'not audio any more');
  return `batch ${bid}`;
});

await t.step('sign in; the batch page shows it Pending with its stages', null, async () => {
  await t.signIn(opt['admin-token']);
  await page.evaluate(() => {
    window.__seen = [];
    new MutationObserver(() => {
      const bar = document.querySelector('[data-testid="batch-progress"]');
      const st = document.querySelector('[data-testid="batch-status"]');
      if (!bar || !st) return;
      const v = `${bar.dataset.done}/${bar.dataset.total}/${st.dataset.status}`;
      if (window.__seen[window.__seen.length - 1] !== v) window.__seen.push(v);
    }).observe(document, { subtree: true, attributes: true, childList: true, characterData: true });
  });
  await page.evaluate((b) => { location.hash = `#/b/${b}`; }, bid);
  await page.locator('main h1', { hasText: 'watched' }).waitFor();
  const st = await page.locator(tid('batch-status')).getAttribute('data-status');
  if (st !== 'Pending') throw new Error(`status ${st}`);
  await page.locator(tid('stage-tick1')).waitFor();
  await t.noBanner();
});

await t.step('start from the page: progress moves to the end without a reload', null, async () => {
  await page.click(tid('start'));
  await page.waitForFunction(() => document.querySelector('[data-testid="batch-status"]').dataset.status === 'CompletedWithErrors',
    null, { timeout: t.timeout });
  const seen = await page.evaluate(() => window.__seen);
  const done = seen.map((v) => Number(v.split('/')[0]));
  for (let i = 1; i < done.length; i++) if (done[i] < done[i - 1]) throw new Error(`progress went back: ${seen.join(' ')}`);
  const distinct = new Set(done);
  if (distinct.size < 3) throw new Error(`the page showed only ${[...distinct].join(', ')} done: ${seen.join(' ')}`);
  const nav = await page.evaluate(() => performance.getEntriesByType('navigation').length);
  if (nav !== 1) throw new Error('the page was reloaded');
  return `shown: ${seen.join(' → ')}`;
});

await t.step('the failure shows its file, stage, attempts and error sentence', null, async () => {
  const row = page.locator(tid('failure-bad.wav'));
  await row.waitFor();
  const err = (await page.locator(tid('failure-error-bad.wav')).textContent()).trim();
  if (!err || !/bad\.wav|decod|audio/i.test(err)) throw new Error(`error "${err}"`);
  const logLines = await page.locator(tid('log-line')).count();
  if (logLines < 3) throw new Error(`only ${logLines} log lines`);
  await t.shots('batch-failed');
  return `"${err}"`;
});

await t.step('fix the file on disk and retry it from the page: Completed', null, async () => {
  fs.writeFileSync(path.join(dataDir, 'batches', String(bid), 'files', 'bad.wav'), FILES['bad.wav']);
  await page.click(tid('retry-bad.wav'));
  await page.waitForFunction(() => document.querySelector('[data-testid="batch-status"]').dataset.status === 'Completed',
    null, { timeout: t.timeout });
  await page.locator(tid('failure-table'), { hasText: 'Nothing failed.' }).waitFor();
  await t.noBanner();
});

await t.step('results: verdicts of version 1; filtered and sorted by the server', null, async () => {
  await page.locator(tid('verdict-slow-a1.wav')).waitFor();
  const v1 = (await page.locator(tid('verdict-slow-a1.wav')).textContent()).trim();
  if (v1 !== 'flag') throw new Error(`slow-a1.wav verdict ${v1}, want flag`);
  await page.selectOption(tid('filter-verdict'), 'pass');
  await page.click(tid('filter-apply'));
  await page.waitForFunction(() => document.querySelector('[data-testid="results"]').dataset.total === '3')
    .catch(async (e) => {
      const shown = await page.evaluate(() => [document.querySelector('[data-testid="results"]').dataset.total,
        [...document.querySelectorAll('[data-testid="result-table"] tbody tr')].map((r) => r.textContent).join(' | ')]);
      throw new Error(`${e.message.split('\n')[0]}; shown: total ${shown[0]}: ${shown[1]}`);
    });
  // Each click reloads the table from the server: wait for the first (ascending)
  // before the second, or the second lands on the old table's header.
  const nameSort = (dir) => page.waitForFunction((d) => {
    const b = document.querySelector('[data-testid="result-table"] [data-testid="sort-name"]');
    return b && b.closest('th').getAttribute('aria-sort') === d;
  }, dir);
  await page.click(tid('sort-name'));
  await nameSort('ascending');
  await page.click(tid('sort-name')); // descending
  await nameSort('descending');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid="result-table"] tbody tr')];
    return rows.length === 3 && rows[0].dataset.testid === 'result-slow-a3.wav' && rows[2].dataset.testid === 'result-bad.wav';
  });
  const sorted = await page.locator(`${tid('result-table')} th[aria-sort="descending"]`).count();
  if (sorted !== 1) throw new Error('the sorted column is not marked aria-sort=descending');
  await t.shots('batch-results');
  await page.selectOption(tid('filter-verdict'), '');
  await page.click(tid('filter-apply'));
  await page.waitForFunction(() => document.querySelector('[data-testid="results"]').dataset.total === '4');
});

await t.step('reaudit with new rules: the changed verdicts, old → new', null, async () => {
  await page.fill(tid('reaudit-rules'), RULES2);
  await page.click(tid('reaudit-submit'));
  await page.locator(tid('change-slow-a1.wav')).waitFor({ timeout: t.timeout });
  const a1 = (await page.locator(tid('change-verdict-slow-a1.wav')).textContent()).replace(/\s+/g, ' ').trim();
  const a2 = (await page.locator(tid('change-verdict-slow-a2.wav')).textContent()).replace(/\s+/g, ' ').trim();
  if (a1 !== 'flag → pass' || a2 !== 'pass → flag') throw new Error(`changes: slow-a1 "${a1}", slow-a2 "${a2}"`);
  const n = await page.locator(`${tid('change-table')} tbody tr`).count();
  if (n !== 2) throw new Error(`${n} changed calls, want 2`);
  await page.locator(tid('reaudit-state'), { hasText: 'finished' }).waitFor();
  await t.shots('batch-reaudit');
  return `slow-a1 ${a1}, slow-a2 ${a2}`;
});

await t.step('webhook deliveries: the failed delivery is redelivered from the page', null, async () => {
  await page.locator(tid('delivery-table')).waitFor();
  const btn = page.locator(`${tid('delivery-table')} button`).first();
  await btn.click();
  await page.locator(tid('notice'), { hasText: 'will be sent again' }).waitFor();
  await t.noBanner();
});

await t.step('keyboard: the sort buttons and retry buttons are reachable with Tab', null, async () => {
  const ok = await page.evaluate(() => [...document.querySelectorAll('[data-testid^="sort-"], [data-testid^="redeliver-"]')]
    .every((b) => b.tagName === 'BUTTON' && b.tabIndex >= 0));
  if (!ok) throw new Error('a sort or redeliver control is not a focusable button');
});

await t.step('the overview lists the batch Completed with its stages', null, async () => {
  await page.click(tid('nav-overview'));
  await page.locator(tid(`batch-status-${bid}`)).waitFor();
  const st = await page.locator(tid(`batch-status-${bid}`)).getAttribute('data-status');
  if (st !== 'Completed') throw new Error(`overview shows ${st}`);
  await t.shots('overview-batches');
});

await t.done();
