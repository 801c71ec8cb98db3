package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// A handler rule: calls to Func of the package at Pkg (relative to the
// module) pass, as argument Arg, a function that runs below the runtime.
type handlerRule struct {
	pkg  string // import path relative to the module root
	fn   string
	arg  int
	ids  bool // the argument may instead be a handler id (a constant)
	what string
}

var handlerRules = []handlerRule{
	// TrapCall(fn, arg) runs fn in the trap path, below the runtime.
	{pkg: "lwkt", fn: "TrapCall", arg: 0, what: "TrapCall function"},
	// Register(id, fn) installs an IPI handler, run from interrupt context.
	{pkg: "lwkt/ipiq", fn: "Register", arg: 1, what: "IPI handler"},
	// Cpusync(mask, fn, arg1, arg2) runs a handler on other CPUs. Today fn
	// is a handler id (its handler is checked at its Register call); a
	// func value there must obey the same rule.
	{pkg: "lwkt", fn: "Cpusync", arg: 1, ids: true, what: "Cpusync handler"},
}

// name is how findings spell the rule's function: lwkt.TrapCall.
func (r handlerRule) name() string { return path.Base(r.pkg) + "." + r.fn }

// srcDecl is one package-level declaration of a name. A package may
// declare a name more than once across files that build tags keep apart;
// every declaration is kept, and a handler must be good in all of them.
type srcDecl struct {
	file    string // relative to the tree's root
	kind    ast.ObjKind
	nosplit bool // a func with //go:nosplit
	generic bool // a func with type parameters
}

// srcPkg is one package (directory) of the tree.
type srcPkg struct {
	path      string // import path
	sym       string // package part of its symbols: path, or main for a command
	decls     map[string][]*srcDecl
	linknamed map[string]bool // local names of //go:linkname directives
	files     []*ast.File
	rel       map[*ast.File]string
}

// checkSource parses the Go files of the module at root (tests, testdata,
// vendor and hidden directories excluded; every build configuration at
// once) and checks the handler rules:
//
//   - the handler argument of every call to lwkt.TrapCall, ipiq.Register
//     and lwkt.Cpusync names, through the scopes of its file (a local
//     variable, parameter or method value is not a function declaration,
//     whatever its name), a package-level function of a package of the
//     module that is declared, in every file declaring that name, in a
//     *_nosplit.go file with //go:nosplit, without type parameters and
//     without a //go:linkname directive; it may be parenthesised, nothing
//     more (no conversion, instantiation or call);
//   - those three functions are only ever called directly: any other
//     reference (an alias, a func value passed on) would let a call escape
//     the check, as would a dot import of their packages or a
//     //go:linkname directive naming them.
//
// It returns the findings, and the symbol names of every function so
// registered (more roots for the binary walk).
func checkSource(root string) ([]Finding, []string, error) {
	modPath, err := modulePath(root)
	if err != nil {
		return nil, nil, err
	}
	fset := token.NewFileSet()
	pkgs := map[string]*srcPkg{} // by import path
	var asmOut []Finding
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (name == "testdata" || name == "vendor" ||
				strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if p != root {
				if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		dir := path.Dir(rel)
		ip := modPath
		if dir != "." {
			ip = modPath + "/" + dir
		}
		if strings.HasSuffix(name, ".s") {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			asmOut = append(asmOut, checkAsm(rel, ip, modPath, string(data))...)
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		// With object resolution: each identifier's Obj is the object it
		// denotes in the file's scopes, nil for a package-level name
		// declared in another file (or a package name, or a predeclared
		// one).
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		pk := pkgs[ip]
		if pk == nil {
			pk = &srcPkg{path: ip, sym: ip, decls: map[string][]*srcDecl{},
				linknamed: map[string]bool{}, rel: map[*ast.File]string{}}
			pkgs[ip] = pk
		}
		if f.Name.Name == "main" {
			pk.sym = "main" // symbols of a command's package are main.X
		}
		pk.files = append(pk.files, f)
		pk.rel[f] = rel
		add := func(n *ast.Ident, d *srcDecl) {
			if n.Name != "_" {
				d.file = rel
				pk.decls[n.Name] = append(pk.decls[n.Name], d)
			}
		}
		for _, decl := range f.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				if decl.Recv == nil {
					add(decl.Name, &srcDecl{kind: ast.Fun, nosplit: hasNosplit(decl),
						generic: decl.Type.TypeParams != nil})
				}
			case *ast.GenDecl:
				for _, s := range decl.Specs {
					switch s := s.(type) {
					case *ast.ValueSpec:
						kind := ast.Var
						if decl.Tok == token.CONST {
							kind = ast.Con
						}
						for _, n := range s.Names {
							add(n, &srcDecl{kind: kind})
						}
					case *ast.TypeSpec:
						add(s.Name, &srcDecl{kind: ast.Typ})
					}
				}
			}
		}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if fs := linkname(c.Text); fs != nil {
					pk.linknamed[fs[0]] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}

	c := &srcChecker{fset: fset, modPath: modPath, pkgs: pkgs, out: asmOut}
	paths := make([]string, 0, len(pkgs))
	for p := range pkgs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		pk := pkgs[p]
		for _, f := range pk.files {
			c.file(pk, f)
		}
	}
	return c.out, c.roots, nil
}

