#!/usr/bin/env node
'use strict';
/**
 * A worker for the tests and the README, like clients/python/example_worker.py:
 * runs each --kind given with a function that echoes its payload, reports progress,
 * and honours a few payload flags so that the end-to-end test can drive every
 * outcome: sleep (seconds, stopping early on cancel), fail_until_attempt,
 * fail_until_file (fails while that file is missing: a dependency that gets
 * fixed before the job is re-driven), permanent, rate_limited (seconds).
 * Stops on SIGTERM.
 *
 *   node example_worker.js --target HOST:PORT --key KEY --kind KIND [--kind KIND2] [--worker_id ID]
 *     [--concurrency N]
 */
const fs = require('node:fs');
const { parseArgs } = require('node:util');
const { setTimeout: sleep } = require('node:timers/promises');
const { Worker, Permanent, RateLimited } = require('./lib');

async function main() {
  const { values: args } = parseArgs({
    options: {
      target: { type: 'string' },
      key: { type: 'string' },
      kind: { type: 'string', multiple: true },
      worker_id: { type: 'string' },
      concurrency: { type: 'string', default: '4' },
    },
  });
  for (const required of ['target', 'key', 'kind']) {
    if (!args[required]) throw new Error(`--${required} is required`);
  }
  const worker = new Worker(args.target, args.key, {
    workerId: args.worker_id, concurrency: Number(args.concurrency), heartbeatInterval: 0.5, grace: 2,
  });

  const echo = async (job) => {
    const p = job.payload;
    if (job.attempt < (p.fail_until_attempt ?? 0)) throw new Error(`attempt ${job.attempt} fails on purpose`);
    if (p.fail_until_file && !fs.existsSync(p.fail_until_file)) {
      throw new Error(`${p.fail_until_file} is missing`);
    }
    if (p.permanent) throw new Permanent('this input can never work');
    if (p.rate_limited) throw new RateLimited(p.rate_limited);
    job.progress(0.5, 'working');
    // Sleeping with job.signal ends the wait the moment the job is cancelled
    // (the sleep rejects with an AbortError; the runtime acknowledges it).
    await sleep((p.sleep ?? 0) * 1000, undefined, { signal: job.signal });
    return { echo: p, attempt: job.attempt, worker: worker.workerId };
  };
  for (const kind of args.kind) worker.kind(kind, echo);

  console.log('worker ready');
  await worker.run();
  console.log(`worker stopped after ${worker.completed} jobs`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
