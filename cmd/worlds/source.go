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
	"sort"
	"strconv"
	"strings"
)

// A handler rule: calls to Func of a package whose import path ends in
// Pkg pass, as argument Arg, a function that runs below the runtime.
type handlerRule struct {
	pkg  string // last element of the package's import path
	fn   string
	arg  int
	ids  bool // the argument may instead be a handler id (a constant)
	what string
}

var handlerRules = []handlerRule{
	// TrapCall(fn, arg) runs fn in the trap path, below the runtime.
	{pkg: "lwkt", fn: "TrapCall", arg: 0, what: "TrapCall function"},
	// Register(id, fn) installs an IPI handler, run from interrupt context.
	{pkg: "ipiq", fn: "Register", arg: 1, what: "IPI handler"},
	// Cpusync(mask, fn, arg1, arg2) runs a handler on other CPUs. Today fn
	// is a handler id (its handler is checked at its Register call); a
	// func value there must obey the same rule.
	{pkg: "lwkt", fn: "Cpusync", arg: 1, ids: true, what: "Cpusync handler"},
}

// srcFunc is a top-level function (not a method) of the tree.
type srcFunc struct {
	file    string // relative to the tree's root
	nosplit bool
}

// srcPkg is one package (directory) of the tree.
type srcPkg struct {
	path  string              // import path
	funcs map[string]*srcFunc // top-level functions by name
	names map[string]bool     // other top-level names: consts, vars, types
	files []*ast.File
	fset  *token.FileSet
	rel   map[*ast.File]string
}

