package conformance

import (
	"testing"

	"github.com/matryer/is"
)

func TestCommandWords(t *testing.T) {
	tests := []struct {
		name          string
		command, args []string
		want          []string
	}{
		{
			name:    "flags after the entrypoint are sorted",
			command: []string{"/bin/sh", "-c", "python3 /w/api.py --b=2 --a=1 --c"},
			want:    []string{"/bin/sh", "-c", "python3", "/w/api.py", "--a=1", "--b=2", "--c"},
		},
		{
			name:    "script in args after sh -c in command",
			command: []string{"/bin/sh", "-c"},
			args:    []string{"python3 /w/api.py --b=2 --a=1"},
			want:    []string{"/bin/sh", "-c", "python3", "/w/api.py", "--a=1", "--b=2"},
		},
		{
			name:    "a positional word ends a run: flags stay on their side of it",
			command: []string{"sh", "-c", "accelerate launch --z=1 --y=2 /w/api.py --b --a"},
			want:    []string{"sh", "-c", "accelerate", "launch", "--y=2", "--z=1", "/w/api.py", "--a", "--b"},
		},
		{
			name:    "if/then/else: flags sorted within each command, commands in order",
			command: []string{"/bin/sh", "-c", `if [ "${I}" = "0" ]; then lead --y=1 --x=2; python3 a.py --b --a; else work --d --c; fi`},
			want: []string{"/bin/sh", "-c", "if", "[", "${I}", "=", "0", "]", ";", "then", "lead", "--x=2", "--y=1", ";",
				"python3", "a.py", "--a", "--b", ";", "else", "work", "--c", "--d", ";", "fi"},
		},
		{
			name:    "&& and & separate commands; 2>&1 does not",
			command: []string{"/bin/sh", "-c", "cd /w && python3 m.py 2>&1 & run --b --a"},
			want:    []string{"/bin/sh", "-c", "cd", "/w", "&&", "python3", "m.py", "2>&1", "&", "run", "--a", "--b"},
		},
		{
			name:    "quotes are removed as the shell does",
			command: []string{"/bin/sh", "-c", `run --kv='{"a":true}' --s="x \"y\"" ''`},
			want:    []string{"/bin/sh", "-c", "run", `--kv={"a":true}`, `--s=x "y"`, ""},
		},
		{
			name:    "a keyword that is not in command position is a word",
			command: []string{"/bin/sh", "-c", "echo then fi"},
			want:    []string{"/bin/sh", "-c", "echo", "then", "fi"},
		},
		{
			name:    "a multi-line script is kept verbatim",
			command: []string{"sh", "-c", "run --b\nrun --a\n"},
			want:    []string{"sh", "-c", "run --b\nrun --a\n"},
		},
		{
			name:    "exec form is kept as written",
			command: []string{"oras", "pull", "x", "--b", "--a"},
			want:    []string{"oras", "pull", "x", "--b", "--a"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			got, err := commandWords(tc.command, tc.args)
			is.NoErr(err)
			is.Equal(got, tc.want)
		})
	}
}

func TestCommandWordsUnterminatedQuote(t *testing.T) {
	for _, script := range []string{`run --a='x`, `run --a="x`} {
		_, err := commandWords([]string{"/bin/sh", "-c", script}, nil)
		is.New(t).True(err != nil) // a script the shell cannot parse is an error, not a guess
	}
}
