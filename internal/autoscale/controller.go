package autoscale

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/inferscale/inferscale/internal/awstime"
	"github.com/inferscale/inferscale/internal/cloudwatch"
	"github.com/inferscale/inferscale/internal/store"

	"github.com/inferscale/inferscale/internal/clock"
)

// controller runs one loop per registered scalable target.
type controller struct {
	mu      sync.Mutex
	s       *Service
	running bool
	ctx     context.Context
	clock   Clock
	wg      sync.WaitGroup
	loops   map[store.Key]*targetLoop
}

// targetLoop is the goroutine that scales one target. Everything that
// changes the target's capacity or controller state goes through it, so its
// decisions are serialized.
type targetLoop struct {
	c      *controller
	key    store.Key
	events chan alarmCall
	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// alarmCall is an alarm action handed to a target's loop.
type alarmCall struct {
	policy ScalingPolicy
	ev     cloudwatch.AlarmEvent
	reply  chan error
}

// errNotRunning is Handle's error when no loop runs for the target.
var errNotRunning = errors.New("the autoscaling controller is not running for this scalable target")

// housekeeping bounds how long a loop sleeps without a reason to wake: it
// re-reads its state and prunes old activities at least this often.
const housekeeping = time.Hour

// Run runs the controller: one loop per registered scalable target, in
// every account and region; targets registered or deregistered while it
// runs start and stop their loops. It blocks until ctx ends and all loops
// have stopped. clock nil means the real clock.
func (s *Service) Run(ctx context.Context, clk Clock) error {
	if clk == nil {
		clk = clock.Real{}
	}
	c := &s.ctrl
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return errors.New("autoscale: Run is already running")
	}
	c.s, c.running, c.ctx, c.clock = s, true, ctx, clk
	c.loops = map[store.Key]*targetLoop{}
	c.mu.Unlock()

	rs, err := s.Store.ListByStatus(ctx, kindTarget, statusRegistered)
	if err == nil {
		for _, r := range rs {
			s.removeLeftovers(ctx, r, clk.Now())
			c.targetChanged(r.Key)
		}
		<-ctx.Done()
	}
	c.mu.Lock()
	c.running = false
	loops := c.loops
	c.loops = nil
	c.mu.Unlock()
	for _, l := range loops {
		l.cancel()
	}
	c.wg.Wait()
	if err != nil && ctx.Err() == nil { // not just stopped before it started
		return fmt.Errorf("autoscale: list scalable targets: %w", err)
	}
	return nil
}

// removeLeftovers removes what a server that stopped in the middle of a
// request or a scaling may have left of the target stored as r at now:
// alarms no policy names (removeLeftoverAlarms) and activities that would
// stay unfinished (endInterrupted).
func (s *Service) removeLeftovers(ctx context.Context, r store.Resource, now time.Time) {
	d, err := decodeDoc[targetDoc](r)
	if err != nil {
		s.logger().Warn("read scalable target", "target", r.Name, "err", err)
		return
	}
	v, _ := ParseResourceID(d.ResourceId)
	t := targetRef{account: r.Account, region: r.Region, resourceID: d.ResourceId, variant: v}
	unlock := s.lock(t) // requests may already change it
	defer unlock()
	if err := s.removeLeftoverAlarms(ctx, t); err != nil && ctx.Err() == nil {
		s.logger().Warn("remove leftover alarms", "target", r.Name, "err", err)
	}
	if err := s.endInterrupted(ctx, r.Key, d, now); err != nil && ctx.Err() == nil {
		s.logger().Warn("end interrupted scaling activities", "target", r.Name, "err", err)
	}
}

// interruptedMessage is the StatusMessage of an activity that a server
// stopped in the middle of.
const interruptedMessage = "The server stopped before the scaling activity was under way; the desired instance count may not have been set."

