/*
 * Multiboot (v1) entry for Gofly.
 *
 * QEMU's -kernel loader puts this image at 1 MiB and enters _start in 32-bit
 * protected mode with paging off, EAX = multiboot magic, EBX = the multiboot
 * information structure. This stub
 *   1. builds page tables that map the first 4 GiB (2 MiB pages) twice,
 *      at 0 (identity) and at 0xFFFF800000000000 (PML4 slot 256, the
 *      kernel's direct map: mm.DirectBase, amd64.Alias), except page 0,
 *      which stays unmapped so that nil dereferences fault;
 *   2. enables PAE, SSE, long mode and the SYSCALL instruction, and far-jumps
 *      into 64-bit code;
 *   3. finds the Go kernel, which the loader put at GO_BASE (cmd/mkimage
 *      makes its segments part of this image), and the end of its BSS;
 *   4. jumps to its ELF entry (in the direct map, where the image is
 *      linked), the kernel's own entry in Go assembly
 *      (kernel/entry_amd64.s), with RDI pointing at bootinfo below, whose
 *      layout kernel/boot_nosplit.go's bootInfo mirrors word for word.
 * It also carries the real-mode trampoline that application processors
 * start in (see trampoline below); the kernel copies it under 1 MiB.
 * Everything else (GDT with TSS, IDT, the kernel's page tables) is set up by
 * the Go side.
 */

#define MB_MAGIC  0x1BADB002
#define MB_FLAGS  0x00000003            /* page-align modules, give memory info */

#define CR0_PE    (1 << 0)
#define CR0_MP    (1 << 1)
#define CR0_NE    (1 << 5)
#define CR0_PG    (1 << 31)
#define CR4_PAE   (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER  0xC0000080
#define EFER_SCE  (1 << 0)
#define EFER_LME  (1 << 8)

#define PTE_P     0x1
#define PTE_W     0x2
#define PTE_PS    0x80

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .bss
	.align 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4096 * 4                  /* four page directories: 0-4 GiB */
pt0:	.skip 4096                      /* 4 KiB pages for 0-2 MiB, page 0 absent */
	.skip 16384
stack_top:
	.align 16
page0:    .skip 4096

	.section .data
	.align 8
/* Handed to the kernel in RDI: kernel/boot_nosplit.go's bootInfo. */
bootinfo:
bi_magic:      .quad 0          /* multiboot magic (EAX at entry) */
bi_info:       .quad 0          /* multiboot information (EBX at entry) */
bi_go_base:    .quad GO_BASE    /* the Go image's ELF header */
bi_go_end:     .quad 0          /* end of its highest segment (BSS included), as linked: in the direct map */
bi_stub_start: .quad _start
bi_stub_end:   .quad _image_end
bi_tsc:        .quad 0          /* TSC at _start: the boot timeline's origin */
bi_page0:      .quad page0      /* copy of physical page 0 (BIOS data area) */
bi_tramp:      .quad trampoline /* AP start-up code and its length */
bi_tramp_len:  .quad trampoline_end - trampoline

	.align 16
gdt:	.quad 0                          /* null */
	.quad 0x00AF9A000000FFFF         /* 0x08: 64-bit code, ring 0 */
	.quad 0x00CF92000000FFFF         /* 0x10: data, ring 0 */
gdt_end:
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt

	.section .text
	.code32
	.global _start
_start:
	cli
	cld
	movl $stack_top, %esp
	movl %eax, bi_magic             /* keep the loader's registers for Go */
	movl %ebx, bi_info
	rdtsc                           /* EDX:EAX = TSC: the boot timeline starts here */
	movl %eax, bi_tsc
	movl %edx, bi_tsc + 4
	xorl %esi, %esi                 /* copy physical page 0 while it is reachable */
	movl $page0, %edi
	movl $1024, %ecx
	rep movsl

	/* PML4[0] and PML4[256] -> PDPT; PDPT[0..3] -> the four page
	 * directories. */
	movl $pdpt + (PTE_P | PTE_W), pml4
	movl $pdpt + (PTE_P | PTE_W), pml4 + 256 * 8
	movl $pd + (PTE_P | PTE_W), %eax
	xorl %ecx, %ecx
