// Package sim is the reference edge publisher: it simulates production lines (rate
// with jitter, product mix, rejects, stops longer than the downtime threshold and
// micro-stops shorter than it) and publishes their detections the way a well-behaved
// vision node should: to lp.<tenant>.line.<line>.det in the contract's wire format,
// through JetStream with acknowledgements, a Nats-Msg-Id per message, a bounded window
// of unacknowledged messages, and re-sending (same Nats-Msg-Id) of everything not
// acknowledged, for instance across a server restart.
//
// The timeline of a line is a pure function of its LineSpec, a seed, a start time and
// a first id (Generator), so tests and benchmarks can reproduce it exactly.
package sim
