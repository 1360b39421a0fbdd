package sagemaker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/awstime"
	"github.com/inferscale/inferscale/internal/recommend"
	"github.com/inferscale/inferscale/internal/store"
)

// Inference Recommender: the job operations. A job is one store row of
// kind "inference-recommendations-job" whose Status column is the job's
// status, with its steps in the store's job steps; the job runner
// (jobrun.go) moves it through PENDING → IN_PROGRESS → COMPLETED | FAILED,
// or STOPPING → STOPPED on request.

var kindJob = &kind{
	name: "inference-recommendations-job",
	notFound: func(arn string) error {
		return api.Errorf(api.KindNotFound, "Inference recommendations job %s does not exist.", arn)
	},
	exists: func(arn string) error {
		return api.Errorf(api.KindInUse, "Inference recommendations job %s already exists.", arn)
	},
}

// jobDoc is a stored job: the DescribeInferenceRecommendationsJob members
// (but the recommendations, which come from its steps), the members
// ListInferenceRecommendationsJobs filters on at the top level where the
// store's DocEquals finds them, and what the job runs, resolved when it was
// created.
type jobDoc struct {
	JobName            string                        `json:"JobName"`
	JobDescription     string                        `json:"JobDescription,omitempty"`
	JobType            string                        `json:"JobType"`
	JobArn             string                        `json:"JobArn"`
	RoleArn            string                        `json:"RoleArn"`
	Status             string                        `json:"Status"`
	CreationTime       awstime.Timestamp             `json:"CreationTime"`
	LastModifiedTime   awstime.Timestamp             `json:"LastModifiedTime"`
	CompletionTime     *awstime.Timestamp            `json:"CompletionTime,omitempty"`
	FailureReason      string                        `json:"FailureReason,omitempty"`
	InputConfig        recommend.InputConfig         `json:"InputConfig"`
	StoppingConditions *recommend.StoppingConditions `json:"StoppingConditions,omitempty"`
	OutputConfig       *recommend.OutputConfig       `json:"OutputConfig,omitempty"`

	ModelName              string `json:"ModelName,omitempty"`
	ModelPackageVersionArn string `json:"ModelPackageVersionArn,omitempty"`
	SamplePayloadURL       string `json:"SamplePayloadUrl,omitempty"`

	// Container is the container to benchmark.
	Container containerSpec `json:"Container"`
	// EndpointConfigurations are the instance types to benchmark: the
	// request's, or those the model supports when it names none.
	EndpointConfigurations []recommend.EndpointInputConfiguration `json:"EndpointConfigurations"`
}

// runInput is the request the runner runs.
func (d *jobDoc) runInput() recommend.JobInput {
	in := recommend.JobInput{
		JobName: d.JobName, JobType: d.JobType, RoleArn: d.RoleArn, JobDescription: d.JobDescription,
		InputConfig: d.InputConfig, StoppingConditions: d.StoppingConditions,
	}
	in.InputConfig.EndpointConfigurations = d.EndpointConfigurations
	return in
}

// terminal reports whether a job status is final.
func terminal(status string) bool {
	switch status {
	case recommend.StatusCompleted, recommend.StatusFailed, recommend.StatusStopped:
		return true
	}
	return false
}

type createJobOutput struct {
	JobArn string `json:"JobArn"`
}

// jobRef is the input of DescribeInferenceRecommendationsJob and
// StopInferenceRecommendationsJob.
type jobRef struct {
	JobName string `json:"JobName"`
}

type listJobsInput struct {
	listParams
	LastModifiedTimeAfter        *awstime.Timestamp `json:"LastModifiedTimeAfter,omitempty"`
	LastModifiedTimeBefore       *awstime.Timestamp `json:"LastModifiedTimeBefore,omitempty"`
	StatusEquals                 string             `json:"StatusEquals,omitempty"`
	ModelNameEquals              string             `json:"ModelNameEquals,omitempty"`
	ModelPackageVersionArnEquals string             `json:"ModelPackageVersionArnEquals,omitempty"`
}

