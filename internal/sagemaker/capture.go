package sagemaker

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/hosting"
)

// Data capture, as SageMaker's DataCaptureConfig: a sample of an
// endpoint's invocations (InitialSamplingPercentage) is written, request
// and/or response as CaptureOptions say, one JSON line per invocation in
// the layout Model Monitor reads:
//
//	DESTINATION/ENDPOINT/VARIANT/yyyy/mm/dd/hh/mm-ss-mmm-ID.jsonl
//
// with captureData.endpointInput and endpointOutput (observedContentType,
// mode, data, encoding: CSV or JSON as text for the content types
// CaptureContentTypeHeader lists, BASE64 otherwise) and eventMetadata
// (eventId, the request ID; inferenceId, InvokeEndpoint's InferenceId;
// inferenceTime). This server has no S3: the destination is a file://
// directory on its host. Only invocations the model answered (2xx) are
// captured. Lines are written by one goroutine per endpoint fleet from a
// bounded queue; when it is full, invocations go uncaptured rather than
// wait, and the log says how many.

// DataCaptureConfig is CreateEndpointConfig's DataCaptureConfig.
type DataCaptureConfig struct {
	EnableCapture             *bool                     `json:"EnableCapture,omitempty"`
	InitialSamplingPercentage *int32                    `json:"InitialSamplingPercentage,omitempty"`
	DestinationS3Uri          string                    `json:"DestinationS3Uri"`
	KmsKeyID                  string                    `json:"KmsKeyId,omitempty"`
	CaptureOptions            []CaptureOption           `json:"CaptureOptions"`
	CaptureContentTypeHeader  *CaptureContentTypeHeader `json:"CaptureContentTypeHeader,omitempty"`
}

// CaptureOption is Input, Output or InputAndOutput.
type CaptureOption struct {
	CaptureMode string `json:"CaptureMode"`
}

// CaptureContentTypeHeader lists the content types captured as text.
type CaptureContentTypeHeader struct {
	CsvContentTypes  []string `json:"CsvContentTypes,omitempty"`
	JSONContentTypes []string `json:"JsonContentTypes,omitempty"`
}

// dataCaptureSummary is DescribeEndpoint's DataCaptureConfig.
type dataCaptureSummary struct {
	EnableCapture             bool   `json:"EnableCapture"`
	CaptureStatus             string `json:"CaptureStatus"`
	CurrentSamplingPercentage int32  `json:"CurrentSamplingPercentage"`
	DestinationS3Uri          string `json:"DestinationS3Uri"`
	KmsKeyID                  string `json:"KmsKeyId"`
}

// checkDataCapture enforces what the model's shapes cannot say: a
// destination this host can write to, and capture modes that agree.
func checkDataCapture(c *DataCaptureConfig) error {
	if c == nil {
		return nil
	}
	if _, err := captureDir(c.DestinationS3Uri); err != nil {
		return err
	}
	if len(c.CaptureOptions) == 0 {
		return api.Errorf(api.KindInvalid, "DataCaptureConfig.CaptureOptions: give at least one CaptureMode.")
	}
	return nil
}

// captureDir is the directory of a file:// destination.
func captureDir(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err == nil && u.Scheme == "file" && u.Host == "" && filepath.IsAbs(u.Path) {
		return filepath.Clean(u.Path), nil
	}
	if err == nil && u.Scheme == "s3" {
		return "", api.Errorf(api.KindInvalid, "DataCaptureConfig.DestinationS3Uri %q: this server has no S3 endpoint to write to; give a file:// URL of a directory on this host.", raw)
	}
	return "", api.Errorf(api.KindInvalid, "DataCaptureConfig.DestinationS3Uri %q: the URL must be file:///absolute/directory.", raw)
}

// summary is the DescribeEndpoint view of c; running says whether the
// endpoint serves.
func (c *DataCaptureConfig) summary(running bool) *dataCaptureSummary {
	if c == nil {
		return nil
	}
	s := &dataCaptureSummary{EnableCapture: c.enabled(), CaptureStatus: "Stopped", DestinationS3Uri: c.DestinationS3Uri, KmsKeyID: c.KmsKeyID}
	if c.InitialSamplingPercentage != nil {
		s.CurrentSamplingPercentage = *c.InitialSamplingPercentage
	}
	if s.EnableCapture && running {
		s.CaptureStatus = "Started"
	}
	return s
}

