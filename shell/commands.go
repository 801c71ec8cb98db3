package shell

import (
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/cpuid/v2"

	"gofly/drivers/apic"
	"gofly/drivers/power"
	"gofly/drivers/timer"
	"gofly/drivers/uart"
	"gofly/kernel"
	"gofly/klog"
	"gofly/ktest"
	"gofly/lwkt"
	"gofly/mm"
	"gofly/pmap"
	"gofly/proc"
	"gofly/random"
	"gofly/sys"
)

// Commands returns the kernel shell's commands.
func Commands() map[string]*Command {
	cmds := map[string]*Command{
		"echo":     {"[WORD...]", "print the words", cmdEcho},
		"uptime":   {"", "time since boot", noArgs(cmdUptime)},
		"date":     {"", "wall-clock time (UTC, from the RTC at boot)", noArgs(cmdDate)},
		"mem":      {"", "memory map, free pages, page tables, Go heap", noArgs(cmdMem)},
		"cpuinfo":  {"", "processor identification and features", noArgs(cmdCPUInfo)},
		"cmdline":  {"", "the kernel command line", noArgs(cmdCmdline)},
		"load":     {"N", "build an address space from module N (a static executable), verify it through its page tables, destroy it", cmdLoad},
		"run":      {"PATH [ARG...] [&]", "run a static Linux program (a file: /NAME for a module) in ring 3 and print how it ended; & runs it in the background", cmdRun},
		"procs":    {"", "processes: pid, parent, state, threads, resident pages, page tables, time in ring 3", noArgs(cmdProcs)},
		"vm":       {"PID", "a process's map entries: range, protection, object, pages, resident", cmdVM},
		"pmap":     {"PID", "a process's page tables: pages mapped, page-table pages", cmdPmap},
		"kill":     {"[SIGNAL] PID", "send a process a signal (default TERM; a name or a number)", cmdKill},
		"modules":  {"", "the multiboot modules (QEMU's -initrd): name, address, size, and for an ELF file its type, entry and segments", noArgs(cmdModules)},
		"ps":       {"", "threads: state, priority, CPU time", noArgs(cmdPs)},
		"cpus":     {"", "processors: local APIC id, online, idle, switches, ticks, IPI messages out (active, passive) and in", noArgs(cmdCPUs)},
		"ipi":      {"", "IPI message queues: depths and counts per CPU", noArgs(cmdIPI)},
		"dmesg":    {"", "the kernel log", noArgs(cmdDmesg)},
		"syscalls": {"", "system calls served, by count", noArgs(cmdSyscalls)},
		"boottime": {"", "the boot timeline", noArgs(cmdBoottime)},
		"sleep":    {"DURATION", "sleep, e.g. sleep 250ms (at most 1m)", cmdSleep},
		"fault":    {strings.Join(kernel.FaultKinds, "|"), "raise a deliberate fault (pf, gp, ud, de, panic stop the kernel)", cmdFault},
		"selftest": {"", "run the in-kernel self-tests (ok, FAIL or skip each; then the counts)", noArgs(cmdSelftest)},
		"objcache": {"", "object caches: size, live, peak, per-CPU magazine fill, depot, hits, misses, reclaimed, slab pages", noArgs(cmdObjcache)},
		"sysref":   {"ls [CLASS] | show SYSID", "SYSREF resources: per-class counts and every record (sysid, class, owning CPU, state, refs), or one record in full", cmdSysref},
		"bench":    {"[WORD...]", "kernel benchmarks, side by side (thread switch, IPIs, per-CPU scaling); with words, those whose names hold one", cmdBench},
		"poweroff": {"", "power the machine off (ACPI S5)", noArgs(cmdPoweroff)},
		"reboot":   {"", "reset the machine", noArgs(cmdReboot)},
	}
	fileCommands(cmds)
	return cmds
}

func noArgs(f func(*Shell) error) func(*Shell, []string) error {
	return func(sh *Shell, args []string) error {
		if len(args) > 0 {
			return fmt.Errorf("takes no arguments (got %q)", strings.Join(args, " "))
		}
		return f(sh)
	}
}

func cmdEcho(sh *Shell, args []string) error {
	fmt.Fprintln(sh.Out, strings.Join(args, " "))
	return nil
}

func cmdUptime(sh *Shell) error {
	up := time.Duration(kernel.Uptime())
	ts, _ := lwkt.Snapshot()
	fmt.Fprintf(sh.Out, "up %v, %d threads, %d timer ticks\n", up.Round(time.Millisecond), len(ts), timer.Ticks())
	return nil
}

func cmdDate(sh *Shell) error {
	fmt.Fprintln(sh.Out, time.Now().UTC().Format("Mon Jan _2 15:04:05 UTC 2006"))
	return nil
}