1:	movl %eax, pdpt(, %ecx, 8)
	addl $4096, %eax
	incl %ecx
	cmpl $4, %ecx
	jne 1b

	/* 2048 PD entries of 2 MiB each cover 0-4 GiB; the high dword of each
	 * entry (bits 32+ of the address) stays zero from .bss. */
	movl $(PTE_P | PTE_W | PTE_PS), %eax
	xorl %ecx, %ecx
2:	movl %eax, pd(, %ecx, 8)
	addl $0x200000, %eax
	incl %ecx
	cmpl $2048, %ecx
	jne 2b

	/* The first 2 MiB through a page table whose entry 0 is left absent. */
	movl $pt0 + (PTE_P | PTE_W), pd
	movl $4096 + (PTE_P | PTE_W), %eax
	movl $1, %ecx
3:	movl %eax, pt0(, %ecx, 8)
	addl $4096, %eax
	incl %ecx
	cmpl $512, %ecx
	jne 3b

	movl %cr4, %eax
	orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $(EFER_LME | EFER_SCE), %eax
	wrmsr
	movl $(CR0_PG | CR0_NE | CR0_MP | CR0_PE), %eax  /* EM and TS clear: SSE on */
	movl %eax, %cr0
	lgdt gdt_ptr
	ljmp $0x08, $long_mode

	.code64
long_mode:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs

	/* The Go ELF header sits at GO_BASE (its first segment starts at file
	 * offset 0). Walk its program headers for the end of the image. */
	movq $GO_BASE, %rbx
	movq 0x20(%rbx), %r11           /* e_phoff */
	addq %rbx, %r11                 /* first program header */
	movzwq 0x36(%rbx), %r9          /* e_phentsize */
	movzwq 0x38(%rbx), %r10         /* e_phnum */
	xorq %r12, %r12                 /* highest segment end so far */
4:	testq %r10, %r10
	jz 6f
	cmpl $1, (%r11)                 /* PT_LOAD? */
	jne 5f
	movq 0x10(%r11), %rax           /* p_vaddr */
	addq 0x28(%r11), %rax           /* + p_memsz */
	cmpq %r12, %rax
	cmovaq %rax, %r12
5:	addq %r9, %r11
	decq %r10
	jmp 4b

6:	movq %r12, bi_go_end(%rip)
	movq 0x18(%rbx), %rax           /* e_entry */
	leaq bootinfo(%rip), %rdi
	jmp *%rax

/*
 * trampoline: where an application processor starts, in real mode at
 * TRAMP_BASE (the kernel copies these bytes there and sends a start-up IPI
 * with vector TRAMP_BASE>>12, so CS = TRAMP_BASE>>4 and IP = 0). It goes
 * straight to long mode with the boot page tables and jumps to the
 * kernel's AP entry with RDI = the CPU's index and RSP = its stack, all
 * three taken from the parameters the kernel filled in at the end.
 */
#define TRAMP_BASE 0x8000
#define T(x) ((x) - trampoline)          /* offset inside the trampoline */
	.code16
	.global trampoline
trampoline:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds                   /* DS:T(x) addresses the parameters */
	lgdtl T(tramp_gdtr)
	movl %cr4, %eax
	orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	movl %eax, %cr4
	movl T(tramp_cr3), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $(EFER_LME | EFER_SCE), %eax
	wrmsr
	movl $(CR0_PG | CR0_NE | CR0_MP | CR0_PE), %eax
	movl %eax, %cr0                 /* paging and protection at once: long mode */
	ljmpl *T(tramp_far)             /* into the 64-bit code segment */

	.code64
tramp64:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movq TRAMP_BASE + T(tramp_stack), %rsp
	movq TRAMP_BASE + T(tramp_cpu), %rdi
	jmpq *TRAMP_BASE + T(tramp_entry)

	.align 8
tramp_gdt:
	.quad 0
	.quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code */
	.quad 0x00CF92000000FFFF        /* 0x10: data */
tramp_gdtr:
	.word 3 * 8 - 1
	.long TRAMP_BASE + T(tramp_gdt)
tramp_far:
	.long TRAMP_BASE + T(tramp64)
	.word 0x08
	.align 8
/* Filled in by the kernel (kernel/smp.go's trampoline offsets) per AP. */
tramp_cr3:   .quad 0
tramp_stack: .quad 0
tramp_entry: .quad 0
tramp_cpu:   .quad 0
trampoline_end:
