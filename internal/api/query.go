package api

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/inferscale/inferscale/internal/api/model"
)

// The awsQuery protocol: a form-encoded request (Action=<Op>&Version=<API
// version>&...) answered in XML. Like rpc-v2-cbor it is served by
// translation to and from the JSON of the operation adapters.
//
// Request parameters name members by path: structures "A.B", lists
// "L.member.N" (N from 1; "L.N" when the list is flattened, and an empty
// list is "L=" alone), maps "M.entry.N.key" / "M.entry.N.value", timestamps
// in ISO 8601, booleans "true"/"false", blobs base64. Responses are
//
//	<OpResponse xmlns="..."><OpResult>...</OpResult><ResponseMetadata><RequestId>id</RequestId></ResponseMetadata></OpResponse>
//
// with members as elements in model order, list elements as <member>, map
// entries as <entry><key/><value/></entry>, timestamps in ISO 8601 with
// milliseconds; errors are
//
//	<ErrorResponse><Error><Type>Sender</Type><Code>..</Code><Message>..</Message></Error><RequestId>..</RequestId></ErrorResponse>

// isQueryRequest tells an awsQuery request: at "/", a form-encoded POST, or
// any request naming an Action in its URL.
func isQueryRequest(r *http.Request) bool {
	if r.URL.Path != "/" {
		return false
	}
	if r.Method == http.MethodPost {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "application/x-www-form-urlencoded" {
			return true
		}
	}
	return r.URL.Query().Has("Action")
}

// queryParams returns the request's parameters: the form body of a POST
// and the URL's query string.
func queryParams(r *http.Request, body []byte) (url.Values, error) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	if r.Method == http.MethodPost && len(body) > 0 {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		for k, vs := range form {
			params[k] = append(params[k], vs...)
		}
	}
	return params, nil
}

// qnode is one level of dotted parameter names: "A.member.1.B=x" is
// root → A → member → 1 → B with value x.
type qnode struct {
	val  string
	set  bool
	kids map[string]*qnode
}

func (n *qnode) kid(name string) *qnode {
	if n.kids == nil {
		n.kids = map[string]*qnode{}
	}
	k := n.kids[name]
	if k == nil {
		k = &qnode{}
		n.kids[name] = k
	}
	return k
}

// queryToJSON converts awsQuery parameters to the JSON input of the
// operation; Action and Version are not members. Parameters the shape does
// not define are ignored, as unknown JSON members are.
func queryToJSON(params url.Values, input *model.Shape) ([]byte, error) {
	root := &qnode{}
	for key, vals := range params {
		if key == "Action" || key == "Version" || len(vals) == 0 {
			continue
		}
		n := root
		for _, seg := range strings.Split(key, ".") {
			n = n.kid(seg)
		}
		n.val, n.set = vals[0], true
	}
	if input == nil {
		return []byte("{}"), nil
	}
	v, err := queryValue(root, input, "")
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// queryMemberName is the parameter name of a member: its locationName in
// the model, else its name.
func queryMemberName(m *model.Member, def string) string {
	if m.LocationName != "" {
		return m.LocationName
	}
	return def
}

// queryValue converts the parameters under n for shape sh. Scalars that do
// not parse as their type are passed on as strings, for model validation to
// report the type error with the member's path.
func queryValue(n *qnode, sh *model.Shape, path string) (any, error) {
	switch sh.Type {
	case model.TypeStructure:
		if n.kids == nil && n.set {
			return n.val, nil // a type error for validation to report
		}
		out := map[string]any{}
		for _, m := range sh.Members {
			k := n.kids[queryMemberName(m, m.Name)]
			if k == nil {
				continue
			}
			v, err := queryValue(k, m.Shape, joinPath(path, m.Name))
			if err != nil {
				return nil, err
			}
			out[m.Name] = v
		}
		return out, nil
	case model.TypeList:
		items := n
		if k := n.kids[queryMemberName(sh.Member, "member")]; k != nil {
			items = k
		}
		if items.kids == nil {
			if n.set && n.val != "" {
				return n.val, nil
			}
			return []any{}, nil // "L=": the empty list
		}
		kids, err := indexed(items, path)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(kids))
		for i, k := range kids {
			v, err := queryValue(k, sh.Member.Shape, fmt.Sprintf("%s.%d", path, i+1))
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case model.TypeMap:
		entries := n
		if k := n.kids["entry"]; k != nil {
			entries = k
		}
		if entries.kids == nil {
			if n.set && n.val != "" {
				return n.val, nil
			}
			return map[string]any{}, nil
		}
		kids, err := indexed(entries, path)
		if err != nil {
			return nil, err
		}
		keyName, valName := queryMemberName(sh.Key, "key"), queryMemberName(sh.Value, "value")
		out := make(map[string]any, len(kids))
		for i, e := range kids {
			kn := e.kids[keyName]
			if kn == nil || !kn.set {
				return nil, fmt.Errorf("'%s': map entry %d has no %s", lowerPath(path), i+1, keyName)
			}
			vn := e.kids[valName]
			if vn == nil {
				out[kn.val] = nil
				continue
			}
			v, err := queryValue(vn, sh.Value.Shape, joinPath(path, kn.val))
			if err != nil {
				return nil, err
			}
			out[kn.val] = v
		}
		return out, nil
	}
	if !n.set {
		return map[string]any{}, nil // "A.B=x" where A is a scalar: a type error
	}
	s := n.val
	switch sh.Type {
	case model.TypeByte, model.TypeShort, model.TypeInteger, model.TypeLong, model.TypeFloat, model.TypeDouble:
		if isJSONNumber(s) {
			return json.Number(s), nil
		}
	case model.TypeBoolean:
		switch s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	case model.TypeTimestamp:
		if isJSONNumber(s) {
			return json.Number(s), nil // epoch seconds
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return json.Number(epochText(t)), nil
		}
		return nil, fmt.Errorf("'%s': %q is not an ISO 8601 timestamp", lowerPath(path), s)
	}
	return s, nil
}

// indexed returns the children of n named 1, 2, ... in index order; gaps
// close up.
func indexed(n *qnode, path string) ([]*qnode, error) {
	type item struct {
		i int
		n *qnode
	}
	items := make([]item, 0, len(n.kids))
	for k, kid := range n.kids {
		i, err := strconv.Atoi(k)
		if err != nil || i < 1 {
			return nil, fmt.Errorf("'%s': %q is not a list index", lowerPath(path), k)
		}
		items = append(items, item{i, kid})
	}
	sort.Slice(items, func(a, b int) bool { return items[a].i < items[b].i })
	out := make([]*qnode, len(items))
	for j, it := range items {
		out[j] = it.n
	}
	return out, nil
}

// isJSONNumber reports whether s is a JSON number literal.
func isJSONNumber(s string) bool {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return false
	}
	return json.Valid([]byte(s))
}

