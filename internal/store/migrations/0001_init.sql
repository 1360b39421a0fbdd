-- Every API resource (models, model packages and groups, jobs, endpoints...)
-- is one row: its identity, a few indexed columns that queries filter and
-- sort on, and the resource itself as a JSON document.
CREATE TABLE resources (
	account    TEXT    NOT NULL,
	region     TEXT    NOT NULL,
	kind       TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	arn        TEXT    NOT NULL UNIQUE,
	parent     TEXT    NOT NULL DEFAULT '', -- name of the containing resource, if any
	status     TEXT    NOT NULL DEFAULT '',
	doc        TEXT    NOT NULL,
	created_at INTEGER NOT NULL, -- unix nanoseconds
	updated_at INTEGER NOT NULL, -- unix nanoseconds
	version    INTEGER NOT NULL, -- bumped by every update (optimistic concurrency)
	child_seq  INTEGER NOT NULL DEFAULT 0, -- last sequence number given to a child
	PRIMARY KEY (account, region, kind, name)
);
CREATE INDEX resources_by_created ON resources (account, region, kind, created_at, name);
CREATE INDEX resources_by_parent ON resources (account, region, kind, parent, created_at, name);
CREATE INDEX resources_by_status ON resources (kind, status, created_at);

CREATE TABLE tags (
	arn   TEXT NOT NULL REFERENCES resources (arn) ON DELETE CASCADE,
	key   TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (arn, key)
);

-- Steps of long-running jobs (inference recommendation jobs), persisted as
-- they finish so that a job survives a restart.
CREATE TABLE job_steps (
	job_arn    TEXT    NOT NULL REFERENCES resources (arn) ON DELETE CASCADE,
	idx        INTEGER NOT NULL,
	status     TEXT    NOT NULL,
	doc        TEXT    NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (job_arn, idx)
);
