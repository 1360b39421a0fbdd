package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

const resourceColumns = `account, region, kind, name, arn, parent, status, doc, created_at, updated_at, version`

type scanner interface{ Scan(dest ...any) error }

func scanResource(sc scanner) (Resource, error) {
	var r Resource
	var created, updated int64
	// Scanning TEXT into []byte copies it once (into a string, then bytes,
	// would copy twice).
	err := sc.Scan(&r.Account, &r.Region, &r.Kind, &r.Name, &r.ARN, &r.Parent, &r.Status, &r.Doc, &created, &updated, &r.Version)
	r.Created, r.Updated = fromNanos(created), fromNanos(updated)
	return r, err
}

// Create stores a new resource with its tags. It fails with ErrExists when
// the key or the ARN is taken.
func (s *Store) Create(ctx context.Context, r Resource, tags ...Tag) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := insertResource(ctx, tx, r, tags)
		return err
	})
	if err != nil {
		return fmt.Errorf("create %s: %w", r.Key, err)
	}
	return nil
}

// CreateChild creates a resource that belongs to parent, in one
// transaction: it checks that parent exists (ErrNotFound otherwise), gives
// the child the parent's next sequence number (1, 2, ...; numbers are never
// reused, even after children are deleted), and stores what build returns
// for that number, with Parent set to parent.Name.
func (s *Store) CreateChild(ctx context.Context, parent Key, build func(seq int64) (Resource, []Tag, error)) (Resource, error) {
	r, _, err := s.createChild(ctx, parent, nil, build)
	return r, err
}

// CreateChildOnce is CreateChild unless a resource that existing selects is
// there already (checked in the same transaction, after the parent): then it
// returns that resource and false, and changes nothing. It makes a creation
// idempotent: existing selects what an earlier identical request created
// (by a token in its document, say), so a retry cannot create it twice.
func (s *Store) CreateChildOnce(ctx context.Context, parent Key, existing Query, build func(seq int64) (Resource, []Tag, error)) (Resource, bool, error) {
	return s.createChild(ctx, parent, &existing, build)
}

func (s *Store) createChild(ctx context.Context, parent Key, existing *Query, build func(seq int64) (Resource, []Tag, error)) (Resource, bool, error) {
	var out Resource
	created := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		var seq int64
		err := tx.QueryRowContext(ctx, `SELECT child_seq FROM resources WHERE account = ? AND region = ? AND kind = ? AND name = ?`,
			parent.Account, parent.Region, parent.Kind, parent.Name).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("parent %s: %w", parent, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read parent %s: %w", parent, err)
		}
		if existing != nil {
			where, args := existing.filter()
			out, err = scanResource(tx.QueryRowContext(ctx, `SELECT `+resourceColumns+` FROM resources WHERE `+strings.Join(where, " AND ")+` LIMIT 1`, args...))
			if err == nil {
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("look for an existing child: %w", err)
			}
		}
		seq++
		if _, err := tx.ExecContext(ctx, `UPDATE resources SET child_seq = ? WHERE account = ? AND region = ? AND kind = ? AND name = ?`,
			seq, parent.Account, parent.Region, parent.Kind, parent.Name); err != nil {
			return fmt.Errorf("update parent %s: %w", parent, err)
		}
		r, tags, err := build(seq)
		if err != nil {
			return err
		}
		r.Parent = parent.Name
		out, err = insertResource(ctx, tx, r, tags)
		created = err == nil
		return err
	})
	if err != nil {
		return Resource{}, false, fmt.Errorf("create child of %s: %w", parent, err)
	}
	return out, created, nil
}

func insertResource(ctx context.Context, tx *sql.Tx, r Resource, tags []Tag) (Resource, error) {
	if r.Account == "" || r.Region == "" || r.Kind == "" || r.Name == "" || r.ARN == "" {
		return r, fmt.Errorf("incomplete resource %s (arn %q)", r.Key, r.ARN)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM resources WHERE (account = ? AND region = ? AND kind = ? AND name = ?) OR arn = ?`,
		r.Account, r.Region, r.Kind, r.Name, r.ARN).Scan(&n); err != nil {
		return r, fmt.Errorf("check existence: %w", err)
	}
	if n > 0 {
		return r, ErrExists
	}
	r.Created = orNow(r.Created)
	if r.Updated.IsZero() {
		r.Updated = r.Created
	}
	r.Version = 1
	if r.Doc == nil {
		r.Doc = []byte("{}")
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO resources (`+resourceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Account, r.Region, r.Kind, r.Name, r.ARN, r.Parent, r.Status, string(r.Doc), nanos(r.Created), nanos(r.Updated), r.Version); err != nil {
		return r, fmt.Errorf("insert: %w", err)
	}
	if err := upsertTags(ctx, tx, r.ARN, tags); err != nil {
		return r, err
	}
	return r, nil
}

// Get returns the resource with key k, or ErrNotFound.
func (s *Store) Get(ctx context.Context, k Key) (Resource, error) {
	r, err := scanResource(s.queryRow(ctx, `SELECT `+resourceColumns+` FROM resources WHERE account = ? AND region = ? AND kind = ? AND name = ?`,
		k.Account, k.Region, k.Kind, k.Name))
	if errors.Is(err, sql.ErrNoRows) {
		return Resource{}, fmt.Errorf("get %s: %w", k, ErrNotFound)
	}
	if err != nil {
		return Resource{}, fmt.Errorf("get %s: %w", k, err)
	}
	return r, nil
}