var memTypes = map[uint32]string{1: "usable", 2: "reserved", 3: "ACPI reclaimable", 4: "ACPI NVS", 5: "bad"}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func cmdMem(sh *Shell) error {
	w := sh.Out
	regions, lost := kernel.MemoryMap()
	fmt.Fprintln(w, "memory map (firmware):")
	for _, r := range regions {
		t := memTypes[r.Type]
		if t == "" {
			t = fmt.Sprintf("type %d", r.Type)
		}
		fmt.Fprintf(w, "  %#012x-%#012x  %-16s %s\n", r.Base, r.Base+r.Len-1, t, mib(r.Len))
	}
	if lost > 0 {
		fmt.Fprintf(w, "  (%d more entries did not fit the kernel's table)\n", lost)
	}
	stub, img := kernel.Image()
	bm := mm.Phys.Bitmap()
	fmt.Fprintf(w, "kernel: boot stub %#x-%#x, Go image %#x-%#x (%s), page bitmap %#x (%s)\n",
		stub.Base, stub.End()-1, img.Base, img.End()-1, mib(img.Len), bm.Base, mib(bm.Len))
	mc := kernel.MemCounters()
	free, total := mc.FreePages, mc.TotalPages
	tables, resident, entries, faults := mc.PageTables, mc.Resident, mc.MapEntries, mc.Faults
	fmt.Fprintf(w, "pages: %d total (%s), %d free (%s), %d in use (%s); out of frames %d times, object caches gave back %d\n",
		total, mib(total*mm.PageSize), free, mib(free*mm.PageSize), total-free, mib((total-free)*mm.PageSize), mc.Reclaims, mc.ReclaimedPages)
	fmt.Fprintf(w, "pmap: %d page-table pages, %d resident anonymous pages; vm: %d map entries, %d demand-zero faults\n",
		tables, resident, entries, faults)
	fmt.Fprintf(w, "pv: %d entries in use (every process's pages and the kernel's), %d frames kept for them; %d frames stocked for faults without the MP lock\n",
		mc.PVs, mc.PVFrames, mc.Stocked)
	fmt.Fprintf(w, "vm objects (shared memory, files): %d pages, %d frames of page indexes\n", mc.ObjectPages, mc.ObjectTables)
	lent, broken, heldBack := proc.PipeLoanStats()
	fmt.Fprintf(w, "pipes: %d pages lent by large writes, %d of them written or unmapped by their writer while lent; %d pages copied after such a loan\n",
		lent, broken, heldBack)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(w, "go heap: %s in use, %s from the kernel, %d GC cycles, %d goroutines\n",
		mib(ms.HeapAlloc), mib(ms.Sys), ms.NumGC, runtime.NumGoroutine())
	return nil
}

func cmdCPUInfo(sh *Shell) error {
	c := cpuid.CPU
	w := sh.Out
	fmt.Fprintf(w, "cpu: %s (%s), family %d model %d stepping %d\n", c.BrandName, c.VendorString, c.Family, c.Model, c.Stepping)
	fmt.Fprintf(w, "online CPUs: %d\n", bits.OnesCount64(lwkt.OnlineMask()))
	smep, smap := kernel.Protections()
	fmt.Fprintf(w, "tsc: %.1f MHz (calibrated against the PIT); local APIC timer %.1f MHz, tick %d Hz; x2APIC %v; NX %v; SMEP %v; SMAP %v\n",
		float64(timer.TSCHz())/1e6, float64(apic.TimerHz())/1e6, timer.TickHz(), apic.X2APIC(), pmap.NXEnabled,
		smep, smap)
	if pmap.PCIDs {
		kept, flushed := pmap.PCIDStats()
		fmt.Fprintf(w, "PCID on: %d address-space loads kept their translations, %d flushed\n", kept, flushed)
	} else {
		fmt.Fprintf(w, "PCID off: the CPU has none; every address-space load flushes\n")
	}
	fmt.Fprintf(w, "features: %s\n", strings.Join(c.FeatureSet(), " "))
	fmt.Fprintf(w, "random: %v\n", random.SeedSource())
	return nil
}

func cmdCmdline(sh *Shell) error {
	cl := kernel.Cmdline()
	if cl == "" {
		cl = "(empty)"
	}
	fmt.Fprintln(sh.Out, cl)
	if n := kernel.CmdlineTruncated(); n > 0 {
		return fmt.Errorf("%d more bytes did not fit the kernel's buffer", n)
	}
	return nil
}

func cyclesToDuration(c uint64) time.Duration { return time.Duration(timer.CyclesToNs(c)) }

