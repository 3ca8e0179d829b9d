// Package crashguard turns a panic while handling one user input (a file, a workspace, a render)
// into an error for that input alone.
//
// A long-running GitOps loop must not die on a file someone pushed: a crash loop stops every
// workspace from syncing until the file is fixed, where a problem on that one file keeps the rest
// going and, because the file counts as unreadable, prunes nothing on its account. A panic is
// still a bug in kaito-sync: the error says so, and where, so it can be reported.
package crashguard

import (
	"fmt"
	"runtime"
	"strings"
)

// Bug is in the message of every recovered panic: a test (a fuzzer above all) that must find
// panics looks for it, now that they no longer end the process.
const Bug = "a bug in kaito-sync"

// Error is a recovered panic.
type Error struct {
	// Value is what was passed to panic.
	Value any
	// Where is the innermost kaito-sync frame that panicked, "file.go:line" ("" when unknown).
	Where string
}

func (e *Error) Error() string {
	at := ""
	if e.Where != "" {
		at = " at " + e.Where
	}
	return fmt.Sprintf("internal error (panic%s: %v): %s; please report it with the input that caused it", at, e.Value, Bug)
}

// Run calls f and returns its error, or an *Error when f panics. f must not hold a lock it would
// leave locked by panicking: everything it touches stays usable after a recovered panic.
func Run(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &Error{Value: v, Where: where()}
		}
	}()
	return f()
}

// where names the innermost frame of kaito-sync's own code on the panicking goroutine's stack,
// skipping the runtime and this package.
func where() string {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		f, more := frames.Next()
		if file := shortFile(f.File); strings.Contains(f.Function, "kaito-sync/") && file != "crashguard/crashguard.go" {
			return fmt.Sprintf("%s:%d", file, f.Line)
		}
		if !more {
			return ""
		}
	}
}

// shortFile keeps the package folder and file name: enough to find it, and no build paths.
func shortFile(path string) string {
	parts := strings.Split(path, "/")
	if len(parts) > 2 {
		parts = parts[len(parts)-2:]
	}
	return strings.Join(parts, "/")
}
