// Package random is the kernel's random-number generator: the bytes of
// getrandom(2) and the program's AT_RANDOM. It owns a ChaCha8 keystream
// (the ChaCha block function with 8 rounds, the construction behind Go's
// runtime generator, internal/chacha8rand) keyed by a 32-byte seed taken at
// boot from RDSEED, else RDRAND, else, on CPUs with neither, from the TSC
// and the RTC, which an observer can guess (SeedSource says which; the
// cpuinfo shell command shows it).
//
// Invariants:
//   - seeded-first: Init runs at boot before anything reads.
//   - key-erasure: each refill replaces the key with the last 32 bytes of
//     the keystream it made and never hands those out, and every byte
//     handed out is zeroed in the buffer, so the generator's memory says
//     nothing about bytes it already gave (backtracking resistance).
//
// Locking: none of its own. Init and Read are called at boot on CPU 0
// before the runtime starts and from trap context under the kernel's MP
// lock (getrandom), so they run below the Go runtime: nosplit,
// allocation-free, state in fixed arrays. SeedSource reads a value written
// once, by Init, before any goroutine runs.
package random
