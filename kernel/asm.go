package kernel

// Routines in entry_amd64.s and vectors_amd64.s.

// entry is the Go image's ELF entry point; see entry_amd64.s.
func entry()

// syscallEntry is the SYSCALL target; see entry_amd64.s.
func syscallEntry()

// trapEntry is the common trap path; see entry_amd64.s.
func trapEntry()

// idleLoop is the idle thread's code; see entry_amd64.s.
func idleLoop()

// faultTrampoline runs reportFault on a faulting thread; see entry_amd64.s.
func faultTrampoline()

// vectorStubs returns the entry address of each IDT vector's stub.
func vectorStubs() *[256]uintptr

// apEntry is where application processors enter the kernel; see
// entry_amd64.s.
func apEntry()

// codeAddrs returns the addresses of syscallEntry, idleLoop,
// faultTrampoline and apEntry.
func codeAddrs() (syscall, idle, trampoline, ap uintptr)