// queryResponse renders a successful JSON response as the awsQuery XML
// response of operation op.
func queryResponse(op, ns, requestID string, body []byte, output *model.Shape) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("<" + op + "Response")
	writeXMLNS(&b, ns)
	b.WriteString(">")
	if output != nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var tree any
		if err := dec.Decode(&tree); err != nil {
			return nil, fmt.Errorf("decode JSON: %w", err)
		}
		if err := writeXML(&b, op+"Result", output, tree, ""); err != nil {
			return nil, err
		}
	}
	b.WriteString("<ResponseMetadata><RequestId>")
	xmlText(&b, requestID)
	b.WriteString("</RequestId></ResponseMetadata></" + op + "Response>")
	return b.Bytes(), nil
}

// queryError renders an awsQuery error response.
func queryError(ns, requestID string, c wireCodes, message string) []byte {
	var b bytes.Buffer
	b.WriteString("<ErrorResponse")
	writeXMLNS(&b, ns)
	b.WriteString("><Error><Type>")
	xmlText(&b, c.Fault)
	b.WriteString("</Type><Code>")
	xmlText(&b, c.Query)
	b.WriteString("</Code><Message>")
	xmlText(&b, message)
	b.WriteString("</Message></Error><RequestId>")
	xmlText(&b, requestID)
	b.WriteString("</RequestId></ErrorResponse>")
	return b.Bytes()
}

func writeXMLNS(b *bytes.Buffer, ns string) {
	if ns != "" {
		b.WriteString(` xmlns="`)
		xmlText(b, ns)
		b.WriteString(`"`)
	}
}

func xmlText(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // writes to a bytes.Buffer cannot fail
}

// writeXML writes JSON tree value v of shape sh as element name.
func writeXML(b *bytes.Buffer, name string, sh *model.Shape, v any, path string) error {
	if v == nil {
		return nil
	}
	mismatch := func() error {
		return fmt.Errorf("'%s': %s shape %s cannot hold JSON %T", lowerPath(path), sh.Type, sh.Name, v)
	}
	switch sh.Type {
	case model.TypeStructure:
		obj, ok := v.(map[string]any)
		if !ok {
			return mismatch()
		}
		b.WriteString("<" + name + ">")
		for _, m := range sh.Members { // model order
			if err := writeXML(b, queryMemberName(m, m.Name), m.Shape, obj[m.Name], joinPath(path, m.Name)); err != nil {
				return err
			}
		}
		b.WriteString("</" + name + ">")
		return nil
	case model.TypeList:
		arr, ok := v.([]any)
		if !ok {
			return mismatch()
		}
		b.WriteString("<" + name + ">")
		elem := queryMemberName(sh.Member, "member")
		for i, e := range arr {
			if err := writeXML(b, elem, sh.Member.Shape, e, fmt.Sprintf("%s.%d", path, i+1)); err != nil {
				return err
			}
		}
		b.WriteString("</" + name + ">")
		return nil
	case model.TypeMap:
		obj, ok := v.(map[string]any)
		if !ok {
			return mismatch()
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		keyName, valName := queryMemberName(sh.Key, "key"), queryMemberName(sh.Value, "value")
		b.WriteString("<" + name + ">")
		for _, k := range keys {
			b.WriteString("<entry><" + keyName + ">")
			xmlText(b, k)
			b.WriteString("</" + keyName + ">")
			if err := writeXML(b, valName, sh.Value.Shape, obj[k], joinPath(path, k)); err != nil {
				return err
			}
			b.WriteString("</entry>")
		}
		b.WriteString("</" + name + ">")
		return nil
	}
	var text string
	switch x := v.(type) {
	case string:
		text = x // strings, enums, base64 blobs, "NaN"/"Infinity" doubles
	case bool:
		text = strconv.FormatBool(x)
	case json.Number:
		text = x.String()
		if sh.Type == model.TypeTimestamp {
			var ts Timestamp
			if err := ts.UnmarshalJSON([]byte(text)); err != nil {
				return fmt.Errorf("'%s': %w", lowerPath(path), err)
			}
			text = ts.UTC().Format("2006-01-02T15:04:05.000Z")
		} else if sh.Type == model.TypeFloat || sh.Type == model.TypeDouble {
			f, err := strconv.ParseFloat(text, 64)
			if err != nil || math.IsInf(f, 0) {
				return fmt.Errorf("'%s': %s is not a double", lowerPath(path), text)
			}
		}
	default:
		return mismatch()
	}
	b.WriteString("<" + name + ">")
	xmlText(b, text)
	b.WriteString("</" + name + ">")
	return nil
}
