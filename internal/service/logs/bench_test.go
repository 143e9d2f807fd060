package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/hangarci/hangar/internal/logstore"
)

// benchStream returns a server whose stream g/s holds 100,000 events of
// 80 bytes, and the raw body of a forward GetLogEvents of one full page.
func benchStream(b *testing.B) (*httptest.Server, string) {
	store, err := logstore.Open(b.TempDir(), logstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	evs := make([]logstore.Event, 10000)
	for i := range evs {
		evs[i] = logstore.Event{Timestamp: int64(i), Message: fmt.Sprintf("%079d\n", i)}
	}
	for range 10 {
		if err := store.Append(context.Background(), "g", "s", evs); err != nil {
			b.Fatal(err)
		}
	}
	srv := httptest.NewServer(New(store, testNames, slog.New(slog.DiscardHandler)))
	b.Cleanup(srv.Close)
	return srv, `{"logGroupName":"g","logStreamName":"s","startFromHead":true,"nextToken":"f/0"}`
}

// BenchmarkGetLogEventsHTTP measures a full page (10,000 events, 800 KB of
// messages) served over HTTP and read raw.
func BenchmarkGetLogEventsHTTP(b *testing.B) {
	srv, body := benchStream(b)
	b.SetBytes(10000 * 80)
	for b.Loop() {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(body))
		req.Header.Set("X-Amz-Target", TargetPrefix+".GetLogEvents")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkGetLogEventsSDK is the same page read through the Go SDK, as
// `hangar run` follows a build.
func BenchmarkGetLogEventsSDK(b *testing.B) {
	srv, _ := benchStream(b)
	client := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:  bodyNoWriteTo{&http.Client{}},
	})
	b.SetBytes(10000 * 80)
	for b.Loop() {
		out, err := client.GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true), NextToken: aws.String("f/0"),
		})
		if err != nil || len(out.Events) < 9000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodePage measures encoding a full page (10,000 events of 80
// bytes) without reflection, as the service does, beside json.Marshal.
func BenchmarkEncodePage(b *testing.B) {
	out := &getLogEventsOutput{Events: make([]outputLogEvent, 10000), NextForwardToken: "f/10000", NextBackwardToken: "b/0"}
	for i := range out.Events {
		out.Events[i] = outputLogEvent{Timestamp: 1764220000123 + int64(i), Message: fmt.Sprintf("%079d\n", i), IngestionTime: 1764220000125 + int64(i)}
	}
	b.Run("append", func(b *testing.B) {
		b.SetBytes(10000 * 80)
		var buf []byte
		for b.Loop() {
			buf = out.AppendJSON(buf[:0])
		}
	})
	b.Run("marshal", func(b *testing.B) {
		b.SetBytes(10000 * 80)
		for b.Loop() {
			if _, err := json.Marshal(out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
