package modelserver

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/inferscale/inferscale/internal/modelserver/mlp"
)

// Environment variables the model server reads.
const (
	EnvModel       = "INFERSCALE_MODEL"       // mlp (default) or reference
	EnvModelDir    = "SM_MODEL_DIR"           // model artifacts; default /opt/ml/model
	EnvSetupDelay  = "INFERSCALE_SETUP_DELAY" // simulated download time before loading, e.g. 5s; default 0
	EnvWorkers     = "SAGEMAKER_MODEL_SERVER_WORKERS"
	EnvMLPInput    = "INFERSCALE_MLP_INPUT"   // values per instance; default 64
	EnvMLPHidden   = "INFERSCALE_MLP_HIDDEN"  // hidden layer widths, e.g. 1024,1024,512
	EnvMLPClasses  = "INFERSCALE_MLP_CLASSES" // default 10
	EnvMLPSeed     = "INFERSCALE_MLP_SEED"    // seed of the generated weights; default 1
	EnvRefService  = "INFERSCALE_REFERENCE_SERVICE_TIME"
	EnvRefSlots    = "INFERSCALE_REFERENCE_SLOTS"
	EnvMultiModel  = "SAGEMAKER_MULTI_MODEL"   // "true": multi-model mode, as SageMaker sets it for MultiModel containers
	EnvMaxModels   = "INFERSCALE_MAX_MODELS"   // multi-model mode: most models loaded at once; default 0, no limit
	EnvModelMemory = "INFERSCALE_MODEL_MEMORY" // multi-model mode: bytes of weights loaded at once, e.g. 512MiB; default 0, no limit
	EnvBindHost    = "INFERSCALE_BIND_HOST"    // default 127.0.0.1
	EnvPort        = "SAGEMAKER_BIND_TO_PORT"  // default 8080
	DefaultPort    = 8080
	DefaultHost    = "127.0.0.1"
	WeightsFile    = "model.json" // MLP weights in SM_MODEL_DIR, used instead of generated ones when present
	defaultDir     = "/opt/ml/model"
	maxSetupDelay  = 24 * time.Hour
	maxServiceTime = time.Hour
	minServiceTime = 100 * time.Microsecond // well above timer lateness, so capacity stays exact
	maxSlots       = 1 << 20
	maxWorkers     = 1 << 16
	maxModels      = 1 << 20
)

// ModelKind names one of the models the server can run.
type ModelKind string

// The models the server can run.
const (
	// ModelMLP is a CPU-bound multilayer perceptron classifier.
	ModelMLP ModelKind = "mlp"
	// ModelReference holds each request in one of a fixed number of slots
	// for a fixed service time, so its capacity is known exactly.
	ModelReference ModelKind = "reference"
)

// Config selects and sizes the model a Server runs. The zero value is not
// valid; start from DefaultConfig or ConfigFromEnv.
type Config struct {
	Model ModelKind
	// ModelDir is where model artifacts are read from (SM_MODEL_DIR).
	ModelDir string
	// SetupDelay is slept before the model is loaded, simulating the
	// download of model artifacts.
	SetupDelay time.Duration
	// Workers bounds how many CPU-bound requests (MLP forward passes) run at
	// once (SAGEMAKER_MODEL_SERVER_WORKERS). Zero means GOMAXPROCS, which Go
	// sets from the CPUs the process may run on.
	Workers   int
	MLP       MLPConfig
	Reference ReferenceConfig
	// MultiModel serves SageMaker's multi-model container contract
	// (SAGEMAKER_MULTI_MODEL=true): models are loaded, listed, unloaded and
	// invoked by name through /models; Model, ModelDir and the MLP sizes
	// are then unused, as each model's artifact holds its weights.
	MultiModel bool
	// MaxModels bounds the models loaded at once in multi-model mode; a
	// load beyond it answers 507. Zero means no limit.
	MaxModels int
	// MaxModelBytes bounds the memory of the weights loaded at once in
	// multi-model mode; a load beyond it answers 507. Zero means no limit.
	MaxModelBytes int64
}

// MLPConfig sizes the generated MLP. It is ignored when the model directory
// holds a weights file, whose shape then rules.
type MLPConfig struct {
	Input   int   // values per instance
	Hidden  []int // widths of the hidden layers, at least one
	Classes int
	Seed    int64
}

// ReferenceConfig sets the reference model's capacity, which is exactly
// Slots / ServiceTime requests per unit of time.
type ReferenceConfig struct {
	ServiceTime time.Duration
	Slots       int
}

