// Package model loads botocore service models (service-2.json) and checks
// request values against their shapes the way AWS services do: required
// members, enums, numeric ranges, lengths and patterns, reported in AWS's
// "N validation errors detected: ..." wording.
//
// The models of the services inferscale speaks are embedded (models/*.json.gz,
// copied verbatim from botocore; see models/README.md) and parsed on first use
// by Load.
package model

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
)

//go:embed models/*.json.gz
var embedded embed.FS

// Shape types as botocore names them.
const (
	TypeStructure = "structure"
	TypeList      = "list"
	TypeMap       = "map"
	TypeString    = "string"
	TypeBlob      = "blob"
	TypeBoolean   = "boolean"
	TypeByte      = "byte"
	TypeShort     = "short"
	TypeInteger   = "integer"
	TypeLong      = "long"
	TypeFloat     = "float"
	TypeDouble    = "double"
	TypeTimestamp = "timestamp"
)

// Service is one parsed service model.
type Service struct {
	Metadata   Metadata
	Operations map[string]*Operation
	Shapes     map[string]*Shape

	patternsMu sync.Mutex
	patterns   map[string]*Pattern // by source text, compiled on first use
}

// Metadata is the "metadata" object of a model.
type Metadata struct {
	APIVersion     string   `json:"apiVersion"`
	EndpointPrefix string   `json:"endpointPrefix"`
	JSONVersion    string   `json:"jsonVersion"`
	Protocol       string   `json:"protocol"`
	Protocols      []string `json:"protocols"`
	ServiceID      string   `json:"serviceId"`
	SigningName    string   `json:"signingName"`
	TargetPrefix   string   `json:"targetPrefix"`
	UID            string   `json:"uid"`
}

// Operation is one operation of a service.
type Operation struct {
	Name string
	// HTTP binding; for JSON RPC protocols always POST /.
	Method       string
	RequestURI   string
	ResponseCode int
	Input        *Shape // nil when the operation takes no input
	Output       *Shape // nil when the operation returns nothing
	Errors       []*Shape
}

// Shape is a named botocore shape.
type Shape struct {
	Name string
	Type string

	// Structures.
	Members  []*Member // in model order
	Required []string
	Union    bool
	Document bool

	// Lists (Member) and maps (Key, Value).
	Member *Member
	Key    *Member
	Value  *Member

	// Constraints. Min and Max are lengths for strings, blobs, lists and maps
	// and values for numbers.
	Min, Max *Limit
	Enum     []string
	Pattern  string

	Sensitive bool
	Exception bool
	Fault     bool
	// Error carries the "error" trait of exception shapes, when present.
	Error *ErrorTrait

	svc         *Service
	payload     string
	patternOnce sync.Once
	pattern     *Pattern
	members     map[string]*Member
	required    map[string]bool
	enum        map[string]bool
}

// Member is a reference to a shape from a structure member, list member or map
// key/value, with its binding traits.
type Member struct {
	Name             string // structure member name; "member", "key" or "value" otherwise
	Shape            *Shape
	Location         string // "uri", "header", "headers", "querystring", "statusCode" or ""
	LocationName     string
	JSONValue        bool
	IdempotencyToken bool
}

// ErrorTrait is the "error" object of an exception shape.
type ErrorTrait struct {
	Code           string `json:"code"`
	HTTPStatusCode int    `json:"httpStatusCode"`
	SenderFault    bool   `json:"senderFault"`
}

// Limit is a min or max value from the model, kept with its text so messages
// print it as AWS does.
type Limit struct {
	Text  string
	Float float64
	Int   int64
	IsInt bool // Text is an integer that fits in int64
}

// MemberNamed returns the structure member called name, or nil.
func (s *Shape) MemberNamed(name string) *Member { return s.members[name] }

// IsRequired reports whether the structure member called name is required.
func (s *Shape) IsRequired(name string) bool { return s.required[name] }

// Payload returns the member bound to the whole HTTP body by a REST
// protocol's "payload" trait, or nil.
func (s *Shape) Payload() *Member {
	if s == nil || s.payload == "" {
		return nil
	}
	return s.members[s.payload]
}

var (
	loadMu sync.Mutex
	loaded = map[string]*Service{}
)

