package autoscale

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/inferscale/inferscale/internal/schedule"
)

// ActionSchedule is a scheduled action with its parsed schedule.
type ActionSchedule struct {
	Name     string
	Schedule schedule.Schedule
	Action   ScalableTargetAction
	// Since is when the action was created or last changed: it runs only at
	// times after it.
	Since time.Time
}

// ParseActionSchedule parses a scheduled action's Schedule in its Timezone
// (UTC when empty), bounded by its StartTime and EndTime. Without a
// StartTime, rate() intervals count from origin (AWS: from when the action
// was created).
func ParseActionSchedule(a ScheduledAction, origin time.Time) (schedule.Schedule, error) {
	loc := time.UTC
	if a.Timezone != "" {
		l, err := LoadTimezone(a.Timezone)
		if err != nil {
			return schedule.Schedule{}, err
		}
		loc = l
	}
	s, err := schedule.Parse(a.Schedule, loc)
	if err != nil {
		return schedule.Schedule{}, err
	}
	s = s.WithOrigin(origin)
	var start, end time.Time
	if a.StartTime != nil {
		start = a.StartTime.Time
	}
	if a.EndTime != nil {
		end = a.EndTime.Time
	}
	if !start.IsZero() || !end.IsZero() {
		s = s.Window(start, end)
	}
	return s, nil
}

// ianaName is the form of an IANA time zone name: UTC, or an area and a
// location (America/New_York, America/Argentina/Buenos_Aires, Etc/GMT+5),
// or one of the few upper-case legacy names (EST5EDT, GMT).
var ianaName = regexp.MustCompile(`^[A-Z][A-Za-z0-9_+-]*(/[A-Z0-9][A-Za-z0-9_+-]*){0,2}$`)

// LoadTimezone loads a scheduled action's Timezone. AWS takes IANA
// (Joda-Time) names; time.LoadLocation also takes "Local" (the server's
// zone), "" and file names of the zoneinfo directory, which are refused.
func LoadTimezone(name string) (*time.Location, error) {
	invalid := fmt.Errorf("time zone %q is not a valid IANA time zone", name)
	if !ianaName.MatchString(name) || name == "Local" || name == "Factory" {
		return nil, invalid
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, invalid
	}
	return loc, nil
}

// ScheduledRun is an occurrence of a scheduled action.
type ScheduledRun struct {
	Name   string
	At     time.Time
	Action ScalableTargetAction
}

// maxCatchUp bounds how many occurrences DueRuns steps through for one
// action (a rate(1 minute) schedule missed for a year stays bounded).
const maxCatchUp = 1 << 20

// DueRuns returns the occurrences that are due at now for scheduled actions
// last processed at after: for each action, its latest occurrence in
// (max(after, Since), now]; earlier missed occurrences of the same action
// are superseded by the latest. Runs are in time order (then by name). AWS
// runs an action at its time; a controller that was down runs the latest
// missed occurrence when it comes back.
func DueRuns(actions []ActionSchedule, after, now time.Time) []ScheduledRun {
	var out []ScheduledRun
	for _, a := range actions {
		from := after
		if a.Since.After(from) {
			from = a.Since
		}
		var last time.Time
		t := from
		for range maxCatchUp {
			next, ok := a.Schedule.Next(t)
			if !ok || next.After(now) {
				break
			}
			last, t = next, next
		}
		if !last.IsZero() {
			out = append(out, ScheduledRun{Name: a.Name, At: last, Action: a.Action})
		}
	}
	slices.SortFunc(out, func(x, y ScheduledRun) int {
		if c := x.At.Compare(y.At); c != 0 {
			return c
		}
		return compareStrings(x.Name, y.Name)
	})
	return out
}

// NextRun returns the earliest occurrence of any action after after (and
// after the action's Since); ok is false when no action runs again.
func NextRun(actions []ActionSchedule, after time.Time) (next time.Time, ok bool) {
	for _, a := range actions {
		from := after
		if a.Since.After(from) {
			from = a.Since
		}
		t, has := a.Schedule.Next(from)
		if has && (!ok || t.Before(next)) {
			next, ok = t, true
		}
	}
	return next, ok
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
