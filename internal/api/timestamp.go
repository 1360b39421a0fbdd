package api

import (
	"time"

	"github.com/inferscale/inferscale/internal/awstime"
)

// Timestamp is the AWS JSON form of a time; see awstime.Timestamp. Types in
// domain packages use awstime directly, handlers may use either name.
type Timestamp = awstime.Timestamp

// At returns a *Timestamp for t, for optional members.
func At(t time.Time) *Timestamp { return awstime.At(t) }
