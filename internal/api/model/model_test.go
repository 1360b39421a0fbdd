package model

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadEmbeddedModels(t *testing.T) {
	tests := []struct {
		name, prefix, jsonVersion, protocol, op string
	}{
		{"sagemaker", "SageMaker", "1.1", "json", "CreateInferenceRecommendationsJob"},
		{"application-autoscaling", "AnyScaleFrontendService", "1.1", "json", "RegisterScalableTarget"},
		{"cloudwatch", "GraniteServiceVersion20100801", "1.0", "smithy-rpc-v2-cbor", "PutMetricAlarm"},
		{"sagemaker-runtime", "", "1.1", "rest-json", "InvokeEndpoint"},
	}
	if got, want := Names(), []string{"application-autoscaling", "cloudwatch", "sagemaker", "sagemaker-runtime"}; !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			s, err := Load(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("first Load took %v (includes other tests' loads of the same model)", time.Since(start))
			m := s.Metadata
			if m.TargetPrefix != tt.prefix || m.JSONVersion != tt.jsonVersion || m.Protocol != tt.protocol {
				t.Errorf("metadata = %+v", m)
			}
			if s.Operations[tt.op] == nil || s.Operations[tt.op].Input == nil {
				t.Errorf("operation %s missing or without input", tt.op)
			}
			again, _ := Load(tt.name)
			if again != s {
				t.Error("Load does not cache")
			}
		})
	}
	if _, err := Load("no-such-service"); err == nil {
		t.Error("Load of an unknown model succeeded")
	}
}

func TestParseKeepsMemberOrderAndTraits(t *testing.T) {
	s := MustLoad("sagemaker")
	in := s.Operations["CreateInferenceRecommendationsJob"].Input
	var names []string
	for _, m := range in.Members {
		names = append(names, m.Name)
	}
	want := []string{"JobName", "JobType", "RoleArn", "InputConfig", "JobDescription", "StoppingConditions", "OutputConfig", "Tags"}
	if !slices.Equal(names, want) {
		t.Errorf("members = %v, want model order %v", names, want)
	}
	if !in.IsRequired("RoleArn") || in.IsRequired("Tags") {
		t.Error("required members wrong")
	}
	jobName := in.MemberNamed("JobName").Shape
	if jobName.Min == nil || jobName.Min.Int != 1 || jobName.Max.Int != 64 || jobName.Pattern == "" {
		t.Errorf("RecommendationJobName constraints = %+v %+v %q", jobName.Min, jobName.Max, jobName.Pattern)
	}
	if rnf := s.Shapes["ResourceNotFound"]; rnf == nil || !rnf.Exception {
		t.Error("ResourceNotFound is not an exception shape")
	}
	rt := MustLoad("sagemaker-runtime").Operations["InvokeEndpoint"]
	if rt.Method != "POST" || rt.RequestURI != "/endpoints/{EndpointName}/invocations" {
		t.Errorf("InvokeEndpoint http = %s %s", rt.Method, rt.RequestURI)
	}
	if p := rt.Input.Payload(); p == nil || p.Name != "Body" || p.Shape.Type != TypeBlob {
		t.Errorf("InvokeEndpoint payload = %+v", p)
	}
	if m := rt.Input.MemberNamed("TargetVariant"); m.Location != "header" || m.LocationName != "X-Amzn-SageMaker-Target-Variant" {
		t.Errorf("TargetVariant binding = %+v", m)
	}
}

func TestParseRejectsBrokenModels(t *testing.T) {
	tests := map[string]string{
		"not json":       `{"shapes":`,
		"unknown shape":  `{"shapes":{"A":{"type":"structure","members":{"B":{"shape":"Missing"}}}}}`,
		"list no member": `{"shapes":{"L":{"type":"list"}}}`,
		"bad min":        `{"shapes":{"S":{"type":"string","min":"x"}}}`,
		"unknown input":  `{"operations":{"Op":{"name":"Op","input":{"shape":"Nope"}}},"shapes":{}}`,
	}
	for name, src := range tests {
		if _, err := Parse(strings.NewReader(src)); err == nil {
			t.Errorf("%s: Parse succeeded", name)
		}
	}
}

