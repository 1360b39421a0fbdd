package api

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/inferscale/inferscale/internal/api/model"
)

// echoModel is a small model with every shape type, for the codec tests.
const echoModel = `{
  "metadata": {"apiVersion": "2020-01-01", "endpointPrefix": "echo", "jsonVersion": "1.0",
    "protocols": ["smithy-rpc-v2-cbor", "json", "query"], "serviceId": "Echo", "targetPrefix": "EchoService"},
  "operations": {
    "Echo": {"name": "Echo", "http": {"method": "POST", "requestUri": "/"},
      "input": {"shape": "Value"}, "output": {"shape": "Value"}, "errors": [{"shape": "BadThing"}]}
  },
  "shapes": {
    "Value": {"type": "structure", "members": {
      "S": {"shape": "Str"}, "I": {"shape": "Int"}, "L": {"shape": "Long"}, "D": {"shape": "Dbl"},
      "F": {"shape": "Flt"}, "B": {"shape": "Bool"}, "T": {"shape": "Time"}, "Blob": {"shape": "Bin"},
      "Items": {"shape": "ItemList"}, "Tags": {"shape": "TagMap"}, "Times": {"shape": "TimeList"},
      "Strs": {"shape": "StrList"}, "Doc": {"shape": "Doc"}, "Nested": {"shape": "Value"}}},
    "Item": {"type": "structure", "required": ["Name"], "members": {"Name": {"shape": "Str"}, "N": {"shape": "Int"}}},
    "ItemList": {"type": "list", "member": {"shape": "Item"}},
    "TagMap": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Str"}},
    "TimeList": {"type": "list", "member": {"shape": "Time"}},
    "StrList": {"type": "list", "member": {"shape": "Str"}},
    "Str": {"type": "string"}, "Int": {"type": "integer", "max": 100}, "Long": {"type": "long"},
    "Dbl": {"type": "double"}, "Flt": {"type": "float"}, "Bool": {"type": "boolean"},
    "Time": {"type": "timestamp"}, "Bin": {"type": "blob"},
    "Doc": {"type": "structure", "members": {}, "document": true},
    "BadThing": {"type": "structure", "members": {"message": {"shape": "Str"}}, "exception": true,
      "error": {"code": "Bad", "httpStatusCode": 409, "senderFault": true}}
  }
}`

type echoItem struct {
	Name string `json:"Name"`
	N    *int32 `json:"N,omitempty"`
}

type echoValue struct {
	S      string            `json:"S,omitempty"`
	I      *int32            `json:"I,omitempty"`
	L      *int64            `json:"L,omitempty"`
	D      *float64          `json:"D,omitempty"`
	F      *float32          `json:"F,omitempty"`
	B      *bool             `json:"B,omitempty"`
	T      *Timestamp        `json:"T,omitempty"`
	Blob   []byte            `json:"Blob,omitempty"`
	Items  []echoItem        `json:"Items,omitempty"`
	Tags   map[string]string `json:"Tags,omitempty"`
	Times  []Timestamp       `json:"Times,omitempty"`
	Strs   []string          `json:"Strs,omitempty"`
	Doc    any               `json:"Doc,omitempty"`
	Nested *echoValue        `json:"Nested,omitempty"`
}