// checkSource parses the Go files of the module at root (tests, testdata,
// vendor and hidden directories excluded) and checks every handler
// registration against handlerRules: the function must be a plain
// identifier or pkg.Func naming a top-level function declared in a
// *_nosplit.go file with //go:nosplit. It returns the findings, and the
// symbol names of every function so registered (more roots for the
// binary walk).
func checkSource(root string) ([]Finding, []string, error) {
	modPath, err := modulePath(root)
	if err != nil {
		return nil, nil, err
	}
	fset := token.NewFileSet()
	pkgs := map[string]*srcPkg{} // by import path
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
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		dir := filepath.ToSlash(filepath.Dir(rel))
		ip := modPath
		if dir != "." {
			ip = modPath + "/" + dir
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pk := pkgs[ip]
		if pk == nil {
			pk = &srcPkg{path: ip, funcs: map[string]*srcFunc{}, names: map[string]bool{},
				fset: fset, rel: map[*ast.File]string{}}
			pkgs[ip] = pk
		}
		if f.Name.Name == "main" {
			pk.path = "main" // symbols of a command's package are main.X
		}
		pk.files = append(pk.files, f)
		pk.rel[f] = filepath.ToSlash(rel)
		for _, decl := range f.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				if decl.Recv == nil {
					pk.funcs[decl.Name.Name] = &srcFunc{file: filepath.ToSlash(rel), nosplit: hasNosplit(decl)}
				}
			case *ast.GenDecl:
				for _, s := range decl.Specs {
					switch s := s.(type) {
					case *ast.ValueSpec:
						for _, n := range s.Names {
							pk.names[n.Name] = true
						}
					case *ast.TypeSpec:
						pk.names[s.Name.Name] = true
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}

	var out []Finding
	var roots []string
	paths := make([]string, 0, len(pkgs))
	for p := range pkgs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		pk := pkgs[p]
		for _, f := range pk.files {
			imports := fileImports(f)
			ast.Inspect(f, func(n ast.Node) bool {
				ce, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				rule, ok := matchRule(ce.Fun, pk, imports)
				if !ok || rule.arg >= len(ce.Args) {
					return true
				}
				at := fset.Position(ce.Pos())
				at.Filename = pk.rel[f]
				fnd, sym := checkHandlerArg(rule, unparen(ce.Args[rule.arg]), pk, pkgs, imports, modPath)
				if sym != "" {
					roots = append(roots, sym)
				}
				if fnd != "" {
					out = append(out, Finding{Kind: "handler", At: at.String(),
						Msg: fmt.Sprintf("%s: %s.%s: %s", at, rule.pkg, rule.fn, fnd)})
				}
				return true
			})
		}
	}
	return out, roots, nil
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

// fileImports maps the names a file imports packages under to their paths.
func fileImports(f *ast.File) map[string]string {
	m := map[string]string{}
	for _, s := range f.Imports {
		p, err := strconv.Unquote(s.Path.Value)
		if err != nil {
			continue
		}
		name := path.Base(p)
		if s.Name != nil {
			name = s.Name.Name
		}
		m[name] = p
	}
	return m
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

// matchRule reports which rule, if any, a call's function expression names.
func matchRule(fun ast.Expr, pk *srcPkg, imports map[string]string) (handlerRule, bool) {
	fun = unparen(fun)
	for _, r := range handlerRules {
		switch fun := fun.(type) {
		case *ast.SelectorExpr: // lwkt.TrapCall
			x, ok := fun.X.(*ast.Ident)
			if ok && fun.Sel.Name == r.fn && path.Base(imports[x.Name]) == r.pkg {
				return r, true
			}
		case *ast.Ident: // TrapCall, inside package lwkt
			if fun.Name == r.fn && path.Base(pk.path) == r.pkg {
				return r, true
			}
		}
	}
	return handlerRule{}, false
}

// checkHandlerArg checks one registered function expression. It returns a
// problem ("" if none) and the function's symbol name when it names one.
func checkHandlerArg(r handlerRule, e ast.Expr, pk *srcPkg, pkgs map[string]*srcPkg,
	imports map[string]string, modPath string) (problem, sym string) {
	var target *srcPkg
	var name string
	switch e := e.(type) {
	case *ast.FuncLit:
		return fmt.Sprintf("%s is a func literal: pass a //go:nosplit function declared in a *_nosplit.go file", r.what), ""
	case *ast.Ident:
		target, name = pk, e.Name
		if e.Name == "nil" {
			return "", ""
		}
	case *ast.SelectorExpr:
		x, ok := e.X.(*ast.Ident)
		ip, isPkg := "", false
		if ok {
			ip, isPkg = imports[x.Name]
		}
		if !isPkg {
			return fmt.Sprintf("%s %s is a method value or field: pass a plain function", r.what, exprString(e)), ""
		}
		name = e.Sel.Name
		if target = pkgs[ip]; target == nil {
			return fmt.Sprintf("%s %s is outside this module: it cannot be checked", r.what, exprString(e)), ""
		}
	default:
		if r.ids {
			return "", "" // a handler id computed some other way
		}
		return fmt.Sprintf("%s %s is not a plain function identifier", r.what, exprString(e)), ""
	}
	fd := target.funcs[name]
	if fd == nil {
		if r.ids {
			return "", "" // a handler id (a constant or variable)
		}
		if target.names[name] {
			return fmt.Sprintf("%s %s is a variable, not a function declaration: it may hold a closure", r.what, exprString(e)), ""
		}
		return fmt.Sprintf("%s %s is not a top-level function (a local variable or closure?)", r.what, exprString(e)), ""
	}
	sym = target.path + "." + name
	switch {
	case !isRootFile(fd.file):
		return fmt.Sprintf("%s %s is declared in %s, not in a *_nosplit.go file", r.what, exprString(e), fd.file), sym
	case !fd.nosplit:
		return fmt.Sprintf("%s %s (%s) lacks //go:nosplit", r.what, exprString(e), fd.file), sym
	}
	return "", sym
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	case *ast.FuncLit:
		return "func literal"
	case *ast.CallExpr:
		return exprString(e.Fun) + "(...)"
	case *ast.IndexExpr:
		return exprString(e.X) + "[...]"
	}
	return fmt.Sprintf("%T", e)
}
