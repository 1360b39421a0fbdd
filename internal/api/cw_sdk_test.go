package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
)

// wireLog records which protocol each request used, to pin down what the
// clients send by default.
type wireLog struct {
	mu   sync.Mutex
	reqs []wireReq
}

type wireReq struct {
	Protocol string // "rpc-v2-cbor", "json-1.0", "query"
	Op       string
	Encoding string // Content-Encoding
}

func (l *wireLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := wireReq{Encoding: r.Header.Get("Content-Encoding")}
		switch {
		case r.Header.Get("Smithy-Protocol") != "":
			rec.Protocol, rec.Op = r.Header.Get("Smithy-Protocol"), path.Base(r.URL.Path)
		case r.Header.Get("X-Amz-Target") != "":
			rec.Protocol = "json-" + strings.TrimPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-")
			_, rec.Op, _ = strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		case isQueryRequest(r):
			rec.Protocol = "query"
			if plain, err := decodeBody(r, body, 1<<20); err == nil {
				form, _ := url.ParseQuery(string(plain))
				rec.Op = form.Get("Action")
			}
		default:
			rec.Protocol = "other"
		}
		l.mu.Lock()
		l.reqs = append(l.reqs, rec)
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// protocols returns the distinct protocols seen, sorted.
func (l *wireLog) protocols() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, r := range l.reqs {
		if !seen[r.Protocol] {
			seen[r.Protocol] = true
			out = append(out, r.Protocol)
		}
	}
	sort.Strings(out)
	return out
}

func (l *wireLog) encodingOf(op string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.reqs {
		if r.Op == op {
			out = append(out, r.Encoding)
		}
	}
	return out
}

// cwServer serves the test CloudWatch with signature verification.
func cwServer(t *testing.T) (*httptest.Server, *wireLog, *cwStore) {
	t.Helper()
	svc, st := newCloudWatchService()
	rt := &Router{Auth: SigV4Auth{Lookup: StaticCredentials(map[string]Credential{
		"AKIDCW": {SecretKey: "cw-secret", Account: "444455556666"},
	})}}
	if err := rt.Add(svc); err != nil {
		t.Fatal(err)
	}
	log := &wireLog{}
	srv := httptest.NewServer(log.wrap(rt))
	t.Cleanup(srv.Close)
	return srv, log, st
}

// The data every client puts and reads back, in every protocol.
var cwT0 = time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)

const (
	cwNamespace = "inferscale/test"
	cwBulk      = 400 // datums in the bulk put: over 10 KiB, so clients gzip it
)

// cwRun is what one client saw; the Go SDK and boto3 fill the same struct.
type cwRun struct {
	Invocations []cwPoint          `json:"Invocations"`
	Latency     []cwPoint          `json:"Latency"`
	Data        map[string]cwSerie `json:"Data"`
	Metrics     []string           `json:"Metrics"`
	BulkSum     float64            `json:"BulkSum"`
	BulkCount   float64            `json:"BulkCount"`
	Image       []byte             `json:"Image"`
	Errors      map[string]cwErr   `json:"Errors"`
}

type cwPoint struct {
	T                                         float64 // epoch seconds
	SampleCount, Average, Sum, Minimum, Maxim float64
	P50, P99                                  float64
	Unit                                      string
}

type cwSerie struct {
	Label  string
	T      []float64
	Values []float64
}

type cwErr struct {
	Type    string // the modeled error's shape name; "" for a generic error
	Code    string
	Status  int
	Message string
}

const cwWidget = `{"metrics":[["inferscale/test","Invocations"]],"title":"ü <&>"}`

