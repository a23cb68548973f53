'use strict';
/**
 * Quarry's Node.js client: submit and watch jobs, and run a tenant's own job
 * kinds in a worker process. Loads the API from the repository's protos/ at
 * run time (set QUARRY_PROTO_ROOT, or the protoRoot option, to use a copy
 * elsewhere).
 *
 *   const { Worker } = require('quarry-client');
 *   const worker = new Worker('localhost:8443', apiKey);
 *   worker.kind('ticket.triage', async (job) => ({ label: await classify(job.payload.text, job.signal) }));
 *   await worker.run();
 */
const { Client, TERMINAL } = require('./client');
const { QuarryError, duration } = require('./rpc');
const { Worker, Job, Permanent, RateLimited, Cancelled, LeaseLost } = require('./worker');

module.exports = {
  Client, Worker, Job, Permanent, RateLimited, Cancelled, LeaseLost, QuarryError, TERMINAL, duration,
};
