package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/inferscale/inferscale/internal/api/model"
)

// The smithy rpc-v2-cbor protocol (https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html)
// is served by transcoding: a request body becomes the JSON the operation
// adapters take, guided by the operation's input shape, and the JSON
// response goes back to CBOR guided by the output shape. Everything between
// (validation, handlers, errors) is the JSON pipeline.
//
// Request side: structures and maps are CBOR maps with text keys, lists are
// arrays, of definite or indefinite length; timestamps are tag 1 around
// epoch seconds, an integer (botocore) or a float64 (aws-sdk-go-v2); blobs
// are byte strings (base64 strings in JSON); null members are absent.
// Response side: timestamps are tag 1 around float64 seconds, blobs byte
// strings, float and double members float64, integer members integers.

var (
	cborDec = mustDecMode(cbor.DecOptions{
		DefaultMapType: reflect.TypeFor[map[string]any](),
		IntDec:         cbor.IntDecConvertNone,
		BigIntDec:      cbor.BigIntDecodeValue,
		// Structures and maps are CBOR maps; a key twice is malformed.
		DupMapKey: cbor.DupMapKeyEnforcedAPF,
	})
	cborEnc = mustEncMode(cbor.EncOptions{
		Sort:          cbor.SortBytewiseLexical, // deterministic output
		ShortestFloat: cbor.ShortestFloatNone,   // doubles stay float64
		NaNConvert:    cbor.NaNConvert7e00,
		InfConvert:    cbor.InfConvertFloat16,
	})
)

func mustDecMode(o cbor.DecOptions) cbor.DecMode {
	m, err := o.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}

func mustEncMode(o cbor.EncOptions) cbor.EncMode {
	m, err := o.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}

// cborNull is CBOR null or undefined.
func cborNull(raw []byte) bool {
	return len(raw) == 1 && (raw[0] == 0xf6 || raw[0] == 0xf7)
}

// cborToJSON converts an rpc-v2-cbor request body to the JSON the JSON
// protocols would have sent for the same call; input is the operation's
// input shape (nil for none). An empty body is {}. Members the shape does
// not define are dropped, as the JSON pipeline would ignore them.
func cborToJSON(body []byte, input *model.Shape) ([]byte, error) {
	if len(body) == 0 {
		return []byte("{}"), nil
	}
	if err := cborDec.Wellformed(body); err != nil {
		return nil, err
	}
	if major := body[0] >> 5; major != 5 {
		return nil, fmt.Errorf("expected a CBOR map, found %s", cborMajorName(major))
	}
	v, err := cborValue(body, input, "")
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

var cborMajorNames = [8]string{"an unsigned integer", "a negative integer", "a byte string", "a text string", "an array", "a map", "a tag", "a simple value or float"}

func cborMajorName(major byte) string { return cborMajorNames[major&7] }

// cborTypeError is a CBOR value of the wrong type for its shape.
func cborTypeError(path, want string, raw []byte) error {
	found := "nothing"
	if len(raw) > 0 {
		found = cborMajorName(raw[0] >> 5)
	}
	return fmt.Errorf("'%s': expected %s, found %s", lowerPath(path), want, found)
}

// lowerPath spells a member path as validation messages do.
func lowerPath(path string) string {
	if path == "" {
		return "(body)"
	}
	return path
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// cborValue converts one well-formed CBOR item to a JSON tree value (map,
// slice, string, json.Number, bool, nil) for shape sh; nil sh means no model
// guidance (documents, error bodies).
func cborValue(raw []byte, sh *model.Shape, path string) (any, error) {
	if cborNull(raw) {
		return nil, nil
	}
	if sh == nil || sh.Document {
		var v any
		if err := cborDec.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("'%s': %w", lowerPath(path), err)
		}
		return genericToJSON(v, path)
	}
	switch sh.Type {
	case model.TypeStructure:
		var m map[string]cbor.RawMessage
		if raw[0]>>5 != 5 {
			return nil, cborTypeError(path, "a map for structure "+sh.Name, raw)
		}
		if err := cborDec.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("'%s': %w", lowerPath(path), err)
		}
		out := make(map[string]any, len(m))
		for k, mv := range m {
			member := sh.MemberNamed(k)
			if member == nil {
				continue // unknown members are ignored
			}
			v, err := cborValue(mv, member.Shape, joinPath(path, k))
			if err != nil {
				return nil, err
			}
			if v != nil {
				out[k] = v
			}
		}
		return out, nil
	case model.TypeList:
		var items []cbor.RawMessage
		if raw[0]>>5 != 4 {
			return nil, cborTypeError(path, "an array for list "+sh.Name, raw)
		}
		if err := cborDec.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("'%s': %w", lowerPath(path), err)
		}
		out := make([]any, len(items))
		for i, item := range items {
			v, err := cborValue(item, sh.Member.Shape, fmt.Sprintf("%s.%d", path, i+1))
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case model.TypeMap:
		var m map[string]cbor.RawMessage
		if raw[0]>>5 != 5 {
			return nil, cborTypeError(path, "a map for map "+sh.Name, raw)
		}
		if err := cborDec.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("'%s': %w", lowerPath(path), err)
		}
		out := make(map[string]any, len(m))
		for k, mv := range m {
			v, err := cborValue(mv, sh.Value.Shape, joinPath(path, k))
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	case model.TypeTimestamp:
		return cborTimestamp(raw, path)
	case model.TypeBlob:
		var v any
		if err := cborDec.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("'%s': %w", lowerPath(path), err)
		}
		b, ok := v.([]byte)
		if !ok {
			return nil, cborTypeError(path, "a byte string for blob "+sh.Name, raw)
		}
		return base64.StdEncoding.EncodeToString(b), nil
	}
	var v any
	if err := cborDec.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("'%s': %w", lowerPath(path), err)
	}
	switch v.(type) {
	case []byte, time.Time, cbor.Tag:
		// Not a scalar the JSON form has; say so here rather than let a
		// base64 string or a number pass as something it is not.
		return nil, cborTypeError(path, sh.Type, raw)
	case float64:
		// A non-finite double takes the JSON protocols' spelling; the
		// service decides whether it takes it.
		if f := v.(float64); (sh.Type == model.TypeDouble || sh.Type == model.TypeFloat) && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return nonFiniteText(f), nil
		}
	}
	return genericToJSON(v, path)
}

