'use strict';
/**
 * The gRPC plumbing shared by Client and Worker: Quarry's public API loaded
 * from the repository's .proto files at run time (no generated code to keep
 * in step with protos/), the API key as metadata, and promise-returning calls.
 */
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

/** protos/ of the repository this package sits in (clients/node/lib/..). */
const DEFAULT_PROTO_ROOT = path.resolve(__dirname, '..', '..', '..', 'protos');

const SERVICES = ['job_service', 'job_kind_service', 'worker_service'];

const loaded = new Map(); // proto root -> quarry.gateway.v1 package

/**
 * The quarry.gateway.v1 package. Enums as their names and int64s as strings
 * so that nothing is silently rounded; defaults filled in so that an unset
 * field reads as proto3 says it is (0, "", false).
 */
function gatewayPackage(protoRoot = process.env.QUARRY_PROTO_ROOT || DEFAULT_PROTO_ROOT) {
  if (!loaded.has(protoRoot)) {
    const definition = protoLoader.loadSync(
      SERVICES.map((s) => `quarry/gateway/v1/${s}.proto`),
      { includeDirs: [protoRoot], enums: String, longs: String, defaults: true },
    );
    loaded.set(protoRoot, grpc.loadPackageDefinition(definition).quarry.gateway.v1);
  }
  return loaded.get(protoRoot);
}

/** A refused call: `code` is the gRPC status code (grpc.status). */
class QuarryError extends Error {
  constructor(code, details) {
    super(`${grpc.status[code] ?? code}: ${details}`);
    this.name = 'QuarryError';
    this.code = code;
    this.details = details;
  }
}

/** A google.protobuf.Duration of `seconds` (fractions kept to the nanosecond). */
function duration(seconds) {
  const nanos = Math.round(Number(seconds) * 1e9);
  return { seconds: String(Math.floor(nanos / 1e9)), nanos: nanos % 1e9 };
}

/**
 * `text` cut to at most `max` UTF-8 bytes without splitting a character:
 * the API limits messages in bytes, and a broken character would make the
 * whole request invalid.
 */
function truncateBytes(text, max) {
  const s = String(text);
  if (Buffer.byteLength(s) <= max) return s;
  let out = '';
  let used = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (used + n > max) break;
    out += ch;
    used += n;
  }
  return out;
}

/** Calls with one API key on one channel. */
class Connection {
  /**
   * @param {string} target host:port of the gateway (or its load balancer)
   * @param {string} apiKey sent as "authorization: Bearer <key>", as every client does
   * @param {{secure?: boolean, protoRoot?: string}} [options]
   */
  constructor(target, apiKey, { secure = false, protoRoot } = {}) {
    const api = gatewayPackage(protoRoot);
    this.api = api;
    const credentials = secure ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    // One channel for every service, so that they share the connection.
    this.jobs = new api.JobService(target, credentials);
    const channelOverride = this.jobs.getChannel();
    this.kinds = new api.JobKindService(target, credentials, { channelOverride });
    this.workers = new api.WorkerService(target, credentials, { channelOverride });
    this.metadata = new grpc.Metadata();
    this.metadata.set('authorization', `Bearer ${apiKey}`);
  }

  /**
   * The unary `method` of `stub` as a promise; a refusal rejects with
   * QuarryError. `traceparent` (W3C) puts the call in that trace.
   */
  call(stub, method, request, timeoutSeconds = 30, traceparent = '') {
    const deadline = new Date(Date.now() + timeoutSeconds * 1000);
    let metadata = this.metadata;
    if (traceparent) {
      metadata = this.metadata.clone();
      metadata.set('traceparent', traceparent);
    }
    return new Promise((resolve, reject) => {
      stub[method](request, metadata, { deadline }, (err, response) => {
        if (err) reject(new QuarryError(err.code, err.details));
        else resolve(response);
      });
    });
  }

  close() {
    this.jobs.close();
  }
}

module.exports = { Connection, QuarryError, gatewayPackage, duration, truncateBytes, grpc, DEFAULT_PROTO_ROOT };
