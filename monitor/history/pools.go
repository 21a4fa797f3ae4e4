package history

import "time"

// PoolPeriod is a run of readings of the IP-pool layout during which a
// subuser sent through the same pools.
type PoolPeriod struct {
	// Pools are the sorted pools of the subuser's IPs (empty: its IPs are
	// in no pool).
	Pools []string
	// FirstSeen and LastSeen are the first and the last reading.
	FirstSeen, LastSeen time.Time
}