// jobSummary is InferenceRecommendationsJob, an entry of
// ListInferenceRecommendationsJobs.
type jobSummary struct {
	JobName                string             `json:"JobName"`
	JobDescription         string             `json:"JobDescription"` // required, even when empty
	JobType                string             `json:"JobType"`
	JobArn                 string             `json:"JobArn"`
	Status                 string             `json:"Status"`
	CreationTime           awstime.Timestamp  `json:"CreationTime"`
	CompletionTime         *awstime.Timestamp `json:"CompletionTime,omitempty"`
	RoleArn                string             `json:"RoleArn"`
	LastModifiedTime       awstime.Timestamp  `json:"LastModifiedTime"`
	FailureReason          string             `json:"FailureReason,omitempty"`
	ModelName              string             `json:"ModelName,omitempty"`
	SamplePayloadURL       string             `json:"SamplePayloadUrl,omitempty"`
	ModelPackageVersionArn string             `json:"ModelPackageVersionArn,omitempty"`
}

type listJobsOutput struct {
	InferenceRecommendationsJobs []jobSummary `json:"InferenceRecommendationsJobs"`
	NextToken                    string       `json:"NextToken,omitempty"`
}

type listStepsInput struct {
	JobName    string `json:"JobName"`
	Status     string `json:"Status,omitempty"`
	StepType   string `json:"StepType,omitempty"`
	MaxResults int32  `json:"MaxResults,omitempty"`
	NextToken  string `json:"NextToken,omitempty"`
}

type listStepsOutput struct {
	Steps     []recommend.JobStep `json:"Steps"`
	NextToken string              `json:"NextToken,omitempty"`
}

// jobOps are the Inference Recommender operations.
func (s *Service) jobOps() []*api.Operation {
	return []*api.Operation{
		api.Op("CreateInferenceRecommendationsJob", s.createJob),
		api.Op("DescribeInferenceRecommendationsJob", s.describeJob),
		api.Op("ListInferenceRecommendationsJobs", s.listJobs),
		api.Op("StopInferenceRecommendationsJob", s.stopJob),
		api.Op("ListInferenceRecommendationsJobSteps", s.listJobSteps),
		api.Op("GetScalingConfigurationRecommendation", s.getScaling),
	}
}

// validation turns the recommend package's errors (ValidationError, joined,
// also within a join) into one ValidationException naming each field, on
// one line.
func validation(err error) error {
	var ae *api.Error
	if errors.As(err, &ae) {
		return err
	}
	return &api.Error{Kind: api.KindInvalid, Message: strings.Join(joinedMessages(err, nil), "; "), Err: err}
}

// joinedMessages appends the messages of the errors err joins (as
// errors.Join does: its message is theirs, one a line), depth first, or
// err's own message when it joins none.
func joinedMessages(err error, msgs []string) []string {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return append(msgs, err.Error())
	}
	errs := j.Unwrap()
	own := make([]string, len(errs))
	for i, e := range errs {
		own[i] = e.Error()
	}
	if strings.Join(own, "\n") != err.Error() { // a wrapper with words of its own
		return append(msgs, err.Error())
	}
	for _, e := range errs {
		msgs = joinedMessages(e, msgs)
	}
	return msgs
}

