package mlp

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
)

// tinyNetwork is 2 inputs -> 2 hidden (ReLU) -> 2 classes (softmax), small
// enough to compute by hand.
func tinyNetwork(t *testing.T) *Network {
	t.Helper()
	n, err := New([]Layer{
		{In: 2, Out: 2, Weights: []float32{1, 2, -1, 1}, Biases: []float32{0.5, -1}},
		{In: 2, Out: 2, Weights: []float32{1, 0, 0.5, -1}, Biases: []float32{0, 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPredictByHand(t *testing.T) {
	n := tinyNetwork(t)
	tests := []struct {
		name      string
		x         []float64
		logits    [2]float64 // computed by hand below
		wantLabel int
	}{
		// h = relu([1+2*2+0.5, -1+2-1]) = [5.5, 0]; z = [5.5, 0.5*5.5-0+1] = [5.5, 3.75]
		{"both hidden active or zero", []float64{1, 2}, [2]float64{5.5, 3.75}, 0},
		// h = relu([-2+0+0.5, 2+0-1]) = [0, 1]; z = [0, 0-1+1] = [0, 0]
		{"first hidden clipped", []float64{-2, 0}, [2]float64{0, 0}, 0},
		// h = relu([0-6+0.5, 0-3-1]) = relu([-5.5, -4]) = [0, 0]; z = [0, 1]
		{"all hidden clipped", []float64{0, -3}, [2]float64{0, 1}, 1},
		// x=[3,-1]: h = relu([3-2+0.5, -3-1-1]) = [1.5, 0]; z = [1.5, 0.75+1] = [1.5, 1.75]
		{"second class wins", []float64{3, -1}, [2]float64{1.5, 1.75}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			label, p, err := n.Predict(tt.x)
			if err != nil {
				t.Fatal(err)
			}
			e0, e1 := math.Exp(tt.logits[0]), math.Exp(tt.logits[1])
			want := []float64{e0 / (e0 + e1), e1 / (e0 + e1)}
			if label != tt.wantLabel {
				t.Errorf("label = %d, want %d (probabilities %v)", label, tt.wantLabel, p)
			}
			for i := range want {
				if math.Abs(p[i]-want[i]) > 1e-6 {
					t.Errorf("p[%d] = %v, want %v", i, p[i], want[i])
				}
			}
		})
	}
}

func TestPredictWrongLength(t *testing.T) {
	n := tinyNetwork(t)
	for _, x := range [][]float64{nil, {1}, {1, 2, 3}} {
		if _, _, err := n.Predict(x); err == nil || !strings.Contains(err.Error(), "want 2") {
			t.Errorf("Predict(%v) error = %v, want one naming the expected length", x, err)
		}
	}
}

func TestSoftmaxLargeLogits(t *testing.T) {
	p := softmax([]float32{1000, 1000, -1000})
	if math.Abs(p[0]-0.5) > 1e-12 || math.Abs(p[1]-0.5) > 1e-12 || p[2] != 0 {
		t.Errorf("softmax = %v, want [0.5 0.5 0]", p)
	}
}

func TestDotMatchesNaive(t *testing.T) {
	for length := range 11 {
		a := make([]float32, length)
		b := make([]float32, length)
		want := 0.0
		for i := range a {
			a[i], b[i] = float32(i+1), float32(2*i-3)
			want += float64(a[i]) * float64(b[i])
		}
		if got := dot(a, b); float64(got) != want {
			t.Errorf("dot of length %d = %v, want %v", length, got, want)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	sizes := []int{16, 32, 8, 4}
	a, err := Generate(42, sizes)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(42, sizes)
	c, _ := Generate(43, sizes)
	if !sameWeights(a, b) {
		t.Error("two networks from seed 42 differ")
	}
	if sameWeights(a, c) {
		t.Error("networks from seeds 42 and 43 are identical")
	}
	if got := a.Sizes(); !slices.Equal(got, sizes) {
		t.Errorf("Sizes() = %v, want %v", got, sizes)
	}
	if got, want := a.Parameters(), 16*32+32+32*8+8+8*4+4; got != want {
		t.Errorf("Parameters() = %d, want %d", got, want)
	}
	if got, want := a.MultiplyAdds(), 16*32+32*8+8*4; got != want {
		t.Errorf("MultiplyAdds() = %d, want %d", got, want)
	}
	x := make([]float64, 16)
	for i := range x {
		x[i] = math.Sin(float64(i))
	}
	la, pa, _ := a.Predict(x)
	lb, pb, _ := b.Predict(x)
	if la != lb || !slices.Equal(pa, pb) {
		t.Errorf("same seed, different predictions: %d %v vs %d %v", la, pa, lb, pb)
	}
	sum := 0.0
	for _, p := range pa {
		if p < 0 || p > 1 {
			t.Errorf("probability %v out of [0,1]", p)
		}
		sum += p
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("probabilities sum to %v", sum)
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		sizes []int
		want  string
	}{
		{[]int{4}, "at least 2"},
		{[]int{4, 0, 2}, "size 1 is 0"},
		{[]int{-1, 2}, "size 0 is -1"},
		{[]int{1 << 14, 1 << 14}, "parameters"},
	}
	for _, tt := range tests {
		_, err := Generate(1, tt.sizes)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Generate(%v) error = %v, want one containing %q", tt.sizes, err, tt.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name   string
		layers []Layer
		want   string
	}{
		{"no layers", nil, "at least one layer"},
		{"zero size", []Layer{{In: 0, Out: 1, Biases: []float32{0}}}, "at least 1"},
		{"short weights", []Layer{{In: 2, Out: 1, Weights: []float32{1}, Biases: []float32{0}}}, "1 weights, want 2"},
		{"short biases", []Layer{{In: 1, Out: 2, Weights: []float32{1, 1}, Biases: []float32{0}}}, "1 biases, want 2"},
		{"mismatched layers", []Layer{
			{In: 1, Out: 2, Weights: []float32{1, 1}, Biases: []float32{0, 0}},
			{In: 3, Out: 1, Weights: []float32{1, 1, 1}, Biases: []float32{0}},
		}, "layer 1 has 3 inputs but layer 0 has 2 outputs"},
		{"nan weight", []Layer{{In: 1, Out: 1, Weights: []float32{nan}, Biases: []float32{0}}}, "weight 0 is NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.layers)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	a, err := Generate(7, []int{5, 6, 3})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := a.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	b, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !sameWeights(a, b) {
		t.Error("weights changed in a JSON round trip")
	}
}

func TestReadJSON(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // error substring; empty for success
	}{
		{"tiny", `{"format":"inferscale-mlp/v1","layers":[{"weights":[[1,2],[-1,1]],"biases":[0.5,-1]},{"weights":[[1,0],[0.5,-1]],"biases":[0,1]}]}`, ""},
		{"no format", `{"layers":[{"weights":[[1]],"biases":[0]}]}`, `format ""`},
		{"ragged rows", `{"format":"inferscale-mlp/v1","layers":[{"weights":[[1,2],[1]],"biases":[0,0]}]}`, "row 1 has 1 values"},
		{"no rows", `{"format":"inferscale-mlp/v1","layers":[{"weights":[],"biases":[]}]}`, "no weight rows"},
		{"no layers", `{"format":"inferscale-mlp/v1","layers":[]}`, "at least one layer"},
		{"unknown field", `{"format":"inferscale-mlp/v1","layers":[],"extra":1}`, "unknown field"},
		{"trailing data", `{"format":"inferscale-mlp/v1","layers":[{"weights":[[1]],"biases":[0]}]} {}`, "data after"},
		{"not json", `weights`, "decode weights"},
		{"mismatched biases", `{"format":"inferscale-mlp/v1","layers":[{"weights":[[1]],"biases":[0,1]}]}`, "2 biases, want 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ReadJSON(strings.NewReader(tt.in))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !sameWeights(n, tinyNetwork(t)) {
					t.Error("decoded network differs from the tiny network")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// BenchmarkPredictDefault measures one forward pass of the model server's
// default network (64 inputs, hidden 1024,1024,512, 10 classes).
func BenchmarkPredictDefault(b *testing.B) {
	n, err := Generate(1, []int{64, 1024, 1024, 512, 10})
	if err != nil {
		b.Fatal(err)
	}
	x := make([]float64, n.InputSize())
	for i := range x {
		x[i] = math.Sin(float64(i))
	}
	b.ReportMetric(float64(n.MultiplyAdds()), "madds/op")
	for b.Loop() {
		if _, _, err := n.Predict(x); err != nil {
			b.Fatal(err)
		}
	}
}

func sameWeights(a, b *Network) bool {
	if len(a.layers) != len(b.layers) {
		return false
	}
	for i := range a.layers {
		la, lb := a.layers[i], b.layers[i]
		if la.In != lb.In || la.Out != lb.Out || !equal32(la.Weights, lb.Weights) || !equal32(la.Biases, lb.Biases) {
			return false
		}
	}
	return true
}

func equal32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
