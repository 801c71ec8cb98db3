package shell

import (
	"fmt"

	"gofly/lwkt"
	"gofly/objcache"
)

// cmdObjcache lists every registered object cache: its totals, then each
// online CPU's magazine fill and counters. Per-CPU figures are read while
// the CPUs run, so they may be a moment stale (objcache.FrameCache.Stats).
func cmdObjcache(sh *Shell) error {
	_, cpus := lwkt.Snapshot()
	var caches []objcache.Lister
	for _, c := range objcache.Caches() {
		caches = append(caches, c)
	}
	nframe := len(caches)
	caches = append(caches, objcache.GoCaches()...)
	if len(caches) == 0 {
		fmt.Fprintln(sh.Out, "no object caches")
		return nil
	}
	var s objcache.Stats
	for i, c := range caches {
		c.Stats(&s)
		if i == nframe {
			fmt.Fprintln(sh.Out, "Go-heap caches (Cache[T]):")
		}
		var hits, misses, reclaimed, fails uint64
		for i := 0; i < s.CPUs; i++ {
			hits += s.CPU[i].Hits
			misses += s.CPU[i].Misses
			reclaimed += s.CPU[i].Reclaimed
			fails += s.CPU[i].Fails
		}
		limit := "none"
		if s.Limit != 0 {
			limit = fmt.Sprint(s.Limit)
		}
		reclaimed += s.Reclaimed
		fmt.Fprintf(sh.Out, "%s: size %d, magazine %d, live %d, peak %d, limit %s, depot full %d empty %d, hits %d, misses %d, fails %d, reclaimed %d, slab pages %d\n",
			s.Name, s.Size, s.Capacity, s.Live, s.Peak, limit, s.DepotFull, s.DepotEmpty, hits, misses, fails, reclaimed, s.Pages)
		if i >= nframe {
			fmt.Fprintf(sh.Out, "  %d gets and puts found their CPU's slot held (constructed or destroyed at once)\n", s.Bypassed)
		}
		fmt.Fprintf(sh.Out, "  %-4s %8s %8s %10s %10s %8s %8s %10s\n", "CPU", "LOADED", "PREVIOUS", "GETS", "HITS", "MISSES", "DEPOT", "RECLAIMED")
		for _, ci := range cpus {
			if i < nframe && !ci.Online || ci.CPU >= s.CPUs {
				continue
			}
			st := s.CPU[ci.CPU]
			fmt.Fprintf(sh.Out, "  %-4d %8d %8d %10d %10d %8d %8s %10d\n", ci.CPU, s.Loaded[ci.CPU], s.Previous[ci.CPU],
				st.Gets, st.Hits, st.Misses, fmt.Sprintf("%d/%d", st.DepotGets, st.DepotPuts), st.Reclaimed)
		}
	}
	return nil
}
