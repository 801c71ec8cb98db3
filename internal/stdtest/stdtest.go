// Package stdtest runs the Go standard library's own tests, unmodified,
// as Gofly processes (make stdtest, and the boot tests' CI subset): it
// builds each package's test binary with the standard toolchain (go test
// -c, static), packs the binaries with their packages' files (testdata)
// and user/stdrun into a newc cpio initramfs, boots Gofly in QEMU with it,
// runs /stdrun from the shell, and prints a table: package, PASS/FAIL,
// tests passed, failed and skipped, seconds, and a failing package's
// first failure. With a Linux kernel the same initramfs boots it too
// (stdrun as /init) in the same QEMU, and the table gains its column.
//
// Packages whose tests cannot pass for a reason outside the kernel are
// listed in Excluded, with the reason, and left out.
package stdtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/u-root/u-root/pkg/cpio"
)

// Excluded are the packages make stdtest leaves out, and why.
var Excluded = map[string]string{
	"net":                    "needs IPv6, raw sockets and more of the network than the loopback",
	"net/http":               "needs IPv6 and more of net than Gofly's loopback TCP",
	"runtime/cgo":            "needs cgo",
	"plugin":                 "needs cgo and dynamic linking",
	"go/build":               "needs the go command and GOROOT",
	"go/types":               "needs the compiler's export data (go command)",
	"go/internal/gcimporter": "needs the compiler",
	"cmd/go":                 "needs the go command",
}

// Options says what Run builds and boots.
type Options struct {
	Pkgs    []string      // packages; "std": every standard package with tests
	Kernel  string        // the Gofly image
	Runner  string        // user/stdrun, built static
	Linux   string        // a Linux bzImage to run the same initramfs under, or ""
	Out     string        // where the binaries and the initramfs go
	SMP     int           // QEMU's -smp
	Mem     string        // QEMU's -m
	Timeout time.Duration // each boot's limit
	// Batch bounds the test binaries' bytes one boot carries (0:
	// DefaultBatch): a kernel holds its initramfs twice in memory (the
	// module, and the files unpacked from it), so a larger set of
	// packages is run in several boots, each batch's results added to
	// the one table.
	Batch int64
}

// DefaultBatch is Options.Batch's default: a quarter of the 1 GiB a boot
// gets by default, leaving room for the unpacked copy, testdata, and the
// tests themselves.
const DefaultBatch = 256 << 20

