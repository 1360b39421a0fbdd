package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"time"

	"github.com/inferscale/inferscale/internal/api/model"
)

// DefaultMaxBodyBytes is the request body limit of a Service unless it sets
// its own.
const DefaultMaxBodyBytes = 8 << 20

// Request is what every handler learns about the call besides its input.
// It belongs to the router's handling of one request: a handler must not
// keep it, or its HTTP request, after it returns.
type Request struct {
	Service   *Service
	Operation string
	RequestID string
	Region    string // from the SigV4 credential scope; DefaultRegion without one
	Account   string // the account the access key belongs to
	AccessKey string // "" for unsigned requests
	// Time is when the request arrived, read from the router's clock; decision
	// code should use it rather than reading the clock itself.
	Time time.Time
	// HTTP is the underlying request; its body has already been read.
	HTTP *http.Request

	labels labels
}

// PathValue returns the value of a REST path label ("EndpointName").
func (r *Request) PathValue(name string) string { return r.labels.get(r.HTTP, name) }

// Service is one AWS service: its botocore model, the operations inferscale
// implements, and how its errors map to AWS codes. Configure the exported
// fields and register operations (Handle, Route) before adding the service
// to a Router; a Service is not modified while it serves.
type Service struct {
	Model *model.Service
	// Name is used in logs and messages; it defaults to the model's serviceId.
	Name string
	// TargetPrefix selects the service from X-Amz-Target ("SageMaker" in
	// "SageMaker.CreateModel"); from the model by default.
	TargetPrefix string
	// JSONVersion is "1.0" or "1.1" and sets Content-Type; from the model.
	JSONVersion string
	// MaxBodyBytes limits request bodies; larger ones are answered with 413.
	MaxBodyBytes int64
	// Codes maps error kinds to this service's codes, over DefaultCodes.
	Codes Codes
	// MapError, when set, turns errors from handlers (and the packages behind
	// them) into *Error before Codes apply; returning nil falls back to
	// errors.As(err, **Error), and then to InternalFailure.
	MapError func(error) *Error
	// CheckOutput validates every response against the model's output shape
	// and answers InternalFailure when it does not conform. Meant for tests.
	CheckOutput bool
	// AWSQuery makes the service accept the awsQuery protocol (form-encoded
	// Action=<Op>&Version=<APIVersion>, answered in XML) and makes its
	// errors query-compatible on every protocol: __type names the modeled
	// error shape, <Code> and the X-Amzn-Query-Error header carry the
	// error trait's code. True when the model lists "query" among its
	// protocols (CloudWatch), which botocore models do exactly for the
	// services that carry the awsQueryCompatible trait.
	AWSQuery bool
	// XMLNamespace is the xmlns of awsQuery responses; by default
	// http://<endpointPrefix>.amazonaws.com/doc/<apiVersion>/, which is
	// CloudWatch's.
	XMLNamespace string

	ops    map[string]*Operation
	routes map[string]*restRoute
}

// NewService returns a Service for a model with the defaults taken from the
// model's metadata.
func NewService(m *model.Service) *Service {
	v := m.Metadata.JSONVersion
	if v == "" {
		v = "1.1"
	}
	query := m.Metadata.Protocol == "query"
	for _, p := range m.Metadata.Protocols {
		query = query || p == "query"
	}
	s := &Service{
		Model:        m,
		Name:         m.Metadata.ServiceID,
		TargetPrefix: m.Metadata.TargetPrefix,
		JSONVersion:  v,
		MaxBodyBytes: DefaultMaxBodyBytes,
		AWSQuery:     query,
	}
	if query {
		s.XMLNamespace = "http://" + m.Metadata.EndpointPrefix + ".amazonaws.com/doc/" + m.Metadata.APIVersion + "/"
	}
	return s
}

// SigningName is the service name of the SigV4 credential scopes the
// service accepts: the model's signingName ("monitoring" for CloudWatch,
// "sagemaker" for SageMaker and SageMaker Runtime), else its endpoint
// prefix. A Service without a model accepts any.
func (s *Service) SigningName() string {
	if s.Model == nil {
		return ""
	}
	if n := s.Model.Metadata.SigningName; n != "" {
		return n
	}
	return s.Model.Metadata.EndpointPrefix
}

func (s *Service) contentType() string {
	return "application/x-amz-json-" + s.JSONVersion
}

