package recommend

import (
	"reflect"
	"strings"
	"testing"

	"github.com/inferscale/inferscale/internal/catalog"
)

func TestPlan(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	in := &JobInput{InputConfig: InputConfig{
		EndpointConfigurations: []EndpointInputConfiguration{
			{InstanceType: "ml.m5.large", EnvironmentParameterRanges: &EnvironmentParameterRanges{
				CategoricalParameterRanges: []CategoricalParameter{
					{Name: "A", Value: []string{"1", "2"}},
					{Name: "B", Value: []string{"x", "y", "z"}},
				},
			}},
			{InstanceType: "ml.c5.xlarge"},
		},
	}}
	steps, err := Plan(in, cat)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for i, s := range steps {
		if s.Index != i {
			t.Errorf("step %d has index %d", i, s.Index)
		}
		labels = append(labels, s.Label())
	}
	want := []string{
		"ml.m5.large A=1 B=x", "ml.m5.large A=1 B=y", "ml.m5.large A=1 B=z",
		"ml.m5.large A=2 B=x", "ml.m5.large A=2 B=y", "ml.m5.large A=2 B=z",
		"ml.c5.xlarge",
	}
	if !reflect.DeepEqual(labels, want) {
		t.Errorf("labels = %q\nwant %q", labels, want)
	}
	if steps[0].Environment[0].ValueType != "String" {
		t.Errorf("ValueType = %q", steps[0].Environment[0].ValueType)
	}

	in.InputConfig.ResourceLimit = &ResourceLimit{MaxNumberOfTests: 4}
	steps, _ = Plan(in, cat)
	if len(steps) != 4 {
		t.Errorf("MaxNumberOfTests 4: %d steps", len(steps))
	}

	in.InputConfig.EndpointConfigurations = append(in.InputConfig.EndpointConfigurations, EndpointInputConfiguration{InstanceType: "ml.bogus.large"})
	if _, err := Plan(in, cat); err == nil || !strings.Contains(err.Error(), "EndpointConfigurations[2].InstanceType") || !strings.Contains(err.Error(), "ml.bogus.large") {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := Plan(&JobInput{}, cat); err == nil {
		t.Error("no endpoint configurations: no error")
	}
}

func TestDefaultInstanceTypes(t *testing.T) {
	cat, _ := catalog.Default()
	tests := []struct {
		host int
		n    int
		want []string
	}{
		{2, 3, []string{"ml.c5d.large", "ml.m5.large", "ml.c5.xlarge"}},
		{4, 3, []string{"ml.c5d.large", "ml.m5.large", "ml.c5.xlarge"}},
		{2, 1, []string{"ml.c5d.large"}},
	}
	for _, tt := range tests {
		if got := DefaultInstanceTypes(cat, "us-east-1", tt.host, tt.n); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("host %d n %d: %v, want %v", tt.host, tt.n, got, tt.want)
		}
	}
	if got := DefaultInstanceTypes(cat, "mars-1", 2, 3); len(got) != 0 {
		t.Errorf("unpriced region: %v", got)
	}
}
