package main

import (
	"fmt"
	"slices"
	"time"
)

// latencies collects durations and reports percentiles by nearest rank.
type latencies []time.Duration

func (l latencies) percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// summary is "p50 0.41 ms, p90 …, p99 …, max … (n=400)".
func (l latencies) summary() string {
	return fmt.Sprintf("p50 %s, p90 %s, p99 %s, max %s (n=%d)",
		msec(l.percentile(50)), msec(l.percentile(90)), msec(l.percentile(99)), msec(l.percentile(100)), len(l))
}

func msec(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