func TestTopLevelKeys(t *testing.T) {
	src := `{"b": {"x": 1, "y": [1, {"z": 2}]}, "a\u0041": "v:\"w\"", "c" : [] }`
	if got, want := topLevelKeys([]byte(src)), []string{"b", "aA", "c"}; !slices.Equal(got, want) {
		t.Errorf("topLevelKeys = %q, want %q", got, want)
	}
}

// TestSageMakerPatternTranslation records how many of SageMaker's patterns
// RE2 can enforce. It fails when a model refresh changes the set of patterns
// that are skipped, so that someone looks at the new ones.
func TestSageMakerPatternTranslation(t *testing.T) {
	r := MustLoad("sagemaker").Patterns()
	t.Logf("SageMaker: %d distinct patterns: %d exact, %d approximate, %d skipped",
		r.Total, r.Exact, len(r.Approximate), len(r.Skipped))
	for p, why := range r.Approximate {
		t.Logf("approximate %q: %s", p, why)
	}
	for _, p := range r.SkippedPatterns() {
		t.Logf("skipped %q (shapes %v): %s", p, r.Shapes[p], r.Skipped[p])
	}
	wantSkipped := []string{
		// A lookbehind in the middle, followed by an optional group.
		`(arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:[a-z\-]*\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-)(\/[0-9]{1,9})?`,
	}
	if got := r.SkippedPatterns(); !slices.Equal(got, wantSkipped) {
		t.Errorf("skipped patterns changed:\n got %q\nwant %q", got, wantSkipped)
	}
	if r.Total < 200 || r.Exact+len(r.Approximate)+len(r.Skipped) != r.Total {
		t.Errorf("report does not add up: %+v", r)
	}
	for _, name := range []string{"application-autoscaling", "cloudwatch", "sagemaker-runtime"} {
		if r := MustLoad(name).Patterns(); len(r.Skipped) != 0 || len(r.Approximate) != 0 {
			t.Errorf("%s: skipped %v, approximate %v; want every pattern exact", name, r.Skipped, r.Approximate)
		}
	}
}

