-- Finding the files whose time is up without reading every finished job.
CREATE INDEX jobs_expiring ON jobs (expires_at) WHERE state = 'succeeded';
