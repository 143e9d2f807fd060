package remote

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// BenchmarkGetLogEventsDecode reads a full GetLogEvents page (about 8,300
// events of 100 bytes, 1 MB, as a runner serves a fast build's log)
// through the SDK client, with its own deserializer and with FastLogEvents.
func BenchmarkGetLogEventsDecode(b *testing.B) {
	var page strings.Builder
	page.WriteString(`{"events":[`)
	msgs := 0
	for i := 0; msgs+100+26 <= 1<<20; i++ {
		if i > 0 {
			page.WriteByte(',')
		}
		fmt.Fprintf(&page, `{"timestamp":%d,"message":"%099d\n","ingestionTime":%d}`, 1700000000000+i, i, 1700000000000+i)
		msgs += 100 + 26
	}
	page.WriteString(`],"nextForwardToken":"f/8322","nextBackwardToken":"b/0"}`)
	client := cannedLogs(cannedHTTP{status: 200, body: []byte(page.String())})
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)}
	for _, c := range []struct {
		name string
		opts []func(*cloudwatchlogs.Options)
	}{{"sdk", nil}, {"fast", []func(*cloudwatchlogs.Options){FastLogEvents}}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(page.Len()))
			b.ReportAllocs()
			for b.Loop() {
				out, err := client.GetLogEvents(context.Background(), in, c.opts...)
				if err != nil || len(out.Events) < 8000 {
					b.Fatal(err)
				}
			}
		})
	}
}