// cborTimestamp converts tag 1 (epoch seconds, integer or float) to a JSON
// epoch-seconds number, exactly: the float's shortest decimal form, which
// Timestamp then reads digit by digit. An untagged number is accepted too.
func cborTimestamp(raw []byte, path string) (any, error) {
	content := raw
	if raw[0]>>5 == 6 {
		var tag cbor.RawTag
		if err := cborDec.Unmarshal(raw, &tag); err != nil {
			return nil, fmt.Errorf("'%s': %w", lowerPath(path), err)
		}
		if tag.Number != 1 {
			return nil, fmt.Errorf("'%s': expected a timestamp (tag 1), found tag %d", lowerPath(path), tag.Number)
		}
		content = tag.Content
	}
	var v any
	if err := cborDec.Unmarshal(content, &v); err != nil {
		return nil, fmt.Errorf("'%s': %w", lowerPath(path), err)
	}
	switch n := v.(type) {
	case uint64:
		return json.Number(strconv.FormatUint(n, 10)), nil
	case int64:
		return json.Number(strconv.FormatInt(n, 10)), nil
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, fmt.Errorf("'%s': timestamp %v is not a finite number", lowerPath(path), n)
		}
		return json.Number(strconv.FormatFloat(n, 'f', -1, 64)), nil
	case big.Int:
		return json.Number(n.String()), nil
	}
	return nil, cborTypeError(path, "a timestamp (tag 1 around epoch seconds)", content)
}

// genericToJSON converts a decoded CBOR value without shape guidance.
func genericToJSON(v any, path string) (any, error) {
	switch x := v.(type) {
	case nil, bool, string:
		return x, nil
	case uint64:
		return json.Number(strconv.FormatUint(x, 10)), nil
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), nil
	case big.Int:
		return json.Number(x.String()), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("'%s': %v is not a finite number", lowerPath(path), x)
		}
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64)), nil
	case []byte:
		return base64.StdEncoding.EncodeToString(x), nil
	case time.Time: // tag 0 or 1 in a document
		return json.Number(epochText(x)), nil
	case map[string]any, []any:
		return convertEach(x, path, genericToJSON)
	case cbor.Tag:
		return nil, fmt.Errorf("'%s': CBOR tag %d is not supported", lowerPath(path), x.Number)
	}
	return nil, fmt.Errorf("'%s': unsupported CBOR value %T", lowerPath(path), v)
}

// epochText writes t as epoch seconds with up to nanosecond digits.
func epochText(t time.Time) string {
	sec, ns := t.Unix(), int64(t.Nanosecond())
	if ns == 0 {
		return strconv.FormatInt(sec, 10)
	}
	neg := sec < 0
	if neg {
		// -1.25 is sec -2, ns 750000000.
		sec, ns = sec+1, 1e9-ns
	}
	frac := fmt.Sprintf("%09d", ns)
	for frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	s := strconv.FormatInt(sec, 10) + "." + frac
	if neg && sec == 0 {
		s = "-" + s
	}
	return s
}

