// bench_dashboard.mjs — the batch page over 10,000 results (make
// bench-dashboard; run by tests/browser/dashboard.sh with
// DASH_TESTS=bench_dashboard.mjs). A benchmark, not a test: it prints figures.
//
// The batch is made through the API (rules → audit version 1), then its
// 10,000 recordings and their verdicts are written straight into the
// server's SQLite store in one statement (the results a finished audit
// leaves; bench/bench_audit.sh makes them the long way). Measured in Chromium
// at desktop size: time from navigation to the first rendered page of the
// results table (and to the whole page), each of 20 "Next" pages, sorting by
// score, a filter; and the API calls behind them from Node.
import { execFileSync } from 'node:child_process';
import { T, tid } from './dashlib.mjs';

const N = Number(process.env.BENCH_RESULTS || 10000);
const t = await T.start('bench');
const { page, opt } = t;
const figures = [];
const ms = (a) => `${a.toFixed(0)} ms`;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
let bid = 0;

await t.step(`a batch with ${N} results (API + one SQL statement)`, null, async () => {
  const b = await t.api('POST', '/v1/batches', { json: { name: 'bench10k', stages: 'verdicts', rules: 'rule vip flag when meta.agent = "ann";\n' } });
  bid = b.id;
  const sql = `
    WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ${N})
    INSERT INTO recordings(batch_id, name, source, fingerprint, duration, status, created_at, updated_at, metadata, attempts)
      SELECT ${bid}, printf('call-%05d.wav', i), printf('/bench/call-%05d.wav', i), printf('fp%d', i), 60 + i % 240,
             CASE WHEN i % 97 = 0 THEN 'failed' ELSE 'done' END, (julianday('now') - 2440587.5) * 86400.0, (julianday('now') - 2440587.5) * 86400.0,
             json_object('trade_id', printf('T%04d', i / 3), 'agent', CASE i % 4 WHEN 0 THEN 'ann' WHEN 1 THEN 'bob' WHEN 2 THEN 'cy' ELSE 'dee' END), 1
      FROM k;
    UPDATE recordings SET error = 'decode: not an audio file' WHERE batch_id = ${bid} AND status = 'failed';
    INSERT INTO verdicts(recording_id, version, verdict, score, max_score, auto_fail, reasons)
      SELECT id, 1, CASE WHEN id % 4 = 0 THEN 'flag' WHEN id % 11 = 0 THEN 'fail' ELSE 'pass' END,
             (id * 7) % 100, 100, 0, CASE WHEN id % 4 = 0 THEN '[{"rule":"vip"}]' ELSE '[]' END
      FROM recordings WHERE batch_id = ${bid} AND status = 'done';
    UPDATE batches SET status = 'started' WHERE id = ${bid};`;
  execFileSync('sqlite3', ['-cmd', '.timeout 10000', opt.store, sql]);
  const r = await t.api('GET', `/v1/batches/${bid}`);
  if (r.recordings.total !== N) throw new Error(`${r.recordings.total} recordings`);
  return `batch ${bid}: ${r.recordings.done} done, ${r.recordings.failed} failed`;
});

await t.step('the API: results table pages (first, sorted by score, filtered, last)', null, async () => {
  const one = async (q) => { const a = performance.now(); await t.api('GET', `/v1/batches/${bid}/results?${q}`); return performance.now() - a; };
  const cases = {
    first: 'sort=recording&limit=50',
    'sort=score desc': 'sort=score&order=desc&limit=50',
    'verdict=flag, q=call-0': 'verdict=flag&q=call-0&limit=50',
    last: `sort=name&offset=${N - 50}&limit=50`,
    'batch view': null,
  };
  const out = [];
  for (const [name, q] of Object.entries(cases)) {
    const runs = [];
    for (let i = 0; i < 5; i++) {
      if (q === null) { const a = performance.now(); await t.api('GET', `/v1/batches/${bid}`); runs.push(performance.now() - a); } else runs.push(await one(q));
    }
    out.push(`${name} ${ms(median(runs))}`);
    figures.push(`api ${name}: median of 5 ${ms(median(runs))}`);
  }
  return out.join(', ');
});

await t.step('sign in', null, async () => { await t.signIn(opt['admin-token']); });

await t.step('time to first render of the batch page (results table and page complete)', null, async () => {
  const runs = [];
  const full = [];
  for (let i = 0; i < 3; i++) {
    await page.evaluate(() => { location.hash = '#/'; });
    await page.locator('main h1', { hasText: 'Overview' }).waitFor();
    const a = Date.now();
    await page.evaluate((b) => { location.hash = `#/b/${b}`; }, bid);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="result-table"] tbody tr').length === 50);
    runs.push(Date.now() - a);
    await page.waitForFunction(() => document.activeElement && document.activeElement.tagName === 'H1');
    full.push(Date.now() - a);
  }
  figures.push(`first render of the results table: median of 3 ${ms(median(runs))} (max ${ms(Math.max(...runs))}); page complete ${ms(median(full))}`);
  return `${ms(median(runs))} to the table, ${ms(median(full))} complete`;
});

await t.step('page through 20 pages with Next', null, async () => {
  const runs = [];
  for (let i = 0; i < 20; i++) {
    const before = await page.locator(tid('results')).getAttribute('data-offset');
    const a = Date.now();
    await page.click(tid('page-next'));
    await page.waitForFunction((o) => document.querySelector('[data-testid="results"]').dataset.offset !== o, before);
    runs.push(Date.now() - a);
  }
  figures.push(`Next page: median of 20 ${ms(median(runs))} (max ${ms(Math.max(...runs))})`);
  return `median ${ms(median(runs))}, max ${ms(Math.max(...runs))}`;
});

await t.step('sort by score, filter by verdict', 'bench', async () => {
  const timed = async (what, fn, cond, arg) => {
    const a = Date.now();
    await fn();
    await page.waitForFunction(cond, arg);
    const d = Date.now() - a;
    figures.push(`${what}: ${ms(d)}`);
    return `${what} ${ms(d)}`;
  };
  const out = [];
  out.push(await timed('sort by score', () => page.click(tid('sort-score')),
    () => document.querySelector('[data-testid="result-table"] th[aria-sort="ascending"] [data-testid="sort-score"]') !== null));
  out.push(await timed('filter verdict=fail', async () => { await page.selectOption(tid('filter-verdict'), 'fail'); await page.click(tid('filter-apply')); },
    () => { const r = document.querySelector('[data-testid="results"]'); return r && r.dataset.offset === '0' && Number(r.dataset.total) < 2000; }));
  await page.selectOption(tid('filter-verdict'), '');
  await page.click(tid('filter-apply'));
  await page.waitForFunction((n) => document.querySelector('[data-testid="results"]').dataset.total === String(n), N);
  await t.shots('batch-10k');
  return out.join(', ');
});

for (const f of figures) console.log(`# figure: ${f}`);
await t.done();