// runCloudWatchGo drives the test service with the real Go client.
func runCloudWatchGo(ctx context.Context, t *testing.T, c *cloudwatch.Client) cwRun {
	t.Helper()
	dims := []types.Dimension{{Name: aws.String("EndpointName"), Value: aws.String("ep")}, {Name: aws.String("VariantName"), Value: aws.String("v1")}}
	at := func(s float64) *time.Time { v := cwT0.Add(time.Duration(s * float64(time.Second))); return &v }
	_, err := c.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
		Namespace: aws.String(cwNamespace),
		MetricData: []types.MetricDatum{
			{MetricName: aws.String("Invocations"), Dimensions: dims, Timestamp: at(10), Value: aws.Float64(3), Unit: types.StandardUnitCount},
			{MetricName: aws.String("Invocations"), Dimensions: dims, Timestamp: at(70), Values: []float64{1, 2, 4}, Counts: []float64{1, 1, 2}, Unit: types.StandardUnitCount},
			{MetricName: aws.String("Invocations"), Dimensions: dims, Timestamp: at(75), Unit: types.StandardUnitCount,
				StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(2), Sum: aws.Float64(10), Minimum: aws.Float64(4), Maximum: aws.Float64(6)}},
			{MetricName: aws.String("ModelLatency"), Dimensions: dims, Timestamp: at(20), Value: aws.Float64(1500.5), Unit: types.StandardUnitMicroseconds, StorageResolution: aws.Int32(1)},
		},
	})
	if err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	bulk := make([]types.MetricDatum, cwBulk)
	for i := range bulk {
		bulk[i] = types.MetricDatum{MetricName: aws.String("Bulk"), Timestamp: at(float64(i) / 8), Value: aws.Float64(float64(i%10) + 0.25),
			Dimensions: []types.Dimension{{Name: aws.String("Shard"), Value: aws.String(fmt.Sprint(i % 2))}}}
	}
	if _, err := c.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(cwNamespace + "/bulk"), MetricData: bulk}); err != nil {
		t.Fatalf("bulk PutMetricData: %v", err)
	}

	var run cwRun
	points := func(name string) []cwPoint {
		out, err := c.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String(cwNamespace), MetricName: aws.String(name), Dimensions: dims,
			StartTime: at(0), EndTime: at(120), Period: aws.Int32(60),
			Statistics:         []types.Statistic{types.StatisticSampleCount, types.StatisticAverage, types.StatisticSum, types.StatisticMinimum, types.StatisticMaximum},
			ExtendedStatistics: []string{"p50", "p99"},
		})
		if err != nil {
			t.Fatalf("GetMetricStatistics %s: %v", name, err)
		}
		if aws.ToString(out.Label) != name {
			t.Errorf("Label = %q", aws.ToString(out.Label))
		}
		var ps []cwPoint
		for _, d := range out.Datapoints {
			ps = append(ps, cwPoint{T: float64(aws.ToTime(d.Timestamp).UnixMilli()) / 1000, SampleCount: aws.ToFloat64(d.SampleCount),
				Average: aws.ToFloat64(d.Average), Sum: aws.ToFloat64(d.Sum), Minimum: aws.ToFloat64(d.Minimum), Maxim: aws.ToFloat64(d.Maximum),
				P50: d.ExtendedStatistics["p50"], P99: d.ExtendedStatistics["p99"], Unit: string(d.Unit)})
		}
		return ps
	}
	run.Invocations, run.Latency = points("Invocations"), points("ModelLatency")

	for _, shard := range []string{"0", "1"} {
		out, err := c.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String(cwNamespace + "/bulk"), MetricName: aws.String("Bulk"),
			Dimensions: []types.Dimension{{Name: aws.String("Shard"), Value: aws.String(shard)}},
			StartTime:  at(0), EndTime: at(3600), Period: aws.Int32(3600), Statistics: []types.Statistic{types.StatisticSum, types.StatisticSampleCount},
		})
		if err != nil {
			t.Fatalf("bulk statistics: %v", err)
		}
		for _, d := range out.Datapoints {
			run.BulkSum += aws.ToFloat64(d.Sum)
			run.BulkCount += aws.ToFloat64(d.SampleCount)
		}
	}

	data, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: at(0), EndTime: at(120), ScanBy: types.ScanByTimestampAscending,
		MetricDataQueries: []types.MetricDataQuery{
			{Id: aws.String("inv"), MetricStat: &types.MetricStat{Period: aws.Int32(60), Stat: aws.String("Sum"),
				Metric: &types.Metric{Namespace: aws.String(cwNamespace), MetricName: aws.String("Invocations"), Dimensions: dims}}},
			{Id: aws.String("lat"), Label: aws.String("latency"), MetricStat: &types.MetricStat{Period: aws.Int32(60), Stat: aws.String("Average"),
				Metric: &types.Metric{Namespace: aws.String(cwNamespace), MetricName: aws.String("ModelLatency"), Dimensions: dims}}},
		},
	})
	if err != nil {
		t.Fatalf("GetMetricData: %v", err)
	}
	run.Data = map[string]cwSerie{}
	for _, r := range data.MetricDataResults {
		s := cwSerie{Label: aws.ToString(r.Label), Values: r.Values}
		for _, ts := range r.Timestamps {
			s.T = append(s.T, float64(ts.UnixMilli())/1000)
		}
		if r.StatusCode != types.StatusCodeComplete {
			t.Errorf("StatusCode = %s", r.StatusCode)
		}
		run.Data[aws.ToString(r.Id)] = s
	}

	list, err := c.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String(cwNamespace),
		Dimensions: []types.DimensionFilter{{Name: aws.String("VariantName")}}})
	if err != nil {
		t.Fatalf("ListMetrics: %v", err)
	}
	for _, m := range list.Metrics {
		var ds []string
		for _, d := range m.Dimensions {
			ds = append(ds, aws.ToString(d.Name)+"="+aws.ToString(d.Value))
		}
		run.Metrics = append(run.Metrics, aws.ToString(m.Namespace)+"|"+aws.ToString(m.MetricName)+"|"+strings.Join(ds, ","))
	}

	img, err := c.GetMetricWidgetImage(ctx, &cloudwatch.GetMetricWidgetImageInput{MetricWidget: aws.String(cwWidget)})
	if err != nil {
		t.Fatalf("GetMetricWidgetImage: %v", err)
	}
	run.Image = img.MetricWidgetImage

	run.Errors = map[string]cwErr{}
	record := func(name string, err error) {
		if err == nil {
			t.Errorf("%s: no error", name)
			return
		}
		var ae smithy.APIError
		if !errors.As(err, &ae) {
			t.Errorf("%s: %v is not an API error", name, err)
			return
		}
		e := cwErr{Code: ae.ErrorCode(), Message: ae.ErrorMessage()}
		if _, generic := ae.(*smithy.GenericAPIError); !generic {
			e.Type = strings.TrimPrefix(fmt.Sprintf("%T", ae), "*types.")
		}
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) {
			e.Status = re.HTTPStatusCode()
		}
		run.Errors[name] = e
	}
	stats := func(mod func(*cloudwatch.GetMetricStatisticsInput)) error {
		in := &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String(cwNamespace), MetricName: aws.String("Invocations"),
			StartTime: at(0), EndTime: at(60), Period: aws.Int32(60), Statistics: []types.Statistic{types.StatisticSum}}
		mod(in)
		_, err := c.GetMetricStatistics(ctx, in)
		return err
	}
	record("end-before-start", stats(func(in *cloudwatch.GetMetricStatisticsInput) { in.EndTime = at(-60) }))
	record("no-statistics", stats(func(in *cloudwatch.GetMetricStatisticsInput) { in.Statistics = nil }))
	record("period-zero", stats(func(in *cloudwatch.GetMetricStatisticsInput) { in.Period = aws.Int32(0) }))
	_, err = c.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/EC2"),
		MetricData: []types.MetricDatum{{MetricName: aws.String("x"), Value: aws.Float64(1)}}})
	record("aws-namespace", err)
	_, err = c.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("missing")})
	record("missing-dashboard", err)
	_, err = c.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("bad")})
	record("bad-dashboard", err)
	_, err = c.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{})
	record("unimplemented", err)
	return run
}

