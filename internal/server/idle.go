package server

import (
	"net/http"
	"sync/atomic"
	"time"
)

// activity records when the runner last served a request, so an idle
// runner (the embedded target) can stop itself.
type activity struct {
	last     atomic.Int64 // unix nanoseconds
	inFlight atomic.Int64
}

func (a *activity) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.inFlight.Add(1)
		defer func() {
			a.last.Store(time.Now().UnixNano())
			a.inFlight.Add(-1)
		}()
		h.ServeHTTP(w, r)
	})
}

// idleSince reports how long the runner has had no request and no build.
func (rt *runtime) idleSince(now time.Time) time.Duration {
	if rt.act.inFlight.Load() > 0 {
		return 0
	}
	if q, r := rt.sched.Counts(); q+r > 0 {
		return 0
	}
	return now.Sub(time.Unix(0, rt.act.last.Load()))
}
