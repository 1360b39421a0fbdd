package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/inferscale/inferscale/internal/api/model"
)

// RESTHandler serves a REST-JSON operation such as SageMaker Runtime's
// InvokeEndpoint. By the time it runs, the body has been read (within the
// service's limit), the caller authenticated, and the members bound to the
// path, headers, query string and payload validated against the model. Path
// labels are in req.PathValue("EndpointName"). The handler writes the
// whole response itself and returns nil, or returns an error without writing
// anything, which is sent as a REST-JSON error.
type RESTHandler func(ctx context.Context, req *Request, w http.ResponseWriter, body []byte) error

type restRoute struct {
	op *model.Operation
	h  RESTHandler
	// in validates the input without the generic value tree when the
	// operation's input allows it (see newFastInput); nil otherwise.
	in *fastInput
	// path matches the route's pattern without ServeMux, when it has only
	// literal and single-segment labels (see newRESTPath); nil otherwise.
	path *restPath
	// refused are the header fields of the members Refuse named, refuse
	// the error of a request that carries one.
	refused []refusedMember
	refuse  func(req *Request, member string) error
	// maxPayload is the maximum length of the operation's blob payload
	// (SageMaker Runtime's InvokeEndpoint: 6291456 bytes), 0 if it has
	// none: a body over it is refused as the validation of its length
	// would refuse it, but without reading it.
	maxPayload int64
}

type refusedMember struct{ member, header string }

// Refuse makes a request of the REST operation opName fail, before its
// handler runs, with the error refuse returns for the first of members
// (header members of the operation's input) that it carries: for the
// members of the model that the service does not implement. Requests
// without them pay nothing for it (the fast input validation looks up
// every header member anyway). Like Route, which must come first, it
// panics on wiring mistakes.
func (s *Service) Refuse(opName string, refuse func(req *Request, member string) error, members ...string) {
	var route *restRoute
	op := s.Model.Operations[opName]
	if op != nil {
		route = s.routes[muxPattern(op.Method, op.RequestURI)]
	}
	if route == nil {
		panic(fmt.Sprintf("api: %s: Refuse before Route(%q)", s.Name, opName))
	}
	for _, name := range members {
		m := op.Input.MemberNamed(name)
		if m == nil || m.Location != "header" {
			panic(fmt.Sprintf("api: %s %s: %q is not a header member", s.Name, opName, name))
		}
		field := m.LocationName
		if field == "" {
			field = m.Name
		}
		header := textproto.CanonicalMIMEHeaderKey(field)
		route.refused = append(route.refused, refusedMember{member: name, header: header})
		if route.in != nil {
			for i := range route.in.members {
				if route.in.members[i].header == header {
					route.in.members[i].refused = true
				}
			}
		}
	}
	route.refuse = refuse
}

// refusal is the error of a request that carries a member Refuse named.
func (route *restRoute) refusal(req *Request) error {
	for _, m := range route.refused {
		if len(req.HTTP.Header[m.header]) > 0 {
			return route.refuse(req, m.member)
		}
	}
	return nil
}

// Route registers a REST-JSON operation at the method and path of the
// model's http trait ("POST /endpoints/{EndpointName}/invocations"). Like
// Handle, it panics on wiring mistakes.
func (s *Service) Route(opName string, h RESTHandler) {
	op := s.Model.Operations[opName]
	if op == nil {
		panic(fmt.Sprintf("api: %s has no operation %q", s.Name, opName))
	}
	pattern := muxPattern(op.Method, op.RequestURI)
	if s.routes == nil {
		s.routes = map[string]*restRoute{}
	}
	if _, dup := s.routes[pattern]; dup {
		panic(fmt.Sprintf("api: %s route %s registered twice", s.Name, pattern))
	}
	route := &restRoute{op: op, h: h, in: newFastInput(op.Input), path: newRESTPath(pattern)}
	if p := op.Input.Payload(); p != nil && p.Shape.Type == model.TypeBlob {
		if n, ok := p.Shape.MaxLength(); ok {
			route.maxPayload = max(n, 0)
		}
	}
	s.routes[pattern] = route
}

