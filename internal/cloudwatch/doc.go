// Package cloudwatch implements the CloudWatch subset of `inferscale
// serve`: metrics (PutMetricData, GetMetricStatistics, GetMetricData with
// metric math and dynamic labels, ListMetrics) on a metrics.Store, and
// metric alarms (PutMetricAlarm, DescribeAlarms, DescribeAlarmsForMetric, DeleteAlarms,
// SetAlarmState, Enable/DisableAlarmActions, DescribeAlarmHistory, tags) on
// a store.Store, evaluated by an alarm loop that runs their actions.
//
// A Service registers its operations on the api.Service built from the
// CloudWatch botocore model (NewAPI), which decodes and validates requests
// before the handlers here run. Errors carry the model's error shapes
// (InvalidParameterValueException, whose query code is
// InvalidParameterValue, ResourceNotFound, ...); requests that break the
// model's constraints are ValidationError, as CloudWatch answers.
//
// # Metrics
//
// Metrics are kept per account and region (MetricsScope), as CloudWatch
// keeps them: one metrics store holds everything inferscale records
// (AWS/SageMaker invocation metrics) and what users put, each series in
// the scope of the account and region it was recorded for, and a request
// sees its caller's scope only. Namespaces starting with "AWS/"
// are reserved for inferscale's own metrics, as CloudWatch reserves them.
// Standard-resolution data (StorageResolution 60, the default) is kept at
// the start of its minute; high-resolution data (StorageResolution 1) at
// 10-second granularity, so periods are 10, 20, 30 or multiples of 60.
//
// # Alarms
//
// An alarm is one store resource (kind "alarm", its name as key, its state
// as status, MetricAlarm as document) with its tags; its history items
// are resources of kind "alarm-history" that outlive it for two weeks.
// PutAlarm, DescribeAlarm and DeleteAlarms give other packages
// (Application Auto Scaling's target-tracking alarms) the same operations
// without HTTP.
//
// EvaluateAlarm (evaluate.go) is the pure decision: datapoints of complete
// periods in, state and CloudWatch-worded reason out. RunAlarms is the
// loop that feeds it, every 10 seconds for high-resolution alarms and
// every minute for the others, shortly after period boundaries; it stores
// state changes and calls the ActionHandlers that own the current state's
// action ARNs, on the change and then once per period while the state
// lasts, as CloudWatch does for Auto Scaling actions.
package cloudwatch
