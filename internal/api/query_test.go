package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/inferscale/inferscale/internal/api/model"
)

func TestQueryToJSON(t *testing.T) {
	shape := echoShapes(t).Operations["Echo"].Input
	tests := []struct {
		name, form string
		json       string // keys sorted; "" when an error is expected
		err        string
	}{
		{name: "nothing", form: "Action=Echo&Version=2020-01-01", json: `{}`},
		{name: "scalars", form: "S=x+y&I=7&L=-5&D=1.5&F=2.5E-1&B=true", json: `{"B":true,"D":1.5,"F":2.5E-1,"I":7,"L":-5,"S":"x y"}`},
		{name: "timestamp with fraction", form: "T=2026-01-02T03%3A04%3A05.5Z", json: `{"T":1767323045.5}`},
		{name: "timestamp whole", form: "T=2026-01-02T03:04:05Z", json: `{"T":1767323045}`},
		{name: "timestamp with offset", form: "T=2026-01-02T05:04:05.123456789%2B02:00", json: `{"T":1767323045.123456789}`},
		{name: "timestamp epoch seconds", form: "T=1767323045.25", json: `{"T":1767323045.25}`},
		{name: "list of structures", form: "Items.member.1.Name=a&Items.member.1.N=1&Items.member.2.Name=b",
			json: `{"Items":[{"N":1,"Name":"a"},{"Name":"b"}]}`},
		{name: "indices out of order, with gaps", form: "Strs.member.10=c&Strs.member.2=b&Strs.member.1=a", json: `{"Strs":["a","b","c"]}`},
		{name: "flattened list", form: "Strs.1=a&Strs.2=b", json: `{"Strs":["a","b"]}`},
		{name: "empty list", form: "Strs=&Items=", json: `{"Items":[],"Strs":[]}`},
		{name: "map", form: "Tags.entry.1.key=k&Tags.entry.1.value=v&Tags.entry.2.key=k2&Tags.entry.2.value=", json: `{"Tags":{"k":"v","k2":""}}`},
		{name: "timestamp list", form: "Times.member.1=2026-01-02T03:04:05Z&Times.member.2=2026-01-02T03:04:06.250Z", json: `{"Times":[1767323045,1767323046.25]}`},
		{name: "nested structures", form: "Nested.Nested.S=deep&Nested.I=1", json: `{"Nested":{"I":1,"Nested":{"S":"deep"}}}`},
		{name: "blob", form: "Blob=AAH%2F", json: `{"Blob":"AAH/"}`},
		{name: "unknown parameters are ignored", form: "Zzz=1&s=2&Nested.Zzz=3", json: `{"Nested":{}}`},
		{name: "first of repeated values", form: "S=a&S=b", json: `{"S":"a"}`},
		// Values that do not parse as their type go on as strings, for
		// validation to report with the member's path.
		{name: "type mismatches", form: "I=abc&B=yes&D=NaN&Items=x&Nested=y", json: `{"B":"yes","D":"NaN","I":"abc","Items":"x","Nested":"y"}`},
		{name: "structure under a scalar", form: "S.x=1", json: `{"S":{}}`},

		{name: "bad list index", form: "Strs.member.x=a", err: `'Strs': "x" is not a list index`},
		{name: "zero list index", form: "Strs.member.0=a", err: `"0" is not a list index`},
		{name: "map entry without key", form: "Tags.entry.1.value=v", err: "'Tags': map entry 1 has no key"},
		{name: "bad timestamp", form: "T=yesterday", err: `'T': "yesterday" is not an ISO 8601 timestamp`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params, err := url.ParseQuery(tt.form)
			if err != nil {
				t.Fatal(err)
			}
			got, err := queryToJSON(params, shape)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q (json %s)", err, tt.err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(got))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("invalid JSON %s: %v", got, err)
			}
			sorted, _ := json.Marshal(v)
			if string(sorted) != tt.json {
				t.Errorf("got  %s\nwant %s", sorted, tt.json)
			}
		})
	}
}

