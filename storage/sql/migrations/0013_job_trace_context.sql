-- The W3C traceparent of the request that submitted a job (NULL outside a trace): the relay
-- sends it in the job's message, so the worker's spans and log lines join the request's trace.
ALTER TABLE jobs ADD COLUMN trace_context text;
