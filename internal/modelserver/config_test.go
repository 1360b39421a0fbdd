package modelserver

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func envFunc(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want func(c *Config) // edits DefaultConfig into the expected config
	}{
		{"defaults", nil, func(c *Config) {}},
		{"blank values are unset", map[string]string{EnvModel: "  ", EnvMLPInput: ""}, func(c *Config) {}},
		{"reference", map[string]string{EnvModel: "reference", EnvRefService: "15ms", EnvRefSlots: "8"}, func(c *Config) {
			c.Model = ModelReference
			c.Reference = ReferenceConfig{ServiceTime: 15 * time.Millisecond, Slots: 8}
		}},
		{"model name in capitals", map[string]string{EnvModel: "MLP"}, func(c *Config) {}},
		{"mlp sizes", map[string]string{EnvMLPInput: "8", EnvMLPHidden: "16, 4", EnvMLPClasses: "3", EnvMLPSeed: "-9"}, func(c *Config) {
			c.MLP = MLPConfig{Input: 8, Hidden: []int{16, 4}, Classes: 3, Seed: -9}
		}},
		{"workers, dir and delay", map[string]string{EnvWorkers: "3", EnvModelDir: "/tmp/m", EnvSetupDelay: "1.5s"}, func(c *Config) {
			c.Workers, c.ModelDir, c.SetupDelay = 3, "/tmp/m", 1500*time.Millisecond
		}},
		{"multi-model", map[string]string{EnvMultiModel: "TRUE", EnvMaxModels: "12", EnvModelMemory: "512MiB"}, func(c *Config) {
			c.MultiModel, c.MaxModels, c.MaxModelBytes = true, 12, 512<<20
		}},
		{"multi-model off", map[string]string{EnvMultiModel: "false", EnvModelMemory: "1000"}, func(c *Config) {
			c.MaxModelBytes = 1000
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfigFromEnv(envFunc(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			want := DefaultConfig()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestConfigFromEnvErrors(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want []string // substrings of the error
	}{
		{map[string]string{EnvModel: "bert"}, []string{EnvModel, `unknown model "bert"`, "mlp", "reference"}},
		{map[string]string{EnvMLPInput: "0"}, []string{EnvMLPInput, "outside [1,"}},
		{map[string]string{EnvMLPInput: "x"}, []string{EnvMLPInput, "want an integer"}},
		{map[string]string{EnvMLPHidden: "64,,32"}, []string{EnvMLPHidden, "layer 2", "comma-separated"}},
		{map[string]string{EnvMLPHidden: "64,-1"}, []string{EnvMLPHidden, "layer 2", "-1 is outside"}},
		{map[string]string{EnvMLPClasses: "1"}, []string{EnvMLPClasses, "outside [2,"}},
		{map[string]string{EnvMLPSeed: "1.5"}, []string{EnvMLPSeed, "integer"}},
		{map[string]string{EnvMLPHidden: "65536,65536"}, []string{EnvMLPHidden, "parameters"}},
		{map[string]string{EnvWorkers: "0"}, []string{EnvWorkers, "outside [1,"}},
		{map[string]string{EnvSetupDelay: "5"}, []string{EnvSetupDelay, "duration such as"}},
		{map[string]string{EnvSetupDelay: "-1s"}, []string{EnvSetupDelay, "outside"}},
		{map[string]string{EnvRefService: "10us"}, []string{EnvRefService, "outside [100µs"}},
		{map[string]string{EnvRefSlots: "0"}, []string{EnvRefSlots, "outside [1,"}},
		{map[string]string{EnvMultiModel: "yes"}, []string{EnvMultiModel, "true or false"}},
		{map[string]string{EnvMaxModels: "-1"}, []string{EnvMaxModels, "outside [0,"}},
		{map[string]string{EnvModelMemory: "lots"}, []string{EnvModelMemory, "byte count such as"}},
		{map[string]string{EnvModelMemory: "-5MiB"}, []string{EnvModelMemory, "byte count such as"}},
		{map[string]string{EnvModelMemory: "9999999TiB"}, []string{EnvModelMemory, "too large"}},
		{map[string]string{EnvRefSlots: "two", EnvMLPInput: "-3"}, []string{EnvRefSlots, EnvMLPInput}}, // all problems at once
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.want, " "), func(t *testing.T) {
			_, err := ConfigFromEnv(envFunc(tt.env))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
		want string // empty: valid
	}{
		{"default", func(c *Config) {}, ""},
		{"zero workers means GOMAXPROCS", func(c *Config) { c.Workers = 0 }, ""},
		{"zero value", func(c *Config) { *c = Config{} }, EnvModel},
		{"no model dir", func(c *Config) { c.ModelDir = "" }, EnvModelDir},
		{"no hidden layers", func(c *Config) { c.MLP.Hidden = nil }, EnvMLPHidden},
		{"one class", func(c *Config) { c.MLP.Classes = 1 }, EnvMLPClasses},
		{"negative workers", func(c *Config) { c.Workers = -1 }, EnvWorkers},
		{"reference without slots", func(c *Config) { c.Model = ModelReference; c.Reference.Slots = 0 }, EnvRefSlots},
		{"reference ignores mlp sizes", func(c *Config) { c.Model = ModelReference; c.MLP.Hidden = nil }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			if tt.want == "" && err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("error = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestEnvRoundTrip(t *testing.T) {
	tests := []Config{DefaultConfig(), {
		Model: ModelReference, ModelDir: "/data/model", SetupDelay: 2500 * time.Millisecond, Workers: 3,
		MLP:        MLPConfig{Input: 5, Hidden: []int{7, 9}, Classes: 4, Seed: -12},
		Reference:  ReferenceConfig{ServiceTime: 12345 * time.Microsecond, Slots: 7},
		MultiModel: true, MaxModels: 4, MaxModelBytes: 3 << 30,
	}}
	for _, c := range tests {
		env := map[string]string{}
		for _, kv := range c.Env() {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("Env() entry %q is not KEY=VALUE", kv)
			}
			env[k] = v
		}
		got, err := ConfigFromEnv(envFunc(env))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip through %v\ngot  %+v\nwant %+v", c.Env(), got, c)
		}
	}
	for _, kv := range DefaultConfig().Env() {
		if strings.HasPrefix(kv, EnvWorkers+"=") {
			t.Errorf("Env() of zero workers sets %s; the server should size itself", kv)
		}
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1234", 1234, true}, {"512MiB", 512 << 20, true}, {"2 GiB", 2 << 30, true},
		{"3KB", 3000, true}, {"1.5GiB", 0, false}, {"7B", 7, true}, {"4G", 4 << 30, true}, {"GiB", 0, false}, {"-1", 0, false},
	}
	for _, tt := range tests {
		var got int64
		err := parseBytes(tt.in, &got)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestListenAddress(t *testing.T) {
	tests := []struct {
		env     map[string]string
		want    string
		wantErr string
	}{
		{nil, "127.0.0.1:8080", ""},
		{map[string]string{EnvPort: "9001"}, "127.0.0.1:9001", ""},
		{map[string]string{EnvPort: "0", EnvBindHost: "0.0.0.0"}, "0.0.0.0:0", ""},
		{map[string]string{EnvBindHost: "::1", EnvPort: "81"}, "[::1]:81", ""},
		{map[string]string{EnvPort: "70000"}, "", EnvPort},
		{map[string]string{EnvPort: "http"}, "", EnvPort},
		{map[string]string{EnvBindHost: "a b"}, "", EnvBindHost},
	}
	for _, tt := range tests {
		got, err := ListenAddress(envFunc(tt.env))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ListenAddress(%v) error = %v, want one naming %s", tt.env, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ListenAddress(%v) = %q, %v; want %q", tt.env, got, err, tt.want)
		}
	}
}