func (s *Service) createJob(ctx context.Context, req *api.Request, in *recommend.JobInput) (*createJobOutput, error) {
	sc := scopeOf(req)
	if err := in.Validate(); err != nil {
		return nil, validation(err)
	}
	ic := &in.InputConfig
	switch {
	case len(ic.Endpoints) > 0:
		return nil, api.Errorf(api.KindInvalid, "InputConfig.Endpoints: benchmarking existing endpoints needs hosting, which this server does not offer yet; "+
			"name the model to benchmark with InputConfig.ModelPackageVersionArn or InputConfig.ModelName.")
	case ic.ModelPackageVersionArn != "" && ic.ModelName != "":
		return nil, api.Errorf(api.KindInvalid, "InputConfig: give either ModelPackageVersionArn or ModelName, not both.")
	case ic.ModelPackageVersionArn == "" && ic.ModelName == "":
		return nil, api.Errorf(api.KindInvalid, "InputConfig: ModelPackageVersionArn or ModelName is required: the model to benchmark.")
	}
	for i, ec := range ic.EndpointConfigurations {
		if ec.InferenceSpecificationName != "" {
			return nil, api.Errorf(api.KindInvalid, "InputConfig.EndpointConfigurations[%d].InferenceSpecificationName: additional inference specifications are not supported yet; "+
				"benchmark the package's InferenceSpecification.", i)
		}
	}
	t := now(req)
	d := jobDoc{
		JobName: in.JobName, JobDescription: in.JobDescription, JobType: in.JobType,
		JobArn: kindJob.arn(sc, in.JobName), RoleArn: in.RoleArn,
		Status:       recommend.StatusPending,
		CreationTime: awstime.Timestamp{Time: t}, LastModifiedTime: awstime.Timestamp{Time: t},
		InputConfig: in.InputConfig, StoppingConditions: in.StoppingConditions, OutputConfig: in.OutputConfig,
		ModelName: ic.ModelName, ModelPackageVersionArn: ic.ModelPackageVersionArn,
	}
	supported, err := s.resolveContainer(ctx, sc, in, &d)
	if err != nil {
		return nil, err
	}
	d.SamplePayloadURL = d.Container.PayloadURL

	cat, err := s.Jobs.catalog()
	if err != nil {
		return nil, err
	}
	d.EndpointConfigurations = ic.EndpointConfigurations
	if len(d.EndpointConfigurations) == 0 {
		// SageMaker picks instance types for a job that names none: those
		// the model supports, else the cheapest this host can run.
		if len(supported) == 0 {
			supported = recommend.DefaultInstanceTypes(cat, req.Region, runtime.NumCPU(), 3)
		}
		if len(supported) == 0 {
			supported = recommend.DefaultInstanceTypes(cat, recommend.DefaultRegion, runtime.NumCPU(), 3)
		}
		for _, name := range supported {
			d.EndpointConfigurations = append(d.EndpointConfigurations, recommend.EndpointInputConfiguration{InstanceType: name})
		}
	}
	run := d.runInput()
	if _, err := recommend.Plan(&run, cat); err != nil {
		return nil, validation(err)
	}

	r, err := newResource(kindJob, sc, d.JobName, d.JobArn, t, &d)
	if err != nil {
		return nil, err
	}
	r.Status = d.Status
	tags := make([]store.Tag, len(in.Tags))
	for i, tg := range in.Tags {
		if err := checkTagKey(tg.Key); err != nil {
			return nil, err
		}
		tags[i] = store.Tag{Key: tg.Key, Value: tg.Value}
	}
	if err := kindJob.mapErr(s.Store.Create(ctx, r, tags...), d.JobArn); err != nil {
		return nil, err
	}
	s.wakeJobs()
	return &createJobOutput{JobArn: d.JobArn}, nil
}

