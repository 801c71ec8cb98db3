# Gofly build. `make` builds the multiboot image, `make qemu` boots it on
# the serial console, `make test` runs every test (host, in-kernel, boot).

GO       ?= go
CC       ?= gcc
BUILD    ?= build
KERNEL   ?= ./cmd/gofly
SMP      ?= 1
MEM      ?= 256M
APPEND   ?=
QEMU     ?= qemu-system-x86_64
TIMEOUT  ?= 0

# The Go image: loaded at 2 MiB (its ELF header page at GO_BASE, text one
# page above) and linked at that memory's address in the direct map, the
# upper half's alias of physical memory (amd64.Alias + 0x201000, written
# as the negative number the linker's -T takes), with the kernel's own
# entry, the internal linker, no cgo.
GO_BASE    := 0x200000
GO_LDFLAGS := -T -0x7FFFFFDFF000 -E gofly/kernel.entry
GO_ENV     := GOOS=linux GOARCH=amd64 CGO_ENABLED=0

IMAGE := $(BUILD)/gofly.elf
SOURCES := $(shell find . -path ./$(BUILD) -prune -o \( -name '*.go' -o -name '*.s' \) -print) go.mod go.sum

QEMU_ARGS = -accel tcg,thread=multi -m $(MEM) -smp $(SMP) -nic none -display none \
	-serial mon:stdio -no-reboot -kernel $(IMAGE) -append "$(APPEND)" \
	$(if $(INITRD),-initrd "$(INITRD)")

.PHONY: all go125 go127 qemu qemu-gdb test test-host test-boot bench worlds clean qemu-installed stdtest

all: $(IMAGE)

# The same kernel built by the previous and the next Go release, which the
# go command fetches itself (GOTOOLCHAIN); CI boots each through selftest.
GO125 := go1.25.5
GO127 := go1.27.3
go125:
	$(MAKE) BUILD=$(BUILD)/$(GO125) GO="env GOTOOLCHAIN=$(GO125) $(GO)"
go127:
	$(MAKE) BUILD=$(BUILD)/$(GO127) GO="env GOTOOLCHAIN=$(GO127) $(GO)"

$(BUILD)/kernel.go.elf: $(SOURCES)
	@mkdir -p $(BUILD)
	$(GO_ENV) $(GO) build -o $@ -ldflags='$(GO_LDFLAGS)' $(KERNEL)

$(BUILD)/boot.o: boot/boot.S | qemu-installed
	@mkdir -p $(BUILD)
	$(CC) -c -o $@ -DGO_BASE=$(GO_BASE) boot/boot.S

$(BUILD)/stub.elf: $(BUILD)/boot.o linker.ld
	ld -m elf_x86_64 -n -T linker.ld -o $@ $(BUILD)/boot.o

# QEMU's multiboot loader takes only ELF32, and loads every segment itself:
# mkimage joins the stub's segments and the Go image's in one ELF32 file.
$(IMAGE): $(BUILD)/stub.elf $(BUILD)/kernel.go.elf cmd/mkimage/main.go
	$(GO) run ./cmd/mkimage -stub $(BUILD)/stub.elf -kernel $(BUILD)/kernel.go.elf -o $@