// muxPattern turns a smithy URI template into a ServeMux pattern: the query
// part is dropped and greedy labels {Key+} become {Key...}.
func muxPattern(method, uri string) string {
	path, _, _ := strings.Cut(uri, "?")
	path = strings.ReplaceAll(path, "+}", "...}")
	if method == "" {
		method = http.MethodPost
	}
	return method + " " + path
}

// statusWriter records whether and what a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (rt *Router) restHandler(s *Service, route *restRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x, _ := r.Context().Value(exchangeKey{}).(*exchange)
		if x == nil {
			http.Error(w, "api: REST route served outside Router.ServeHTTP", http.StatusInternalServerError)
			return
		}
		x.r = r
		rt.serveRoute(x, s, route)
	})
}

// serveRoute serves a REST operation whose path values are set on x.r.
func (rt *Router) serveRoute(x *exchange, s *Service, route *restRoute) {
	x.svc, x.op = s, route.op.Name
	body, id, ok := x.begin(route)
	if !ok {
		return
	}
	req := x.request(id)
	if !route.in.valid(x.r, &x.labels, body) {
		if err := validateREST(route.op.Input, x.r, &x.labels, body); err != nil {
			x.fail(err)
			return
		}
		if err := route.refusal(req); err != nil {
			x.fail(err)
			return
		}
	}
	x.sw = statusWriter{ResponseWriter: x.w}
	sw := &x.sw
	err := route.h(x.r.Context(), req, sw, body)
	switch {
	case err != nil && sw.status == 0:
		x.fail(err)
	case err != nil:
		// Too late for an error response; record it.
		x.status, x.cause = sw.status, err
	default:
		x.status = sw.status
		if x.status == 0 {
			x.w.WriteHeader(http.StatusOK)
			x.status = http.StatusOK
		}
	}
}

// fastInput validates the input of a REST operation whose members are all
// strings bound to the path or to headers, besides a blob payload (as
// SageMaker Runtime's InvokeEndpoint), without building the value tree that
// validateREST builds: each member is validated on its own, which is what
// validating the structure does, and values found valid are remembered,
// except those of sensitive members. It only ever says "valid": anything
// else goes to validateREST, which words the error.
type fastInput struct {
	members []fastMember
	payload *model.Shape // a blob; nil if the input has no payload

	mu    sync.Mutex   // serialises additions to the members' seen sets
	count atomic.Int32 // values in all of them
}

type fastMember struct {
	m        *model.Member
	label    string // the path label; "" for a header
	header   string // the canonical header name; "" for a label
	required bool
	remember bool // not sensitive: valid values may be remembered
	refused  bool // present, it is refused (see Service.Refuse)
	// seen are the values found valid, a set of strings of its own per
	// member: a map this small is searched without hashing its keys.
	seen *atomic.Pointer[map[string]struct{}]
}

// maxFastValues bounds the values fastInput remembers.
const maxFastValues = 1024

// newFastInput returns the fast validator of in, or nil if in has members
// it does not handle.
func newFastInput(in *model.Shape) *fastInput {
	if in == nil {
		return nil
	}
	f := &fastInput{}
	payload := in.Payload()
	for _, m := range in.Members {
		if m == payload {
			if m.Shape.Type != model.TypeBlob {
				return nil
			}
			f.payload = m.Shape
			continue
		}
		name := m.LocationName
		if name == "" {
			name = m.Name
		}
		fm := fastMember{m: m, required: in.IsRequired(m.Name), remember: !m.Shape.Sensitive}
		switch {
		case m.Shape.Type != model.TypeString:
			return nil
		case m.Location == "uri":
			fm.label = name
		case m.Location == "header":
			fm.header = textproto.CanonicalMIMEHeaderKey(name)
		default:
			return nil
		}
		f.members = append(f.members, fm)
	}
	if payload == nil && len(in.Members) > len(f.members) {
		return nil
	}
	for i := range f.members {
		f.members[i].seen = new(atomic.Pointer[map[string]struct{}])
		f.members[i].seen.Store(&map[string]struct{}{})
	}
	return f
}