func cmdPs(sh *Shell) error {
	ts, cpus := lwkt.Snapshot()
	fmt.Fprintf(sh.Out, "%5s %-18s %4s %-9s %-6s %4s %12s %9s %6s\n", "TID", "SYSID", "CPU", "STATE", "WAIT", "PRI", "TIME", "SWITCHES", "MOVES")
	for _, t := range ts {
		state := t.State.String()
		if t.Idle {
			state = "idle"
		}
		if t.Current {
			state += "*"
		}
		sysid := "-"
		if t.SysID != 0 {
			sysid = fmt.Sprintf("%#x", t.SysID)
		}
		fmt.Fprintf(sh.Out, "%5d %-18s %4d %-9s %-6s %4d %12v %9d %6d\n", t.ID, sysid, t.CPU, state, t.Wait, t.Pri,
			cyclesToDuration(t.Cycles).Round(time.Microsecond), t.Switches, t.Migrations)
	}
	for _, c := range cpus {
		fmt.Fprintf(sh.Out, "cpu %d: %d switches, idle %v\n", c.CPU, c.Switches, cyclesToDuration(c.IdleCycles).Round(time.Millisecond))
	}
	return nil
}

func cmdCPUs(sh *Shell) error {
	_, sched := lwkt.Snapshot()
	up := kernel.Uptime()
	fmt.Fprintf(sh.Out, "%4s %7s %-7s %8s %10s %10s %10s %10s %10s %4s %7s %7s %7s\n", "CPU", "APIC ID", "STATE", "IDLE", "SWITCHES", "TICKS",
		"IPI-OUT", "PASSIVE", "IPI-IN", "LOAD", "MOVE-IN", "MOV-OUT", "PULLS")
	for _, c := range kernel.CPUs() {
		state, idle, switches := "offline", "-", "-"
		var s lwkt.CPUInfo
		for _, si := range sched {
			if si.CPU == c.Index {
				s = si
				state = "online"
				idle = fmt.Sprintf("%.1f%%", 100*float64(timer.CyclesToNs(s.IdleCycles))/float64(up))
				switches = fmt.Sprint(s.Switches)
			}
		}
		st, _ := kernel.IPIStats(c.Index)
		fmt.Fprintf(sh.Out, "%4d %7d %-7s %8s %10s %10d %10d %10d %10d %4d %7d %7d %7d\n", c.Index, c.APICID, state, idle, switches,
			s.Ticks, st.SentActive, st.SentPassive, st.Processed, s.Load, s.MigrIn, s.MigrOut, s.PullAsks)
	}
	if !lwkt.Balancing() {
		fmt.Fprintln(sh.Out, "balancing is off")
	}
	return nil
}

func cmdIPI(sh *Shell) error {
	fmt.Fprintf(sh.Out, "%4s %9s %9s %9s %9s %9s %9s %9s  %s\n",
		"CPU", "ACTIVE", "PASSIVE", "RAISED", "AVOIDED", "FULL", "RUN", "REARMS", "QUEUED TO CPU 0..")
	for _, c := range kernel.CPUs() {
		st, depth := kernel.IPIStats(c.Index)
		fmt.Fprintf(sh.Out, "%4d %9d %9d %9d %9d %9d %9d %9d  %v\n", c.Index, st.SentActive, st.SentPassive,
			st.Raised, st.Avoided, st.Full, st.Processed, st.Rearms, depth)
	}
	return nil
}

func cmdDmesg(sh *Shell) error {
	buf := make([]byte, klog.RingSize)
	n, lost := klog.Copy(buf)
	if lost > 0 {
		fmt.Fprintf(sh.Out, "(%d older bytes overwritten)\n", lost)
	}
	sh.Out.Write(buf[:n])
	return nil
}

func cmdSyscalls(sh *Shell) error {
	type row struct {
		nr    int
		name  string
		count uint64
	}
	var rows []row
	for nr, name := range sys.Names {
		if c := sys.Count(nr); c > 0 {
			rows = append(rows, row{nr, name, c})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].count > rows[j].count })
	for _, r := range rows {
		fmt.Fprintf(sh.Out, "%10d  %-18s (%d)\n", r.count, r.name, r.nr)
	}
	fmt.Fprintf(sh.Out, "%10d  unknown (ENOSYS)", sys.Unknown())
	if sys.Unknown() > 0 {
		fmt.Fprintf(sh.Out, ", last was %d", sys.LastUnknown())
	}
	fmt.Fprintln(sh.Out)
	k := kernel.TrapCounters()
	fmt.Fprintf(sh.Out, "traps: %d timer interrupts, %d serial IRQs, %d page faults, %d signals, %d spurious\n",
		timer.Ticks(), k.IRQs[4], k.PageFaults, k.Signals, k.Spurious)
	via := "8259 PIC"
	if k.SerialIOAPIC {
		via = "I/O APIC"
	}
	fmt.Fprintf(sh.Out, "serial: IRQ 4 through the %s, %d bytes buffered, %d dropped\n", via, uart.Rx.Len(), uart.Rx.Dropped())
	return nil
}

