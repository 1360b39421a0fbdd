package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inferscale.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func key(kind, name string) Key {
	return Key{Account: "111122223333", Region: "us-east-1", Kind: kind, Name: name}
}

func res(kind, name string, created time.Time, doc string) Resource {
	k := key(kind, name)
	return Resource{Key: k, ARN: fmt.Sprintf("arn:aws:sagemaker:%s:%s:%s/%s", k.Region, k.Account, kind, name),
		Doc: []byte(doc), Created: created}
}

func TestCRUD(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	m := res("model", "resnet", t0, `{"ModelName":"resnet"}`)
	if err := s.Create(ctx, m, Tag{"team", "ml"}); err != nil {
		t.Fatal(err)
	}

	got, err := s.Get(ctx, m.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.ARN != m.ARN || string(got.Doc) != `{"ModelName":"resnet"}` || !got.Created.Equal(t0) || !got.Updated.Equal(t0) || got.Version != 1 {
		t.Errorf("Get = %+v", got)
	}
	if byARN, err := s.GetByARN(ctx, m.ARN); err != nil || byARN.Key != m.Key {
		t.Errorf("GetByARN = %+v, %v", byARN, err)
	}

	dupARN := res("model", "other", t0, `{}`)
	dupARN.ARN = m.ARN
	errTests := []struct {
		name string
		err  error
		want error
	}{
		{"create same key", s.Create(ctx, res("model", "resnet", t0, `{}`)), ErrExists},
		{"create same ARN", s.Create(ctx, dupARN), ErrExists},
		{"get missing", func() error { _, err := s.Get(ctx, key("model", "nope")); return err }(), ErrNotFound},
		{"get missing ARN", func() error { _, err := s.GetByARN(ctx, "arn:nope"); return err }(), ErrNotFound},
		{"update stale version", func() error {
			r := got
			r.Version = 7
			_, err := s.Update(ctx, r)
			return err
		}(), ErrConflict},
		{"update missing", func() error { _, err := s.Update(ctx, res("model", "nope", t0, `{}`)); return err }(), ErrNotFound},
		{"delete missing", s.Delete(ctx, key("model", "nope")), ErrNotFound},
		{"same name, other kind", s.Create(ctx, res("endpoint", "resnet", t0, `{}`)), nil},
	}
	for _, tt := range errTests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, tt.err, tt.want)
		}
	}

	upd := got
	upd.Doc, upd.Status, upd.Updated = []byte(`{"ModelName":"resnet","v":2}`), "Ready", t0.Add(time.Minute)
	upd.Created = t0.Add(time.Hour) // ignored
	after, err := s.Update(ctx, upd)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != 2 || after.Status != "Ready" || !after.Created.Equal(t0) || !after.Updated.Equal(t0.Add(time.Minute)) || string(after.Doc) != `{"ModelName":"resnet","v":2}` {
		t.Errorf("after Update: %+v", after)
	}
	// The version read before the update is now stale.
	if _, err := s.Update(ctx, upd); !errors.Is(err, ErrConflict) {
		t.Errorf("second update with version 1: %v, want ErrConflict", err)
	}

	mut, err := s.Mutate(ctx, m.Key, func(r *Resource) error {
		r.Status = "Mutated"
		r.Updated = t0.Add(2 * time.Minute)
		return nil
	})
	if err != nil || mut.Version != 3 || mut.Status != "Mutated" {
		t.Errorf("Mutate = %+v, %v", mut, err)
	}
	boom := errors.New("boom")
	if _, err := s.Mutate(ctx, m.Key, func(r *Resource) error { r.Status = "Lost"; return boom }); !errors.Is(err, boom) {
		t.Errorf("Mutate with failing fn: %v", err)
	}
	if r, _ := s.Get(ctx, m.Key); r.Status != "Mutated" || r.Version != 3 {
		t.Errorf("failed Mutate changed the resource: %+v", r)
	}
	if _, err := s.Mutate(ctx, key("model", "nope"), func(*Resource) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("Mutate missing: %v", err)
	}

	if err := s.Delete(ctx, m.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, m.Key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	// Tags went with the resource: a new resource with the same ARN has none.
	if err := s.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	if tags, err := s.ListTags(ctx, m.ARN); err != nil || len(tags) != 0 {
		t.Errorf("tags of re-created resource = %v, %v", tags, err)
	}
}