// cwErrorsWant are the errors every client should see; per-client
// differences are applied on top.
func cwErrorsWant() map[string]cwErr {
	return map[string]cwErr{
		"end-before-start":  {Type: "InvalidParameterValueException", Code: "InvalidParameterValue", Status: 400, Message: "The parameter StartTime must be less than the parameter EndTime."},
		"no-statistics":     {Type: "MissingRequiredParameterException", Code: "MissingParameter", Status: 400, Message: "Statistics or ExtendedStatistics must be specified."},
		"period-zero":       {Code: "ValidationError", Status: 400, Message: "1 validation error detected: Value '0' at 'period' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		"aws-namespace":     {Type: "InvalidParameterValueException", Code: "InvalidParameterValue", Status: 400, Message: "The value AWS/EC2 for parameter Namespace is invalid."},
		"missing-dashboard": {Type: "DashboardNotFoundError", Code: "ResourceNotFound", Status: 404, Message: "Dashboard missing does not exist."},
		"bad-dashboard":     {Type: "InvalidParameterValueException", Code: "InvalidParameterValue", Status: 400, Message: "Dashboard name bad is reserved."},
		"unimplemented":     {Code: "InvalidAction", Status: 400, Message: "CloudWatch operation DescribeAlarmHistory is not implemented by inferscale."},
	}
}

// checkCloudWatchRun checks what a client saw against the data it put.
func checkCloudWatchRun(t *testing.T, run cwRun, wantErrs map[string]cwErr) {
	t.Helper()
	t0 := float64(cwT0.Unix())
	wantInv := []cwPoint{
		{T: t0, SampleCount: 1, Average: 3, Sum: 3, Minimum: 3, Maxim: 3, P50: 3, P99: 3, Unit: "Count"},
		// 1, 2, 4, 4 from Values/Counts and a StatisticSet of 2 samples.
		{T: t0 + 60, SampleCount: 6, Average: 3.5, Sum: 21, Minimum: 1, Maxim: 6, P50: 2, P99: 4, Unit: "Count"},
	}
	if !reflect.DeepEqual(run.Invocations, wantInv) {
		t.Errorf("Invocations datapoints\n got %+v\nwant %+v", run.Invocations, wantInv)
	}
	wantLat := []cwPoint{{T: t0, SampleCount: 1, Average: 1500.5, Sum: 1500.5, Minimum: 1500.5, Maxim: 1500.5, P50: 1500.5, P99: 1500.5, Unit: "Microseconds"}}
	if !reflect.DeepEqual(run.Latency, wantLat) {
		t.Errorf("ModelLatency datapoints\n got %+v\nwant %+v", run.Latency, wantLat)
	}
	// Bulk: values (i%10)+0.25 for i < cwBulk, across two shards.
	var bulkSum float64
	for i := range cwBulk {
		bulkSum += float64(i%10) + 0.25
	}
	if run.BulkSum != bulkSum || run.BulkCount != cwBulk {
		t.Errorf("bulk put: sum %v count %v, want %v %d", run.BulkSum, run.BulkCount, bulkSum, cwBulk)
	}
	wantData := map[string]cwSerie{
		"inv": {Label: "Invocations", T: []float64{t0, t0 + 60}, Values: []float64{3, 21}},
		"lat": {Label: "latency", T: []float64{t0}, Values: []float64{1500.5}},
	}
	if !reflect.DeepEqual(run.Data, wantData) {
		t.Errorf("GetMetricData\n got %+v\nwant %+v", run.Data, wantData)
	}
	wantMetrics := []string{
		cwNamespace + "|Invocations|EndpointName=ep,VariantName=v1",
		cwNamespace + "|ModelLatency|EndpointName=ep,VariantName=v1",
	}
	if !reflect.DeepEqual(run.Metrics, wantMetrics) {
		t.Errorf("ListMetrics = %q, want %q", run.Metrics, wantMetrics)
	}
	wantImg := append([]byte{0x89, 'P', 'N', 'G', 0x00, 0xff, 0x0d, 0x0a}, cwWidget...)
	if !bytes.Equal(run.Image, wantImg) {
		t.Errorf("MetricWidgetImage = %q, want %q", run.Image, wantImg)
	}
	for name, want := range wantErrs {
		if got := run.Errors[name]; got != want {
			t.Errorf("error %s\n got %+v\nwant %+v", name, got, want)
		}
	}
}

func cwGoClient(url, protocol string) *cloudwatch.Client {
	cfg := aws.Config{
		Region: "us-west-2",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDCW", SecretAccessKey: "cw-secret", Source: "test"}, nil
		}),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} },
	}
	return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		o.BaseEndpoint = aws.String(url)
		switch protocol {
		case "json-1.0":
			o.Protocol = awsjson.New10(schemas.GraniteServiceVersion20100801)
		case "query":
			o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
		}
	})
}

