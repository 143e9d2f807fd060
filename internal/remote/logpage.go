package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// FastLogEvents is a GetLogEvents option that decodes successful responses
// with decodeLogEventsPage instead of the SDK's generic JSON deserializer,
// which takes most of a follower's CPU on a fast build's 1 MB pages. Error
// responses, and any page the decoder does not take (unknown members,
// numbers that are not plain integers, malformed JSON), still go to the
// SDK's protocol, so the result is the SDK's in every case.
func FastLogEvents(o *cloudwatchlogs.Options) { fastLogEvents(nil)(o) }

// fastLogEvents is FastLogEvents that also tells hint the page's forward
// token, when the body shows it, before the page is decoded: the next page
// can be asked for while this one is.
func fastLogEvents(hint func(token string)) func(*cloudwatchlogs.Options) {
	return func(o *cloudwatchlogs.Options) {
		if o.Protocol == nil {
			return
		}
		if p, ok := o.Protocol.(logEventsProtocol); ok {
			o.Protocol = logEventsProtocol{p.ClientProtocol, hint}
			return
		}
		o.Protocol = logEventsProtocol{o.Protocol, hint}
	}
}

// logEventsProtocol is the client's protocol with GetLogEvents' successful
// responses decoded by decodeLogEventsPage.
type logEventsProtocol struct {
	smithyhttp.ClientProtocol
	hint func(token string)
}

// maxPageBody bounds the body read in one allocation from Content-Length:
// a page is at most 1 MB of messages plus their JSON.
const maxPageBody = 64 << 20

func (p logEventsProtocol) DeserializeResponse(ctx context.Context, schema *smithy.OperationSchema, types *smithy.TypeRegistry, resp *smithyhttp.Response, out smithy.Deserializable) error {
	o, ok := out.(*cloudwatchlogs.GetLogEventsOutput)
	if !ok || resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return p.ClientProtocol.DeserializeResponse(ctx, schema, types, resp, out)
	}
	body, err := readBody(resp)
	if err != nil {
		return &smithy.DeserializationError{Err: fmt.Errorf("read GetLogEvents response: %w", err)}
	}
	if len(body) == 0 {
		return nil // as the SDK: an empty body is an empty output
	}
	if p.hint != nil {
		if tok, ok := forwardTokenHint(body); ok {
			p.hint(tok)
		}
	}
	page, err := decodeLogEventsPage(body)
	if err == nil {
		o.Events, o.NextForwardToken, o.NextBackwardToken = page.Events, page.NextForwardToken, page.NextBackwardToken
		return nil
	}
	// Not a page this decoder takes: the SDK decides, from the same bytes.
	hr := *resp.Response
	hr.Body = io.NopCloser(bytes.NewReader(body))
	return p.ClientProtocol.DeserializeResponse(ctx, schema, types, &smithyhttp.Response{Response: &hr}, out)
}

// readBody reads the whole body, in one allocation when its length is known.
func readBody(resp *smithyhttp.Response) ([]byte, error) {
	if resp.Body == nil {
		return nil, nil
	}
	n := resp.ContentLength
	if n < 0 || n > maxPageBody {
		return io.ReadAll(resp.Body)
	}
	// One byte more than announced, so that a longer body is still read whole.
	buf := make([]byte, 0, n+1)
	for {
		m, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			rest, err := io.ReadAll(resp.Body)
			return append(buf, rest...), err
		}
	}
}

// forwardTokenHint finds the forward token at the end of a page (where
// AWS and Hangar put it) without decoding the page. The pattern cannot
// occur inside a JSON string, where every quote is escaped; still, it is a
// guess until the page is decoded.
func forwardTokenHint(body []byte) (string, bool) {
	const key = `"nextForwardToken":"`
	i := bytes.LastIndex(body, []byte(key))
	if i < 0 {
		return "", false
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return "", false
	}
	return string(rest[:j]), true
}

// errNotTaken says a page holds something decodeLogEventsPage leaves to the
// SDK.
var errNotTaken = errors.New("not a plain GetLogEvents page")

