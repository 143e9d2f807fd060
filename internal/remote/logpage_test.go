package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
)

// cannedHTTP answers every request with one status and body.
type cannedHTTP struct {
	status int
	body   []byte
	// unknownLength leaves Content-Length out, as a chunked response does.
	unknownLength bool
}

func (c cannedHTTP) Do(req *http.Request) (*http.Response, error) {
	n := int64(len(c.body))
	if c.unknownLength {
		n = -1
	}
	h := http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amzn-Requestid": {"req-1"}}
	return &http.Response{
		StatusCode: c.status, Status: http.StatusText(c.status), Header: h,
		Body: io.NopCloser(bytes.NewReader(c.body)), ContentLength: n, Request: req,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}, nil
}

func cannedLogs(c cannedHTTP) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://logs.test"),
		Credentials:      aws.AnonymousCredentials{},
		HTTPClient:       c,
		RetryMaxAttempts: 1,
	})
}

// getBoth reads one page of body through the SDK as it is and with
// FastLogEvents.
func getBoth(t testing.TB, c cannedHTTP) (sdk, fast *cloudwatchlogs.GetLogEventsOutput, sdkErr, fastErr error) {
	client := cannedLogs(c)
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)}
	sdk, sdkErr = client.GetLogEvents(context.Background(), in)
	fast, fastErr = client.GetLogEvents(context.Background(), in, FastLogEvents)
	return sdk, fast, sdkErr, fastErr
}

// pageOf is what a page's decoding says, without the request metadata.
func pageOf(o *cloudwatchlogs.GetLogEventsOutput) string {
	if o == nil {
		return "<nil>"
	}
	var b strings.Builder
	str := func(p *string) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprintf("%q", *p)
	}
	num := func(p *int64) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	fmt.Fprintf(&b, "events nil=%v len=%d\n", o.Events == nil, len(o.Events))
	for _, e := range o.Events {
		fmt.Fprintf(&b, "  %s %s %s\n", num(e.Timestamp), str(e.Message), num(e.IngestionTime))
	}
	fmt.Fprintf(&b, "fwd %s back %s\n", str(o.NextForwardToken), str(o.NextBackwardToken))
	return b.String()
}

func TestFastLogEventsMatchesSDK(t *testing.T) {
	bodies := map[string]string{
		"page": `{"events":[{"timestamp":1700000000000,"message":"hello\n","ingestionTime":1700000000001},` +
			`{"timestamp":2,"message":"world","ingestionTime":3}],"nextForwardToken":"f/2","nextBackwardToken":"b/0"}`,
		"empty page":   `{"events":[],"nextForwardToken":"f/0","nextBackwardToken":"b/0"}`,
		"null events":  `{"events":null,"nextForwardToken":"f/0","nextBackwardToken":null}`,
		"no members":   `{}`,
		"empty body":   ``,
		"whitespace":   " \n{ \"events\" : [ { \"message\" : \"a\" } , {\"message\":\"b\"} ] ,\r\n\t\"nextForwardToken\":\"t\" } \n",
		"escapes":      `{"events":[{"message":"tab\there \"q\" back\\slash \/ \b\f\r\n ansi \u001b[31mred\u001b[0m"}]}`,
		"unicode":      `{"events":[{"message":"héllo wörld ✓ 日本 😀"},{"message":"\u00e9\u2713\ud83d\ude00"}]}`,
		"lone surr":    `{"events":[{"message":"a\ud800b"},{"message":"\udc00"}]}`,
		"bad utf8":     "{\"events\":[{\"message\":\"a\xffb\xc3\"}]}",
		"null message": `{"events":[{"timestamp":1,"message":null,"ingestionTime":null},{"message":""},{"message":"x"},{}]}`,
		"negative":     `{"events":[{"timestamp":-5,"message":"m","ingestionTime":0}]}`,
		"float time":   `{"events":[{"timestamp":1.5e3,"message":"m"}]}`,
		"big time":     `{"events":[{"timestamp":99999999999999999999,"message":"m"}]}`,
		"unknown key":  `{"events":[{"message":"m","eventId":"1"}],"other":{"a":[1,2]}}`,
		"dup key":      `{"events":[{"message":"a","message":"b"}],"nextForwardToken":"1","nextForwardToken":"2"}`,
		"token first":  `{"nextForwardToken":"f/\u00e9","events":[{"message":"after"}]}`,
		"trailing":     `{"events":[]} x`,
		"truncated":    `{"events":[{"message":"abc`,
		"control char": "{\"events\":[{\"message\":\"a\tb\"}]}",
		"not object":   `[1,2]`,
	}
	for name, body := range bodies {
		for _, unknown := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/unknownLength=%v", name, unknown), func(t *testing.T) {
				sdk, fast, sdkErr, fastErr := getBoth(t, cannedHTTP{status: 200, body: []byte(body), unknownLength: unknown})
				if (sdkErr == nil) != (fastErr == nil) {
					t.Fatalf("SDK error %v, fast error %v", sdkErr, fastErr)
				}
				if sdkErr != nil {
					var de *smithy.DeserializationError
					if !errors.As(fastErr, &de) {
						t.Errorf("fast error %T %v, want a DeserializationError like the SDK's (%v)", fastErr, fastErr, sdkErr)
					}
					return
				}
				if got, want := pageOf(fast), pageOf(sdk); got != want {
					t.Errorf("fast decoding:\n%s\nSDK:\n%s", got, want)
				}
			})
		}
	}
}

