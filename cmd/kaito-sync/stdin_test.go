package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/matryer/is"
)

func runCLIWithInput(in string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runWithInput(args, strings.NewReader(in), &out, &errb)
	return code, out.String(), errb.String()
}

func TestStdinWorkspace(t *testing.T) {
	typo, err := os.ReadFile("../../examples/broken/typo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	valid, err := os.ReadFile(examples + "/inference/phi-4-transformers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		in    string
		args  []string
		check func(is *is.I, code int, out, errOut string)
	}{
		{"validate -: problems name <stdin>", string(typo), []string{"validate", "-"}, func(is *is.I, code int, out, _ string) {
			is.Equal(code, exitInvalid)
			is.True(strings.Contains(out, "<stdin>:8:3: default/workspace-phi-4-mini: resource.instancetype: unknown field"))
			is.True(strings.Contains(out, "<stdin>:19:17: "))
			is.True(strings.HasSuffix(out, "in 1 file (2 errors, 0 warnings)\n"))
		}},
		{"validate - with a folder: one set", string(valid), []string{"validate", "-", examples + "/inference"}, func(is *is.I, code int, out, _ string) {
			is.Equal(code, exitInvalid) // the same workspace declared twice
			is.True(strings.Contains(out, "<stdin>:"))
			is.True(strings.Contains(out, "declared"))
		}},
		{"render -", string(valid), []string{"render", "-"}, func(is *is.I, code int, out, errOut string) {
			is.Equal(code, exitOK)
			is.Equal(errOut, "")
			is.Equal(workloads(out), 1)
			is.True(strings.Contains(out, "kaito-sync/source-path: <stdin>\n"))
		}},
		{"render - with errors renders nothing", string(typo), []string{"render", "-"}, func(is *is.I, code int, out, errOut string) {
			is.Equal(code, exitInvalid)
			is.Equal(out, "")
			is.True(strings.Contains(errOut, "<stdin>:8:3: "))
		}},
		{"stdin larger than a file may be", strings.Repeat("#", 1<<20+1), []string{"validate", "-"}, func(is *is.I, code int, out, _ string) {
			is.Equal(code, exitInvalid)
			is.True(strings.Contains(out, "<stdin>: file is larger than the limit of 1048576 bytes"))
		}},
		{"- twice", string(valid), []string{"validate", "-", "-"}, func(is *is.I, code int, _, errOut string) {
			is.Equal(code, exitUsage)
			is.True(strings.Contains(errOut, "given twice"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLIWithInput(tt.in, tt.args...)
			tt.check(is.New(t), code, out, errOut)
		})
	}
}
