package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/inferscale/inferscale/internal/api/model"
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
	// awsQuery only: the form itself is wrong.
	CodeMalformedQuery   = "MalformedQueryString"
	CodeMissingAction    = "MissingAction"
	CodeMissingParameter = "MissingParameter"
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
	CodeMalformedQuery:    http.StatusBadRequest,
	CodeMissingAction:     http.StatusBadRequest,
	CodeMissingParameter:  http.StatusBadRequest,
}

// queryCodes are the awsQuery spellings of the protocol-level codes that the
// JSON protocols spell differently (AWS's "common errors" of query
// services). They are sent in <Code> of awsQuery errors and in the
// X-Amzn-Query-Error header of query-compatible JSON and CBOR errors.
var queryCodes = map[string]string{
	CodeValidation:       "ValidationError",
	CodeSerialization:    "ValidationError",
	CodeUnknownOperation: "InvalidAction",
	CodeMissingAuth:      "MissingAuthenticationToken",
	CodeUnrecognized:     "InvalidClientTokenId",
	CodeInvalidSignature: "SignatureDoesNotMatch",
	CodeIncompleteSig:    "IncompleteSignature",
	CodeRequestTooLarge:  "RequestEntityTooLarge",
}

// queryStatus are the HTTP statuses that query services (CloudWatch) give
// protocol-level codes where JSON services give others: AWS's common errors
// answer InvalidClientTokenId and SignatureDoesNotMatch with 403.
var queryStatus = map[string]int{
	CodeUnrecognized:     http.StatusForbidden,
	CodeInvalidSignature: http.StatusForbidden,
}

// protocolError returns an *Error with a protocol-level code.
func protocolError(code, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: code, Status: protocolStatus[code], Message: fmt.Sprintf(format, args...)}
}

// errorShape returns the exception shape of the model that code names, by
// shape name ("InvalidParameterValueException") or by the code of its error
// trait ("InvalidParameterValue", what awsQuery sends). The errors op
// declares come first, so that where two shapes share a code
// (CloudWatch's ResourceNotFound and DashboardNotFoundError) the
// operation's own wins; nil when the model has none.
func (s *Service) errorShape(code string, op *model.Operation) *model.Shape {
	if s == nil || code == "" {
		return nil
	}
	byName := func(sh *model.Shape) bool { return sh.Exception && sh.Name == code }
	byTrait := func(sh *model.Shape) bool { return sh.Exception && sh.Error != nil && sh.Error.Code == code }
	if op != nil {
		for _, match := range []func(*model.Shape) bool{byName, byTrait} {
			for _, sh := range op.Errors {
				if match(sh) {
					return sh
				}
			}
		}
	}
	if sh := s.Model.Shapes[code]; sh != nil && sh.Exception {
		return sh
	}
	var found *model.Shape
	for _, sh := range s.Model.Shapes {
		if byTrait(sh) && (found == nil || sh.Name < found.Name) {
			found = sh
		}
	}
	return found
}

// wireCodes are the spellings of one error on each protocol.
type wireCodes struct {
	// JSON is __type of JSON and CBOR bodies and X-Amzn-ErrorType.
	JSON string
	// Query is <Code> of awsQuery errors and the code in X-Amzn-Query-Error.
	Query string
	// Fault is "Sender" or "Receiver".
	Fault string
}

// codesFor spells a resolved error for the wire. Services that are not
// query-compatible send the code as it is. Query-compatible ones (CloudWatch)
// name a modeled error by its shape in __type, which is what the Go SDK
// looks its error types up by, and by its error trait's code in awsQuery and
// in X-Amzn-Query-Error, which is what botocore's exception classes and
// awsQuery clients match.
func (s *Service) codesFor(we wireError, op *model.Operation) wireCodes {
	c := wireCodes{JSON: we.Code, Query: we.Code, Fault: "Sender"}
	if we.Status >= 500 {
		c.Fault = "Receiver"
	}
	if q, ok := queryCodes[we.Code]; ok {
		c.Query = q
	}
	if s == nil || !s.AWSQuery {
		return c
	}
	if sh := s.errorShape(we.Code, op); sh != nil {
		c.JSON = sh.Name
		if sh.Error != nil && sh.Error.Code != "" {
			c.Query = sh.Error.Code
		} else {
			c.Query = sh.Name
		}
		if sh.Fault {
			c.Fault = "Receiver"
		}
	}
	return c
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
	if st, ok := queryStatus[we.Code]; ok && s != nil && s.AWSQuery {
		we.Status = st
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
