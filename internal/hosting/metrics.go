package hosting

// StatusClass classifies the outcome of an invocation the way CloudWatch's
// SageMaker metrics count them.
type StatusClass uint8

// Status classes.
const (
	// Status2XX: the model answered with a 2xx status.
	Status2XX StatusClass = iota
	// Status4XX: the request was rejected before reaching a model
	// (Invocation4XXErrors).
	Status4XX
	// Status5XX: the service could not serve it (Invocation5XXErrors).
	Status5XX
	// StatusModelError: the model answered with an error status, timed out
	// or failed (InvocationModelErrors; also Invocation4XXErrors or
	// Invocation5XXErrors when it answered 4xx or 5xx: see
	// Invocation.ModelStatus).
	StatusModelError
	// StatusCanceled: the caller gave up (the client closed its
	// connection) before the answer: counted in none of the error
	// metrics, as AWS does not count it as its failure.
	StatusCanceled
)

// String returns the class name as a metric suffix.
func (c StatusClass) String() string {
	switch c {
	case Status2XX:
		return "2XX"
	case Status4XX:
		return "4XX"
	case Status5XX:
		return "5XX"
	case StatusModelError:
		return "ModelError"
	case StatusCanceled:
		return "Canceled"
	}
	return "unknown"
}

// Invocation is what the gateway reports about one request.
type Invocation struct {
	Endpoint string
	Owner    string // the endpoint's Options.Owner
	// Variant and Instance are empty when no instance was chosen.
	Variant  string
	Instance string
	// ModelLatencyMicros is the time the model took: from sending the
	// request to the container to reading its whole response.
	ModelLatencyMicros int64
	// OverheadLatencyMicros is the rest of the time spent in Invoke, less
	// ModelLoadingWaitMicros.
	OverheadLatencyMicros int64
	Class                 StatusClass
	// ModelStatus is the container's status code when Class is
	// StatusModelError and the container answered (0 when it timed out or
	// failed without a response): AWS counts a container's 4xx and 5xx
	// answers in Invocation4XXErrors and Invocation5XXErrors too.
	ModelStatus int
	// InstancesInService is how many instances the variant had in service
	// when one was chosen (0 when none was): InvocationsPerInstance counts
	// 1/InstancesInService per invocation.
	InstancesInService int

	// TargetModel is the model a multi-model invocation named; empty for
	// a single-model one.
	TargetModel string
	// ModelCacheHit reports, for a multi-model invocation that reached an
	// instance, whether its model was loaded there already.
	ModelCacheHit bool
	// ModelLoadingWaitMicros is how long a multi-model invocation waited
	// for its model to be downloaded and loaded; 0 on a cache hit.
	ModelLoadingWaitMicros int64
}

// Recorder receives one Invocation per request from the gateway. It is
// called on the request path, concurrently, so it must be quick and safe
// for concurrent use.
type Recorder interface {
	RecordInvocation(Invocation)
}