// Names lists the embedded models, e.g. "sagemaker", "application-autoscaling",
// "cloudwatch", "sagemaker-runtime".
func Names() []string {
	entries, _ := embedded.ReadDir("models")
	var names []string
	for _, e := range entries {
		n := e.Name()
		if len(n) > len(".json.gz") && n[len(n)-len(".json.gz"):] == ".json.gz" {
			names = append(names, n[:len(n)-len(".json.gz")])
		}
	}
	sort.Strings(names)
	return names
}

// Load returns the embedded model called name (see Names), parsing it on the
// first call. The result is shared and must not be modified.
func Load(name string) (*Service, error) {
	loadMu.Lock()
	defer loadMu.Unlock()
	if s, ok := loaded[name]; ok {
		return s, nil
	}
	s, err := parseEmbedded(name)
	if err != nil {
		return nil, err
	}
	loaded[name] = s
	return s, nil
}

// parseEmbedded parses a fresh copy of the embedded model called name.
func parseEmbedded(name string) (*Service, error) {
	data, err := embedded.ReadFile("models/" + name + ".json.gz")
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", name, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", name, err)
	}
	s, err := Parse(zr)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", name, err)
	}
	return s, nil
}

// MustLoad is Load for models known to be embedded; it panics on error.
func MustLoad(name string) *Service {
	s, err := Load(name)
	if err != nil {
		panic(err)
	}
	return s
}

type rawService struct {
	Metadata   Metadata                `json:"metadata"`
	Operations map[string]rawOperation `json:"operations"`
	Shapes     map[string]rawShape     `json:"shapes"`
}

type rawOperation struct {
	Name string `json:"name"`
	HTTP struct {
		Method       string `json:"method"`
		RequestURI   string `json:"requestUri"`
		ResponseCode int    `json:"responseCode"`
	} `json:"http"`
	Input  *rawRef   `json:"input"`
	Output *rawRef   `json:"output"`
	Errors []*rawRef `json:"errors"`
}

type rawRef struct {
	Shape            string `json:"shape"`
	Location         string `json:"location"`
	LocationName     string `json:"locationName"`
	JSONValue        bool   `json:"jsonvalue"`
	IdempotencyToken bool   `json:"idempotencyToken"`
}

type rawShape struct {
	Type      string         `json:"type"`
	Members   orderedMembers `json:"members"`
	Required  []string       `json:"required"`
	Member    *rawRef        `json:"member"`
	Key       *rawRef        `json:"key"`
	Value     *rawRef        `json:"value"`
	Min       *json.Number   `json:"min"`
	Max       *json.Number   `json:"max"`
	Enum      []string       `json:"enum"`
	Pattern   string         `json:"pattern"`
	Sensitive bool           `json:"sensitive"`
	Exception bool           `json:"exception"`
	Fault     bool           `json:"fault"`
	Error     *ErrorTrait    `json:"error"`
	Union     bool           `json:"union"`
	Document  bool           `json:"document"`
	Payload   string         `json:"payload"`
}

type namedRef struct {
	name string
	ref  rawRef
}

// orderedMembers keeps structure members in model order (a Go map would not).
type orderedMembers []namedRef

func (m *orderedMembers) UnmarshalJSON(data []byte) error {
	var byName map[string]rawRef
	if err := json.Unmarshal(data, &byName); err != nil {
		return err
	}
	for _, name := range topLevelKeys(data) {
		if ref, ok := byName[name]; ok {
			*m = append(*m, namedRef{name, ref})
			delete(byName, name) // a duplicate key counts once
		}
	}
	return nil
}

// topLevelKeys returns the keys of a JSON object in order. data must be valid
// JSON (json.Unmarshal checked it); keys with escapes are unescaped.
func topLevelKeys(data []byte) []string {
	var keys []string
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			start := i
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
			if depth != 1 {
				continue
			}
			// A key is a string followed by ':'.
			j := i + 1
			for j < len(data) && (data[j] == ' ' || data[j] == '\n' || data[j] == '\t' || data[j] == '\r') {
				j++
			}
			if j < len(data) && data[j] == ':' {
				raw := data[start+1 : i]
				if bytes.IndexByte(raw, '\\') < 0 {
					keys = append(keys, string(raw))
				} else {
					var k string
					if err := json.Unmarshal(data[start:i+1], &k); err == nil {
						keys = append(keys, k)
					}
				}
			}
		}
	}
	return keys
}

