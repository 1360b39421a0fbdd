package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies an error independently of any AWS service. Each Service maps
// kinds to its own error codes (Service.Codes), so handlers and the packages
// behind them never spell AWS codes.
type Kind uint8

// Error kinds.
const (
	KindInternal      Kind = iota // a bug or an unexpected failure: 500
	KindInvalid                   // the request is wrong (ValidationException)
	KindNotFound                  // the named resource does not exist
	KindInUse                     // the resource exists or is busy (create twice, delete while in use)
	KindLimitExceeded             // a quota would be exceeded
	KindConflict                  // a concurrent change got there first
	KindThrottled                 // too many requests
	KindUnavailable               // a dependency is down; retry later
	KindAccessDenied              // authenticated but not allowed
	KindUnsupported               // valid AWS request that inferscale does not implement
)

var kindNames = [...]string{"internal", "invalid", "not found", "in use", "limit exceeded", "conflict", "throttled", "unavailable", "access denied", "unsupported"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is the error handlers return to answer with an AWS error. Kind selects
// the code through the service's Codes table; Code, when set, overrides it
// (for codes that only one operation uses). Message is sent to the client;
// Err, if any, is logged but not sent.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// Status overrides the HTTP status of the code, when non-zero.
	Status int
	// Fields are extra members of the error body (e.g. ModelError's
	// OriginalStatusCode).
	Fields map[string]any
	Err    error
}

// Errorf returns an *Error of the given kind with a formatted message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// CodeErrorf returns an *Error with an explicit AWS code.
func CodeErrorf(code string, status int, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	code := e.Code
	if code == "" {
		code = e.Kind.String()
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", code, e.Message, e.Err)
	}
	return code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Code is an AWS error code with its HTTP status.
type Code struct {
	Name   string
	Status int
}

// Codes maps error kinds to a service's AWS error codes.
type Codes map[Kind]Code

// DefaultCodes are the codes used for kinds a service's Codes does not list.
// They are the common codes of AWS JSON services.
var DefaultCodes = Codes{
	KindInternal:      {"InternalFailure", http.StatusInternalServerError},
	KindInvalid:       {"ValidationException", http.StatusBadRequest},
	KindNotFound:      {"ResourceNotFoundException", http.StatusBadRequest},
	KindInUse:         {"ResourceInUseException", http.StatusBadRequest},
	KindLimitExceeded: {"LimitExceededException", http.StatusBadRequest},
	KindConflict:      {"ConflictException", http.StatusBadRequest},
	KindThrottled:     {"ThrottlingException", http.StatusBadRequest},
	KindUnavailable:   {"ServiceUnavailable", http.StatusServiceUnavailable},
	KindAccessDenied:  {"AccessDeniedException", http.StatusBadRequest},
	KindUnsupported:   {"UnknownOperationException", http.StatusBadRequest},
}

// Protocol-level codes, the same for every service.
const (
	CodeValidation        = "ValidationException"
	CodeSerialization     = "SerializationException"
	CodeUnknownOperation  = "UnknownOperationException"
	CodeInternalFailure   = "InternalFailure"
	CodeRequestTooLarge   = "RequestEntityTooLargeException"
	CodeMissingAuth       = "MissingAuthenticationTokenException"
	CodeUnrecognized      = "UnrecognizedClientException"
	CodeInvalidSignature  = "InvalidSignatureException"
	CodeIncompleteSig     = "IncompleteSignatureException"
	CodeUnsupportedFormat = "UnsupportedProtocolException"
)

// protocolStatus are the HTTP statuses of the protocol-level codes.
var protocolStatus = map[string]int{
	CodeValidation:        http.StatusBadRequest,
	CodeSerialization:     http.StatusBadRequest,
	CodeUnknownOperation:  http.StatusBadRequest,
	CodeInternalFailure:   http.StatusInternalServerError,
	CodeRequestTooLarge:   http.StatusRequestEntityTooLarge,
	CodeMissingAuth:       http.StatusForbidden,
	CodeUnrecognized:      http.StatusBadRequest,
	CodeInvalidSignature:  http.StatusBadRequest,
	CodeIncompleteSig:     http.StatusBadRequest,
	CodeUnsupportedFormat: http.StatusBadRequest,
}

// protocolError returns an *Error with a protocol-level code.
func protocolError(code, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: code, Status: protocolStatus[code], Message: fmt.Sprintf(format, args...)}
}

// wireError is an error resolved to what goes on the wire.
type wireError struct {
	Code    string
	Status  int
	Message string
	Fields  map[string]any
	cause   error // logged
}

// resolve turns any error a handler returned into its wire form, through the
// service's MapError and Codes. Errors that are not *Error become
// InternalFailure with a generic message; their text is only logged.
func (s *Service) resolve(err error) wireError {
	var e *Error
	if s != nil && s.MapError != nil {
		e = s.MapError(err)
	}
	if e == nil && !errors.As(err, &e) {
		e = &Error{Kind: KindInternal, Message: "An internal error occurred.", Err: err}
	}
	we := wireError{Code: e.Code, Status: e.Status, Message: e.Message, Fields: e.Fields, cause: err}
	if we.Code == "" {
		c, ok := Code{}, false
		if s != nil {
			c, ok = s.Codes[e.Kind]
		}
		if !ok {
			c, ok = DefaultCodes[e.Kind]
		}
		if !ok {
			c = DefaultCodes[KindInternal]
		}
		we.Code = c.Name
		if we.Status == 0 {
			we.Status = c.Status
		}
	}
	if we.Status == 0 {
		we.Status = protocolStatus[we.Code]
	}
	if we.Status == 0 && s != nil {
		we.Status = s.statusOf(we.Code)
	}
	if we.Status == 0 {
		we.Status = http.StatusBadRequest
	}
	if we.Status >= 500 && we.Message == "" {
		we.Message = "An internal error occurred."
	}
	return we
}