// batches splits bins's packages, in pkgs' order, into groups whose
// binaries add up to at most limit bytes (a larger one alone).
func batches(pkgs []string, bins map[string]string, limit int64) [][]string {
	var out [][]string
	var cur []string
	var size int64
	for _, p := range pkgs {
		bin, ok := bins[p]
		if !ok {
			continue
		}
		var n int64
		if st, err := os.Stat(bin); err == nil {
			n = st.Size()
		}
		if len(cur) > 0 && size+n > limit {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, p)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// Result is one package's run: stdrun's result line.
type Result struct {
	Pkg                     string
	Status                  string // PASS, FAIL
	Passed, Failed, Skipped int
	Seconds                 float64
	First                   string // a failure's first line
}

// Run builds, packs and boots as o says, prints the table to w, and
// returns the results on Gofly (and Linux, nil without it) by package.
// An error is a run that could not finish (a build, a boot).
func Run(w io.Writer, o Options) (gofly, lin map[string]Result, err error) {
	pkgs, err := expand(o.Pkgs)
	if err != nil {
		return nil, nil, err
	}
	kernel, runner, linux, out, smp, mem, timeout := o.Kernel, o.Runner, o.Linux, o.Out, o.SMP, o.Mem, o.Timeout
	var run []string
	for _, p := range pkgs {
		if why, ok := Excluded[p]; ok {
			fmt.Fprintf(w, "stdtest: %s left out: %s\n", p, why)
			continue
		}
		run = append(run, p)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, nil, err
	}
	bins, notes, err := Build(run, out)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range notes {
		fmt.Fprintln(w, "stdtest:", n)
	}
	limit := o.Batch
	if limit <= 0 {
		limit = DefaultBatch
	}
	groups := batches(run, bins, limit)
	gofly = map[string]Result{}
	if linux != "" {
		lin = map[string]Result{}
	}
	archive := filepath.Join(out, "stdtest.cpio")
	for i, g := range groups {
		part := map[string]string{}
		for _, p := range g {
			part[p] = bins[p]
		}
		if err := Pack(archive, runner, part); err != nil {
			return nil, nil, err
		}
		batch := ""
		if len(groups) > 1 {
			batch = fmt.Sprintf(" (batch %d of %d)", i+1, len(groups))
		}
		fmt.Fprintf(w, "stdtest: %d packages%s, booting Gofly (-smp %d, -m %s)\n", len(g), batch, smp, mem)
		res, err := boot(w, []string{"-kernel", kernel, "-initrd", archive}, smp, mem, timeout, true)
		if err != nil {
			return nil, nil, fmt.Errorf("gofly: %v", err)
		}
		maps.Copy(gofly, res)
		if linux != "" {
			fmt.Fprintf(w, "stdtest: booting Linux %s%s\n", linux, batch)
			res, err := boot(w, []string{"-kernel", linux, "-initrd", archive, "-append", "console=ttyS0 quiet panic=-1"}, smp, mem, timeout, false)
			if err != nil {
				return nil, nil, fmt.Errorf("linux: %v", err)
			}
			maps.Copy(lin, res)
		}
	}
	for _, p := range run { // built but never reported: it did not run
		if _, ok := gofly[p]; bins[p] != "" && !ok {
			gofly[p] = Result{Pkg: p, Status: "NORUN"}
		}
	}
	Table(w, run, bins, gofly, lin)
	return gofly, lin, nil
}

// buildEnv is what the test binaries are built for: a static Linux
// x86-64 program without cgo. Listing the packages with the same settings
// leaves out those with no test files under them (a package whose every
// file needs cgo).
var buildEnv = []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"}

// expand turns "std" into every standard package that has tests as built
// (buildEnv; vendored ones aside).
func expand(pkgs []string) ([]string, error) {
	var out []string
	for _, p := range pkgs {
		if p != "std" {
			out = append(out, p)
			continue
		}
		cmd := exec.Command("go", "list", "-f", "{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}", "std")
		cmd.Env = append(os.Environ(), buildEnv...)
		b, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("go list std: %v", err)
		}
		for _, q := range strings.Fields(string(b)) {
			if !strings.HasPrefix(q, "vendor/") {
				out = append(out, q)
			}
		}
	}
	return out, nil
}

// Build makes each package's test binary under out: the binaries by
// package, and a note for each package that has none.
func Build(pkgs []string, out string) (map[string]string, []string, error) {
	bins := map[string]string{}
	var notes []string
	for _, p := range pkgs {
		bin := filepath.Join(out, strings.ReplaceAll(p, "/", "_")+".test")
		os.Remove(bin)
		cmd := exec.Command("go", "test", "-c", "-o", bin, p)
		cmd.Env = append(os.Environ(), buildEnv...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, nil, fmt.Errorf("go test -c %s: %v\n%s", p, err, msg)
		}
		if _, err := os.Stat(bin); err != nil {
			notes = append(notes, p+": no test files")
			continue
		}
		bins[p] = bin
	}
	return bins, notes, nil
}

// Pack writes the initramfs archive: /stdrun (and /init, for Linux), Go's
// time zones (at GOROOT/lib/time, GOROOT as on this machine), /tmp, /etc's hosts, passwd and group, /dev's
// console and null (for Linux; Gofly makes its own /dev), and for each
// package /pkg/PATH holding its test binary and the files of its source
// directory, testdata included (symbolic links as links), as go test
// runs it.
func Pack(archive, runner string, bins map[string]string) error {
	prog, err := os.ReadFile(runner)
	if err != nil {
		return err
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %v", err)
	}
	src := filepath.Join(strings.TrimSpace(string(goroot)), "src")
	zones, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		return err
	}
	recs := []cpio.Record{
		cpio.Directory("dev", 0o755),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.CharDev("dev/null", 0o666, 1, 3),
		cpio.Directory("tmp", 0o777),
		// A system's host names and its root user, as Debian's: tests
		// dial "localhost", os/user looks root up.
		cpio.Directory("etc", 0o755),
		cpio.StaticFile("etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", 0o644),
		cpio.StaticFile("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644),
		cpio.StaticFile("etc/group", "root:x:0:\n", 0o644),
		cpio.StaticRecord(prog, cpio.Info{Name: "stdrun", Mode: cpio.S_IFREG | 0o755}),
		cpio.StaticRecord(prog, cpio.Info{Name: "init", Mode: cpio.S_IFREG | 0o755}),
		// Where the time package's tests look for it: GOROOT as built,
		// and ../../lib/time from its directory.
		cpio.StaticRecord(zones, cpio.Info{Name: strings.TrimPrefix(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "time", "zoneinfo.zip"), "/"), Mode: cpio.S_IFREG | 0o644}),
		cpio.StaticRecord(zones, cpio.Info{Name: "lib/time/zoneinfo.zip", Mode: cpio.S_IFREG | 0o644}),
	}
	pkgs := slices.Sorted(maps.Keys(bins)) // a package's directory before those inside it
	for _, p := range pkgs {
		bin := bins[p]
		dir := filepath.Join(src, p)
		base := "pkg/" + p
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			if d.IsDir() && path != dir && !strings.HasPrefix(rel, "testdata") {
				return filepath.SkipDir // another package
			}
			name := filepath.ToSlash(filepath.Join(base, rel))
			switch {
			case d.IsDir():
				recs = append(recs, cpio.Directory(name, 0o755))
			case d.Type()&fs.ModeSymlink != 0:
				target, err := os.Readlink(path)
				if err != nil {
					return err
				}
				recs = append(recs, cpio.Symlink(name, target))
			case d.Type().IsRegular():
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				recs = append(recs, cpio.StaticRecord(data, cpio.Info{Name: name, Mode: cpio.S_IFREG | 0o644}))
			}
			return nil
		})
		if err != nil {
			return err
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			return err
		}
		recs = append(recs, cpio.StaticRecord(data, cpio.Info{Name: base + "/" + filepath.Base(bin), Mode: cpio.S_IFREG | 0o755}))
	}
	return WriteArchive(archive, recs, true)
}

