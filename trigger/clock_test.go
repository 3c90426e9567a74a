package trigger

import (
	"context"
	"testing"
	"time"
)

func TestManualClockWakesSleepersInOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewManualClock(t0)
	ctx := context.Background()
	done := make(chan time.Duration, 2)
	for _, d := range []time.Duration{2 * time.Second, time.Second} {
		go func(d time.Duration) {
			if err := c.Sleep(ctx, d); err != nil {
				t.Error(err)
			}
			done <- d
		}(d)
	}
	if err := c.WaitForWaiters(ctx, 2); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second)
	if d := <-done; d != time.Second {
		t.Fatalf("woke %v first", d)
	}
	if c.Waiters() != 1 {
		t.Fatalf("waiters %d", c.Waiters())
	}
	c.Advance(time.Second)
	if d := <-done; d != 2*time.Second {
		t.Fatalf("woke %v", d)
	}
	if !c.Now().Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("now %v", c.Now())
	}
}

func TestManualClockSleepCancels(t *testing.T) {
	c := NewManualClock(time.Unix(0, 0))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- c.Sleep(ctx, time.Hour) }()
	if err := c.WaitForWaiters(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("cancelled sleep returned nil")
	}
	if c.Waiters() != 0 {
		t.Fatal("cancelled sleeper still registered")
	}
}

func TestNextStartNoCatchUpStorm(t *testing.T) {
	s := time.Unix(100, 0)
	if got := NextStart(10*time.Second, s, s.Add(3*time.Second)); !got.Equal(s.Add(10 * time.Second)) {
		t.Fatalf("on time: %v", got)
	}
	// A batch that took 35s (3.5 intervals) is followed at once, not by
	// three back-to-back catch-up batches.
	end := s.Add(35 * time.Second)
	if got := NextStart(10*time.Second, s, end); !got.Equal(end) {
		t.Fatalf("overrun: %v", got)
	}
}
