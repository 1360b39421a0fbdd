// Package api is the AWS protocol layer of `inferscale serve`: one HTTP
// handler (Router) in front of every service inferscale speaks, and one
// generic adapter per operation that decodes, validates, calls a typed
// handler and encodes, the way AWS's own services do.
//
// # Dispatch
//
// A Router holds Services. Each request is told apart by
//
//   - X-Amz-Target: "SageMaker.CreateModel", "AnyScaleFrontendService.<Op>"
//     (JSON 1.1) or "GraniteServiceVersion20100801.<Op>" (JSON 1.0): the part
//     before the last dot picks the Service by its TargetPrefix, the rest the
//     operation;
//   - Smithy-Protocol: rpc-v2-cbor, path /service/<Name>/operation/<Op>: the
//     same operations, through the Router.RPCv2CBOR Transcoder hook (not
//     implemented yet; without it such requests are refused);
//   - otherwise the path, for REST-JSON routes such as SageMaker Runtime's
//     POST /endpoints/{EndpointName}/invocations.
//
// # Adding an operation
//
// Write In and Out structs whose JSON names are the model's member names,
// exactly, and whose types hold the members' types: string (or a named
// string type) for strings and enums, int32 for integer, int64 for long,
// float64 for double, bool, []T for lists, map[string]T for maps, []byte for
// blobs, Timestamp for timestamps (*Timestamp / `omitzero` when optional).
// Pointers and `omitempty` mark optional members in Out. Then register a
// handler:
//
//	svc := api.NewService(model.MustLoad("sagemaker"))
//	svc.Handle(api.Op("DescribeEndpoint", func(ctx context.Context, req *api.Request, in *DescribeEndpointInput) (*DescribeEndpointOutput, error) {
//		ep, err := store.Endpoint(ctx, req.Account, req.Region, in.EndpointName)
//		if err != nil {
//			return nil, err // mapped to an AWS code by svc.MapError / svc.Codes
//		}
//		return &DescribeEndpointOutput{EndpointName: ep.Name, CreationTime: api.Timestamp{Time: ep.Created}}, nil
//	}))
//
// Handle checks In and Out against the model when it is called and panics on
// a field that is not a member or a type that cannot hold it, so a typo fails
// the first test that builds the service. Set Service.CheckOutput in tests:
// every response is then validated against the output shape too (required
// members, enums), and a non-conforming one becomes a 500.
//
// For each call the adapter
//
//  1. reads the body (Service.MaxBodyBytes, 8 MiB by default; larger: 413
//     RequestEntityTooLargeException);
//  2. authenticates (Router.Auth): region and access key from the SigV4
//     credential scope, account from the key (ScopeAuth, the default), or full
//     signature verification (SigV4Auth);
//  3. parses the JSON (malformed: SerializationException) and validates it
//     against the operation's input shape from the botocore model, on the raw
//     JSON, before any Go decoding: a wrong JSON type is a
//     SerializationException; required members, enums, lengths, ranges and
//     patterns are a ValidationException worded as AWS words it ("2
//     validation errors detected: Value 'x' at
//     'inputConfig.endpointConfigurations.1.member.instanceType' failed to
//     satisfy constraint: ..."). Unknown members are ignored, and dropped
//     before decoding, because encoding/json would otherwise match them
//     case-insensitively;
//  4. decodes into In and calls the handler with a Request carrying region,
//     account, request ID and the arrival time (Request.Time: decision code
//     takes it rather than reading a clock);
//  5. encodes Out with encoding/json (nil Out is {}), timestamps as epoch
//     seconds, and answers 200 with Content-Type application/x-amz-json-1.x
//     and x-amzn-RequestId.
//
// # Errors
//
// Handlers return errors. An *Error (Errorf(KindNotFound, ...)), possibly
// wrapped, carries a Kind; the Service maps kinds to its own codes in one
// place, Service.Codes (SageMaker: KindNotFound -> ResourceNotFound,
// KindInUse -> ResourceInUse, KindLimitExceeded -> ResourceLimitExceeded;
// Application Auto Scaling: ObjectNotFoundException, ...), over
// DefaultCodes. Service.MapError converts errors of the packages behind the
// handlers (store.ErrNotFound, ...) into *Error first. An *Error with an
// explicit Code bypasses the table. Anything else is an InternalFailure 500
// whose text is logged, never sent. The body is {"__type": code, "message":
// text} plus Error.Fields, with the same code in X-Amzn-ErrorType.
//
// # REST-JSON
//
// Service.Route registers a RESTHandler at the method and path of the
// model's http trait. Path labels, headers, query strings and the payload
// are validated against the input shape like JSON bodies; the handler writes
// its own response (InvokeEndpoint streams a model's bytes back).
//
// # Models
//
// Package model embeds the botocore models (SageMaker, SageMaker Runtime,
// Application Auto Scaling, CloudWatch) and translates their Java regular
// expressions to RE2; the few it cannot translate are listed by
// model.Service.Patterns and not enforced. Package sigv4 parses and verifies
// SigV4 signatures.
package api
