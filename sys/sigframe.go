package sys

import "gofly/arch/amd64"

// The signal frame's layout and the flags around it, for package proc,
// which builds the same frame for processes (in Go, through CopyOut) as
// Deliver builds for the kernel's own program: offsets from the frame's
// start (see the layout above frameUC in signal_nosplit.go).
const (
	SigFrameUC      = frameUC
	SigFrameMC      = frameMC
	SigFrameMask    = frameMask
	SigFrameInfo    = frameInfo
	SigFrameSize    = frameSize
	SigFPStateSize  = fpstateSize
	SigMCRSP        = mcRSP
	SigMCRIP        = mcRIP
	SigMCEflags     = mcEflags
	SigMCSegs       = 144 // cs, gs, fs, ss as four 16-bit fields
	SigMCErr        = mcErr
	SigMCTrapno     = mcTrapno
	SigMCOldmask    = mcOldmask
	SigMCCR2        = mcCR2
	SigMCFPState    = mcFPState
	SAOnStack       = saOnStack
	SARestorer      = saRestorer
	SANoDefer       = saNoDefer
	SAResetHand     = 0x80000000
	SARestart       = 0x10000000
	SSOnStack       = ssOnStack
	SSDisable       = ssDisable
	SITkill         = siTkill
	SigUnblockable  = unblockable
	MContextRegs    = len(mcRegs)
	SigcontextWords = 32 // struct sigcontext: 256 bytes
)

// MContextReg returns the word of f that the i-th register of a
// sigcontext (r8 … r15, rdi, rsi, rbp, rbx, rdx, rax, rcx) holds.
func MContextReg(f *amd64.Frame, i int) *uint64 { return frameWord(f, mcRegs[i]) }
