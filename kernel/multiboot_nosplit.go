package kernel

// The multiboot information is read once, before the runtime starts and
// before its memory can be reused: nosplit, copied into static arrays.
// u-root's pkg/multiboot describes the same structures but decodes them
// with encoding/binary into allocated slices, which cannot run here.

import "gofly/mm"

const (
	multibootMagic = 0x2BADB002

	mbFlagMem     = 1 << 0
	mbFlagCmdline = 1 << 2
	mbFlagMods    = 1 << 3
	mbFlagMmap    = 1 << 6

	maxMemMap  = 64
	maxModules = 16
	cmdlineMax = 4096
	modNameMax = 256
)

// MemRegion is one entry of the firmware memory map.
type MemRegion struct {
	Base, Len uint64
	Type      uint32 // 1 usable, 2 reserved, 3 ACPI reclaimable, 4 ACPI NVS, 5 bad
}

var (
	memMap     [maxMemMap]MemRegion
	nMemMap    int
	memMapLost int // entries past maxMemMap, reported at boot

	avail  [maxMemMap]mm.Range
	nAvail int

	modules     [maxModules]mm.Range
	moduleNames [maxModules][modNameMax]byte // each module's string (its file name, as QEMU's -initrd gives it)
	moduleNameN [maxModules]int              // bytes of it kept
	nModules    int
	modulesLost int // modules past maxModules, reported by the modules command

	cmdline          [cmdlineMax]byte
	cmdlineLen       int
	cmdlineTruncated int // bytes that did not fit
)

//go:nosplit
func mb32(a uint64) uint32 { return *(*uint32)(mm.Direct(a)) }

//go:nosplit
func mb64(a uint64) uint64 { return *(*uint64)(mm.Direct(a)) }

// parseMultiboot copies what the kernel keeps from the multiboot
// information at info. Usable RAM above 4 GiB is trimmed to whole 2 MiB
// pages, the granule of its direct map.
//
//go:nosplit
func parseMultiboot(info uint64) {
	flags := mb32(info)
	if flags&mbFlagCmdline != 0 {
		p := uint64(mb32(info + 16))
		for {
			b := *(*byte)(mm.Direct(p))
			if b == 0 {
				break
			}
			if cmdlineLen < cmdlineMax {
				cmdline[cmdlineLen] = b
				cmdlineLen++
			} else {
				cmdlineTruncated++
			}
			p++
		}
	}
	if flags&mbFlagMods != 0 {
		n, at := uint64(mb32(info+20)), uint64(mb32(info+24))
		for i := uint64(0); i < n; i++ {
			if nModules == maxModules {
				modulesLost++
				continue
			}
			start, end := uint64(mb32(at+i*16)), uint64(mb32(at+i*16+4))
			modules[nModules] = mm.Range{Base: start, Len: end - start}
			if p := uint64(mb32(at + i*16 + 8)); p != 0 {
				for k := 0; k < modNameMax; k++ {
					b := *(*byte)(mm.Direct(p + uint64(k)))
					if b == 0 {
						break
					}
					moduleNames[nModules][k] = b
					moduleNameN[nModules]++
				}
			}
			nModules++
		}
	}
	if flags&mbFlagMmap != 0 {
		length, at := uint64(mb32(info+44)), uint64(mb32(info+48))
		for p := at; p < at+length; p += uint64(mb32(p)) + 4 {
			r := MemRegion{mb64(p + 4), mb64(p + 12), mb32(p + 20)}
			if nMemMap == maxMemMap {
				memMapLost++
				continue
			}
			memMap[nMemMap] = r
			nMemMap++
			if r.Type == 1 {
				addAvail(r.Base, r.Len)
			}
		}
	} else if flags&mbFlagMem != 0 {
		addAvail(1<<20, uint64(mb32(info+8))<<10) // mem_upper: KiB above 1 MiB
	}
}

//go:nosplit
func addAvail(base, n uint64) {
	const fourG, twoM = 1 << 32, 2 << 20
	end := base + n
	if end > fourG {
		lo := base
		if lo < fourG {
			lo = fourG
		}
		hiStart := (lo + twoM - 1) &^ (twoM - 1)
		hiEnd := end &^ (twoM - 1)
		if hiEnd > hiStart && nAvail < maxMemMap {
			avail[nAvail] = mm.Range{Base: hiStart, Len: hiEnd - hiStart}
			nAvail++
		}
		end = fourG
	}
	if base < end && nAvail < maxMemMap {
		avail[nAvail] = mm.Range{Base: base, Len: end - base}
		nAvail++
	}
}