// Parse reads an uncompressed service-2.json model.
func Parse(r io.Reader) (*Service, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	var raw rawService
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse model: %w", err)
	}
	svc := &Service{
		Metadata:   raw.Metadata,
		Operations: make(map[string]*Operation, len(raw.Operations)),
		Shapes:     make(map[string]*Shape, len(raw.Shapes)),
	}
	for name, rs := range raw.Shapes {
		svc.Shapes[name] = &Shape{
			Name: name, Type: rs.Type, Required: rs.Required, Union: rs.Union, Document: rs.Document,
			Enum: rs.Enum, Pattern: rs.Pattern, Sensitive: rs.Sensitive, Exception: rs.Exception,
			Fault: rs.Fault, Error: rs.Error, svc: svc, payload: rs.Payload,
		}
	}
	ref := func(where string, r *rawRef, name string) (*Member, error) {
		if r == nil {
			return nil, nil
		}
		sh, ok := svc.Shapes[r.Shape]
		if !ok {
			return nil, fmt.Errorf("parse model: %s refers to unknown shape %q", where, r.Shape)
		}
		return &Member{Name: name, Shape: sh, Location: r.Location, LocationName: r.LocationName,
			JSONValue: r.JSONValue, IdempotencyToken: r.IdempotencyToken}, nil
	}
	for name, rs := range raw.Shapes {
		s := svc.Shapes[name]
		var err error
		if s.Min, err = parseLimit(rs.Min); err != nil {
			return nil, fmt.Errorf("parse model: shape %s min: %w", name, err)
		}
		if s.Max, err = parseLimit(rs.Max); err != nil {
			return nil, fmt.Errorf("parse model: shape %s max: %w", name, err)
		}
		if len(rs.Members) > 0 {
			s.members = make(map[string]*Member, len(rs.Members))
			for _, nr := range rs.Members {
				m, err := ref(name+"."+nr.name, &nr.ref, nr.name)
				if err != nil {
					return nil, err
				}
				s.Members = append(s.Members, m)
				s.members[nr.name] = m
			}
		}
		if len(rs.Required) > 0 {
			s.required = make(map[string]bool, len(rs.Required))
			for _, r := range rs.Required {
				s.required[r] = true
			}
		}
		if len(rs.Enum) > 0 {
			s.enum = make(map[string]bool, len(rs.Enum))
			for _, e := range rs.Enum {
				s.enum[e] = true
			}
		}
		if s.Member, err = ref(name+".member", rs.Member, "member"); err != nil {
			return nil, err
		}
		if s.Key, err = ref(name+".key", rs.Key, "key"); err != nil {
			return nil, err
		}
		if s.Value, err = ref(name+".value", rs.Value, "value"); err != nil {
			return nil, err
		}
		if (s.Type == TypeList && s.Member == nil) || (s.Type == TypeMap && (s.Key == nil || s.Value == nil)) {
			return nil, fmt.Errorf("parse model: %s %s lacks its member shapes", s.Type, name)
		}
	}
	for name, ro := range raw.Operations {
		op := &Operation{Name: name, Method: ro.HTTP.Method, RequestURI: ro.HTTP.RequestURI, ResponseCode: ro.HTTP.ResponseCode}
		if ro.Input != nil {
			m, err := ref(name+" input", ro.Input, "")
			if err != nil {
				return nil, err
			}
			op.Input = m.Shape
		}
		if ro.Output != nil {
			m, err := ref(name+" output", ro.Output, "")
			if err != nil {
				return nil, err
			}
			op.Output = m.Shape
		}
		for _, e := range ro.Errors {
			m, err := ref(name+" error", e, "")
			if err != nil {
				return nil, err
			}
			op.Errors = append(op.Errors, m.Shape)
		}
		svc.Operations[name] = op
	}
	return svc, nil
}

func parseLimit(n *json.Number) (*Limit, error) {
	if n == nil {
		return nil, nil
	}
	l := &Limit{Text: n.String()}
	f, err := strconv.ParseFloat(l.Text, 64)
	if err != nil {
		return nil, err
	}
	l.Float = f
	if i, err := strconv.ParseInt(l.Text, 10, 64); err == nil {
		l.Int, l.IsInt = i, true
	}
	return l, nil
}
