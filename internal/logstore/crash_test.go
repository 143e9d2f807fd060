package logstore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const crashDirEnv = "LOGSTORE_CRASH_DIR"

// TestKill9KeepsAcknowledgedEvents kills a writing process with SIGKILL and
// checks that every event whose Append had returned is still there, in
// order, and that the store opens cleanly (a torn batch is cut off).
func TestKill9KeepsAcknowledgedEvents(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashWriter(dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	dir := t.TempDir()
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKill9KeepsAcknowledgedEvents$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := 0
		sc := bufio.NewScanner(out)
		target := 2000 + round*3000
		for sc.Scan() {
			if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "ack ")); err == nil {
				acked = n
			}
			if acked >= target {
				break
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if acked < target {
			t.Fatalf("writer acknowledged only %d events", acked)
		}

		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(t, s, "g", "s", GetRequest{StartFromHead: true})
		s.Close()
		if len(got) < acked {
			t.Fatalf("round %d: %d events after kill, %d were acknowledged", round, len(got), acked)
		}
		for i, m := range got {
			if !strings.HasPrefix(m, fmt.Sprintf("line %d ", i)) {
				t.Fatalf("round %d: event %d = %.20q", round, i, m)
			}
		}
	}
}

// crashWriter appends batches forever, saying after each how many events
// are acknowledged, until it is killed.
func crashWriter(dir string) {
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	next := 0
	if info, err := s.Stream("g", "s"); err == nil && info.HasEvents {
		res, err := s.GetEvents(ctx, "g", "s", GetRequest{Limit: 1})
		if err != nil {
			os.Exit(2)
		}
		next, _ = strconv.Atoi(strings.Fields(res.Events[0].Message)[1])
		next++
	}
	pad := strings.Repeat("x", 2000)
	for {
		evs := make([]Event, 50)
		for i := range evs {
			evs[i] = Event{Timestamp: time.Now().UnixMilli(), Message: fmt.Sprintf("line %d %s\n", next+i, pad)}
		}
		if err := s.Append(ctx, "g", "s", evs); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		next += len(evs)
		fmt.Printf("ack %d\n", next)
	}
}