// resolveContainer fills d.Container from the job's model package or model
// and its ContainerConfig, checking that it can run here, and returns the
// instance types the model says it supports.
func (s *Service) resolveContainer(ctx context.Context, sc scope, in *recommend.JobInput, d *jobDoc) ([]string, error) {
	ic := &in.InputConfig
	var (
		where        string // names the container in errors
		c            containerSpec
		contentTypes []string
		supported    []string
	)
	fromPackage := func(p *ModelPackage) error {
		where = "model package " + p.ModelPackageArn
		spec := p.InferenceSpecification
		if spec == nil || len(spec.Containers) == 0 {
			return api.Errorf(api.KindInvalid, "Model package %s has no InferenceSpecification.Containers to benchmark.", p.ModelPackageArn)
		}
		pc := spec.Containers[0]
		c = containerSpec{Image: pc.Image, ModelDataURL: pc.ModelDataURL, Environment: pc.Environment, PayloadURL: p.SamplePayloadURL}
		where = "InferenceSpecification.Containers[0] of " + where
		contentTypes, supported = spec.SupportedContentTypes, spec.SupportedRealtimeInferenceInstanceTypes
		return nil
	}
	if ic.ModelPackageVersionArn != "" {
		p, err := s.LookupModelPackage(ctx, sc.account, sc.region, ic.ModelPackageVersionArn)
		if err != nil {
			return nil, err
		}
		if err := fromPackage(p); err != nil {
			return nil, err
		}
	} else {
		m, err := s.LookupModel(ctx, sc.account, sc.region, ic.ModelName)
		if err != nil {
			return nil, err
		}
		cs := m.containers()
		if len(cs) == 0 {
			return nil, api.Errorf(api.KindInvalid, "Model %s has no container to benchmark.", m.ModelArn)
		}
		if err := m.checkSingleContainer(); err != nil {
			return nil, err
		}
		mc := cs[0]
		if mc.ModelPackageName != "" {
			p, err := s.LookupModelPackage(ctx, sc.account, sc.region, mc.ModelPackageName)
			if err != nil {
				return nil, err
			}
			if err := fromPackage(p); err != nil {
				return nil, err
			}
			for k, v := range mc.Environment { // the model's environment adds to the package's
				if c.Environment == nil {
					c.Environment = map[string]string{}
				}
				c.Environment[k] = v
			}
		} else {
			where = "the container of model " + m.ModelArn
			c = containerSpec{Image: mc.Image, ModelDataURL: mc.ModelDataURL, Environment: mc.Environment}
		}
	}

	payloadField := "SamplePayloadUrl of " + strings.TrimPrefix(where, "InferenceSpecification.Containers[0] of ")
	if cc := ic.ContainerConfig; cc != nil {
		if pc := cc.PayloadConfig; pc != nil {
			if pc.SamplePayloadUrl != "" {
				c.PayloadURL, payloadField = pc.SamplePayloadUrl, "InputConfig.ContainerConfig.PayloadConfig.SamplePayloadUrl"
			}
			if len(pc.SupportedContentTypes) > 0 {
				contentTypes = pc.SupportedContentTypes
			}
		}
		if len(cc.SupportedInstanceTypes) > 0 {
			supported = cc.SupportedInstanceTypes
		}
	}
	if len(contentTypes) > 0 {
		c.ContentType = contentTypes[0]
	}

	form, _, err := parseImage("Image of "+where, c.Image)
	if err != nil {
		return nil, err
	}
	if c.ModelDataURL != "" {
		if err := checkDataURL("ModelDataUrl of "+where, c.ModelDataURL); err != nil {
			return nil, err
		}
	}
	switch {
	case c.PayloadURL != "":
		if err := checkDataURL(payloadField, c.PayloadURL); err != nil {
			return nil, err
		}
	case form != imageSample:
		return nil, api.Errorf(api.KindInvalid, "No sample payloads to benchmark with: set InputConfig.ContainerConfig.PayloadConfig.SamplePayloadUrl "+
			"or the model package's SamplePayloadUrl (a tar.gz archive of request bodies, or a directory of them).")
	}
	d.Container = c
	return supported, nil
}

func (s *Service) getJob(ctx context.Context, sc scope, name string) (*jobDoc, error) {
	d, _, err := get[jobDoc](ctx, s.Store, kindJob, sc, name)
	return d, err
}

// mutateJob changes a stored job in one transaction; the store's status
// and modification time follow the document's.
func (s *Service) mutateJob(ctx context.Context, key store.Key, change func(d *jobDoc) error) (*jobDoc, error) {
	var out *jobDoc
	_, err := s.Store.Mutate(ctx, key, func(r *store.Resource) error {
		d, err := decode[jobDoc](*r)
		if err != nil {
			return err
		}
		if err := change(d); err != nil {
			return err
		}
		if r.Doc, err = json.Marshal(d); err != nil {
			return fmt.Errorf("encode %s: %w", r.Key, err)
		}
		r.Status, r.Updated = d.Status, d.LastModifiedTime.Time
		out = d
		return nil
	})
	if err != nil {
		return nil, kindJob.mapErr(err, kindJob.arn(scope{key.Account, key.Region}, key.Name))
	}
	return out, nil
}

