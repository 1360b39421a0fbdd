package modelserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/inferscale/inferscale/internal/modelserver/mlp"
)

// Content types of invocation payloads.
const (
	ContentTypeJSON = "application/json"
	ContentTypeCSV  = "text/csv"
)

// MaxPayloadBytes is the largest request body accepted, SageMaker's limit
// for real-time endpoints.
const MaxPayloadBytes = 6 << 20

// Payload is one invocation request body and its Content-Type.
type Payload struct {
	Body        []byte
	ContentType string
}

// requestError is a problem with a request, answered with status and a
// message naming the problem.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) *requestError {
	return &requestError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// parseInstances decodes a request body into instances, each a non-empty
// list of finite numbers. JSON bodies are {"instances": [[...], ...]},
// [[...], ...] or a single flat [...]; CSV bodies have one instance per line.
// Errors are *requestError.
func parseInstances(contentType string, body []byte) ([][]float64, error) {
	if contentType == "" {
		return nil, &requestError{http.StatusUnsupportedMediaType, fmt.Sprintf("missing Content-Type: send %s or %s", ContentTypeJSON, ContentTypeCSV)}
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, &requestError{http.StatusUnsupportedMediaType, fmt.Sprintf("malformed Content-Type %q: %v", contentType, err)}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("empty body: send at least one instance")
	}
	switch mediaType {
	case ContentTypeJSON:
		return parseJSON(body)
	case ContentTypeCSV:
		return parseCSV(body)
	}
	return nil, &requestError{http.StatusUnsupportedMediaType, fmt.Sprintf("unsupported Content-Type %q: send %s or %s", mediaType, ContentTypeJSON, ContentTypeCSV)}
}

func parseJSON(body []byte) ([][]float64, error) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, badRequest("malformed JSON: %v", err)
	}
	where := "body"
	if obj, ok := v.(map[string]any); ok {
		inst, ok := obj["instances"]
		if !ok {
			return nil, badRequest(`JSON object has no "instances" field: send {"instances": [[...], ...]}`)
		}
		v, where = inst, "instances"
	}
	list, ok := v.([]any)
	if !ok {
		return nil, badRequest("%s: want an array of instances, got %s", where, jsonKind(v))
	}
	if len(list) == 0 {
		return nil, badRequest("%s: no instances", where)
	}
	if _, flat := list[0].(float64); flat { // a single instance
		x, err := jsonNumbers(list, where)
		if err != nil {
			return nil, err
		}
		return [][]float64{x}, nil
	}
	instances := make([][]float64, len(list))
	for i, item := range list {
		at := fmt.Sprintf("%s[%d]", where, i)
		row, ok := item.([]any)
		if !ok {
			return nil, badRequest("%s: want an array of numbers, got %s", at, jsonKind(item))
		}
		x, err := jsonNumbers(row, at)
		if err != nil {
			return nil, err
		}
		instances[i] = x
	}
	return instances, nil
}

func jsonNumbers(list []any, where string) ([]float64, error) {
	if len(list) == 0 {
		return nil, badRequest("%s: empty instance", where)
	}
	x := make([]float64, len(list))
	for i, item := range list {
		f, ok := item.(float64)
		if !ok {
			return nil, badRequest("%s[%d]: want a number, got %s", where, i, jsonKind(item))
		}
		x[i] = f
	}
	return x, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func parseCSV(body []byte) ([][]float64, error) {
	var instances [][]float64
	for i, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		fields := strings.Split(line, ",")
		x := make([]float64, len(fields))
		for j, f := range fields {
			f = strings.TrimSpace(f)
			v, err := strconv.ParseFloat(f, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, badRequest("CSV line %d, field %d: %q is not a finite number", i+1, j+1, f)
			}
			x[j] = v
		}
		instances = append(instances, x)
	}
	return instances, nil
}

// SamplePayloads returns n example payloads valid for the model cfg
// describes, each one instance of values in [-1, 1], alternating JSON and
// CSV. They are the same on every call. For an MLP whose weights file in
// cfg.ModelDir is readable, the instances have the file's input width.
func SamplePayloads(cfg Config, n int) []Payload {
	width := cfg.MLP.Input
	if cfg.Model == ModelMLP {
		if f, err := os.Open(cfg.WeightsPath()); err == nil {
			if net, err := mlp.ReadJSON(f); err == nil {
				width = net.InputSize()
			}
			f.Close()
		}
	}
	width = max(width, 1)
	payloads := make([]Payload, max(n, 0))
	for i := range payloads {
		rng := rand.New(rand.NewPCG(uint64(i), 0x5eed))
		var b []byte
		if i%2 == 0 {
			b = append(b, `{"instances":[[`...)
		}
		for j := range width {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, 2*rng.Float64()-1, 'f', 4, 64)
		}
		if i%2 == 0 {
			payloads[i] = Payload{Body: append(b, "]]}"...), ContentType: ContentTypeJSON}
		} else {
			payloads[i] = Payload{Body: append(b, '\n'), ContentType: ContentTypeCSV}
		}
	}
	return payloads
}
