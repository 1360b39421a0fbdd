package sagemaker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/store"
)

// kind describes one resource kind: its store kind (also the ARN's resource
// type), how names become keys and ARNs, and the errors SageMaker answers
// for a missing or duplicate resource of the kind.
type kind struct {
	name string // "model", "model-package-group", ...
	// lowerARN: SageMaker lowercases these names in ARNs, and two names
	// that differ only in case are the same resource.
	lowerARN bool
	notFound func(arn string) error
	exists   func(arn string) error
}

// invalid returns a ValidationException error: SageMaker reports missing
// and duplicate models, packages and groups with that code.
func invalid(format string) func(arn string) error {
	return func(arn string) error { return api.Errorf(api.KindInvalid, format, arn) }
}

var (
	kindModel = &kind{
		name:     "model",
		lowerARN: true,
		notFound: invalid(`Could not find model "%s".`),
		exists:   invalid(`Cannot create already existing model "%s".`),
	}
	kindGroup = &kind{
		name:     "model-package-group",
		notFound: invalid(`ModelPackageGroup %s does not exist.`),
		exists:   invalid(`Model Package Group already exists: %s`),
	}
	kindPackage = &kind{
		name:     "model-package",
		notFound: invalid(`ModelPackage %s does not exist.`),
		exists:   invalid(`Model Package already exists: %s`),
	}
)

// scope is where a request's resources live.
type scope struct{ account, region string }

func scopeOf(req *api.Request) scope { return scope{req.Account, req.Region} }

// keyName is the store name of a resource called name.
func (k *kind) keyName(name string) string {
	if k.lowerARN {
		return strings.ToLower(name)
	}
	return name
}

func (k *kind) key(sc scope, name string) store.Key {
	return store.Key{Account: sc.account, Region: sc.region, Kind: k.name, Name: k.keyName(name)}
}

// arn is the ARN of the resource with this ARN path (name, or group/version).
func (k *kind) arn(sc scope, path string) string {
	return fmt.Sprintf("arn:aws:sagemaker:%s:%s:%s/%s", sc.region, sc.account, k.name, k.keyName(path))
}

// parsedARN is a SageMaker ARN taken apart.
type parsedARN struct {
	region, account, resourceType, path string
}

func parseARN(s string) (parsedARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "sagemaker" {
		return parsedARN{}, false
	}
	typ, path, ok := strings.Cut(parts[5], "/")
	if !ok || path == "" {
		return parsedARN{}, false
	}
	return parsedARN{region: parts[3], account: parts[4], resourceType: typ, path: path}, true
}

// resolve turns an input that is either a name or an ARN of kind k into a
// name (the ARN's path: name, or group/version). An ARN of another region
// is a validation error, as in SageMaker; an ARN of another account or of
// another kind names nothing that exists.
func (k *kind) resolve(sc scope, nameOrARN string) (string, error) {
	if !strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN, nil
	}
	a, ok := parseARN(nameOrARN)
	if !ok {
		return "", api.Errorf(api.KindInvalid, "%s is not a valid ARN.", nameOrARN)
	}
	if a.region != sc.region {
		return "", api.Errorf(api.KindInvalid, "ARN should be scoped to correct region: %s", sc.region)
	}
	if a.account != sc.account || a.resourceType != k.name {
		return "", k.notFound(nameOrARN)
	}
	return a.path, nil
}

// mapErr turns store.ErrNotFound and ErrExists into the kind's errors.
func (k *kind) mapErr(err error, arn string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return k.notFound(arn)
	case errors.Is(err, store.ErrExists):
		return k.exists(arn)
	}
	return err
}

// now is the creation or modification time of what a request changes, to
// the millisecond that the API shows, so that time filters agree with it.
func now(req *api.Request) time.Time { return req.Time.Truncate(time.Millisecond).UTC() }

