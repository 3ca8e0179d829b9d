package workspaces

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// yamlParseBudget bounds the bytes yamlErrorPos parses again to find one error (besides a fixed
// allowance, a few times the failing document): a hostile repository of broken files costs a
// bounded multiple of reading them.
const yamlParseBudget = 4

// yamlErrorPos finds the line and column of a YAML syntax error in data, and the error's message.
//
// yaml.v3 names no column, and its line is often early: it reports the line where the context of
// the problem started (the mapping a bad indent breaks, the '{' a flow mapping opened, the start of
// a plain scalar a tab interrupts), and for errors of its parser counts that line from 0. The
// problem is where the document first fails that way: the shortest prefix of it that, parsed
// alone, ends in the same error. yamlErrorPos finds that prefix, first by lines from the reported
// one on, then by characters within the line, within a budget of parses; past it, it keeps the
// best line found (at worst the reported line). col is 0 when unknown.
func yamlErrorPos(data []byte, err error) (line, col int, msg string) {
	reported, msg := yamlErrorLine(err)
	lines := lineStarts(data)
	start := max(reported, 1) // the problem is never before the line yaml.v3 names
	if start > len(lines) {
		return reported, 0, msg
	}
	// Parse from the start of the document holding the error: earlier documents parsed whole. A
	// "---" inside an unclosed quote or flow collection starts no document, and that document alone
	// fails otherwise (or not at all): then parse from the top.
	from := docStart(data, lines, start)
	if from > 0 && !sameYAMLError(data[from:], msg) {
		from = 0
	}
	budget := yamlParseBudget*(len(data)-from) + 1<<16
	fails := func(end int) (bool, bool) {
		if budget <= 0 {
			return false, false
		}
		budget -= end - from
		return sameYAMLError(data[from:end], msg), true
	}
	lineEnd := func(l int) int { // offset after line l (1-based), its newline included
		if l < len(lines) {
			return lines[l]
		}
		return len(data)
	}
	found := 0
	// Most problems are on the reported line or the next few.
	for l := start; l <= len(lines) && l < start+4; l++ {
		ok, within := fails(lineEnd(l))
		if !within {
			return max(reported, 1), 0, msg
		}
		if ok {
			found = l
			break
		}
	}
	if found == 0 {
		// Binary search over the rest, which must hold the failure: an error the whole text does not
		// repeat has no position to find.
		lo, hi := start+4, len(lines)
		if lo > hi {
			return max(reported, 1), 0, msg
		}
		for lo < hi {
			mid := (lo + hi) / 2
			ok, within := fails(lineEnd(mid))
			if !within {
				return max(reported, 1), 0, msg
			}
			if ok {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		found = lo
	}
	// The column: the shortest prefix of the line that fails the same way.
	ls, le := lines[found-1], lineEnd(found)
	lo, hi := ls+1, le
	for lo < hi {
		mid := (lo + hi) / 2
		ok, within := fails(mid)
		if !within {
			return found, 0, msg
		}
		if ok {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if ok, within := fails(lo); !within || !ok {
		return found, 0, msg
	}
	// lo ends just after the character that made it fail.
	_, size := utf8.DecodeLastRune(data[ls:lo])
	return found, utf8.RuneCount(data[ls:lo-size]) + 1, msg
}

// lineStarts are the offsets where each line of data starts (lines[0] is 0).
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, b := range data {
		if b == '\n' && i+1 < len(data) {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// docStart is the offset of the document marker ("---") at or before line l (1-based), or 0.
func docStart(data []byte, lines []int, l int) int {
	for i := l - 1; i >= 0; i-- {
		rest := data[lines[i]:]
		if bytes.HasPrefix(rest, []byte("---")) && (len(rest) == 3 || rest[3] == ' ' || rest[3] == '\n' || rest[3] == '\r' || rest[3] == '\t') {
			return lines[i]
		}
	}
	return 0
}

// sameYAMLError reports whether parsing data ends in an error with message msg.
func sameYAMLError(data []byte, msg string) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			_, m := yamlErrorLine(err)
			return m == msg
		}
	}
}
