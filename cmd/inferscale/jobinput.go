package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/inferscale/inferscale/internal/api/model"
	"github.com/inferscale/inferscale/internal/catalog"
	"github.com/inferscale/inferscale/internal/recommend"
	"github.com/inferscale/inferscale/internal/sagemaker"
)

// createJobShape is the CreateInferenceRecommendationsJob request shape of
// the SageMaker model as `inferscale serve` validates requests with it
// (file:// URLs accepted where the model wants S3 ones).
func createJobShape() (*model.Shape, error) {
	svc := new(sagemaker.Service).NewAPI().Model
	op := svc.Operations["CreateInferenceRecommendationsJob"]
	if op == nil || op.Input == nil {
		return nil, errors.New("the SageMaker model has no CreateInferenceRecommendationsJob input")
	}
	return op.Input, nil
}

// filledByFlags are the required members that recommend supplies itself
// when a request file leaves them out (RoleArn: nothing here assumes a role).
var filledByFlags = map[string]bool{"jobName": true, "jobType": true, "roleArn": true, "inputConfig": true}

// validateRequest checks a request, decoded with UseNumber, against the
// model as serve does, except that the members recommend fills itself may
// be missing. Every error is a usage error.
func validateRequest(sh *model.Shape, tree any, what string) error {
	if err := unknownMembers(sh, tree, ""); err != nil {
		return fmt.Errorf("%w: %s: %v", errUsage, what, err)
	}
	vs, err := sh.Validate(tree)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", errUsage, what, err)
	}
	vs = slices.DeleteFunc(vs, func(v model.Violation) bool {
		// Instance types are looked up in the catalog (Plan), whose error
		// suggests a near name and --catalog, where the enum's lists
		// every type AWS has.
		return v.Null && filledByFlags[v.Path] ||
			strings.HasSuffix(v.Path, ".instanceType") && strings.HasPrefix(v.Constraint, "Member must satisfy enum value set")
	})
	if len(vs) > 0 {
		return fmt.Errorf("%w: %s: %s", errUsage, what, model.FormatViolations(vs))
	}
	return nil
}

