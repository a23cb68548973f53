'use strict';
/**
 * A worker runtime for a tenant's own job kinds, the Node twin of
 * clients/python/quarry_client/worker.py.
 *
 * Register an async function per kind; run() claims jobs up to `concurrency`
 * at once, heartbeats each in the background (lease renewal, progress,
 * cancellation) and finishes it from what the function does: resolve with a
 * JSON-able value to succeed, throw Permanent to fail for good,
 * RateLimited(retryAfter) when a provider said "too many requests" (the kind
 * pauses for every worker), anything else to be retried after the kind's
 * backoff. job.signal is an AbortSignal aborted when a client cancels the job
 * or its lease is lost, so it can be handed straight to fetch() and friends.
 * On SIGTERM or SIGINT the worker stops claiming, gives running jobs `grace`
 * seconds, then hands the unfinished ones back to the queue.
 */
const os = require('node:os');
const { setTimeout: sleep } = require('node:timers/promises');
const { Connection, duration, truncateBytes, grpc } = require('./rpc');

// Transient answers: the call is repeated (another gateway answers through
// the load balancer) rather than the job given up.
const TRANSIENT = new Set([
  grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED,
  grpc.status.RESOURCE_EXHAUSTED, grpc.status.ABORTED,
]);

/** The job will fail again however often it is tried: it ends DEAD now. */
class Permanent extends Error {
  constructor(message = 'permanent failure') {
    super(message);
    this.name = 'Permanent';
  }
}

/** A provider asked to wait `retryAfter` seconds before the next call. */
class RateLimited extends Error {
  constructor(retryAfter, message = 'rate limited by a provider') {
    super(message);
    this.name = 'RateLimited';
    this.retryAfter = retryAfter;
  }
}

/** job.signal's reason once a client cancelled the job (checkCancelled() throws it). */
class Cancelled extends Error {
  constructor() {
    super('job cancelled');
    this.name = 'Cancelled';
  }
}

/** job.signal's reason when the lease is gone: nothing of the attempt will be recorded. */
class LeaseLost extends Error {
  constructor(why) {
    super(`lease lost: ${why}`);
    this.name = 'LeaseLost';
  }
}

/** What a kind's function gets: the job, and ways to talk back. */
class Job {
  constructor(claimed, workerId) {
    this.id = claimed.jobId;
    this.kind = claimed.kind;
    this.payload = JSON.parse(claimed.payloadJson || '{}');
    this.attempt = claimed.attempt;
    this.maxAttempts = claimed.maxAttempts;
    this._abort = new AbortController();
    this._stopping = new AbortController();
    /** Aborted when a client cancels the job (seen at the next heartbeat) or the lease is lost. */
    this.signal = this._abort.signal;
    /** Aborted when the worker is stopping: finish soon or the job is handed back. */
    this.stopping = this._stopping.signal;
    this.lease = { jobId: claimed.jobId, attempt: claimed.attempt, workerId };
    /** The submit's trace, sent back with every call on the job. */
    this.traceparent = claimed.traceparent || '';
    this._progress = { progress: 0, progressMessage: '' };
  }

  /** Reported with the next heartbeat; WatchJob streams it. */
  progress(fraction, message = '') {
    this._progress = {
      progress: Math.max(0, Math.min(1, Number(fraction) || 0)),
      progressMessage: truncateBytes(message, 1024),
    };
  }

  /** Throws (Cancelled, or LeaseLost) once job.signal is aborted. */
  checkCancelled() {
    this.signal.throwIfAborted();
  }
}

class Worker {
  /**
   * @param {string} target host:port of the gateway (or its load balancer)
   * @param {string} apiKey a key with the write scope
   * @param {{workerId?: string, concurrency?: number, heartbeatInterval?: number,
   *          grace?: number, secure?: boolean, protoRoot?: string,
   *          log?: (message: string) => void}} [options] intervals in seconds
   */
  constructor(target, apiKey, {
    workerId = `${os.hostname()}-${process.pid}`, concurrency = 4, heartbeatInterval = 1,
    grace = 10, secure = false, protoRoot, log = (m) => console.warn(`quarry worker: ${m}`),
  } = {}) {
    this.workerId = workerId;
    this._rpc = new Connection(target, apiKey, { secure, protoRoot });
    this._concurrency = concurrency;
    this._heartbeatInterval = heartbeatInterval;
    this._grace = grace;
    this._log = log;
    this._functions = new Map();
    this._running = new Map(); // job id -> {job, done: Promise}
    this._stop = new AbortController();
    this._wake = null; // resolves the claim loop's wait for a free slot
    this._draining = null; // stop()'s hand-over of the running jobs
    this.completed = 0;
  }

  /** `fn(job)` (async) runs the jobs of kind `name`. */
  kind(name, fn) {
    this._functions.set(name, fn);
    return this;
  }

  /**
   * Stops claiming; run() resolves once running jobs finished or were handed
   * back. The grace starts now, not when the claim in flight returns, so a
   * SIGTERM's deadline is the grace plus at most one long poll.
   */
  stop() {
    if (this._stop.signal.aborted) return;
    this._stop.abort();
    this._draining = this._drain();
    this._wake?.();
  }

