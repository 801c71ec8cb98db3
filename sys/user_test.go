package sys

// mmap, munmap, madvise, and how every call reaches user memory: through
// vm.Kernel.Touch, which faults pages in (user-access).

import (
	"syscall"
	"testing"

	"gofly/pmap"
	"gofly/vm"
)

const anonPrivate = syscall.MAP_ANONYMOUS | syscall.MAP_PRIVATE

func mmapCall(addr, length, prot, flags, fd uintptr) int64 {
	return call(syscall.SYS_MMAP, addr, length, prot, flags, fd, 0)
}

// minusOne is how the runtime passes fd -1: MOVL, so R8 is 0xFFFFFFFF.
const minusOne = 0xFFFF_FFFF

func TestMmapArgumentChecks(t *testing.T) {
	setup(t)
	rw := uintptr(syscall.PROT_READ | syscall.PROT_WRITE)
	want(t, "mmap(file)", mmapCall(0, 4096, rw, syscall.MAP_PRIVATE, 3), errno(syscall.ENODEV))
	if r := mmapCall(0, 4096, rw, anonPrivate, 3); r < 0 { // Linux ignores fd for MAP_ANONYMOUS
		t.Errorf("mmap(anonymous, fd 3) = %d, want a mapping", r)
	} else {
		want(t, "munmap", call(syscall.SYS_MUNMAP, uintptr(r), 4096), 0)
	}
	want(t, "mmap(length 0)", mmapCall(0, 0, rw, anonPrivate, minusOne), errno(syscall.EINVAL))
	want(t, "mmap(neither shared nor private)", mmapCall(0, 4096, rw, syscall.MAP_ANONYMOUS, minusOne), errno(syscall.EINVAL))
	want(t, "mmap(length overflows)", mmapCall(0, ^uintptr(0)-100, rw, anonPrivate, minusOne), errno(syscall.ENOMEM))
	wantFail(t, "mmap(MAP_FIXED below userMin)", mmapCall(userMin-2*4096, 4096, rw, anonPrivate|syscall.MAP_FIXED, minusOne))
	wantFail(t, "mmap(MAP_FIXED above UserMax)", mmapCall(vm.UserMax, 4096, rw, anonPrivate|syscall.MAP_FIXED, minusOne))
	want(t, "mmap(MAP_FIXED unaligned)", mmapCall(userMin+1, 4096, rw, anonPrivate|syscall.MAP_FIXED, minusOne), errno(syscall.EINVAL))
	if vm.Kernel.Len() != 0 {
		t.Errorf("failed mmaps left %d map entries", vm.Kernel.Len())
	}
}

func TestMmapPlacesPageAlignedAboveMmapBase(t *testing.T) {
	setup(t)
	rw := uintptr(syscall.PROT_READ | syscall.PROT_WRITE)
	var prevEnd int64
	for _, n := range []uintptr{1, 4096, 4097, 64 << 10, 1 << 30} {
		a := mmapCall(0, n, rw, anonPrivate, minusOne)
		if a < vm.MmapBase || a%4096 != 0 {
			t.Fatalf("mmap(%d) = %s, want a page-aligned address >= %#x", n, show(a), vm.MmapBase)
		}
		if a < prevEnd {
			t.Errorf("mmap(%d) = %#x overlaps the previous mapping ending %#x", n, a, prevEnd)
		}
		prevEnd = a + int64((n+4095)&^4095)
	}
	// An address hint that is free is taken as given; one that is not, or
	// lies below userMin, is ignored.
	hint := uintptr(vm.MmapBase + 1<<40)
	want(t, "mmap(free hint)", mmapCall(hint, 4096, rw, anonPrivate, minusOne), int64(hint))
	if a := mmapCall(hint, 4096, rw, anonPrivate, minusOne); a == int64(hint) || a < vm.MmapBase {
		t.Errorf("mmap(taken hint) = %s, want another address >= MmapBase", show(a))
	}
	if a := mmapCall(0x10000, 4096, rw, anonPrivate, minusOne); a < vm.MmapBase {
		t.Errorf("mmap(hint below userMin) = %s", show(a))
	}
	// The runtime's fd -1 may arrive sign-extended too.
	if a := mmapCall(0, 4096, rw, anonPrivate, ^uintptr(0)); a < vm.MmapBase {
		t.Errorf("mmap(fd -1 sign-extended) = %s", show(a))
	}
}

