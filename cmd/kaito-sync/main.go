// Command kaito-sync is a GitOps reconciler for Kaito workspaces: it reads Workspace files from Git,
// validates and renders them, and makes a cluster match them without an operator inside it.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes follow the usual CLI split: 1 means "your input is wrong", 2 means "you called me
// wrong", 3 (sync --once) means "I could not get to work": the repository or the API server did not
// answer.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
	exitNoSync  = 3
)

// exitError carries an exit code through cobra's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// run executes the CLI and returns its exit code; tests call it with buffers.
func run(args []string, stdout, stderr io.Writer) int {
	return runWithInput(args, os.Stdin, stdout, stderr)
}

// runWithInput is run reading stdin from in ("validate -", "render -").
func runWithInput(args []string, in io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != errSilent {
			fmt.Fprintln(root.ErrOrStderr(), "error:", ee.err)
		}
		return ee.code
	}
	// Anything cobra itself rejects (unknown flag, wrong arg count) is a usage error.
	fmt.Fprintln(root.ErrOrStderr(), "error:", err)
	return exitUsage
}

// errSilent marks a failure whose details the command has already printed.
var errSilent = errors.New("silent")
