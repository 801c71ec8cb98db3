package qemu_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gofly/internal/stdtest"
)

// ciStdPkgs are the standard packages whose own tests the boot tests run
// on Gofly (make stdtest runs every one): a subset that fits CI's time
// and passes, so a regression in what they use (threads, timers, files,
// pipes, os/exec, the vDSO's clock, CPU-time timers, /proc/self/maps)
// fails here.
var ciStdPkgs = []string{"strings", "sort", "strconv", "bufio", "fmt", "sync", "text/template", "crypto/sha256", "runtime/debug", "context", "encoding/json", "compress/gzip", "time", "os/exec", "runtime/pprof"}

// TestStdlib builds those packages' test binaries with the standard
// toolchain, unmodified, boots Gofly at -smp 2 with them in its
// initramfs, runs user/stdrun (each binary in its package's directory
// with -test.short -test.v) and wants every package to pass with tests
// that ran.
func TestStdlib(t *testing.T) {
	RequireQEMU(t)
	runner := userProgram(t, "GOFLY_USER_STDRUN", "stdrun")
	out := t.TempDir()
	bins, notes, err := stdtest.Build(ciStdPkgs, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) > 0 {
		t.Fatalf("packages without tests: %v", notes)
	}
	archive := filepath.Join(out, "stdtest.cpio")
	if err := stdtest.Pack(archive, runner, bins); err != nil {
		t.Fatal(err)
	}
	m := Boot(t, Options{SMP: 2, Mem: "1G", QEMUArgs: []string{"-initrd", archive}})
	m.Send(t, "run /stdrun\r")
	res := stdtest.Parse(m.ExpectTimeout(t, "stdrun: done", 10*time.Minute))
	m.Expect(t, "/stdrun: exit status 0")
	m.Expect(t, "gofly> ") // the shell's again: what is typed now is its
	var table strings.Builder
	stdtest.Table(&table, ciStdPkgs, bins, res, nil)
	t.Log("\n" + table.String())
	for _, p := range ciStdPkgs {
		r, ok := res[p]
		switch {
		case !ok:
			t.Errorf("%s: no result", p)
		case r.Status != "PASS" || r.Passed == 0:
			t.Errorf("%s: %s, %d passed, %d failed: %s", p, r.Status, r.Passed, r.Failed, r.First)
		}
	}
	m.Poweroff(t)
}
