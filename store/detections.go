package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/puddle/v2"

	"github.com/linepulse/linepulse/detection"
)

// Detection is one product seen at an area of a line (a row of detections_line_<id>):
// the decoded detection message itself, so a decoded batch is written without copying.
// IDs above 2^63-1 are stored as their two's-complement int64 on both engines.
type Detection = detection.Detection

// WriteResult says what one batch did.
type WriteResult struct {
	Inserted   int // new rows stored (and counted in the rollups)
	Duplicates int // rows already stored, or repeated inside the batch
}

// errWriteRace means another writer stored some of the batch between our read and our
// insert: the batch is rolled back and redone, so rollups never count a row twice.
var errWriteRace = errors.New("store: concurrent writer stored part of the batch")

// errSomeStored means the optimistic insert found rows already stored: the transaction is
// rolled back and the batch redone on the checked path, which counts only the new rows.
var errSomeStored = errors.New("store: part of the batch is stored already")

// insertChunk bounds the rows a statement lists (placeholder limits: SQLite 32766).
const insertChunk = 1000

// preparedRows is the rows of the detection INSERT a writer pool prepares once per line
// and keeps (stmtCache): a batch under load is whole chunks of it, and its compiled
// program stays small (about 225 KB on SQLite; 1,000 rows took 730 KB for the same
// speed). A batch's remainder, and every batch of a quiet line, is parsed on the spot.
const preparedRows = 250

// WriterPool is a bounded pool of dedicated database connections for the batch writer, so
// ingest can never take the connections the API needs (and vice versa).
type WriterPool struct {
	db    *sql.DB
	pool  *puddle.Pool[*sql.Conn]
	stmts *stmtCache // the preparedRows INSERTs, one per busy line
}

// preparedLines bounds the lines whose INSERT a writer pool keeps prepared (memory:
// preparedLines × 225 KB on each connection that ran them).
const preparedLines = 32

// NewWriterPool opens size dedicated writer connections to this tenant's database.
func (t *TenantDB) NewWriterPool(ctx context.Context, size int) (*WriterPool, error) {
	if size <= 0 {
		size = 2
	}
	db, err := t.s.d.openTenant(ctx, t.ID())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(size + 1) // the one more prepares statements (stmtCache),
	db.SetMaxIdleConns(size + 1)
	db.SetConnMaxIdleTime(time.Minute) // and closes with its copies of them
	pool, err := puddle.NewPool(&puddle.Config[*sql.Conn]{
		Constructor: func(ctx context.Context) (*sql.Conn, error) { return db.Conn(ctx) },
		Destructor:  func(c *sql.Conn) { c.Close() },
		MaxSize:     int32(size),
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &WriterPool{db: db, pool: pool, stmts: newStmtCache(db, preparedLines)}, nil
}

// Stat exposes pool waits for metrics.
func (w *WriterPool) Stat() *puddle.Stat { return w.pool.Stat() }

// Close closes the pool and its connections.
func (w *WriterPool) Close() {
	w.pool.Close()
	w.stmts.close()
	w.db.Close()
}

// WriteDetections stores a batch for one line exactly once, in one transaction together
// with the minute rollups of the rows that were new. A row already stored (re-delivery)
// is skipped and not counted again. The caller must not run two batches of the same line
// at once (the writer shards by line); a concurrent writer is detected and the batch redone.
func (t *TenantDB) WriteDetections(ctx context.Context, w *WriterPool, lineID int64, batch []Detection) (WriteResult, error) {
	det, _, err := lineTables(lineID)
	if err != nil {
		return WriteResult{}, err
	}
	if len(batch) == 0 {
		return WriteResult{}, nil
	}
	res, err := w.pool.Acquire(ctx)
	if err != nil {
		return WriteResult{}, fmt.Errorf("store: no writer connection for line %d: %w", lineID, err)
	}
	conn := res.Value()
	r, err := t.writeFresh(ctx, conn, w.stmts, det, lineID, batch)
	if errors.Is(err, errSomeStored) {
		rows := dedupe(batch)
		for attempt := 0; ; attempt++ {
			r, err = t.writeChecked(ctx, conn, w.stmts, det, lineID, rows)
			if !errors.Is(err, errWriteRace) || attempt == 3 {
				break
			}
		}
	}
	if err != nil && conn.PingContext(ctx) != nil {
		res.Destroy() // a broken connection must not go back to the pool
	} else {
		res.Release()
	}
	if err != nil {
		return WriteResult{}, fmt.Errorf("store: cannot write detections of line %d: %w", lineID, err)
	}
	r.Duplicates = len(batch) - r.Inserted
	return r, nil
}

type detKey struct {
	id uint64
	at int64 // Unix ms
}

type rollKey struct{ minute, area, product int64 }

// firstMS and lastMS are the earliest and the latest detection's milliseconds into the
// minute (a NULL last_ms, from before it was kept, stays NULL: GREATEST and MAX of NULL).
type rollVal struct{ total, good, firstMS, lastMS int64 }

// dedupe drops repeats inside a batch (same id and time), keeping the first.
func dedupe(batch []Detection) []Detection {
	seen := make(map[detKey]struct{}, len(batch))
	rows := make([]Detection, 0, len(batch))
	for _, d := range batch {
		k := detKey{d.ID, d.At.UnixMilli()}
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			rows = append(rows, d)
		}
	}
	return rows
}

// writeFresh is the fast path, one statement per chunk and no read: it inserts the rows
// expecting all of them to be new, as they are unless a message was redelivered. If any
// was stored already or repeated in the batch (fewer rows affected) it rolls back and
// returns errSomeStored.
func (t *TenantDB) writeFresh(ctx context.Context, conn *sql.Conn, stmts *stmtCache, det string, lineID int64, rows []Detection) (WriteResult, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return WriteResult{}, err
	}
	defer tx.Rollback()
	if err := t.insertRows(ctx, tx, stmts, det, lineID, rows, errSomeStored); err != nil {
		return WriteResult{}, err
	}
	return WriteResult{Inserted: len(rows)}, tx.Commit()
}