  /**
   * The call, repeated on transient failures; other refusals reject. With
   * `job`, in the trace of the job's submit.
   */
  async _call(method, request, { timeout = 10, attempts = 5, job = null } = {}) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this._rpc.call(this._rpc.workers, method, request, timeout,
          job?.traceparent ?? '');
      } catch (err) {
        if (!TRANSIENT.has(err.code) || attempt === attempts - 1) throw err;
        await sleep(Math.min(100 * 2 ** attempt, 2000));
      }
    }
  }

  /** Claims and runs jobs until stop() or a signal. */
  async run({ handleSignals = true } = {}) {
    if (this._functions.size === 0) throw new Error('register a kind with worker.kind(name, fn) first');
    const onSignal = () => this.stop();
    if (handleSignals) for (const s of ['SIGTERM', 'SIGINT']) process.on(s, onSignal);
    try {
      const kinds = [...this._functions.keys()].sort();
      while (!this._stop.signal.aborted) {
        if (this._running.size >= this._concurrency) {
          await new Promise((resolve) => { this._wake = resolve; });
          continue;
        }
        const request = {
          workerId: this.workerId, kinds, maxJobs: this._concurrency - this._running.size, wait: duration(5),
        };
        let claimed;
        try {
          // The long poll is never cut short on stop(): a job it claimed would
          // sit leased to nobody until the lease ran out.
          claimed = (await this._call('ClaimJobs', request, { timeout: 15 })).jobs;
        } catch (err) {
          this._log(`claim failed: ${err.message}`);
          await sleep(1000, undefined, { signal: this._stop.signal }).catch(() => {});
          continue;
        }
        for (const c of claimed) {
          const job = new Job(c, this.workerId);
          if (this._stop.signal.aborted) await this._release(job); // claimed as we stopped
          else this._start(job);
        }
      }
      await this._draining;
    } finally {
      if (handleSignals) for (const s of ['SIGTERM', 'SIGINT']) process.off(s, onSignal);
      this._rpc.close();
    }
  }

  _start(job) {
    const done = this._runOne(job).finally(() => {
      this._running.delete(job.id);
      this._wake?.();
    });
    this._running.set(job.id, { job, done });
  }

  async _release(job) {
    try {
      await this._call('ReleaseJob', { lease: job.lease }, { job });
    } catch (err) {
      this._log(`release of job ${job.id} failed: ${err.message}`);
    }
  }

  /** Gives running jobs `grace` seconds, then hands the unfinished back at once. */
  async _drain() {
    const entries = [...this._running.values()];
    for (const { job } of entries) job._stopping.abort();
    const timer = new AbortController(); // so that a finished drain does not wait out the grace
    const graceOver = sleep(this._grace * 1000, 'grace over', { signal: timer.signal }).catch(() => {});
    const outcome = await Promise.race([Promise.all(entries.map((e) => e.done)), graceOver]);
    timer.abort();
    if (outcome !== 'grace over') return;
    await Promise.all([...this._running.values()].map(({ job }) => {
      // The job is the queue's again: the function is told to stop and
      // whatever it still does is not reported.
      job._released = true;
      job._abort.abort(new LeaseLost('handed back as the worker stops'));
      return this._release(job);
    }));
  }

  async _heartbeats(job, finished) {
    for (;;) {
      try {
        await sleep(this._heartbeatInterval * 1000, undefined, { signal: finished });
      } catch {
        return; // the function finished
      }
      let beat;
      try {
        beat = await this._call('HeartbeatJob', { lease: job.lease, ...job._progress }, { job });
      } catch (err) {
        if (err.code === grpc.status.FAILED_PRECONDITION) {
          // The lease is gone: stop the function, record nothing.
          job._abort.abort(new LeaseLost(err.details));
          return;
        }
        this._log(`heartbeat of job ${job.id} failed: ${err.message}`);
        continue;
      }
      if (beat.cancelRequested && !job.signal.aborted) job._abort.abort(new Cancelled());
    }
  }

  async _runOne(job) {
    const finished = new AbortController();
    const beats = this._heartbeats(job, finished.signal);
    try {
      await this._finish(job, this._functions.get(job.kind));
    } finally {
      finished.abort();
      await beats;
    }
  }

  async _finish(job, fn) {
    let result;
    let error = null;
    try {
      result = await fn(job);
    } catch (err) {
      error = err;
    }
    const reason = job.signal.aborted ? job.signal.reason : null;
    try {
      if (job._released || reason instanceof LeaseLost) return;
      // Once a client cancelled, the job ends CANCELLED whatever the function
      // did: it may well have thrown the AbortError of a call it passed
      // job.signal to, and a retry would run what the client no longer wants.
      if (reason instanceof Cancelled) {
        await this._call('AcknowledgeCancel', { lease: job.lease }, { job });
      } else if (error instanceof RateLimited) {
        await this._call('FailJob', {
          lease: job.lease, error: truncateBytes(error.message || 'rate limited', 4096),
          kind: 'FAILURE_KIND_RATE_LIMITED', retryAfter: duration(error.retryAfter),
        }, { job });
      } else if (error instanceof Permanent) {
        await this._call('FailJob', {
          lease: job.lease, error: truncateBytes(error.message || 'permanent failure', 4096),
          kind: 'FAILURE_KIND_PERMANENT',
        }, { job });
      } else if (error !== null) {
        // Any other error is worth a retry.
        const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        await this._call('FailJob', {
          lease: job.lease, error: truncateBytes(text, 4096) || 'error', kind: 'FAILURE_KIND_RETRYABLE',
        }, { job });
      } else {
        await this._call('CompleteJob', {
          lease: job.lease, resultJson: JSON.stringify(result ?? {}),
        }, { job });
        this.completed += 1;
      }
    } catch (err) {
      // FAILED_PRECONDITION: the lease was lost (another worker has the
      // job); nothing of this attempt is recorded, by design.
      this._log(`job ${job.id}: ${err.message}`);
    }
  }
}

module.exports = { Worker, Job, Permanent, RateLimited, Cancelled, LeaseLost };
