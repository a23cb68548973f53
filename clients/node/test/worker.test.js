'use strict';
/**
 * The worker runtime against an in-process fake WorkerService: how each
 * outcome of a kind's function is reported, cancellation through job.signal,
 * and a stop that hands unfinished jobs back. The real gateway is exercised
 * by //tests/e2e:node_worker_test; this one runs in a second.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { setTimeout: sleep } = require('node:timers/promises');
const grpc = require('@grpc/grpc-js');
const { Worker, Permanent, RateLimited } = require('../lib');
const { gatewayPackage } = require('../lib/rpc');

/** Hands out `jobs` once, cancels the ids in `cancel` at their first heartbeat, records every call. */
async function fakeGateway(jobs, cancel = new Set()) {
  const calls = [];
  const queue = [...jobs];
  const server = new grpc.Server();
  const record = (name, answer = () => ({})) => (call, callback) => {
    calls.push({ name, request: call.request, auth: call.metadata.get('authorization')[0] });
    callback(null, answer(call.request));
  };
  server.addService(gatewayPackage().WorkerService.service, {
    ClaimJobs: (call, callback) => {
      const batch = queue.splice(0, call.request.maxJobs);
      // A long poll that ends at once when there is nothing: enough for a test.
      setTimeout(() => callback(null, { jobs: batch }), batch.length ? 0 : 50);
    },
    HeartbeatJob: record('HeartbeatJob', (r) => ({ cancelRequested: cancel.has(r.lease.jobId) })),
    CompleteJob: record('CompleteJob'),
    FailJob: record('FailJob'),
    ReleaseJob: record('ReleaseJob'),
    AcknowledgeCancel: record('AcknowledgeCancel'),
  });
  const port = await new Promise((resolve, reject) => server.bindAsync(
    '127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { target: `127.0.0.1:${port}`, calls, close: () => server.forceShutdown() };
}

const claimed = (id, payload = {}) => ({
  jobId: id, kind: 'test.kind', payloadJson: JSON.stringify(payload), attempt: 1, maxAttempts: 3,
});

async function until(predicate, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(10);
  }
}

test('each outcome of the function is reported as the API expects', async () => {
  const gw = await fakeGateway([
    claimed('1', { ok: true }), claimed('2', { permanent: true }),
    claimed('3', { rateLimited: 2.5 }), claimed('4', { flaky: true }),
  ]);
  const worker = new Worker(gw.target, 'k3y', { workerId: 'w', heartbeatInterval: 0.05, log: () => {} });
  worker.kind('test.kind', async (job) => {
    const p = job.payload;
    if (p.permanent) throw new Permanent('never');
    if (p.rateLimited) throw new RateLimited(p.rateLimited);
    if (p.flaky) throw new TypeError('boom');
    job.progress(0.25, 'a quarter');
    await sleep(150);
    return { done: job.id };
  });
  const running = worker.run({ handleSignals: false });
  const finish = (id) => gw.calls.find((c) => c.name !== 'HeartbeatJob' && c.request.lease.jobId === id);
  await until(() => ['1', '2', '3', '4'].every(finish));
  worker.stop();
  await running;
  gw.close();

  assert.equal(finish('1').name, 'CompleteJob');
  assert.deepEqual(JSON.parse(finish('1').request.resultJson), { done: '1' });
  assert.deepEqual(finish('1').request.lease, { jobId: '1', attempt: 1, workerId: 'w' });
  const beat = gw.calls.find((c) => c.name === 'HeartbeatJob' && c.request.lease.jobId === '1');
  assert.equal(beat.request.progress, 0.25);
  assert.equal(beat.request.progressMessage, 'a quarter');
  assert.equal(beat.auth, 'Bearer k3y');
  assert.equal(finish('2').request.kind, 'FAILURE_KIND_PERMANENT');
  assert.equal(finish('2').request.error, 'never');
  assert.equal(finish('3').request.kind, 'FAILURE_KIND_RATE_LIMITED');
  assert.deepEqual(finish('3').request.retryAfter, { seconds: '2', nanos: 500000000 });
  assert.equal(finish('4').request.kind, 'FAILURE_KIND_RETRYABLE');
  assert.equal(finish('4').request.error, 'TypeError: boom');
  assert.equal(worker.completed, 1);
});

test('a cancel seen by a heartbeat aborts job.signal and is acknowledged', async () => {
  const gw = await fakeGateway([claimed('9')], new Set(['9']));
  const worker = new Worker(gw.target, 'k', { heartbeatInterval: 0.05, log: () => {} });
  let reason = null;
  worker.kind('test.kind', async (job) => {
    await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
    reason = job.signal.reason.name;
    job.checkCancelled(); // throws, as a function that checks would
  });
  const running = worker.run({ handleSignals: false });
  await until(() => gw.calls.some((c) => c.name === 'AcknowledgeCancel'));
  worker.stop();
  await running;
  gw.close();
  assert.equal(reason, 'Cancelled');
  assert.ok(!gw.calls.some((c) => c.name === 'FailJob' || c.name === 'CompleteJob'));
});

test('stop gives running jobs the grace, then releases the unfinished', async () => {
  const gw = await fakeGateway([claimed('5', { quick: true }), claimed('6')]);
  const worker = new Worker(gw.target, 'k', { heartbeatInterval: 0.05, grace: 0.3, log: () => {} });
  let sawStopping = false;
  worker.kind('test.kind', async (job) => {
    await new Promise((resolve) => job.stopping.addEventListener('abort', resolve));
    sawStopping = true;
    if (job.payload.quick) return 'finished in the grace';
    await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
    return 'too late: not reported';
  });
  const running = worker.run({ handleSignals: false });
  await until(() => gw.calls.filter((c) => c.name === 'HeartbeatJob').length >= 2);
  worker.stop();
  await running;
  gw.close();
  assert.ok(sawStopping);
  const ends = gw.calls.filter((c) => c.name !== 'HeartbeatJob').map((c) => [c.name, c.request.lease.jobId]);
  assert.deepEqual(ends.sort(), [['CompleteJob', '5'], ['ReleaseJob', '6']]);
});