func form(t testing.TB, h http.Handler, method, path, body string, header map[string]string) response {
	t.Helper()
	hd := map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
	for k, v := range header {
		hd[k] = v
	}
	return do(t, h, method, path, hd, body)
}

// TestQueryResponseXML pins the XML of a response with every shape type.
func TestQueryResponseXML(t *testing.T) {
	rt := newEchoRouter(t)
	body := "Action=Echo&Version=2020-01-01&S=%3Ca+%26+b%3E&I=7&L=-5&D=0.1&F=1e-7&B=false" +
		"&T=2026-01-02T03:04:05.5Z&Blob=AAH%2F&Items.member.1.Name=a&Items.member.1.N=1&Items.member.2.Name=b" +
		"&Tags.entry.1.key=z&Tags.entry.1.value=1&Tags.entry.2.key=a&Tags.entry.2.value=2" +
		"&Times.member.1=2026-01-02T03:04:05Z&Strs=&Nested.S=in"
	r := form(t, rt, http.MethodPost, "/", body, nil)
	want := `<EchoResponse xmlns="http://echo.amazonaws.com/doc/2020-01-01/"><EchoResult>` +
		`<S>&lt;a &amp; b&gt;</S><I>7</I><L>-5</L><D>0.1</D><F>1e-7</F><B>false</B><T>2026-01-02T03:04:05.500Z</T><Blob>AAH/</Blob>` +
		`<Items><member><Name>a</Name><N>1</N></member><member><Name>b</Name></member></Items>` +
		`<Tags><entry><key>a</key><value>2</value></entry><entry><key>z</key><value>1</value></entry></Tags>` +
		`<Times><member>2026-01-02T03:04:05.000Z</member></Times>` +
		`<Nested><S>in</S></Nested>` +
		`</EchoResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></EchoResponse>`
	if r.status != 200 || r.raw != want || r.header.Get("Content-Type") != "text/xml" {
		t.Errorf("got %d %s\n%s\nwant\n%s", r.status, r.header.Get("Content-Type"), r.raw, want)
	}
	var doc struct{}
	if err := xml.Unmarshal([]byte(r.raw), &doc); err != nil {
		t.Errorf("not XML: %v", err)
	}
}

// queryErrorBody is the awsQuery error document.
type queryErrorBody struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Error   struct {
		Type, Code, Message string
	}
	RequestID string `xml:"RequestId"`
}

