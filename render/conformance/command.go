package conformance

import (
	"fmt"
	"slices"
	"strings"
)

// shells are the programs whose "-c" argument is a script rather than an opaque word.
var shells = map[string]bool{"sh": true, "/bin/sh": true, "bash": true, "/bin/bash": true}

// keywords end one shell command and start the next when they stand where a command would.
// "if [ x ]; then A; else B; fi" is four commands to compare: the test, A, B and nothing.
var keywords = map[string]bool{
	"if": true, "then": true, "elif": true, "else": true, "fi": true,
	"while": true, "until": true, "do": true, "done": true, "!": true,
}

// commandWords is a container's (or exec probe's) command and args as one list, so a script
// given in args after command [/bin/sh, -c] compares equal to one given in command. A one-line
// "sh -c" script is replaced by its normalised words (see scriptWords); a multi-line script is a
// program whose layout is its content, so it stays one verbatim word.
func commandWords(command, args []string) ([]string, error) {
	all := slices.Concat(command, args)
	if len(all) < 3 || !shells[all[0]] || all[1] != "-c" || strings.Contains(all[2], "\n") {
		return all, nil
	}
	words, err := scriptWords(all[2])
	if err != nil {
		return nil, fmt.Errorf("%s -c script: %w", all[0], err)
	}
	return slices.Concat(all[:2], words, all[3:]), nil
}

// scriptWords splits a one-line shell script into the words the shell would see (quotes
// removed, so '{"a":1}' and "{\"a\":1}" are the same word) with the operators and keywords that
// separate commands kept as words of their own. Within each command, every run of "--flag"
// words is sorted: Kaito builds those runs from a Go map, so their order changes from one run of
// Kaito to the next and means nothing. Everything else keeps its place: the entrypoint, positional
// words (a run ends at one, so flags never move across the script path they belong to) and the
// order of the commands.
func scriptWords(script string) ([]string, error) {
	toks, err := tokenize(script)
	if err != nil {
		return nil, err
	}
	var out, cmd []string
	flush := func() {
		sortFlagRuns(cmd)
		out = append(out, cmd...)
		cmd = nil
	}
	for _, t := range toks {
		if t.op || (len(cmd) == 0 && keywords[t.text]) {
			flush()
			out = append(out, t.text)
			continue
		}
		cmd = append(cmd, t.text)
	}
	flush()
	return out, nil
}

// sortFlagRuns sorts, in place, each maximal run of consecutive "--flag" words in one command.
func sortFlagRuns(cmd []string) {
	for i := 0; i < len(cmd); {
		if !isFlag(cmd[i]) {
			i++
			continue
		}
		j := i
		for j < len(cmd) && isFlag(cmd[j]) {
			j++
		}
		slices.Sort(cmd[i:j])
		i = j
	}
}

// isFlag tells a long option ("--x" or "--x=v"). A lone "--" ends options, so it is positional.
func isFlag(w string) bool { return strings.HasPrefix(w, "--") && w != "--" }

// token is one word of a script, or an operator (";", "&&", "&", "||", "|") that ends a command.
type token struct {
	text string
	op   bool
}

// tokenize splits a one-line script as a POSIX shell does for words: blanks separate words
// outside quotes; single quotes keep everything literal; double quotes keep everything but a
// backslash before $ ` " \; an unquoted backslash keeps the next character. Parameter expansions
// ($X, ${X}) stay as written: they are compared, not evaluated.
func tokenize(script string) ([]token, error) {
	var (
		toks    []token
		word    strings.Builder
		inWord  bool // a word has started, even if empty so far ('' is a word)
		runes   = []rune(script)
		endWord = func() {
			if inWord {
				toks = append(toks, token{text: word.String()})
			}
			word.Reset()
			inWord = false
		}
	)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		switch {
		case r == ' ' || r == '\t':
			endWord()
		case r == '\'':
			end := indexRune(runes, i+1, '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", script)
			}
			word.WriteString(string(runes[i+1 : end]))
			inWord, i = true, end
		case r == '"':
			end, err := doubleQuoted(runes, i+1, &word)
			if err != nil {
				return nil, fmt.Errorf("%w in %q", err, script)
			}
			inWord, i = true, end
		case r == '\\' && i+1 < len(runes):
			word.WriteRune(runes[i+1])
			inWord, i = true, i+1
		case isOperator(r) && !(r == '&' && redirecting(word.String())):
			endWord()
			op := string(r)
			if i+1 < len(runes) && runes[i+1] == r && r != ';' { // && and ||
				op, i = op+op, i+1
			}
			toks = append(toks, token{text: op, op: true})
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	endWord()
	return toks, nil
}

// doubleQuoted writes the content of a double-quoted string starting at runes[from] and returns
// the index of its closing quote.
func doubleQuoted(runes []rune, from int, word *strings.Builder) (int, error) {
	for i := from; i < len(runes); i++ {
		switch r := runes[i]; {
		case r == '"':
			return i, nil
		case r == '\\' && i+1 < len(runes) && strings.ContainsRune("$`\"\\", runes[i+1]):
			word.WriteRune(runes[i+1])
			i++
		default:
			word.WriteRune(r)
		}
	}
	return 0, fmt.Errorf(`unterminated "`)
}

func isOperator(r rune) bool { return r == ';' || r == '&' || r == '|' }

// redirecting tells whether an "&" continues a redirection such as 2>&1 rather than ending a
// command.
func redirecting(word string) bool {
	return strings.HasSuffix(word, ">") || strings.HasSuffix(word, "<")
}

func indexRune(runes []rune, from int, r rune) int {
	for i := from; i < len(runes); i++ {
		if runes[i] == r {
			return i
		}
	}
	return -1
}
