package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/inferscale/inferscale/internal/api/model"
)

var (
	timestampType   = reflect.TypeFor[Timestamp]()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	marshalerType   = reflect.TypeFor[json.Marshaler]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// checkGoType verifies that values of Go type t encode to JSON that fits
// shape sh: every struct field is a member (by its JSON name, exactly) and
// every Go type can hold its member's type. sh may be nil for operations
// without input or output, in which case t must have no JSON fields.
func checkGoType(t reflect.Type, sh *model.Shape, where string) error {
	c := typeChecker{seen: map[typeShape]bool{}}
	if sh == nil {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Struct {
			if fs := jsonFields(t); len(fs) > 0 {
				return fmt.Errorf("%s: the model has no shape, but %s has field %s", where, t, fs[0].goName)
			}
			return nil
		}
		return fmt.Errorf("%s: the model has no shape; use an empty struct, not %s", where, t)
	}
	return c.check(t, sh, where)
}

type typeShape struct {
	t  reflect.Type
	sh *model.Shape
}

type typeChecker struct {
	seen map[typeShape]bool
}

func (c *typeChecker) check(t reflect.Type, sh *model.Shape, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	key := typeShape{t, sh}
	if c.seen[key] {
		return nil // recursive shapes
	}
	c.seen[key] = true
	mismatch := func() error {
		return fmt.Errorf("%s: Go type %s cannot hold %s shape %s", path, t, sh.Type, sh.Name)
	}
	if t == timestampType {
		if sh.Type != model.TypeTimestamp {
			return mismatch()
		}
		return nil
	}
	if sh.Document {
		return nil
	}
	if t == rawMessageType || t.Kind() == reflect.Interface {
		return fmt.Errorf("%s: %s is not a document shape; use a concrete type for %s", path, sh.Name, t)
	}
	// Types that encode themselves are trusted, except that a timestamp must
	// use Timestamp (time.Time would encode as a string).
	if t.Implements(marshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		if sh.Type == model.TypeTimestamp {
			return fmt.Errorf("%s: timestamp shape %s needs api.Timestamp, not %s", path, sh.Name, t)
		}
		return nil
	}
	k := t.Kind()
	switch sh.Type {
	case model.TypeStructure:
		if k != reflect.Struct {
			return mismatch()
		}
		for _, f := range jsonFields(t) {
			m := sh.MemberNamed(f.name)
			if m == nil {
				return fmt.Errorf("%s: field %s.%s (JSON %q) is not a member of %s", path, t, f.goName, f.name, sh.Name)
			}
			if err := c.check(f.typ, m.Shape, path+"."+f.name); err != nil {
				return err
			}
		}
	case model.TypeList:
		if (k != reflect.Slice && k != reflect.Array) || t.Elem().Kind() == reflect.Uint8 {
			return mismatch()
		}
		return c.check(t.Elem(), sh.Member.Shape, path+"[]")
	case model.TypeMap:
		if k != reflect.Map || t.Key().Kind() != reflect.String {
			return mismatch()
		}
		return c.check(t.Elem(), sh.Value.Shape, path+"{}")
	case model.TypeString:
		if k != reflect.String {
			return mismatch()
		}
	case model.TypeBlob:
		if k != reflect.Slice || t.Elem().Kind() != reflect.Uint8 {
			return mismatch()
		}
	case model.TypeBoolean:
		if k != reflect.Bool {
			return mismatch()
		}
	case model.TypeByte, model.TypeShort:
		if k < reflect.Int || k > reflect.Int64 {
			return mismatch()
		}
	case model.TypeInteger:
		if k != reflect.Int && k != reflect.Int32 && k != reflect.Int64 {
			return mismatch()
		}
	case model.TypeLong:
		if k != reflect.Int && k != reflect.Int64 {
			return mismatch()
		}
	case model.TypeFloat:
		if k != reflect.Float32 && k != reflect.Float64 {
			return mismatch()
		}
	case model.TypeDouble:
		if k != reflect.Float64 {
			return mismatch()
		}
	case model.TypeTimestamp:
		return fmt.Errorf("%s: timestamp shape %s needs api.Timestamp, not %s", path, sh.Name, t)
	default:
		return fmt.Errorf("%s: shape %s has unknown type %q", path, sh.Name, sh.Type)
	}
	return nil
}

type jsonField struct {
	name, goName string
	typ          reflect.Type
}

// jsonFields lists the fields encoding/json encodes for struct type t,
// flattening embedded structs.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, jsonFields(ft)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, goName: f.Name, typ: f.Type})
	}
	return out
}
