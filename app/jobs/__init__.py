"""Background job runs: the DB is the record of truth; Redis (or the embedded queue) only
carries the run id to a worker."""