func cmdBoottime(sh *Shell) error {
	st := kernel.Timeline()
	if len(st) == 0 {
		return errors.New("no timeline recorded")
	}
	fmt.Fprintf(sh.Out, "%12s %12s  %s\n", "since stub", "step", "phase")
	prev := st[0].TSC
	for _, s := range st {
		fmt.Fprintf(sh.Out, "%12v %12v  %s\n", cyclesToDuration(s.TSC-st[0].TSC).Round(time.Microsecond),
			cyclesToDuration(s.TSC-prev).Round(time.Microsecond), s.Name)
		prev = s.TSC
	}
	return nil
}

func cmdSleep(sh *Shell, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: sleep DURATION (e.g. 250ms, 2s)")
	}
	d, err := time.ParseDuration(args[0])
	if err != nil {
		return fmt.Errorf("bad duration %q: want a number with a unit, e.g. 250ms", args[0])
	}
	if d < 0 || d > time.Minute {
		return fmt.Errorf("duration %v out of range (0 to 1m)", d)
	}
	t0 := time.Now()
	time.Sleep(d)
	fmt.Fprintf(sh.Out, "slept %v\n", time.Since(t0).Round(time.Millisecond))
	return nil
}

func cmdFault(sh *Shell, args []string) (err error) {
	if len(args) != 1 {
		return fmt.Errorf("usage: fault %s", strings.Join(kernel.FaultKinds, "|"))
	}
	if args[0] == "nil" {
		defer func() {
			if r := recover(); r != nil {
				fmt.Fprintf(sh.Out, "recovered: %v\n", r)
				err = nil
			}
		}()
	}
	return kernel.Fault(args[0])
}

// cmdSelftest runs every registered self-test: one line each (ok, FAIL
// with the error, or skip with the reason), then the counts; it fails if
// any test failed.
func cmdSelftest(sh *Shell) error {
	passed, failed, skipped := 0, 0, 0
	for _, c := range ktest.Checks() {
		switch err := c.Run(); {
		case err == nil:
			passed++
			fmt.Fprintf(sh.Out, "ok   %s\n", c.Name)
		case ktest.IsSkip(err):
			skipped++
			fmt.Fprintf(sh.Out, "skip %s: %s\n", c.Name, skipReason(err))
		default:
			failed++
			fmt.Fprintf(sh.Out, "FAIL %s: %v\n", c.Name, err)
		}
	}
	fmt.Fprintf(sh.Out, "%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 { // for shell.Batch (selftest on the kernel command line)
		return fmt.Errorf("%d self-tests failed", failed)
	}
	return nil
}

// skipReason is a skip error's text without its "skipped: " prefix.
func skipReason(err error) string {
	return strings.TrimPrefix(err.Error(), "skipped: ")
}

// cmdBench runs every registered benchmark, printing each figure as
// "bench: NAME VALUE UNIT"; a benchmark that cannot run here prints a skip
// line, one that fails a FAIL figure line, and the others still run.
func cmdBench(sh *Shell, words []string) error {
	var benches []ktest.Bench
	for _, b := range ktest.Benches() {
		if len(words) == 0 || slices.ContainsFunc(words, func(w string) bool { return strings.Contains(b.Name, w) }) {
			benches = append(benches, b)
		}
	}
	if len(benches) == 0 {
		return fmt.Errorf("no benchmark's name holds %q", strings.Join(words, `" or "`))
	}
	failed := 0
	for _, b := range benches {
		res, err := b.Run()
		for _, r := range res {
			fmt.Fprintf(sh.Out, "bench: %-52s %12.2f %s\n", r.Name, r.Value, r.Unit)
		}
		switch {
		case err == nil:
		case ktest.IsSkip(err):
			fmt.Fprintf(sh.Out, "skip %s: %s\n", b.Name, skipReason(err))
		default:
			failed++
			fmt.Fprintf(sh.Out, "bench: FAIL %s: %v\n", b.Name, err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d benchmarks failed", failed)
	}
	return nil
}

func cmdPoweroff(sh *Shell) error {
	fmt.Fprintln(sh.Out, "powering off")
	if kernel.ACPI == nil {
		return errors.New("no ACPI tables: cannot power off")
	}
	if err := kernel.ACPI.PowerOff(kernel.Machine()); err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond)
	return errors.New("the machine is still running after the ACPI S5 request")
}

func cmdReboot(sh *Shell) error {
	fmt.Fprintln(sh.Out, "rebooting")
	if kernel.ACPI != nil {
		if err := kernel.ACPI.Reset(kernel.Machine()); err == nil {
			time.Sleep(100 * time.Millisecond)
		}
	}
	power.Reset()
	return errors.New("the machine did not reset")
}
