// Package sagemaker implements the SageMaker API operations of
// `inferscale serve` on a store.Store: models, model package groups, model
// packages (versioned and unversioned), and tags on all of them.
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
// The Inference Recommender job operations (Create/Describe/List/Stop
// InferenceRecommendationsJob, ListInferenceRecommendationsJobSteps,
// GetScalingConfigurationRecommendation) go in jobs.go as
// `func (s *Service) jobOps() []*api.Operation`, handled in Register next to
// resourceOps, with whatever they need to run jobs as further fields of
// Service (a runner started and stopped by server.Server.Serve). The store
// has what they need: a resource kind "inference-recommendations-job" whose
// Status column holds the job status (so ListByStatus finds the jobs to
// resume after a restart, and List can filter and sort by status), job
// steps (Store.PutStep/Steps, deleted with the job), Mutate for status
// transitions, and DocEquals for ModelNameEquals-style filters. The
// models and packages a job names are read with LookupModel and
// LookupModelPackage. Note that for jobs SageMaker answers ResourceNotFound
// (api.KindNotFound), not ValidationException.
package sagemaker
