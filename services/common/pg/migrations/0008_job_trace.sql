-- The W3C traceparent of the request that submitted a job, so the job's run
-- continues that trace in whichever process claims it: Quarry's worker and
-- the client libraries' workers send it back with their calls on the job.
-- NULL when the submit carried no trace.
ALTER TABLE jobs ADD COLUMN traceparent text CHECK (length(traceparent) <= 128);