// decodeLogEventsPage decodes a GetLogEvents response body: an object with
// "events" (objects of "timestamp", "message", "ingestionTime"),
// "nextForwardToken" and "nextBackwardToken", any of them null or absent.
// Anything else, malformed JSON included, is errNotTaken. Messages share one
// string per page, so a page costs a handful of allocations, not several
// per event.
func decodeLogEventsPage(b []byte) (*cloudwatchlogs.GetLogEventsOutput, error) {
	// The messages take less room than the body that holds them (but for
	// invalid UTF-8 in escaped strings, which append makes room for).
	d := &pageDecoder{b: b, text: make([]byte, 0, len(b))}
	out, err := d.page()
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pageDecoder reads one page from b; i is where it is.
type pageDecoder struct {
	b []byte
	i int
	// text holds the page's messages back to back; ends[k] is where
	// message k ends in it, or -1 for a null message.
	text []byte
	ends []int
	ev   event // the event being read
}

// event is what an event holds while it is read: its times (nullTime when
// null or absent) and the end of its message in text (-1 when null or
// absent).
type event struct {
	ts, it int64
	end    int
}

func (d *pageDecoder) page() (*cloudwatchlogs.GetLogEventsOutput, error) {
	var (
		out    cloudwatchlogs.GetLogEventsOutput
		events []cwtypes.OutputLogEvent
		times  []int64 // timestamp and ingestion time of each event
	)
	err := d.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "events":
			if !d.null() {
				events, times, err = d.events()
			}
		case "nextForwardToken":
			out.NextForwardToken, err = d.optString()
		case "nextBackwardToken":
			out.NextBackwardToken, err = d.optString()
		default:
			err = errNotTaken
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, errNotTaken
	}
	if events == nil {
		return &out, nil
	}
	// Point the events at their values only now that the backing arrays
	// stop growing.
	text := string(d.text)
	msgs := make([]string, len(events))
	start := 0
	for k := range events {
		if end := d.ends[k]; end >= 0 {
			msgs[k] = text[start:end]
			events[k].Message = &msgs[k]
			start = end
		}
		if times[2*k] != nullTime {
			events[k].Timestamp = &times[2*k]
		}
		if times[2*k+1] != nullTime {
			events[k].IngestionTime = &times[2*k+1]
		}
	}
	out.Events = events
	return &out, nil
}

// nullTime marks an absent or null time while a page is decoded. A page
// holding that very number (math.MinInt64) is left to the SDK (optInt
// refuses it), so it never stands for a real time.
const nullTime = -1 << 63

// events decodes the events array (its values are linked to their
// messages and times by page).
func (d *pageDecoder) events() ([]cwtypes.OutputLogEvent, []int64, error) {
	// An event takes about 70 bytes of JSON besides its message: a guess
	// of their number that spares growing the arrays a dozen times over a
	// full page of short lines.
	n := len(d.b)/128 + 8
	events := make([]cwtypes.OutputLogEvent, 0, n)
	times := make([]int64, 0, 2*n)
	d.ends = make([]int, 0, n)
	d.ws()
	if !d.eat('[') {
		return nil, nil, errNotTaken
	}
	d.ws()
	if d.eat(']') {
		return events, times, nil
	}
	member := d.eventMember // one closure for the page, not one per event
	for {
		d.ev = event{ts: nullTime, it: nullTime, end: -1}
		if err := d.object(member); err != nil {
			return nil, nil, err
		}
		events = append(events, cwtypes.OutputLogEvent{})
		times = append(times, d.ev.ts, d.ev.it)
		d.ends = append(d.ends, d.ev.end)
		d.ws()
		if d.eat(']') {
			return events, times, nil
		}
		if !d.eat(',') {
			return nil, nil, errNotTaken
		}
	}
}

// eventMember reads one member of an event into d.ev.
func (d *pageDecoder) eventMember(key []byte) error {
	var err error
	switch string(key) {
	case "timestamp":
		d.ev.ts, err = d.optInt()
	case "ingestionTime":
		d.ev.it, err = d.optInt()
	case "message":
		if !d.null() {
			if d.text, err = d.appendString(d.text); err == nil {
				d.ev.end = len(d.text)
			}
		}
	default:
		err = errNotTaken
	}
	return err
}

