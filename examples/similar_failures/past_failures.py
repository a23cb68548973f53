"""The data of the example: a dozen past failures (what the error said and
what fixed it) and new errors to triage, each a near copy of one past
failure (another host, file or date) so that its nearest neighbour is clear
even with the lexical hashing-384 embedder the local suite runs."""

PAST_FAILURES = [
    {"id": "2025-11-03/pg-connection-refused",
     "text": 'psycopg2.OperationalError: could not connect to server: Connection refused. '
             'Is the server running on host "db-primary.internal" (10.0.3.12) and accepting '
             'TCP/IP connections on port 5432?',
     "metadata": {"service": "billing-api",
                  "resolution": "The primary was failing over and pgbouncer still pointed at "
                                "the old one; restarted pgbouncer once the failover finished."}},
    {"id": "2025-11-19/oom-killed-export",
     "text": "Container api-worker was OOMKilled: memory usage 2.0Gi exceeded limit 2Gi while "
             "processing batch export job",
     "metadata": {"service": "exports",
                  "resolution": "The export held the whole result set in memory; switched to a "
                                "server-side cursor and raised the limit to 3Gi."}},
    {"id": "2025-12-01/tls-certificate-expired",
     "text": "x509: certificate has expired or is not yet valid: current time "
             "2026-03-02T04:11:09Z is after 2026-03-01T23:59:59Z (payments-gateway.example.com)",
     "metadata": {"service": "payments",
                  "resolution": "cert-manager's renewal failed: the DNS-01 solver lacked "
                                "permission. Fixed its IAM role and renewed by hand."}},
    {"id": "2025-12-08/s3-slowdown",
     "text": "botocore.exceptions.ClientError: An error occurred (SlowDown) when calling the "
             "PutObject operation: Please reduce your request rate.",
     "metadata": {"service": "media-upload",
                  "resolution": "All uploads went to one key prefix; spread keys over hashed "
                                "prefixes and added exponential backoff."}},
    {"id": "2025-12-15/kafka-commit-failed",
     "text": "org.apache.kafka.clients.consumer.CommitFailedException: Commit cannot be "
             "completed since the group has already rebalanced and assigned the partitions "
             "to another member",
     "metadata": {"service": "order-events",
                  "resolution": "Processing a poll took longer than max.poll.interval.ms; "
                                "lowered max.poll.records to 100."}},
    {"id": "2026-01-05/disk-full-uploads",
     "text": "OSError: [Errno 28] No space left on device: '/var/lib/app/tmp/upload-7f3a.part'",
     "metadata": {"service": "media-upload",
                  "resolution": "Temporary files of aborted uploads were never removed; added a "
                                "cleanup timer and a disk alert at 80%."}},
    {"id": "2026-01-12/dns-lookup-timeout",
     "text": "dial tcp: lookup auth.internal on 10.96.0.10:53: read udp "
             "10.244.1.7:41234->10.96.0.10:53: i/o timeout",
     "metadata": {"service": "auth-proxy",
                  "resolution": "CoreDNS pods were CPU-throttled; raised their CPU limit and "
                                "enabled NodeLocal DNSCache."}},
    {"id": "2026-01-20/pg-deadlock-invoices",
     "text": 'ERROR: deadlock detected DETAIL: Process 4242 waits for ShareLock on transaction '
             '998877; blocked by process 4243. CONTEXT: while updating tuple (12,7) in '
             'relation "invoices"',
     "metadata": {"service": "billing-api",
                  "resolution": "Two jobs updated invoices in opposite orders; both now lock "
                                "rows ordered by id."}},
    {"id": "2026-02-02/npe-missing-email",
     "text": 'java.lang.NullPointerException: Cannot invoke "String.length()" because '
             '"customer.email" is null at com.shop.notify.EmailSender.send(EmailSender.java:88)',
     "metadata": {"service": "notifications",
                  "resolution": "Guest checkouts have no email; the sender now skips them and "
                                "logs instead."}},
    {"id": "2026-02-10/npm-eresolve-react",
     "text": 'npm ERR! code ERESOLVE npm ERR! ERESOLVE unable to resolve dependency tree '
             'npm ERR! peer react@"^17.0.0" from react-beautiful-dnd@13.1.1',
     "metadata": {"service": "storefront-web",
                  "resolution": "Replaced react-beautiful-dnd with @hello-pangea/dnd, which "
                                "supports React 18."}},
    {"id": "2026-02-21/grpc-deadline-reserve",
     "text": "grpc: DEADLINE_EXCEEDED: deadline exceeded after 4.999s calling "
             "/inventory.v1.Stock/Reserve (waiting for LB pick)",
     "metadata": {"service": "checkout",
                  "resolution": "Inventory had no ready endpoints after a bad deploy; rolled "
                                "back and added a readiness gate to the rollout."}},
    {"id": "2026-03-04/redis-maxmemory",
     "text": "redis.exceptions.ResponseError: OOM command not allowed when used memory > "
             "'maxmemory'.",
     "metadata": {"service": "sessions",
                  "resolution": "Session keys had no TTL; set a 24 h TTL and the allkeys-lru "
                                "eviction policy."}},
]

# New errors, each with the past failure it should be matched to.
NEW_ERRORS = [
    ('psycopg2.OperationalError: could not connect to server: Connection refused. Is the '
     'server running on host "db-primary.internal" (10.0.3.14) and accepting TCP/IP '
     'connections on port 5432?', "2025-11-03/pg-connection-refused"),
    ("OSError: [Errno 28] No space left on device: '/var/lib/app/tmp/upload-91bc.part'",
     "2026-01-05/disk-full-uploads"),
    ("x509: certificate has expired or is not yet valid: current time 2026-06-01T00:02:13Z "
     "is after 2026-05-31T23:59:59Z (payments-gateway.example.com)",
     "2025-12-01/tls-certificate-expired"),
    ("redis.exceptions.ResponseError: OOM command not allowed when used memory > "
     "'maxmemory'.", "2026-03-04/redis-maxmemory"),
    ("org.apache.kafka.clients.consumer.CommitFailedException: Commit cannot be completed "
     "since the group has already rebalanced and assigned the partitions to another member",
     "2025-12-15/kafka-commit-failed"),
]
