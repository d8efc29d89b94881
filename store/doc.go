// Package store owns every SQL statement of LinePulse: the global database (tenants, users,
// audit, UI configuration), one database per tenant (the plant model), the per-line
// detection and downtime tables whose DDL the application manages, their monthly RANGE
// partitions, the minute rollups and the metadata cache used for application-side joins.
//
// Two engines sit behind one API: MySQL 8 / MariaDB 10.11+ (production) and SQLite through
// modernc.org/sqlite (the embedded default). Times are stored in UTC with millisecond
// precision. Every method takes a context; "not found" is ErrNotFound, never nil, nil.
package store
