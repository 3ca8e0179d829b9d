package sync

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/matryer/is"
)

// SIGTERM stops new work at once and gives the sync in progress its grace period; losing
// leadership ends everything at once.
func TestStages(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	t.Run("stop, then leadership lost", func(t *testing.T) {
		is := is.New(t)
		leading, lose := context.WithCancel(context.Background())
		stop, sigterm := context.WithCancel(context.Background())
		stopping := make(chan struct{})
		st := NewStages(leading, stop, time.Hour, func() { close(stopping) }, log)
		defer st.Cancel()
		is.NoErr(st.Soft.Err())
		sigterm()
		<-st.Soft.Done()
		<-stopping
		is.NoErr(st.Hard.Err()) // an hour of grace left
		lose()
		<-st.Hard.Done()
	})
	t.Run("grace period over", func(t *testing.T) {
		leading := context.Background()
		stop, sigterm := context.WithCancel(context.Background())
		st := NewStages(leading, stop, time.Millisecond, nil, log)
		defer st.Cancel()
		sigterm()
		<-st.Hard.Done()
	})
	t.Run("cancel", func(t *testing.T) {
		is := is.New(t)
		st := NewStages(context.Background(), context.Background(), time.Hour, nil, log)
		st.Cancel()
		<-st.Hard.Done()
		<-st.Soft.Done()
		is.True(st.Hard.Err() != nil)
	})
}
