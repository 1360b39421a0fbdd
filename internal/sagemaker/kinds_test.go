package sagemaker

import (
	"encoding/json"
	"testing"
)

func TestOpaqueRoundTrip(t *testing.T) {
	type doc struct {
		V Opaque `json:"V,omitempty"`
	}
	tests := []struct{ in, out string }{
		{`{"V":{"SecurityGroupIds":["sg-1"],"Subnets":["a","b"]}}`, `{"V":{"SecurityGroupIds":["sg-1"],"Subnets":["a","b"]}}`},
		{`{"V":[1,2]}`, `{"V":[1,2]}`},
		{`{"V":null}`, `{}`},
		{`{}`, `{}`},
	}
	for _, tt := range tests {
		var d doc
		if err := json.Unmarshal([]byte(tt.in), &d); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(d)
		if err != nil || string(b) != tt.out {
			t.Errorf("%s → %s, %v; want %s", tt.in, b, err, tt.out)
		}
	}
}

func TestPackageName(t *testing.T) {
	sc := scope{account: "123456789012", region: "us-west-2"}
	tests := []struct {
		ref, want, err string
	}{
		{ref: "plain", want: "plain"},
		{ref: "Group/7", want: "Group/7"},
		{ref: "Group/007", want: "Group/7"},
		{ref: "arn:aws:sagemaker:us-west-2:123456789012:model-package/Group/3", want: "Group/3"},
		{ref: "arn:aws:sagemaker:us-west-2:123456789012:model-package/plain", want: "plain"},
		{ref: "Group/0", err: "ModelPackage arn:aws:sagemaker:us-west-2:123456789012:model-package/Group/0 does not exist."},
		{ref: "Group/x", err: "ModelPackage arn:aws:sagemaker:us-west-2:123456789012:model-package/Group/x does not exist."},
		{ref: "arn:aws:sagemaker:us-west-2:123456789012:model/plain",
			err: "ModelPackage arn:aws:sagemaker:us-west-2:123456789012:model/plain does not exist."},
		{ref: "arn:aws:sagemaker:us-west-2:999999999999:model-package/plain",
			err: "ModelPackage arn:aws:sagemaker:us-west-2:999999999999:model-package/plain does not exist."},
		{ref: "arn:aws:sagemaker:eu-west-1:123456789012:model-package/plain", err: "ARN should be scoped to correct region: us-west-2"},
		{ref: "arn:aws:s3:::bucket/key", err: "arn:aws:s3:::bucket/key is not a valid ARN."},
	}
	for _, tt := range tests {
		got, err := packageName(sc, tt.ref)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if got != tt.want || (tt.err == "") != (err == nil) || (err != nil && msg != "invalid: "+tt.err) {
			t.Errorf("packageName(%q) = %q, %v; want %q, %q", tt.ref, got, err, tt.want, tt.err)
		}
	}
}
