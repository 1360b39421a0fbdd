package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// resourceExists fails with ErrNotFound unless a resource has this ARN.
func resourceExists(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, arn string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM resources WHERE arn = ?`, arn).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// readExists is resourceExists on the read connections, prepared.
func (s *Store) readExists(ctx context.Context, arn string) error {
	var one int
	err := s.queryRow(ctx, `SELECT 1 FROM resources WHERE arn = ?`, arn).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

func upsertTags(ctx context.Context, tx *sql.Tx, arn string, tags []Tag) error {
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tags (arn, key, value) VALUES (?, ?, ?)
			ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value`, arn, t.Key, t.Value); err != nil {
			return fmt.Errorf("tag %s: %w", t.Key, err)
		}
	}
	return nil
}

// AddTags adds tags to the resource with this ARN, replacing the values of
// keys it already has. With limit > 0 it fails with ErrLimit, changing
// nothing, if the resource would end up with more than limit tags.
func (s *Store) AddTags(ctx context.Context, arn string, tags []Tag, limit int) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := resourceExists(ctx, tx, arn); err != nil {
			return err
		}
		if err := upsertTags(ctx, tx, arn, tags); err != nil {
			return err
		}
		if limit > 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tags WHERE arn = ?`, arn).Scan(&n); err != nil {
				return err
			}
			if n > limit {
				return fmt.Errorf("%d tags, at most %d allowed: %w", n, limit, ErrLimit)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add tags to %s: %w", arn, err)
	}
	return nil
}

// ListTags returns the tags of the resource with this ARN, by key.
func (s *Store) ListTags(ctx context.Context, arn string) ([]Tag, error) {
	tags, err := s.listTags(ctx, arn)
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", arn, err)
	}
	return tags, nil
}

func (s *Store) listTags(ctx context.Context, arn string) ([]Tag, error) {
	if err := s.readExists(ctx, arn); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT key, value FROM tags WHERE arn = ? ORDER BY key`, arn)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	tags := []Tag{}
	for rows.Next() {
		var t Tag
		if err := rows.Scan(&t.Key, &t.Value); err != nil {
			return nil, err
		}
		tags = append(tags, t)
	}
	return tags, rows.Err()
}

// DeleteTags removes the tags with these keys from the resource with this
// ARN; keys it does not have are ignored.
func (s *Store) DeleteTags(ctx context.Context, arn string, keys []string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := resourceExists(ctx, tx, arn); err != nil {
			return err
		}
		if len(keys) == 0 {
			return nil
		}
		args := []any{arn}
		for _, k := range keys {
			args = append(args, k)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE arn = ? AND key IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete tags of %s: %w", arn, err)
	}
	return nil
}

// Step is one step of a job.
type Step struct {
	Index   int
	Status  string
	Doc     []byte // JSON
	Updated time.Time
}

// PutStep stores a step of the job with this ARN, replacing the step with
// the same index. The job must exist (ErrNotFound); its steps are deleted
// with it.
func (s *Store) PutStep(ctx context.Context, jobARN string, st Step) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := resourceExists(ctx, tx, jobARN); err != nil {
			return err
		}
		if st.Doc == nil {
			st.Doc = []byte("{}")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO job_steps (job_arn, idx, status, doc, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (job_arn, idx) DO UPDATE SET status = excluded.status, doc = excluded.doc, updated_at = excluded.updated_at`,
			jobARN, st.Index, st.Status, string(st.Doc), nanos(orNow(st.Updated)))
		return err
	})
	if err != nil {
		return fmt.Errorf("put step %d of %s: %w", st.Index, jobARN, err)
	}
	return nil
}

// Steps returns the steps of the job with this ARN, by index.
func (s *Store) Steps(ctx context.Context, jobARN string) ([]Step, error) {
	steps, err := s.steps(ctx, jobARN)
	if err != nil {
		return nil, fmt.Errorf("steps of %s: %w", jobARN, err)
	}
	return steps, nil
}

func (s *Store) steps(ctx context.Context, jobARN string) ([]Step, error) {
	if err := s.readExists(ctx, jobARN); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT idx, status, doc, updated_at FROM job_steps WHERE job_arn = ? ORDER BY idx`, jobARN)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	steps := []Step{}
	for rows.Next() {
		var st Step
		var doc string
		var updated int64
		if err := rows.Scan(&st.Index, &st.Status, &doc, &updated); err != nil {
			return nil, err
		}
		st.Doc, st.Updated = []byte(doc), fromNanos(updated)
		steps = append(steps, st)
	}
	return steps, rows.Err()
}
