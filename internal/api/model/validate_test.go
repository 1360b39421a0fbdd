package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const validJob = `{"JobName":"job-1","JobType":"Default","RoleArn":"arn:aws:iam::123456789012:role/r",
	"InputConfig":{"ModelPackageVersionArn":"arn:aws:sagemaker:us-east-1:123456789012:model-package/p/1"}}`

// job returns validJob with InputConfig members added or replaced.
func job(inputConfigExtra string) string {
	return `{"JobName":"job-1","JobType":"Default","RoleArn":"arn:aws:iam::123456789012:role/r",
	"InputConfig":{"ModelName":"m"` + inputConfigExtra + `}}`
}

func TestValidateConstraints(t *testing.T) {
	sm := MustLoad("sagemaker")
	aas := MustLoad("application-autoscaling")
	createJob := sm.Operations["CreateInferenceRecommendationsJob"].Input
	listJobs := sm.Operations["ListInferenceRecommendationsJobs"].Input
	createModel := sm.Operations["CreateModel"].Input
	createEPC := sm.Operations["CreateEndpointConfig"].Input
	register := aas.Operations["RegisterScalableTarget"].Input

	tenServerless := make([]string, 10)
	for i := range tenServerless {
		tenServerless[i] = `{"ServerlessConfig":{}}`
	}
	elevenTypes := make([]string, 11)
	for i := range elevenTypes {
		elevenTypes[i] = `{"InstanceType":"ml.m5.large"}`
	}

	tests := []struct {
		name  string
		shape *Shape
		json  string
		want  string // the whole message; "" means valid
		// prefix, when true, compares only the start (enum lists are long).
		prefix bool
	}{
		{name: "valid", shape: createJob, json: validJob},
		{name: "unknown members ignored", shape: createJob, json: strings.Replace(validJob, `"JobName"`, `"Extra":{"x":[1]},"JobName"`, 1)},
		{name: "optional members absent or null", shape: createJob, json: strings.Replace(validJob, `"JobName"`, `"Tags":null,"JobDescription":null,"JobName"`, 1)},
		{name: "required members missing", shape: createJob, json: `{}`,
			want: "4 validation errors detected: " +
				"Value null at 'jobName' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'jobType' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'roleArn' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'inputConfig' failed to satisfy constraint: Member must not be null"},
		{name: "member names are case-sensitive", shape: createJob, json: strings.Replace(validJob, `"JobName"`, `"jobName"`, 1),
			want: "1 validation error detected: Value null at 'jobName' failed to satisfy constraint: Member must not be null"},
		{name: "required member null", shape: createJob, json: strings.Replace(validJob, `"job-1"`, `null`, 1),
			want: "1 validation error detected: Value null at 'jobName' failed to satisfy constraint: Member must not be null"},
		{name: "pattern", shape: createJob, json: strings.Replace(validJob, `job-1`, `bad_name`, 1),
			want: "1 validation error detected: Value 'bad_name' at 'jobName' failed to satisfy constraint: " +
				"Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}"},
		{name: "max length and pattern on one member", shape: createJob, json: strings.Replace(validJob, `job-1`, strings.Repeat("a", 65), 1),
			want: "2 validation errors detected: " +
				"Value '" + strings.Repeat("a", 65) + "' at 'jobName' failed to satisfy constraint: Member must have length less than or equal to 64; " +
				"Value '" + strings.Repeat("a", 65) + "' at 'jobName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}"},
		{name: "length counts code points", shape: createJob, json: strings.Replace(validJob, `"JobName"`, `"JobDescription":"`+strings.Repeat("é", 128)+`","JobName"`, 1)},
		{name: "min length", shape: createJob, json: strings.Replace(validJob, `"JobName"`, `"Tags":[{"Key":"","Value":"v"}],"JobName"`, 1),
			want: "1 validation error detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{name: "enum", shape: createJob, json: strings.Replace(validJob, `"Default"`, `"Fancy"`, 1),
			want: "1 validation error detected: Value 'Fancy' at 'jobType' failed to satisfy constraint: Member must satisfy enum value set: [Default, Advanced]"},
		{name: "enum in a list of structures", shape: createJob, json: job(`,"EndpointConfigurations":[{"InstanceType":"ml.m5.large"},{"InstanceType":"ml.bogus"}]`),
			want: "1 validation error detected: Value 'ml.bogus' at 'inputConfig.endpointConfigurations.2.member.instanceType' failed to satisfy constraint: " +
				"Member must satisfy enum value set: [ml.t2.medium, ml.t2.large,", prefix: true},
		{name: "integer min", shape: createJob, json: job(`,"JobDurationInSeconds":0`),
			want: "1 validation error detected: Value '0' at 'inputConfig.jobDurationInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{name: "integer max, nested", shape: createJob, json: job(`,"TrafficPattern":{"TrafficType":"STAIRS","Stairs":{"UsersPerStep":4,"NumberOfSteps":2}}`),
			want: "1 validation error detected: Value '4' at 'inputConfig.trafficPattern.stairs.usersPerStep' failed to satisfy constraint: Member must have value less than or equal to 3"},
		{name: "list min length", shape: createJob, json: job(`,"EndpointConfigurations":[]`),
			want: "1 validation error detected: Value '[]' at 'inputConfig.endpointConfigurations' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{name: "list max length", shape: createJob, json: job(`,"EndpointConfigurations":[` + strings.Join(elevenTypes, ",") + `]`),
			want: "1 validation error detected: Value '[" + strings.TrimSuffix(strings.Repeat("{InstanceType=ml.m5.large}, ", 11), ", ") + "]' at 'inputConfig.endpointConfigurations' " +
				"failed to satisfy constraint: Member must have length less than or equal to 10"},
		{name: "required members of a structure in a list", shape: createJob, json: job(`,"EndpointConfigurations":[{"ServerlessConfig":{"MaxConcurrency":1}}]`),
			want: "1 validation error detected: Value null at 'inputConfig.endpointConfigurations.1.member.serverlessConfig.memorySizeInMB' failed to satisfy constraint: Member must not be null"},
		{name: "violations capped at ten", shape: createJob, json: job(`,"EndpointConfigurations":[` + strings.Join(tenServerless, ",") + `]`),
			want: "10 validation errors detected: Value null at 'inputConfig.endpointConfigurations.1.member.serverlessConfig.memorySizeInMB'", prefix: true},
		{name: "scalar list members reported on the list", shape: createJob, json: job(`,"VpcConfig":{"SecurityGroupIds":["sg-1"],"Subnets":["subnet-1","bad_subnet!"]}`),
			want: "1 validation error detected: Value '[subnet-1, bad_subnet!]' at 'inputConfig.vpcConfig.subnets' failed to satisfy constraint: " +
				"Member must satisfy constraint: [Member must have length less than or equal to 32, Member must have length greater than or equal to 0, " +
				"Member must satisfy regular expression pattern: [-0-9a-zA-Z]+]"},
		{name: "map keys", shape: createModel, json: `{"ModelName":"m","PrimaryContainer":{"Environment":{"OK":"1","1BAD":"v"}}}`,
			want: "1 validation error detected: Value '{1BAD=v, OK=1}' at 'primaryContainer.environment' failed to satisfy constraint: " +
				"Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 0, " +
				"Member must satisfy regular expression pattern: [a-zA-Z_][a-zA-Z0-9_]*]"},
		{name: "map values", shape: createModel, json: `{"ModelName":"m","PrimaryContainer":{"Environment":{"K":"` + strings.Repeat("v", 1025) + `"}}}`,
			want: "1 validation error detected: Value '{K=" + strings.Repeat("v", 1025) + "}' at 'primaryContainer.environment' failed to satisfy constraint: " +
				"Map value must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 0, " +
				"Member must satisfy regular expression pattern: [\\S\\s]*]"},
		{name: "float min", shape: createEPC, json: `{"EndpointConfigName":"c","ProductionVariants":[{"VariantName":"v","InitialVariantWeight":-1}]}`,
			want: "1 validation error detected: Value '-1.0' at 'productionVariants.1.member.initialVariantWeight' failed to satisfy constraint: Member must have value greater than or equal to 0.0"},
		{name: "float fraction limit", shape: sm.Shapes["NumberOfCpuCores"], json: `0.125`,
			want: "1 validation error detected: Value '0.125' at '' failed to satisfy constraint: Member must have value greater than or equal to 0.25"},
		{name: "sensitive values are not shown", shape: sm.Shapes["OidcConfig"],
			json: `{"ClientId":"id","ClientSecret":"","Issuer":"https://i","AuthorizationEndpoint":"https://a","TokenEndpoint":"https://t","UserInfoEndpoint":"https://u","LogoutEndpoint":"https://l","JwksUri":"https://j"}`,
			want: "2 validation errors detected: Value at 'clientSecret' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value at 'clientSecret' failed to satisfy constraint: Member must satisfy regular expression pattern: [ -~]+"},
		{name: "integer max at top level", shape: listJobs, json: `{"MaxResults":101}`,
			want: "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"},
		{name: "timestamps as epoch seconds", shape: listJobs, json: `{"CreationTimeAfter":1767225600.5,"CreationTimeBefore":1767225601}`},
		{name: "aas enum and translated pattern", shape: register,
			json: `{"ServiceNamespace":"sagemaker","ResourceId":"endpoint/e/variant/v\u0007","ScalableDimension":"sagemaker:variant:DesiredInstanceCount"}`,
			want: "1 validation error detected: Value 'endpoint/e/variant/v\a' at 'resourceId' failed to satisfy constraint: " +
				`Member must satisfy regular expression pattern: [\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]*`},
		{name: "aas valid", shape: register,
			json: `{"ServiceNamespace":"sagemaker","ResourceId":"endpoint/e/variant/v","ScalableDimension":"sagemaker:variant:DesiredInstanceCount","MinCapacity":1,"MaxCapacity":4,"Tags":{"team":"ml"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs, err := tt.shape.Validate(decode(t, tt.json))
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			got := ""
			if len(vs) > 0 {
				got = FormatViolations(vs)
			}
			if tt.prefix && tt.want != "" {
				if !strings.HasPrefix(got, tt.want) {
					t.Errorf("message\n got %s\nwant prefix %s", got, tt.want)
				}
				return
			}
			if got != tt.want {
				t.Errorf("message\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestValidateTypeErrors(t *testing.T) {
	sm := MustLoad("sagemaker")
	createJob := sm.Operations["CreateInferenceRecommendationsJob"].Input
	tests := []struct {
		name      string
		shape     *Shape
		json      string
		path      string
		want, got string
	}{
		{"string given a number", createJob, `{"JobName":5}`, "jobName", "string", "number"},
		{"structure given a string", createJob, `{"InputConfig":"x"}`, "inputConfig", "structure", "string"},
		{"top level not an object", createJob, `[1]`, "", "structure", "array"},
		{"list given an object", createJob, `{"Tags":{}}`, "tags", "list", "object"},
		{"integer given a fraction", createJob, `{"InputConfig":{"JobDurationInSeconds":1.5}}`, "inputConfig.jobDurationInSeconds", "integer", "a number with a fraction or exponent (1.5)"},
		{"integer given an exponent", createJob, `{"InputConfig":{"JobDurationInSeconds":1e3}}`, "inputConfig.jobDurationInSeconds", "integer", "a number with a fraction or exponent (1e3)"},
		{"integer overflow", createJob, `{"InputConfig":{"JobDurationInSeconds":3000000000}}`, "inputConfig.jobDurationInSeconds", "integer", "a number out of range (3000000000)"},
		{"integer given a string", createJob, `{"InputConfig":{"JobDurationInSeconds":"5"}}`, "inputConfig.jobDurationInSeconds", "integer", "string"},
		{"list member of the wrong type", createJob, `{"Tags":[{"Key":true,"Value":"v"}]}`, "tags.1.member.key", "string", "boolean"},
		{"scalar list member of the wrong type", createJob, `{"InputConfig":{"VpcConfig":{"SecurityGroupIds":[1],"Subnets":["s"]}}}`, "inputConfig.vpcConfig.securityGroupIds.1.member", "string", "number"},
		{"boolean given a string", sm.Operations["CreateModel"].Input, `{"ModelName":"m","EnableNetworkIsolation":"true"}`, "enableNetworkIsolation", "boolean", "string"},
		{"timestamp given a date string", sm.Operations["ListInferenceRecommendationsJobs"].Input, `{"CreationTimeAfter":"2026-01-01"}`, "creationTimeAfter", "timestamp (epoch seconds)", "string"},
		{"map given a list", sm.Operations["CreateModel"].Input, `{"PrimaryContainer":{"Environment":[]}}`, "primaryContainer.environment", "map", "array"},
		{"float out of range", sm.Shapes["NumberOfCpuCores"], `1e400`, "", "float", "not a finite number (1e400)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.shape.Validate(decode(t, tt.json))
			var te *TypeError
			if !errors.As(err, &te) {
				t.Fatalf("Validate error = %v, want a *TypeError", err)
			}
			if te.Path != tt.path || te.Want != tt.want || te.Got != tt.got {
				t.Errorf("TypeError = %+v, want path %q want %q got %q", *te, tt.path, tt.want, tt.got)
			}
		})
	}
}

// TestValidateSyntheticShapes covers shape kinds the AWS models above use
// rarely or not at all: blobs, longs, documents, nulls in lists.
func TestValidateSyntheticShapes(t *testing.T) {
	s, err := Parse(strings.NewReader(`{"shapes":{
		"In":{"type":"structure","required":["Data"],"members":{
			"Data":{"shape":"Blob"},"Big":{"shape":"Long"},"Doc":{"shape":"Doc"},"Names":{"shape":"Names"}}},
		"Blob":{"type":"blob","min":2,"max":4},
		"Long":{"type":"long","min":-9223372036854775808,"max":9007199254740993},
		"Doc":{"type":"structure","members":{},"document":true},
		"Names":{"type":"list","member":{"shape":"Name"}},
		"Name":{"type":"string","min":1}}}`))
	if err != nil {
		t.Fatal(err)
	}
	in := s.Shapes["In"]
	tests := []struct {
		json, want string
		typeErr    bool
	}{
		{json: `{"Data":"AAA="}`}, // 2 bytes
		{json: `{"Data":"AAAAAAAA"}`, want: "1 validation error detected: Value 'AAAAAAAA' at 'data' failed to satisfy constraint: Member must have length less than or equal to 4"},
		{json: `{"Data":"not base64!"}`, typeErr: true},
		{json: `{"Data":"AAA=","Big":9007199254740993}`}, // exact at the limit, beyond float64 precision
		{json: `{"Data":"AAA=","Big":9007199254740994}`, want: "1 validation error detected: Value '9007199254740994' at 'big' failed to satisfy constraint: Member must have value less than or equal to 9007199254740993"},
		{json: `{"Data":"AAA=","Doc":{"anything":[1,"x",null]}}`},
		{json: `{"Data":"AAA=","Names":["a",null]}`, want: "1 validation error detected: Value null at 'names.2.member' failed to satisfy constraint: Member must not be null"},
	}
	for _, tt := range tests {
		vs, err := in.Validate(decode(t, tt.json))
		if tt.typeErr {
			if err == nil {
				t.Errorf("%s: no type error", tt.json)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.json, err)
			continue
		}
		got := ""
		if len(vs) > 0 {
			got = FormatViolations(vs)
		}
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.json, got, tt.want)
		}
	}
	// Raw bytes stand for REST payloads.
	if vs, err := in.Validate(map[string]any{"Data": []byte("12345")}); err != nil || len(vs) != 1 {
		t.Errorf("raw payload: %v %v", vs, err)
	}
}

func TestPrune(t *testing.T) {
	createJob := MustLoad("sagemaker").Operations["CreateInferenceRecommendationsJob"].Input
	v := decode(t, `{"JobName":"j","jobname":"x","InputConfig":{"Bogus":1,"ModelName":"m"},"Tags":[{"Key":"k","Value":"v","extra":1}]}`)
	if !createJob.Prune(v) {
		t.Fatal("Prune reported no change")
	}
	got, _ := json.Marshal(v)
	if want := `{"InputConfig":{"ModelName":"m"},"JobName":"j","Tags":[{"Key":"k","Value":"v"}]}`; string(got) != want {
		t.Errorf("pruned = %s, want %s", got, want)
	}
	if createJob.Prune(v) {
		t.Error("second Prune reported a change")
	}
}

func TestJavaDouble(t *testing.T) {
	for f, want := range map[float64]string{0: "0.0", 1: "1.0", 0.25: "0.25", -1: "-1.0", 1e7: "1.0E7", 1.5e-4: "1.5E-4", 123456.5: "123456.5"} {
		if got := javaDouble(f); got != want {
			t.Errorf("javaDouble(%v) = %s, want %s", f, got, want)
		}
	}
}

func BenchmarkValidateCreateJob(b *testing.B) {
	in := MustLoad("sagemaker").Operations["CreateInferenceRecommendationsJob"].Input
	v := decode(b, job(`,"EndpointConfigurations":[{"InstanceType":"ml.m5.large"},{"InstanceType":"ml.c5.xlarge"}],"VpcConfig":{"SecurityGroupIds":["sg-1"],"Subnets":["subnet-1"]}`))
	for b.Loop() {
		if vs, err := in.Validate(v); err != nil || len(vs) > 0 {
			b.Fatal(fmt.Sprint(vs, err))
		}
	}
}

// TestBlobLengthViolations: a blob payload refused by its length alone is
// worded as Validate words the blob itself, sensitive (InvokeEndpoint's
// Body) or not.
func TestBlobLengthViolations(t *testing.T) {
	in := MustLoad("sagemaker-runtime").Operations["InvokeEndpoint"].Input
	body := in.Payload()
	plain := &Member{Name: body.Name, Shape: &Shape{Type: TypeBlob, Min: body.Shape.Min, Max: body.Shape.Max}}
	max, ok := body.Shape.MaxLength()
	if !ok || max != 6291456 {
		t.Fatalf("MaxLength %d %v, want 6291456", max, ok)
	}
	for _, m := range []*Member{body, plain} {
		for _, n := range []int64{max, max + 1} {
			got := BlobLengthViolations(m, n)
			want, err := m.Shape.Validate(make([]byte, n))
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				want[i].Path = "body" // the member's path in the input
			}
			if FormatViolations(got) != FormatViolations(want) || len(got) != len(want) {
				t.Errorf("sensitive %v, %d bytes: %q, want %q", m.Shape.Sensitive, n, FormatViolations(got), FormatViolations(want))
			}
		}
	}
	const want = "1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have length less than or equal to 6291456"
	if got := FormatViolations(BlobLengthViolations(body, 1<<40)); got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
