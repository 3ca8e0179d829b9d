package crashguard

import (
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"
)

func panicsOnNil(m map[string]int) int {
	var p *int
	if m == nil {
		return *p // a nil dereference: a runtime error, as most real bugs are
	}
	return len(m)
}

func TestRun(t *testing.T) {
	sentinel := errors.New("refused")
	tests := []struct {
		name      string
		f         func() error
		wantErr   error // errors.Is, when not a panic
		wantPanic string
	}{
		{"no error", func() error { return nil }, nil, ""},
		{"an error passes through", func() error { return sentinel }, sentinel, ""},
		{"a runtime panic", func() error { panicsOnNil(nil); return nil }, nil, "invalid memory address or nil pointer dereference"},
		{"a panic with a value", func() error { panic("bad state") }, nil, "bad state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			err := Run(tt.f)
			var pe *Error
			if tt.wantPanic == "" {
				is.True(errors.Is(err, tt.wantErr) || (err == nil && tt.wantErr == nil))
				is.True(!errors.As(err, &pe))
				return
			}
			is.True(errors.As(err, &pe))
			is.True(strings.Contains(err.Error(), tt.wantPanic))
			is.True(strings.Contains(err.Error(), "a bug in kaito-sync"))
			// The frame named is the code that panicked, not the guard or the runtime.
			is.True(strings.HasPrefix(pe.Where, "crashguard/crashguard_test.go:"))
		})
	}
}
