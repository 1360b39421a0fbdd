package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/inferscale/inferscale/internal/api/sigv4"
)

// DefaultRegion is the region of requests without a credential scope.
const DefaultRegion = "us-east-1"

// DefaultAccount is the account of access keys nobody assigned one.
const DefaultAccount = "123456789012"

// Identity is who sent a request and where it is addressed.
type Identity struct {
	AccessKey string // "" for unsigned requests
	Region    string
	Account   string
	// Service is the credential scope's service, which a verified
	// signature must name as the service's signing name.
	Service  string
	Verified bool // the signature was verified
}

// Authenticator establishes the identity of a request. body is the complete
// request body (signatures cover it); now is the router's clock. Errors that
// are *Error (or *sigv4.Error) are sent to the client as they are.
type Authenticator interface {
	Authenticate(r *http.Request, body []byte, now time.Time) (Identity, error)
}

// ScopeAuth reads the access key and region from the SigV4 credential scope
// without verifying the signature: any signature, or none, is accepted. It is
// the Router's default.
type ScopeAuth struct {
	// Account maps an access key to its account; nil, or "" from it, means
	// DefaultAccount.
	Account func(accessKey string) string
}

// Authenticate implements Authenticator.
func (a ScopeAuth) Authenticate(r *http.Request, _ []byte, _ time.Time) (Identity, error) {
	id := Identity{Region: DefaultRegion, Account: DefaultAccount}
	var auth sigv4.Authorization
	var err error
	if h := Header(r.Header, "Authorization"); h != "" {
		auth, err = sigv4.ParseAuthorization(h)
	} else if cred := r.URL.Query().Get("X-Amz-Credential"); cred != "" {
		auth, err = sigv4.ParseCredential(cred) // a presigned URL names its scope in the query
	} else {
		return id, nil
	}
	if err != nil {
		return id, err
	}
	id.AccessKey = auth.AccessKey
	if auth.Region != "" {
		id.Region = auth.Region
	}
	if a.Account != nil {
		if acct := a.Account(auth.AccessKey); acct != "" {
			id.Account = acct
		}
	}
	return id, nil
}

// Credential is a secret key and the account it belongs to.
type Credential struct {
	SecretKey string
	Account   string // "" means DefaultAccount
}

// SigV4Auth verifies SigV4 signatures against known credentials: unsigned
// requests get MissingAuthenticationTokenException, unknown access keys
// UnrecognizedClientException, wrong or stale signatures
// InvalidSignatureException.
type SigV4Auth struct {
	// Lookup returns the credential of an access key.
	Lookup func(accessKey string) (Credential, bool)
	// MaxSkew bounds the signing time's distance from now; 5 minutes when 0.
	MaxSkew time.Duration
}

// StaticCredentials returns a lookup over a fixed map of access keys.
func StaticCredentials(m map[string]Credential) func(string) (Credential, bool) {
	return func(k string) (Credential, bool) {
		c, ok := m[k]
		return c, ok
	}
}

// Authenticate implements Authenticator.
func (a SigV4Auth) Authenticate(r *http.Request, body []byte, now time.Time) (Identity, error) {
	h := Header(r.Header, "Authorization")
	if h == "" {
		if r.URL.RawQuery != "" && r.URL.Query().Get("X-Amz-Signature") != "" {
			return Identity{}, &sigv4.Error{Code: sigv4.CodeMissing,
				Message: "Presigned URLs (query-string authentication) are not supported by this server: sign the Authorization header."}
		}
		return Identity{}, &sigv4.Error{Code: sigv4.CodeMissing, Message: "Missing Authentication Token"}
	}
	auth, err := sigv4.ParseAuthorization(h)
	if err != nil {
		return Identity{}, err
	}
	var cred Credential
	ok := false
	if a.Lookup != nil {
		cred, ok = a.Lookup(auth.AccessKey)
	}
	// This server issues no temporary credentials: a session token is
	// never one of its own.
	if !ok || Header(r.Header, "X-Amz-Security-Token") != "" {
		return Identity{}, &sigv4.Error{Code: sigv4.CodeUnrecognized, Message: "The security token included in the request is invalid."}
	}
	if err := sigv4.Verify(r, body, auth, cred.SecretKey, now, a.MaxSkew); err != nil {
		return Identity{}, err
	}
	id := Identity{AccessKey: auth.AccessKey, Region: auth.Region, Account: cred.Account, Service: auth.Service, Verified: true}
	if id.Region == "" {
		id.Region = DefaultRegion
	}
	if id.Account == "" {
		id.Account = DefaultAccount
	}
	return id, nil
}

// authError turns an authentication failure into an *Error.
func authError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var se *sigv4.Error
	if errors.As(err, &se) {
		return protocolError(se.Code, "%s", se.Message)
	}
	return &Error{Kind: KindInternal, Message: "An internal error occurred.", Err: err}
}
