package kernel

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/arch/x86/x86asm"

	"gofly/drivers/power"
)

// reportFault runs on the goroutine that took a fatal CPU exception,
// entered through faultTrampoline after the trap path printed the
// registers. It decodes the faulting instruction, prints the goroutine's
// stack and stops the machine. It is ordinary Go: if the fault left the
// runtime unable to run it, the register report already printed stands.
func reportFault() {
	r := &faultRecord
	fmt.Fprintf(os.Stderr, "  faulting instruction: %s\n", decode(r.code[:r.ncode], r.frame.RIP))
	buf := make([]byte, 16<<10)
	n := runtime.Stack(buf, false)
	fmt.Fprintf(os.Stderr, "  Go stack:\n%s\n", buf[:n])
	power.Fail(power.CodeFault)
}

// decode renders the instruction at the start of code (fetched from rip)
// in Intel syntax.
func decode(code []byte, rip uint64) string {
	if len(code) == 0 {
		return fmt.Sprintf("unreadable (rip %#x not mapped)", rip)
	}
	inst, err := x86asm.Decode(code, 64)
	if err != nil {
		return fmt.Sprintf("cannot decode % x: %v", code, err)
	}
	return fmt.Sprintf("%s  (% x)", x86asm.IntelSyntax(inst, rip, nil), code[:inst.Len])
}
