package model

import (
	"strings"
	"testing"
)

func TestLoadWithPatterns(t *testing.T) {
	const wide = `(https?|s3)://([^/]+)/?(.*)|file://(.*)`
	s, err := LoadWithPatterns("sagemaker", map[string]string{"S3Uri": wide})
	if err != nil {
		t.Fatal(err)
	}
	shared := MustLoad("sagemaker")
	if s == shared || s.Shapes["S3Uri"] == shared.Shapes["S3Uri"] {
		t.Fatal("LoadWithPatterns returned the shared model")
	}
	tests := []struct {
		url          string
		wide, shared bool
	}{
		{"s3://bucket/key.tar.gz", true, true},
		{"https://host/key", true, true},
		{"http://127.0.0.1:8000/payloads.tar.gz", true, false},
		{"file:///tmp/payloads.tar.gz", true, false},
		{"ftp://host/x", false, false},
		{"/tmp/payloads.tar.gz", false, false},
	}
	for _, tt := range tests {
		check := func(svc *Service, want bool) {
			t.Helper()
			vs, err := svc.Shapes["S3Uri"].Validate(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(vs) == 0; got != want {
				t.Errorf("%q valid = %v, want %v (%v)", tt.url, got, want, vs)
			}
		}
		check(s, tt.wide)
		check(shared, tt.shared)
	}

	for _, bad := range []map[string]string{{"NoSuchShape": "x"}, {"MaxResults": "x"}, {"S3Uri": `(?<=a)b(`}} {
		if _, err := LoadWithPatterns("sagemaker", bad); err == nil {
			t.Errorf("LoadWithPatterns(%v) succeeded", bad)
		}
	}
	if _, err := LoadWithPatterns("no-such-model", nil); err == nil || !strings.Contains(err.Error(), "no-such-model") {
		t.Errorf("unknown model: err = %v", err)
	}
}
