package bench

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
)

var env *testenv.Env

// TestMain starts a control plane only when benchmarks were asked for: `go test ./...` runs this
// package's tests, which need none, in a second or two.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run())
	}
	code := testenv.Main(m, &env)
	printTable()
	os.Exit(code)
}

// figure is one line of the closing table.
type figure struct {
	name, value, target, cmd string
}

var (
	tableMu sync.Mutex
	table   []figure
)

// record adds a line to the table printed after the benchmarks.
func record(name, value, target, cmd string) {
	tableMu.Lock()
	defer tableMu.Unlock()
	table = append(table, figure{name, value, target, cmd})
}

func printTable() {
	tableMu.Lock()
	defer tableMu.Unlock()
	if len(table) == 0 {
		return
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("\n## kaito-sync benchmarks (%d cores, %s/%s, load average %s)\n\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH,
		strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	fmt.Println("| figure | measured | target | benchmark |")
	fmt.Println("|---|---|---|---|")
	for _, f := range table {
		fmt.Printf("| %s | %s | %s | `%s` |\n", f.name, f.value, f.target, f.cmd)
	}
}
