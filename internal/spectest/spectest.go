// Package spectest reads the worked examples of converge's documents for
// the tests that check them against the code: fenced blocks of hex
// digits, each named by an HTML comment on a line before it.
package spectest

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// A Block is one worked example: the bytes of a fenced block.
type Block struct {
	Line  int    // of the opening fence, from 1
	Name  string // from the marker comment before it
	Bytes []byte
	// Next is the index in Lines of the line after the closing fence.
	Next int
}

// Blocks returns the blocks of the document at path that open with the
// line "```"+fence, each named by the first group of marker matched on a
// line before it, and the document's lines. Inside a block, pairs of hex
// digits may be split by spaces and lines, and # starts a comment. A
// block without a name, or with bad digits, fails t and is left out.
func Blocks(t testing.TB, path, fence string, marker *regexp.Regexp) (blocks []Block, lines []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	name := ""
	for i := 0; i < len(lines); i++ {
		if m := marker.FindStringSubmatch(lines[i]); m != nil {
			name = m[1]
			continue
		}
		if lines[i] != "```"+fence {
			continue
		}
		b := Block{Line: i + 1, Name: name}
		name = ""
		if b.Name == "" {
			t.Errorf("%s:%d: %s block without a %s line before it", path, b.Line, fence, marker)
		}
		var digits strings.Builder
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			l, _, _ := strings.Cut(lines[i], "#")
			digits.WriteString(strings.Join(strings.Fields(l), ""))
		}
		b.Next = i + 1
		bytes, err := hex.DecodeString(digits.String())
		if err != nil {
			t.Errorf("%s:%d: %v", path, b.Line, err)
			continue
		}
		if b.Name != "" {
			b.Bytes = bytes
			blocks = append(blocks, b)
		}
	}
	return blocks, lines
}

// JSON returns v as a golden file holds it: indented by two spaces, with
// no HTML escaping, ending in a newline.
func JSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
