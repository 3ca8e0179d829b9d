package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// checkInputFlags refuses, as a usage error, a --path that is absolute or climbs out of the
// repository and a --default-namespace that is no namespace name ("" for a command without the
// flag): found at start, before anything is read or changed.
func checkInputFlags(path, defaultNamespace string) error {
	if err := source.CheckPath(path); err != nil {
		return usageErrorf("%v", err)
	}
	if err := workspaces.CheckDefaultNamespace(defaultNamespace); err != nil {
		return usageErrorf("%v", err)
	}
	return nil
}

// warnCredentials prints, each once, the warnings about how credentials reach the URLs a command
// was given (source.AuthOptions.Warnings).
func warnCredentials(errOut io.Writer, auth source.AuthOptions, urls ...string) {
	for _, w := range auth.Warnings(urls...) {
		fmt.Fprintf(errOut, "warning: %s\n", w)
	}
}

// logCredentials is warnCredentials through the sync's logger (text or JSON).
func logCredentials(log *slog.Logger, auth source.AuthOptions, urls ...string) {
	for _, w := range auth.Warnings(urls...) {
		log.Warn(w)
	}
}
