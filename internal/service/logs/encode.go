package logs

import (
	"slices"
	"strconv"

	"github.com/hangarci/hangar/internal/awsapi"
)

// AppendJSON writes the page as json.Marshal would, without reflection: a
// page holds up to 10,000 events, and following a fast build is mostly
// encoding them (see awsapi.JSONAppender).
func (o *getLogEventsOutput) AppendJSON(b []byte) []byte {
	// Each event costs its message plus about 71 bytes of JSON: growing
	// once spares the copies of growing by doubling.
	n := 64
	for _, e := range o.Events {
		n += len(e.Message) + 80
	}
	b = slices.Grow(b, n)
	b = append(b, `{"events":`...)
	if o.Events == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, e := range o.Events {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"timestamp":`...)
			b = strconv.AppendInt(b, e.Timestamp, 10)
			b = append(b, `,"message":`...)
			b = awsapi.AppendJSONString(b, e.Message)
			b = append(b, `,"ingestionTime":`...)
			b = strconv.AppendInt(b, e.IngestionTime, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"nextForwardToken":`...)
	b = awsapi.AppendJSONString(b, o.NextForwardToken)
	b = append(b, `,"nextBackwardToken":`...)
	b = awsapi.AppendJSONString(b, o.NextBackwardToken)
	return append(b, '}')
}