// GetByARN returns the resource with the given ARN, or ErrNotFound.
func (s *Store) GetByARN(ctx context.Context, arn string) (Resource, error) {
	r, err := scanResource(s.queryRow(ctx, `SELECT `+resourceColumns+` FROM resources WHERE arn = ?`, arn))
	if errors.Is(err, sql.ErrNoRows) {
		return Resource{}, fmt.Errorf("get %s: %w", arn, ErrNotFound)
	}
	if err != nil {
		return Resource{}, fmt.Errorf("get %s: %w", arn, err)
	}
	return r, nil
}

// Update replaces the document and status of r.Key if its stored version is
// still r.Version (ErrConflict otherwise, ErrNotFound if it is gone), and
// returns the resource as stored, with the new version. r.Updated zero means
// now; key, ARN, parent and creation time never change.
func (s *Store) Update(ctx context.Context, r Resource) (Resource, error) {
	var out Resource
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = updateResource(ctx, tx, r)
		return err
	})
	if err != nil {
		return Resource{}, fmt.Errorf("update %s: %w", r.Key, err)
	}
	return out, nil
}

// Mutate reads the resource with key k, lets fn change its Doc and Status,
// and writes it back, all in one transaction, so concurrent Mutates of the
// same resource never lose each other's changes. An error from fn aborts
// the change and is returned (wrapped).
func (s *Store) Mutate(ctx context.Context, k Key, fn func(r *Resource) error) (Resource, error) {
	var out Resource
	err := s.write(ctx, func(tx *sql.Tx) error {
		r, err := scanResource(tx.QueryRowContext(ctx, `SELECT `+resourceColumns+` FROM resources WHERE account = ? AND region = ? AND kind = ? AND name = ?`,
			k.Account, k.Region, k.Kind, k.Name))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		r.Updated = time.Time{} // fn may set it; zero means now
		if err := fn(&r); err != nil {
			return err
		}
		r.Key = k
		out, err = updateResource(ctx, tx, r)
		return err
	})
	if err != nil {
		return Resource{}, fmt.Errorf("mutate %s: %w", k, err)
	}
	return out, nil
}

func updateResource(ctx context.Context, tx *sql.Tx, r Resource) (Resource, error) {
	r.Updated = orNow(r.Updated)
	if r.Doc == nil {
		r.Doc = []byte("{}")
	}
	res, err := tx.ExecContext(ctx, `UPDATE resources SET doc = ?, status = ?, updated_at = ?, version = version + 1
		WHERE account = ? AND region = ? AND kind = ? AND name = ? AND version = ?`,
		string(r.Doc), r.Status, nanos(r.Updated), r.Account, r.Region, r.Kind, r.Name, r.Version)
	if err != nil {
		return r, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return r, err
	} else if n == 0 {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM resources WHERE account = ? AND region = ? AND kind = ? AND name = ?`,
			r.Account, r.Region, r.Kind, r.Name).Scan(&exists); err != nil {
			return r, err
		}
		if exists == 0 {
			return r, ErrNotFound
		}
		return r, fmt.Errorf("version %d: %w", r.Version, ErrConflict)
	}
	out, err := scanResource(tx.QueryRowContext(ctx, `SELECT `+resourceColumns+` FROM resources WHERE account = ? AND region = ? AND kind = ? AND name = ?`,
		r.Account, r.Region, r.Kind, r.Name))
	return out, err
}

// Delete removes the resource with key k, with its tags and job steps
// (ErrNotFound if there is none). With childKinds, it refuses
// (ErrHasChildren) while a resource of one of those kinds has k as parent.
func (s *Store) Delete(ctx context.Context, k Key, childKinds ...string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if len(childKinds) > 0 {
			q := `SELECT COUNT(*) FROM resources WHERE account = ? AND region = ? AND parent = ? AND kind IN (?` +
				strings.Repeat(", ?", len(childKinds)-1) + `)`
			args := []any{k.Account, k.Region, k.Name}
			for _, c := range childKinds {
				args = append(args, c)
			}
			var n int
			if err := tx.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
				return fmt.Errorf("count children: %w", err)
			}
			if n > 0 {
				return fmt.Errorf("%d children: %w", n, ErrHasChildren)
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM resources WHERE account = ? AND region = ? AND kind = ? AND name = ?`,
			k.Account, k.Region, k.Kind, k.Name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	return nil
}

// ListByStatus returns the resources of a kind whose status is one of
// statuses, in every account and region, oldest first: what a service
// resumes after a restart (jobs that were running).
func (s *Store) ListByStatus(ctx context.Context, kind string, statuses ...string) ([]Resource, error) {
	if len(statuses) == 0 {
		return nil, nil
	}
	args := []any{kind}
	for _, st := range statuses {
		args = append(args, st)
	}
	rows, err := s.query(ctx, `SELECT `+resourceColumns+` FROM resources WHERE kind = ? AND status IN (?`+
		strings.Repeat(", ?", len(statuses)-1)+`) ORDER BY created_at, account, region, name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s by status: %w", kind, err)
	}
	out, err := collect(rows)
	if err != nil {
		return nil, fmt.Errorf("list %s by status: %w", kind, err)
	}
	return out, nil
}

func collect(rows *sql.Rows) ([]Resource, error) {
	defer rows.Close()
	var out []Resource
	for rows.Next() {
		r, err := scanResource(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteAll removes the resources with the given keys, with their tags and
// job steps, in one transaction: all of them or, on error, none. Keys with
// no resource are skipped.
func (s *Store) DeleteAll(ctx context.Context, keys ...Key) error {
	if len(keys) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `DELETE FROM resources WHERE account = ? AND region = ? AND kind = ? AND name = ?`,
				k.Account, k.Region, k.Kind, k.Name); err != nil {
				return fmt.Errorf("delete %s: %w", k, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete %d resources: %w", len(keys), err)
	}
	return nil
}
