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
//   - Smithy-Protocol: rpc-v2-cbor, POST /service/<Name>/operation/<Op>:
//     Name is matched against TargetPrefix too;
//   - a form-encoded POST to "/" (or an Action in the URL): awsQuery, the
//     service picked by Version (the model's apiVersion) among those with
//     Service.AWSQuery, then the operation by Action;
//   - otherwise the path, for REST-JSON routes such as SageMaker Runtime's
//     POST /endpoints/{EndpointName}/invocations.
//
// # Protocols
//
// Operations are written once, against JSON. rpc-v2-cbor and awsQuery are
// translated to that JSON on the way in and back on the way out, guided by
// the operation's input and output shapes, so validation, handlers and
// errors are shared:
//
//   - rpc-v2-cbor (cbor.go): CBOR maps, arrays, indefinite-length items;
//     timestamps as tag 1 around epoch seconds (integer or float) become
//     JSON epoch seconds and are answered as tag 1 around a float64; blobs
//     are byte strings; doubles go back as float64. Responses carry
//     Smithy-Protocol: rpc-v2-cbor and Content-Type application/cbor; errors
//     are a CBOR map {"__type", "message"}.
//   - awsQuery (query.go): Member.member.N lists (flattened Member.N too),
//     Map.entry.N.key/value maps, A.B structures, ISO 8601 timestamps;
//     answered as <OpResponse xmlns=...><OpResult>...</OpResult>
//     <ResponseMetadata><RequestId/></ResponseMetadata></OpResponse>, errors
//     as <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>.
//
// Request bodies with Content-Encoding: gzip are decompressed (after the
// signature is checked over the compressed bytes): both SDKs gzip
// CloudWatch's PutMetricData, the one operation with the requestCompression
// trait, botocore from 10 KiB on.
//
// What CloudWatch clients send by default (CloudWatch's model lists
// protocols ["smithy-rpc-v2-cbor", "json", "query"]; TestCloudWatchGoSDK and
// TestCloudWatchBoto3 record the wire):
//
//   - botocore 1.43.11 (boto3, aws CLI v1 1.45.11): awsJson 1.0.
//     ServiceModel.resolved_protocol walks botocore's own preference order,
//     utils.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = (json, rest-json,
//     rest-xml, smithy-rpc-v2-cbor, query, ec2), and takes the first one the
//     model lists; it is not the first of the model's list. Its rpc-v2-cbor
//     serializer puts metadata.targetPrefix in the path and whole-second
//     integer timestamps in tag 1.
//   - aws-sdk-go-v2 service/cloudwatch v1.75.7: rpc-v2-cbor. api_client.go
//     sets options.Protocol = rpcv2.NewCBOR(schemas.GraniteServiceVersion20100801),
//     which posts to /service/GraniteServiceVersion20100801/operation/<Op>
//     (the smithy service shape's name, equal to the targetPrefix) with
//     Smithy-Protocol: rpc-v2-cbor, X-Amzn-Query-Mode: true, indefinite-length
//     maps and float64 tag-1 timestamps. Options.Protocol can be set to
//     smithy-go's awsjson.New10 or awsquery.New instead.
//
// CloudWatch is awsQuery-compatible: its error shapes carry awsQuery codes
// that differ from their names (InvalidParameterValueException has code
// InvalidParameterValue). For services with AWSQuery set, the JSON and CBOR
// __type (and X-Amzn-ErrorType) is the modeled shape's name, found from
// either spelling the handler used, and X-Amzn-Query-Error is
// "<code>;Sender|Receiver": the Go SDK picks its error type by __type and
// takes ErrorCode() from the header, botocore takes the code from the
// header and its exception class from the code; awsQuery's <Code> is the
// code. Unmodeled protocol codes get their awsQuery spelling there
// (ValidationException → ValidationError, UnknownOperationException →
// InvalidAction, ...), as the newer CloudWatch model in the Go SDK spells
// them.
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
//     RequestEntityTooLargeException; a REST operation's blob payload is
//     also held to its maximum length, and a longer one answered with the
//     ValidationException of its length constraint). A body whose
//     Content-Length is over the limit is refused without being read (a
//     client that sent Expect: 100-continue gets no 100 Continue), a
//     chunked one once it has passed the limit, and the connection closes
//     after the answer;
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