// jobSteps returns a job's stored steps, by index.
func (s *Service) jobSteps(ctx context.Context, jobArn string) ([]recommend.StepResult, error) {
	rows, err := s.Store.Steps(ctx, jobArn)
	if err != nil {
		return nil, err
	}
	out := make([]recommend.StepResult, 0, len(rows))
	for _, r := range rows {
		var st recommend.StepResult
		if err := json.Unmarshal(r.Doc, &st); err != nil {
			return nil, fmt.Errorf("decode step %d of %s: %w", r.Index, jobArn, err)
		}
		st.Index, st.Status = r.Index, r.Status
		out = append(out, st)
	}
	return out, nil
}

// putStep stores a step, also while the job is being stopped.
func (s *Service) putStep(ctx context.Context, jobArn string, st recommend.StepResult) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode step %d of %s: %w", st.Index, jobArn, err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return s.Store.PutStep(ctx, jobArn, store.Step{Index: st.Index, Status: st.Status, Doc: b, Updated: st.End})
}

func (s *Service) describeJob(ctx context.Context, req *api.Request, in *jobRef) (*recommend.JobDescription, error) {
	// The stored jobDoc has the description's members under the same
	// names, so it decodes straight into the output; what only the job
	// runs (its container, endpoint configurations) is skipped by the
	// decoder instead of being built and copied.
	out, _, err := get[recommend.JobDescription](ctx, s.Store, kindJob, scopeOf(req), in.JobName)
	if err != nil {
		return nil, err
	}
	out.InferenceRecommendations, out.EndpointPerformances = nil, nil // come from the steps only
	if out.Status == recommend.StatusCompleted {
		steps, err := s.jobSteps(ctx, out.JobArn)
		if err != nil {
			return nil, err
		}
		out.InferenceRecommendations = recommend.Recommendations(out.JobName, steps, recommend.Goals{})
	}
	return out, nil
}

func (s *Service) listJobs(ctx context.Context, req *api.Request, in *listJobsInput) (*listJobsOutput, error) {
	q, err := in.query(kindJob, scopeOf(req), listOrder{sortBy: "CreationTime", descending: true})
	if err != nil {
		return nil, err
	}
	modifiedBetween(&q, in.LastModifiedTimeAfter, in.LastModifiedTimeBefore)
	q.Status = in.StatusEquals
	q.DocEquals = map[string]string{}
	if in.ModelNameEquals != "" {
		q.DocEquals["ModelName"] = in.ModelNameEquals
	}
	if in.ModelPackageVersionArnEquals != "" {
		q.DocEquals["ModelPackageVersionArn"] = in.ModelPackageVersionArnEquals
	}
	out := &listJobsOutput{}
	out.InferenceRecommendationsJobs, out.NextToken, err = list(ctx, s.Store, q, func(d *jobDoc) jobSummary {
		return jobSummary{
			JobName: d.JobName, JobDescription: d.JobDescription, JobType: d.JobType, JobArn: d.JobArn, Status: d.Status,
			CreationTime: d.CreationTime, CompletionTime: d.CompletionTime, RoleArn: d.RoleArn, LastModifiedTime: d.LastModifiedTime,
			FailureReason: d.FailureReason, ModelName: d.ModelName, SamplePayloadURL: d.SamplePayloadURL,
			ModelPackageVersionArn: d.ModelPackageVersionArn,
		}
	})
	return out, err
}