// WriteArchive writes recs to the file path as a newc cpio archive (also
// cmd/initramfs's); with dirs, the directories a record needs that no
// record makes come first (u-root's WriteRecordsAndDirs, which adds "."
// too).
func WriteArchive(path string, recs []cpio.Record, dirs bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := cpio.Newc.Writer(f)
	write := cpio.WriteRecords
	if dirs {
		write = cpio.WriteRecordsAndDirs
	}
	if err := write(w, recs); err != nil {
		f.Close()
		return err
	}
	if err := cpio.WriteTrailer(w); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// resultLine is stdrun's line for one package.
var resultLine = regexp.MustCompile(`^stdrun: result (\S+) (PASS|FAIL) passed (\d+) failed (\d+) skipped (\d+) seconds ([\d.]+) ?(.*)$`)

// boot runs QEMU with args until stdrun says done, and returns its
// results. Gofly (shell) is driven from its prompt; Linux runs stdrun as
// /init. Its console goes to w's log file only on failure.
func boot(w io.Writer, args []string, smp int, mem string, timeout time.Duration, shell bool) (map[string]Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	qargs := append([]string{"-accel", "tcg,thread=multi", "-m", mem, "-smp", strconv.Itoa(smp),
		"-nic", "none", "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot"}, args...)
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", qargs...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	res := map[string]Result{}
	var log bytes.Buffer
	r := bufio.NewReader(stdout)
	var line []byte
	started := !shell
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("the machine stopped before stdrun was done (%v); its console:\n%s", err, tail(log.String()))
		}
		log.WriteByte(b)
		line = append(line, b)
		if !started && bytes.HasSuffix(line, []byte("gofly> ")) {
			io.WriteString(stdin, "run /stdrun\r")
			started = true
			line = line[:0]
			continue
		}
		if b != '\n' {
			continue
		}
		s := strings.TrimRight(string(line), "\r\n")
		line = line[:0]
		if r, ok := parseLine(s); ok {
			res[r.Pkg] = r
			fmt.Fprintln(w, "  ", s[len("stdrun: result "):])
		}
		if strings.HasPrefix(s, "stdrun: done") {
			return res, nil // the machine is killed on return
		}
	}
}

// parseLine parses one of stdrun's result lines.
func parseLine(s string) (Result, bool) {
	m := resultLine.FindStringSubmatch(strings.TrimRight(s, "\r"))
	if m == nil {
		return Result{}, false
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	secs, _ := strconv.ParseFloat(m[6], 64)
	return Result{Pkg: m[1], Status: m[2], Passed: n(3), Failed: n(4), Skipped: n(5), Seconds: secs, First: m[7]}, true
}

// Parse returns the results stdrun printed in out, by package.
func Parse(out string) map[string]Result {
	res := map[string]Result{}
	for _, line := range strings.Split(out, "\n") {
		if r, ok := parseLine(line); ok {
			res[r.Pkg] = r
		}
	}
	return res
}

// tail is the end of a console log.
func tail(s string) string {
	if len(s) > 4000 {
		s = "…" + s[len(s)-4000:]
	}
	return s
}

// Table prints the results side by side.
func Table(w io.Writer, pkgs []string, bins map[string]string, gofly, lin map[string]Result) {
	fmt.Fprintf(w, "\n%-24s %-6s %6s %6s %6s %9s", "package", "gofly", "pass", "fail", "skip", "seconds")
	if lin != nil {
		fmt.Fprintf(w, "   %-6s %6s %6s %6s %9s", "linux", "pass", "fail", "skip", "seconds")
	}
	fmt.Fprintln(w)
	for _, p := range pkgs {
		if _, ok := bins[p]; !ok {
			continue
		}
		g := gofly[p]
		fmt.Fprintf(w, "%-24s %-6s %6d %6d %6d %9.2f", p, g.Status, g.Passed, g.Failed, g.Skipped, g.Seconds)
		if lin != nil {
			l, ok := lin[p]
			if !ok {
				l = Result{Status: "NORUN"}
			}
			fmt.Fprintf(w, "   %-6s %6d %6d %6d %9.2f", l.Status, l.Passed, l.Failed, l.Skipped, l.Seconds)
		}
		fmt.Fprintln(w)
		if g.First != "" {
			fmt.Fprintf(w, "    first failure: %s\n", g.First)
		}
	}
}