func TestMmapFixedNoReplace(t *testing.T) {
	setup(t)
	rw := uintptr(syscall.PROT_READ | syscall.PROT_WRITE)
	const noReplace = 0x100000
	want(t, "mmap(FIXED_NOREPLACE)", mmapCall(userMin, 8192, rw, anonPrivate|noReplace, minusOne), int64(userMin))
	want(t, "mmap(FIXED_NOREPLACE) again", mmapCall(userMin+4096, 4096, rw, anonPrivate|noReplace, minusOne), errno(syscall.EEXIST))
	want(t, "mmap(FIXED) over it", mmapCall(userMin+4096, 4096, rw, anonPrivate|syscall.MAP_FIXED, minusOne), int64(userMin+4096))
}

func TestMunmapAndMadviseArgumentChecks(t *testing.T) {
	setup(t)
	rw := uintptr(syscall.PROT_READ | syscall.PROT_WRITE)
	a := uintptr(mmapCall(0, 3*4096, rw, anonPrivate, minusOne))
	want(t, "munmap(unaligned)", call(syscall.SYS_MUNMAP, a+1, 4096), errno(syscall.EINVAL))
	want(t, "munmap(length 0)", call(syscall.SYS_MUNMAP, a, 0), errno(syscall.EINVAL))
	wantFail(t, "munmap(below userMin)", call(syscall.SYS_MUNMAP, userMin-4096, 4096))
	want(t, "munmap(wraps)", call(syscall.SYS_MUNMAP, a, ^uintptr(0)-a+4096), errno(syscall.EINVAL))
	want(t, "munmap(middle page)", call(syscall.SYS_MUNMAP, a+4096, 1), 0)
	if n := vm.Kernel.Len(); n != 2 {
		t.Errorf("munmap of the middle page left %d entries, want 2", n)
	}
	want(t, "munmap(unmapped range)", call(syscall.SYS_MUNMAP, a+4096, 4096), 0)

	want(t, "madvise(unaligned)", call(syscall.SYS_MADVISE, a+1, 4096, syscall.MADV_DONTNEED), errno(syscall.EINVAL))
	wantFail(t, "madvise(below userMin)", call(syscall.SYS_MADVISE, userMin-4096, 4096, syscall.MADV_DONTNEED))
	want(t, "madvise(wraps)", call(syscall.SYS_MADVISE, a, ^uintptr(0)-a+4096, syscall.MADV_DONTNEED), errno(syscall.EINVAL))
	want(t, "madvise(DONTNEED over the hole)", call(syscall.SYS_MADVISE, a, 3*4096, syscall.MADV_DONTNEED), errno(syscall.ENOMEM))
	want(t, "madvise(DONTNEED)", call(syscall.SYS_MADVISE, a, 4096, syscall.MADV_DONTNEED), 0)
	want(t, "madvise(FREE)", call(syscall.SYS_MADVISE, a, 4096, 8), 0)
	want(t, "madvise(HUGEPAGE)", call(syscall.SYS_MADVISE, a, 4096, syscall.MADV_HUGEPAGE), 0)
	want(t, "madvise(length 0, below userMin)", call(syscall.SYS_MADVISE, 4096, 0, syscall.MADV_DONTNEED), 0)

	// Lengths whose page-rounding wraps to 0 are EINVAL on Linux; they
	// used to be taken as empty ranges and return 0.
	want(t, "munmap(length ~0)", call(syscall.SYS_MUNMAP, a, ^uintptr(0)), errno(syscall.EINVAL))
	want(t, "munmap(length ~0-4094)", call(syscall.SYS_MUNMAP, a, ^uintptr(0)-4094), errno(syscall.EINVAL))
	want(t, "madvise(length ~0)", call(syscall.SYS_MADVISE, a, ^uintptr(0), syscall.MADV_DONTNEED), errno(syscall.EINVAL))
	// Advice Linux does not know is EINVAL; advice it knows and Gofly
	// ignores is accepted.
	for _, adv := range []uintptr{5, 7, 26, 99, 102, 1 << 31} {
		want(t, "madvise(unknown advice)", call(syscall.SYS_MADVISE, a, 4096, adv), errno(syscall.EINVAL))
	}
	for _, adv := range []uintptr{syscall.MADV_NORMAL, syscall.MADV_WILLNEED, syscall.MADV_NOHUGEPAGE, 25} {
		want(t, "madvise(known advice)", call(syscall.SYS_MADVISE, a, 4096, adv), 0)
	}
}

