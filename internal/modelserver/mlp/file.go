package mlp

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// FileFormat is the value of the "format" field of a weights file.
const FileFormat = "inferscale-mlp/v1"

// file is the JSON form of a network:
//
//	{
//	  "format": "inferscale-mlp/v1",
//	  "layers": [
//	    {"weights": [[w, ...], ...], "biases": [b, ...]},
//	    ...
//	  ]
//	}
//
// Layers run from input to output. In each layer, weights has one row per
// neuron and each row one weight per input, so a layer with In inputs and
// Out neurons has Out rows of In numbers and Out biases. Hidden layers apply
// ReLU; the last applies softmax. The input width is the length of the first
// layer's rows and the number of classes the number of the last layer's
// biases.
type file struct {
	Format string      `json:"format"`
	Layers []fileLayer `json:"layers"`
}

type fileLayer struct {
	Weights [][]float32 `json:"weights"`
	Biases  []float32   `json:"biases"`
}

// ReadJSON decodes a network from its JSON form (see WriteJSON).
func ReadJSON(r io.Reader) (*Network, error) {
	dec := json.NewDecoder(bufio.NewReader(r))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("mlp: decode weights: %w", err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return nil, errors.New("mlp: decode weights: data after the JSON object")
	}
	if f.Format != FileFormat {
		return nil, fmt.Errorf("mlp: weights format %q, want %q", f.Format, FileFormat)
	}
	layers := make([]Layer, len(f.Layers))
	for i, fl := range f.Layers {
		if len(fl.Weights) == 0 {
			return nil, fmt.Errorf("mlp: layer %d has no weight rows", i)
		}
		in := len(fl.Weights[0])
		l := Layer{In: in, Out: len(fl.Weights), Weights: make([]float32, 0, in*len(fl.Weights)), Biases: fl.Biases}
		for j, row := range fl.Weights {
			if len(row) != in {
				return nil, fmt.Errorf("mlp: layer %d: weight row %d has %d values, row 0 has %d", i, j, len(row), in)
			}
			l.Weights = append(l.Weights, row...)
		}
		layers[i] = l
	}
	return New(layers)
}

// WriteJSON encodes the network in the format ReadJSON reads:
//
//	{"format": "inferscale-mlp/v1",
//	 "layers": [{"weights": [[...one row of In weights per neuron...]], "biases": [...one per neuron...]}, ...]}
//
// Float32 values survive the round trip exactly.
func (n *Network) WriteJSON(w io.Writer) error {
	f := file{Format: FileFormat, Layers: make([]fileLayer, len(n.layers))}
	for i, l := range n.layers {
		rows := make([][]float32, l.Out)
		for o := range rows {
			rows[o] = l.Weights[o*l.In : (o+1)*l.In]
		}
		f.Layers[i] = fileLayer{Weights: rows, Biases: l.Biases}
	}
	if err := json.NewEncoder(w).Encode(f); err != nil {
		return fmt.Errorf("mlp: encode weights: %w", err)
	}
	return nil
}
