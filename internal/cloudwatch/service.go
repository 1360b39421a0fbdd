package cloudwatch

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/api/model"
	"github.com/inferscale/inferscale/internal/metrics"
	"github.com/inferscale/inferscale/internal/store"
)

// Service implements the CloudWatch operations of inferscale: metrics on a
// metrics.Store and alarms on a store.Store. The zero value is not usable:
// set Store and Metrics.
type Service struct {
	// Store keeps alarms, their tags and their history.
	Store *store.Store
	// Metrics holds the time series: those PutMetricData writes and those
	// inferscale records itself (AWS/SageMaker).
	Metrics *metrics.Store
	// Logger receives what handlers and the alarm loop log; nil discards.
	Logger *slog.Logger
	// Actions run alarm actions (see ActionHandler); set them before
	// RunAlarms, or add them with AddActionHandler.
	Actions []ActionHandler
	// Now is the clock of API handlers and of the Go API (PutAlarm, ...);
	// nil means the request's arrival time (api.Request.Time), or time.Now
	// outside requests. The alarm loop uses the Clock it is given.
	Now func() time.Time
	// EvaluationDelay is how long after a period ends the alarm loop
	// evaluates it, so that samples stamped just before the boundary have
	// arrived; 0 means DefaultEvaluationDelay.
	EvaluationDelay time.Duration

	mu sync.Mutex // guards actions added after construction and lastRun
	// lastRun is, by alarm ARN, the end of the newest period for which the
	// alarm's actions ran, so that they run once per period while a state
	// lasts.
	lastRun map[string]time.Time
	evalMu  sync.Mutex // serializes evaluation passes
}

// AddActionHandler adds a handler of alarm actions; safe while RunAlarms
// runs.
func (s *Service) AddActionHandler(h ActionHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Actions = append(s.Actions, h)
}

func (s *Service) handlers() []ActionHandler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ActionHandler(nil), s.Actions...)
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// now is the time of a request, or of a Go API call when req is nil.
func (s *Service) now(req *api.Request) time.Time {
	switch {
	case s.Now != nil:
		return s.Now().UTC()
	case req != nil && !req.Time.IsZero():
		return req.Time.UTC()
	}
	return time.Now().UTC()
}

// Error shape names of the CloudWatch model. With the JSON protocols the
// shape name is the error's __type (the SDKs map it to their typed errors);
// the model's error code (InvalidParameterValue, ...) is what the query
// protocol sends, derived from the shape by the api package.
const (
	codeInvalidValue       = "InvalidParameterValueException"
	codeMissingParameter   = "MissingRequiredParameterException"
	codeInvalidCombination = "InvalidParameterCombinationException"
	codeResourceNotFound   = "ResourceNotFound"
	codeTagsNotFound       = "ResourceNotFoundException"
	codeInvalidNextToken   = "InvalidNextToken"
	codeInvalidFormat      = "InvalidFormatFault"
	codeLimitExceeded      = "LimitExceededFault"
)

// Codes are CloudWatch's error codes for the error kinds. A request that
// breaks the model's constraints is a ValidationError, as CloudWatch
// answers ("1 validation error detected: ..."); handlers name the other
// codes explicitly (invalidValue, missingParam, ...).
var Codes = api.Codes{
	api.KindInvalid:       {Name: "ValidationError", Status: http.StatusBadRequest},
	api.KindNotFound:      {Name: codeResourceNotFound, Status: http.StatusNotFound},
	api.KindLimitExceeded: {Name: codeLimitExceeded, Status: http.StatusBadRequest},
	api.KindInternal:      {Name: "InternalServiceFault", Status: http.StatusInternalServerError},
}

func codeError(code, format string, args ...any) *api.Error {
	return &api.Error{Kind: api.KindInvalid, Code: code, Message: fmt.Sprintf(format, args...)}
}

// invalidValue is InvalidParameterValue: a parameter's value is wrong.
func invalidValue(format string, args ...any) *api.Error {
	return codeError(codeInvalidValue, format, args...)
}

// missingParam is MissingParameter: a required parameter is absent.
func missingParam(format string, args ...any) *api.Error {
	return codeError(codeMissingParameter, format, args...)
}

// invalidCombination is InvalidParameterCombination: parameters that do not
// go together.
func invalidCombination(format string, args ...any) *api.Error {
	return codeError(codeInvalidCombination, format, args...)
}

// validation is a ValidationError with CloudWatch's wording for semantic
// checks of alarms and metric math.
func validation(format string, args ...any) *api.Error {
	return api.Errorf(api.KindInvalid, format, args...)
}

func isAPIError(err error) bool {
	var ae *api.Error
	return errors.As(err, &ae)
}

func isInf(v float64) bool { return math.IsInf(v, 0) }

// NewAPI returns the CloudWatch api.Service with s's operations registered.
func (s *Service) NewAPI() *api.Service {
	svc := api.NewService(model.MustLoad("cloudwatch"))
	s.Register(svc)
	return svc
}

// Register sets the service's error mapping and registers the operations
// this package implements.
func (s *Service) Register(svc *api.Service) {
	svc.Codes = Codes
	svc.MapError = mapError
	svc.Handle(s.metricOps()...)
	svc.Handle(s.alarmOps()...)
	svc.Handle(s.tagOps()...)
}

// mapError turns errors that handlers did not map into API errors.
func mapError(err error) *api.Error {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case errors.Is(err, store.ErrInvalidToken), errors.Is(err, errBadToken):
		return &api.Error{Kind: api.KindInvalid, Code: codeInvalidNextToken, Message: "The NextToken is not valid.", Err: err}
	case errors.Is(err, metrics.ErrTooManySeries):
		return &api.Error{Kind: api.KindLimitExceeded, Message: "The number of metrics inferscale holds is at its limit.", Err: err}
	case errors.Is(err, metrics.ErrInvalidParameter):
		return &api.Error{Kind: api.KindInvalid, Code: codeInvalidValue, Message: "Invalid parameter: " + err.Error(), Err: err}
	case errors.Is(err, store.ErrConflict):
		return &api.Error{Kind: api.KindConflict, Message: "The alarm was changed by another request; retry.", Err: err}
	}
	return nil
}

// errBadToken marks a NextToken this package cannot decode.
var errBadToken = errors.New("invalid next token")
