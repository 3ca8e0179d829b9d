package plan

import (
	"fmt"
	"strings"
)

// UnifiedDiff returns a unified diff (as `diff -u` prints it) of two texts, line by line, with
// context lines of context around each change; "" when they are equal. Common leading and trailing
// lines are trimmed before a longest-common-subsequence pass, so the usual case (a small change in
// a large object) costs little.
func UnifiedDiff(oldName, newName, a, b string, context int) string {
	if a == b {
		return ""
	}
	x, y := splitLines(a), splitLines(b)
	ops := diffLines(x, y)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", oldName, newName)
	for _, h := range hunks(ops, context) {
		writeHunk(&out, h)
	}
	return out.String()
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// op is one line of an edit script: ' ' kept, '-' removed from a, '+' added in b.
type op struct {
	kind       byte
	line       string
	aLine, bLn int // 1-based positions in a and b where the line sits (or would)
}

// diffLines computes an edit script from x to y.
func diffLines(x, y []string) []op {
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	mx, my := x[pre:len(x)-suf], y[pre:len(y)-suf]

	// lcs[i][j] is the LCS length of mx[i:] and my[j:].
	n, m := len(mx), len(my)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if mx[i] == my[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}

	ops := make([]op, 0, len(x)+len(y))
	ai, bi := 0, 0 // positions in x and y
	keep := func() {
		ops = append(ops, op{' ', x[ai], ai + 1, bi + 1})
		ai++
		bi++
	}
	for range pre {
		keep()
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && mx[i] == my[j]:
			keep()
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			// Removals come before additions, as diff prints them.
			ops = append(ops, op{'-', x[ai], ai + 1, bi + 1})
			ai++
			i++
		default:
			ops = append(ops, op{'+', y[bi], ai + 1, bi + 1})
			bi++
			j++
		}
	}
	for range suf {
		keep()
	}
	return ops
}

type hunk struct {
	ops                        []op
	aStart, aLen, bStart, bLen int
}

// hunks groups changes with up to context kept lines around them; changes closer than twice the
// context share a hunk.
func hunks(ops []op, context int) []hunk {
	var out []hunk
	i := 0
	for i < len(ops) {
		for i < len(ops) && ops[i].kind == ' ' {
			i++
		}
		if i == len(ops) {
			break
		}
		start := max(i-context, 0)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			k := end
			for k < len(ops) && ops[k].kind == ' ' {
				k++
			}
			if k == len(ops) || k-end > 2*context {
				end = min(end+context, len(ops))
				break
			}
			end = k
		}
		h := hunk{ops: ops[start:end], aStart: ops[start].aLine, bStart: ops[start].bLn}
		for _, o := range h.ops {
			if o.kind != '+' {
				h.aLen++
			}
			if o.kind != '-' {
				h.bLen++
			}
		}
		out = append(out, h)
		i = end
	}
	return out
}

func writeHunk(out *strings.Builder, h hunk) {
	// As diff -u: an empty range starts at the line before it.
	as, bs := h.aStart, h.bStart
	if h.aLen == 0 {
		as--
	}
	if h.bLen == 0 {
		bs--
	}
	fmt.Fprintf(out, "@@ -%s +%s @@\n", hunkRange(as, h.aLen), hunkRange(bs, h.bLen))
	for _, o := range h.ops {
		out.WriteByte(o.kind)
		out.WriteString(o.line)
		if !strings.HasSuffix(o.line, "\n") {
			out.WriteString("\n\\ No newline at end of file\n")
		}
	}
}

func hunkRange(start, n int) string {
	if n == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}