// DefaultConfig returns the configuration used when no variable is set. Its
// MLP costs about 1.7 million multiply-adds, roughly 0.5 ms of one core, per
// instance.
func DefaultConfig() Config {
	return Config{
		Model:    ModelMLP,
		ModelDir: defaultDir,
		MLP: MLPConfig{
			Input:   64,
			Hidden:  []int{1024, 1024, 512},
			Classes: 10,
			Seed:    1,
		},
		Reference: ReferenceConfig{ServiceTime: 20 * time.Millisecond, Slots: 4},
	}
}

// ConfigFromEnv reads the configuration from environment variables (see the
// package documentation), starting from DefaultConfig for those unset or
// empty. A nil getenv means os.Getenv. Errors name the variable and what it
// must be.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := DefaultConfig()
	var errs []error
	set := func(key string, parse func(string) error) {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			if err := parse(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", key, v, err))
			}
		}
	}
	set(EnvModel, func(v string) error {
		c.Model = ModelKind(strings.ToLower(v))
		return checkModel(c.Model)
	})
	set(EnvModelDir, func(v string) error { c.ModelDir = v; return nil })
	set(EnvSetupDelay, func(v string) error { return parseDuration(v, 0, maxSetupDelay, &c.SetupDelay) })
	set(EnvWorkers, func(v string) error { return parseInt(v, 1, maxWorkers, &c.Workers) })
	set(EnvMLPInput, func(v string) error { return parseInt(v, 1, mlp.MaxParameters, &c.MLP.Input) })
	set(EnvMLPHidden, func(v string) error {
		c.MLP.Hidden = nil
		for i, f := range strings.Split(v, ",") {
			var n int
			if err := parseInt(strings.TrimSpace(f), 1, mlp.MaxParameters, &n); err != nil {
				return fmt.Errorf("layer %d: %w (want comma-separated widths such as 1024,512)", i+1, err)
			}
			c.MLP.Hidden = append(c.MLP.Hidden, n)
		}
		return nil
	})
	set(EnvMLPClasses, func(v string) error { return parseInt(v, 2, mlp.MaxParameters, &c.MLP.Classes) })
	set(EnvMLPSeed, func(v string) error {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errors.New("want an integer")
		}
		c.MLP.Seed = s
		return nil
	})
	set(EnvRefService, func(v string) error {
		return parseDuration(v, minServiceTime, maxServiceTime, &c.Reference.ServiceTime)
	})
	set(EnvRefSlots, func(v string) error { return parseInt(v, 1, maxSlots, &c.Reference.Slots) })
	set(EnvMultiModel, func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		c.MultiModel = b
		return nil
	})
	set(EnvMaxModels, func(v string) error { return parseInt(v, 0, maxModels, &c.MaxModels) })
	set(EnvModelMemory, func(v string) error { return parseBytes(v, &c.MaxModelBytes) })
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("model server config: %w", errors.Join(errs...))
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports whether c can be served, naming the variable at fault.
func (c Config) Validate() error {
	var errs []error
	if err := checkModel(c.Model); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvModel, err))
	}
	if c.ModelDir == "" {
		errs = append(errs, fmt.Errorf("%s: empty model directory", EnvModelDir))
	}
	if c.SetupDelay < 0 || c.SetupDelay > maxSetupDelay {
		errs = append(errs, fmt.Errorf("%s: %v is outside [0, %v]", EnvSetupDelay, c.SetupDelay, maxSetupDelay))
	}
	if c.Workers < 0 || c.Workers > maxWorkers {
		errs = append(errs, fmt.Errorf("%s: %d is outside [1, %d] (0 means GOMAXPROCS)", EnvWorkers, c.Workers, maxWorkers))
	}
	if c.MaxModels < 0 || c.MaxModels > maxModels {
		errs = append(errs, fmt.Errorf("%s: %d is outside [0, %d]", EnvMaxModels, c.MaxModels, maxModels))
	}
	if c.MaxModelBytes < 0 {
		errs = append(errs, fmt.Errorf("%s: negative byte count %d", EnvModelMemory, c.MaxModelBytes))
	}
	if c.Model == ModelMLP {
		if c.MLP.Classes < 2 {
			errs = append(errs, fmt.Errorf("%s: %d classes, want at least 2", EnvMLPClasses, c.MLP.Classes))
		}
		if len(c.MLP.Hidden) == 0 {
			errs = append(errs, fmt.Errorf("%s: no hidden layers, want at least one", EnvMLPHidden))
		}
		if err := mlp.CheckSizes(c.mlpSizes()); err != nil {
			errs = append(errs, fmt.Errorf("%s, %s, %s: %w", EnvMLPInput, EnvMLPHidden, EnvMLPClasses, err))
		}
	}
	if c.Model == ModelReference {
		if rc := c.Reference; rc.ServiceTime < minServiceTime || rc.ServiceTime > maxServiceTime {
			errs = append(errs, fmt.Errorf("%s: %v is outside [%v, %v]", EnvRefService, rc.ServiceTime, minServiceTime, maxServiceTime))
		}
		if rc := c.Reference; rc.Slots < 1 || rc.Slots > maxSlots {
			errs = append(errs, fmt.Errorf("%s: %d is outside [1, %d]", EnvRefSlots, rc.Slots, maxSlots))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("model server config: %w", errors.Join(errs...))
	}
	return nil
}

