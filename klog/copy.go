package klog

// Copy copies the retained log, oldest byte first, into p and returns how
// many bytes it copied and how many older bytes were overwritten. It is
// ordinary Go and takes no lock: p may fault, and a CPU must never fault
// (or be preempted) while it holds the log's lock with interrupts off.
// Bytes that loggers overwrite while it copies are dropped from the front.
func Copy(p []byte) (n int, lost uint64) {
	end := written.Load()
	start := end - min(end, RingSize, uint64(len(p)))
	for i := start; i < end; i++ {
		p[i-start] = ring[i%RingSize]
	}
	if now := written.Load(); now > start+RingSize {
		skip := min(now-RingSize-start, end-start)
		copy(p, p[skip:end-start])
		start += skip
	}
	return int(end - start), start
}