// stopJob stops a job: a queued one at once (STOPPED), a running one by
// cancelling it (STOPPING until its instances are stopped, then STOPPED).
func (s *Service) stopJob(ctx context.Context, req *api.Request, in *jobRef) (*struct{}, error) {
	sc := scopeOf(req)
	key := kindJob.key(sc, in.JobName)
	m := s.jobManager()
	m.mu.Lock()
	defer m.mu.Unlock()
	cancel, active := m.active[key]
	t := now(req)
	_, err := s.mutateJob(ctx, key, func(d *jobDoc) error {
		switch d.Status {
		case recommend.StatusPending:
			d.Status, d.CompletionTime = recommend.StatusStopped, awstime.At(t)
		case recommend.StatusInProgress, recommend.StatusStopping:
			if active {
				d.Status = recommend.StatusStopping
			} else { // nothing runs it here: nothing to wait for
				d.Status, d.CompletionTime = recommend.StatusStopped, awstime.At(t)
			}
		default:
			return api.Errorf(api.KindInvalid, "Inference recommendations job %s is already %s and cannot be stopped.", d.JobArn, d.Status)
		}
		d.LastModifiedTime = awstime.Timestamp{Time: t}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if active {
		cancel(errStopRequested)
	}
	return nil, nil
}

func (s *Service) listJobSteps(ctx context.Context, req *api.Request, in *listStepsInput) (*listStepsOutput, error) {
	d, err := s.getJob(ctx, scopeOf(req), in.JobName)
	if err != nil {
		return nil, err
	}
	steps, err := s.jobSteps(ctx, d.JobArn)
	if err != nil {
		return nil, err
	}
	var kept []recommend.StepResult
	for _, st := range steps {
		if in.Status == "" || st.Status == in.Status {
			kept = append(kept, st)
		}
	}
	// The token is the index of the first step of the next page.
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 {
			return nil, api.Errorf(api.KindInvalid, "The NextToken is not valid.")
		}
		for start < len(kept) && kept[start].Index < n {
			start++
		}
	}
	limit := int(in.MaxResults)
	if limit == 0 {
		limit = defaultMaxResults
	}
	out := &listStepsOutput{}
	page := kept[start:]
	if len(page) > limit {
		out.NextToken = strconv.Itoa(page[limit].Index)
		page = page[:limit]
	}
	out.Steps = recommend.JobSteps(d.JobName, page)
	if in.StepType != "" && in.StepType != "BENCHMARK" { // the only step type
		out.Steps, out.NextToken = []recommend.JobStep{}, ""
	}
	return out, nil
}

func (s *Service) getScaling(ctx context.Context, req *api.Request, in *recommend.ScalingRequest) (*recommend.ScalingRecommendation, error) {
	switch {
	case in.RecommendationId != "" && in.EndpointName != "":
		return nil, api.Errorf(api.KindInvalid, "Give either RecommendationId or EndpointName, not both.")
	case in.RecommendationId == "" && in.EndpointName == "":
		return nil, api.Errorf(api.KindInvalid, "RecommendationId or EndpointName is required: the recommendation to scale.")
	}
	d, err := s.getJob(ctx, scopeOf(req), in.InferenceRecommendationsJobName)
	if err != nil {
		return nil, err
	}
	if d.Status != recommend.StatusCompleted {
		return nil, api.Errorf(api.KindInvalid, "Inference recommendations job %s is %s; scaling configurations are recommended for COMPLETED jobs only.", d.JobArn, d.Status)
	}
	steps, err := s.jobSteps(ctx, d.JobArn)
	if err != nil {
		return nil, err
	}
	for _, st := range steps {
		if st.Status != recommend.StatusCompleted || st.Metrics == nil {
			continue
		}
		if in.RecommendationId != "" && recommend.RecommendationID(d.JobName, st) != in.RecommendationId ||
			in.EndpointName != "" && recommend.EndpointName(d.JobName, st.Index) != in.EndpointName {
			continue
		}
		cat, err := s.Jobs.catalog()
		if err != nil {
			return nil, err
		}
		t, err := cat.Lookup(st.InstanceType)
		if err != nil {
			return nil, fmt.Errorf("scaling for %s: %w", st.InstanceType, err)
		}
		out, err := recommend.Scaling(st.Curve(t.VCPUs), *in)
		if err != nil {
			return nil, validation(err)
		}
		return &out, nil
	}
	if in.RecommendationId != "" {
		return nil, api.Errorf(api.KindNotFound, "Inference recommendations job %s has no recommendation %s.", d.JobArn, in.RecommendationId)
	}
	return nil, api.Errorf(api.KindNotFound, "Inference recommendations job %s has no recommendation for endpoint %s.", d.JobArn, in.EndpointName)
}

// modifiedBetween narrows a list query to LastModifiedTimeAfter/Before.
func modifiedBetween(q *store.Query, after, before *awstime.Timestamp) {
	if after != nil {
		q.UpdatedAfter = after.Time
	}
	if before != nil {
		q.UpdatedBefore = before.Time
	}
}
