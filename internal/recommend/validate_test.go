package recommend

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidate(t *testing.T) {
	ok := func() *JobInput {
		return &JobInput{
			JobName: "job-1",
			JobType: JobTypeAdvanced,
			InputConfig: InputConfig{
				EndpointConfigurations: []EndpointInputConfiguration{{InstanceType: "ml.m5.large"}},
				TrafficPattern: &TrafficPattern{TrafficType: TrafficPhases, Phases: []Phase{
					{InitialNumberOfUsers: 1, SpawnRate: 1, DurationInSeconds: 60},
				}},
			},
			StoppingConditions: &StoppingConditions{
				ModelLatencyThresholds: []ModelLatencyThreshold{{Percentile: "P95", ValueInMilliseconds: 100}},
			},
		}
	}
	if err := ok().Validate(); err != nil {
		t.Fatalf("valid job: %v", err)
	}
	tests := []struct {
		name   string
		change func(*JobInput)
		want   []string
	}{
		{"bad name", func(j *JobInput) { j.JobName = "-x" }, []string{"JobName"}},
		{"bad type", func(j *JobInput) { j.JobType = "Fast" }, []string{"JobType", "[Default, Advanced]"}},
		{"no traffic", func(j *JobInput) { j.InputConfig.TrafficPattern = nil }, []string{"InputConfig.TrafficPattern: is required"}},
		{"traffic on default", func(j *JobInput) { j.JobType = JobTypeDefault }, []string{"applies to Advanced jobs only"}},
		{"bad phase", func(j *JobInput) { j.InputConfig.TrafficPattern.Phases[0].InitialNumberOfUsers = 0 }, []string{"Phases[0].InitialNumberOfUsers: must be at least 1"}},
		{"bad stairs", func(j *JobInput) {
			j.InputConfig.TrafficPattern = &TrafficPattern{TrafficType: TrafficStairs, Stairs: &Stairs{DurationInSeconds: 10, NumberOfSteps: 2, UsersPerStep: 4}}
		}, []string{"Stairs.UsersPerStep: must be between 1 and 3, got 4"}},
		{"bad percentile", func(j *JobInput) { j.StoppingConditions.ModelLatencyThresholds[0].Percentile = "P42" }, []string{"ModelLatencyThresholds[0].Percentile", "P42"}},
		{"bad threshold", func(j *JobInput) { j.StoppingConditions.ModelLatencyThresholds[0].ValueInMilliseconds = 0 }, []string{"ModelLatencyThresholds[0].ValueInMilliseconds: must be a positive"}},
		{"bad flat", func(j *JobInput) { j.StoppingConditions.FlatInvocations = "Maybe" }, []string{"FlatInvocations"}},
		{"serverless", func(j *JobInput) {
			j.InputConfig.EndpointConfigurations[0] = EndpointInputConfiguration{ServerlessConfig: &ServerlessConfig{MemorySizeInMB: 2048, MaxConcurrency: 1}}
		}, []string{"ServerlessConfig: serverless endpoints are not supported"}},
		{"empty env values", func(j *JobInput) {
			j.InputConfig.EndpointConfigurations[0].EnvironmentParameterRanges = &EnvironmentParameterRanges{CategoricalParameterRanges: []CategoricalParameter{{Name: "A=B"}}}
		}, []string{"CategoricalParameterRanges[0].Name", "CategoricalParameterRanges[0].Value"}},
		{"one variable in two ranges", func(j *JobInput) {
			j.InputConfig.EndpointConfigurations[0].EnvironmentParameterRanges = &EnvironmentParameterRanges{CategoricalParameterRanges: []CategoricalParameter{
				{Name: "A", Value: []string{"1"}}, {Name: "A", Value: []string{"2"}}}}
		}, []string{`CategoricalParameterRanges[1].Name: "A" is also CategoricalParameterRanges[0]`}},
		{"a value twice", func(j *JobInput) {
			j.InputConfig.EndpointConfigurations[0].EnvironmentParameterRanges = &EnvironmentParameterRanges{CategoricalParameterRanges: []CategoricalParameter{
				{Name: "A", Value: []string{"1", "1"}}}}
		}, []string{`CategoricalParameterRanges[0].Value: lists "1" twice`}},
		{"two errors", func(j *JobInput) { j.JobName = ""; j.JobType = "" }, []string{"JobName", "JobType"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := ok()
			tt.change(j)
			err := j.Validate()
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

// TestFailureReason: a reason over the API's limit is cut to it, in
// characters, never inside one.
func TestFailureReason(t *testing.T) {
	short := strings.Repeat("é", MaxFailureReason)
	if got := FailureReason(short); got != short {
		t.Errorf("a reason at the limit was changed")
	}
	long := strings.Repeat("x", MaxFailureReason-4) + strings.Repeat("é", 10)
	got := FailureReason(long)
	if n := utf8.RuneCountInString(got); n != MaxFailureReason || !utf8.ValidString(got) || !strings.HasSuffix(got, "é...") {
		t.Errorf("cut to %d characters (valid UTF-8: %v), ending %q", n, utf8.ValidString(got), got[len(got)-8:])
	}
}