func TestCreateChild(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	group := res("model-package-group", "g", t0, `{}`)
	build := func(seq int64) (Resource, []Tag, error) {
		r := res("model-package", fmt.Sprintf("g/%d", seq), t0.Add(time.Duration(seq)*time.Second), `{}`)
		return r, []Tag{{"v", fmt.Sprint(seq)}}, nil
	}
	if _, err := s.CreateChild(ctx, group.Key, build); !errors.Is(err, ErrNotFound) {
		t.Fatalf("child of missing parent: %v", err)
	}
	if err := s.Create(ctx, group); err != nil {
		t.Fatal(err)
	}
	for want := int64(1); want <= 3; want++ {
		c, err := s.CreateChild(ctx, group.Key, build)
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != fmt.Sprintf("g/%d", want) || c.Parent != "g" || c.Version != 1 {
			t.Errorf("child %d = %+v", want, c)
		}
	}
	if tags, _ := s.ListTags(ctx, "arn:aws:sagemaker:us-east-1:111122223333:model-package/g/2"); len(tags) != 1 || tags[0] != (Tag{"v", "2"}) {
		t.Errorf("child tags = %v", tags)
	}
	// Numbers are not reused after a delete.
	if err := s.Delete(ctx, key("model-package", "g/3")); err != nil {
		t.Fatal(err)
	}
	if c, err := s.CreateChild(ctx, group.Key, build); err != nil || c.Name != "g/4" {
		t.Errorf("after delete: %+v, %v", c, err)
	}
	// A failing build rolls the sequence back.
	if _, err := s.CreateChild(ctx, group.Key, func(int64) (Resource, []Tag, error) { return Resource{}, nil, errors.New("no") }); err == nil {
		t.Error("failing build: no error")
	}
	if c, err := s.CreateChild(ctx, group.Key, build); err != nil || c.Name != "g/5" {
		t.Errorf("after failed build: %+v, %v", c, err)
	}

	if err := s.Delete(ctx, group.Key, "model-package"); !errors.Is(err, ErrHasChildren) {
		t.Errorf("delete parent with children: %v", err)
	}
	// Children of other kinds do not count.
	if err := s.Delete(ctx, group.Key, "other-kind"); err != nil {
		t.Errorf("delete parent, other child kind: %v", err)
	}
}

// listAll pages through q and returns the names in order, with the number
// of pages.
func listAll(t *testing.T, s *Store, q Query) ([]string, int) {
	t.Helper()
	var names []string
	pages := 0
	for {
		rs, next, err := s.List(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(rs) > q.Limit && q.Limit > 0 {
			t.Fatalf("page of %d > limit %d", len(rs), q.Limit)
		}
		for _, r := range rs {
			names = append(names, r.Name)
		}
		if next == "" {
			return names, pages
		}
		if pages > 1000 {
			t.Fatal("too many pages")
		}
		q.Token = next
	}
}

// TestCreateChildOnce: a child that the query selects is returned instead
// of creating another, and the parent's sequence is not advanced for it.
func TestCreateChildOnce(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	group := res("model-package-group", "g", t0, `{}`)
	byToken := func(token string) Query {
		return Query{Account: group.Account, Region: group.Region, Kind: "model-package", Parent: "g", DocEquals: map[string]string{"Token": token}}
	}
	build := func(token string) func(seq int64) (Resource, []Tag, error) {
		return func(seq int64) (Resource, []Tag, error) {
			return res("model-package", fmt.Sprintf("g/%d", seq), t0, `{"Token":"`+token+`"}`), nil, nil
		}
	}
	if _, _, err := s.CreateChildOnce(ctx, group.Key, byToken("a"), build("a")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("child of missing parent: %v", err)
	}
	if err := s.Create(ctx, group); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		token, want string
		created     bool
	}{{"a", "g/1", true}, {"a", "g/1", false}, {"b", "g/2", true}, {"a", "g/1", false}, {"b", "g/2", false}, {"c", "g/3", true}} {
		r, created, err := s.CreateChildOnce(ctx, group.Key, byToken(c.token), build(c.token))
		if err != nil || r.Name != c.want || created != c.created {
			t.Errorf("token %s: %s, created %v, %v; want %s, created %v", c.token, r.Name, created, err, c.want, c.created)
		}
	}
}