func TestCompilePattern(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		nomatch []string
		approx  bool
		skipped bool
	}{
		{pattern: `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`, match: []string{"a", "job-1", "a--b"}, nomatch: []string{"", "-a", "a-", "a_b", strings.Repeat("a", 64)}},
		// Anchored as a full match, not a search.
		{pattern: `[0-9]+`, match: []string{"123"}, nomatch: []string{"a123", "123a"}},
		{pattern: `\p{Print}+`, match: []string{"hello world~"}, nomatch: []string{"tab\there", "é"}},
		{pattern: `\A\S[\p{Print}]*\z`, match: []string{"x y"}, nomatch: []string{" x"}},
		{pattern: `[\p{ASCII}]*`, match: []string{"abc\x01"}, nomatch: []string{"ü"}},
		{pattern: `arn:[\p{Alnum}\-]+:lambda`, match: []string{"arn:aws-cn:lambda"}, nomatch: []string{"arn:äws:lambda"}},
		{pattern: `([\p{L}\p{Z}\p{N}_.:/=+\-@]*)`, match: []string{"Ünïcode tag: v=1"}, nomatch: []string{"semi;colon"}},
		// Java reads '-' after a range as a literal.
		{pattern: `[a-zA-Z0-9-_.]+`, match: []string{"a-b_c.d"}, nomatch: []string{"a b"}},
		// \u escapes and a surrogate pair meaning U+10000..U+10FFFF.
		{pattern: `[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]*`, match: []string{"ok\n", "emoji 😀"}, nomatch: []string{"bell\x07"}},
		// A quantified anchor.
		{pattern: `([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)${1,128}`, match: []string{"a/b"}, nomatch: []string{"a;b"}},
		// Leading lookaheads become prefix tests.
		{pattern: `(?!\s*$).+`, match: []string{"x", " x "}, nomatch: []string{"", "   "}},
		{pattern: `(?!^[.-])^([a-zA-Z0-9-_.]+)`, match: []string{"a.b"}, nomatch: []string{".a", "-a"}},
		{pattern: `^(?!s3:|https:)[a-zA-Z0-9!_.*'()/-]+$`, match: []string{"model.tar.gz"}, nomatch: []string{"s3:x", "https:x"}},
		{pattern: `(?!((^[ ]+.*)|(.*([\u0000-\u001f]|[\u007f-\u009f]|[:/|])+.*)|(.*[ ]+$))).+`, match: []string{"my policy"}, nomatch: []string{" lead", "trail ", "a:b", "a|b", "ctl\x01"}},
		// A length lookahead, including one beyond RE2's repeat limit.
		{pattern: `(?=.{1,32}$)[a-zA-Z0-9](-*[a-zA-Z0-9])*`, match: []string{"abc", strings.Repeat("a", 32)}, nomatch: []string{strings.Repeat("a", 33)}},
		{pattern: `(?=.{1,1024}$)(https)://([^/]+)/(.+)`, match: []string{"https://h/p"}, nomatch: []string{"https://h/" + strings.Repeat("p", 1020), "https://h/p\nq"}},
		// A trailing lookbehind becomes a suffix test.
		{pattern: `(arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:[a-z\-]*/)?([a-zA-Z0-9]([a-zA-Z0-9\-]){0,62})(?<!-)`, match: []string{"name-1", "arn:aws:sagemaker:us-east-1:123456789012:model/m"}, nomatch: []string{"name-"}},
		// One class repeated beyond 1000: exact through a length test.
		{pattern: `.{1,4096}`, match: []string{"x", strings.Repeat("x", 4096)}, nomatch: []string{"", strings.Repeat("x", 4097), "a\nb"}},
		{pattern: `[\p{L}\p{M}\p{Z}\p{N}\p{P}]{0,1024}`, match: []string{"", "Hello, world."}, nomatch: []string{strings.Repeat("x", 1025), "a+b"}},
		// Elsewhere, bounds above 1000 are relaxed.
		{pattern: `[a-zA-Z_][a-zA-Z0-9_]{0,1023}`, match: []string{"A_1", "a" + strings.Repeat("b", 1023)}, nomatch: []string{"1a"}, approx: true},
		// \Q...\E, \h, octal and \e escapes.
		{pattern: `\Q1+1\E=[0-9]`, match: []string{"1+1=2"}, nomatch: []string{"11=2"}},
		{pattern: `a\hb`, match: []string{"a b", "a\tb"}, nomatch: []string{"a\nb"}},
		{pattern: `\0101\e`, match: []string{"A\x1b"}},
		// Untranslatable: enforced as "anything goes".
		{pattern: `(a)\1`, match: []string{"aa", "whatever"}, skipped: true},
		{pattern: `[a-z&&[^b]]`, match: []string{"b"}, skipped: true},
		{pattern: `x(?=y)y`, match: []string{"anything"}, skipped: true},
	}
	for _, tt := range tests {
		p := CompilePattern(tt.pattern)
		if (p.Err != nil) != tt.skipped {
			t.Errorf("%q: Err = %v, want skipped=%v", tt.pattern, p.Err, tt.skipped)
			continue
		}
		if (p.Approximate != "") != tt.approx {
			t.Errorf("%q: Approximate = %q, want %v", tt.pattern, p.Approximate, tt.approx)
		}
		for _, s := range tt.match {
			if !p.Match(s) {
				t.Errorf("%q (Go %q) does not match %q", tt.pattern, p.Go, s)
			}
		}
		for _, s := range tt.nomatch {
			if p.Match(s) {
				t.Errorf("%q (Go %q) matches %q", tt.pattern, p.Go, s)
			}
		}
	}
}

func decode(t testing.TB, src string) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(src)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("test JSON %s: %v", src, err)
	}
	return v
}
