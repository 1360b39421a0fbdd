package cloudwatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/store"
)

// Alarm history is kept in the store as resources of kind
// "alarm-history": one per item, named "<alarm>/<time>-<random>", with the
// alarm's name as parent, the item type as status and the item's time as
// creation time, so that DescribeAlarmHistory is one store query. Items
// outlive their alarm, as in CloudWatch, and are removed after
// historyRetention.
const (
	kindHistory      = "alarm-history"
	historyRetention = 14 * 24 * time.Hour
	maxHistoryData   = 4095
	maxHistorySumm   = 255
	// History item types.
	historyConfig = "ConfigurationUpdate"
	historyState  = "StateUpdate"
	historyAction = "Action"
)

// historyItem is one entry of an alarm's history.
type historyItem struct {
	AlarmName       string        `json:"AlarmName"`
	AlarmType       string        `json:"AlarmType"`
	Timestamp       api.Timestamp `json:"Timestamp"`
	HistoryItemType string        `json:"HistoryItemType"`
	HistorySummary  string        `json:"HistorySummary"`
	HistoryData     string        `json:"HistoryData"`
}

// recordConfig records a configuration change: typ is Create, Update or
// Delete; before and after are nil where they do not apply. Failures are
// logged: history is not worth failing the change it describes.
func (s *Service) recordConfig(ctx context.Context, account, region, typ string, before, after *MetricAlarm, at time.Time) {
	a := after
	if a == nil {
		a = before
	}
	verb := map[string]string{"Create": "created", "Update": "updated", "Delete": "deleted"}[typ]
	data := map[string]any{"version": "1.0", "type": typ}
	member := map[string]string{"Create": "createdAlarm", "Update": "updatedAlarm", "Delete": "deletedAlarm"}[typ]
	data[member] = a.AlarmSpec
	b, _ := json.Marshal(data)
	if len(b) > maxHistoryData {
		delete(data, member)
		b, _ = json.Marshal(data)
	}
	s.addHistory(ctx, account, region, historyItem{
		AlarmName:       a.AlarmName,
		AlarmType:       "MetricAlarm",
		Timestamp:       api.Timestamp{Time: at},
		HistoryItemType: historyConfig,
		HistorySummary:  truncate(fmt.Sprintf("Alarm %q %s", a.AlarmName, verb), maxHistorySumm),
		HistoryData:     string(b),
	})
}

// recordState records a state change.
func (s *Service) recordState(ctx context.Context, account, region string, before, after *MetricAlarm, at time.Time) {
	type state struct {
		StateValue      string          `json:"stateValue"`
		StateReason     string          `json:"stateReason"`
		StateReasonData json.RawMessage `json:"stateReasonData,omitempty"`
	}
	data := struct {
		Version  string `json:"version"`
		OldState state  `json:"oldState"`
		NewState state  `json:"newState"`
	}{"1.0", state{StateValue: before.StateValue, StateReason: before.StateReason}, state{StateValue: after.StateValue, StateReason: after.StateReason}}
	if after.StateReasonData != "" && json.Valid([]byte(after.StateReasonData)) {
		data.NewState.StateReasonData = json.RawMessage(after.StateReasonData)
	}
	b, _ := json.Marshal(data)
	if len(b) > maxHistoryData {
		data.NewState.StateReasonData = nil
		b, _ = json.Marshal(data)
	}
	if len(b) > maxHistoryData {
		data.OldState.StateReason, data.NewState.StateReason = truncate(data.OldState.StateReason, 1000), truncate(data.NewState.StateReason, 1000)
		b, _ = json.Marshal(data)
	}
	s.addHistory(ctx, account, region, historyItem{
		AlarmName:       after.AlarmName,
		AlarmType:       "MetricAlarm",
		Timestamp:       api.Timestamp{Time: at},
		HistoryItemType: historyState,
		HistorySummary:  fmt.Sprintf("Alarm updated from %s to %s", before.StateValue, after.StateValue),
		HistoryData:     string(b),
	})
}

