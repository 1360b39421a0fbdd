package modelserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/inferscale/inferscale/internal/modelserver/mlp"
)

// Prediction is the answer for one instance.
type Prediction struct {
	Label         int       `json:"label"`
	Probabilities []float64 `json:"probabilities,omitempty"`
}

// Response is the body of a successful invocation.
type Response struct {
	Predictions []Prediction `json:"predictions"`
}

// model is what a Server runs. Implementations are safe for concurrent use.
// A multi-model server would hold several, by name, each loaded on its own.
type model interface {
	// inputSize is the number of values each instance must have; 0 accepts
	// any.
	inputSize() int
	// cpuBound reports whether predict keeps a core busy, in which case the
	// server bounds concurrent calls by its workers.
	cpuBound() bool
	// predict answers instances, one prediction each.
	predict(ctx context.Context, instances [][]float64) ([]Prediction, error)
}

// warmupPasses is how many forward passes an MLP runs before it reports
// itself ready, so that the first requests do not pay for cold caches.
const warmupPasses = 16

// loadModel builds the model cfg describes: it sleeps cfg.SetupDelay (the
// simulated download), then does the real setup work.
func loadModel(ctx context.Context, cfg Config, log *slog.Logger) (model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.SetupDelay > 0 {
		log.Info("simulating model download", "delay", cfg.SetupDelay)
		if err := sleepUntil(ctx, time.Now().Add(cfg.SetupDelay)); err != nil {
			return nil, err
		}
	}
	switch cfg.Model {
	case ModelReference:
		return newReferenceModel(cfg.Reference), nil
	default:
		net, err := loadNetwork(cfg, log)
		if err != nil {
			return nil, err
		}
		m := &mlpModel{net: net}
		if err := m.warmUp(ctx); err != nil {
			return nil, err
		}
		return m, nil
	}
}

// loadNetwork reads the weights file in the model directory if there is one,
// and otherwise generates the network from the configured sizes and seed.
func loadNetwork(cfg Config, log *slog.Logger) (*mlp.Network, error) {
	path := cfg.WeightsPath()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		net, err := mlp.Generate(cfg.MLP.Seed, cfg.mlpSizes())
		if err != nil {
			return nil, fmt.Errorf("generate mlp: %w", err)
		}
		log.Info("generated mlp weights", "sizes", net.Sizes(), "seed", cfg.MLP.Seed)
		return net, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open mlp weights: %w", err)
	}
	defer f.Close()
	net, err := mlp.ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("read mlp weights %s: %w", path, err)
	}
	log.Info("read mlp weights", "path", path, "sizes", net.Sizes())
	return net, nil
}

// mlpModel serves an MLP classifier.
type mlpModel struct {
	net *mlp.Network
}

func (m *mlpModel) inputSize() int { return m.net.InputSize() }
func (m *mlpModel) cpuBound() bool { return true }

func (m *mlpModel) predict(ctx context.Context, instances [][]float64) ([]Prediction, error) {
	preds := make([]Prediction, len(instances))
	for i, x := range instances {
		if err := ctx.Err(); err != nil { // the caller gave up on a long batch
			return nil, err
		}
		label, p, err := m.net.Predict(x)
		if err != nil {
			return nil, fmt.Errorf("instance %d: %w", i, err)
		}
		preds[i] = Prediction{Label: label, Probabilities: p}
	}
	return preds, nil
}

// warmUp runs forward passes on a fixed input and checks that they give
// finite probabilities, so that weights which overflow fail at setup rather
// than on every request.
func (m *mlpModel) warmUp(ctx context.Context) error {
	x := make([]float64, m.net.InputSize())
	for i := range x {
		x[i] = math.Sin(float64(i + 1))
	}
	for range warmupPasses {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, p, err := m.net.Predict(x)
		if err != nil {
			return fmt.Errorf("warm up mlp: %w", err)
		}
		for c, v := range p {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("warm up mlp: probability of class %d is %v: the weights overflow", c, v)
			}
		}
	}
	return nil
}

// sleepUntil waits until deadline or until ctx is done.
func sleepUntil(ctx context.Context, deadline time.Time) error {
	d := time.Until(deadline)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
