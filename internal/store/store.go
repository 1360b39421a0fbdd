// Package store keeps the state of `inferscale serve` in an embedded SQLite
// database: every API resource (models, model packages, jobs, ...) as a JSON
// document in one generic table, its tags, and the steps of long-running
// jobs.
//
// The database runs in WAL mode with synchronous=FULL, so a write that
// returned is on disk: killing the process (or the machine) loses nothing
// that was acknowledged. Writes go through a single connection, so they are
// serialized without SQLITE_BUSY retries; reads use a small pool of
// read-only connections and see the last committed state.
//
// Resources are identified by Key (account, region, kind, name) and by ARN,
// both unique. Kinds are free-form strings chosen by the API packages
// ("model", "model-package", ...); the store knows nothing about them except
// the parent/child relation (a model package's group), a status column for
// queries across accounts (jobs to resume after a restart), and the JSON
// document.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Errors returned (wrapped) by the store; test with errors.Is.
var (
	ErrNotFound     = errors.New("not found")
	ErrExists       = errors.New("already exists")
	ErrConflict     = errors.New("changed concurrently")
	ErrHasChildren  = errors.New("has children")
	ErrLimit        = errors.New("limit exceeded")
	ErrInvalidToken = errors.New("invalid pagination token")
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")
)

// Key identifies a resource.
type Key struct {
	Account string
	Region  string
	Kind    string
	// Name is unique within account, region and kind. Resources that belong
	// to a parent may use PARENT/CHILD names (model package versions).
	Name string
}

func (k Key) String() string {
	return fmt.Sprintf("%s %s/%s/%s", k.Kind, k.Account, k.Region, k.Name)
}

// Resource is one stored resource.
type Resource struct {
	Key
	ARN string
	// Parent is the name of the resource this one belongs to ("" for none),
	// of a kind the caller knows.
	Parent string
	// Status is free-form and indexed; ListByStatus finds resources by it.
	Status string
	// Doc is the resource as JSON.
	Doc []byte
	// Created and Updated are set by the caller; zero means now.
	Created time.Time
	Updated time.Time
	// Version starts at 1 and is incremented by every update.
	Version int64
}

// Tag is a resource tag.
type Tag struct {
	Key   string
	Value string
}

// Store is an open database. Its methods are safe for concurrent use.
type Store struct {
	path string
	w    *sql.DB // the one writer connection
	r    *sql.DB // read-only connections

	// stmts are the read queries prepared on r, by SQL text: preparing a
	// statement costs more than running these small queries, so each is
	// prepared once (per connection, by database/sql) and reused.
	mu       sync.RWMutex
	stmts    map[string]*sql.Stmt
	maxStmts int // defaultMaxStmts; tests lower it
	closed   bool
}

// Open opens (creating if needed) the database file at path and brings its
// schema up to date. It refuses a database whose schema is newer than this
// binary knows (ErrSchemaTooNew).
func Open(ctx context.Context, path string) (*Store, error) {
	ms, err := embeddedMigrations()
	if err != nil {
		return nil, err
	}
	return open(ctx, path, ms)
}

func open(ctx context.Context, path string, ms []migration) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open store: invalid database path %q", path)
	}
	// busy_timeout first so that the pragmas themselves wait for locks.
	common := "_busy_timeout=10000&_foreign_keys=1"
	w, err := sql.Open("sqlite", path+"?"+common+"&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	s := &Store{path: path, w: w}
	if err := migrate(ctx, w, ms); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// Readers are opened after the writer has set WAL mode and migrated.
	r, err := sql.Open("sqlite", path+"?"+common+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	// Keep every reader open (the default keeps 2 idle): reopening one
	// costs a file open, pragmas, and preparing its statements again.
	r.SetMaxIdleConns(4)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.r = r
	s.stmts = make(map[string]*sql.Stmt)
	s.maxStmts = defaultMaxStmts
	return s, nil
}

// Check runs SQLite's quick_check over the whole database and returns the
// problems it finds (at most 10), none for a sound database. It reads
// every page, so it takes time in proportion to the database's size
// (milliseconds for one of thousands of resources).
func (s *Store) Check(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, "PRAGMA quick_check(10)")
	if err != nil {
		return nil, fmt.Errorf("check store %s: %w", s.path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, fmt.Errorf("check store %s: %w", s.path, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("check store %s: %w", s.path, err)
	}
	return problems, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database. Writes that returned are already durable.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	var errs []error
	for q, st := range s.stmts {
		errs = append(errs, st.Close())
		delete(s.stmts, q)
	}
	s.mu.Unlock()
	return errors.Join(append(errs, s.r.Close(), s.w.Close())...)
}

// defaultMaxStmts bounds the statement cache: List builds its SQL from the
// filters a request sets, so the number of distinct texts is finite but
// large; past the bound, queries run unprepared.
const defaultMaxStmts = 256

// readStmt returns the statement for query on the read connections,
// preparing it on first use. The statement belongs to the cache (closed by
// Close); callers must not close it.
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s.mu.RLock()
	st, ok := s.stmts[query]
	s.mu.RUnlock()
	if ok {
		return st, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	if s.closed {
		return nil, errors.New("store is closed")
	}
	if len(s.stmts) >= s.maxStmts {
		return nil, nil
	}
	// Preparing under the lock keeps one statement per text; it happens
	// once per text, so other readers wait for it only at start-up.
	st, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	s.stmts[query] = st
	return st, nil
}

// queryRow runs a read query that returns at most one row, prepared. An
// error preparing it is returned by Scan.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) scanner {
	st, err := s.readStmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	if st == nil {
		return s.r.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// errRow is a row whose query failed before it ran.
type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }

// query runs a read query, prepared.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return s.r.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// write runs fn in a write transaction (BEGIN IMMEDIATE on the single
// writer connection) and commits it unless fn fails.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// orNow returns t, or the current time when t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now().UTC()
	}
	return t
}