// jsonToCBOR converts a JSON response body (an operation's output, or an
// error body when output is nil) to CBOR.
func jsonToCBOR(body []byte, output *model.Shape) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	v, err := jsonToCBORValue(tree, output, "")
	if err != nil {
		return nil, err
	}
	return cborEnc.Marshal(v)
}

// jsonToCBORValue converts one JSON tree value for shape sh (nil: no model
// guidance, numbers become integers when they are integral).
func jsonToCBORValue(v any, sh *model.Shape, path string) (any, error) {
	if v == nil {
		return nil, nil
	}
	if sh == nil || sh.Document {
		return genericToCBOR(v, path)
	}
	mismatch := func() error {
		return fmt.Errorf("'%s': %s shape %s cannot hold JSON %T", lowerPath(path), sh.Type, sh.Name, v)
	}
	switch sh.Type {
	case model.TypeStructure, model.TypeMap:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, mismatch()
		}
		out := make(map[string]any, len(obj))
		for k, e := range obj {
			if e == nil && sh.Type == model.TypeStructure {
				continue // absent, in CBOR as in the JSON protocols
			}
			var esh *model.Shape
			if sh.Type == model.TypeMap {
				esh = sh.Value.Shape
			} else if m := sh.MemberNamed(k); m != nil {
				esh = m.Shape
			}
			c, err := jsonToCBORValue(e, esh, joinPath(path, k))
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case model.TypeList:
		arr, ok := v.([]any)
		if !ok {
			return nil, mismatch()
		}
		out := make([]any, len(arr))
		for i, e := range arr {
			c, err := jsonToCBORValue(e, sh.Member.Shape, fmt.Sprintf("%s.%d", path, i+1))
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case model.TypeTimestamp:
		n, ok := v.(json.Number)
		if !ok {
			return nil, mismatch()
		}
		f, err := strconv.ParseFloat(n.String(), 64)
		if err != nil {
			return nil, fmt.Errorf("'%s': timestamp %s: %w", lowerPath(path), n, err)
		}
		return cbor.Tag{Number: 1, Content: f}, nil
	case model.TypeBlob:
		s, ok := v.(string)
		if !ok {
			return nil, mismatch()
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("'%s': blob: %w", lowerPath(path), err)
		}
		return b, nil
	case model.TypeFloat, model.TypeDouble:
		switch x := v.(type) {
		case json.Number:
			f, err := strconv.ParseFloat(x.String(), 64)
			if err != nil {
				return nil, fmt.Errorf("'%s': %w", lowerPath(path), err)
			}
			return f, nil
		case string: // the JSON protocols' spelling of non-finite numbers
			switch x {
			case "NaN":
				return math.NaN(), nil
			case "Infinity":
				return math.Inf(1), nil
			case "-Infinity":
				return math.Inf(-1), nil
			}
		}
		return nil, mismatch()
	case model.TypeByte, model.TypeShort, model.TypeInteger, model.TypeLong:
		n, ok := v.(json.Number)
		if !ok {
			return nil, mismatch()
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("'%s': %w", lowerPath(path), err)
		}
		return i, nil
	case model.TypeBoolean:
		if _, ok := v.(bool); !ok {
			return nil, mismatch()
		}
		return v, nil
	case model.TypeString:
		if _, ok := v.(string); !ok {
			return nil, mismatch()
		}
		return v, nil
	}
	return nil, mismatch()
}

func genericToCBOR(v any, path string) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(x.String(), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("'%s': %w", lowerPath(path), err)
		}
		return f, nil
	case map[string]any, []any:
		return convertEach(x, path, genericToCBOR)
	}
	return v, nil
}

// cborInternalFailure is the body sent when a response cannot be transcoded.
var cborInternalFailure = func() []byte {
	b, err := cborEnc.Marshal(map[string]string{"__type": CodeInternalFailure, "message": "An internal error occurred."})
	if err != nil {
		panic(err)
	}
	return b
}()

// convertEach converts every element of a document map or list with conv,
// giving it the element's path (member name or 1-based index).
func convertEach(v any, path string, conv func(any, string) (any, error)) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := conv(e, joinPath(path, k))
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := conv(e, fmt.Sprintf("%s.%d", path, i+1))
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	return v, nil
}