func toStoreTags(tags []Tag) []store.Tag {
	out := make([]store.Tag, len(tags))
	for i, t := range tags {
		out[i] = store.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

// newResource builds the store form of a document.
func newResource(k *kind, sc scope, name, arn string, created time.Time, doc any) (store.Resource, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return store.Resource{}, fmt.Errorf("encode %s %s: %w", k.name, name, err)
	}
	return store.Resource{Key: k.key(sc, name), ARN: arn, Doc: b, Created: created}, nil
}

// create stores a new resource whose document is doc.
func create(ctx context.Context, st *store.Store, k *kind, sc scope, name, arn string, created time.Time, doc any, tags []Tag) error {
	if err := checkTagKeys(tags); err != nil {
		return err
	}
	r, err := newResource(k, sc, name, arn, created, doc)
	if err != nil {
		return err
	}
	return k.mapErr(st.Create(ctx, r, toStoreTags(tags)...), arn)
}

// get reads the resource called name and decodes its document.
func get[D any](ctx context.Context, st *store.Store, k *kind, sc scope, name string) (*D, store.Resource, error) {
	r, err := st.Get(ctx, k.key(sc, name))
	if err != nil {
		return nil, r, k.mapErr(err, k.arn(sc, name))
	}
	d, err := decode[D](r)
	return d, r, err
}

func decode[D any](r store.Resource) (*D, error) {
	d := new(D)
	if err := json.Unmarshal(r.Doc, d); err != nil {
		return nil, fmt.Errorf("decode %s: %w", r.Key, err)
	}
	return d, nil
}

// remove deletes the resource called name; with childKinds, not while it has
// children of those kinds.
func remove(ctx context.Context, st *store.Store, k *kind, sc scope, name string, childKinds ...string) error {
	return k.mapErr(st.Delete(ctx, k.key(sc, name), childKinds...), k.arn(sc, name))
}

// mutate changes the document of the resource called name in one
// transaction, at time at.
func mutate[D any](ctx context.Context, st *store.Store, k *kind, sc scope, name string, at time.Time, change func(d *D) error) (*D, error) {
	var out *D
	_, err := st.Mutate(ctx, k.key(sc, name), func(r *store.Resource) error {
		r.Updated = at
		d, err := decode[D](*r)
		if err != nil {
			return err
		}
		if err := change(d); err != nil {
			return err
		}
		if r.Doc, err = json.Marshal(d); err != nil {
			return fmt.Errorf("encode %s: %w", r.Key, err)
		}
		out = d
		return nil
	})
	if err != nil {
		return nil, k.mapErr(err, k.arn(sc, name))
	}
	return out, nil
}

// listOrder is a List operation's default sort.
type listOrder struct {
	sortBy     string
	descending bool
}

// defaultMaxResults is the page size of List operations without
// MaxResults.
const defaultMaxResults = 10

// query builds the store query of a List operation's common members.
func (p *listParams) query(k *kind, sc scope, def listOrder) (store.Query, error) {
	q := store.Query{
		Account: sc.account, Region: sc.region, Kind: k.name,
		NameContains: p.NameContains,
		Limit:        int(p.MaxResults),
		Token:        p.NextToken,
	}
	if q.Limit == 0 {
		q.Limit = defaultMaxResults
	}
	if p.CreationTimeAfter != nil {
		q.CreatedAfter = p.CreationTimeAfter.Time
	}
	if p.CreationTimeBefore != nil {
		q.CreatedBefore = p.CreationTimeBefore.Time
	}
	sortBy := p.SortBy
	if sortBy == "" {
		sortBy = def.sortBy
	}
	switch sortBy {
	case "CreationTime":
		q.SortBy = store.SortByCreationTime
	case "Name":
		q.SortBy = store.SortByName
	case "Status":
		q.SortBy = store.SortByStatus
	default:
		// The model's enum let it through, so this operation's handler
		// must sort by it itself.
		return q, fmt.Errorf("sort by %q is not supported by the store", sortBy)
	}
	switch p.SortOrder {
	case "":
		q.Descending = def.descending
	case "Descending":
		q.Descending = true
	}
	return q, nil
}

// list runs q and converts each document to its summary.
func list[D, S any](ctx context.Context, st *store.Store, q store.Query, summarize func(d *D) S) ([]S, string, error) {
	rs, next, err := st.List(ctx, q)
	if err != nil {
		return nil, "", err
	}
	out := make([]S, 0, len(rs))
	for _, r := range rs {
		d, err := decode[D](r)
		if err != nil {
			return nil, "", err
		}
		out = append(out, summarize(d))
	}
	return out, next, nil
}
