package cloudwatch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/inferscale/inferscale/internal/api"
)

// GetMetricData limits.
const (
	maxMetricDataQueries = 500
	defaultMaxDatapoints = 100800
)

type labelOptions struct {
	Timezone string `json:"Timezone,omitempty"`
}

type getMetricDataInput struct {
	MetricDataQueries []MetricDataQuery `json:"MetricDataQueries"`
	StartTime         api.Timestamp     `json:"StartTime"`
	EndTime           api.Timestamp     `json:"EndTime"`
	NextToken         string            `json:"NextToken,omitempty"`
	ScanBy            string            `json:"ScanBy,omitempty"`
	MaxDatapoints     int32             `json:"MaxDatapoints,omitempty"`
	LabelOptions      *labelOptions     `json:"LabelOptions,omitempty"`
}

type messageData struct {
	Code  string `json:"Code,omitempty"`
	Value string `json:"Value,omitempty"`
}

type metricDataResult struct {
	ID         string          `json:"Id"`
	Label      string          `json:"Label"`
	Timestamps []api.Timestamp `json:"Timestamps"`
	Values     []float64       `json:"Values"`
	StatusCode string          `json:"StatusCode"`
	Messages   []messageData   `json:"Messages,omitempty"`
}

type getMetricDataOutput struct {
	MetricDataResults []metricDataResult `json:"MetricDataResults"`
	NextToken         string             `json:"NextToken,omitempty"`
	Messages          []messageData      `json:"Messages"`
}

// arithmeticMessage is CloudWatch's message for datapoints an expression
// dropped.
var arithmeticMessage = messageData{Code: "ArithmeticError", Value: "One or more data-points have been dropped due to non-numeric values (NaN, -Infinite, +Infinite)"}

// dataToken is GetMetricData's NextToken: how many datapoints earlier pages
// returned, and a digest of the request it belongs to.
type dataToken struct {
	Offset int    `json:"o"`
	Digest string `json:"d"`
}

// getMetricData evaluates the queries, returns the datapoints of those
// with ReturnData (default true) in ScanBy order (newest first by default),
// and pages through them MaxDatapoints at a time. Every page recomputes
// the results and skips the datapoints earlier pages returned.
func (s *Service) getMetricData(_ context.Context, req *api.Request, in *getMetricDataInput) (*getMetricDataOutput, error) {
	if len(in.MetricDataQueries) == 0 {
		return nil, missingParam("The parameter MetricDataQueries must hold at least one query.")
	}
	if len(in.MetricDataQueries) > maxMetricDataQueries {
		return nil, invalidValue("The collection MetricDataQueries must not have a size greater than %d.", maxMetricDataQueries)
	}
	if !in.StartTime.Before(in.EndTime.Time) {
		return nil, invalidValue("The parameter StartTime must be less than the parameter EndTime.")
	}
	maxPoints := int(in.MaxDatapoints)
	if maxPoints <= 0 {
		maxPoints = defaultMaxDatapoints
	}
	digest := requestDigest(in)
	offset := 0
	if in.NextToken != "" {
		t, err := decodeDataToken(in.NextToken)
		if err != nil || t.Digest != digest || t.Offset < 0 {
			return nil, errBadToken
		}
		offset = t.Offset
	}
	qs, err := newQuerySet(s.metricsOf(req), in.MetricDataQueries, in.StartTime.Time, in.EndTime.Time, "MetricDataQueries")
	if err != nil {
		return nil, err
	}
	qs.now, qs.account = s.now(req), req.Account
	descending := in.ScanBy != "TimestampAscending"
	sc := labelScope{account: req.Account, region: req.Region}
	out := &getMetricDataOutput{MetricDataResults: []metricDataResult{}, Messages: []messageData{}}
	budget := maxPoints
	skip := offset
	more := false
	for _, q := range in.MetricDataQueries {
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		ss, err := qs.result(q.ID)
		if err != nil {
			return nil, err
		}
		dropped := qs.dropped[q.ID]
		for _, sr := range ss {
			r := metricDataResult{ID: q.ID, Label: qs.resultLabel(q, sr, sc), Timestamps: []api.Timestamp{}, Values: []float64{}, StatusCode: "Complete"}
			if dropped {
				r.Messages = []messageData{arithmeticMessage}
			}
			n := len(sr.vals)
			for k := range n {
				i := k
				if descending {
					i = n - 1 - k
				}
				v := sr.vals[i]
				if isMissing(v) {
					continue
				}
				if skip > 0 {
					skip--
					continue
				}
				if budget == 0 {
					r.StatusCode = "PartialData"
					more = true
					break
				}
				budget--
				r.Timestamps = append(r.Timestamps, api.Timestamp{Time: sr.at(i)})
				r.Values = append(r.Values, v)
			}
			out.MetricDataResults = append(out.MetricDataResults, r)
		}
	}
	if more {
		out.NextToken = encodeDataToken(dataToken{Offset: offset + maxPoints, Digest: digest})
	}
	return out, nil
}

// requestDigest identifies a GetMetricData request apart from its token, so
// that a token is only accepted with the request it came from.
func requestDigest(in *getMetricDataInput) string {
	c := *in
	c.NextToken = ""
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

func encodeDataToken(t dataToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeDataToken(s string) (dataToken, error) {
	var t dataToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return t, errBadToken
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, fmt.Errorf("%w: %v", errBadToken, err)
	}
	return t, nil
}