func TestListPagination(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	type row struct {
		name, status, parent, approval string
		created                        time.Time
	}
	var rows []row
	statuses := []string{"Completed", "Failed", "InProgress"}
	for i := range 230 {
		r := row{
			name:     fmt.Sprintf("m-%03d", (i*37)%230), // names not in creation order
			status:   statuses[i%3],
			created:  t0.Add(time.Duration(i/4) * time.Second), // four share each creation time
			approval: []string{"Approved", "Rejected"}[i%2],
		}
		if i%5 == 0 {
			r.parent = "grp"
		}
		rows = append(rows, r)
		rr := res("model", r.name, r.created, fmt.Sprintf(`{"ModelApprovalStatus":%q}`, r.approval))
		rr.Status, rr.Parent = r.status, r.parent
		if err := s.Create(ctx, rr); err != nil {
			t.Fatal(err)
		}
	}
	// Noise that no query may return.
	for _, k := range []Key{{"999988887777", "us-east-1", "model", "m-000x"}, {"111122223333", "eu-west-1", "model", "m-000y"}, key("endpoint", "m-000z")} {
		if err := s.Create(ctx, Resource{Key: k, ARN: "arn:" + k.String(), Created: t0}); err != nil {
			t.Fatal(err)
		}
	}

	base := Query{Account: "111122223333", Region: "us-east-1", Kind: "model"}
	want := func(keep func(row) bool, less func(a, b row) bool) []string {
		var sel []row
		for _, r := range rows {
			if keep == nil || keep(r) {
				sel = append(sel, r)
			}
		}
		sort.Slice(sel, func(i, j int) bool { return less(sel[i], sel[j]) })
		names := make([]string, len(sel))
		for i, r := range sel {
			names[i] = r.name
		}
		return names
	}
	byCreated := func(a, b row) bool {
		if !a.created.Equal(b.created) {
			return a.created.Before(b.created)
		}
		return a.name < b.name
	}
	byName := func(a, b row) bool { return a.name < b.name }
	byStatus := func(a, b row) bool {
		if a.status != b.status {
			return a.status < b.status
		}
		return a.name < b.name
	}
	desc := func(less func(a, b row) bool) func(a, b row) bool { return func(a, b row) bool { return less(b, a) } }

	tests := []struct {
		name   string
		mod    func(q *Query)
		keep   func(row) bool
		less   func(a, b row) bool
		limits []int
	}{
		{"creation time ascending", nil, nil, byCreated, []int{1, 7, 100, 0}},
		{"creation time descending", func(q *Query) { q.Descending = true }, nil, desc(byCreated), []int{3, 50}},
		{"name ascending", func(q *Query) { q.SortBy = SortByName }, nil, byName, []int{9, 230}},
		{"name descending", func(q *Query) { q.SortBy = SortByName; q.Descending = true }, nil, desc(byName), []int{10, 231}},
		{"status ascending", func(q *Query) { q.SortBy = SortByStatus }, nil, byStatus, []int{4, 77}},
		{"status descending", func(q *Query) { q.SortBy = SortByStatus; q.Descending = true }, nil, desc(byStatus), []int{6}},
		{"name contains, any case", func(q *Query) { q.NameContains = "M-1" }, func(r row) bool { return strings.Contains(r.name, "m-1") }, byCreated, []int{5}},
		{"created range", func(q *Query) {
			q.CreatedAfter, q.CreatedBefore = t0.Add(10*time.Second), t0.Add(20*time.Second)
		}, func(r row) bool {
			return !r.created.Before(t0.Add(10*time.Second)) && r.created.Before(t0.Add(20*time.Second))
		}, byCreated, []int{4}},
		{"status filter", func(q *Query) { q.Status = "Failed"; q.SortBy = SortByName }, func(r row) bool { return r.status == "Failed" }, byName, []int{8}},
		{"parent", func(q *Query) { q.Parent = "grp" }, func(r row) bool { return r.parent == "grp" }, byCreated, []int{5}},
		{"top level", func(q *Query) { q.Nesting = TopLevel }, func(r row) bool { return r.parent == "" }, byCreated, []int{50}},
		{"nested", func(q *Query) { q.Nesting = Nested }, func(r row) bool { return r.parent != "" }, byCreated, []int{50}},
		{"doc member", func(q *Query) {
			q.DocEquals = map[string]string{"ModelApprovalStatus": "Rejected"}
			q.Descending = true
		},
			func(r row) bool { return r.approval == "Rejected" }, desc(byCreated), []int{11}},
		{"no match", func(q *Query) { q.NameContains = "zzz" }, func(row) bool { return false }, byCreated, []int{10}},
	}
	for _, tt := range tests {
		for _, limit := range tt.limits {
			t.Run(fmt.Sprintf("%s/limit %d", tt.name, limit), func(t *testing.T) {
				q := base
				if tt.mod != nil {
					tt.mod(&q)
				}
				q.Limit = limit
				got, pages := listAll(t, s, q)
				exp := want(tt.keep, tt.less)
				if strings.Join(got, ",") != strings.Join(exp, ",") {
					t.Errorf("got %d names %v\nwant %d names %v", len(got), got, len(exp), exp)
				}
				eff := limit
				if eff == 0 {
					eff = 100
				}
				if wantPages := max(1, (len(exp)+eff-1)/eff); pages != wantPages {
					t.Errorf("%d pages, want %d", pages, wantPages)
				}
			})
		}
	}
}

