// Package mlp is a small multilayer perceptron classifier: dense layers with
// ReLU between them and a softmax over the last. Its forward pass is plain
// float32 arithmetic on one CPU core, which makes it a genuine CPU-bound
// workload for load tests: its cost grows with the layer sizes and its
// throughput with the number of cores running passes in parallel.
//
// A Network is immutable once built, so one Network may serve any number of
// goroutines at once.
package mlp

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// MaxParameters bounds the size of a network (weights plus biases), so that a
// typo in a layer size fails clearly instead of exhausting memory.
const MaxParameters = 1 << 26

// Layer is one dense layer: Out neurons, each with In weights and a bias.
type Layer struct {
	In, Out int
	// Weights holds Out rows of In weights, row-major: the weight from input
	// i to neuron o is Weights[o*In+i].
	Weights []float32
	// Biases holds one bias per neuron.
	Biases []float32
}

// Network is a multilayer perceptron. The zero value is not usable; build one
// with New, Generate or ReadJSON.
type Network struct {
	layers   []Layer
	maxWidth int
}

// New returns the network made of layers, in order from input to output. The
// layers are used, not copied. Each layer's In must equal the previous
// layer's Out, and the slices must have the lengths In and Out imply.
func New(layers []Layer) (*Network, error) {
	if len(layers) == 0 {
		return nil, errors.New("mlp: a network needs at least one layer")
	}
	n := &Network{layers: layers}
	params := 0
	for i, l := range layers {
		if l.In < 1 || l.Out < 1 {
			return nil, fmt.Errorf("mlp: layer %d: sizes %dx%d: both must be at least 1", i, l.In, l.Out)
		}
		if i > 0 && l.In != layers[i-1].Out {
			return nil, fmt.Errorf("mlp: layer %d has %d inputs but layer %d has %d outputs", i, l.In, i-1, layers[i-1].Out)
		}
		if len(l.Weights) != l.In*l.Out {
			return nil, fmt.Errorf("mlp: layer %d: %d weights, want %d (%d outputs x %d inputs)", i, len(l.Weights), l.In*l.Out, l.Out, l.In)
		}
		if len(l.Biases) != l.Out {
			return nil, fmt.Errorf("mlp: layer %d: %d biases, want %d", i, len(l.Biases), l.Out)
		}
		for j, w := range l.Weights {
			if !finite32(w) {
				return nil, fmt.Errorf("mlp: layer %d: weight %d is %v", i, j, w)
			}
		}
		for j, b := range l.Biases {
			if !finite32(b) {
				return nil, fmt.Errorf("mlp: layer %d: bias %d is %v", i, j, b)
			}
		}
		params += l.In*l.Out + l.Out
		n.maxWidth = max(n.maxWidth, l.In, l.Out)
	}
	if params > MaxParameters {
		return nil, fmt.Errorf("mlp: %d parameters, at most %d allowed", params, MaxParameters)
	}
	return n, nil
}

// CheckSizes reports whether Generate would accept sizes, without building
// the network.
func CheckSizes(sizes []int) error {
	if len(sizes) < 2 {
		return fmt.Errorf("mlp: %d sizes, want at least 2 (inputs and classes)", len(sizes))
	}
	params := 0
	for i, s := range sizes {
		if s < 1 {
			return fmt.Errorf("mlp: size %d is %d, must be at least 1", i, s)
		}
		if s > MaxParameters {
			return fmt.Errorf("mlp: size %d is %d, at most %d allowed", i, s, MaxParameters)
		}
		if i > 0 {
			params += sizes[i-1]*s + s
			if params > MaxParameters {
				return fmt.Errorf("mlp: sizes %v need more than %d parameters", sizes, MaxParameters)
			}
		}
	}
	return nil
}

// Generate returns a network with the given layer widths, from the input
// width through the hidden layers to the number of classes, whose weights
// are drawn deterministically from seed: the same seed and sizes give the
// same network, bit for bit, in every process. Weights are uniform in
// ±sqrt(6/in) (He initialisation, which keeps ReLU activations of order one
// for inputs of order one); biases are uniform in ±0.01.
func Generate(seed int64, sizes []int) (*Network, error) {
	if err := CheckSizes(sizes); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	layers := make([]Layer, len(sizes)-1)
	for i := range layers {
		in, out := sizes[i], sizes[i+1]
		limit := math.Sqrt(6 / float64(in))
		l := Layer{In: in, Out: out, Weights: make([]float32, in*out), Biases: make([]float32, out)}
		for j := range l.Weights {
			l.Weights[j] = float32((2*rng.Float64() - 1) * limit)
		}
		for j := range l.Biases {
			l.Biases[j] = float32((2*rng.Float64() - 1) * 0.01)
		}
		layers[i] = l
	}
	return New(layers)
}

// InputSize is the number of values one instance must have.
func (n *Network) InputSize() int { return n.layers[0].In }

// Classes is the number of classes the network tells apart.
func (n *Network) Classes() int { return n.layers[len(n.layers)-1].Out }

// Sizes returns the layer widths from input to classes.
func (n *Network) Sizes() []int {
	s := []int{n.layers[0].In}
	for _, l := range n.layers {
		s = append(s, l.Out)
	}
	return s
}

// Layers returns the network's layers. The caller must not modify them.
func (n *Network) Layers() []Layer { return n.layers }

// Parameters is the number of weights and biases.
func (n *Network) Parameters() int {
	p := 0
	for _, l := range n.layers {
		p += l.In*l.Out + l.Out
	}
	return p
}

// MultiplyAdds is the number of multiply-add operations in one forward pass,
// the measure of its cost.
func (n *Network) MultiplyAdds() int {
	m := 0
	for _, l := range n.layers {
		m += l.In * l.Out
	}
	return m
}

// Predict runs one forward pass on x, which must have InputSize values, and
// returns the most probable class and the probability of every class.
func (n *Network) Predict(x []float64) (label int, probabilities []float64, err error) {
	if len(x) != n.InputSize() {
		return 0, nil, fmt.Errorf("mlp: input has %d values, want %d", len(x), n.InputSize())
	}
	cur := make([]float32, n.maxWidth)
	next := make([]float32, n.maxWidth)
	for i, v := range x {
		cur[i] = float32(v)
	}
	last := len(n.layers) - 1
	for li, l := range n.layers {
		in := cur[:l.In]
		for o := range l.Out {
			s := l.Biases[o] + dot(l.Weights[o*l.In:(o+1)*l.In], in)
			if li < last && s < 0 { // ReLU on hidden layers only
				s = 0
			}
			next[o] = s
		}
		cur, next = next, cur
	}
	probabilities = softmax(cur[:n.Classes()])
	for i, p := range probabilities {
		if p > probabilities[label] {
			label = i
		}
	}
	return label, probabilities, nil
}

// dot returns the dot product of a and b, which have the same length. Four
// independent accumulators let the CPU overlap the additions.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// softmax returns exp(z_i)/sum(exp(z)), computed in float64 after
// subtracting the maximum so that large logits cannot overflow.
func softmax(z []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = max(m, float64(v))
	}
	p := make([]float64, len(z))
	sum := 0.0
	for i, v := range z {
		p[i] = math.Exp(float64(v) - m)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

func finite32(v float32) bool {
	return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0)
}
