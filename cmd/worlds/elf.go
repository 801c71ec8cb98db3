package main

import (
	"debug/dwarf"
	"debug/elf"
	"debug/gosym"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// fn is one function of the binary: an ELF text symbol.
type fn struct {
	name      string // ELF symbol name (ABI0 symbols end in .abi0)
	addr, end uint64
	file      string // the source file that declares it

	decoded  bool
	split    bool   // its prologue can call morestack
	calls    []call // direct CALL and JMP (tail call) targets
	indirect int    // indirect CALLs (func values, interfaces)
}

// call is a direct branch from one function to another.
type call struct {
	pc uint64 // the CALL or JMP instruction
	to *fn
}

// binary is a Go linux/amd64 executable's functions and code.
type binary struct {
	funcs    []*fn // in address order
	byName   map[string]*fn
	text     []byte
	textAddr uint64
	lines    *gosym.Table // nil without .gopclntab
}

// load reads the functions of the Go ELF executable at path: their extents
// from the symbol table, the file each is declared in from DWARF
// (DW_AT_decl_file; an inlined callee never shows there) or, for functions
// DWARF has no file for (assembly), from the pc-line table at their entry.
func load(path string) (*binary, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 {
		return nil, fmt.Errorf("%s: not an x86-64 ELF64 file", path)
	}
	text := f.Section(".text")
	if text == nil {
		return nil, fmt.Errorf("%s: no .text section", path)
	}
	b := &binary{byName: map[string]*fn{}, textAddr: text.Addr}
	if b.text, err = text.Data(); err != nil {
		return nil, fmt.Errorf("%s: .text: %v", path, err)
	}

	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: symbols: %v (a stripped binary cannot be checked)", path, err)
	}
	textIdx := -1
	for i, s := range f.Sections {
		if s == text {
			textIdx = i
		}
	}
	byAddr := map[uint64]*fn{}
	for _, s := range syms {
		if int(s.Section) != textIdx || elf.ST_TYPE(s.Info) != elf.STT_FUNC ||
			s.Value < text.Addr || s.Value >= text.Addr+text.Size {
			continue
		}
		if old := byAddr[s.Value]; old != nil {
			if old.end > old.addr || s.Size == 0 {
				continue // keep the sized one of two names at one address
			}
		}
		byAddr[s.Value] = &fn{name: s.Name, addr: s.Value, end: s.Value + s.Size}
	}
	for _, g := range byAddr {
		b.funcs = append(b.funcs, g)
	}
	sort.Slice(b.funcs, func(i, j int) bool { return b.funcs[i].addr < b.funcs[j].addr })
	for i, g := range b.funcs {
		next := text.Addr + text.Size
		if i+1 < len(b.funcs) {
			next = b.funcs[i+1].addr
		}
		if g.end <= g.addr || g.end > next {
			g.end = next
		}
		b.byName[g.name] = g
	}
	if len(b.funcs) == 0 {
		return nil, fmt.Errorf("%s: no function symbols in .text", path)
	}

	if s := f.Section(".gopclntab"); s != nil {
		data, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("%s: .gopclntab: %v", path, err)
		}
		if b.lines, err = gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr)); err != nil {
			return nil, fmt.Errorf("%s: .gopclntab: %v", path, err)
		}
	}
	declFiles := map[uint64]string{}
	if d, err := f.DWARF(); err == nil {
		if declFiles, err = dwarfDeclFiles(d); err != nil {
			return nil, fmt.Errorf("%s: DWARF: %v", path, err)
		}
	}
	if b.lines == nil && len(declFiles) == 0 {
		return nil, fmt.Errorf("%s: neither .gopclntab nor DWARF: cannot tell where functions are declared", path)
	}
	for _, g := range b.funcs {
		if file, ok := declFiles[g.addr]; ok {
			g.file = file
		} else if b.lines != nil {
			g.file, _, _ = b.lines.PCToLine(g.addr)
		}
	}
	return b, nil
}

// dwarfDeclFiles maps each subprogram's entry address to its declaring file.
func dwarfDeclFiles(d *dwarf.Data) (map[uint64]string, error) {
	files := map[uint64]string{}
	r := d.Reader()
	var cuFiles []*dwarf.LineFile
	for {
		e, err := r.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			return files, nil
		}
		switch e.Tag {
		case dwarf.TagCompileUnit:
			cuFiles = nil
			if lr, err := d.LineReader(e); err == nil && lr != nil {
				cuFiles = lr.Files()
			}
		case dwarf.TagSubprogram:
			low, ok1 := e.Val(dwarf.AttrLowpc).(uint64)
			idx, ok2 := e.Val(dwarf.AttrDeclFile).(int64)
			if ok1 && ok2 && idx >= 0 && int(idx) < len(cuFiles) && cuFiles[idx] != nil {
				files[low] = cuFiles[idx].Name
			}
			r.SkipChildren()
		}
	}
}

// lookup returns the function containing pc, or nil.
func (b *binary) lookup(pc uint64) *fn {
	i := sort.Search(len(b.funcs), func(i int) bool { return b.funcs[i].end > pc })
	if i < len(b.funcs) && b.funcs[i].addr <= pc {
		return b.funcs[i]
	}
	return nil
}

// pos returns file:line for pc (the innermost inlined position), or "".
func (b *binary) pos(pc uint64) string {
	if b.lines == nil {
		return ""
	}
	file, line, _ := b.lines.PCToLine(pc)
	if file == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", file, line)
}

