// Package sagemaker implements the SageMaker API operations of
// `inferscale serve` on a store.Store: models, model package groups, model
// packages (versioned and unversioned), tags on all of them, Inference
// Recommender jobs, which it runs (see Jobs below), and endpoints, which it
// hosts (see Endpoints below).
//
// A Service registers its operations on the api.Service built from the
// SageMaker botocore model (NewAPI, or Register on one you built), which
// decodes and validates requests before the handlers here run. Register
// also installs SageMaker's error codes (Codes) and the mapping of store
// errors (mapError), the one place where this service's errors become AWS
// codes.
//
// # Resources
//
// Every resource is one store row: its kind, its key name, its ARN, and its
// Describe output as the JSON document (Model, ModelPackageGroup,
// ModelPackage). Describe returns the document; List pages through the
// documents with the store's keyset pagination and turns each into a
// summary. Shapes that inferscale reads are typed (containers, images,
// environment, instance and content types, statuses); deep configuration it
// only keeps is Opaque.
//
// SageMaker's own conventions, followed here:
//   - model names are case-insensitive and lowercased in ARNs
//     (…:model/resnet-50 for "ResNet-50"); model package and group names
//     keep their case (…:model-package/Bert/3);
//   - a missing or duplicate model, group or package is a
//     ValidationException ("Could not find model \"ARN\".", "Cannot create
//     already existing model \"ARN\"."), as is a tag operation on an ARN
//     that names nothing ("Resource does not exist");
//   - deleting a group that still has versions is a ConflictException;
//   - versions of a group are numbered 1, 2, … and numbers are never
//     reused; ListModelPackages lists unversioned packages unless a group or
//     a ModelPackageType says otherwise.
//
// # Adding a resource kind
//
//  1. Declare a *kind in kinds.go: its store kind (also the ARN's resource
//     type), whether names are lowercased in ARNs, and its not-found and
//     already-exists errors as SageMaker words them.
//  2. Write the document type (the Describe output, with the model's exact
//     member names) and the In/Out structs of the operations; embed a shared
//     spec struct (like ModelSpec) where Create's input and Describe's
//     output share members, and listParams in List inputs.
//  3. Write the handlers with the generic helpers: create, get, mutate,
//     remove (with child kinds that block deletion) and list with
//     listParams.query; each handler is a few lines.
//  4. Add the operations to resourceOps (service.go) and to TestOperations,
//     and test them through the SDK (env_test.go starts the same handler as
//     `inferscale serve`).
//
// # Jobs
//
// The Inference Recommender operations (Create/Describe/List/Stop
// InferenceRecommendationsJob, ListInferenceRecommendationsJobSteps,
// GetScalingConfigurationRecommendation) are in jobs.go. A job is a store
// resource of kind "inference-recommendations-job" whose Status column is
// the job's status (ListByStatus finds the jobs to resume; List filters and
// sorts by it), with its benchmarks as the store's job steps. Note that for
// jobs SageMaker answers ResourceNotFound (api.KindNotFound), not
// ValidationException.
//
// CreateInferenceRecommendationsJob resolves and checks, synchronously,
// what the job will run (container.go): the container of the model package
// or model, how its Image runs on this host (an executable, a running
// server's URL, or SampleModelImage), its ModelDataUrl and the sample
// payloads (file:// or http(s)://; s3:// is refused), and the instance
// types. The job is stored PENDING.
//
// RunJobs (jobrun.go), started by server.Server.Serve, runs the queue:
// JobOptions.MaxConcurrentJobs at a time on one shared backend. Each job
// fetches its model data and payloads into a directory of its own, runs on
// a recommend.Runner, stores each step as it starts and finishes, and ends
// COMPLETED or FAILED (or STOPPED, when StopInferenceRecommendationsJob
// cancelled it). When RunJobs ends, running jobs are cancelled and stay
// IN_PROGRESS; the next RunJobs, after a restart or a crash, resumes them
// with their finished steps kept, and ends jobs left STOPPING as STOPPED.
//
// # Endpoints
//
// Endpoint configurations (endpointconfigs.go) are plain resources.
// CreateEndpoint (endpoints.go) resolves the configuration and its models
// into a plan per variant (the container, as for jobs, the instance type,
// count, weight and routing) stored with the endpoint, so that later
// changes to the configuration or models do not change it. RunEndpoints,
// started by server.Server.Serve next to RunJobs, builds a
// hosting.Endpoint from each plan (one backend.Spec per variant, with the
// catalog's vCPUs and memory) and runs it; a watcher stores the status as
// it changes. DescribeEndpoint reads the live status; an endpoint that is
// not running (yet) is Creating unless it Failed. After a restart,
// RunEndpoints relaunches every endpoint that is not Failed.
// UpdateEndpointWeightsAndCapacities changes the live endpoint and the
// stored plan. DeleteEndpoint stops the instances before removing the
// endpoint.
//
// InvokeEndpoint (invoke.go) is SageMaker Runtime's, on its own api.Service
// (NewRuntimeAPI) served by the same router: hosting.Gateway routes it, and
// hosting's errors become ValidationError, ModelError (424) and
// ServiceUnavailable (503). With HostingOptions.Metrics, every invocation
// is recorded as CloudWatch's AWS/SageMaker metrics.
package sagemaker