// TestCloudWatchGoSDK drives the test CloudWatch with aws-sdk-go-v2's
// client in its default protocol (rpc-v2-cbor) and, through its Protocol
// option, in awsJson 1.0 and awsQuery: timestamps, doubles, lists of
// structures, maps, blobs, gzip-compressed requests, SigV4 over each body,
// and modeled, validation and unknown-operation errors.
func TestCloudWatchGoSDK(t *testing.T) {
	// The SDK's own model (newer than botocore 1.43.11's) has a
	// ValidationException shape whose awsQuery code is ValidationError.
	sdkModel := func(m map[string]cwErr) {
		e := m["period-zero"]
		e.Type = "ValidationException"
		m["period-zero"] = e
	}
	tests := []struct {
		name, protocol string // protocol "" is the client's default
		wire           string
		errs           func(map[string]cwErr)
	}{
		{name: "default", wire: "rpc-v2-cbor", errs: sdkModel},
		{name: "awsJson1_0", protocol: "json-1.0", wire: "json-1.0", errs: sdkModel},
		{name: "awsQuery", protocol: "query", wire: "query", errs: func(m map[string]cwErr) {
			sdkModel(m)
			// The SDK's awsQuery deserializer finds the error type by the
			// <Code> but, unlike its JSON and CBOR ones, leaves the type's
			// own ErrorCode(); where two shapes share a code it takes the
			// one named like the code.
			for k, e := range m {
				if e.Type != "" {
					e.Code = e.Type
					m[k] = e
				}
			}
			m["missing-dashboard"] = cwErr{Type: "ResourceNotFound", Code: "ResourceNotFound", Status: 404, Message: "Dashboard missing does not exist."}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, log, _ := cwServer(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			run := runCloudWatchGo(ctx, t, cwGoClient(srv.URL, tt.protocol))
			want := cwErrorsWant()
			if tt.errs != nil {
				tt.errs(want)
			}
			checkCloudWatchRun(t, run, want)
			if got := log.protocols(); !reflect.DeepEqual(got, []string{tt.wire}) {
				t.Errorf("client sent %v, want only %s", got, tt.wire)
			}
			// A zero aws.Config has RequestMinCompressSizeBytes 0: every
			// PutMetricData is gzipped (LoadDefaultConfig would set 10 KiB).
			if enc := log.encodingOf("PutMetricData"); !reflect.DeepEqual(enc, []string{"gzip", "gzip", "gzip"}) {
				t.Errorf("PutMetricData Content-Encodings %q, want all gzipped", enc)
			}
		})
	}
}

// cwBotoScript runs the same calls as runCloudWatchGo with boto3 and prints
// a cwRun as JSON. Its first argument is the endpoint, its second the
// protocol to force ("default" leaves botocore's choice): botocore picks a
// protocol from the model's metadata.protocols, so the script loads the
// installed CloudWatch model, narrows protocols to the one asked for, and
// points a fresh session at the copy.
const cwBotoScript = `
import base64, datetime, json, os, sys, tempfile
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, proto = sys.argv[1], sys.argv[2]
session = botocore.session.get_session()
if proto != 'default':
    loader = session.get_component('data_loader')
    version = loader.determine_latest_version('cloudwatch', 'service-2')
    model = loader.load_service_model('cloudwatch', 'service-2', version)
    model['metadata']['protocols'] = [proto]
    model['metadata']['protocol'] = proto
    d = tempfile.mkdtemp()
    os.makedirs(os.path.join(d, 'cloudwatch', version))
    with open(os.path.join(d, 'cloudwatch', version, 'service-2.json'), 'w') as f:
        json.dump(model, f)
    session = botocore.session.get_session()
    session.set_config_variable('data_path', d)
c = session.create_client('cloudwatch', region_name='eu-west-1', endpoint_url=endpoint,
    aws_access_key_id='AKIDCW', aws_secret_access_key='cw-secret',
    config=Config(retries={'max_attempts': 1}, parameter_validation=False))
sys.stderr.write('protocol %s\n' % c.meta.service_model.resolved_protocol)

t0 = datetime.datetime(2026, 1, 2, 3, 0, 0, tzinfo=datetime.timezone.utc)
at = lambda s: t0 + datetime.timedelta(seconds=s)
dims = [{'Name': 'EndpointName', 'Value': 'ep'}, {'Name': 'VariantName', 'Value': 'v1'}]
ns = 'inferscale/test'
c.put_metric_data(Namespace=ns, MetricData=[
    {'MetricName': 'Invocations', 'Dimensions': dims, 'Timestamp': at(10), 'Value': 3.0, 'Unit': 'Count'},
    {'MetricName': 'Invocations', 'Dimensions': dims, 'Timestamp': at(70), 'Values': [1.0, 2.0, 4.0], 'Counts': [1.0, 1.0, 2.0], 'Unit': 'Count'},
    {'MetricName': 'Invocations', 'Dimensions': dims, 'Timestamp': at(75), 'Unit': 'Count',
     'StatisticValues': {'SampleCount': 2.0, 'Sum': 10.0, 'Minimum': 4.0, 'Maximum': 6.0}},
    {'MetricName': 'ModelLatency', 'Dimensions': dims, 'Timestamp': at(20), 'Value': 1500.5, 'Unit': 'Microseconds', 'StorageResolution': 1},
])
# botocore's CBOR serializer sends whole seconds only, so the bulk put keeps
# its timestamps whole.
c.put_metric_data(Namespace=ns + '/bulk', MetricData=[
    {'MetricName': 'Bulk', 'Timestamp': at(i // 8), 'Value': (i % 10) + 0.25, 'Dimensions': [{'Name': 'Shard', 'Value': str(i % 2)}]}
    for i in range(int(sys.argv[3]))])

epoch = lambda t: t.timestamp()
run = {}
def points(name):
    out = c.get_metric_statistics(Namespace=ns, MetricName=name, Dimensions=dims, StartTime=at(0), EndTime=at(120), Period=60,
        Statistics=['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'], ExtendedStatistics=['p50', 'p99'])
    assert out['Label'] == name, out
    return [{'T': epoch(d['Timestamp']), 'SampleCount': d['SampleCount'], 'Average': d['Average'], 'Sum': d['Sum'],
             'Minimum': d['Minimum'], 'Maxim': d['Maximum'], 'P50': d['ExtendedStatistics']['p50'],
             'P99': d['ExtendedStatistics']['p99'], 'Unit': d['Unit']} for d in out['Datapoints']]
run['Invocations'], run['Latency'] = points('Invocations'), points('ModelLatency')
run['BulkSum'] = run['BulkCount'] = 0
for shard in ('0', '1'):
    out = c.get_metric_statistics(Namespace=ns + '/bulk', MetricName='Bulk', Dimensions=[{'Name': 'Shard', 'Value': shard}],
        StartTime=at(0), EndTime=at(3600), Period=3600, Statistics=['Sum', 'SampleCount'])
    for d in out['Datapoints']:
        run['BulkSum'] += d['Sum']
        run['BulkCount'] += d['SampleCount']
out = c.get_metric_data(StartTime=at(0), EndTime=at(120), ScanBy='TimestampAscending', MetricDataQueries=[
    {'Id': 'inv', 'MetricStat': {'Period': 60, 'Stat': 'Sum', 'Metric': {'Namespace': ns, 'MetricName': 'Invocations', 'Dimensions': dims}}},
    {'Id': 'lat', 'Label': 'latency', 'MetricStat': {'Period': 60, 'Stat': 'Average', 'Metric': {'Namespace': ns, 'MetricName': 'ModelLatency', 'Dimensions': dims}}},
])
run['Data'] = {r['Id']: {'Label': r['Label'], 'T': [epoch(t) for t in r['Timestamps']], 'Values': r['Values']} for r in out['MetricDataResults']}
out = c.list_metrics(Namespace=ns, Dimensions=[{'Name': 'VariantName'}])
run['Metrics'] = [m['Namespace'] + '|' + m['MetricName'] + '|' + ','.join(d['Name'] + '=' + d['Value'] for d in m['Dimensions']) for m in out['Metrics']]
run['Image'] = base64.b64encode(c.get_metric_widget_image(MetricWidget=sys.argv[4])['MetricWidgetImage']).decode()

errors = run['Errors'] = {}
def record(name, call):
    try:
        call()
        errors[name] = {'Code': 'no error'}
    except ClientError as e:
        errors[name] = {'Type': '' if type(e).__name__ == 'ClientError' else type(e).__name__, 'Code': e.response['Error']['Code'],
                        'Status': e.response['ResponseMetadata']['HTTPStatusCode'], 'Message': e.response['Error']['Message']}
stats = dict(Namespace=ns, MetricName='Invocations', StartTime=at(0), EndTime=at(60), Period=60, Statistics=['Sum'])
record('end-before-start', lambda: c.get_metric_statistics(**dict(stats, EndTime=at(-60))))
record('no-statistics', lambda: c.get_metric_statistics(**{k: v for k, v in stats.items() if k != 'Statistics'}))
record('period-zero', lambda: c.get_metric_statistics(**dict(stats, Period=0)))
record('aws-namespace', lambda: c.put_metric_data(Namespace='AWS/EC2', MetricData=[{'MetricName': 'x', 'Value': 1.0}]))
record('missing-dashboard', lambda: c.get_dashboard(DashboardName='missing'))
record('bad-dashboard', lambda: c.get_dashboard(DashboardName='bad'))
record('unimplemented', lambda: c.describe_alarm_history())
print(json.dumps(run))
`

// TestCloudWatchBoto3 drives the test CloudWatch with boto3 (botocore
// 1.43.11 here) in its default protocol, which is awsJson 1.0, and forced
// to rpc-v2-cbor and to awsQuery; the checks are those of the Go SDK test.
func TestCloudWatchBoto3(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	if err := exec.Command(python, "-c", "import boto3").Run(); err != nil {
		t.Skip("boto3 not installed")
	}
	script := filepath.Join(t.TempDir(), "cw.py")
	if err := os.WriteFile(script, []byte(cwBotoScript), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, force, wire string
	}{
		{name: "default", force: "default", wire: "json-1.0"},
		{name: "rpc-v2-cbor", force: "smithy-rpc-v2-cbor", wire: "rpc-v2-cbor"},
		{name: "awsQuery", force: "query", wire: "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, log, _ := cwServer(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, python, script, srv.URL, tt.force, fmt.Sprint(cwBulk), cwWidget)
			// Keep the user's AWS configuration out of it.
			cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("boto3: %v\n%s", err, stderr.String())
			}
			var run cwRun
			if err := json.Unmarshal(out, &run); err != nil {
				t.Fatalf("boto3 output %s: %v", out, err)
			}
			want := cwErrorsWant()
			// botocore maps codes to exception classes, and two CloudWatch
			// shapes have the code ResourceNotFound: it picks the one named so.
			e := want["missing-dashboard"]
			e.Type = "ResourceNotFound"
			want["missing-dashboard"] = e
			checkCloudWatchRun(t, run, want)
			if got := log.protocols(); !reflect.DeepEqual(got, []string{tt.wire}) {
				t.Errorf("boto3 sent %v, want only %s (%s)", got, tt.wire, strings.TrimSpace(stderr.String()))
			}
			if enc := log.encodingOf("PutMetricData"); !reflect.DeepEqual(enc, []string{"", "gzip", ""}) {
				t.Errorf("PutMetricData Content-Encodings %q, want the bulk put gzipped", enc)
			}
		})
	}
}