// decode disassembles g once: its direct branches to other functions, and
// whether it is splittable (branches to morestack).
func (b *binary) decode(g *fn) {
	if g.decoded {
		return
	}
	g.decoded = true
	code := b.text[g.addr-b.textAddr : g.end-b.textAddr]
	for off := 0; off < len(code); {
		inst, err := x86asm.Decode(code[off:], 64)
		if err != nil || inst.Len == 0 {
			off++ // padding or data: resynchronize on the next byte
			continue
		}
		pc := g.addr + uint64(off)
		off += inst.Len
		if inst.Op != x86asm.CALL && !strings.HasPrefix(inst.Op.String(), "J") {
			continue
		}
		rel, ok := inst.Args[0].(x86asm.Rel)
		if !ok {
			if inst.Op == x86asm.CALL {
				g.indirect++
			}
			continue
		}
		target := pc + uint64(inst.Len) + uint64(int64(rel))
		if target >= g.addr && target < g.end {
			continue
		}
		to := b.lookup(target)
		if to == nil {
			continue
		}
		if isMorestack(to.name) {
			g.split = true
			continue
		}
		g.calls = append(g.calls, call{pc: pc, to: to})
	}
}

// Finding is one problem the check reports.
type Finding struct {
	Kind  string   // "splittable", "missing-nosplit", "handler"
	Chain []string // root -> ... -> offender ("splittable")
	At    string   // file:line of the offending call or declaration
	Msg   string
}

func (f Finding) String() string {
	switch f.Kind {
	case "splittable":
		s := "splittable below the runtime: " + strings.Join(f.Chain, " -> ")
		if f.At != "" {
			s += "  (called at " + f.At + ")"
		}
		return s
	default:
		return f.Msg
	}
}

// elfConfig says what the binary walk starts from and descends into.
type elfConfig struct {
	asmPrefix  string   // assembly TEXT symbols of packages with this prefix are roots
	scope      []string // packages (name prefixes) the walk descends into
	extraRoots []string // more roots by symbol name (registered IPI handlers, TrapCall targets)
}

// elfStats summarizes a walk.
type elfStats struct {
	roots, reached, indirect int
	indirectIn               []string // functions below the runtime with indirect CALLs
	outside                  []string // nosplit functions called outside the scope (not descended into)
	allowed                  []string // allowlisted callees reached
}

// isRootFile reports whether a function declared in file runs below the
// runtime by convention.
func isRootFile(file string) bool { return strings.HasSuffix(file, "_nosplit.go") }

// checkBinary walks the direct-call graph of b from the below-runtime
// roots and reports every splittable function on it.
func checkBinary(b *binary, cfg elfConfig) ([]Finding, elfStats) {
	var st elfStats
	var out []Finding
	inScope := func(name string) bool {
		for _, p := range cfg.scope {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
		return false
	}

	type edge struct {
		from *fn
		pc   uint64
	}
	parent := map[*fn]edge{}
	var queue []*fn
	isRoot := map[*fn]bool{}
	addRoot := func(g *fn) {
		if g == nil || isRoot[g] {
			return
		}
		isRoot[g] = true
		parent[g] = edge{}
		queue = append(queue, g)
	}
	for _, g := range b.funcs {
		switch {
		case isRootFile(g.file):
			addRoot(g)
		case strings.HasSuffix(g.file, ".s") && strings.HasPrefix(g.name, cfg.asmPrefix):
			if _, above := aboveRuntime[baseName(g.name)]; !above {
				addRoot(g)
			}
		}
	}
	for _, name := range cfg.extraRoots {
		if g := b.byName[name]; g != nil {
			addRoot(g)
		} else if g := b.byName[name+".abi0"]; g != nil {
			addRoot(g)
		}
	}
	st.roots = len(queue)

	chain := func(g *fn) []string {
		var c []string
		for ; g != nil; g = parent[g].from {
			c = append(c, g.name)
		}
		for i, j := 0, len(c)-1; i < j; i, j = i+1, j-1 {
			c[i], c[j] = c[j], c[i]
		}
		return c
	}

	// callSite is the source position of the call into g, or of the
	// nearest call before it when that one is in a generated ABI wrapper.
	callSite := func(g *fn) string {
		for e := parent[g]; e.from != nil; e = parent[e.from] {
			if p := b.pos(e.pc); p != "" && !strings.HasPrefix(p, "<autogenerated>") {
				return p
			}
		}
		return ""
	}

	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		st.reached++
		b.decode(g)
		st.indirect += g.indirect
		if g.indirect > 0 {
			st.indirectIn = append(st.indirectIn, g.name)
		}
		if isRoot[g] && g.split {
			what := "//go:nosplit"
			if strings.HasSuffix(g.file, ".s") {
				what = "NOSPLIT (or a frame small enough to need no check)"
			}
			out = append(out, Finding{
				Kind:  "missing-nosplit",
				Chain: []string{g.name},
				At:    g.file,
				Msg:   fmt.Sprintf("missing %s: %s is splittable (%s)", what, g.name, g.file),
			})
		}
		for _, c := range g.calls {
			t := c.to
			if _, seen := parent[t]; seen {
				continue
			}
			if isAllowed(t.name) {
				parent[t] = edge{from: g, pc: c.pc}
				st.allowed = append(st.allowed, t.name)
				continue
			}
			parent[t] = edge{from: g, pc: c.pc}
			b.decode(t)
			if t.split {
				out = append(out, Finding{Kind: "splittable", Chain: chain(t), At: callSite(t)})
				continue // what it calls is moot until it is fixed
			}
			if inScope(t.name) {
				queue = append(queue, t)
			} else {
				st.outside = append(st.outside, t.name)
			}
		}
	}
	return out, st
}