func echoShapes(t testing.TB) *model.Service {
	t.Helper()
	m, err := model.Parse(strings.NewReader(echoModel))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// newEchoRouter serves Echo, which returns its input, except that S "bad"
// fails with the modeled BadThing and S "boom" with an internal error.
func newEchoRouter(t testing.TB) *Router {
	t.Helper()
	svc := NewService(echoShapes(t))
	svc.CheckOutput = true
	svc.Handle(Op("Echo", func(ctx context.Context, req *Request, in *echoValue) (*echoValue, error) {
		switch in.S {
		case "bad":
			return nil, &Error{Code: "Bad", Message: "a bad thing"}
		case "boom":
			return nil, context.DeadlineExceeded
		}
		return in, nil
	}))
	rt := &Router{NewRequestID: func() string { return "req-1" }}
	if err := rt.Add(svc); err != nil {
		t.Fatal(err)
	}
	return rt
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustCBOR(t testing.TB, v any) []byte {
	t.Helper()
	b, err := cborEnc.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCBORToJSON(t *testing.T) {
	shape := echoShapes(t).Operations["Echo"].Input
	tests := []struct {
		name string
		cbor []byte
		json string // compact, keys sorted; "" when an error is expected
		err  string
	}{
		{name: "empty body", cbor: nil, json: `{}`},
		{name: "scalars", cbor: mustCBOR(t, map[string]any{"S": "x", "I": 7, "L": -5, "D": 1.5, "F": float32(0.25), "B": true}),
			json: `{"B":true,"D":1.5,"F":0.25,"I":7,"L":-5,"S":"x"}`},
		{name: "large long", cbor: mustCBOR(t, map[string]any{"L": uint64(math.MaxUint64)}), json: `{"L":18446744073709551615}`},
		{name: "half float", cbor: unhex(t, "a1 61 44 f9 3e 00"), json: `{"D":1.5}`},
		// Tag 1 around an integer (botocore) or a float64 (aws-sdk-go-v2);
		// the float's shortest decimal form keeps milliseconds exact.
		{name: "timestamp integer", cbor: unhex(t, "a1 61 54 c1 1a 69 56 b6 00"), json: `{"T":1767290368}`},
		{name: "timestamp float", cbor: mustCBOR(t, map[string]any{"T": cbor.Tag{Number: 1, Content: 1767225600.123}}), json: `{"T":1767225600.123}`},
		{name: "timestamp negative", cbor: mustCBOR(t, map[string]any{"T": cbor.Tag{Number: 1, Content: -1.5}}), json: `{"T":-1.5}`},
		{name: "timestamp untagged", cbor: mustCBOR(t, map[string]any{"T": 12}), json: `{"T":12}`},
		{name: "timestamp list", cbor: mustCBOR(t, map[string]any{"Times": []any{cbor.Tag{Number: 1, Content: 1.25}, cbor.Tag{Number: 1, Content: 2}}}), json: `{"Times":[1.25,2]}`},
		{name: "blob", cbor: mustCBOR(t, map[string]any{"Blob": []byte{0, 1, 0xff}}), json: `{"Blob":"AAH/"}`},
		{name: "blob in chunks", cbor: unhex(t, "a1 64 426c6f62 5f 41 00 42 01ff ff"), json: `{"Blob":"AAH/"}`},
		{name: "indefinite map, array and string", cbor: unhex(t, "bf 61 53 7f 62 6162 61 63 ff 65 4974656d73 9f bf 64 4e616d65 61 61 61 4e 01 ff ff ff"),
			json: `{"Items":[{"N":1,"Name":"a"}],"S":"abc"}`},
		{name: "list of structures", cbor: mustCBOR(t, map[string]any{"Items": []any{map[string]any{"Name": "a", "N": 1}, map[string]any{"Name": "b"}}}),
			json: `{"Items":[{"N":1,"Name":"a"},{"Name":"b"}]}`},
		{name: "map", cbor: mustCBOR(t, map[string]any{"Tags": map[string]any{"k": "v", "": "empty"}}), json: `{"Tags":{"":"empty","k":"v"}}`},
		{name: "nested structure", cbor: mustCBOR(t, map[string]any{"Nested": map[string]any{"Nested": map[string]any{"T": cbor.Tag{Number: 1, Content: 5}}}}),
			json: `{"Nested":{"Nested":{"T":5}}}`},
		{name: "null members are absent", cbor: unhex(t, "a2 61 53 f6 61 49 f7"), json: `{}`},
		{name: "null list elements stay", cbor: unhex(t, "a1 64 53747273 82 f6 61 78"), json: `{"Strs":[null,"x"]}`},
		{name: "unknown members are dropped", cbor: mustCBOR(t, map[string]any{"S": "x", "s": "y", "Zzz": []byte{1}}), json: `{"S":"x"}`},
		{name: "document", cbor: mustCBOR(t, map[string]any{"Doc": map[string]any{"a": []any{1, 2.5, "x", true, nil}, "b": []byte("hi")}}),
			json: `{"Doc":{"a":[1,2.5,"x",true,null],"b":"aGk="}}`},
		// Wrong types in scalars go on as they are, for validation to report.
		{name: "string for an integer", cbor: mustCBOR(t, map[string]any{"I": "7"}), json: `{"I":"7"}`},
		// Non-finite doubles take the JSON protocols' spelling, for the
		// service to refuse with its own error.
		{name: "NaN double", cbor: mustCBOR(t, map[string]any{"D": math.NaN()}), json: `{"D":"NaN"}`},
		{name: "infinite double", cbor: mustCBOR(t, map[string]any{"D": math.Inf(-1)}), json: `{"D":"-Infinity"}`},

		{name: "top-level array", cbor: mustCBOR(t, []any{1}), err: "expected a CBOR map, found an array"},
		{name: "top-level string", cbor: mustCBOR(t, "x"), err: "expected a CBOR map, found a text string"},
		{name: "trailing data", cbor: append(mustCBOR(t, map[string]any{}), 0x01), err: "extraneous data"},
		{name: "truncated", cbor: unhex(t, "a2 61 53 61"), err: "unexpected EOF"},
		{name: "break outside indefinite item", cbor: unhex(t, "a1 61 53 ff"), err: "cbor"},
		{name: "invalid UTF-8", cbor: unhex(t, "a1 61 53 62 ff fe"), err: "invalid UTF-8"},
		{name: "duplicate key", cbor: unhex(t, "a2 61 53 61 61 61 53 61 62"), err: "duplicate map key"},
		{name: "integer key", cbor: unhex(t, "a1 01 61 61"), err: "cbor"},
		{name: "bytes for a string", cbor: mustCBOR(t, map[string]any{"S": []byte("x")}), err: "'S': expected string, found a byte string"},
		{name: "string for a blob", cbor: mustCBOR(t, map[string]any{"Blob": "AAH/"}), err: "'Blob': expected a byte string for blob Bin, found a text string"},
		{name: "map for a list", cbor: mustCBOR(t, map[string]any{"Items": map[string]any{}}), err: "'Items': expected an array for list ItemList, found a map"},
		{name: "array for a structure", cbor: mustCBOR(t, map[string]any{"Nested": []any{}}), err: "'Nested': expected a map for structure Value, found an array"},
		{name: "timestamp tag 0", cbor: mustCBOR(t, map[string]any{"T": cbor.Tag{Number: 0, Content: "2026-01-01T00:00:00Z"}}), err: "'T': expected a timestamp (tag 1), found tag 0"},
		{name: "timestamp string", cbor: mustCBOR(t, map[string]any{"T": "2026-01-01T00:00:00Z"}), err: "'T': expected a timestamp"},
		{name: "timestamp NaN", cbor: mustCBOR(t, map[string]any{"T": cbor.Tag{Number: 1, Content: math.NaN()}}), err: "'T': timestamp NaN is not a finite number"},
		{name: "NaN in a document", cbor: mustCBOR(t, map[string]any{"Doc": math.NaN()}), err: "'Doc': NaN is not a finite number"},
		{name: "timestamp where a string belongs", cbor: mustCBOR(t, map[string]any{"Items": []any{map[string]any{"Name": cbor.Tag{Number: 1, Content: 1}}}}), err: "'Items.1.Name': expected string, found a tag"},
		{name: "unknown tag in a document", cbor: mustCBOR(t, map[string]any{"Doc": cbor.Tag{Number: 42, Content: 1}}), err: "'Doc': CBOR tag 42 is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cborToJSON(tt.cbor, shape)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q (json %s)", err, tt.err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Re-marshal to sort keys.
			var v any
			if err := json.Unmarshal(got, &v); err != nil {
				t.Fatalf("invalid JSON %s: %v", got, err)
			}
			dec := json.NewDecoder(bytes.NewReader(got))
			dec.UseNumber()
			_ = dec.Decode(&v)
			sorted, _ := json.Marshal(v)
			if string(sorted) != tt.json {
				t.Errorf("got  %s\nwant %s", sorted, tt.json)
			}
		})
	}
}

func TestJSONToCBOR(t *testing.T) {
	shape := echoShapes(t).Operations["Echo"].Output
	tests := []struct {
		name, json string
		shape      *model.Shape
		hex        string // the exact encoding
	}{
		// Timestamps are tag 1 around a float64 even when whole.
		{name: "timestamp", json: `{"T":1767225600}`, shape: shape, hex: "a1 61 54 c1 fb 41da556e40000000"},
		{name: "timestamp with millis", json: `{"T":1.5}`, shape: shape, hex: "a1 61 54 c1 fb 3ff8000000000000"},
		// Doubles and floats are float64, integers integers.
		{name: "numbers", json: `{"D":2,"F":0.5,"I":-3,"L":4294967296}`, shape: shape,
			hex: "a4 61 44 fb 4000000000000000 61 46 fb 3fe0000000000000 61 49 22 61 4c 1b 0000000100000000"},
		{name: "non-finite doubles", json: `{"Items":[],"D":"NaN"}`, shape: shape, hex: "a2 61 44 f9 7e00 65 4974656d73 80"},
		{name: "blob", json: `{"Blob":"AAH/"}`, shape: shape, hex: "a1 64 426c6f62 43 0001ff"},
		{name: "nulls are dropped from structures, not maps", json: `{"S":null,"B":false,"Tags":{"a":null,"b":"c"}}`, shape: shape,
			hex: "a2 61 42 f4 64 54616773 a2 61 61 f6 61 62 61 63"},
		{name: "list of structures", json: `{"Items":[{"Name":"a","N":1}]}`, shape: shape, hex: "a1 65 4974656d73 81 a2 61 4e 01 64 4e616d65 61 61"},
		// Error bodies have no shape: integral numbers become integers.
		{name: "error body", json: `{"__type":"Bad","message":"m","Count":2,"Ratio":0.5}`, shape: nil,
			hex: "a4 65 436f756e74 02 65 526174696f fb 3fe0000000000000 66 5f5f74797065 63 426164 67 6d657373616765 61 6d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := jsonToCBOR([]byte(tt.json), tt.shape)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tt.hex); !bytes.Equal(got, want) {
				t.Errorf("got  % x\nwant % x", got, want)
			}
		})
	}
	for _, bad := range []string{`{"T":"2026-01-01"}`, `{"Blob":"!!"}`, `{"I":1.5}`, `{"Items":{}}`, `{"S":1}`, `{"D":"x"}`, `[`} {
		if b, err := jsonToCBOR([]byte(bad), shape); err == nil {
			t.Errorf("jsonToCBOR(%s) = % x, want an error", bad, b)
		}
	}
}

