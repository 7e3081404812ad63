#!/usr/bin/env node
// graphile-worker (PostgreSQL) throughput: enqueue N no-op jobs in bulk
// (WorkerUtils.addJobs, i.e. SQL graphile_worker.add_jobs, in chunks of
// --chunk; one addJob per job on versions without it), then drain them with
// run() at concurrency C and a no-op task, until the jobs table is empty.
// Prints ONE JSON line shaped like the Celery/RQ peers' lines
// (../shared/peers/celery_bench.py) plus the bench-queue summary keys peer,
// drain_per_s, left, durable.
//
// graphile-worker deletes a job when it succeeds, so "drained" = no row left
// in the jobs table; failures stay there (with attempts) and are reported.
// The graphile_worker schema is dropped first: run it only against a
// database made for the bench. Every wait is bounded by --timeout.
//
// Usage: node graphile_bench.js --url PGURL [--n 10000] [--concurrency 2]
//        [--chunk 1000] [--timeout 300]
'use strict';
const path = require('path');
const { createRequire } = require('module');

// Modules live in build/peers-node (bench/peers/install.sh), not beside this
// file: the source tree carries no node_modules.
function peersRequire(name) {
  const base = process.env.PARLEY_PEERS_NODE ||
    path.resolve(__dirname, '..', '..', 'build', 'peers-node');
  try {
    return createRequire(path.join(base, 'package.json'))(name);
  } catch (e) {
    console.error(`graphile_bench: cannot load ${name} from ${base} (run bench/peers/install.sh): ${e.message}`);
    process.exit(2);
  }
}

function parseArgs(argv) {
  const a = { url: '', n: 10000, concurrency: 2, chunk: 1000, timeout: 300 };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in a) || i + 1 >= argv.length) {
      console.error(`usage: graphile_bench.js --url PGURL --n N --concurrency C [--chunk K] [--timeout S] (bad: ${argv[i]})`);
      process.exit(2);
    }
    const v = argv[++i];
    if (k === 'url') { a.url = v; continue; }
    a[k] = Number(v);
    if (!Number.isFinite(a[k]) || a[k] <= 0) { console.error(`bad --${k}`); process.exit(2); }
  }
  if (!a.url) { console.error('graphile_bench: --url PGURL is required'); process.exit(2); }
  return a;
}

const r1 = (x) => Math.round(x * 10) / 10;
const r3 = (x) => Math.round(x * 1000) / 1000;
const now = () => Number(process.hrtime.bigint()) / 1e9;
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

async function main() {
  const a = parseArgs(process.argv);
  const gw = peersRequire('graphile-worker');
  const { Pool } = peersRequire('pg');
  // Quiet logger: graphile-worker logs every job at info level by default,
  // which would cost more than the no-op jobs themselves.
  const logger = new gw.Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') console.error(`graphile-worker ${level}: ${message}`);
  });
  const pool = new Pool({ connectionString: a.url, max: 4 });
  // An idle client's error (e.g. the server restarting) must not crash the
  // bench with an unhandled 'error' event; the next query reports it.
  pool.on('error', (e) => console.error(`graphile_bench: pg pool: ${e.message}`));
  pool.on('connect', (client) => client.on('error', (e) => console.error(`graphile_bench: pg client: ${e.message}`)));

  await pool.query('DROP SCHEMA IF EXISTS graphile_worker CASCADE');
  const utils = await gw.makeWorkerUtils({ pgPool: pool, logger });
  await utils.migrate();
  // The jobs table is graphile_worker._private_jobs since 0.16 and
  // graphile_worker.jobs before; count whichever this version has.
  const { rows: [{ t }] } = await pool.query(
    "select coalesce(to_regclass('graphile_worker._private_jobs'), to_regclass('graphile_worker.jobs'))::text as t");
  const countJobs = async () => Number((await pool.query(`select count(*)::int as c from ${t}`)).rows[0].c);
  const setting = async (k) => (await pool.query(`select current_setting('${k}') as v`)).rows[0].v;
  const durable = `postgresql (fsync ${await setting('fsync')}, synchronous_commit ${await setting('synchronous_commit')}; ` +
    'a job row is committed at add and deleted at success)';

  // ---- enqueue
  const bulk = typeof utils.addJobs === 'function';
  const t0 = now();
  for (let done = 0; done < a.n; done += a.chunk) {
    const k = Math.min(a.chunk, a.n - done);
    if (bulk) {
      const specs = new Array(k);
      for (let i = 0; i < k; i++) specs[i] = { identifier: 'noop', payload: {} };
      await utils.addJobs(specs);
    } else {
      for (let i = 0; i < k; i++) await utils.addJob('noop', {});
    }
  }
  const tEnq = now() - t0;
  const queued = await countJobs();

  // ---- drain
  let tFirst = null, tDone = null, succeeded = 0;
  const t1 = now();
  const runner = await gw.run({
    pgPool: pool, logger, concurrency: a.concurrency, noHandleSignals: true,
    pollInterval: 1000,
    taskList: { noop: async () => {} },
  });
  runner.events.on('job:success', () => { succeeded++; if (tFirst === null) tFirst = now(); });
  const deadline = t1 + a.timeout;
  let left = queued;
  while (now() < deadline) {
    left = await countJobs();
    if (left === 0) { tDone = now(); break; }
    await sleep(10);
  }
  await runner.stop();
  left = await countJobs();
  const { rows: [{ f }] } = await pool.query(`select count(*)::int as f from ${t} where attempts > 0 and last_error is not null`);
  await utils.release();
  await pool.end();

  const res = {
    peer: 'graphile-worker', tool: 'graphile-worker', concurrency: a.concurrency, n: a.n, queued,
    enqueue: bulk ? `add_jobs x${a.chunk}` : 'addJob x1',
    enqueue_s: r3(tEnq), enqueue_per_s: r1(a.n / tEnq),
    timed_out: tDone === null,
  };
  if (tDone !== null) {
    Object.assign(res, {
      drain_wall_s: r3(tDone - t1), drain_wall_per_s: r1(a.n / (tDone - t1)),
      startup_s: tFirst !== null ? r3(tFirst - t1) : null,
      drain_window_s: tFirst !== null ? r3(tDone - tFirst) : null,
      drain_window_per_s: tFirst !== null && tDone > tFirst ? r1(a.n / (tDone - tFirst)) : null,
    });
  }
  res.drain_per_s = tDone !== null ? res.drain_wall_per_s : null;
  Object.assign(res, { finished: succeeded, failed: f, left_in_queue: left, left, durable });
  console.log(JSON.stringify(res));
  return tDone !== null && left === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => {
  console.error(`graphile_bench: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