// writeChecked reads which rows are stored already (only the partitions of the batch's
// time range), then inserts the others; a row that appears meanwhile (another writer)
// makes it fail with errWriteRace.
func (t *TenantDB) writeChecked(ctx context.Context, conn *sql.Conn, stmts *stmtCache, det string, lineID int64, rows []Detection) (WriteResult, error) {
	if len(rows) == 0 {
		return WriteResult{}, nil
	}
	minAt, maxAt := rows[0].At, rows[0].At
	for _, d := range rows {
		if d.At.Before(minAt) {
			minAt = d.At
		}
		if d.At.After(maxAt) {
			maxAt = d.At
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return WriteResult{}, err
	}
	defer tx.Rollback()

	existing := map[detKey]struct{}{}
	ids := make([]any, 0, min(len(rows), insertChunk)+2)
	for start := 0; start < len(rows); start += insertChunk {
		chunk := rows[start:min(start+insertChunk, len(rows))]
		ids = ids[:0]
		ids = append(ids, minAt, maxAt)
		for _, d := range chunk {
			ids = append(ids, int64(d.ID))
		}
		q := "SELECT `detection_id`, `detected_at` FROM `" + det + "` WHERE `detected_at` BETWEEN ? AND ? AND `detection_id` IN (" + placeholders(len(chunk)) + ")"
		rs, err := tx.QueryContext(ctx, q, ids...)
		if err != nil {
			return WriteResult{}, err
		}
		for rs.Next() {
			var id int64
			var at time.Time
			if err := rs.Scan(&id, &at); err != nil {
				rs.Close()
				return WriteResult{}, err
			}
			existing[detKey{uint64(id), at.UnixMilli()}] = struct{}{}
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return WriteResult{}, err
		}
	}
	fresh := make([]Detection, 0, len(rows)-len(existing))
	for _, d := range rows {
		if _, ok := existing[detKey{d.ID, d.At.UnixMilli()}]; !ok {
			fresh = append(fresh, d)
		}
	}
	if len(fresh) > 0 {
		if err := t.insertRows(ctx, tx, stmts, det, lineID, fresh, errWriteRace); err != nil {
			return WriteResult{}, err
		}
	}
	return WriteResult{Inserted: len(fresh)}, tx.Commit()
}

// insertRows inserts rows that must all be new, plus their minute rollups, in tx. A
// statement that stores fewer rows than it was given returns notAllNew.
func (t *TenantDB) insertRows(ctx context.Context, tx *sql.Tx, stmts *stmtCache, det string, lineID int64, rows []Detection, notAllNew error) error {
	args := make([]any, 0, min(len(rows), preparedRows)*7)
	rollups := map[rollKey]rollVal{}
	for start := 0; start < len(rows); start += preparedRows {
		chunk := rows[start:min(start+preparedRows, len(rows))]
		args = args[:0]
		for _, d := range chunk {
			var conf any
			if d.HasConf {
				conf = d.Conf
			}
			args = append(args, int64(d.ID), d.At, d.Area, d.Product, d.OK, conf, d.Camera)
			k := rollKey{d.At.Unix() / 60, d.Area, d.Product}
			v, ok := rollups[k]
			ms := d.At.UnixMilli() - k.minute*60000
			if !ok || ms < v.firstMS {
				v.firstMS = ms
			}
			if !ok || ms > v.lastMS {
				v.lastMS = ms
			}
			v.total++
			if d.OK {
				v.good++
			}
			rollups[k] = v
		}
		r, err := t.execInsert(ctx, tx, stmts, det, len(chunk), args)
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil {
			return err
		} else if n != int64(len(chunk)) {
			return notAllNew
		}
	}
	return t.upsertRollups(ctx, tx, lineID, rollups)
}

// execInsert runs the INSERT of rows detections into the line table det in tx: prepared
// once and kept (under the table's name) when the chunk is whole, the usual case under
// load; parsed on the spot when it is a remainder.
func (t *TenantDB) execInsert(ctx context.Context, tx *sql.Tx, stmts *stmtCache, det string, rows int, args []any) (sql.Result, error) {
	query := func() string {
		return t.s.d.insertIgnore() + " INTO `" + det + "` (`detection_id`, `detected_at`, `area_id`, `product_id`, `ok`, `conf`, `camera`) VALUES " + tuples(rows, 7)
	}
	if rows != preparedRows {
		return tx.ExecContext(ctx, query(), args...)
	}
	s, err := stmts.get(ctx, det, query)
	if err != nil {
		return nil, err
	}
	ts := tx.StmtContext(ctx, s)
	defer ts.Close()
	return ts.ExecContext(ctx, args...)
}

// upsertRollups adds counts to production_minute in a fixed key order, so two writers
// touching overlapping keys lock them in the same order (no InnoDB deadlock cycles).
func (t *TenantDB) upsertRollups(ctx context.Context, tx *sql.Tx, lineID int64, rollups map[rollKey]rollVal) error {
	keys := make([]rollKey, 0, len(rollups))
	for k := range rollups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.minute != b.minute {
			return a.minute < b.minute
		}
		if a.area != b.area {
			return a.area < b.area
		}
		return a.product < b.product
	})
	args := make([]any, 0, min(len(keys), insertChunk)*8)
	for start := 0; start < len(keys); start += insertChunk {
		chunk := keys[start:min(start+insertChunk, len(keys))]
		args = args[:0]
		for _, k := range chunk {
			v := rollups[k]
			args = append(args, lineID, k.minute, k.area, k.product, v.total, v.good, v.total-v.good, v.firstMS, v.lastMS)
		}
		q := "INSERT INTO `production_minute` (`line_id`, `minute`, `area_id`, `product_id`, `total`, `good`, `reject`, `first_ms`, `last_ms`) VALUES " + tuples(len(chunk), 9) + " " + t.s.d.rollupUpsert()
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// CountDetections counts a line's stored detections in [from, to).
func (t *TenantDB) CountDetections(ctx context.Context, lineID int64, from, to time.Time) (int64, error) {
	det, _, err := lineTables(lineID)
	if err != nil {
		return 0, err
	}
	var n int64
	err = t.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+det+"` WHERE `detected_at` >= ? AND `detected_at` < ?", from.UTC(), to.UTC()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: cannot count detections of line %d: %w", lineID, err)
	}
	return n, nil
}