func TestQueryRouter(t *testing.T) {
	rt := newEchoRouter(t)
	sm := NewService(model.MustLoad("sagemaker"))
	if sm.AWSQuery {
		t.Fatal("SageMaker's model does not list query")
	}
	if err := rt.Add(sm); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("Action=Echo&Version=2020-01-01&S=zipped"))
	_ = zw.Close()

	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		code, typ                string // typ "" for success
		msg                      string
	}{
		{name: "success", body: "Action=Echo&Version=2020-01-01&S=x", status: 200, msg: "<S>x</S>"},
		{name: "action in the URL", method: http.MethodGet, path: "/?Action=Echo&Version=2020-01-01&S=get", status: 200, msg: "<S>get</S>"},
		{name: "gzip body", body: gz.String(), header: map[string]string{"Content-Encoding": "gzip"}, status: 200, msg: "<S>zipped</S>"},
		{name: "missing Action", body: "Version=2020-01-01", status: 400, code: "MissingAction", typ: "Sender", msg: "The request must contain the parameter Action."},
		{name: "missing Version", body: "Action=Echo", status: 400, code: "MissingParameter", typ: "Sender", msg: "The request must contain the parameter Version."},
		{name: "unknown version", body: "Action=Echo&Version=1999-01-01", status: 400, code: "InvalidAction", typ: "Sender", msg: "No service here speaks awsQuery version 1999-01-01."},
		{name: "JSON-only service", body: "Action=ListModels&Version=2017-07-24", status: 400, code: "InvalidAction", typ: "Sender", msg: "version 2017-07-24"},
		{name: "unknown action", body: "Action=Nope&Version=2020-01-01", status: 400, code: "InvalidAction", typ: "Sender", msg: "Unknown operation Nope for service Echo."},
		{name: "malformed form", body: "Action=Echo&Version=2020-01-01&S=%zz", status: 400, code: "MalformedQueryString", typ: "Sender", msg: "Cannot parse the query string"},
		{name: "validation", body: "Action=Echo&Version=2020-01-01&I=101", status: 400, code: "ValidationError", typ: "Sender",
			msg: "1 validation error detected: Value '101' at 'i' failed to satisfy constraint: Member must have value less than or equal to 100"},
		{name: "required member", body: "Action=Echo&Version=2020-01-01&Items.member.1.N=1", status: 400, code: "ValidationError", typ: "Sender",
			msg: "Value null at 'items.1.member.name' failed to satisfy constraint: Member must not be null"},
		{name: "type error", body: "Action=Echo&Version=2020-01-01&I=abc", status: 400, code: "ValidationError", typ: "Sender", msg: "'i': expected integer, found string"},
		{name: "bad timestamp", body: "Action=Echo&Version=2020-01-01&T=soon", status: 400, code: "ValidationError", typ: "Sender", msg: `"soon" is not an ISO 8601 timestamp`},
		{name: "modeled error", body: "Action=Echo&Version=2020-01-01&S=bad", status: 409, code: "Bad", typ: "Sender", msg: "a bad thing"},
		{name: "internal error", body: "Action=Echo&Version=2020-01-01&S=boom", status: 500, code: "InternalFailure", typ: "Receiver", msg: "An internal error occurred."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, path := tt.method, tt.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/"
			}
			r := form(t, rt, method, path, tt.body, tt.header)
			if r.status != tt.status || r.header.Get("Content-Type") != "text/xml" {
				t.Fatalf("got %d %s %s, want %d", r.status, r.header.Get("Content-Type"), r.raw, tt.status)
			}
			if tt.code == "" {
				if !strings.Contains(r.raw, tt.msg) || !strings.HasPrefix(r.raw, "<EchoResponse") {
					t.Errorf("body %s lacks %s", r.raw, tt.msg)
				}
				return
			}
			var e queryErrorBody
			if err := xml.Unmarshal([]byte(r.raw), &e); err != nil {
				t.Fatalf("error body %s: %v", r.raw, err)
			}
			if e.Error.Code != tt.code || e.Error.Type != tt.typ || !strings.Contains(e.Error.Message, tt.msg) || e.RequestID != "req-1" {
				t.Errorf("got %+v\nwant %s %s %q", e, tt.code, tt.typ, tt.msg)
			}
			if r.header.Get("X-Amzn-Query-Error") != "" || r.header.Get("X-Amzn-ErrorType") != "" {
				t.Errorf("JSON error headers on an awsQuery error: %v", r.header)
			}
		})
	}

	// A form posted elsewhere than "/" is not awsQuery.
	r := form(t, rt, http.MethodPost, "/endpoints/x/invocations", "Action=Echo&Version=2020-01-01", nil)
	if r.status != 404 || r.body["__type"] != "UnknownOperationException" {
		t.Errorf("form to a REST path: %d %s", r.status, r.raw)
	}
}

func TestRouterAddQueryVersionConflict(t *testing.T) {
	rt := newEchoRouter(t)
	other := NewService(echoShapes(t))
	other.TargetPrefix = "OtherEcho"
	if err := rt.Add(other); err == nil || !strings.Contains(err.Error(), "awsQuery version 2020-01-01 is taken by Echo") {
		t.Errorf("second awsQuery service on a version: %v", err)
	}
	other.AWSQuery = false
	if err := rt.Add(other); err != nil {
		t.Errorf("the same without awsQuery: %v", err)
	}
}