// endInterrupted fails the target's Pending and InProgress activities that
// its loop does not follow (d.State.Active): a server stopped between
// recording one and setting the capacity, or between setting it and
// following the activity, and no loop would ever end them.
func (s *Service) endInterrupted(ctx context.Context, key store.Key, d *targetDoc, now time.Time) error {
	for _, status := range []string{StatusPending, StatusInProgress} {
		rs, err := s.listAll(ctx, store.Query{Account: key.Account, Region: key.Region, Kind: kindActivity, Parent: key.Name, Status: status})
		if err != nil {
			return err
		}
		for _, r := range rs {
			a, err := decodeDoc[activityDoc](r)
			if err != nil {
				return err
			}
			if d.State.Active != nil && d.State.Active.ID == a.ActivityId {
				continue
			}
			s.logger().Warn("scaling activity interrupted by a stop of the server", "target", key.Name, "activity", a.ActivityId, "status", status)
			if err := s.updateActivity(ctx, key, a.ActivityId, StatusFailed, interruptedMessage, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// targetChanged starts the target's loop if the controller runs and it has
// none, and wakes it up to re-read its state.
func (c *controller) targetChanged(key store.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return
	}
	l := c.loops[key]
	if l == nil {
		ctx, cancel := context.WithCancel(c.ctx)
		l = &targetLoop{c: c, key: key, events: make(chan alarmCall), kick: make(chan struct{}, 1),
			cancel: cancel, done: make(chan struct{})}
		c.loops[key] = l
		c.wg.Add(1)
		go l.run(ctx)
	}
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// targetRemoved stops the target's loop and waits for it.
func (c *controller) targetRemoved(key store.Key) {
	c.mu.Lock()
	l := c.loops[key]
	delete(c.loops, key)
	c.mu.Unlock()
	if l != nil {
		l.cancel()
		<-l.done
	}
}

// loop returns the target's loop, nil when none runs.
func (c *controller) loop(key store.Key) *targetLoop {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loops[key]
}

// loopEnded forgets a loop that stopped by itself (its target is gone).
func (c *controller) loopEnded(l *targetLoop) {
	c.mu.Lock()
	if c.loops[l.key] == l {
		delete(c.loops, l.key)
	}
	c.mu.Unlock()
}

// Owns reports whether arn is an Application Auto Scaling policy ARN: the
// alarm actions Handle runs.
func (s *Service) Owns(arn string) bool { return isPolicyARN(arn) }

// Handle runs a scaling policy's alarm action: CloudWatch's alarm loop
// calls it on every evaluation while the alarm is in a state whose actions
// name the policy. The event is handed to the target's loop, which decides
// and acts; Handle returns when it has.
func (s *Service) Handle(ctx context.Context, arn string, ev cloudwatch.AlarmEvent) error {
	r, err := s.Store.GetByARN(ctx, arn)
	if errors.Is(err, store.ErrNotFound) || err == nil && r.Kind != kindPolicy {
		return fmt.Errorf("alarm %s: scaling policy %s does not exist", ev.AlarmName, arn)
	}
	if err != nil {
		return fmt.Errorf("alarm %s: read policy %s: %w", ev.AlarmName, arn, err)
	}
	p, err := decodeDoc[ScalingPolicy](r)
	if err != nil {
		return err
	}
	l := s.ctrl.loop(store.Key{Account: r.Account, Region: r.Region, Kind: kindTarget, Name: r.Parent})
	if l == nil {
		return fmt.Errorf("alarm %s, policy %s: %w", ev.AlarmName, p.PolicyName, errNotRunning)
	}
	call := alarmCall{policy: *p, ev: ev, reply: make(chan error, 1)}
	select {
	case l.events <- call:
	case <-l.done:
		return fmt.Errorf("alarm %s, policy %s: %w", ev.AlarmName, p.PolicyName, errNotRunning)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-call.reply:
		return err
	case <-l.done:
		return fmt.Errorf("alarm %s, policy %s: %w", ev.AlarmName, p.PolicyName, errNotRunning)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *targetLoop) run(ctx context.Context) {
	defer l.c.wg.Done()
	defer close(l.done)
	log := l.c.s.logger().With("target", l.key.Name, "account", l.key.Account, "region", l.key.Region)
	for {
		wait, ok := l.tick(ctx)
		if !ok {
			l.c.loopEnded(l)
			return
		}
		var timer <-chan time.Time
		if wait > 0 {
			timer = l.c.clock.After(wait)
		}
		select {
		case <-ctx.Done():
			return
		case call := <-l.events:
			err := l.onAlarm(ctx, call)
			if err != nil && ctx.Err() == nil {
				log.Warn("alarm action failed", "alarm", call.ev.AlarmName, "policy", call.policy.PolicyName, "err", err)
			}
			call.reply <- err
		case <-l.kick:
		case <-timer:
		}
	}
}

// target reads the loop's target; ok is false when it is gone.
func (l *targetLoop) target(ctx context.Context) (d *targetDoc, ok bool, err error) {
	r, err := l.c.s.Store.Get(ctx, l.key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, err
	}
	d, err = decodeDoc[targetDoc](r)
	return d, true, err
}

func (l *targetLoop) ref(d *targetDoc) targetRef {
	v, _ := ParseResourceID(d.ResourceId)
	return targetRef{account: l.key.Account, region: l.key.Region, resourceID: d.ResourceId, variant: v}
}

// mutate changes the target's document; ErrNotFound means it is gone.
func (l *targetLoop) mutate(ctx context.Context, fn func(d *targetDoc)) (*targetDoc, error) {
	return l.c.s.mutateTarget(ctx, l.key, func(d *targetDoc) error { fn(d); return nil })
}

// tick does what is due at now: follows the activity in progress, runs
// scheduled actions, brings the capacity within bounds after
// RegisterScalableTarget, prunes old activities. It returns how long to
// sleep (0: until woken), and false when the target is gone.
func (l *targetLoop) tick(ctx context.Context) (time.Duration, bool) {
	s := l.c.s
	log := s.logger().With("target", l.key.Name)
	now := l.c.clock.Now()
	d, ok, err := l.target(ctx)
	if !ok {
		return 0, false
	}
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("read scalable target", "err", err)
		}
		return s.pollInterval(), true
	}
	t := l.ref(d)

	if d.State.Active != nil {
		if d, err = l.progress(ctx, now, d); err != nil {
			log.Warn("follow scaling activity", "err", err)
		}
		if d == nil {
			return 0, false
		}
	}

	// Scheduled actions due since the last tick.
	actions, err := s.scheduledOf(ctx, t)
	if err != nil {
		log.Warn("read scheduled actions", "err", err)
	}
	var scheds []ActionSchedule
	for _, a := range actions {
		sc, err := ParseActionSchedule(a.ScheduledAction, a.Since)
		if err != nil {
			log.Warn("scheduled action does not parse", "action", a.ScheduledActionName, "err", err)
			continue
		}
		act := ScalableTargetAction{}
		if a.ScalableTargetAction != nil {
			act = *a.ScalableTargetAction
		}
		scheds = append(scheds, ActionSchedule{Name: a.ScheduledActionName, Schedule: sc, Action: act, Since: a.Since})
	}
	if due := DueRuns(scheds, d.State.ScheduledThrough, now); len(due) > 0 || now.After(d.State.ScheduledThrough) {
		if !d.SuspendedState.ScheduledScalingSuspended {
			for _, run := range due {
				if d, err = l.runScheduled(ctx, now, run); err != nil {
					log.Warn("run scheduled action", "action", run.Name, "err", err)
				}
				if d == nil {
					return 0, false
				}
			}
		}
		// Suspended scheduled scaling skips the actions due meanwhile: on
		// resume, only actions whose time has not yet passed run.
		if d, err = l.mutate(ctx, func(d *targetDoc) { d.State.ScheduledThrough = now }); err != nil {
			return l.afterError(ctx, err, log, "record scheduled progress")
		}
	}

	if d.State.BoundsRequested != d.State.BoundsApplied {
		seq := d.State.BoundsRequested
		if d, err = l.enforceBounds(ctx, now, d); err != nil {
			if !errors.Is(err, errHeldBack) {
				log.Warn("enforce capacity bounds", "err", err)
			}
			if d == nil {
				return 0, false
			}
		} else if d, err = l.mutate(ctx, func(d *targetDoc) {
			d.State.BoundsApplied, d.State.BoundsRefused = seq, nil
		}); err != nil {
			return l.afterError(ctx, err, log, "record bounds")
		}
	}

	if now.Sub(d.State.PrunedAt) >= housekeeping {
		if err := s.pruneActivities(ctx, l.key, now); err != nil {
			log.Warn("prune scaling activities", "err", err)
		} else if d, err = l.mutate(ctx, func(d *targetDoc) { d.State.PrunedAt = now }); err != nil {
			return l.afterError(ctx, err, log, "record pruning")
		}
	}

	wake := now.Add(housekeeping)
	if next, ok := NextRun(scheds, now); ok && next.Before(wake) {
		wake = next
	}
	if d.State.Active != nil {
		if p := now.Add(s.pollInterval()); p.Before(wake) {
			wake = p
		}
	}
	if r := d.State.BoundsRefused; r != nil && d.State.BoundsRequested != d.State.BoundsApplied && r.Retry.Before(wake) {
		wake = r.Retry // retry the bounds hosting refused
	}
	return maxDuration(wake.Sub(now), time.Nanosecond), true
}

func (l *targetLoop) afterError(ctx context.Context, err error, log interface{ Warn(string, ...any) }, what string) (time.Duration, bool) {
	if errors.Is(err, store.ErrNotFound) {
		return 0, false
	}
	if ctx.Err() == nil {
		log.Warn(what, "err", err)
	}
	return l.c.s.pollInterval(), true
}

func maxDuration(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// progress follows the activity in progress: Successful once the capacity
// in service reaches its desired capacity, Overridden when the desired
// capacity changed meanwhile, Unfulfilled after ActivityTimeout. It returns
// the updated target, nil if it is gone.
func (l *targetLoop) progress(ctx context.Context, now time.Time, d *targetDoc) (*targetDoc, error) {
	s := l.c.s
	a := d.State.Active
	desired, actual, err := s.Capacity.Capacity(ctx, l.key.Account, l.key.Region, d.ResourceId)
	var status, msg string
	switch {
	case errors.Is(err, ErrResourceNotFound):
		status, msg = StatusFailed, failureMessage(a.Desired, &variantGone{d.ResourceId})
	case err != nil:
		return d, fmt.Errorf("read capacity: %w", err)
	case desired != a.Desired:
		status, msg = StatusOverridden, fmt.Sprintf("The desired instance count was changed to %d before %d instances were in service.", desired, a.Desired)
	case actual == a.Desired:
		status, msg = StatusSuccessful, successMessage(a.Desired)
	case now.Sub(a.Start) >= s.activityTimeout():
		status, msg = StatusUnfulfilled, fmt.Sprintf("Failed to fulfill desired instance count of %d within %v: %d instances in service.",
			a.Desired, s.activityTimeout(), actual)
	default:
		return d, nil
	}
	if err := s.updateActivity(ctx, l.key, a.ID, status, msg, now); err != nil {
		return d, err
	}
	nd, err := l.mutate(ctx, func(d *targetDoc) {
		if d.State.Active != nil && d.State.Active.ID == a.ID {
			d.State.Active = nil
		}
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return d, err
	}
	return nd, nil
}

// scaling names what asked for a scaling, whose refusal by hosting holds
// back the next scalings it asks for (Refusal).
type scaling uint8

const (
	boundsScaling scaling = iota // the bounds of RegisterScalableTarget or of a scheduled action
	policyScaling                // an alarm's scaling policy
)

// refusal returns the refusal of k's scaling that stands at now: an
// alarm's only while the alarm keeps asking (within BreachGap), as a new
// breach starts afresh.
func (k scaling) refusal(st *TargetState, now time.Time) *Refusal {
	if k == boundsScaling {
		return st.BoundsRefused
	}
	if r := st.PolicyRefused; r != nil && now.Sub(r.Asked) <= BreachGap {
		return r
	}
	return nil
}

func (k scaling) setRefusal(st *TargetState, r *Refusal) {
	if k == boundsScaling {
		st.BoundsRefused = r
	} else {
		st.PolicyRefused = r
	}
}

// errHeldBack is the error of a scaling held back by the refusal of the
// same scaling, until its retry time.
var errHeldBack = errors.New("a refused scaling waits for its retry")

// scale sets the capacity from desired to n through hosting, for k. When
// hosting takes it, it records the scaling activity InProgress,
// overriding the activity in progress, and update changes the controller
// state in the same write. When hosting refuses, the refusal becomes k's
// standing refusal (Refused), recorded as a Failed activity unless it is
// the one that stood: the same refusal again only backs off further. It
// returns the updated target.
func (l *targetLoop) scale(ctx context.Context, now time.Time, d *targetDoc, desired, n int, cause string, k scaling, update func(st *TargetState)) (*targetDoc, error) {
	s := l.c.s
	start := now.Truncate(time.Millisecond)
	if setErr := s.Capacity.SetCapacity(ctx, l.key.Account, l.key.Region, d.ResourceId, n); setErr != nil {
		refusal, news := Refused(k.refusal(&d.State, now), desired, n, failureReason(setErr), now)
		if news {
			if _, err := s.newActivity(ctx, l.key, d.ResourceId, ScalingActivity{
				Description: describeSetCapacity(n), Cause: cause,
				StartTime: awstime.Timestamp{Time: start}, EndTime: awstime.At(start),
				StatusCode: StatusFailed, StatusMessage: failureMessage(n, setErr),
			}); err != nil {
				return d, err
			}
		}
		nd, err := l.mutate(ctx, func(d *targetDoc) { k.setRefusal(&d.State, &refusal) })
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return d, err
		}
		return nd, fmt.Errorf("set capacity of %s to %d (refused %d times in a row, next try at %s): %w",
			d.ResourceId, n, refusal.Attempts, refusal.Retry.UTC().Format(time.RFC3339), setErr)
	}
	act, err := s.newActivity(ctx, l.key, d.ResourceId, ScalingActivity{
		Description: describeSetCapacity(n), Cause: cause,
		StartTime: awstime.Timestamp{Time: start}, StatusCode: StatusInProgress,
	})
	if err != nil {
		return d, err
	}
	if prev := d.State.Active; prev != nil {
		if err := s.updateActivity(ctx, l.key, prev.ID, StatusOverridden,
			fmt.Sprintf("Overridden by a newer scaling activity setting desired instance count to %d.", n), now); err != nil {
			return d, err
		}
	}
	nd, err := l.mutate(ctx, func(d *targetDoc) {
		d.State.Active = &ActiveActivity{ID: act.ActivityId, Desired: n, Start: now}
		k.setRefusal(&d.State, nil)
		if update != nil {
			update(&d.State) // cooldowns start with a scaling that happened
		}
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return d, err
	}
	s.logger().Info("scaling", "resource", d.ResourceId, "desired", n, "cause", cause)
	return nd, nil
}

// enforceBounds brings the capacity within [Min, Max].
func (l *targetLoop) enforceBounds(ctx context.Context, now time.Time, d *targetDoc) (*targetDoc, error) {
	desired, _, err := l.c.s.Capacity.Capacity(ctx, l.key.Account, l.key.Region, d.ResourceId)
	if err != nil {
		return d, fmt.Errorf("read capacity: %w", err)
	}
	n, cause, changed := EnforceBounds(desired, int(d.MinCapacity), int(d.MaxCapacity))
	if !changed {
		return d, nil
	}
	if boundsScaling.refusal(&d.State, now).HoldsBack(now, desired, n) {
		return d, errHeldBack
	}
	return l.scale(ctx, now, d, desired, n, cause, boundsScaling, nil)
}

// runScheduled runs one scheduled action: it sets the target's bounds,
// records that as a Successful activity, and asks for the capacity to be
// brought within them (BoundsRequested), which the loop does next, and
// retries if hosting refuses, as for RegisterScalableTarget's bounds.
func (l *targetLoop) runScheduled(ctx context.Context, now time.Time, run ScheduledRun) (*targetDoc, error) {
	var desc string
	d, err := l.mutate(ctx, func(d *targetDoc) {
		var min, max int
		min, max, desc = ApplyScalableTargetAction(int(d.MinCapacity), int(d.MaxCapacity), run.Action)
		d.MinCapacity, d.MaxCapacity = int32(min), int32(max)
		d.State.BoundsRequested++
		d.State.BoundsRefused = nil // new bounds: tried at once
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// The bounds are the target's; bringing the capacity within them needs
	// the resource. When it is gone, the action's activity fails.
	_, _, capErr := l.c.s.Capacity.Capacity(ctx, l.key.Account, l.key.Region, d.ResourceId)
	if errors.Is(capErr, ErrResourceNotFound) {
		capErr = &variantGone{d.ResourceId}
	}
	if desc != "" {
		a := ScalingActivity{
			Description: desc, Cause: fmt.Sprintf("scheduled action name %s was triggered", run.Name),
			StartTime:  awstime.Timestamp{Time: now.Truncate(time.Millisecond)},
			StatusCode: StatusSuccessful, StatusMessage: "Successfully set " + strings.TrimPrefix(desc, "Setting "),
		}
		if capErr != nil {
			a.StatusCode, a.StatusMessage = StatusFailed, failedBoundsMessage(desc, capErr)
			a.EndTime = awstime.At(now.Truncate(time.Millisecond))
		}
		if _, err := l.c.s.newActivity(ctx, l.key, d.ResourceId, a); err != nil {
			return d, err
		}
	}
	if capErr != nil {
		return d, fmt.Errorf("scheduled action %s: read capacity: %w", run.Name, capErr)
	}
	return d, nil
}

// onAlarm runs an alarm action for one of the target's policies.
func (l *targetLoop) onAlarm(ctx context.Context, call alarmCall) error {
	s := l.c.s
	now := l.c.clock.Now()
	p, ev := call.policy, call.ev
	d, ok, err := l.target(ctx)
	if !ok {
		return errNotRunning
	}
	if err != nil {
		return err
	}
	t := l.ref(d)
	if p.PolicyType == PolicyTargetTracking {
		if d, err = l.mutate(ctx, func(d *targetDoc) {
			d.State.Readings = ObserveAlarm(d.State.Readings, p, ev, now)
		}); err != nil {
			return err
		}
	}
	if ev.State != cloudwatch.StateAlarm {
		return nil
	}

	policies, err := s.policiesOf(ctx, t)
	if err != nil {
		return err
	}
	desired, actual, err := s.Capacity.Capacity(ctx, t.account, t.region, t.resourceID)
	if err != nil {
		if errors.Is(err, ErrResourceNotFound) {
			err = &variantGone{t.resourceID}
		}
		if rerr := l.recordFailedAlarm(ctx, now, d, p.PolicyName, ev.AlarmName, err); rerr != nil {
			return errors.Join(err, rerr)
		}
		return fmt.Errorf("read capacity of %s: %w", t.resourceID, err)
	}
	dec := Decide(now,
		Capacities{Min: int(d.MinCapacity), Max: int(d.MaxCapacity), Desired: desired, Actual: actual},
		d.SuspendedState, d.State.Cooldowns, policyStates(policies, d.State.Readings),
		AlarmEvent{Policy: p.PolicyName, Alarm: ev.AlarmName, State: ev.State, Threshold: ev.Threshold, Datapoints: ev.Datapoints})
	switch {
	case dec.Scale:
		if r := policyScaling.refusal(&d.State, now); r.HoldsBack(now, desired, dec.Desired) {
			// Refused before, and recorded then: it is retried once the
			// backoff has passed, while the alarm keeps asking.
			s.logger().Debug("scaling held back after a refusal", "resource", t.resourceID, "desired", dec.Desired,
				"policy", p.PolicyName, "retry", r.Retry, "reason", r.Reason)
			_, err := l.mutate(ctx, func(d *targetDoc) {
				if d.State.PolicyRefused != nil {
					d.State.PolicyRefused.Asked = now
				}
			})
			return err
		}
		_, err := l.scale(ctx, now, d, desired, dec.Desired, alarmCause(dec.Alarm, dec.Policy), policyScaling, func(st *TargetState) {
			st.Cooldowns = dec.Cooldowns
			st.LastNotScaled = nil
		})
		return err
	case len(dec.NotScaled) > 0:
		mark := notScaledKey(p.PolicyName, dec.NotScaled)
		if last := d.State.LastNotScaled; last != nil && last.Key == mark && now.Sub(last.Time) <= BreachGap {
			_, err := l.mutate(ctx, func(d *targetDoc) { d.State.LastNotScaled = &NotScaledMark{Key: mark, Time: now} })
			return err
		}
		if _, err := s.newActivity(ctx, l.key, d.ResourceId, ScalingActivity{
			Description: notScaledDescription, Cause: alarmCause(ev.AlarmName, p.PolicyName),
			StartTime:  awstime.Timestamp{Time: now.Truncate(time.Millisecond)},
			StatusCode: StatusFailed, NotScaledReasons: dec.NotScaled,
		}); err != nil {
			return err
		}
		_, err := l.mutate(ctx, func(d *targetDoc) { d.State.LastNotScaled = &NotScaledMark{Key: mark, Time: now} })
		return err
	}
	s.logger().Debug("not scaling", "resource", t.resourceID, "policy", p.PolicyName, "alarm", ev.AlarmName, "why", dec.Why)
	return nil
}

// recordFailedAlarm records an alarm's scaling attempt that failed before
// the capacity was known (the resource is gone) as a Failed activity, once
// per breach of the policy's alarm, as not-scaled activities are.
func (l *targetLoop) recordFailedAlarm(ctx context.Context, now time.Time, d *targetDoc, policy, alarm string, cause error) error {
	mark := "failed|" + policy + "|" + alarm + "|" + failureReason(cause)
	if last := d.State.LastNotScaled; last == nil || last.Key != mark || now.Sub(last.Time) > BreachGap {
		if _, err := l.c.s.newActivity(ctx, l.key, d.ResourceId, ScalingActivity{
			Description: failedAlarmDescription, Cause: alarmCause(alarm, policy),
			StartTime:     awstime.Timestamp{Time: now.Truncate(time.Millisecond)},
			EndTime:       awstime.At(now.Truncate(time.Millisecond)),
			StatusCode:    StatusFailed,
			StatusMessage: failedAlarmMessage(cause),
		}); err != nil {
			return err
		}
	}
	_, err := l.mutate(ctx, func(d *targetDoc) { d.State.LastNotScaled = &NotScaledMark{Key: mark, Time: now} })
	return err
}

// ObserveAlarm returns a target's readings after an alarm action of one of
// its policies: for a target-tracking policy, the reading of its high or
// low alarm becomes the event's state and newest datapoint, taken at now.
// Decide then sees the policy through PolicyStateOf. The controller and
// `inferscale simulate` both keep their readings this way. readings is not
// modified.
func ObserveAlarm(readings map[string]PolicyReadings, p ScalingPolicy, ev cloudwatch.AlarmEvent, now time.Time) map[string]PolicyReadings {
	if p.PolicyType != PolicyTargetTracking {
		return readings
	}
	high := isHighAlarm(ev.AlarmName)
	reading := AlarmReading{Alarm: ev.AlarmName, State: ev.State, Time: now, Period: alarmPeriod(p, high)}
	if n := len(ev.Datapoints); n > 0 {
		reading.Value, reading.Has = ev.Datapoints[n-1], true
	}
	out := make(map[string]PolicyReadings, len(readings)+1)
	for k, v := range readings {
		out[k] = v
	}
	r := out[p.PolicyName]
	if high {
		r.High = reading
	} else {
		r.Low = reading
	}
	out[p.PolicyName] = r
	return out
}

// notScaledKey identifies a not-scaled outcome for de-duplication.
func notScaledKey(policy string, rs []NotScaledReason) string {
	var b strings.Builder
	b.WriteString(policy)
	for _, r := range rs {
		fmt.Fprintf(&b, "|%s:%d:%d:%d", r.Code, deref(r.MinCapacity), deref(r.MaxCapacity), deref(r.CurrentCapacity))
	}
	return b.String()
}

func deref(p *int32) int32 {
	if p == nil {
		return -1
	}
	return *p
}

// alarmPeriod is the period of a target-tracking policy's alarm.
func alarmPeriod(p ScalingPolicy, high bool) time.Duration {
	if high && p.TargetTrackingScalingPolicyConfiguration != nil {
		if pre := p.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification; pre != nil &&
			pre.PredefinedMetricType == predefinedConcurrencyHiRes {
			return highResPeriod * time.Second
		}
	}
	return standardPeriod * time.Second
}

// policyStates builds the decision view of a target's policies.
func policyStates(policies []ScalingPolicy, readings map[string]PolicyReadings) []PolicyState {
	out := make([]PolicyState, 0, len(policies))
	for _, p := range policies {
		out = append(out, PolicyStateOf(p, readings[p.PolicyName]))
	}
	return out
}

// PolicyStateOf returns the decision view of a policy: its configuration
// and, for target tracking, the readings of its current alarms (readings of
// alarms the policy no longer has are ignored).
func PolicyStateOf(p ScalingPolicy, r PolicyReadings) PolicyState {
	ps := PolicyState{Name: p.PolicyName, Type: p.PolicyType,
		TargetTracking: p.TargetTrackingScalingPolicyConfiguration, Step: p.StepScalingPolicyConfiguration}
	if p.PolicyType != PolicyTargetTracking {
		return ps
	}
	for _, a := range p.Alarms {
		if isHighAlarm(a.AlarmName) {
			ps.High = AlarmReading{Alarm: a.AlarmName}
			if r.High.Alarm == a.AlarmName {
				ps.High = r.High
			}
		} else {
			ps.Low = AlarmReading{Alarm: a.AlarmName}
			if r.Low.Alarm == a.AlarmName {
				ps.Low = r.Low
			}
		}
	}
	return ps
}
