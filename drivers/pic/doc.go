// Package pic drives the two cascaded 8259A interrupt controllers that
// deliver the legacy IRQs (timer, COM1) until the IOAPIC takes over with
// SMP. Called in trap context and early boot: nosplit.
package pic
