package source

import (
	"strings"
	"testing"

	"github.com/matryer/is"
)

func TestCheckPath(t *testing.T) {
	tests := []struct{ path, wantErr string }{
		{"", ""},
		{".", ""},
		{"workspaces", ""},
		{"./clusters/prod", ""},
		{"clusters/prod/", ""},
		{"a/../b", ""}, // stays inside
		{"..", "leaves the repository"},
		{"../other-repo/workspaces", "leaves the repository"},
		{"a/../../b", "leaves the repository"},
		{"/etc", `--path "/etc" is absolute: give the folder relative to the repository's root, e.g. "etc"`},
		{"/clusters/prod", `e.g. "clusters/prod"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			is := is.New(t)
			err := CheckPath(tt.path)
			if tt.wantErr == "" {
				is.NoErr(err)
				return
			}
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), tt.wantErr))
		})
	}
}