// object reads an object, calling member for each key with d just before
// its value. A key repeated is left to the SDK: which one wins is its
// business.
func (d *pageDecoder) object(member func(key []byte) error) error {
	var seen [3][]byte // the members of a page or an event are 3
	d.ws()
	if !d.eat('{') {
		return errNotTaken
	}
	d.ws()
	if d.eat('}') {
		return nil
	}
	for {
		d.ws()
		key, ok := d.plainString()
		if !ok {
			return errNotTaken
		}
		for k, prev := range seen {
			if prev == nil {
				seen[k] = key
				break
			}
			if bytes.Equal(prev, key) || k == len(seen)-1 {
				return errNotTaken
			}
		}
		d.ws()
		if !d.eat(':') {
			return errNotTaken
		}
		d.ws()
		if err := member(key); err != nil {
			return err
		}
		d.ws()
		if d.eat('}') {
			return nil
		}
		if !d.eat(',') {
			return errNotTaken
		}
	}
}

func (d *pageDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *pageDecoder) eat(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *pageDecoder) null() bool {
	if bytes.HasPrefix(d.b[d.i:], []byte("null")) {
		d.i += 4
		return true
	}
	return false
}

// plainString reads a string without escapes or control characters, the
// common case, and returns its contents. Like the SDK it takes the bytes
// as they are, valid UTF-8 or not.
func (d *pageDecoder) plainString() ([]byte, bool) {
	if !d.eat('"') {
		return nil, false
	}
	rest := d.b[d.i:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil, false
	}
	s := rest[:j]
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			d.i--
			return nil, false
		}
	}
	d.i += j + 1
	return s, true
}

// appendString reads a string onto dst. Plain ones are copied as they
// are; ones with escapes (every log line ends in "\n") are decoded as the
// SDK does, by encoding/json's rules: invalid UTF-8 and lone surrogates
// become U+FFFD.
func (d *pageDecoder) appendString(dst []byte) ([]byte, error) {
	if s, ok := d.plainString(); ok {
		return append(dst, s...), nil
	}
	if !d.eat('"') {
		return dst, errNotTaken
	}
	b := d.b
	i := d.i
	// q is the next quote at or after i: an escaped one is stepped over,
	// so it is searched for again only once i has passed it.
	q := -1
	for {
		if q < i {
			j := bytes.IndexByte(b[i:], '"')
			if j < 0 {
				return dst, errNotTaken
			}
			q = i + j
		}
		end := q
		if j := bytes.IndexByte(b[i:q], '\\'); j >= 0 {
			end = i + j
		}
		var ok bool
		if dst, ok = appendSegment(dst, b[i:end]); !ok {
			return dst, errNotTaken
		}
		if end == q {
			d.i = q + 1
			return dst, nil
		}
		// An escape at end.
		if end+1 >= len(b) {
			return dst, errNotTaken
		}
		i = end + 2
		switch b[end+1] {
		case '"', '\\', '/':
			dst = append(dst, b[end+1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(b[end+2:])
			if r < 0 {
				return dst, errNotTaken
			}
			i = end + 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
					r2 = hex4(b[i+2:])
				}
				if pair := utf16.DecodeRune(r, r2); pair != unicode.ReplacementChar {
					r = pair
					i += 6
				} else {
					r = unicode.ReplacementChar
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, errNotTaken
		}
	}
}

// appendSegment appends the unescaped run s of an escaped string: no
// control characters, invalid UTF-8 replaced.
func appendSegment(dst, s []byte) ([]byte, bool) {
	ascii := true
	for _, c := range s {
		if c < 0x20 {
			return dst, false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	if ascii || utf8.Valid(s) {
		return append(dst, s...), true
	}
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		dst = utf8.AppendRune(dst, r)
		s = s[n:]
	}
	return dst, true
}

// hex4 decodes the 4 hex digits of a \u escape, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

func (d *pageDecoder) optString() (*string, error) {
	if d.null() {
		return nil, nil
	}
	b, err := d.appendString(nil)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}

// optInt reads a plain integer (no fraction or exponent) or null.
func (d *pageDecoder) optInt() (int64, error) {
	if d.null() {
		return nullTime, nil
	}
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	n := d.i - digits
	if n == 0 || (n > 1 && d.b[digits] == '0') {
		return 0, errNotTaken
	}
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case '.', 'e', 'E':
			return 0, errNotTaken
		}
	}
	if n > 18 {
		// May not fit: strconv says.
		v, err := strconv.ParseInt(string(d.b[start:d.i]), 10, 64)
		if err != nil || v == nullTime {
			return 0, errNotTaken
		}
		return v, nil
	}
	var v int64
	for _, c := range d.b[digits:d.i] {
		v = v*10 + int64(c-'0')
	}
	if digits > start {
		v = -v
	}
	return v, nil
}