func TestDecodeLogEventsPageTakes(t *testing.T) {
	// The common pages are decoded here, not handed back to the SDK.
	for _, body := range []string{
		`{"events":[{"timestamp":1,"message":"a\u001b[0m\n","ingestionTime":2}],"nextForwardToken":"f/1","nextBackwardToken":"b/0"}`,
		`{"events":[],"nextForwardToken":"f/0","nextBackwardToken":"b/0"}`,
		`{"events":[{"message":"héllo ✓"}]}`,
	} {
		if _, err := decodeLogEventsPage([]byte(body)); err != nil {
			t.Errorf("decode %s: %v", body, err)
		}
	}
	for _, body := range []string{`{"x":1}`, `{"events":[{"timestamp":1.0}]}`, `{"events":[]}]`} {
		if _, err := decodeLogEventsPage([]byte(body)); !errors.Is(err, errNotTaken) {
			t.Errorf("decode %s: %v, want errNotTaken", body, err)
		}
	}
}

func TestFastLogEventsErrors(t *testing.T) {
	// Error responses keep the SDK's typed errors and codes.
	cases := []struct {
		status int
		body   string
		check  func(error) bool
	}{
		{400, `{"__type":"ResourceNotFoundException","message":"The specified log stream does not exist."}`,
			func(err error) bool { var e *cwtypes.ResourceNotFoundException; return errors.As(err, &e) }},
		{400, `{"__type":"InvalidParameterException","message":"bad token"}`,
			func(err error) bool { var e *cwtypes.InvalidParameterException; return errors.As(err, &e) }},
		{400, `{"__type":"ThrottlingException","message":"Rate exceeded"}`,
			func(err error) bool {
				var e smithy.APIError
				return errors.As(err, &e) && e.ErrorCode() == "ThrottlingException"
			}},
		{500, `{"__type":"ServiceUnavailableException","message":"down"}`,
			func(err error) bool { var e *cwtypes.ServiceUnavailableException; return errors.As(err, &e) }},
		{503, `not json`, func(err error) bool { return err != nil }},
	}
	for _, c := range cases {
		sdk, fast, sdkErr, fastErr := getBoth(t, cannedHTTP{status: c.status, body: []byte(c.body)})
		if sdk != nil || fast != nil || !c.check(fastErr) || !c.check(sdkErr) {
			t.Errorf("%d %s: fast %v, SDK %v", c.status, c.body, fastErr, sdkErr)
			continue
		}
		if fastErr.Error() != sdkErr.Error() {
			t.Errorf("%d %s: fast error %q, SDK's %q", c.status, c.body, fastErr, sdkErr)
		}
	}
}

func TestFastLogEventsFullPage(t *testing.T) {
	// A full page as a Hangar runner sends it, every byte in order.
	var b strings.Builder
	b.WriteString(`{"events":[`)
	var want []string
	for i := range 10000 {
		if i > 0 {
			b.WriteByte(',')
		}
		msg := fmt.Sprintf("%099d\n", i)
		if i%1000 == 7 {
			msg = fmt.Sprintf("line %d \x1b[1mbold\x1b[0m \"é\"\n", i)
		}
		want = append(want, msg)
		fmt.Fprintf(&b, `{"timestamp":%d,"message":%s,"ingestionTime":%d}`, 1700000000000+i, jsonString(msg), 1700000000001+i)
	}
	b.WriteString(`],"nextForwardToken":"f/10000","nextBackwardToken":"b/0"}`)
	_, fast, _, err := getBoth(t, cannedHTTP{status: 200, body: []byte(b.String())})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for k, e := range fast.Events {
		got = append(got, aws.ToString(e.Message))
		if aws.ToInt64(e.Timestamp) != 1700000000000+int64(k) || aws.ToInt64(e.IngestionTime) != 1700000000001+int64(k) {
			t.Fatalf("event %d: times %v %v", k, aws.ToInt64(e.Timestamp), aws.ToInt64(e.IngestionTime))
		}
	}
	if !reflect.DeepEqual(got, want) || aws.ToString(fast.NextForwardToken) != "f/10000" {
		t.Errorf("got %d messages (equal: %v), token %q", len(got), reflect.DeepEqual(got, want), aws.ToString(fast.NextForwardToken))
	}
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// FuzzGetLogEventsDecode checks that a GetLogEvents body decodes the same
// with FastLogEvents as through the SDK alone, and that whatever
// decodeLogEventsPage takes, the SDK takes the same way.
func FuzzGetLogEventsDecode(f *testing.F) {
	for _, s := range []string{
		`{"events":[{"timestamp":1,"message":"a\n","ingestionTime":2}],"nextForwardToken":"f/1","nextBackwardToken":"b/0"}`,
		`{"events":[],"nextForwardToken":"f/0","nextBackwardToken":"b/0"}`,
		`{"events":null}`,
		`{"events":[{"message":"\u00e9\ud83d\ude00\t\"\\"},{"message":null},{}]}`,
		"{\"events\":[{\"message\":\"\xff\xc3é\"}]}",
		`{"events":[{"timestamp":-0,"message":"m"}],"x":1}`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sdk, fast, sdkErr, fastErr := getBoth(t, cannedHTTP{status: 200, body: body})
		if (sdkErr == nil) != (fastErr == nil) {
			t.Fatalf("SDK error %v, fast error %v", sdkErr, fastErr)
		}
		if sdkErr == nil && pageOf(fast) != pageOf(sdk) {
			t.Fatalf("fast decoding:\n%s\nSDK:\n%s", pageOf(fast), pageOf(sdk))
		}
		if len(body) == 0 {
			return
		}
		page, err := decodeLogEventsPage(body)
		if err != nil {
			return
		}
		if sdkErr != nil {
			t.Fatalf("decoded a page the SDK rejects (%v):\n%s", sdkErr, pageOf(page))
		}
		if pageOf(page) != pageOf(sdk) {
			t.Fatalf("decoded:\n%s\nSDK:\n%s", pageOf(page), pageOf(sdk))
		}
	})
}