// recordAction records the outcome of an alarm action run on a state
// change, as CloudWatch words it.
func (s *Service) recordAction(ctx context.Context, ev AlarmEvent, arn string, actionErr error) {
	data := map[string]any{"actionState": "Succeeded", "notificationResource": arn, "stateUpdateTimestamp": ev.Time.UnixMilli()}
	summary := "Successfully executed action " + arn
	if actionErr != nil {
		data["actionState"] = "Failed"
		data["error"] = truncate(actionErr.Error(), 1000)
		summary = "Failed to execute action " + arn
	}
	b, _ := json.Marshal(data)
	s.addHistory(ctx, ev.Account, ev.Region, historyItem{
		AlarmName:       ev.AlarmName,
		AlarmType:       "MetricAlarm",
		Timestamp:       api.Timestamp{Time: ev.Time.Truncate(time.Millisecond)},
		HistoryItemType: historyAction,
		HistorySummary:  truncate(summary, maxHistorySumm),
		HistoryData:     string(b),
	})
}

// addHistory stores an item and removes the alarm's items older than the
// retention.
func (s *Service) addHistory(ctx context.Context, account, region string, it historyItem) {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := it.AlarmName + "/" + strconv.FormatInt(it.Timestamp.UnixNano(), 10) + "-" + hex.EncodeToString(rnd[:])
	doc, err := json.Marshal(it)
	if err == nil {
		err = s.Store.Create(ctx, store.Resource{
			Key:    store.Key{Account: account, Region: region, Kind: kindHistory, Name: name},
			ARN:    "arn:aws:cloudwatch:" + region + ":" + account + ":alarm-history:" + name,
			Parent: it.AlarmName, Status: it.HistoryItemType, Doc: doc, Created: it.Timestamp.Time,
		})
	}
	if err != nil {
		s.log().Warn("record alarm history", "alarm", it.AlarmName, "err", err)
		return
	}
	old, _, err := s.Store.List(ctx, store.Query{
		Account: account, Region: region, Kind: kindHistory, Parent: it.AlarmName,
		CreatedBefore: it.Timestamp.Add(-historyRetention), Limit: 100,
	})
	if err != nil {
		s.log().Warn("list old alarm history", "alarm", it.AlarmName, "err", err)
		return
	}
	for _, r := range old {
		if err := s.Store.Delete(ctx, r.Key); err != nil {
			s.log().Warn("delete old alarm history", "alarm", it.AlarmName, "err", err)
		}
	}
}

// truncate shortens s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

type describeAlarmHistoryInput struct {
	AlarmName          string         `json:"AlarmName,omitempty"`
	AlarmContributorID string         `json:"AlarmContributorId,omitempty"`
	AlarmTypes         []string       `json:"AlarmTypes,omitempty"`
	HistoryItemType    string         `json:"HistoryItemType,omitempty"`
	StartDate          *api.Timestamp `json:"StartDate,omitempty"`
	EndDate            *api.Timestamp `json:"EndDate,omitempty"`
	MaxRecords         int32          `json:"MaxRecords,omitempty"`
	NextToken          string         `json:"NextToken,omitempty"`
	ScanBy             string         `json:"ScanBy,omitempty"`
}

type describeAlarmHistoryOutput struct {
	AlarmHistoryItems []historyItem `json:"AlarmHistoryItems"`
	NextToken         string        `json:"NextToken,omitempty"`
}

// describeAlarmHistory lists history items newest first (or oldest first
// with ScanBy TimestampAscending), 100 per page unless MaxRecords says
// fewer.
func (s *Service) describeAlarmHistory(ctx context.Context, req *api.Request, in *describeAlarmHistoryInput) (*describeAlarmHistoryOutput, error) {
	out := &describeAlarmHistoryOutput{AlarmHistoryItems: []historyItem{}}
	if len(in.AlarmTypes) > 0 && !slices.Contains(in.AlarmTypes, "MetricAlarm") {
		return out, nil
	}
	if in.AlarmContributorID != "" {
		return out, nil // only multi-contributor (Metrics Insights) alarms have contributors
	}
	q := store.Query{
		Account: req.Account, Region: req.Region, Kind: kindHistory,
		Parent: in.AlarmName, Status: in.HistoryItemType,
		SortBy: store.SortByCreationTime, Descending: in.ScanBy != "TimestampAscending",
		Limit: int(in.MaxRecords), Token: in.NextToken,
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	if in.StartDate != nil {
		q.CreatedAfter = in.StartDate.Time
	}
	if in.EndDate != nil {
		q.CreatedBefore = in.EndDate.Add(time.Nanosecond) // EndDate is inclusive
	}
	rs, next, err := s.Store.List(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		var it historyItem
		if err := json.Unmarshal(r.Doc, &it); err != nil {
			return nil, fmt.Errorf("decode alarm history %s: %w", r.Key, err)
		}
		out.AlarmHistoryItems = append(out.AlarmHistoryItems, it)
	}
	out.NextToken = next
	return out, nil
}
