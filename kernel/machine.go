package kernel

import (
	"fmt"
	"unsafe"

	"gofly/arch/amd64"
	"gofly/mm"
)

// machine gives package acpi (and the shell) the platform: physical memory
// through the direct map below 4 GiB, and port I/O.
type machine struct{}

// Machine returns the platform accessors.
func Machine() machine { return machine{} }

func (machine) ReadPhys(addr uint64, n int) ([]byte, error) {
	if n < 0 || addr+uint64(n) > 1<<32 || addr+uint64(n) < addr {
		return nil, fmt.Errorf("kernel: physical range %#x+%d outside the low direct map", addr, n)
	}
	b := make([]byte, n)
	for i := range b { // page 0 is never mapped: serve it from the boot copy
		pa := addr + uint64(i)
		if pa < 4096 {
			b[i] = *(*byte)(mm.Direct(boot.page0 + pa))
		} else {
			copy(b[i:], unsafe.Slice((*byte)(mm.Direct(pa)), n-i))
			break
		}
	}
	return b, nil
}

func (machine) Outw(port uint16, v uint16) { amd64.Outw(port, v) }
func (machine) Outb(port uint16, v uint8)  { amd64.Outb(port, v) }
func (machine) Inw(port uint16) uint16     { return amd64.Inw(port) }
