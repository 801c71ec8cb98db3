package proc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The initial stack of a Linux process (the System V x86-64 ABI, 3.4.1,
// and Linux's fs/binfmt_elf.c create_elf_tables), from the top down:
// the strings (argv, then envp), the 16 AT_RANDOM bytes, padding, then,
// from sp up: argc, argv pointers and a 0, envp pointers and a 0, auxv
// pairs ending with AT_NULL. sp is 16-byte aligned.

// Auxiliary vector types (include/uapi/linux/auxvec.h).
const (
	AtNull        = 0
	AtPhdr        = 3
	AtPhent       = 4
	AtPhnum       = 5
	AtPagesz      = 6
	AtEntry       = 9
	AtUID         = 11
	AtEUID        = 12
	AtGID         = 13
	AtEGID        = 14
	AtSecure      = 23
	AtRandom      = 25
	AtExecfn      = 31
	AtSysinfoEhdr = 33
)

// StackTop is where a process's stack ends (the top of the user half),
// and StackSize the size of its map entry (Linux's default RLIMIT_STACK):
// exec writes the pages the initial stack occupies, the rest fill on
// demand.
const (
	StackTop  = userMax
	StackSize = 8 << 20
)

// Aux is one auxiliary vector entry.
type Aux struct{ Type, Val uint64 }

// ErrTooBig is execve's E2BIG: the arguments and environment do not fit.
var ErrTooBig = errors.New("argument list too long")

// buildStack lays out the initial stack for a stack ending at top: it
// returns the bytes of [sp, top) and sp. aux gets AT_RANDOM (pointing
// at random) and AT_EXECFN (argv[0]) added, and AT_NULL at the end.
func buildStack(top uint64, argv, envp []string, aux []Aux, random [16]byte) ([]byte, uint64, error) {
	strBytes := 0
	for _, s := range append(append([]string(nil), argv...), envp...) {
		strBytes += len(s) + 1
	}
	aux = append(append([]Aux(nil), aux...), Aux{AtRandom, 0}, Aux{AtExecfn, 0}, Aux{AtNull, 0})
	words := 1 + len(argv) + 1 + len(envp) + 1 + 2*len(aux)
	size := uint64(strBytes+16) + uint64(words)*8
	size = (size + 15 + 15) &^ 15 // room to align sp
	if size > StackSize/4 {       // Linux's bound: a quarter of the stack limit
		return nil, 0, fmt.Errorf("%w: %d bytes of arguments and environment", ErrTooBig, size)
	}
	sp := (top - size) &^ 15
	buf := make([]byte, top-sp)
	at := func(va uint64) []byte { return buf[va-sp:] }
	// Strings, from the top down.
	str := top
	addr := func(s string) uint64 {
		str -= uint64(len(s) + 1)
		copy(at(str), s)
		return str
	}
	envAddrs := make([]uint64, len(envp))
	for i := len(envp) - 1; i >= 0; i-- {
		envAddrs[i] = addr(envp[i])
	}
	argAddrs := make([]uint64, len(argv))
	for i := len(argv) - 1; i >= 0; i-- {
		argAddrs[i] = addr(argv[i])
	}
	str -= 16
	copy(at(str), random[:])
	randomAt := str
	// Words, from sp up.
	w := sp
	put := func(v uint64) {
		binary.LittleEndian.PutUint64(at(w), v)
		w += 8
	}
	put(uint64(len(argv)))
	for _, a := range argAddrs {
		put(a)
	}
	put(0)
	for _, e := range envAddrs {
		put(e)
	}
	put(0)
	for _, a := range aux {
		switch a.Type {
		case AtRandom:
			a.Val = randomAt
		case AtExecfn:
			if len(argAddrs) > 0 {
				a.Val = argAddrs[0]
			}
		}
		put(a.Type)
		put(a.Val)
	}
	if w > str {
		return nil, 0, errors.New("proc: initial stack layout overlaps its strings")
	}
	return buf, sp, nil
}

// ReadStack decodes an initial stack at sp through read (a Space's Read,
// or a test's buffer): argv, envp and the auxiliary vector up to AT_NULL.
func ReadStack(read func(va uint64, n int) ([]byte, bool), sp uint64) (argv, envp []string, aux []Aux, err error) {
	word := func(va uint64) (uint64, error) {
		b, ok := read(va, 8)
		if !ok {
			return 0, fmt.Errorf("proc: stack word at %#x not mapped", va)
		}
		return binary.LittleEndian.Uint64(b), nil
	}
	cstr := func(va uint64) (string, error) {
		var out []byte
		for len(out) < 1<<16 {
			b, ok := read(va+uint64(len(out)), 1)
			if !ok {
				return "", fmt.Errorf("proc: string at %#x not mapped", va)
			}
			if b[0] == 0 {
				return string(out), nil
			}
			out = append(out, b[0])
		}
		return "", fmt.Errorf("proc: string at %#x unterminated", va)
	}
	argc, err := word(sp)
	if err != nil {
		return nil, nil, nil, err
	}
	va := sp + 8
	strs := func(n int) ([]string, error) {
		var out []string
		for i := 0; n < 0 || i < n; i++ {
			p, err := word(va)
			va += 8
			if err != nil {
				return nil, err
			}
			if p == 0 {
				return out, nil
			}
			s, err := cstr(p)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		if p, err := word(va); err != nil || p != 0 {
			return nil, fmt.Errorf("proc: argv not ended by 0 after argc entries")
		}
		va += 8
		return out, nil
	}
	if argv, err = strs(int(argc)); err != nil {
		return nil, nil, nil, err
	}
	if envp, err = strs(-1); err != nil {
		return nil, nil, nil, err
	}
	for {
		t, err := word(va)
		if err != nil {
			return nil, nil, nil, err
		}
		v, err := word(va + 8)
		if err != nil {
			return nil, nil, nil, err
		}
		va += 16
		aux = append(aux, Aux{t, v})
		if t == AtNull {
			return argv, envp, aux, nil
		}
		if len(aux) > 64 {
			return nil, nil, nil, errors.New("proc: auxiliary vector not ended by AT_NULL")
		}
	}
}
