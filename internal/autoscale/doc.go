// Package autoscale is inferscale's Application Auto Scaling: scalable
// targets, target-tracking, step, scheduled and predictive scaling policies
// for SageMaker endpoint variants, with AWS's semantics, behind the 14
// operations of the AnyScaleFrontendService JSON 1.1 API.
//
// # Parts
//
//   - decide.go holds every scaling rule as a pure function of (state,
//     inputs, now): target-tracking capacity, step adjustment selection and
//     arithmetic, cooldowns, combining several policies, suspension,
//     clamping, scheduled actions. The controller and `inferscale simulate`
//     call the same functions.
//   - alarms.go builds the two CloudWatch alarms of a target-tracking
//     policy the way AWS names and configures them.
//   - controller.go runs one loop per registered target (Service.Run). A
//     loop consumes alarm actions (Service.Handle, called by CloudWatch's
//     alarm loop for policy ARNs), fires scheduled actions at their times,
//     enforces Min/Max after RegisterScalableTarget, acts on capacity only
//     through the Capacity interface (hosting), and records scaling
//     activities InProgress → Successful | Unfulfilled | Overridden, or
//     Failed when hosting refuses: a refusal is recorded once and retried
//     with a bounded backoff (Refusal), not on every alarm action. Its
//     state (cooldowns, alarm readings, the activity in progress, the
//     standing refusals, how far schedules were processed) lives in the
//     target's store document, so it survives restarts.
//   - forecast.go forecasts a variant's load from its metric history with
//     daily and weekly seasonality, for GetPredictiveScalingForecast.
//
// Only ServiceNamespace sagemaker with ScalableDimension
// sagemaker:variant:DesiredInstanceCount and ResourceId
// endpoint/<endpoint>/variant/<variant> is supported; other namespaces and
// dimensions are answered with a ValidationException saying so, except by
// the Describe operations, which list nothing for them.
package autoscale