func (c *DataCaptureConfig) enabled() bool {
	return c != nil && (c.EnableCapture == nil || *c.EnableCapture)
}

// captureEvent is one captured invocation.
type captureEvent struct {
	variant     string
	at          time.Time
	requestID   string
	inferenceID string
	inType      string
	in          []byte
	outType     string
	out         []byte
}

// captureWriter writes a fleet's captured invocations.
type captureWriter struct {
	dir, endpoint string
	percent       float64
	input, output bool
	csv, json     []string
	log           *slog.Logger

	events  chan captureEvent
	done    chan struct{}
	mu      sync.Mutex // guards dropped
	dropped int
}

// captureQueue bounds the invocations waiting to be written.
const captureQueue = 4096

// startCapture starts writing the captured invocations of endpoint as c
// says, until ctx ends; nil if c captures nothing.
func startCapture(ctx context.Context, c *DataCaptureConfig, endpoint string, log *slog.Logger) *captureWriter {
	if !c.enabled() {
		return nil
	}
	dir, err := captureDir(c.DestinationS3Uri)
	if err != nil {
		log.Error("data capture", "err", err)
		return nil
	}
	w := &captureWriter{dir: dir, endpoint: endpoint, log: log, events: make(chan captureEvent, captureQueue), done: make(chan struct{})}
	if c.InitialSamplingPercentage != nil {
		w.percent = float64(*c.InitialSamplingPercentage)
	}
	for _, o := range c.CaptureOptions {
		w.input = w.input || o.CaptureMode == "Input" || o.CaptureMode == "InputAndOutput"
		w.output = w.output || o.CaptureMode == "Output" || o.CaptureMode == "InputAndOutput"
	}
	if h := c.CaptureContentTypeHeader; h != nil {
		w.csv, w.json = h.CsvContentTypes, h.JSONContentTypes
	}
	go w.run(ctx)
	return w
}

// add captures an invocation if it is sampled; it never waits.
func (w *captureWriter) add(e captureEvent) {
	if w == nil || rand.Float64()*100 >= w.percent {
		return
	}
	select {
	case w.events <- e:
	default:
		w.mu.Lock()
		w.dropped++
		w.mu.Unlock()
	}
}

// wait waits until run has written what it had and returned.
func (w *captureWriter) wait() {
	if w != nil {
		<-w.done
	}
}

// run writes events until ctx ends, then what is queued.
func (w *captureWriter) run(ctx context.Context) {
	defer close(w.done)
	files := map[string]*captureFile{} // by variant
	defer func() {
		for _, f := range files {
			f.close(w.log)
		}
	}()
	write := func(e captureEvent) {
		f := files[e.variant]
		if f == nil || !f.holds(e.at) {
			if f != nil {
				f.close(w.log)
			}
			var err error
			if f, err = w.open(e.variant, e.at); err != nil {
				w.log.Error("data capture", "endpoint", w.endpoint, "err", err)
				delete(files, e.variant)
				return
			}
			files[e.variant] = f
		}
		if err := f.enc.Encode(w.line(e)); err != nil {
			w.log.Error("data capture", "endpoint", w.endpoint, "file", f.path, "err", err)
		}
	}
	flush := func() {
		for _, f := range files {
			if err := f.buf.Flush(); err != nil {
				w.log.Error("data capture", "endpoint", w.endpoint, "file", f.path, "err", err)
			}
		}
		w.mu.Lock()
		n := w.dropped
		w.dropped = 0
		w.mu.Unlock()
		if n > 0 {
			w.log.Warn("data capture fell behind: invocations not captured", "endpoint", w.endpoint, "count", n)
		}
	}
	for {
		select {
		case e := <-w.events:
			write(e)
			// Write what else is queued, then make it visible.
			for more := true; more; {
				select {
				case e := <-w.events:
					write(e)
				default:
					more = false
				}
			}
			flush()
		case <-ctx.Done():
			for {
				select {
				case e := <-w.events:
					write(e)
				default:
					flush()
					return
				}
			}
		}
	}
}

