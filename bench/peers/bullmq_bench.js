#!/usr/bin/env node
// BullMQ (Redis) throughput: enqueue N no-op jobs with Queue.addBulk (chunks
// of --chunk), then drain them with one Worker of concurrency C, in this
// process. Prints ONE JSON line, shaped like the Celery/RQ peers' lines
// (../shared/peers/celery_bench.py): enqueue_per_s, drain_wall_per_s, ...
// plus the bench-queue summary keys peer, drain_per_s, left, durable.
//
// Completed jobs are kept (BullMQ's default), so the run is checked against
// Redis at the end: completed == n and nothing waiting/active/failed.
// Every wait is bounded by --timeout; the Redis keys are flushed first, so
// run it only against a redis-server started for the bench.
//
// Usage: node bullmq_bench.js --port P [--n 10000] [--concurrency 2]
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
    console.error(`bullmq_bench: cannot load ${name} from ${base} (run bench/peers/install.sh): ${e.message}`);
    process.exit(2);
  }
}

function parseArgs(argv) {
  const a = { port: 6390, n: 10000, concurrency: 2, chunk: 1000, timeout: 300 };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in a) || i + 1 >= argv.length) {
      console.error(`usage: bullmq_bench.js --port P --n N --concurrency C [--chunk K] [--timeout S] (bad: ${argv[i]})`);
      process.exit(2);
    }
    a[k] = Number(argv[++i]);
    if (!Number.isFinite(a[k]) || a[k] <= 0) { console.error(`bad --${k}`); process.exit(2); }
  }
  return a;
}

const r1 = (x) => Math.round(x * 10) / 10;
const r3 = (x) => Math.round(x * 1000) / 1000;
const now = () => Number(process.hrtime.bigint()) / 1e9;

async function main() {
  const a = parseArgs(process.argv);
  const { Queue, Worker } = peersRequire('bullmq');
  const IORedis = peersRequire('ioredis');
  const connection = { host: '127.0.0.1', port: a.port };
  const QNAME = 'bench';

  const admin = new IORedis(a.port, '127.0.0.1', { maxRetriesPerRequest: 3 });
  await admin.flushall();
  const cfg = async (k) => (await admin.config('GET', k))[1];
  const aof = await cfg('appendonly');
  const durable = aof === 'yes'
    ? `redis (appendonly yes, appendfsync ${await cfg('appendfsync')})`
    : 'redis (appendonly no: nothing survives a redis restart)';

  const queue = new Queue(QNAME, { connection });
  await queue.waitUntilReady();

  // ---- enqueue
  const t0 = now();
  for (let done = 0; done < a.n; done += a.chunk) {
    const k = Math.min(a.chunk, a.n - done);
    const jobs = new Array(k);
    for (let i = 0; i < k; i++) jobs[i] = { name: 'noop', data: {} };
    await queue.addBulk(jobs);
  }
  const tEnq = now() - t0;
  const queued = await queue.getWaitingCount();

  // ---- drain
  let completed = 0, failed = 0, tFirst = null, tDone = null;
  let finish;
  const finished = new Promise((res) => { finish = res; });
  const t1 = now();
  const worker = new Worker(QNAME, async () => null,
    { connection, concurrency: a.concurrency, autorun: false });
  worker.on('completed', () => {
    completed++;
    if (tFirst === null) tFirst = now();
    if (completed + failed >= a.n) { tDone = now(); finish(); }
  });
  worker.on('failed', () => {
    failed++;
    if (completed + failed >= a.n) { tDone = now(); finish(); }
  });
  worker.on('error', (e) => console.error(`bullmq_bench: worker error: ${e.message}`));
  worker.run().catch((e) => console.error(`bullmq_bench: worker.run: ${e.message}`));
  let timer;
  await Promise.race([finished, new Promise((res) => { timer = setTimeout(res, a.timeout * 1000); })]);
  clearTimeout(timer);
  await worker.close();

  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
  const left = counts.waiting + counts.active + counts.delayed + (counts.prioritized || 0);
  const res = {
    peer: 'bullmq', tool: 'bullmq', concurrency: a.concurrency, n: a.n, queued,
    enqueue: `addBulk x${a.chunk}`,
    enqueue_s: r3(tEnq), enqueue_per_s: r1(a.n / tEnq),
    timed_out: tDone === null,
  };
  if (tDone !== null) {
    Object.assign(res, {
      drain_wall_s: r3(tDone - t1), drain_wall_per_s: r1(a.n / (tDone - t1)),
      startup_s: r3(tFirst - t1),
      drain_window_s: r3(tDone - tFirst),
      drain_window_per_s: tDone > tFirst ? r1(a.n / (tDone - tFirst)) : null,
    });
  }
  res.drain_per_s = tDone !== null ? res.drain_wall_per_s : null;
  Object.assign(res, {
    finished: counts.completed, failed: counts.failed,
    left_in_queue: left, left,
    durable,
  });
  await queue.close();
  await admin.quit();
  console.log(JSON.stringify(res));
  return tDone !== null && left === 0 && counts.completed === a.n ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => {
  console.error(`bullmq_bench: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
