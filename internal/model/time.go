package model

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Time is a timestamp that travels as AWS JSON 1.1 sends it: a JSON number of
// epoch seconds with a fraction (1548717462.122). The Go SDK rejects strings.
type Time struct{ time.Time }

// NewTime returns t as a Time, truncated to milliseconds like AWS does.
func NewTime(t time.Time) Time { return Time{t.Truncate(time.Millisecond)} }

// Now returns the current time as a Time.
func Now() Time { return NewTime(time.Now()) }

// Ptr returns a pointer to t, for optional members.
func (t Time) Ptr() *Time { return &t }

// MarshalJSON writes epoch seconds with millisecond precision.
func (t Time) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	if ms%1000 == 0 {
		return strconv.AppendInt(nil, ms/1000, 10), nil
	}
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', 3, 64), nil
}

// UnmarshalJSON accepts a JSON number of epoch seconds.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("timestamp must be a number of epoch seconds, got %s", b)
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond))
	return nil
}
