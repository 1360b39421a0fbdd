// Package hosting is the core of SageMaker-style hosting: endpoints made of
// production variants, each a reconcile loop that keeps a desired number of
// model-server instances in service on a backend (launching, health-checking
// with GET /ping, replacing instances that crash or hang, backing off failed
// launches), and a Gateway that routes InvokeEndpoint requests by variant
// weight and then by least outstanding requests (or at random), with
// SageMaker's payload limit, model timeout and errors.
//
// The API layer maps *ValidationError, *ModelError and
// *ServiceUnavailableError to SageMaker Runtime's error codes.
package hosting