func TestListStableUnderInserts(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	for i := range 40 {
		if err := s.Create(ctx, res("model", fmt.Sprintf("a-%02d", i), t0.Add(time.Duration(i)*time.Second), `{}`)); err != nil {
			t.Fatal(err)
		}
	}
	for _, desc := range []bool{false, true} {
		q := Query{Account: "111122223333", Region: "us-east-1", Kind: "model", Limit: 7, Descending: desc, NameContains: "a-"}
		seen := map[string]int{}
		for page := 0; ; page++ {
			rs, next, err := s.List(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				seen[r.Name]++
			}
			// Between pages, insert rows before, among and after the
			// remaining ones, and delete one not yet seen.
			for j, at := range []time.Duration{-time.Hour, 20 * time.Second, time.Hour} {
				name := fmt.Sprintf("a-new-%v-%d-%d", desc, page, j)
				if err := s.Create(ctx, res("model", name, t0.Add(at), `{}`)); err != nil {
					t.Fatal(err)
				}
			}
			if next == "" {
				break
			}
			q.Token = next
		}
		for i := range 40 {
			n := fmt.Sprintf("a-%02d", i)
			if seen[n] != 1 {
				t.Errorf("desc=%v: %s seen %d times", desc, n, seen[n])
			}
		}
		for n, c := range seen {
			if c != 1 {
				t.Errorf("desc=%v: %s seen %d times", desc, n, c)
			}
		}
	}
}

func TestListInvalidToken(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	for i := range 3 {
		if err := s.Create(ctx, res("model", fmt.Sprint(i), t0, `{}`)); err != nil {
			t.Fatal(err)
		}
	}
	q := Query{Account: "111122223333", Region: "us-east-1", Kind: "model", Limit: 1}
	_, next, err := s.List(ctx, q)
	if err != nil || next == "" {
		t.Fatalf("first page: %q, %v", next, err)
	}
	tests := []struct {
		name string
		mod  func(q *Query)
	}{
		{"garbage", func(q *Query) { q.Token = "!!not base64" }},
		{"not JSON", func(q *Query) { q.Token = "bm90IGpzb24" }},
		{"other sort key", func(q *Query) { q.Token = next; q.SortBy = SortByName }},
		{"other order", func(q *Query) { q.Token = next; q.Descending = true }},
		{"other kind", func(q *Query) { q.Token = next; q.Kind = "endpoint" }},
	}
	for _, tt := range tests {
		qq := q
		tt.mod(&qq)
		if _, _, err := s.List(ctx, qq); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: %v, want ErrInvalidToken", tt.name, err)
		}
	}
}

