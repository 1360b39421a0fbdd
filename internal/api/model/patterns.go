package model

import "fmt"

// LoadWithPatterns parses a private copy of the embedded model called name
// in which the string shapes named in patterns take those patterns instead
// of the model's own (Java syntax, whole-value match, like the model's).
// inferscale uses it to accept more than AWS does where the host it runs on
// offers more, e.g. file:// URLs for SageMaker's S3 URL shapes. The copy is
// not shared with Load; it must not be modified after it is first used.
func LoadWithPatterns(name string, patterns map[string]string) (*Service, error) {
	s, err := parseEmbedded(name)
	if err != nil {
		return nil, err
	}
	for shape, p := range patterns {
		sh := s.Shapes[shape]
		if sh == nil || sh.Type != TypeString {
			return nil, fmt.Errorf("load model %s: no string shape %q to give a pattern", name, shape)
		}
		if cp := CompilePattern(p); cp.Err != nil {
			return nil, fmt.Errorf("load model %s: pattern of %s: %w", name, shape, cp.Err)
		}
		sh.Pattern = p
	}
	return s, nil
}

// WidenEnum adds values to the enum of a string shape of s, for a server
// that accepts more than the model lists (instance types of its own
// catalog). Shapes are shared within a Service: widen only a Service of
// one's own (LoadWithPatterns returns a new one on each call).
func (s *Service) WidenEnum(shape string, values ...string) error {
	sh := s.Shapes[shape]
	if sh == nil || sh.Type != TypeString || len(sh.Enum) == 0 {
		return fmt.Errorf("model %s: no enum shape %q to widen", s.Metadata.ServiceID, shape)
	}
	for _, v := range values {
		if !sh.enum[v] {
			sh.Enum = append(sh.Enum, v)
			sh.enum[v] = true
		}
	}
	return nil
}