// valid reports whether the input of r is valid for sure; false means
// "ask validateREST".
func (f *fastInput) valid(r *http.Request, l *labels, body []byte) bool {
	if f == nil {
		return false
	}
	for i := range f.members {
		fm := &f.members[i]
		var v string
		if fm.label != "" {
			if v = l.get(r, fm.label); v == "" {
				if fm.required {
					return false
				}
				continue
			}
		} else {
			vals := r.Header[fm.header]
			switch {
			case len(vals) == 0:
				if fm.required {
					return false
				}
				continue
			case fm.refused:
				return false
			case len(vals) == 1:
				v = vals[0]
			default:
				v = strings.Join(vals, ",")
			}
		}
		if fm.remember {
			if _, ok := (*fm.seen.Load())[v]; ok {
				continue
			}
		}
		if vs, err := fm.m.Shape.Validate(v); err != nil || len(vs) > 0 {
			return false
		}
		if fm.remember {
			f.remember(fm, v)
		}
	}
	if f.payload != nil && !f.payload.LengthValid(int64(len(body))) {
		return false
	}
	return true
}

// remember adds a valid value of fm to its seen set, copying the map:
// readers never lock.
func (f *fastInput) remember(fm *fastMember, v string) {
	if f.count.Load() >= maxFastValues {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old := *fm.seen.Load()
	if _, ok := old[v]; ok || f.count.Load() >= maxFastValues {
		return
	}
	m := make(map[string]struct{}, len(old)+1)
	for k := range old {
		m[k] = struct{}{}
	}
	m[v] = struct{}{}
	fm.seen.Store(&m)
	f.count.Add(1)
}

// restPath matches a ServeMux pattern made of literal segments and
// single-segment labels ("POST /endpoints/{EndpointName}/invocations").
type restPath struct {
	method string
	segs   []restSeg
}

type restSeg struct {
	lit   string // a literal segment, or
	label string // a label's name
}

// newRESTPath returns the matcher of pattern, or nil if it has other
// parts (greedy labels, a host, a trailing slash, escapes).
func newRESTPath(pattern string) *restPath {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || !strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") || strings.ContainsAny(path, "%$") {
		return nil
	}
	p := &restPath{method: method}
	for _, seg := range strings.Split(path[1:], "/") {
		switch {
		case seg == "" || seg == "." || seg == "..":
			return nil
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			name := seg[1 : len(seg)-1]
			if name == "" || strings.HasSuffix(name, "...") || strings.ContainsAny(name, "{}") {
				return nil
			}
			p.segs = append(p.segs, restSeg{label: name})
		case strings.ContainsAny(seg, "{}"):
			return nil
		default:
			p.segs = append(p.segs, restSeg{lit: seg})
		}
	}
	return p
}

// maxFastLabels bounds the labels bind handles.
const maxFastLabels = 4

// bind reports whether a method and an escaped path match p exactly, as
// ServeMux would match them without redirecting, and if so sets the
// labels' values in l. Paths with escapes or empty, "." or ".." segments do not match.
func (p *restPath) bind(method, path string, l *labels) bool {
	if p == nil || method != p.method {
		return false
	}
	if len(path) == 0 || path[0] != '/' || strings.IndexByte(path, '%') >= 0 {
		return false
	}
	path = path[1:]
	var vals [maxFastLabels]string
	n := 0
	for i, s := range p.segs {
		seg := path
		if j := strings.IndexByte(path, '/'); j >= 0 {
			if i == len(p.segs)-1 {
				return false // more segments than the pattern
			}
			seg, path = path[:j], path[j+1:]
		} else if i < len(p.segs)-1 {
			return false // fewer
		}
		if s.label == "" {
			if seg != s.lit {
				return false
			}
			continue
		}
		if seg == "" || seg == "." || seg == ".." || n == maxFastLabels {
			return false
		}
		vals[n] = seg
		n++
	}
	l.n = 0
	for _, s := range p.segs {
		if s.label != "" {
			l.names[l.n], l.vals[l.n] = s.label, vals[l.n]
			l.n++
		}
	}
	return true
}

