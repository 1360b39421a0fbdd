// Package modelserver is a sample model server that honours the SageMaker
// container contract, for inferscale to launch, measure and scale.
//
// # Contract
//
// The server listens on INFERSCALE_BIND_HOST (default 127.0.0.1, set 0.0.0.0
// inside a container) and SAGEMAKER_BIND_TO_PORT (default 8080) and answers:
//
//   - GET /ping: 200 once the model is loaded; 503 while it loads (a real
//     setup time) or if loading failed, with a JSON status.
//   - POST /invocations: a body of Content-Type application/json, either
//     {"instances": [[f, ...], ...]}, [[f, ...], ...] or a single flat
//     [f, ...], or text/csv with one instance per line. The answer is
//     {"predictions": [{"label": k, "probabilities": [...]}, ...]}, one per
//     instance. Malformed or empty bodies and instances of the wrong width
//     answer 400, other content types 415, bodies over 6 MiB 413, each with
//     {"error": "..."} naming the problem.
//
// Other paths answer 404 and other methods 405. Serve shuts down gracefully
// when its context ends (the command cancels it on SIGTERM): in-flight
// requests finish.
//
// # Models
//
// INFERSCALE_MODEL chooses the model:
//
//   - mlp (default): a multilayer perceptron classifier whose forward pass is
//     real float32 work (see package mlp). INFERSCALE_MLP_INPUT (default 64),
//     INFERSCALE_MLP_HIDDEN (default 1024,1024,512), INFERSCALE_MLP_CLASSES
//     (default 10) and INFERSCALE_MLP_SEED (default 1) size it and seed its
//     generated weights; the defaults cost about 1.7 million multiply-adds,
//     roughly 0.5 ms of one core, per instance. If SM_MODEL_DIR (default
//     /opt/ml/model) holds model.json, the weights are read from it instead
//     and its shape rules (format: mlp.WriteJSON). Requests run in parallel,
//     at most SAGEMAKER_MODEL_SERVER_WORKERS at once (default GOMAXPROCS,
//     which Go sets from the CPUs the process may use), so throughput grows
//     with CPUs and with workers up to the CPUs. A request holds one worker
//     for all its instances. Setup generates or reads the weights and runs
//     warm-up passes.
//   - reference: a model of known capacity. INFERSCALE_REFERENCE_SLOTS
//     (default 4) requests are served at once, each holding its slot for
//     exactly INFERSCALE_REFERENCE_SERVICE_TIME (default 20ms, timer-based,
//     no CPU); the others queue in arrival order. Its capacity is exactly
//     slots / service time, the ground truth for capacity measurements. It
//     accepts instances of any width and labels each with the index of its
//     largest value.
//
// For both, INFERSCALE_SETUP_DELAY (a duration, default 0) is slept before
// loading, simulating the download of model artifacts.
//
// # Multi-model endpoints
//
// With SAGEMAKER_MULTI_MODEL=true (as SageMaker sets it for a container of
// Mode MultiModel) the server starts with no model and serves SageMaker's
// multi-model container contract: POST /models loads a model by name from
// an artifact (a directory holding model.json, or a model.tar.gz with
// model.json at its root), GET /models lists the loaded ones (paginated),
// GET and DELETE /models/{name} describe and unload one, and POST
// /models/{name}/invoke invokes it as /invocations would. A load answers 409
// if the name is loaded already and 507 Insufficient Storage when it does not
// fit INFERSCALE_MAX_MODELS (models at once) or INFERSCALE_MODEL_MEMORY
// (bytes of weights at once, such as 512MiB); the caller then unloads a
// model and tries again. See multimodel.go for the details.
package modelserver
