// Package hosting is the core of SageMaker-style hosting: endpoints made of
// production variants, each a reconcile loop that keeps a desired number of
// model-server instances in service on a backend (launching, health-checking
// with GET /ping, replacing instances that crash or hang, backing off failed
// launches), and a Gateway that routes InvokeEndpoint requests by variant
// weight and then by least outstanding requests (or at random), with
// SageMaker's payload limit, model timeout and errors.
//
// Multi-model variants (VariantConfig.MultiModel) run containers that serve
// SageMaker's multi-model contract: the gateway sends each invocation's
// TargetModel to an instance that has it loaded, loading it on demand and
// unloading the least recently used models when a container has no room
// (see multimodel.go). Endpoint.Run also samples its instances
// (Options.Stats): requests in flight, CPU, memory and disk, reported once
// per 10-second period for SageMaker's per-instance metrics.
//
// The API layer maps *ValidationError, *ModelError and
// *ServiceUnavailableError to SageMaker Runtime's error codes.
package hosting
