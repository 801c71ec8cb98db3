/*
 * The boot-time floor: a multiboot kernel that prints one line on COM1 and
 * halts. `make bench` times QEMU start -> this line beside QEMU start ->
 * Gofly's prompt, so what QEMU, the firmware and the loader cost is
 * measured in the same run and can be subtracted.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text
	.code32
	.global _start
_start:
	movl $msg, %esi
	movw $0x3F8, %dx                /* COM1 data register */
1:	lodsb
	testb %al, %al
	jz 2f
	outb %al, %dx                   /* QEMU's UART needs no set-up to transmit */
	jmp 1b
2:	cli
	hlt
	jmp 2b

	.section .rodata
msg:	.asciz "floor: up\r\n"