func TestTags(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	m := res("model", "m", t0, `{}`)
	if err := s.Create(ctx, m, Tag{"a", "1"}, Tag{"c", "3"}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
		want string // tags after, "" to skip
		err  error
	}{
		{"add and overwrite", func() error { return s.AddTags(ctx, m.ARN, []Tag{{"b", "2"}, {"a", "one"}}, 3) }, "a=one b=2 c=3", nil},
		{"over the limit changes nothing", func() error { return s.AddTags(ctx, m.ARN, []Tag{{"d", "4"}}, 3) }, "a=one b=2 c=3", ErrLimit},
		{"overwrite at the limit", func() error { return s.AddTags(ctx, m.ARN, []Tag{{"c", "three"}}, 3) }, "a=one b=2 c=three", nil},
		{"delete some, ignore unknown", func() error { return s.DeleteTags(ctx, m.ARN, []string{"a", "zz"}) }, "b=2 c=three", nil},
		{"add to unknown ARN", func() error { return s.AddTags(ctx, "arn:nope", []Tag{{"a", "1"}}, 0) }, "", ErrNotFound},
		{"delete from unknown ARN", func() error { return s.DeleteTags(ctx, "arn:nope", []string{"a"}) }, "", ErrNotFound},
		{"list unknown ARN", func() error { _, err := s.ListTags(ctx, "arn:nope"); return err }, "", ErrNotFound},
	}
	for _, st := range steps {
		if err := st.do(); !errors.Is(err, st.err) {
			t.Errorf("%s: err %v, want %v", st.name, err, st.err)
		}
		if st.want == "" {
			continue
		}
		tags, err := s.ListTags(ctx, m.ARN)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, tg := range tags {
			parts = append(parts, tg.Key+"="+tg.Value)
		}
		if got := strings.Join(parts, " "); got != st.want {
			t.Errorf("%s: tags %q, want %q", st.name, got, st.want)
		}
	}
}