func (s *Service) maxBody() int64 {
	if s.MaxBodyBytes > 0 {
		return s.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

// statusOf returns the HTTP status of an error code the service uses: from
// the error trait of the model's shape of that name or code, from Codes, or
// 0.
func (s *Service) statusOf(code string) int {
	if sh := s.errorShape(code, nil); sh != nil && sh.Error != nil && sh.Error.HTTPStatusCode != 0 {
		return sh.Error.HTTPStatusCode
	}
	for _, c := range s.Codes {
		if c.Name == code {
			return c.Status
		}
	}
	for _, c := range DefaultCodes {
		if c.Name == code {
			return c.Status
		}
	}
	return 0
}

// Operation is a typed handler wrapped for a Service; build it with Op.
type Operation struct {
	name    string
	in, out reflect.Type
	call    func(ctx context.Context, req *Request, body []byte) (any, error)
	model   *model.Operation
}

// Name is the operation name, e.g. "CreateModel".
func (o *Operation) Name() string { return o.name }

// Op wraps a typed handler as an operation. In and Out are structs whose
// fields carry the model's member names as JSON names (`json:"JobName,omitempty"`);
// timestamps are Timestamp. The adapter decodes the body into In only after
// the raw JSON passed model validation, so handlers see well-formed input, and
// encodes Out (nil means an empty response, {}).
func Op[In, Out any](name string, h func(ctx context.Context, req *Request, in *In) (*Out, error)) *Operation {
	return &Operation{
		name: name,
		in:   reflect.TypeFor[In](),
		out:  reflect.TypeFor[Out](),
		call: func(ctx context.Context, req *Request, body []byte) (any, error) {
			in := new(In)
			if err := json.Unmarshal(body, in); err != nil {
				return nil, protocolError(CodeSerialization, "Cannot deserialize the request body: %v", err)
			}
			out, err := h(ctx, req, in)
			if err != nil {
				return nil, err
			}
			if out == nil {
				return nil, nil
			}
			return out, nil
		},
	}
}

// Handle registers operations. It panics when an operation is not in the
// model, is registered twice, or when In or Out does not fit the model's
// shapes (a field that is not a member, a type that cannot hold the member):
// such mistakes are wiring bugs, found by any test that builds the service.
func (s *Service) Handle(ops ...*Operation) {
	for _, op := range ops {
		mop := s.Model.Operations[op.name]
		if mop == nil {
			panic(fmt.Sprintf("api: %s has no operation %q", s.Name, op.name))
		}
		if _, dup := s.ops[op.name]; dup {
			panic(fmt.Sprintf("api: %s.%s registered twice", s.Name, op.name))
		}
		if err := checkGoType(op.in, mop.Input, op.name+" input"); err != nil {
			panic("api: " + err.Error())
		}
		if err := checkGoType(op.out, mop.Output, op.name+" output"); err != nil {
			panic("api: " + err.Error())
		}
		if s.ops == nil {
			s.ops = map[string]*Operation{}
		}
		op.model = mop
		s.ops[op.name] = op
	}
}

// Operations lists the registered JSON operation names, sorted.
func (s *Service) Operations() []string {
	out := make([]string, 0, len(s.ops))
	for n := range s.ops {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// decodeJSON parses a JSON request body into a tree for validation. An empty
// body is an empty object, as AWS JSON services treat it.
func decodeJSON(body []byte) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	if _, ok := v.(map[string]any); !ok {
		found := "null"
		switch v.(type) {
		case []any:
			found = "an array"
		case string:
			found = "a string"
		case json.Number:
			found = "a number"
		case bool:
			found = "a boolean"
		}
		return nil, fmt.Errorf("expected a JSON object, found %s", found)
	}
	return v, nil
}

// invoke runs the decode → validate → call → encode pipeline of a JSON
// operation and returns the response body.
func (s *Service) invoke(ctx context.Context, req *Request, op *Operation, body []byte) ([]byte, error) {
	tree, err := decodeJSON(body)
	if err != nil {
		return nil, protocolError(CodeSerialization, "Cannot deserialize the request body: %v", err)
	}
	if in := op.model.Input; in != nil {
		vs, err := in.Validate(tree)
		if err != nil {
			return nil, protocolError(CodeSerialization, "%v", err)
		}
		if len(vs) > 0 {
			// Through Codes: most services say ValidationException, some
			// (SageMaker Runtime) ValidationError.
			return nil, &Error{Kind: KindInvalid, Message: model.FormatViolations(vs)}
		}
		// encoding/json matches names case-insensitively; AWS ignores members
		// whose case differs, so drop them before decoding.
		if in.Prune(tree) {
			if body, err = json.Marshal(tree); err != nil {
				return nil, fmt.Errorf("re-encode pruned input: %w", err)
			}
		}
	} else {
		body = []byte("{}")
	}
	out, err := op.call(ctx, req, body)
	if err != nil {
		return nil, err
	}
	if out == nil {
		return []byte("{}"), nil
	}
	resp, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode %s output: %w", op.name, err)
	}
	if s.CheckOutput && op.model.Output != nil {
		if err := checkOutput(op.model.Output, resp); err != nil {
			return nil, fmt.Errorf("%s output does not conform to the model: %w", op.name, err)
		}
	}
	return resp, nil
}

func checkOutput(sh *model.Shape, resp []byte) error {
	tree, err := decodeJSON(resp)
	if err != nil {
		return err
	}
	vs, err := sh.Validate(tree)
	if err != nil {
		return err
	}
	if len(vs) > 0 {
		return errors.New(model.FormatViolations(vs))
	}
	return nil
}
