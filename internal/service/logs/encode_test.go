package logs

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestGetLogEventsOutputAppendJSONMatchesEncodingJSON(t *testing.T) {
	for _, out := range []*getLogEventsOutput{
		{NextForwardToken: "f/0", NextBackwardToken: "b/0"},
		{Events: []outputLogEvent{}, NextForwardToken: "f/0", NextBackwardToken: "b/0"},
		{Events: []outputLogEvent{
			{Timestamp: 1764220000123, Message: "plain line\n", IngestionTime: 1764220000125},
			{Timestamp: 0, Message: "<&> \"q\" \\ \t\x00 \xff ünï \u2028", IngestionTime: -1},
			{Timestamp: 1 << 62, Message: "", IngestionTime: 1 << 62},
		}, NextForwardToken: "f/12", NextBackwardToken: "b/9"},
	} {
		want, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		if got := out.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("AppendJSON:\n got %s\nwant %s", got, want)
		}
		if got := out.AppendJSON([]byte("x")); !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Errorf("AppendJSON after a prefix: %s", got)
		}
	}
}
