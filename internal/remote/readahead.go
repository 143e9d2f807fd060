package remote

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// readAhead reads a log stream's pages by forward token, asking for the
// next page as soon as a response shows its token (before the page is
// decoded), so that the runner serves one page while the client decodes
// the last: one after the other, a fast build's log leaves one of two
// cores idle. A page read ahead is used only for the token it was read
// for, and only within one drain, so what a drain prints is never older
// than the drain.
type readAhead struct {
	logs          LogGetter
	group, stream string

	ctx    context.Context // ended by stop
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	pending map[string]chan pageResult // by token
}

type pageResult struct {
	out *cloudwatchlogs.GetLogEventsOutput
	err error
}

func newReadAhead(ctx context.Context, logs LogGetter, group, stream string) *readAhead {
	ctx, cancel := context.WithCancel(ctx)
	return &readAhead{logs: logs, group: group, stream: stream, ctx: ctx, cancel: cancel, pending: map[string]chan pageResult{}}
}

// get returns the page at token (the head when nil): the one read ahead for
// it, or a new read. A page read ahead for a token that turns out not to
// be the next (the hint was wrong) is never used.
func (r *readAhead) get(token *string) (*cloudwatchlogs.GetLogEventsOutput, error) {
	if token != nil {
		r.mu.Lock()
		ch, ok := r.pending[*token]
		delete(r.pending, *token)
		r.mu.Unlock()
		if ok {
			select {
			case res := <-ch:
				return res.out, res.err
			case <-r.ctx.Done():
				return nil, r.ctx.Err()
			}
		}
	}
	return r.read(token)
}

func (r *readAhead) read(token *string) (*cloudwatchlogs.GetLogEventsOutput, error) {
	in := &cloudwatchlogs.GetLogEventsInput{
		LogGroupName:  aws.String(r.group),
		LogStreamName: aws.String(r.stream),
		StartFromHead: aws.Bool(true),
		NextToken:     token,
	}
	return r.logs.GetLogEvents(r.ctx, in, fastLogEvents(func(next string) {
		// A page whose token is its own is the end of the log for now.
		if token == nil || next != *token {
			r.start(next)
		}
	}))
}

// start reads the page at token in the background, unless a page read
// ahead is still waiting for the caller: reading one page ahead is what
// keeps both sides busy, and a slow caller (a terminal) should not make
// the pages pile up.
func (r *readAhead) start(token string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) > 0 || r.ctx.Err() != nil {
		return
	}
	ch := make(chan pageResult, 1)
	r.pending[token] = ch
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		out, err := r.read(&token)
		ch <- pageResult{out, err}
	}()
}

// stop ends the reads still going and waits for them.
func (r *readAhead) stop() {
	r.cancel()
	r.wg.Wait()
}
