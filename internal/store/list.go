package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SortKey is what List orders by; ties are broken by name.
type SortKey uint8

// Sort keys.
const (
	SortByCreationTime SortKey = iota
	SortByName
	SortByStatus
)

var sortColumns = [...]string{SortByCreationTime: "created_at", SortByName: "name", SortByStatus: "status"}

// Nesting selects resources by whether they have a parent.
type Nesting uint8

// Nesting values.
const (
	AnyNesting Nesting = iota // with or without a parent
	TopLevel                  // without a parent
	Nested                    // with a parent
)

// Query selects resources of one kind in one account and region. Zero
// fields do not filter.
type Query struct {
	Account, Region, Kind string

	// NameContains keeps resources whose name contains it, ignoring case.
	// Only the part of the name before the first '/' is searched, so that
	// the numbers of PARENT/NUMBER children do not match.
	NameContains string
	// CreatedAfter keeps resources created at or after it; CreatedBefore
	// those created strictly before it. Likewise for Updated.
	CreatedAfter, CreatedBefore time.Time
	UpdatedAfter, UpdatedBefore time.Time
	// Parent keeps the children of the named parent.
	Parent string
	// Nesting keeps top-level or nested resources only.
	Nesting Nesting
	// Status keeps resources with exactly this status.
	Status string
	// DocEquals keeps resources whose JSON document has these top-level
	// members equal to these strings (json_extract(doc, '$.Member')).
	DocEquals map[string]string

	SortBy     SortKey
	Descending bool
	// Limit is the page size; List returns at most Limit resources and a
	// token for the rest. 0 means 100.
	Limit int
	// Token continues a previous List with the same query.
	Token string
}

// pageToken is the position after the last resource of a page: its sort
// value and name. Keyset pagination: rows inserted or deleted meanwhile
// shift nothing, so no resource is repeated or skipped because of them.
type pageToken struct {
	Sort SortKey `json:"s"`
	Desc bool    `json:"d,omitempty"`
	Int  int64   `json:"i,omitempty"`
	Str  string  `json:"v,omitempty"`
	Name string  `json:"n"`
	Kind string  `json:"k"`
}

func (t pageToken) encode() string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return t, ErrInvalidToken
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, ErrInvalidToken
	}
	return t, nil
}

// List returns one page of the resources q selects, in q's order, and the
// token of the next page ("" on the last page).
func (s *Store) List(ctx context.Context, q Query) ([]Resource, string, error) {
	out, next, err := s.list(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("list %s in %s/%s: %w", q.Kind, q.Account, q.Region, err)
	}
	return out, next, nil
}

func (s *Store) list(ctx context.Context, q Query) ([]Resource, string, error) {
	if int(q.SortBy) >= len(sortColumns) {
		return nil, "", fmt.Errorf("unknown sort key %d", q.SortBy)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	where, args := q.filter()
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}

	col := sortColumns[q.SortBy]
	dir, cmp := "ASC", ">"
	if q.Descending {
		dir, cmp = "DESC", "<"
	}
	if q.Token != "" {
		t, err := decodeToken(q.Token)
		if err != nil || t.Sort != q.SortBy || t.Desc != q.Descending || t.Kind != q.Kind {
			return nil, "", ErrInvalidToken
		}
		switch q.SortBy {
		case SortByName:
			add("name "+cmp+" ?", t.Name)
		case SortByCreationTime:
			add("("+col+" "+cmp+" ? OR ("+col+" = ? AND name "+cmp+" ?))", t.Int, t.Int, t.Name)
		default:
			add("("+col+" "+cmp+" ? OR ("+col+" = ? AND name "+cmp+" ?))", t.Str, t.Str, t.Name)
		}
	}
	order := col + " " + dir
	if q.SortBy != SortByName {
		order += ", name " + dir
	}
	query := `SELECT ` + resourceColumns + ` FROM resources WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + order + ` LIMIT ?`
	rows, err := s.query(ctx, query, append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	out, err := collect(rows)
	if err != nil {
		return nil, "", err
	}
	if len(out) <= limit {
		return out, "", nil
	}
	out = out[:limit]
	last := out[limit-1]
	t := pageToken{Sort: q.SortBy, Desc: q.Descending, Name: last.Name, Kind: q.Kind}
	switch q.SortBy {
	case SortByCreationTime:
		t.Int = nanos(last.Created)
	case SortByStatus:
		t.Str = last.Status
	}
	return out, t.encode(), nil
}

// filter returns the WHERE conditions, joined by AND, and their arguments
// of q's selection (all but Token).
func (q Query) filter() (where []string, args []any) {
	where = []string{"account = ?", "region = ?", "kind = ?"}
	args = []any{q.Account, q.Region, q.Kind}
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if q.NameContains != "" {
		add(`instr(lower(CASE WHEN instr(name, '/') > 0 THEN substr(name, 1, instr(name, '/') - 1) ELSE name END), ?) > 0`,
			strings.ToLower(q.NameContains))
	}
	timeRange := func(col string, after, before time.Time) {
		if !after.IsZero() {
			add(col+" >= ?", nanos(after))
		}
		if !before.IsZero() {
			add(col+" < ?", nanos(before))
		}
	}
	timeRange("created_at", q.CreatedAfter, q.CreatedBefore)
	timeRange("updated_at", q.UpdatedAfter, q.UpdatedBefore)
	if q.Parent != "" {
		add("parent = ?", q.Parent)
	}
	switch q.Nesting {
	case TopLevel:
		add("parent = ''")
	case Nested:
		add("parent <> ''")
	}
	if q.Status != "" {
		add("status = ?", q.Status)
	}
	for member, v := range q.DocEquals {
		add("json_extract(doc, ?) = ?", "$."+jsonPathMember(member), v)
	}
	return where, args
}

// jsonPathMember quotes a member name for a JSON path unless it is a plain
// identifier.
func jsonPathMember(m string) string {
	for _, r := range m {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b, _ := json.Marshal(m)
			return string(b)
		}
	}
	return m
}
