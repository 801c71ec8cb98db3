// Command hello is the first user program: a static Linux executable
// (CGO_ENABLED=0) that prints a line and exits. The Makefile builds it
// and boots it as a multiboot module (QEMU's -initrd) until Gofly has a
// file system.
package main

import "os"

func main() {
	os.Stdout.WriteString("hello from ring 3\n")
}
