# Gofly build. `make` builds the multiboot image, `make qemu` boots it on
# the serial console, `make test` runs every test (host, in-kernel, boot).

GO       ?= go
CC       ?= gcc
BUILD    ?= build
KERNEL   ?= ./cmd/gofly
SMP      ?= 1
MEM      ?= 128M
APPEND   ?=
QEMU     ?= qemu-system-x86_64
TIMEOUT  ?= 0

# The Go image: linked at 16 MiB (its ELF header page at 0x1000000) with the
# kernel's own entry, the internal linker, no cgo.
GO_LDFLAGS := -T 0x1001000 -E gofly/kernel.entry
GO_ENV     := GOOS=linux GOARCH=amd64 CGO_ENABLED=0

IMAGE := $(BUILD)/gofly.elf
SOURCES := $(shell find . -path ./$(BUILD) -prune -o \( -name '*.go' -o -name '*.s' \) -print) go.mod go.sum

QEMU_ARGS = -accel tcg -m $(MEM) -smp $(SMP) -nic none -display none \
	-serial mon:stdio -no-reboot -kernel $(IMAGE) -append "$(APPEND)"

.PHONY: all qemu qemu-gdb test test-host test-boot bench wb clean qemu-installed

all: $(IMAGE)

$(BUILD)/kernel.go.elf: $(SOURCES)
	@mkdir -p $(BUILD)
	$(GO_ENV) $(GO) build -o $@ -ldflags='$(GO_LDFLAGS)' $(KERNEL)

$(BUILD)/boot.o: boot/boot.S $(BUILD)/kernel.go.elf
	$(CC) -c -o $@ -DGO_ELF='"$(BUILD)/kernel.go.elf"' boot/boot.S

# QEMU's multiboot loader takes only ELF32: link as elf64, convert.
$(IMAGE): $(BUILD)/boot.o linker.ld
	ld -m elf_x86_64 -n -T linker.ld -o $(BUILD)/gofly.elf64 $(BUILD)/boot.o
	objcopy -O elf32-i386 $(BUILD)/gofly.elf64 $@

qemu-installed:
	@command -v $(QEMU) >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq qemu-system-x86; \
	  else \
	    echo "qemu-system-x86_64 is missing: run  sudo apt-get install -y qemu-system-x86"; exit 1; \
	  fi; }

qemu: $(IMAGE) qemu-installed
	$(QEMU) $(QEMU_ARGS)

qemu-gdb: $(IMAGE) qemu-installed
	@echo "gdb $(BUILD)/kernel.go.elf -ex 'target remote :1234'"
	$(QEMU) $(QEMU_ARGS) -S -s

clean:
	rm -rf $(BUILD)
