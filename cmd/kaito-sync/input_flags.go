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

// warnURLCredentials prints, once, source.URLCredentialWarning for the URLs a command was given.
func warnURLCredentials(errOut io.Writer, urls ...string) {
	if w := source.URLCredentialWarning(urls...); w != "" {
		fmt.Fprintf(errOut, "warning: %s\n", w)
	}
}

// logURLCredentials is warnURLCredentials through the sync's logger (text or JSON).
func logURLCredentials(log *slog.Logger, urls ...string) {
	if w := source.URLCredentialWarning(urls...); w != "" {
		log.Warn(w)
	}
}
