// Command bootbench measures Gofly's boot time side by side with the floor:
// for each run it starts QEMU on the floor kernel (boot/floor.S, which
// prints one line) and on the Gofly image, in alternating order, and times
// QEMU start -> that line and QEMU start -> the first "gofly> " prompt.
// It reports the medians, the spread and Gofly's cost above the floor, and
// the median of each step of Gofly's own boot timeline (its `boottime`
// command, read after each prompt). With -smp it then boots Gofly with
// each listed CPU count and collects the figures of the in-kernel `bench`
// command.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

func main() {
	image := flag.String("image", "build/gofly.elf", "Gofly multiboot image")
	floor := flag.String("floor", "build/floor.elf", "floor kernel")
	runs := flag.Int("runs", 9, "runs of each kernel")
	mem := flag.String("m", "128M", "guest memory")
	smp := flag.String("smp", "", "comma-separated CPU counts to run the in-kernel bench command with")
	flag.Parse()
	if *runs < 1 {
		log.Fatalf("bootbench: -runs must be at least 1, got %d", *runs)
	}
	var tf, tg []time.Duration
	var timelines []timeline
	for i := 0; i < *runs; i++ {
		first, second := *floor, *image
		if i%2 == 1 { // alternate so neither kernel always runs on a warm cache
			first, second = second, first
		}
		for _, img := range []string{first, second} {
			marker := "gofly> "
			if img == *floor {
				marker = "floor: up"
			}
			d, tl, err := bootTime(img, *mem, marker, img != *floor)
			if err != nil {
				log.Fatalf("bootbench: %s: %v", img, err)
			}
			if img == *floor {
				tf = append(tf, d)
			} else {
				tg = append(tg, d)
				timelines = append(timelines, tl)
			}
		}
	}
	st, _ := os.Stat(*image)
	mf, mg := median(tf), median(tg)
	fmt.Printf("boot time, QEMU start to first line (TCG, -m %s, %d runs each, medians):\n", *mem, *runs)
	fmt.Printf("  floor (multiboot, one line)   %8v   [%v .. %v]\n", ms(mf), ms(tf[0]), ms(tf[len(tf)-1]))
	fmt.Printf("  gofly (to the gofly> prompt)  %8v   [%v .. %v]\n", ms(mg), ms(tg[0]), ms(tg[len(tg)-1]))
	fmt.Printf("  gofly above the floor         %8v   (ratio %.2f)\n", ms(mg-mf), float64(mg)/float64(mf))
	if st != nil {
		fmt.Printf("  image size                    %8.2f MiB\n", float64(st.Size())/(1<<20))
	}
	printTimelines(timelines)
	for _, n := range strings.Split(*smp, ",") {
		if n == "" {
			continue
		}
		out, err := kernelBench(*image, *mem, n)
		if err != nil {
			log.Fatalf("bootbench: bench at -smp %s: %v", n, err)
		}
		fmt.Printf("in-kernel bench, -smp %s (TCG, multi-threaded):\n%s", n, out)
	}
}

// kernelBench boots img with smp CPUs, runs the shell's bench command and
// returns its result lines.
func kernelBench(img, mem, smp string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", "-accel", "tcg,thread=multi", "-smp", smp, "-m", mem,
		"-nic", "none", "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot", "-kernel", img)
	in, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	r := bufio.NewReader(outp)
	if err := waitFor(r, "gofly> "); err != nil {
		return "", err
	}
	io.WriteString(in, "bench\r")
	// The command's output ends where the shell prompts again.
	var res strings.Builder
	var line []byte
	for {
		b, err := r.ReadByte()
		if err != nil {
			return res.String(), fmt.Errorf("console ended: %v", err)
		}
		if b != '\n' {
			line = append(line, b)
			if string(line) == "gofly> " {
				return res.String(), nil
			}
			continue
		}
		l := strings.TrimRight(string(line), "\r")
		line = line[:0]
		if strings.HasPrefix(l, "bench:") {
			res.WriteString("  " + strings.TrimSpace(strings.TrimPrefix(l, "bench:")) + "\n")
		} else if strings.HasPrefix(l, "bench ") { // an error line from the command
			return res.String(), fmt.Errorf("%s", strings.TrimSpace(l))
		}
	}
}

func waitFor(r *bufio.Reader, marker string) error {
	var seen bytes.Buffer
	for {
		b, err := r.ReadByte()
		if err != nil {
			return fmt.Errorf("console ended before %q: %v", marker, err)
		}
		seen.WriteByte(b)
		if bytes.HasSuffix(seen.Bytes(), []byte(marker)) {
			return nil
		}
	}
}

func ms(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }

func median(d []time.Duration) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

// bootTime starts QEMU on img and returns the time until marker appears on
// the serial console. With withTimeline set it then runs the boottime
// command and returns its steps too.
func bootTime(img, mem, marker string, withTimeline bool) (time.Duration, timeline, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", "-accel", "tcg", "-m", mem, "-nic", "none",
		"-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot", "-kernel", img)
	in, err := cmd.StdinPipe()
	if err != nil {
		return 0, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, nil, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	r := bufio.NewReader(out)
	var seen bytes.Buffer
	for {
		b, err := r.ReadByte()
		if err != nil {
			return 0, nil, fmt.Errorf("console ended before %q (got %q): %v", marker, seen.String(), err)
		}
		seen.WriteByte(b)
		if bytes.HasSuffix(seen.Bytes(), []byte(marker)) {
			break
		}
	}
	d := time.Since(start)
	if !withTimeline {
		return d, nil, nil
	}
	io.WriteString(in, "boottime\r")
	tl, err := readTimeline(r)
	return d, tl, err
}

// timeline is one boot's `boottime` steps, in order.
type timeline []step

type step struct {
	phase string
	d     time.Duration // since the previous phase
}

// readTimeline reads the boottime command's table up to its last phase,
// the first prompt.
func readTimeline(r *bufio.Reader) (timeline, error) {
	var tl timeline
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return tl, fmt.Errorf("console ended in the boot timeline: %v", err)
		}
		f := strings.Fields(strings.TrimSpace(line))
		if len(f) < 3 {
			continue
		}
		d, err := time.ParseDuration(f[1])
		if err != nil {
			continue // the header, the echoed command
		}
		phase := strings.Join(f[2:], " ")
		tl = append(tl, step{phase, d})
		if phase == "first prompt" {
			return tl, nil
		}
	}
}

// printTimelines prints the median of each boot-timeline step over the
// runs, in the order the phases came.
func printTimelines(tls []timeline) {
	if len(tls) == 0 {
		return
	}
	var order []string
	steps := map[string][]time.Duration{}
	for _, tl := range tls {
		for _, s := range tl {
			if _, ok := steps[s.phase]; !ok {
				order = append(order, s.phase)
			}
			steps[s.phase] = append(steps[s.phase], s.d)
		}
	}
	fmt.Printf("gofly boot timeline (its boottime command; median step before each phase, %d runs):\n", len(tls))
	var total time.Duration
	for _, p := range order {
		m := median(steps[p])
		total += m
		fmt.Printf("  %10v  %s\n", m.Round(10*time.Microsecond), p)
	}
	fmt.Printf("  %10v  sum of the medians, boot stub to prompt\n", total.Round(10*time.Microsecond))
}