// captureFile is the file of one variant's captures in one hour.
type captureFile struct {
	path string
	hour time.Time
	f    *os.File
	buf  *bufio.Writer
	enc  *json.Encoder
}

func (f *captureFile) holds(t time.Time) bool { return t.UTC().Truncate(time.Hour).Equal(f.hour) }

func (f *captureFile) close(log *slog.Logger) {
	if err := f.buf.Flush(); err != nil {
		log.Error("data capture", "file", f.path, "err", err)
	}
	if err := f.f.Close(); err != nil {
		log.Error("data capture", "file", f.path, "err", err)
	}
}

// open creates the file of variant's captures in the hour of at.
func (w *captureWriter) open(variant string, at time.Time) (*captureFile, error) {
	at = at.UTC()
	dir := filepath.Join(w.dir, w.endpoint, variant, at.Format("2006/01/02/15"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create capture directory: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%03d-%016x.jsonl", at.Format("04-05"), at.Nanosecond()/1e6, rand.Uint64()))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create capture file: %w", err)
	}
	buf := bufio.NewWriter(f)
	return &captureFile{path: path, hour: at.Truncate(time.Hour), f: f, buf: buf, enc: json.NewEncoder(buf)}, nil
}

// captureLine is one line of a capture file.
type captureLine struct {
	CaptureData   captureData   `json:"captureData"`
	EventMetadata eventMetadata `json:"eventMetadata"`
	EventVersion  string        `json:"eventVersion"`
}

type captureData struct {
	EndpointInput  *capturedPayload `json:"endpointInput,omitempty"`
	EndpointOutput *capturedPayload `json:"endpointOutput,omitempty"`
}

type capturedPayload struct {
	ObservedContentType string `json:"observedContentType"`
	Mode                string `json:"mode"`
	Data                string `json:"data"`
	Encoding            string `json:"encoding"`
}

type eventMetadata struct {
	EventID       string `json:"eventId"`
	InferenceID   string `json:"inferenceId,omitempty"`
	InferenceTime string `json:"inferenceTime"`
}

func (w *captureWriter) line(e captureEvent) captureLine {
	l := captureLine{
		EventMetadata: eventMetadata{EventID: e.requestID, InferenceID: e.inferenceID, InferenceTime: e.at.UTC().Format(time.RFC3339)},
		EventVersion:  "0",
	}
	if w.input {
		l.CaptureData.EndpointInput = w.payload("INPUT", e.inType, e.in)
	}
	if w.output {
		l.CaptureData.EndpointOutput = w.payload("OUTPUT", e.outType, e.out)
	}
	return l
}

// payload encodes data as the content type lists say.
func (w *captureWriter) payload(mode, contentType string, data []byte) *capturedPayload {
	p := &capturedPayload{ObservedContentType: contentType, Mode: mode}
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	switch {
	case slices.Contains(w.csv, mt) || slices.Contains(w.csv, contentType):
		p.Encoding, p.Data = "CSV", string(data)
	case slices.Contains(w.json, mt) || slices.Contains(w.json, contentType):
		p.Encoding, p.Data = "JSON", string(data)
	default:
		p.Encoding, p.Data = "BASE64", base64.StdEncoding.EncodeToString(data)
	}
	return p
}

// captured records a successful invocation with the endpoint's writer, if
// it has one: without, this is all the hot path pays.
func captured(w *captureWriter, req *api.Request, in *hosting.InvokeRequest, resp *hosting.InvokeResponse) {
	if w == nil {
		return
	}
	w.add(captureEvent{
		variant: resp.InvokedProductionVariant, at: req.Time, requestID: req.RequestID,
		inferenceID: api.Header(req.HTTP.Header, keyInferenceID),
		inType:      in.ContentType, in: in.Body, outType: resp.ContentType, out: resp.Body,
	})
}
