package pmap

import (
	"fmt"

	"gofly/mm"
)

// SelfTest checks page0 and the Enter/Extract/Protect/Remove round trip on
// p, using scratch, an unused page-aligned address. The caller holds
// interrupts off.
func (p *Pmap) SelfTest(scratch uintptr) error {
	if _, ok := p.Extract(0); ok {
		return fmt.Errorf("pmap: page0: virtual page 0 is mapped")
	}
	pa := mm.Phys.Alloc()
	if pa == 0 {
		return fmt.Errorf("pmap: no free page for the self-test")
	}
	before := p.resident
	if !p.Enter(scratch, pa, Writable) {
		mm.Phys.Free(pa)
		return fmt.Errorf("pmap: Enter(%#x) failed", scratch)
	}
	if got, ok := p.Extract(scratch + 123); !ok || got != pa+123 {
		return fmt.Errorf("pmap: Extract(%#x) = %#x, %v; want %#x", scratch+123, got, ok, pa+123)
	}
	*(*uint64)(mm.Ptr(uint64(scratch))) = 0x600dF00d
	if *(*uint64)(mm.Ptr(pa)) != 0x600dF00d {
		return fmt.Errorf("pmap: a store through %#x did not reach frame %#x", scratch, pa)
	}
	p.Protect(scratch, scratch+pageSize, 0)
	if fl := p.Flags(scratch); fl&Writable != 0 {
		return fmt.Errorf("pmap: Protect left the page writable (flags %#x)", fl)
	}
	if msg := p.Remove(scratch, scratch+pageSize); msg != "" {
		return fmt.Errorf("%s", msg)
	}
	if _, ok := p.Extract(scratch); ok || p.resident != before {
		return fmt.Errorf("pmap: Remove left %#x mapped (resident %d, was %d)", scratch, p.resident, before)
	}
	if !mm.Phys.IsFree(pa) {
		return fmt.Errorf("pmap: Remove did not free frame %#x", pa)
	}
	return nil
}