// cborCall posts a CBOR body to the echo router.
func cborCall(t *testing.T, rt http.Handler, method, path string, header map[string]string, body []byte) (response, map[string]any) {
	t.Helper()
	h := map[string]string{"Smithy-Protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", "Accept": "application/cbor"}
	for k, v := range header {
		h[k] = v
	}
	r := do(t, rt, method, path, h, string(body))
	var v map[string]any
	if len(r.raw) > 0 && r.header.Get("Content-Type") == "application/cbor" {
		if err := cborDec.Unmarshal([]byte(r.raw), &v); err != nil {
			t.Fatalf("response % x is not CBOR: %v", r.raw, err)
		}
	}
	return r, v
}

// TestRPCv2CBORRouter checks the protocol around the codec: paths, headers,
// error bodies and the query-compatible error header.
func TestRPCv2CBORRouter(t *testing.T) {
	rt := newEchoRouter(t)
	const echoPath = "/service/EchoService/operation/Echo"
	in := mustCBOR(t, map[string]any{"S": "hi", "D": 2.0, "I": 3, "T": cbor.Tag{Number: 1, Content: 1767225600.5},
		"Blob": []byte{0xde, 0xad}, "Items": []any{map[string]any{"Name": "a"}}, "Tags": map[string]any{"k": "v"}})

	r, out := cborCall(t, rt, http.MethodPost, echoPath, nil, in)
	if r.status != 200 || r.header.Get("Smithy-Protocol") != "rpc-v2-cbor" || r.header.Get("Content-Type") != "application/cbor" || r.header.Get("x-amzn-RequestId") != "req-1" {
		t.Fatalf("echo: %d %v % x", r.status, r.header, r.raw)
	}
	want := map[string]any{"S": "hi", "D": 2.0, "I": uint64(3), "T": cbor.Tag{Number: 1, Content: 1767225600.5},
		"Blob": []byte{0xde, 0xad}, "Items": []any{map[string]any{"Name": "a"}}, "Tags": map[string]any{"k": "v"}}
	// Tag 1 decodes to time.Time by default; compare the raw tag instead.
	var raw map[string]cbor.RawMessage
	_ = cborDec.Unmarshal([]byte(r.raw), &raw)
	var tag cbor.RawTag
	if err := cborDec.Unmarshal(raw["T"], &tag); err != nil || tag.Number != 1 || !bytes.Equal(tag.Content, unhex(t, "fb 41da556e40200000")) {
		t.Errorf("T = % x (tag %d, content % x), want tag 1 around float64 1767225600.5", raw["T"], tag.Number, tag.Content)
	}
	delete(out, "T")
	delete(want, "T")
	if !reflect.DeepEqual(out, want) {
		t.Errorf("echo\n got %#v\nwant %#v", out, want)
	}

	// The path may carry a prefix; the body may be empty.
	r, out = cborCall(t, rt, http.MethodPost, "/prefix/service/EchoService/operation/Echo", nil, nil)
	if r.status != 200 || len(out) != 0 {
		t.Errorf("empty body through a prefixed path: %d % x", r.status, r.raw)
	}

	tests := []struct {
		name, method, path string
		header             map[string]string
		body               []byte
		status             int
		typ, queryErr      string
		msg                string
	}{
		{name: "modeled error by its code", path: echoPath, body: mustCBOR(t, map[string]any{"S": "bad"}), status: 409, typ: "BadThing", queryErr: "Bad;Sender", msg: "a bad thing"},
		{name: "validation", path: echoPath, body: mustCBOR(t, map[string]any{"I": 101}), status: 400, typ: "ValidationException", queryErr: "ValidationError;Sender",
			msg: "1 validation error detected: Value '101' at 'i' failed to satisfy constraint: Member must have value less than or equal to 100"},
		{name: "type error", path: echoPath, body: mustCBOR(t, map[string]any{"I": "x"}), status: 400, typ: "SerializationException", queryErr: "ValidationError;Sender", msg: "'i': expected integer, found string"},
		{name: "malformed CBOR", path: echoPath, body: []byte{0xa1}, status: 400, typ: "SerializationException", queryErr: "ValidationError;Sender", msg: "Cannot deserialize the request body: unexpected EOF"},
		{name: "internal error", path: echoPath, body: mustCBOR(t, map[string]any{"S": "boom"}), status: 500, typ: "InternalFailure", queryErr: "InternalFailure;Receiver", msg: "An internal error occurred."},
		{name: "unknown operation", path: "/service/EchoService/operation/Nope", status: 400, typ: "UnknownOperationException", queryErr: "InvalidAction;Sender", msg: "Unknown operation Nope for service Echo."},
		{name: "unknown service", path: "/service/Nope/operation/Echo", status: 400, typ: "UnknownOperationException", msg: `Unknown service "Nope"`},
		{name: "not the rpcv2 path", path: "/service/EchoService/Echo", status: 400, typ: "UnknownOperationException", msg: "is not /service/<name>/operation/<operation>"},
		{name: "GET", method: http.MethodGet, path: echoPath, status: 400, typ: "UnknownOperationException", queryErr: "InvalidAction;Sender", msg: "rpc-v2-cbor requires POST"},
		{name: "gzip body that is not gzip", path: echoPath, header: map[string]string{"Content-Encoding": "gzip"}, body: []byte{0xa0}, status: 400, typ: "SerializationException", queryErr: "ValidationError;Sender", msg: "Cannot decompress"},
		{name: "other encodings", path: echoPath, header: map[string]string{"Content-Encoding": "br"}, body: []byte{0xa0}, status: 400, typ: "SerializationException", queryErr: "ValidationError;Sender", msg: `Content-Encoding "br" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			r, out := cborCall(t, rt, method, tt.path, tt.header, tt.body)
			if r.status != tt.status || out["__type"] != tt.typ || r.header.Get("X-Amzn-ErrorType") != tt.typ {
				t.Fatalf("got %d %v %v, want %d %s", r.status, out, r.header, tt.status, tt.typ)
			}
			if msg, _ := out["message"].(string); !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q does not contain %q", msg, tt.msg)
			}
			if got := r.header.Get("X-Amzn-Query-Error"); got != tt.queryErr {
				t.Errorf("X-Amzn-Query-Error = %q, want %q", got, tt.queryErr)
			}
			if r.header.Get("Smithy-Protocol") != "rpc-v2-cbor" || r.header.Get("Content-Type") != "application/cbor" {
				t.Errorf("headers %v", r.header)
			}
		})
	}

	// Another Smithy protocol is refused in JSON, which every client reads.
	r = do(t, rt, http.MethodPost, echoPath, map[string]string{"Smithy-Protocol": "rpc-v2-json"}, `{}`)
	if r.status != 400 || r.body["__type"] != "UnsupportedProtocolException" {
		t.Errorf("rpc-v2-json: %d %s", r.status, r.raw)
	}
}