// RollupTotals sums a line's rollups over [from, to) (whole minutes).
func (t *TenantDB) RollupTotals(ctx context.Context, lineID int64, from, to time.Time) (total, good, reject int64, err error) {
	err = t.db.QueryRowContext(ctx, "SELECT COALESCE(SUM(`total`),0), COALESCE(SUM(`good`),0), COALESCE(SUM(`reject`),0) FROM `production_minute` WHERE `line_id` = ? AND `minute` >= ? AND `minute` < ?",
		lineID, floorMinute(from), floorMinute(to)).Scan(&total, &good, &reject)
	if err != nil {
		err = fmt.Errorf("store: cannot sum rollups of line %d: %w", lineID, err)
	}
	return total, good, reject, err
}

func floorMinute(t time.Time) int64 {
	u := t.Unix()
	if u < 0 && u%60 != 0 {
		return u/60 - 1
	}
	return u / 60
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func tuples(rows, cols int) string {
	one := "(" + placeholders(cols) + ")"
	var b strings.Builder
	b.Grow(rows * (len(one) + 1))
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one)
	}
	return b.String()
}

// DetectionTimes returns the times of a line's stored detections in [from, to), in order
// (a scan of the range: for re-computation, not for pages).
func (t *TenantDB) DetectionTimes(ctx context.Context, lineID int64, from, to time.Time) ([]time.Time, error) {
	det, _, err := lineTables(lineID)
	if err != nil {
		return nil, err
	}
	rows, err := t.db.QueryContext(ctx, "SELECT `detected_at` FROM `"+det+"` WHERE `detected_at` >= ? AND `detected_at` < ? ORDER BY `detected_at`", from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("store: cannot read detection times of line %d: %w", lineID, err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var at time.Time
		if err := rows.Scan(&at); err != nil {
			return nil, fmt.Errorf("store: cannot read detection times of line %d: %w", lineID, err)
		}
		out = append(out, at.UTC())
	}
	return out, rows.Err()
}