// Env returns the KEY=VALUE environment that makes ConfigFromEnv return c,
// for a launcher to pass on to a model server process. It names every
// variable, so the result does not depend on defaults. Workers is left out
// when zero, so that the process sizes itself to the CPUs it is given.
func (c Config) Env() []string {
	hidden := make([]string, len(c.MLP.Hidden))
	for i, h := range c.MLP.Hidden {
		hidden[i] = strconv.Itoa(h)
	}
	env := []string{
		EnvModel + "=" + string(c.Model),
		EnvModelDir + "=" + c.ModelDir,
		EnvSetupDelay + "=" + c.SetupDelay.String(),
		EnvMLPInput + "=" + strconv.Itoa(c.MLP.Input),
		EnvMLPHidden + "=" + strings.Join(hidden, ","),
		EnvMLPClasses + "=" + strconv.Itoa(c.MLP.Classes),
		EnvMLPSeed + "=" + strconv.FormatInt(c.MLP.Seed, 10),
		EnvRefService + "=" + c.Reference.ServiceTime.String(),
		EnvRefSlots + "=" + strconv.Itoa(c.Reference.Slots),
		EnvMultiModel + "=" + strconv.FormatBool(c.MultiModel),
		EnvMaxModels + "=" + strconv.Itoa(c.MaxModels),
		EnvModelMemory + "=" + strconv.FormatInt(c.MaxModelBytes, 10),
	}
	if c.Workers > 0 {
		env = append(env, EnvWorkers+"="+strconv.Itoa(c.Workers))
	}
	return env
}

// WeightsPath is where the MLP's weights file is looked for.
func (c Config) WeightsPath() string { return filepath.Join(c.ModelDir, WeightsFile) }

// mlpSizes returns the generated network's widths from input to classes.
func (c Config) mlpSizes() []int {
	s := append([]int{c.MLP.Input}, c.MLP.Hidden...)
	return append(s, c.MLP.Classes)
}

// ListenAddress returns the host:port a model server listens on:
// INFERSCALE_BIND_HOST (default 127.0.0.1, never all interfaces unless asked)
// and SAGEMAKER_BIND_TO_PORT (default 8080; 0 picks a free port). A nil
// getenv means os.Getenv.
func ListenAddress(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	host := strings.TrimSpace(getenv(EnvBindHost))
	if host == "" {
		host = DefaultHost
	}
	if strings.ContainsAny(host, " /") {
		return "", fmt.Errorf("%s=%q: want a host name or IP address", EnvBindHost, host)
	}
	port := DefaultPort
	if v := strings.TrimSpace(getenv(EnvPort)); v != "" {
		if err := parseInt(v, 0, 65535, &port); err != nil {
			return "", fmt.Errorf("%s=%q: %w", EnvPort, v, err)
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

func checkModel(m ModelKind) error {
	switch m {
	case ModelMLP, ModelReference:
		return nil
	}
	return fmt.Errorf("unknown model %q, want %q or %q", m, ModelMLP, ModelReference)
}

func parseInt(v string, lo, hi int, dst *int) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("want an integer in [%d, %d]", lo, hi)
	}
	if n < lo || n > hi {
		return fmt.Errorf("%d is outside [%d, %d]", n, lo, hi)
	}
	*dst = n
	return nil
}

func parseDuration(v string, lo, hi time.Duration, dst *time.Duration) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("want a duration such as 250ms or 5s")
	}
	if d < lo || d > hi {
		return fmt.Errorf("%v is outside [%v, %v]", d, lo, hi)
	}
	*dst = d
	return nil
}

// byteUnits are the suffixes parseBytes accepts, longest first so that
// "MiB" is not read as "B".
var byteUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"B", 1},
}

// parseBytes reads a byte count: an integer, optionally followed by a unit
// such as KiB, MiB, GiB (powers of 1024), KB, MB, GB (powers of 1000) or
// B.
func parseBytes(v string, dst *int64) error {
	num, factor := v, int64(1)
	for _, u := range byteUnits {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			num, factor = strings.TrimSpace(n), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return errors.New("want a byte count such as 536870912, 512MiB or 2GiB")
	}
	if n > math.MaxInt64/factor {
		return errors.New("byte count too large")
	}
	*dst = n * factor
	return nil
}