// srcChecker holds the state of the rule check over the parsed tree.
type srcChecker struct {
	fset    *token.FileSet
	modPath string
	pkgs    map[string]*srcPkg
	out     []Finding
	roots   []string
}

func (c *srcChecker) report(pk *srcPkg, f *ast.File, pos token.Pos, format string, args ...any) {
	at := c.fset.Position(pos)
	at.Filename = pk.rel[f]
	c.out = append(c.out, Finding{Kind: "handler", At: at.String(),
		Msg: fmt.Sprintf("%s: %s", at, fmt.Sprintf(format, args...))})
}

// rulePath is the import path of a rule's package.
func (c *srcChecker) rulePath(r handlerRule) string { return c.modPath + "/" + r.pkg }

// file checks one file: its imports, its //go:linkname directives, and
// every reference to a rule's function.
func (c *srcChecker) file(pk *srcPkg, f *ast.File) {
	imports := map[string]string{} // import name -> path, for selectors
	for _, s := range f.Imports {
		p, err := strconv.Unquote(s.Path.Value)
		if err != nil {
			continue
		}
		name := path.Base(p)
		if s.Name != nil {
			name = s.Name.Name
		} else if t := c.pkgs[p]; t != nil && len(t.files) > 0 {
			name = t.files[0].Name.Name // its package clause's name
		}
		switch name {
		case ".":
			for _, r := range handlerRules {
				if p == c.rulePath(r) {
					c.report(pk, f, s.Pos(), "dot import of %s: its %s would be called unqualified, past this check; import it by name",
						p, r.fn)
					break
				}
			}
		case "_":
		default:
			imports[name] = p
		}
	}
	for _, cg := range f.Comments {
		for _, cm := range cg.List {
			fs := linkname(cm.Text)
			if len(fs) < 2 {
				continue
			}
			for _, r := range handlerRules {
				if fs[1] == c.rulePath(r)+"."+r.fn {
					c.report(pk, f, cm.Pos(), "//go:linkname to %s: calls through %s would not be checked; call %s directly",
						fs[1], fs[0], r.name())
				}
			}
		}
	}

	// Which package-level functions of the rules this file's package may
	// name without a qualifier: its own.
	var own []handlerRule
	for _, r := range handlerRules {
		if pk.path == c.rulePath(r) {
			own = append(own, r)
		}
	}

	called := map[ast.Expr]*ast.CallExpr{} // call.Fun, unparenthesised -> call
	notRef := map[*ast.Ident]bool{}        // identifiers that name no package-level object
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			called[unparen(n.Fun)] = n
		case *ast.SelectorExpr:
			notRef[n.Sel] = true
			x, ok := n.X.(*ast.Ident)
			if !ok || x.Obj != nil { // not a package name: a field or method
				return true
			}
			ip, ok := imports[x.Name]
			if !ok {
				return true
			}
			for _, r := range handlerRules {
				if ip == c.rulePath(r) && n.Sel.Name == r.fn {
					c.reference(pk, f, n, r, called[n], imports)
				}
			}
		case *ast.FuncDecl:
			notRef[n.Name] = true // a method's name; a function's is its own Obj
		case *ast.Field:
			for _, id := range n.Names {
				notRef[id] = true
			}
		case *ast.LabeledStmt:
			notRef[n.Label] = true
		case *ast.BranchStmt:
			if n.Label != nil {
				notRef[n.Label] = true
			}
		case *ast.CompositeLit:
			if c.isStructType(n.Type, pk, f, imports) {
				for _, e := range n.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok {
						if id, ok := kv.Key.(*ast.Ident); ok {
							notRef[id] = true // a field name
						}
					}
				}
			}
		case *ast.Ident:
			if notRef[n] || len(own) == 0 {
				return true
			}
			for _, r := range own {
				if n.Name == r.fn && isPackageLevel(n, f) {
					c.reference(pk, f, n, r, called[n], imports)
				}
			}
		}
		return true
	})
}

