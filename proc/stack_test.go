package proc

import (
	"debug/elf"
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestStackRoundTrip lays out a stack and reads it back: argv, envp and
// the auxiliary vector as given, sp 16-byte aligned, AT_RANDOM pointing
// at the random bytes, AT_EXECFN at argv[0], AT_NULL last.
func TestStackRoundTrip(t *testing.T) {
	const top = 0x7FFF_FFFF_F000
	argv := []string{"/bin/hello", "-v", ""}
	envp := []string{"HOME=/", "GODEBUG=x=1"}
	var random [16]byte
	for i := range random {
		random[i] = byte(i * 7)
	}
	buf, sp, err := buildStack(top, argv, envp, []Aux{{AtPagesz, 4096}, {AtEntry, 0x401000}}, random)
	if err != nil {
		t.Fatal(err)
	}
	if sp%16 != 0 || sp+uint64(len(buf)) != top {
		t.Fatalf("sp %#x, %d bytes: not 16-aligned or not ending at the top", sp, len(buf))
	}
	read := func(va uint64, n int) ([]byte, bool) {
		if va < sp || va+uint64(n) > top {
			return nil, false
		}
		return buf[va-sp : va-sp+uint64(n)], true
	}
	gotArgv, gotEnvp, aux, err := ReadStack(read, sp)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gotArgv, argv) || !slices.Equal(gotEnvp, envp) {
		t.Fatalf("argv %q envp %q", gotArgv, gotEnvp)
	}
	vals := map[uint64]uint64{}
	for _, a := range aux {
		vals[a.Type] = a.Val
	}
	if aux[len(aux)-1].Type != AtNull || vals[AtPagesz] != 4096 || vals[AtEntry] != 0x401000 {
		t.Fatalf("aux %v", aux)
	}
	if r, ok := read(vals[AtRandom], 16); !ok || string(r) != string(random[:]) {
		t.Fatalf("AT_RANDOM %#x does not point at the random bytes", vals[AtRandom])
	}
	// argv[0]'s address is the second word (after argc).
	if vals[AtExecfn] == 0 || vals[AtExecfn] != le64(buf[8:]) {
		t.Fatalf("AT_EXECFN %#x, argv[0] at %#x", vals[AtExecfn], le64(buf[8:]))
	}
}

func le64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// TestStackTooBig: arguments beyond a quarter of the stack limit are E2BIG.
func TestStackTooBig(t *testing.T) {
	_, _, err := buildStack(StackTop, []string{strings.Repeat("x", StackSize)}, nil, nil, [16]byte{})
	if !errors.Is(err, ErrTooBig) {
		t.Fatalf("buildStack with a 128 KiB argument: %v, want E2BIG", err)
	}
}

// TestParsePhdr: the program headers' address comes from the segment
// that loads them.
func TestParsePhdr(t *testing.T) {
	text := prog{elf.PT_LOAD, elf.PF_R | elf.PF_X, 0, 0x400000, 0x2000, 0x2000}
	img, err := Parse(mkELF(elf.ELFCLASS64, elf.EM_X86_64, elf.ET_EXEC, 0x401000, []prog{text}, 0x2000))
	if err != nil {
		t.Fatal(err)
	}
	if img.Phdr != 0x400040 || img.Phent != 56 || img.Phnum != 1 {
		t.Fatalf("Phdr %#x Phent %d Phnum %d; want 0x400040, 56, 1", img.Phdr, img.Phent, img.Phnum)
	}
}
