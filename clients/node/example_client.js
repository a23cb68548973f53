#!/usr/bin/env node
'use strict';
/**
 * Submits one job with the Client and prints each change WatchJob streams, one
 * JSON line each, then the job as GetJob reads it; exits 0 once the job has
 * SUCCEEDED. The end-to-end test runs it to exercise the Client against the
 * real gateway; it is also the shortest way to try a worker by hand.
 *
 *   node example_client.js --target HOST:PORT --key KEY --kind KIND [--payload JSON]
 */
const { parseArgs } = require('node:util');
const { Client } = require('./lib');

async function main() {
  const { values: args } = parseArgs({
    options: {
      target: { type: 'string' },
      key: { type: 'string' },
      kind: { type: 'string' },
      payload: { type: 'string', default: '{}' },
    },
  });
  for (const required of ['target', 'key', 'kind']) {
    if (!args[required]) throw new Error(`--${required} is required`);
  }
  const client = new Client(args.target, args.key);
  const job = await client.submit(args.kind, JSON.parse(args.payload));
  for await (const update of client.watch(job.id, 120)) console.log(JSON.stringify(update));
  const last = await client.get(job.id);
  console.log(JSON.stringify(last));
  client.close();
  process.exitCode = last.state === 'SUCCEEDED' ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