// A buffer in the user region is faulted in on the kernel's access, as the
// CPU would on the program's own access: user-access.
func TestUserBufferIsFaultedIn(t *testing.T) {
	setup(t)
	rw := uintptr(syscall.PROT_READ | syscall.PROT_WRITE)
	a := uintptr(mmapCall(userMin, 2*4096, rw, anonPrivate|syscall.MAP_FIXED, minusOne))
	if a != userMin {
		t.Fatalf("mmap(FIXED) = %#x, want %#x", a, userMin)
	}
	faults := vm.Kernel.Faults
	ts := a + 4096 - 8 // the timespec straddles both pages
	want(t, "clock_gettime into fresh memory", call(syscall.SYS_CLOCK_GETTIME, 1, ts), 0)
	if vm.Kernel.Faults != faults+2 {
		t.Errorf("%d pages faulted in, want 2", vm.Kernel.Faults-faults)
	}
	for _, p := range []uintptr{a, a + 4096} {
		if vm.Kernel.Pmap.Flags(p)&pmap.Writable == 0 {
			t.Errorf("page %#x not mapped writable after the call", p)
		}
	}
	// Present pages are not faulted again.
	want(t, "clock_gettime again", call(syscall.SYS_CLOCK_GETTIME, 1, ts), 0)
	if vm.Kernel.Faults != faults+2 {
		t.Errorf("a present page was faulted again")
	}
	// Dropped pages come back on the next access.
	want(t, "madvise(DONTNEED)", call(syscall.SYS_MADVISE, a, 2*4096, syscall.MADV_DONTNEED), 0)
	if vm.Kernel.Pmap.Flags(a) != 0 {
		t.Error("MADV_DONTNEED left the page mapped")
	}
	want(t, "clock_gettime after DONTNEED", call(syscall.SYS_CLOCK_GETTIME, 1, a), 0)
	if vm.Kernel.Faults != faults+3 {
		t.Errorf("the dropped page was not faulted in again")
	}
}

func TestUserBufferProtection(t *testing.T) {
	setup(t)
	ro := mmapCall(userMin, 4096, syscall.PROT_READ, anonPrivate|syscall.MAP_FIXED, minusOne)
	none := mmapCall(userMin+8192, 4096, syscall.PROT_NONE, anonPrivate|syscall.MAP_FIXED, minusOne)
	if ro != int64(userMin) || none != int64(userMin+8192) {
		t.Fatalf("mmap(FIXED) = %s, %s", show(ro), show(none))
	}
	want(t, "clock_gettime into read-only memory", call(syscall.SYS_CLOCK_GETTIME, 1, uintptr(ro)), errno(syscall.EFAULT))
	want(t, "clock_gettime into PROT_NONE memory", call(syscall.SYS_CLOCK_GETTIME, 1, uintptr(none)), errno(syscall.EFAULT))
	want(t, "clock_gettime into the unmapped gap", call(syscall.SYS_CLOCK_GETTIME, 1, userMin+4096), errno(syscall.EFAULT))
	// Reading from read-only memory is fine: nanosleep only reads.
	want(t, "nanosleep({0,0}) from read-only memory", call(syscall.SYS_NANOSLEEP, uintptr(ro), 0), 0)
	// Once present read-only, a write is still refused.
	want(t, "clock_gettime into present read-only memory", call(syscall.SYS_CLOCK_GETTIME, 1, uintptr(ro)), errno(syscall.EFAULT))
	// After munmap the range is gone.
	want(t, "munmap", call(syscall.SYS_MUNMAP, uintptr(ro), 4096), 0)
	want(t, "nanosleep from unmapped memory", call(syscall.SYS_NANOSLEEP, uintptr(ro), 0), errno(syscall.EFAULT))
}

func TestUserRangeWrapsIsEFAULT(t *testing.T) {
	setup(t)
	want(t, "getrandom(wrapping range)", call(318, ^uintptr(0)-8, 64, 0), errno(syscall.EFAULT))
	want(t, "clock_gettime(top of memory)", call(syscall.SYS_CLOCK_GETTIME, 1, ^uintptr(0)-7), errno(syscall.EFAULT))
}