// isPackageLevel reports whether id, a use of a name, denotes a
// package-level object: one declared in this file's package scope, or,
// when the file's scopes do not declare it, in another file's.
func isPackageLevel(id *ast.Ident, f *ast.File) bool {
	if id.Obj == nil {
		return true
	}
	return f.Scope.Lookup(id.Name) == id.Obj && id.Obj.Pos() != id.Pos()
}

// isStructType reports whether a composite literal's type is known to be
// a struct, so that its keys are field names. For an elided or unknown
// type the keys are taken as expressions.
func (c *srcChecker) isStructType(t ast.Expr, pk *srcPkg, f *ast.File, imports map[string]string) bool {
	isStruct := func(o *ast.Object) bool {
		if o == nil {
			return false
		}
		ts, ok := o.Decl.(*ast.TypeSpec)
		if !ok {
			return false
		}
		_, ok = ts.Type.(*ast.StructType)
		return ok
	}
	lookup := func(p *srcPkg, name string) bool {
		for _, pf := range p.files {
			if o := pf.Scope.Lookup(name); o != nil {
				return isStruct(o)
			}
		}
		return false
	}
	t = unparen(t)
	switch x := t.(type) { // a generic type's instance
	case *ast.IndexExpr:
		t = x.X
	case *ast.IndexListExpr:
		t = x.X
	}
	switch t := t.(type) {
	case *ast.StructType:
		return true
	case *ast.Ident:
		if t.Obj != nil {
			return isStruct(t.Obj)
		}
		return lookup(pk, t.Name)
	case *ast.SelectorExpr:
		if x, ok := t.X.(*ast.Ident); ok && x.Obj == nil {
			if p := c.pkgs[imports[x.Name]]; p != nil {
				return lookup(p, t.Sel.Name)
			}
		}
	}
	return false
}

// reference checks one reference ref to rule r's function: it must be the
// function of a call (call, nil if not), whose handler argument obeys r.
func (c *srcChecker) reference(pk *srcPkg, f *ast.File, ref ast.Expr, r handlerRule,
	call *ast.CallExpr, imports map[string]string) {
	if call == nil {
		c.report(pk, f, ref.Pos(), "%s is used as a value, not called: calls through it would not be checked; call %s directly",
			r.name(), r.name())
		return
	}
	if r.arg >= len(call.Args) {
		c.report(pk, f, call.Pos(), "%s: the %s is not written out (a multi-value call?): pass it as argument %d",
			r.name(), r.what, r.arg+1)
		return
	}
	arg := unparen(call.Args[r.arg])
	problem, sym := c.handlerArg(r, arg, pk, f, imports)
	if sym != "" {
		c.roots = append(c.roots, sym)
	}
	if problem != "" {
		c.report(pk, f, call.Pos(), "%s: %s", r.name(), problem)
	}
}

// handlerArg checks one handler expression, e, of file f. It returns a
// problem ("" if none) and the function's symbol name when it names one.
func (c *srcChecker) handlerArg(r handlerRule, e ast.Expr, pk *srcPkg, f *ast.File,
	imports map[string]string) (problem, sym string) {
	var target *srcPkg
	var name string
	switch e := e.(type) {
	case *ast.FuncLit:
		return fmt.Sprintf("%s is a func literal: pass a //go:nosplit function declared in a *_nosplit.go file", r.what), ""
	case *ast.Ident:
		if !isPackageLevel(e, f) {
			if r.ids {
				return "", "" // a local handler id
			}
			return fmt.Sprintf("%s %s is not a top-level function: it is a local variable or parameter (shadowing any function of that name)",
				r.what, e.Name), ""
		}
		target, name = pk, e.Name
		if e.Name == "nil" && len(pk.decls["nil"]) == 0 {
			return "", "" // the predeclared nil
		}
	case *ast.SelectorExpr:
		x, ok := e.X.(*ast.Ident)
		ip, isPkg := "", false
		if ok && x.Obj == nil {
			ip, isPkg = imports[x.Name]
		}
		if !isPkg {
			if r.ids {
				return "", "" // a field holding a handler id
			}
			return fmt.Sprintf("%s %s is a method value or field: pass a plain function", r.what, exprString(e)), ""
		}
		name = e.Sel.Name
		if target = c.pkgs[ip]; target == nil {
			if r.ids {
				return "", ""
			}
			return fmt.Sprintf("%s %s is outside this module: it cannot be checked", r.what, exprString(e)), ""
		}
	default:
		if r.ids {
			return "", "" // a handler id computed some other way
		}
		return fmt.Sprintf("%s %s is not a plain function identifier", r.what, exprString(e)), ""
	}
	ds := target.decls[name]
	hasFunc := false
	for _, d := range ds {
		hasFunc = hasFunc || d.kind == ast.Fun
	}
	if !hasFunc {
		switch {
		case r.ids:
			return "", "" // a handler id (a constant or variable)
		case len(ds) > 0 && ds[0].kind == ast.Var:
			return fmt.Sprintf("%s %s is a variable, not a function declaration: it may hold a closure", r.what, exprString(e)), ""
		case len(ds) > 0:
			return fmt.Sprintf("%s %s is not a function declaration", r.what, exprString(e)), ""
		}
		return fmt.Sprintf("%s %s is not a top-level function of %s (a local variable or closure?)", r.what, exprString(e), target.path), ""
	}
	sym = target.sym + "." + name
	for _, d := range ds {
		switch {
		case d.kind == ast.Var:
			return fmt.Sprintf("%s %s is a variable in %s, not a function declaration: it may hold a closure", r.what, exprString(e), d.file), sym
		case d.kind != ast.Fun:
			return fmt.Sprintf("%s %s is declared in %s as other than a function", r.what, exprString(e), d.file), sym
		case d.generic:
			return fmt.Sprintf("%s %s is generic (%s): an instance is not a plain function", r.what, exprString(e), d.file), sym
		case !isRootFile(d.file):
			return fmt.Sprintf("%s %s is declared in %s, not in a *_nosplit.go file", r.what, exprString(e), d.file), sym
		case !d.nosplit:
			return fmt.Sprintf("%s %s (%s) lacks //go:nosplit", r.what, exprString(e), d.file), sym
		}
	}
	if target.linknamed[name] {
		return fmt.Sprintf("%s %s has a //go:linkname directive: the code behind its name is not the declaration checked here", r.what, exprString(e)), sym
	}
	return "", sym
}

