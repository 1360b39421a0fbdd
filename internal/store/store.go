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
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.r = r
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database. Writes that returned are already durable.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
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
