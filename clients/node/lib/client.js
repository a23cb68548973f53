'use strict';
/** Submitting, reading, watching, cancelling and re-driving jobs, and registering job kinds. */
const { Connection, QuarryError, duration } = require('./rpc');

const TERMINAL = new Set(['SUCCEEDED', 'DEAD', 'CANCELLED']);

/** A Job message as a plain object: its state by name, its JSON decoded. */
function jobObject(job) {
  return {
    id: job.id,
    kind: job.kind,
    state: job.state.replace(/^JOB_STATE_/, ''),
    payload: JSON.parse(job.payloadJson || '{}'),
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    progress: job.progress,
    progressMessage: job.progressMessage,
    result: job.resultJson ? JSON.parse(job.resultJson) : null,
    lastError: job.lastError,
    cancelRequested: job.cancelRequested,
  };
}

/** Calls with an API key; every method rejects with QuarryError when refused. */
class Client {
  /**
   * @param {string} target host:port of the gateway
   * @param {string} apiKey
   * @param {{secure?: boolean, timeout?: number, protoRoot?: string}} [options] timeout in seconds
   */
  constructor(target, apiKey, { secure = false, timeout = 30, protoRoot } = {}) {
    this._rpc = new Connection(target, apiKey, { secure, protoRoot });
    this._timeout = timeout;
  }

  _jobs(method, request) {
    return this._rpc.call(this._rpc.jobs, method, request, this._timeout);
  }

  /**
   * Registers a job kind. `settings` are JobKind fields in camelCase;
   * attemptTimeout and retention may be given in seconds.
   */
  async createKind(name, settings = {}) {
    const kind = { ...settings, name };
    for (const field of ['attemptTimeout', 'retention']) {
      if (typeof kind[field] === 'number') kind[field] = duration(kind[field]);
    }
    const out = await this._rpc.call(this._rpc.kinds, 'CreateJobKind', { kind }, this._timeout);
    return out.kind;
  }

  /** Enqueues a job; the same idempotencyKey again returns the existing job. */
  async submit(kind, payload = {}, { priority = 0, maxAttempts = 0, idempotencyKey = '', cost = 0 } = {}) {
    const out = await this._jobs('SubmitJob', {
      kind, payloadJson: JSON.stringify(payload), priority, maxAttempts, idempotencyKey, cost: String(cost),
    });
    return jobObject(out.job);
  }

  async get(id) {
    return jobObject((await this._jobs('GetJob', { id })).job);
  }

  /** Cancels a job: a queued one at once, a running one once its worker sees it. */
  async cancel(id) {
    return jobObject((await this._jobs('CancelJob', { id })).job);
  }

  /** Re-drives a dead job (queued again, attempts reset); needs the admin scope. */
  async retry(id) {
    return jobObject((await this._jobs('RetryJob', { id })).job);
  }

  /** Yields the job at each change, ending with its terminal state. */
  async *watch(id, timeout = 600) {
    const deadline = new Date(Date.now() + timeout * 1000);
    const stream = this._rpc.jobs.WatchJob({ id }, this._rpc.metadata, { deadline });
    try {
      for await (const update of stream) yield jobObject(update.job);
    } catch (err) {
      throw new QuarryError(err.code, err.details);
    } finally {
      stream.cancel(); // a consumer that stops early ends the stream
    }
  }

  /** The job once it has ended. */
  async wait(id, timeout = 600) {
    let last = null;
    for await (last of this.watch(id, timeout));
    return last;
  }

  close() {
    this._rpc.close();
  }
}

module.exports = { Client, TERMINAL, jobObject };