// asmRef matches a reference to a rule's function in assembly: the
// symbol's package qualifier (empty for the file's own package, with
// U+2215 for '/') and its name.
var asmRef = regexp.MustCompile(`([\pL\pN_.\x{2215}]*)\x{00b7}(TrapCall|Register|Cpusync)\b`)

// checkAsm flags every reference to a rule's function in the assembly
// file rel of the package at ip, other than its own TEXT line: a CALL (or
// an address taken) there would pass a handler past the source check.
func checkAsm(rel, ip, modPath, text string) []Finding {
	var out []Finding
	for i, line := range strings.Split(text, "\n") {
		if j := strings.Index(line, "//"); j >= 0 {
			line = line[:j]
		}
		for _, m := range asmRef.FindAllStringSubmatchIndex(line, -1) {
			pkg := strings.ReplaceAll(line[m[2]:m[3]], "\u2215", "/")
			if pkg == "" {
				pkg = ip
			}
			fn := line[m[4]:m[5]]
			for _, r := range handlerRules {
				if pkg != modPath+"/"+r.pkg || fn != r.fn {
					continue
				}
				if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "TEXT"); ok &&
					strings.HasPrefix(strings.TrimSpace(rest), line[m[0]:m[1]]) {
					continue // its definition
				}
				at := fmt.Sprintf("%s:%d", rel, i+1)
				out = append(out, Finding{Kind: "handler", At: at,
					Msg: fmt.Sprintf("%s: %s is referenced from assembly: its handler would not be checked; call it from Go", at, r.name())})
			}
		}
	}
	return out
}

// linkname returns the fields after //go:linkname in a comment (the local
// name, and the target if given), or nil.
func linkname(text string) []string {
	rest, ok := strings.CutPrefix(text, "//go:linkname ")
	if !ok {
		return nil
	}
	fs := strings.Fields(rest)
	if len(fs) == 0 {
		return nil
	}
	return fs
}

// modulePath reads the module path from root/go.mod.
func modulePath(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("source tree: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" {
			if p, err := strconv.Unquote(f[1]); err == nil {
				return p, nil
			}
			return f[1], nil
		}
	}
	return "", fmt.Errorf("%s: no module line", filepath.Join(root, "go.mod"))
}

// hasNosplit reports whether a function carries the //go:nosplit directive.
func hasNosplit(d *ast.FuncDecl) bool {
	if d.Doc == nil {
		return false
	}
	for _, c := range d.Doc.List {
		if strings.TrimSpace(c.Text) == "//go:nosplit" {
			return true
		}
	}
	return false
}

func unparen(e ast.Expr) ast.Expr {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	case *ast.ParenExpr:
		return "(" + exprString(e.X) + ")"
	case *ast.FuncLit:
		return "func literal"
	case *ast.CallExpr:
		return exprString(e.Fun) + "(...)"
	case *ast.IndexExpr:
		return exprString(e.X) + "[...]"
	case *ast.IndexListExpr:
		return exprString(e.X) + "[...]"
	}
	return fmt.Sprintf("%T", e)
}
