CREATE TABLE IF NOT EXISTS `{db}`.schema_migrations (
    version UInt32,
    name String,
    applied_at DateTime('UTC')
) ENGINE = ReplacingMergeTree() ORDER BY version;

CREATE TABLE IF NOT EXISTS `{db}`.occurrences (
    `event_id` String,
    `project` String,
    `fingerprint` String,
    `grouping_version` UInt8,
    `timestamp` DateTime('UTC'),
    `received_at` DateTime('UTC'),
    `source` String,
    `service` String,
    `environment` String,
    `release` String,
    `exception_type` String,
    `message` String,
    `stacktrace` String,
    `culprit` String,
    `severity` String,
    `http_status` UInt16,
    `http_method` String,
    `http_route` String,
    `url` String,
    `trace_id` String,
    `span_id` String,
    `attr_keys` Array(String),
    `attr_values` Array(String)
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (project, fingerprint, timestamp)
SETTINGS index_granularity = 1024;

CREATE TABLE IF NOT EXISTS `{db}`.issues_minute (
    project String,
    fingerprint String,
    minute DateTime('UTC'),
    service String,
    environment String,
    release String,
    http_status UInt16,
    severity String,
    occurrences AggregateFunction(count),
    first_seen AggregateFunction(min, DateTime('UTC')),
    last_seen AggregateFunction(max, DateTime('UTC')),
    exception_type AggregateFunction(anyLast, String),
    message AggregateFunction(anyLast, String),
    culprit AggregateFunction(anyLast, String)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMMDD(minute)
ORDER BY (minute, project, fingerprint, service, environment, release, http_status, severity);

CREATE MATERIALIZED VIEW IF NOT EXISTS `{db}`.issues_minute_mv TO `{db}`.issues_minute AS
SELECT
    project,
    fingerprint,
    toStartOfMinute(timestamp) AS minute,
    service,
    environment,
    release,
    http_status,
    severity,
    countState() AS occurrences,
    minState(timestamp) AS first_seen,
    maxState(timestamp) AS last_seen,
    anyLastState(exception_type) AS exception_type,
    anyLastState(message) AS message,
    anyLastState(culprit) AS culprit
FROM `{db}`.occurrences
GROUP BY project, fingerprint, minute, service, environment, release, http_status, severity;

CREATE TABLE IF NOT EXISTS `{db}`.issues_hour (
    project String,
    fingerprint String,
    hour DateTime('UTC'),
    service String,
    environment String,
    release String,
    http_status UInt16,
    severity String,
    occurrences AggregateFunction(count),
    first_seen AggregateFunction(min, DateTime('UTC')),
    last_seen AggregateFunction(max, DateTime('UTC')),
    exception_type AggregateFunction(anyLast, String),
    message AggregateFunction(anyLast, String),
    culprit AggregateFunction(anyLast, String)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMMDD(hour)
ORDER BY (hour, project, fingerprint, service, environment, release, http_status, severity);

CREATE MATERIALIZED VIEW IF NOT EXISTS `{db}`.issues_hour_mv TO `{db}`.issues_hour AS
SELECT
    project,
    fingerprint,
    toStartOfHour(timestamp) AS hour,
    service,
    environment,
    release,
    http_status,
    severity,
    countState() AS occurrences,
    minState(timestamp) AS first_seen,
    maxState(timestamp) AS last_seen,
    anyLastState(exception_type) AS exception_type,
    anyLastState(message) AS message,
    anyLastState(culprit) AS culprit
FROM `{db}`.occurrences
GROUP BY project, fingerprint, hour, service, environment, release, http_status, severity;

CREATE TABLE IF NOT EXISTS `{db}`.issues_day (
    project String,
    fingerprint String,
    day DateTime('UTC'),
    service String,
    environment String,
    release String,
    http_status UInt16,
    severity String,
    occurrences AggregateFunction(count),
    first_seen AggregateFunction(min, DateTime('UTC')),
    last_seen AggregateFunction(max, DateTime('UTC')),
    exception_type AggregateFunction(anyLast, String),
    message AggregateFunction(anyLast, String),
    culprit AggregateFunction(anyLast, String)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMMDD(day)
ORDER BY (day, project, fingerprint, service, environment, release, http_status, severity);

CREATE MATERIALIZED VIEW IF NOT EXISTS `{db}`.issues_day_mv TO `{db}`.issues_day AS
SELECT
    project,
    fingerprint,
    toStartOfDay(timestamp) AS day,
    service,
    environment,
    release,
    http_status,
    severity,
    countState() AS occurrences,
    minState(timestamp) AS first_seen,
    maxState(timestamp) AS last_seen,
    anyLastState(exception_type) AS exception_type,
    anyLastState(message) AS message,
    anyLastState(culprit) AS culprit
FROM `{db}`.occurrences
GROUP BY project, fingerprint, day, service, environment, release, http_status, severity;

CREATE TABLE IF NOT EXISTS `{db}`.issue_totals (
    project String,
    fingerprint String,
    occurrences AggregateFunction(count),
    first_seen AggregateFunction(min, DateTime('UTC')),
    last_seen AggregateFunction(max, DateTime('UTC')),
    exception_type AggregateFunction(argMax, String, DateTime('UTC')),
    message AggregateFunction(argMax, String, DateTime('UTC')),
    culprit AggregateFunction(argMax, String, DateTime('UTC'))
) ENGINE = AggregatingMergeTree()
ORDER BY (project, fingerprint);

CREATE MATERIALIZED VIEW IF NOT EXISTS `{db}`.issue_totals_mv TO `{db}`.issue_totals AS
SELECT
    project,
    fingerprint,
    countState() AS occurrences,
    minState(timestamp) AS first_seen,
    maxState(timestamp) AS last_seen,
    argMaxState(exception_type, timestamp) AS exception_type,
    argMaxState(message, timestamp) AS message,
    argMaxState(culprit, timestamp) AS culprit
FROM `{db}`.occurrences
GROUP BY project, fingerprint;

CREATE TABLE IF NOT EXISTS `{db}`.issue_states (
    `project` String,
    `fingerprint` String,
    `status` String,
    `actor` String,
    `resolved_in_release` String,
    `ignore_until` DateTime('UTC'),
    `ignore_until_count` UInt64,
    `changed_at` DateTime('UTC'),
    `version` UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project, fingerprint);

CREATE TABLE IF NOT EXISTS `{db}`.requests_minute (
    `project` String,
    `service` String,
    `environment` String,
    `minute` DateTime('UTC'),
    `requests` UInt64,
    `failed` UInt64
) ENGINE = SummingMergeTree((requests, failed))
PARTITION BY toYYYYMMDD(minute)
ORDER BY (project, service, environment, minute);

CREATE TABLE IF NOT EXISTS `{db}`.requests_hour (
    project String,
    service String,
    environment String,
    hour DateTime('UTC'),
    requests UInt64,
    failed UInt64
) ENGINE = SummingMergeTree((requests, failed))
PARTITION BY toYYYYMMDD(hour)
ORDER BY (project, service, environment, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS `{db}`.requests_hour_mv TO `{db}`.requests_hour AS
SELECT project, service, environment, toStartOfHour(minute) AS hour, sum(requests) AS requests, sum(failed) AS failed
FROM `{db}`.requests_minute
GROUP BY project, service, environment, hour;

CREATE TABLE IF NOT EXISTS `{db}`.not_found_hour (
    project String,
    path String,
    hour DateTime('UTC'),
    hits AggregateFunction(count),
    last_seen AggregateFunction(max, DateTime('UTC'))
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMMDD(hour)
ORDER BY (project, path, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS `{db}`.not_found_hour_mv TO `{db}`.not_found_hour AS
SELECT
    project,
    if(http_route != '', http_route, if(path(url) != '', path(url), url)) AS path,
    toStartOfHour(timestamp) AS hour,
    countState() AS hits,
    maxState(timestamp) AS last_seen
FROM `{db}`.occurrences
WHERE http_status = 404
GROUP BY project, path, hour;

ALTER TABLE `{db}`.occurrences ADD COLUMN `stack_hash` UInt64 AFTER `stacktrace`;

CREATE TABLE IF NOT EXISTS `{db}`.stacktraces (
    `project` String,
    `day` Date,
    `stack_hash` UInt64,
    `stacktrace` String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(day)
ORDER BY (project, stack_hash);

