package ctxwait

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"
)

func TestSleep(t *testing.T) {
	tests := []struct {
		name    string
		cancel  bool
		d       time.Duration
		wantErr error
	}{
		{"waits the duration", false, time.Millisecond, nil},
		{"an ended context cuts it short", true, time.Hour, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			is.True(errors.Is(Sleep(ctx, tt.d), tt.wantErr)) // errors.Is(nil, nil) holds
		})
	}
}
