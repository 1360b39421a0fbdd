package cloudwatch

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// AlarmsWithActions returns, for each of arns, the alarms of an account and
// region that name it among their actions (in any state), by alarm name.
// Application Auto Scaling lists a step scaling policy's alarms this way.
func (s *Service) AlarmsWithActions(ctx context.Context, account, region string, arns ...string) (map[string][]*MetricAlarm, error) {
	out := make(map[string][]*MetricAlarm, len(arns))
	if len(arns) == 0 {
		return out, nil
	}
	all, err := s.allAlarms(ctx, account, region, "")
	if err != nil {
		return nil, fmt.Errorf("list alarms: %w", err)
	}
	for _, a := range all {
		for _, arn := range arns {
			if slices.Contains(a.AlarmActions, arn) || slices.Contains(a.OKActions, arn) || slices.Contains(a.InsufficientDataActions, arn) {
				out[arn] = append(out[arn], a)
			}
		}
	}
	return out, nil
}

// AlarmsNamed returns the alarms of an account and region whose names start
// with prefix, by name. Application Auto Scaling finds the target-tracking
// alarms it created this way, to remove those no policy names any more
// (left behind by a server that stopped between creating them and storing
// their policy).
func (s *Service) AlarmsNamed(ctx context.Context, account, region, prefix string) ([]*MetricAlarm, error) {
	all, err := s.allAlarms(ctx, account, region, "")
	if err != nil {
		return nil, fmt.Errorf("list alarms: %w", err)
	}
	return slices.DeleteFunc(all, func(a *MetricAlarm) bool { return !strings.HasPrefix(a.AlarmName, prefix) }), nil
}