# Go's own sync/atomic tests, unmodified, as a kernel (internal/gotest):
# the files come from the toolchain's GOROOT at build time, beside a
# generated TestMain; test.run=… on the kernel command line picks tests.
# (In a "_" directory, which go list ./... and go test ./... skip.)
ATOMIC_TEST := $(BUILD)/_gotest/sync_atomic
$(ATOMIC_TEST).elf: $(SOURCES) $(BUILD)/stub.elf
	rm -rf $(ATOMIC_TEST) && mkdir -p $(ATOMIC_TEST)
	cp "$$($(GO) env GOROOT)"/src/sync/atomic/*_test.go $(ATOMIC_TEST)/
	printf 'package atomic_test\n\nimport (\n\t"testing"\n\n\t"gofly/internal/gotest"\n)\n\nfunc TestMain(m *testing.M) { gotest.Main(m) }\n' > $(ATOMIC_TEST)/gofly_main_test.go
	$(GO_ENV) $(GO) test -c -o $(ATOMIC_TEST).go.elf -ldflags='$(GO_LDFLAGS)' ./$(ATOMIC_TEST)
	$(GO) run ./cmd/mkimage -stub $(BUILD)/stub.elf -kernel $(ATOMIC_TEST).go.elf -o $@

# The user programs (user/NAME): static Linux executables, as
# `CGO_ENABLED=0 go build` makes them; the probe's entry is its own
# assembly (USER_LDFLAGS). Until Gofly has a file system they reach it as
# multiboot modules: `make qemu` passes INITRD (default: all of them) to
# QEMU's -initrd, a comma-separated list of files, each optionally with
# arguments. The boot tests get each as GOFLY_USER_<NAME>.
USER_NAMES := hello probe gcstress spawn fuzz sigtest memtest faultbench filetest pipetest ttytest nettest clocktest timertest
USER_PROGRAMS := $(USER_NAMES:%=$(BUILD)/user/%)
$(BUILD)/user/probe: USER_LDFLAGS := -E=main.start
.SECONDEXPANSION:
$(BUILD)/user/%: $$(wildcard user/$$*/*.go user/$$*/*.s)
	@mkdir -p $(BUILD)/user
	$(GO_ENV) $(GO) build -ldflags='$(USER_LDFLAGS)' -o $@ ./user/$*

# u-root's commands, unmodified (go.mod's tool lines pin them), packed at
# /bin in a cpio archive that the default INITRD adds; Gofly unpacks it at
# boot. Symbol tables are left out (-s -w) to halve the archive.
UROOT_CMDS := cat cp date echo find gosh grep ls mkdir mv rm sleep wc
UROOT_CPIO := $(BUILD)/uroot.cpio
$(BUILD)/uroot/%: go.mod go.sum
	@mkdir -p $(BUILD)/uroot
	$(GO_ENV) $(GO) build -ldflags='-s -w' -o $@ github.com/u-root/u-root/cmds/core/$*
$(UROOT_CPIO): $(UROOT_CMDS:%=$(BUILD)/uroot/%) cmd/initramfs/main.go
	$(GO) run ./cmd/initramfs $(foreach c,$(UROOT_CMDS),-file $(BUILD)/uroot/$(c):bin/$(c)) -o $@

comma := ,
INITRD ?= $(subst $(eval) ,$(comma),$(USER_PROGRAMS) $(UROOT_CPIO))

# Linux on the same work in the same QEMU (make bench): Debian's kernel
# image, the one linux-image-amd64 depends on, with Go's sync/atomic test
# binary (static) as its /init.
LINUX_DIR := $(BUILD)/linux
$(LINUX_DIR)/vmlinuz:
	rm -rf $(LINUX_DIR)/deb && mkdir -p $(LINUX_DIR)/deb
	cd $(LINUX_DIR)/deb && pkg=$$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $$2; exit}') && \
	  test -n "$$pkg" && apt-get download "$$pkg" && dpkg-deb -x "$$pkg"_*.deb x && cp x/boot/vmlinuz-* ../vmlinuz
	rm -rf $(LINUX_DIR)/deb

$(LINUX_DIR)/atomic.cpio: cmd/initramfs/main.go
	mkdir -p $(LINUX_DIR)
	$(GO_ENV) $(GO) test -c -o $(LINUX_DIR)/atomic.test sync/atomic
	$(GO) run ./cmd/initramfs -init $(LINUX_DIR)/atomic.test -o $@

# The probe's page faults in one process and in two at once, under Linux:
# user/faultbench as /init, the probe beside it.
$(LINUX_DIR)/faults.cpio: cmd/initramfs/main.go $(BUILD)/user/faultbench $(BUILD)/user/probe
	mkdir -p $(LINUX_DIR)
	$(GO) run ./cmd/initramfs -init $(BUILD)/user/faultbench -file $(BUILD)/user/probe -o $@

# The cost of time.Now and of a system call under Linux: user/clocktest
# as /init.
$(LINUX_DIR)/clock.cpio: cmd/initramfs/main.go $(BUILD)/user/clocktest
	mkdir -p $(LINUX_DIR)
	$(GO) run ./cmd/initramfs -init $(BUILD)/user/clocktest -o $@

$(BUILD)/floor.elf: boot/floor.S boot/floor.ld
	@mkdir -p $(BUILD)
	$(CC) -m32 -c -o $(BUILD)/floor.o boot/floor.S
	ld -m elf_i386 -n -T boot/floor.ld -o $@ $(BUILD)/floor.o

HOST_PKGS = $(shell $(GO) list ./... | grep -v '^gofly/qemu$$')

# Every test: vet, host unit tests (with -race), the two-worlds check, then
# the boot tests, which boot the image (and the Go 1.25 build) in QEMU.
test: test-host test-boot

test-host: worlds
	$(GO) vet ./...
	$(GO) test -race -count=1 $(HOST_PKGS)

BOOT_ENV = GOFLY_IMAGE=$(abspath $(IMAGE)) GOFLY_IMAGE_GO125=$(abspath $(BUILD)/$(GO125)/gofly.elf) \
	  GOFLY_IMAGE_GO127=$(abspath $(BUILD)/$(GO127)/gofly.elf) GOFLY_IMAGE_ATOMIC=$(abspath $(ATOMIC_TEST).elf) \
	  $(foreach n,$(USER_NAMES) stdrun,GOFLY_USER_$(shell echo $(n) | tr a-z A-Z)=$(abspath $(BUILD)/user/$(n))) \
	  GOFLY_UROOT=$(abspath $(UROOT_CPIO))

test-boot: $(IMAGE) go125 go127 $(ATOMIC_TEST).elf $(USER_PROGRAMS) $(BUILD)/user/stdrun $(UROOT_CPIO) qemu-installed
	$(BOOT_ENV) $(GO) test -count=1 -timeout 25m -v ./qemu/

# Go's own tests as Gofly processes (internal/stdtest): make stdtest
# [PKGS="strings os ..."] [LINUX=path/to/bzImage]; PKGS defaults to every
# standard package with tests; LINUX=build/linux/vmlinuz is the Debian kernel make bench downloads.
PKGS ?= std
stdtest: $(IMAGE) $(BUILD)/user/stdrun qemu-installed
	$(GO) run ./cmd/stdtest -pkgs "$(PKGS)" -kernel $(IMAGE) -runner $(BUILD)/user/stdrun -out $(BUILD)/stdtest $(if $(LINUX),-linux $(LINUX))

# The two worlds (shared/design/two-worlds.md): code in *_nosplit.go runs
# below the runtime and must have no write barriers and no heap escapes,
# and no splittable function may be reachable from it or passed to
# lwkt.TrapCall or ipiq.Register (cmd/worlds, on the linked image).
worlds: $(BUILD)/kernel.go.elf
	@out=$$($(GO_ENV) $(GO) build -o /dev/null -gcflags='gofly/...=-d=wb -m' $(KERNEL) 2>&1 | \
	  grep '_nosplit.go' | grep -E 'write barrier|escapes to heap|moved to heap'); \
	if [ -n "$$out" ]; then echo "below-runtime code with write barriers or heap escapes:"; echo "$$out"; exit 1; fi; \
	echo "worlds: no write barriers or heap escapes in *_nosplit.go"
	@$(GO) run ./cmd/worlds -elf $(BUILD)/kernel.go.elf

# Boot time: QEMU start -> prompt, beside QEMU start -> the floor's line;
# then the in-kernel bench command at 1, 2 and 4 CPUs; then Go's own
# sync/atomic test that once showed the threads piling on CPU 0, over 5
# boots, beside Linux on the same test (qemu/gotest_test.go); then page
# faults in one process and two at once, beside Linux (qemu/faults_test.go).
bench: $(IMAGE) $(BUILD)/floor.elf $(ATOMIC_TEST).elf $(LINUX_DIR)/vmlinuz $(LINUX_DIR)/atomic.cpio $(LINUX_DIR)/faults.cpio \
	  $(LINUX_DIR)/clock.cpio $(USER_PROGRAMS) qemu-installed
	$(GO) run ./cmd/bootbench -image $(IMAGE) -floor $(BUILD)/floor.elf -runs $(or $(RUNS),9) -smp 1,2,4
	$(BOOT_ENV) GOFLY_LINUX_KERNEL=$(abspath $(LINUX_DIR)/vmlinuz) \
	  GOFLY_LINUX_ATOMIC=$(abspath $(LINUX_DIR)/atomic.cpio) GOFLY_LINUX_FAULTS=$(abspath $(LINUX_DIR)/faults.cpio) \
	  GOFLY_LINUX_CLOCK=$(abspath $(LINUX_DIR)/clock.cpio) \
	  $(GO) test -count=1 -run '^$$' -bench 'SyncAtomic|Faults|Clock' -benchtime 1x -v ./qemu/

# What a fresh Debian machine lacks for building and booting: QEMU, and the
# C toolchain that assembles the boot stub. Installed (as root, with apt-get)
# before anything is built, so `make qemu` and `make test` are the whole
# set-up.
NEED_PKGS = $(shell command -v $(QEMU) >/dev/null || echo qemu-system-x86) \
	$(shell command -v $(CC) >/dev/null || echo gcc) \
	$(shell command -v ld >/dev/null && command -v objcopy >/dev/null || echo binutils)

qemu-installed:
	@if [ -n "$(strip $(NEED_PKGS))" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(NEED_PKGS); \
	  else \
	    echo "missing: $(NEED_PKGS): run  sudo apt-get install -y $(NEED_PKGS)"; exit 1; \
	  fi; fi

qemu: qemu-installed $(IMAGE) $(USER_PROGRAMS) $(UROOT_CPIO)
	$(QEMU) $(QEMU_ARGS)

qemu-gdb: qemu-installed $(IMAGE)
	@echo "gdb $(BUILD)/kernel.go.elf -ex 'target remote :1234'"
	$(QEMU) $(QEMU_ARGS) -S -s

clean:
	rm -rf $(BUILD)
