// Command worlds checks the boundary between Gofly's two worlds
// (shared/design/two-worlds.md): code below the Go runtime (trap entry,
// interrupt and IPI handlers, the scheduler core: everything in a
// *_nosplit.go file or in a gofly assembly file) must never reach a
// splittable Go function. On the trap stack a splittable function's
// prologue compares SP with the interrupted goroutine's g.stackguard0 and
// may call runtime.morestack on a stack the runtime does not know. The
// linker does not catch it: it only bounds chains of nosplit functions.
//
// On the kernel ELF (-elf) it disassembles, from every root — each function
// declared in a *_nosplit.go file and each assembly TEXT symbol of a gofly
// package — the direct CALL and JMP targets, descends through the nosplit
// ones in gofly/... and the runtime's internal packages, and reports every
// splittable function reached with its chain (see allow.go for the
// runtime's panic helpers it lets through), and every root that is itself
// splittable. On the source tree (-src) it checks that handlers given to
// lwkt.TrapCall, lwkt.Cpusync and ipiq.Register name, through the scopes
// of their file (a local closure shadowing a function's name is still a
// closure), package-level functions declared //go:nosplit in *_nosplit.go
// files, and adds them to the roots; and that those three are only ever
// called directly (no alias or func value of them, no dot import of their
// packages, no //go:linkname to them, no reference from assembly).
//
// It exits 1 with a report when anything is flagged, 2 when it cannot run,
// and prints one line otherwise.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("worlds", flag.ContinueOnError)
	fs.SetOutput(stderr)
	elfPath := fs.String("elf", "", "kernel ELF to check (build/kernel.go.elf); empty: source rule only")
	src := fs.String("src", "", "module root to check handler registrations in (default: the module around the working directory)")
	prefix := fs.String("prefix", "gofly/", "package prefix whose assembly TEXT symbols are roots")
	scope := fs.String("scope", "gofly/,internal/runtime/,runtime/internal/", "comma-separated package prefixes the walk descends into")
	verbose := fs.Bool("v", false, "print what was checked")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	start := time.Now()

	root := *src
	if root == "" {
		var err error
		if root, err = findModule(); err != nil {
			fmt.Fprintf(stderr, "worlds: %v\n", err)
			return 2
		}
	}
	findings, handlers, err := checkSource(root)
	if err != nil {
		fmt.Fprintf(stderr, "worlds: %v\n", err)
		return 2
	}
	summary := fmt.Sprintf("%d handler registrations", len(handlers))

	if *elfPath != "" {
		b, err := load(*elfPath)
		if err != nil {
			fmt.Fprintf(stderr, "worlds: %v\n", err)
			return 2
		}
		cfg := elfConfig{asmPrefix: *prefix, extraRoots: handlers}
		for _, s := range strings.Split(*scope, ",") {
			if s = strings.TrimSpace(s); s != "" {
				cfg.scope = append(cfg.scope, s)
			}
		}
		fb, st := checkBinary(b, cfg)
		findings = append(findings, fb...)
		summary = fmt.Sprintf("%d roots, %d functions below the runtime, %s", st.roots, st.reached, summary)
		if *verbose {
			fmt.Fprintf(stdout, "worlds: %s: %d functions; %d indirect calls below the runtime not followed (in %s)\n",
				*elfPath, len(b.funcs), st.indirect, strings.Join(st.indirectIn, " "))
			sort.Strings(st.outside)
			sort.Strings(st.allowed)
			fmt.Fprintf(stdout, "worlds: nosplit callees outside the scope, not descended into: %s\n", strings.Join(st.outside, " "))
			fmt.Fprintf(stdout, "worlds: allowlisted callees reached: %s\n", strings.Join(st.allowed, " "))
		}
	}

	elapsed := time.Since(start).Round(time.Millisecond)
	if len(findings) == 0 {
		fmt.Fprintf(stdout, "worlds: OK: no splittable code below the runtime (%s; %v)\n", summary, elapsed)
		return 0
	}
	lines := make([]string, len(findings))
	for i, f := range findings {
		lines[i] = f.String()
	}
	sort.Strings(lines)
	fmt.Fprintf(stdout, "worlds: %d problem(s) below the runtime (%s; %v):\n", len(lines), summary, elapsed)
	for _, l := range lines {
		fmt.Fprintf(stdout, "  %s\n", l)
	}
	fmt.Fprintln(stdout, "Code below the runtime (*_nosplit.go, gofly .s files, registered handlers) must call only //go:nosplit functions; see shared/design/two-worlds.md.")
	return 1
}

// findModule returns the directory holding the go.mod around the working
// directory.
func findModule() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory: use -src")
		}
		dir = parent
	}
}