func TestJobSteps(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	job := res("inference-recommendations-job", "j", t0, `{}`)
	job.Status = "IN_PROGRESS"
	if err := s.PutStep(ctx, job.ARN, Step{Index: 0, Status: "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("step of missing job: %v", err)
	}
	if err := s.Create(ctx, job); err != nil {
		t.Fatal(err)
	}
	for _, st := range []Step{
		{Index: 1, Status: "PENDING", Doc: []byte(`{"i":1}`), Updated: t0},
		{Index: 0, Status: "COMPLETED", Doc: []byte(`{"i":0}`), Updated: t0},
		{Index: 1, Status: "IN_PROGRESS", Doc: []byte(`{"i":1,"b":2}`), Updated: t0.Add(time.Second)},
	} {
		if err := s.PutStep(ctx, job.ARN, st); err != nil {
			t.Fatal(err)
		}
	}
	steps, err := s.Steps(ctx, job.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 2 || steps[0].Status != "COMPLETED" || steps[1].Status != "IN_PROGRESS" ||
		string(steps[1].Doc) != `{"i":1,"b":2}` || !steps[1].Updated.Equal(t0.Add(time.Second)) {
		t.Errorf("steps = %+v", steps)
	}

	// Recovery query: across accounts, by status, oldest first.
	other := Resource{Key: Key{"999988887777", "eu-west-1", job.Kind, "k"}, ARN: "arn:other", Status: "PENDING", Created: t0.Add(-time.Hour)}
	done := res(job.Kind, "done", t0, `{}`)
	done.Status = "COMPLETED"
	for _, r := range []Resource{other, done} {
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	active, err := s.ListByStatus(ctx, job.Kind, "PENDING", "IN_PROGRESS", "STOPPING")
	if err != nil {
		t.Fatal(err)
	}
	if len(active) != 2 || active[0].ARN != "arn:other" || active[1].ARN != job.ARN {
		t.Errorf("ListByStatus = %+v", active)
	}

	if err := s.Delete(ctx, job.Key); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, job); err != nil {
		t.Fatal(err)
	}
	if steps, err := s.Steps(ctx, job.ARN); err != nil || len(steps) != 0 {
		t.Errorf("steps after delete and re-create: %+v, %v", steps, err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	counter := res("counter", "c", t0, `{"n":0}`)
	if err := s.Create(ctx, counter); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*2)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := s.Create(ctx, res("model", fmt.Sprintf("w%d-%d", w, i), t0, `{}`)); err != nil {
					errs <- err
				}
				_, err := s.Mutate(ctx, counter.Key, func(r *Resource) error {
					var d struct{ N int }
					if err := json.Unmarshal(r.Doc, &d); err != nil {
						return err
					}
					d.N++
					r.Doc, _ = json.Marshal(map[string]int{"n": d.N})
					return nil
				})
				if err != nil {
					errs <- err
				}
				// Readers run alongside the writers.
				if _, _, err := s.List(ctx, Query{Account: "111122223333", Region: "us-east-1", Kind: "model", Limit: 5}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c, err := s.Get(ctx, counter.Key)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Doc) != fmt.Sprintf(`{"n":%d}`, workers*each) || c.Version != workers*each+1 {
		t.Errorf("counter = %s version %d, want n=%d", c.Doc, c.Version, workers*each)
	}
	names, _ := listAll(t, s, Query{Account: "111122223333", Region: "us-east-1", Kind: "model", Limit: 100})
	if len(names) != workers*each {
		t.Errorf("%d models, want %d", len(names), workers*each)
	}
}

func TestReopen(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	m := res("model", "keep", t0, `{"x":1}`)
	if err := s.Create(ctx, m, Tag{"k", "v"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Get(ctx, m.Key)
	if err != nil || string(got.Doc) != `{"x":1}` || !got.Created.Equal(t0) {
		t.Errorf("after reopen: %+v, %v", got, err)
	}
	if tags, err := s2.ListTags(ctx, m.ARN); err != nil || len(tags) != 1 {
		t.Errorf("tags after reopen: %v, %v", tags, err)
	}
	ms, _ := embeddedMigrations()
	if v, err := s2.SchemaVersion(ctx); err != nil || v != len(ms) {
		t.Errorf("schema version %d, %v; want %d", v, err, len(ms))
	}
	// The durability settings are in force on the writer connection.
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000"} {
		var got string
		if err := s2.w.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
			t.Errorf("PRAGMA %s = %q, %v; want %q", pragma, got, err, want)
		}
	}
	// Readers cannot write.
	if _, err := s2.r.ExecContext(ctx, `DELETE FROM resources`); err == nil {
		t.Error("read-only connection accepted a DELETE")
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	v1 := fstest.MapFS{"0001_items.sql": {Data: []byte(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);`)}}
	v2 := fstest.MapFS{
		"0001_items.sql": v1["0001_items.sql"],
		"0002_color.sql": {Data: []byte(`ALTER TABLE items ADD COLUMN color TEXT NOT NULL DEFAULT 'red'; UPDATE items SET color = 'blue' WHERE name = 'b';`)},
	}
	// The first statement succeeds and the second fails: nothing of v3 may stay.
	v3 := fstest.MapFS{
		"0001_items.sql":  v1["0001_items.sql"],
		"0002_color.sql":  v2["0002_color.sql"],
		"0003_broken.sql": {Data: []byte(`CREATE TABLE half (x INTEGER); INSERT INTO nope VALUES (1);`)},
	}
	load := func(fsys fstest.MapFS) []migration {
		ms, err := loadMigrations(fsys)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}

	s, err := open(ctx, path, load(v1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO items (name) VALUES ('a'), ('b')`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = open(ctx, path, load(v2))
	if err != nil {
		t.Fatal(err)
	}
	var colors string
	if err := s.r.QueryRowContext(ctx, `SELECT group_concat(name || '=' || color, ' ') FROM (SELECT * FROM items ORDER BY name)`).Scan(&colors); err != nil {
		t.Fatal(err)
	}
	if colors != "a=red b=blue" {
		t.Errorf("after migration 2: %q", colors)
	}
	if v, _ := s.SchemaVersion(ctx); v != 2 {
		t.Errorf("version %d, want 2", v)
	}
	s.Close()

	if _, err := open(ctx, path, load(v3)); err == nil || !strings.Contains(err.Error(), "0003_broken") {
		t.Errorf("broken migration: %v", err)
	}
	// Back on v2: the broken migration left nothing behind.
	s, err = open(ctx, path, load(v2))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("table of the failed migration exists: %d, %v", n, err)
	}
	s.Close()

	// A binary that knows fewer migrations than the database has refuses it.
	if _, err := open(ctx, path, load(v1)); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("older binary: %v, want ErrSchemaTooNew", err)
	}

	bad := []fstest.MapFS{
		{"0002_gap.sql": {Data: []byte(`SELECT 1;`)}},
		{"x_name.sql": {Data: []byte(`SELECT 1;`)}},
	}
	for _, fsys := range bad {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("loadMigrations(%v): no error", fsys)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, p := range []string{"", "a?b.db", filepath.Join(t.TempDir(), "missing-dir", "x.db")} {
		if s, err := Open(ctx, p); err == nil {
			s.Close()
			t.Errorf("Open(%q): no error", p)
		}
	}
}

// TestPreparedStatements checks that reads reuse one prepared statement per
// SQL text, give the same answers when the cache is full (unprepared), and
// fail cleanly after Close.
func TestPreparedStatements(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		maxStmts int
		// wantStmts after the reads below: Get, GetByARN and the two List
		// shapes (first page, then with a token), up to maxStmts.
		wantStmts int
	}{
		{"cached", defaultMaxStmts, 4},
		{"cache full", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTemp(t)
			s.maxStmts = tc.maxStmts
			for i, name := range []string{"a", "b", "c"} {
				if err := s.Create(ctx, res("model", name, t0.Add(time.Duration(i)*time.Second), `{"ModelName":"`+name+`"}`), Tag{"k", name}); err != nil {
					t.Fatal(err)
				}
			}
			// Each read twice: the second must reuse what the first prepared.
			for range 2 {
				for _, name := range []string{"a", "b", "c"} {
					r, err := s.Get(ctx, key("model", name))
					if err != nil || string(r.Doc) != `{"ModelName":"`+name+`"}` {
						t.Fatalf("Get %s = %s, %v", name, r.Doc, err)
					}
					if _, err := s.GetByARN(ctx, r.ARN); err != nil {
						t.Fatalf("GetByARN %s: %v", r.ARN, err)
					}
				}
				if _, err := s.Get(ctx, key("model", "missing")); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get missing: %v, want ErrNotFound", err)
				}
				rs, next, err := s.List(ctx, Query{Account: "111122223333", Region: "us-east-1", Kind: "model", Limit: 2, Descending: true})
				if err != nil || len(rs) != 2 || rs[0].Name != "c" || next == "" {
					t.Fatalf("List = %d resources, %q, %v", len(rs), next, err)
				}
				rs, _, err = s.List(ctx, Query{Account: "111122223333", Region: "us-east-1", Kind: "model", Limit: 2, Descending: true, Token: next})
				if err != nil || len(rs) != 1 || rs[0].Name != "a" {
					t.Fatalf("List page 2 = %+v, %v", rs, err)
				}
			}
			s.mu.RLock()
			n := len(s.stmts)
			s.mu.RUnlock()
			if n != tc.wantStmts {
				t.Errorf("%d prepared statements, want %d", n, tc.wantStmts)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, key("model", "a")); err == nil {
				t.Error("Get after Close succeeded")
			}
		})
	}
}

func TestDeleteAll(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	a, b, c := res("model", "a", t0, `{}`), res("model", "b", t0, `{}`), res("model", "c", t0, `{}`)
	for _, r := range []Resource{a, b, c} {
		if err := s.Create(ctx, r, Tag{"k", "v"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteAll(ctx, a.Key, key("model", "missing"), c.Key); err != nil {
		t.Fatal(err)
	}
	for _, r := range []Resource{a, c} {
		if _, err := s.Get(ctx, r.Key); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s after DeleteAll: %v", r.Name, err)
		}
		if _, err := s.ListTags(ctx, r.ARN); !errors.Is(err, ErrNotFound) {
			t.Errorf("tags of %s after DeleteAll: %v", r.Name, err)
		}
	}
	if _, err := s.Get(ctx, b.Key); err != nil {
		t.Errorf("b: %v", err)
	}
	if err := s.DeleteAll(ctx); err != nil {
		t.Errorf("DeleteAll of nothing: %v", err)
	}
}

// TestCheck: a sound database has no problems; one whose pages were
// overwritten has, and says which.
func TestCheck(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	for i := range 500 {
		if err := s.Create(ctx, res("model", fmt.Sprintf("m%03d", i), t0, fmt.Sprintf(`{"pad":%q}`, strings.Repeat("x", 200)))); err != nil {
			t.Fatal(err)
		}
	}
	if problems, err := s.Check(ctx); err != nil || len(problems) != 0 {
		t.Fatalf("sound database: %q, %v", problems, err)
	}
	if err := s.Close(); err != nil { // checkpoints the WAL into the file
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := bytes.Repeat([]byte{0xA5}, 3*4096)
	if _, err := f.WriteAt(junk, 8*4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open a database with damaged pages: %v", err)
	}
	defer s2.Close()
	// Damage found: as problems, or as the error SQLite gives when the
	// damage stops the check itself.
	if problems, err := s2.Check(ctx); err == nil && len(problems) == 0 {
		t.Error("damaged database: no problem found")
	} else {
		t.Logf("problems: %q, %v", problems, err)
	}
}