// labels are the values of a REST path's labels, bound without ServeMux.
type labels struct {
	n     int
	names [maxFastLabels]string
	vals  [maxFastLabels]string
}

// get returns the label's value: from l, or as ServeMux set it on r.
func (l *labels) get(r *http.Request, name string) string {
	for i := 0; i < l.n; i++ {
		if l.names[i] == name {
			return l.vals[i]
		}
	}
	return r.PathValue(name)
}

// validateREST gathers the members bound to the path, headers, query string
// and body into one value and validates it against the input shape.
func validateREST(in *model.Shape, r *http.Request, l *labels, body []byte) error {
	if in == nil {
		return nil
	}
	tree := map[string]any{}
	payload := in.Payload()
	var bodyObj map[string]any
	hasBodyMembers := false
	for _, m := range in.Members {
		if m.Location == "" && m != payload {
			hasBodyMembers = true
		}
	}
	if payload == nil && hasBodyMembers && len(body) > 0 {
		v, err := decodeJSON(body)
		if err != nil {
			return protocolError(CodeSerialization, "Cannot deserialize the request body: %v", err)
		}
		bodyObj = v.(map[string]any)
	}
	for _, m := range in.Members {
		name := m.LocationName
		if name == "" {
			name = m.Name
		}
		switch {
		case m == payload:
			switch m.Shape.Type {
			case model.TypeBlob:
				tree[m.Name] = body
			case model.TypeString:
				tree[m.Name] = string(body)
			default:
				if len(body) > 0 {
					v, err := decodeJSON(body)
					if err != nil {
						return protocolError(CodeSerialization, "Cannot deserialize the request body: %v", err)
					}
					tree[m.Name] = v
				}
			}
		case m.Location == "uri":
			if v := l.get(r, name); v != "" {
				tree[m.Name] = v
			}
		case m.Location == "header":
			if vals := r.Header.Values(name); len(vals) > 0 {
				if v, ok := scalarFromText(m.Shape, strings.Join(vals, ",")); ok {
					tree[m.Name] = v
				}
			}
		case m.Location == "querystring":
			vals, present := r.URL.Query()[name]
			if !present {
				continue
			}
			if m.Shape.Type == model.TypeList {
				list := make([]any, 0, len(vals))
				for _, s := range vals {
					if v, ok := scalarFromText(m.Shape.Member.Shape, s); ok {
						list = append(list, v)
					}
				}
				tree[m.Name] = list
			} else if v, ok := scalarFromText(m.Shape, vals[0]); ok {
				tree[m.Name] = v
			}
		case m.Location == "":
			if v, ok := bodyObj[m.Name]; ok {
				tree[m.Name] = v
			}
		}
	}
	vs, err := in.Validate(tree)
	if err != nil {
		return protocolError(CodeSerialization, "%v", err)
	}
	if len(vs) > 0 {
		return &Error{Kind: KindInvalid, Message: model.FormatViolations(vs)}
	}
	return nil
}

// scalarFromText converts a header or query value to the JSON form Validate
// expects for the shape; ok is false for types not checked here.
func scalarFromText(sh *model.Shape, s string) (any, bool) {
	switch sh.Type {
	case model.TypeString:
		return s, true
	case model.TypeByte, model.TypeShort, model.TypeInteger, model.TypeLong, model.TypeFloat, model.TypeDouble:
		return json.Number(strings.TrimSpace(s)), true
	case model.TypeBoolean:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return s, true // a string where a boolean belongs: a type error
		}
		return b, true
	}
	return nil, false
}
