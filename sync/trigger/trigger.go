// Package trigger turns the events that should start a sync — a timer, a push webhook, a file
// saved in a local checkout — into one stream of Triggers.
package trigger

import (
	"context"
	"math/rand/v2"
	"time"
)

// Trigger asks for a sync now.
type Trigger struct {
	// Reason is for logs: "poll", "webhook github push main", "fsnotify workspaces/a.yaml".
	Reason string
	At     time.Time
}

// Poll sends a Trigger every interval, each delayed by up to jitter (a fraction of the interval,
// 0..1), so that many replicas or many instances do not hit the Git server in step.
func Poll(ctx context.Context, interval time.Duration, jitter float64) <-chan Trigger {
	out := make(chan Trigger, 1)
	go func() {
		defer close(out)
		for {
			wait := interval
			if jitter > 0 {
				wait += time.Duration(rand.Float64() * jitter * float64(interval))
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case now := <-t.C:
				send(out, Trigger{Reason: "poll", At: now})
			}
		}
	}()
	return out
}

// send delivers without blocking: a trigger already waiting covers this one, since a sync always
// syncs to the latest commit.
func send(out chan<- Trigger, t Trigger) {
	select {
	case out <- t:
	default:
	}
}

// Merge fans several trigger streams into one. The merged channel is never closed (its readers
// stop on ctx, as RunUntil does); the goroutines feeding it end when ctx ends or their input closes.
func Merge(ctx context.Context, ins ...<-chan Trigger) <-chan Trigger {
	out := make(chan Trigger, 1)
	for _, in := range ins {
		if in == nil {
			continue
		}
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case t, ok := <-in:
					if !ok {
						return
					}
					send(out, t)
				}
			}
		}()
	}
	return out
}
