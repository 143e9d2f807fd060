// Package logs serves build logs through the CloudWatch Logs API
// (Logs_20140328, JSON 1.1), so that `aws logs get-log-events`,
// `aws logs tail`, boto3 and the AWS SDKs read them unchanged.
package logs

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hangarci/hangar/internal/awsapi"
	"github.com/hangarci/hangar/internal/logstore"
	"github.com/hangarci/hangar/internal/model"
)

// TargetPrefix is the X-Amz-Target prefix of CloudWatch Logs.
const TargetPrefix = "Logs_20140328"

// Exception names CloudWatch Logs uses.
const (
	errNotFound      = "ResourceNotFoundException"
	errAlreadyExists = "ResourceAlreadyExistsException"
	errInvalid       = "InvalidParameterException"
)

// PutLogEvents time window, as CloudWatch enforces it.
const (
	maxFuture     = 2 * time.Hour
	maxPast       = 14 * 24 * time.Hour
	maxBatchSpan  = 24 * time.Hour
	maxBatchBytes = 1 << 20
)

var (
	groupNameRE  = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)
	streamNameRE = regexp.MustCompile(`^[^:*]*$`)
)

type service struct {
	store *logstore.Store
	names model.Names
	log   *slog.Logger
	now   func() time.Time
}

// New returns the CloudWatch Logs service reading and writing store; names
// builds the ARNs it reports.
func New(store *logstore.Store, names model.Names, log *slog.Logger) *awsapi.JSONService {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &service{store: store, names: names, log: log, now: time.Now}
	js := &awsapi.JSONService{TargetPrefix: TargetPrefix, Log: log}
	awsapi.Handle(js, "GetLogEvents", s.getLogEvents)
	awsapi.Handle(js, "FilterLogEvents", s.filterLogEvents)
	awsapi.Handle(js, "DescribeLogGroups", s.describeLogGroups)
	awsapi.Handle(js, "DescribeLogStreams", s.describeLogStreams)
	awsapi.Handle(js, "CreateLogGroup", s.createLogGroup)
	awsapi.Handle(js, "CreateLogStream", s.createLogStream)
	awsapi.Handle(js, "PutLogEvents", s.putLogEvents)
	awsapi.Handle(js, "DeleteLogGroup", s.deleteLogGroup)
	return js
}

// storeError turns a store error into the exception CloudWatch sends.
func storeError(err error) error {
	switch {
	case errors.Is(err, logstore.ErrGroupNotFound):
		return awsapi.Errorf(errNotFound, "The specified log group does not exist.")
	case errors.Is(err, logstore.ErrStreamNotFound):
		return awsapi.Errorf(errNotFound, "The specified log stream does not exist.")
	case errors.Is(err, logstore.ErrGroupExists):
		return awsapi.Errorf(errAlreadyExists, "The specified log group already exists")
	case errors.Is(err, logstore.ErrStreamExists):
		return awsapi.Errorf(errAlreadyExists, "The specified log stream already exists")
	case errors.Is(err, logstore.ErrInvalidToken):
		return awsapi.Errorf(errInvalid, "The specified nextToken is invalid.")
	case errors.Is(err, logstore.ErrInvalid):
		return awsapi.Errorf(errInvalid, "%s", strings.TrimSuffix(err.Error(), ": "+logstore.ErrInvalid.Error()))
	}
	return err
}