// unknownMembers reports the first object member that sh does not define,
// matching names exactly, as the aws CLI rejects them ("Unknown parameter
// in input").
func unknownMembers(sh *model.Shape, v any, path string) error {
	if sh == nil || sh.Document || v == nil {
		return nil
	}
	switch sh.Type {
	case model.TypeStructure:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil // Validate reports the type
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			m := sh.MemberNamed(k)
			if m == nil {
				names := make([]string, len(sh.Members))
				for i, m := range sh.Members {
					names[i] = m.Name
				}
				where := "the request"
				if path != "" {
					where = path
				}
				return fmt.Errorf("unknown member %q in %s, which takes %s", k, where, strings.Join(names, ", "))
			}
			if err := unknownMembers(m.Shape, obj[k], joinPath(path, k)); err != nil {
				return err
			}
		}
	case model.TypeList:
		if arr, ok := v.([]any); ok {
			for i, e := range arr {
				if err := unknownMembers(sh.Member.Shape, e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	case model.TypeMap:
		if obj, ok := v.(map[string]any); ok {
			for k, e := range obj {
				if err := unknownMembers(sh.Value.Shape, e, fmt.Sprintf("%s[%q]", path, k)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// decodeTree decodes JSON as the model validation wants it: numbers as
// json.Number, one value and nothing after it.
func decodeTree(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	if _, ok := tree.(map[string]any); !ok {
		return nil, errors.New("want a JSON object")
	}
	return tree, nil
}

// readJobFile reads and validates a --cli-input-json file.
func readJobFile(path string, sh *model.Shape) (recommend.JobInput, error) {
	var in recommend.JobInput
	b, err := os.ReadFile(path)
	if err != nil {
		return in, fmt.Errorf("read --cli-input-json: %w", err)
	}
	what := "--cli-input-json " + path
	tree, err := decodeTree(b)
	if err != nil {
		return in, fmt.Errorf("%w: %s: %v", errUsage, what, err)
	}
	if err := validateRequest(sh, tree, what); err != nil {
		return in, err
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return in, fmt.Errorf("%w: %s: %v", errUsage, what, err)
	}
	// What only a server can resolve.
	ic := &in.InputConfig
	switch {
	case ic.ModelName != "" || ic.ModelPackageVersionArn != "":
		return in, fmt.Errorf("%w: %s: InputConfig.ModelName and ModelPackageVersionArn name models registered with a server, "+
			"which recommend does not have: name the model server with --model-command or --model-url, "+
			"or create the job on `inferscale serve` (aws sagemaker create-inference-recommendations-job --endpoint-url ...)", errUsage, what)
	case len(ic.Endpoints) > 0:
		return in, fmt.Errorf("%w: %s: InputConfig.Endpoints: benchmarking existing endpoints is not supported; "+
			"name the model server with --model-command or --model-url", errUsage, what)
	}
	for i, ec := range ic.EndpointConfigurations {
		if ec.InferenceSpecificationName != "" {
			return in, fmt.Errorf("%w: %s: InputConfig.EndpointConfigurations[%d].InferenceSpecificationName needs a model package, "+
				"which recommend does not have", errUsage, what, i)
		}
	}
	return in, nil
}

// samplePayloadPath is the local path of a SamplePayloadUrl: file:///path or
// a plain path.
func samplePayloadPath(raw string) (string, error) {
	scheme, _, found := strings.Cut(raw, "://")
	if !found {
		return raw, nil
	}
	if !strings.EqualFold(scheme, "file") {
		return "", fmt.Errorf("%q: recommend reads file:// URLs only (a file, a directory or a tar.gz archive)", raw)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Path == "" || !filepath.IsAbs(u.Path) {
		return "", fmt.Errorf("%q: a file:// URL needs an absolute path, as in file:///data/payloads.tar.gz", raw)
	}
	return filepath.FromSlash(u.Path), nil
}

// jobInput builds the job request from --cli-input-json and the flags. The
// file's members win; flags fill what it leaves out, and a flag given
// explicitly that disagrees with the file is a usage error. It may set
// f.payloads and f.contentType from the file's PayloadConfig.
func jobInput(f *recommendFlags, cat *catalog.Catalog) (recommend.JobInput, error) {
	var in recommend.JobInput
	sh, err := createJobShape()
	if err != nil {
		return in, err
	}
	if f.cliInput != "" {
		if in, err = readJobFile(f.cliInput, sh); err != nil {
			return in, err
		}
	}
	conflict := func(flag, member string) error {
		return fmt.Errorf("%w: --%s disagrees with %s in --cli-input-json %s: the file's value wins, so drop the flag or change the file",
			errUsage, flag, member, f.cliInput)
	}
	set := f.set

	switch {
	case in.JobName == "" && f.jobName != "":
		in.JobName = f.jobName
	case in.JobName == "" && f.defaultJobName != "":
		in.JobName = f.defaultJobName
	case in.JobName == "":
		in.JobName = "inferscale-" + time.Now().UTC().Format("20060102-150405")
	case set["job-name"] && f.jobName != in.JobName:
		return in, conflict("job-name", "JobName")
	}

	switch {
	case in.JobType == "" && f.jobType != "":
		in.JobType = f.jobType
	case in.JobType == "":
		in.JobType = recommend.JobTypeDefault
	case set["job-type"] && f.jobType != in.JobType:
		return in, conflict("job-type", "JobType")
	}

	ic := &in.InputConfig
	if set["instance-types"] {
		var types []string
		for _, t := range strings.Split(f.instanceTypes, ",") {
			if t = strings.TrimSpace(t); t != "" {
				types = append(types, t)
			}
		}
		if len(types) == 0 {
			return in, fmt.Errorf("%w: --instance-types names no instance type", errUsage)
		}
		if len(ic.EndpointConfigurations) == 0 {
			for _, t := range types {
				ic.EndpointConfigurations = append(ic.EndpointConfigurations, recommend.EndpointInputConfiguration{InstanceType: t})
			}
		} else {
			var fileTypes []string
			for _, ec := range ic.EndpointConfigurations {
				fileTypes = append(fileTypes, ec.InstanceType)
			}
			if !slices.Equal(types, fileTypes) {
				return in, conflict("instance-types", "InputConfig.EndpointConfigurations")
			}
		}
	}
	if len(ic.EndpointConfigurations) == 0 {
		names := recommend.DefaultInstanceTypes(cat, f.region, runtime.NumCPU(), 3)
		if len(names) == 0 {
			return in, fmt.Errorf("%w: no priced instance type in %s; name some with --instance-types", errUsage, f.region)
		}
		for _, n := range names {
			ic.EndpointConfigurations = append(ic.EndpointConfigurations, recommend.EndpointInputConfiguration{InstanceType: n})
		}
	}

	if set["latency-threshold"] {
		th, err := parseThreshold(f.threshold)
		if err != nil {
			return in, fmt.Errorf("%w: --latency-threshold: %v", errUsage, err)
		}
		switch sc := in.StoppingConditions; {
		case sc == nil:
			in.StoppingConditions = &recommend.StoppingConditions{ModelLatencyThresholds: []recommend.ModelLatencyThreshold{th}}
		case len(sc.ModelLatencyThresholds) == 0:
			sc.ModelLatencyThresholds = []recommend.ModelLatencyThreshold{th}
		case len(sc.ModelLatencyThresholds) != 1 || !strings.EqualFold(sc.ModelLatencyThresholds[0].Percentile, th.Percentile) ||
			sc.ModelLatencyThresholds[0].ValueInMilliseconds != th.ValueInMilliseconds:
			return in, conflict("latency-threshold", "StoppingConditions.ModelLatencyThresholds")
		}
	}

	if set["max-parallel"] {
		switch rl := ic.ResourceLimit; {
		case rl == nil:
			ic.ResourceLimit = &recommend.ResourceLimit{MaxParallelOfTests: f.maxParallel}
		case rl.MaxParallelOfTests == 0:
			rl.MaxParallelOfTests = f.maxParallel
		case rl.MaxParallelOfTests != f.maxParallel:
			return in, conflict("max-parallel", "InputConfig.ResourceLimit.MaxParallelOfTests")
		}
	}

	if cc := ic.ContainerConfig; cc != nil && cc.PayloadConfig != nil {
		pc := cc.PayloadConfig
		if pc.SamplePayloadUrl != "" {
			p, err := samplePayloadPath(pc.SamplePayloadUrl)
			if err != nil {
				return in, fmt.Errorf("%w: --cli-input-json %s: ContainerConfig.PayloadConfig.SamplePayloadUrl %v", errUsage, f.cliInput, err)
			}
			switch {
			case len(f.payloads) == 0:
				f.payloads = multiFlag{p}
			case len(f.payloads) != 1 || filepath.Clean(f.payloads[0]) != filepath.Clean(p):
				return in, conflict("payload", "ContainerConfig.PayloadConfig.SamplePayloadUrl")
			}
		}
		if len(pc.SupportedContentTypes) > 0 {
			switch ct := pc.SupportedContentTypes[0]; {
			case f.contentType == "":
				f.contentType = ct
			case f.contentType != ct:
				return in, conflict("content-type", "ContainerConfig.PayloadConfig.SupportedContentTypes")
			}
		}
	}

	// The flags' values get the checks the file's got.
	b, err := json.Marshal(in)
	if err != nil {
		return in, err
	}
	tree, err := decodeTree(b)
	if err != nil {
		return in, err
	}
	if err := validateRequest(sh, tree, "the job request"); err != nil {
		return in, err
	}
	if err := in.Validate(); err != nil {
		return in, fmt.Errorf("%w: invalid job: %v", errUsage, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if _, err := recommend.Plan(&in, cat); err != nil {
		return in, fmt.Errorf("%w: %v", errUsage, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return in, nil
}
