package converge_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/internal/wire"
)

// TestEveryKindFollowsTheChecklist holds every kind of the wire format to
// the "Adding a type" checklist of docs/design.md, so that a type that
// skips a step fails here, naming the step: a golden file, a section of
// docs/wire-format.md, a case in crdt.Decode, and for the crdt types a
// compile-time assertion of crdt.State, a crdttest spec, a runnable
// example in its own file, and a line in the package documentation and
// the README.
func TestEveryKindFollowsTheChecklist(t *testing.T) {
	spec := readText(t, "docs/wire-format.md")
	state := readText(t, "crdt/state.go")
	pkgDoc := readText(t, "crdt/doc.go")
	readme := readText(t, "README.md")
	specs := crdttestSpecs(t)
	messages := readText(t, "merge/testdata/golden/messages.json")

	kinds := 0
	for k := wire.Kind(1); k != 0; k++ {
		if !k.Known() {
			continue
		}
		kinds++
		name := k.String()
		t.Run(name, func(t *testing.T) {
			section := fmt.Sprintf("## %s (kind %d)", name, k)
			if strings.HasPrefix(name, "Keyspace") {
				// The four keyspace messages share one section and one
				// golden file.
				if !strings.Contains(spec, "## Keyspace messages (kinds 40–43)") {
					t.Error("wire-format.md has no section for the keyspace messages")
				}
				if !strings.Contains(readText(t, "merge/testdata/golden/keyspace_messages.json"), fmt.Sprintf(`"tag": %d,`, k)) {
					t.Errorf("merge/testdata/golden/keyspace_messages.json has no vector of kind %d", k)
				}
				return
			}
			if strings.HasPrefix(name, "Merge") {
				// The four messages share one section and one golden file.
				if !strings.Contains(spec, "## Merge messages (kinds 32–35)") {
					t.Error("wire-format.md has no section for the merge messages")
				}
				if !strings.Contains(messages, fmt.Sprintf(`"tag": %d,`, k)) {
					t.Errorf("merge/testdata/golden/messages.json has no vector of kind %d", k)
				}
				return
			}
			if !strings.Contains(spec, section) {
				t.Errorf("wire-format.md has no section %q", section)
			}
			vectors := goldenHex(t, strings.ToLower(name))
			if len(vectors) == 0 {
				t.Fatalf("testdata/golden/%s.json has no vectors", strings.ToLower(name))
			}
			if k < crdt.KindGCounter {
				return // hlc and vclock: no crdt type
			}
			_, err := crdt.Decode(vectors[0])
			switch {
			case k == crdt.KindORMap:
				// Documented: an ORMap's value type is not in its bytes.
				if !errors.Is(err, crdt.ErrUnsupported) {
					t.Errorf("crdt.Decode of an ORMap: %v, want ErrUnsupported", err)
				}
			case err != nil:
				t.Errorf("crdt.Decode does not cover the kind: %v", err)
			}
			if !regexp.MustCompile(`_ State\[\*` + name + `\b`).MatchString(state) {
				t.Errorf("crdt/state.go does not assert that %s implements State", name)
			}
			if !specs[name] {
				t.Errorf("no crdttest.Spec of %s in crdt's tests: its laws are not checked", name)
			}
			example := fmt.Sprintf("crdt/example_%s_test.go", strings.ToLower(name))
			if !strings.Contains(readText(t, example), "func Example"+name+"()") {
				t.Errorf("%s has no Example%s", example, name)
			}
			if !regexp.MustCompile(`\b` + name + `\b`).MatchString(pkgDoc) {
				t.Errorf("crdt/doc.go does not name %s", name)
			}
			if !strings.Contains(readme, "`"+name+"`") {
				t.Errorf("README.md's package table does not name %s", name)
			}
		})
	}
	if kinds < 21 {
		t.Fatalf("only %d known kinds: the loop over kinds is broken", kinds)
	}
}

// readText returns the file at path, relative to the repository root.
func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.FromSlash(path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// goldenHex returns the bytes of every case of testdata/golden/name.json.
func goldenHex(t *testing.T, name string) [][]byte {
	t.Helper()
	var f struct {
		Cases []struct {
			Hex string `json:"hex"`
		} `json:"cases"`
	}
	if err := json.Unmarshal([]byte(readText(t, "testdata/golden/"+name+".json")), &f); err != nil {
		t.Fatalf("testdata/golden/%s.json: %v", name, err)
	}
	var out [][]byte
	for _, c := range f.Cases {
		b, err := hex.DecodeString(c.Hex)
		if err != nil {
			t.Fatalf("testdata/golden/%s.json: %v", name, err)
		}
		out = append(out, b)
	}
	return out
}

// crdttestSpecs returns the crdt types some test of package crdt checks
// with a crdttest.Spec: written out (crdttest.Spec[*crdt.GSet[E]]) or
// through a local alias (type M = crdt.ORMap[...] and crdttest.Spec[*M]).
func crdttestSpecs(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("crdt", "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	direct := regexp.MustCompile(`crdttest\.Spec\[\*crdt\.(\w+)`)
	alias := regexp.MustCompile(`type (\w+) = crdt\.(\w+)`)
	out := map[string]bool{}
	for _, f := range files {
		src := readText(t, filepath.ToSlash(f))
		for _, m := range direct.FindAllStringSubmatch(src, -1) {
			out[m[1]] = true
		}
		for _, m := range alias.FindAllStringSubmatch(src, -1) {
			if strings.Contains(src, "crdttest.Spec[*"+m[1]+"]") {
				out[m[2]] = true
			}
		}
	}
	return out
}
