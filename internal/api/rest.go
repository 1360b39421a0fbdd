package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/inferscale/inferscale/internal/api/model"
)

// RESTHandler serves a REST-JSON operation such as SageMaker Runtime's
// InvokeEndpoint. By the time it runs, the body has been read (within the
// service's limit), the caller authenticated, and the members bound to the
// path, headers, query string and payload validated against the model. Path
// labels are in req.HTTP.PathValue("EndpointName"). The handler writes the
// whole response itself and returns nil, or returns an error without writing
// anything, which is sent as a REST-JSON error.
type RESTHandler func(ctx context.Context, req *Request, w http.ResponseWriter, body []byte) error

type restRoute struct {
	op *model.Operation
	h  RESTHandler
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
	s.routes[pattern] = &restRoute{op: op, h: h}
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
		x.r, x.svc, x.op = r, s, route.op.Name
		body, id, ok := x.begin()
		if !ok {
			return
		}
		if err := validateREST(route.op.Input, r, body); err != nil {
			x.fail(err)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		err := route.h(r.Context(), x.request(id), sw, body)
		switch {
		case err != nil && sw.status == 0:
			x.fail(err)
		case err != nil:
			// Too late for an error response; record it.
			x.status, x.cause = sw.status, err
		default:
			x.status = sw.status
			if x.status == 0 {
				w.WriteHeader(http.StatusOK)
				x.status = http.StatusOK
			}
		}
	})
}

// validateREST gathers the members bound to the path, headers, query string
// and body into one value and validates it against the input shape.
func validateREST(in *model.Shape, r *http.Request, body []byte) error {
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
			if v := r.PathValue(name); v != "" {
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