// constraintError words a model constraint failure the way AWS does.
func constraintError(member string, value any, constraint string) error {
	return awsapi.Errorf(errInvalid, "1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

func checkGroupName(member, name string) error {
	if len(name) < 1 || len(name) > logstore.MaxNameLen {
		return constraintError(member, name, "Member must have length between 1 and 512")
	}
	if !groupNameRE.MatchString(name) {
		return constraintError(member, name, `Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+`)
	}
	return nil
}

func checkStreamName(member, name string) error {
	if len(name) < 1 || len(name) > logstore.MaxNameLen {
		return constraintError(member, name, "Member must have length between 1 and 512")
	}
	if !streamNameRE.MatchString(name) {
		return constraintError(member, name, "Member must satisfy regular expression pattern: [^:*]*")
	}
	return nil
}

func required(member string, v *string) (string, error) {
	if v == nil {
		return "", constraintError(member, "null", "Member must not be null")
	}
	return *v, nil
}

// groupAndStream checks the logGroupName and logStreamName a request
// must have: both present, then both valid (reported together).
func groupAndStream(group, stream *string) (string, string, error) {
	g, err := required("logGroupName", group)
	if err != nil {
		return "", "", err
	}
	st, err := required("logStreamName", stream)
	if err != nil {
		return "", "", err
	}
	if err := errors.Join(checkGroupName("logGroupName", g), checkStreamName("logStreamName", st)); err != nil {
		return "", "", err
	}
	return g, st, nil
}

// limitOf checks an optional limit against its range and returns it (0
// when absent).
func limitOf(v *int64, maxLimit int64) (int, error) {
	if v == nil {
		return 0, nil
	}
	if *v < 1 || *v > maxLimit {
		return 0, constraintError("limit", *v, fmt.Sprintf("Member must have value between 1 and %d", maxLimit))
	}
	return int(*v), nil
}

func checkTime(member string, v *int64) error {
	if v != nil && *v < 0 {
		return constraintError(member, *v, "Member must have value greater than or equal to 0")
	}
	return nil
}

// groupOf returns the log group a request names, by logGroupName or by
// logGroupIdentifier (a name or an ARN, with or without the ":*" suffix).
func groupOf(name, ident *string) (string, error) {
	switch {
	case name != nil && ident != nil:
		return "", awsapi.Errorf(errInvalid, "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case name != nil:
		return *name, checkGroupName("logGroupName", *name)
	case ident != nil:
		g := *ident
		if strings.HasPrefix(g, "arn:") {
			_, after, ok := strings.Cut(g, ":log-group:")
			if !ok {
				return "", awsapi.Errorf(errInvalid, "Invalid log group identifier: %s", g)
			}
			g = strings.TrimSuffix(after, ":*")
		}
		return g, checkGroupName("logGroupIdentifier", g)
	}
	return "", awsapi.Errorf(errInvalid, "Either logGroupName or logGroupIdentifier must be specified.")
}

func (s *service) getLogEvents(ctx context.Context, in *getLogEventsInput) (*getLogEventsOutput, error) {
	group, err := groupOf(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	stream, err := required("logStreamName", in.LogStreamName)
	if err != nil {
		return nil, err
	}
	if err := checkStreamName("logStreamName", stream); err != nil {
		return nil, err
	}
	limit, err := limitOf(in.Limit, logstore.MaxEventsPerRead)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(checkTime("startTime", in.StartTime), checkTime("endTime", in.EndTime)); err != nil {
		return nil, err
	}
	req := logstore.GetRequest{
		StartFromHead: in.StartFromHead != nil && *in.StartFromHead,
		StartTime:     in.StartTime, EndTime: in.EndTime, Limit: limit,
	}
	if in.NextToken != nil {
		req.Token = *in.NextToken
		if req.Token == "" {
			return nil, constraintError("nextToken", "", "Member must have length greater than or equal to 1")
		}
	}
	res, err := s.store.GetEvents(ctx, group, stream, req)
	if err != nil {
		return nil, storeError(err)
	}
	out := &getLogEventsOutput{
		Events:            make([]outputLogEvent, len(res.Events)),
		NextForwardToken:  res.NextForwardToken,
		NextBackwardToken: res.NextBackwardToken,
	}
	for i, e := range res.Events {
		out.Events[i] = outputLogEvent{Timestamp: e.Timestamp, Message: e.Message, IngestionTime: e.IngestionTime}
	}
	return out, nil
}

func (s *service) filterLogEvents(ctx context.Context, in *filterLogEventsInput) (*filterLogEventsOutput, error) {
	group, err := groupOf(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	limit, err := limitOf(in.Limit, logstore.MaxEventsPerRead)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(checkTime("startTime", in.StartTime), checkTime("endTime", in.EndTime)); err != nil {
		return nil, err
	}
	req := logstore.FilterRequest{
		StreamNames: in.LogStreamNames,
		StartTime:   in.StartTime, EndTime: in.EndTime, Limit: limit,
		// startFromHead defaults to true here, unlike GetLogEvents.
		Backward: in.StartFromHead != nil && !*in.StartFromHead,
	}
	if in.LogStreamNames != nil && in.LogStreamNamePrefix != nil {
		return nil, awsapi.Errorf(errInvalid, "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	if in.LogStreamNames != nil && (len(in.LogStreamNames) < 1 || len(in.LogStreamNames) > 100) {
		return nil, constraintError("logStreamNames", in.LogStreamNames, "Member must have length between 1 and 100")
	}
	for _, n := range in.LogStreamNames {
		if err := checkStreamName("logStreamNames.member", n); err != nil {
			return nil, err
		}
	}
	if in.LogStreamNamePrefix != nil {
		if err := checkStreamName("logStreamNamePrefix", *in.LogStreamNamePrefix); err != nil {
			return nil, err
		}
		req.StreamPrefix = *in.LogStreamNamePrefix
	}
	if in.FilterPattern != nil {
		if req.Pattern, err = logstore.ParsePattern(*in.FilterPattern); err != nil {
			return nil, awsapi.Errorf(errInvalid, "Invalid filter pattern: %s", strings.TrimSuffix(err.Error(), ": "+logstore.ErrInvalid.Error()))
		}
	}
	if in.NextToken != nil {
		req.Token = *in.NextToken
	}
	res, err := s.store.Filter(ctx, group, req)
	if err != nil {
		return nil, storeError(err)
	}
	out := &filterLogEventsOutput{Events: make([]filteredLogEvent, len(res.Events)), NextToken: res.NextToken}
	for i, e := range res.Events {
		out.Events[i] = filteredLogEvent{
			LogStreamName: e.StreamName, Timestamp: e.Timestamp, Message: e.Message,
			IngestionTime: e.IngestionTime, EventID: e.EventID,
		}
	}
	return out, nil
}

// Describe* page tokens carry the sort key of the last item returned; the
// next page starts after it, so paging is stable while items come and go.
func pageToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func parsePageToken(tok *string) (string, bool, error) {
	if tok == nil {
		return "", false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*tok)
	if err != nil || len(b) == 0 {
		return "", false, awsapi.Errorf(errInvalid, "The specified nextToken is invalid.")
	}
	return string(b), true, nil
}

func (s *service) describeLogGroups(ctx context.Context, in *describeLogGroupsInput) (*describeLogGroupsOutput, error) {
	limit, err := limitOf(in.Limit, 50)
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 50
	}
	if in.LogGroupNamePrefix != nil && in.LogGroupNamePattern != nil {
		return nil, awsapi.Errorf(errInvalid, "logGroupNamePrefix and logGroupNamePattern are mutually exclusive parameters.")
	}
	if in.LogGroupNamePrefix != nil {
		if err := checkGroupName("logGroupNamePrefix", *in.LogGroupNamePrefix); err != nil {
			return nil, err
		}
	}
	if in.LogGroupClass != nil {
		if err := checkClass(*in.LogGroupClass); err != nil {
			return nil, err
		}
	}
	idents := make(map[string]bool, len(in.LogGroupIdentifiers))
	for _, id := range in.LogGroupIdentifiers {
		name, err := groupOf(nil, &id)
		if err != nil {
			return nil, err
		}
		idents[name] = true
	}
	after, paging, err := parsePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &describeLogGroupsOutput{LogGroups: []logGroup{}}
	for _, g := range s.store.Groups() {
		switch {
		case paging && g.Name <= after,
			in.LogGroupNamePrefix != nil && !strings.HasPrefix(g.Name, *in.LogGroupNamePrefix),
			in.LogGroupNamePattern != nil && !strings.Contains(g.Name, *in.LogGroupNamePattern),
			len(idents) > 0 && !idents[g.Name]:
			continue
		}
		if len(out.LogGroups) == limit {
			out.NextToken = pageToken(out.LogGroups[limit-1].LogGroupName)
			break
		}
		lg := logGroup{LogGroupName: g.Name, CreationTime: g.CreationTime, Arn: s.names.LogGroupArn(g.Name) + ":*"}
		// With a name pattern CloudWatch returns only these three members.
		if in.LogGroupNamePattern == nil {
			zero, bytes := 0, g.StoredBytes
			lg.MetricFilterCount, lg.StoredBytes = &zero, &bytes
			lg.LogGroupClass, lg.LogGroupArn = "STANDARD", s.names.LogGroupArn(g.Name)
		}
		out.LogGroups = append(out.LogGroups, lg)
	}
	return out, nil
}

func checkClass(c string) error {
	switch c {
	case "STANDARD", "INFREQUENT_ACCESS", "DELIVERY":
		return nil
	}
	return constraintError("logGroupClass", c, "Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]")
}

func (s *service) describeLogStreams(ctx context.Context, in *describeLogStreamsInput) (*describeLogStreamsOutput, error) {
	group, err := groupOf(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	limit, err := limitOf(in.Limit, 50)
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 50
	}
	byTime := false
	if in.OrderBy != nil {
		switch *in.OrderBy {
		case "LogStreamName":
		case "LastEventTime":
			byTime = true
		default:
			return nil, constraintError("orderBy", *in.OrderBy, "Member must satisfy enum value set: [LogStreamName, LastEventTime]")
		}
	}
	prefix := ""
	if in.LogStreamNamePrefix != nil {
		if byTime {
			return nil, awsapi.Errorf(errInvalid, "Cannot order by LastEventTime with a logStreamNamePrefix.")
		}
		if err := checkStreamName("logStreamNamePrefix", *in.LogStreamNamePrefix); err != nil {
			return nil, err
		}
		prefix = *in.LogStreamNamePrefix
	}
	desc := in.Descending != nil && *in.Descending
	after, paging, err := parsePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	streams, err := s.store.Streams(group)
	if err != nil {
		return nil, storeError(err)
	}
	// Streams are ordered by name, or by last event time then name; times
	// are zero-padded so that the keys compare as strings.
	type item struct {
		info logstore.StreamInfo
		key  string
	}
	items := make([]item, 0, len(streams))
	for _, st := range streams {
		if !strings.HasPrefix(st.Name, prefix) {
			continue
		}
		k := st.Name
		if byTime {
			k = fmt.Sprintf("%020d/%s", st.LastEventTimestamp, st.Name)
		}
		if paging && ((!desc && k <= after) || (desc && k >= after)) {
			continue
		}
		items = append(items, item{st, k})
	}
	slices.SortFunc(items, func(a, b item) int {
		if desc {
			return strings.Compare(b.key, a.key)
		}
		return strings.Compare(a.key, b.key)
	})
	out := &describeLogStreamsOutput{LogStreams: []logStream{}}
	if len(items) > limit {
		items = items[:limit]
		out.NextToken = pageToken(items[limit-1].key)
	}
	for _, it := range items {
		st := it.info
		ls := logStream{
			LogStreamName: st.Name, CreationTime: st.CreationTime,
			Arn: s.names.LogStreamArn(group, st.Name), StoredBytes: st.StoredBytes,
		}
		if st.HasEvents {
			first, last, ingest := st.FirstEventTimestamp, st.LastEventTimestamp, st.LastIngestionTime
			ls.FirstEventTimestamp, ls.LastEventTimestamp, ls.LastIngestionTime = &first, &last, &ingest
		}
		out.LogStreams = append(out.LogStreams, ls)
	}
	return out, nil
}

func (s *service) createLogGroup(ctx context.Context, in *createLogGroupInput) (*empty, error) {
	name, err := required("logGroupName", in.LogGroupName)
	if err != nil {
		return nil, err
	}
	if err := checkGroupName("logGroupName", name); err != nil {
		return nil, err
	}
	if in.LogGroupClass != nil {
		if err := checkClass(*in.LogGroupClass); err != nil {
			return nil, err
		}
	}
	if err := s.store.CreateGroup(ctx, name); err != nil {
		return nil, storeError(err)
	}
	return &empty{}, nil
}

func (s *service) createLogStream(ctx context.Context, in *createLogStreamInput) (*empty, error) {
	group, stream, err := groupAndStream(in.LogGroupName, in.LogStreamName)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateStream(ctx, group, stream); err != nil {
		return nil, storeError(err)
	}
	return &empty{}, nil
}

func (s *service) deleteLogGroup(ctx context.Context, in *deleteLogGroupInput) (*empty, error) {
	name, err := required("logGroupName", in.LogGroupName)
	if err != nil {
		return nil, err
	}
	if err := checkGroupName("logGroupName", name); err != nil {
		return nil, err
	}
	if err := s.store.DeleteGroup(ctx, name); err != nil {
		return nil, storeError(err)
	}
	return &empty{}, nil
}

func (s *service) putLogEvents(ctx context.Context, in *putLogEventsInput) (*putLogEventsOutput, error) {
	group, stream, err := groupAndStream(in.LogGroupName, in.LogStreamName)
	if err != nil {
		return nil, err
	}
	if len(in.LogEvents) < 1 || len(in.LogEvents) > 10000 {
		return nil, constraintError("logEvents", len(in.LogEvents), "Member must have length between 1 and 10000")
	}
	size := 0
	for i, e := range in.LogEvents {
		switch {
		case e.Timestamp == nil:
			return nil, constraintError(fmt.Sprintf("logEvents.%d.member.timestamp", i+1), "null", "Member must not be null")
		case e.Message == nil:
			return nil, constraintError(fmt.Sprintf("logEvents.%d.member.message", i+1), "null", "Member must not be null")
		case *e.Timestamp < 0:
			return nil, constraintError(fmt.Sprintf("logEvents.%d.member.timestamp", i+1), *e.Timestamp, "Member must have value greater than or equal to 0")
		case len(*e.Message) < 1:
			return nil, constraintError(fmt.Sprintf("logEvents.%d.member.message", i+1), "", "Member must have length greater than or equal to 1")
		case len(*e.Message) > logstore.MaxMessageBytes:
			return nil, awsapi.Errorf(errInvalid, "Log event too large: %d bytes exceeds limit of %d", len(*e.Message)+logstore.EventOverhead, logstore.MaxMessageBytes+logstore.EventOverhead)
		case i > 0 && *e.Timestamp < *in.LogEvents[i-1].Timestamp:
			return nil, awsapi.Errorf(errInvalid, "Log events in a single PutLogEvents request must be in chronological order.")
		}
		size += len(*e.Message) + logstore.EventOverhead
	}
	if size > maxBatchBytes {
		return nil, awsapi.Errorf(errInvalid, "Upload too large: %d bytes exceeds limit of %d", size, maxBatchBytes)
	}
	// Events too old or too new are dropped and reported, the rest stored;
	// the batch is sorted, so those are a prefix and a suffix.
	now := s.now()
	oldest, newest := now.Add(-maxPast).UnixMilli(), now.Add(maxFuture).UnixMilli()
	lo, hi := 0, len(in.LogEvents)
	for lo < hi && *in.LogEvents[lo].Timestamp < oldest {
		lo++
	}
	for hi > lo && *in.LogEvents[hi-1].Timestamp > newest {
		hi--
	}
	out := &putLogEventsOutput{}
	if lo > 0 || hi < len(in.LogEvents) {
		out.RejectedLogEventsInfo = &rejectedLogEventsInfo{}
		if lo > 0 {
			out.RejectedLogEventsInfo.TooOldLogEventEndIndex = &lo
		}
		if hi < len(in.LogEvents) {
			out.RejectedLogEventsInfo.TooNewLogEventStartIndex = &hi
		}
	}
	if lo == hi {
		// Nothing to store, but the stream must still exist.
		if _, err := s.store.Stream(group, stream); err != nil {
			return nil, storeError(err)
		}
		return out, nil
	}
	if span := *in.LogEvents[hi-1].Timestamp - *in.LogEvents[lo].Timestamp; span > maxBatchSpan.Milliseconds() {
		return nil, awsapi.Errorf(errInvalid, "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	events := make([]logstore.Event, 0, hi-lo)
	for _, e := range in.LogEvents[lo:hi] {
		events = append(events, logstore.Event{Timestamp: *e.Timestamp, Message: *e.Message})
	}
	if err := s.store.AppendExisting(ctx, group, stream, events); err != nil {
		return nil, storeError(err)
	}
	return out, nil
}
