"""Quarry's Python client: submit and watch jobs, and run a tenant's own job
kinds in a worker process. Needs only Debian's python3-grpcio and
python3-protobuf; the API stubs are generated into ../quarry (generate.sh).

    from quarry_client import Client, Worker
    worker = Worker("localhost:8443", api_key)
    @worker.kind("ticket.triage")
    def triage(job): return {"label": classify(job.payload["text"])}
    worker.run()
"""
from quarry_client.client import Client, QuarryError
from quarry_client.worker import Job, Permanent, RateLimited, Worker

__all__ = ["Client", "Job", "Permanent", "QuarryError", "RateLimited", "Worker"]
