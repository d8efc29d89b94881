// Package loss owns the arithmetic of loss analysis: the Pareto of stops and the loss
// waterfall (the six big losses) from planned time down to fully productive time. It is
// pure (no clock, no I/O): stream.History gathers the inputs from the rollups and the
// booked downtime events and calls it, so the API, the reports and the exports show the
// same figures.
//
// The waterfall is exact: its buckets are integer durations whose sum is the planned time,
// and it reconciles with OEE:
//
//	loading   = planned − unmonitored − planned stops       (OEE's planned time)
//	run       = loading − unplanned stops − changeovers
//	net run   = Σ ideal cycle × made                        (per product)
//	fully     = Σ ideal cycle × good
//	A = run / loading, P = net run / run, Q = fully / net run, OEE = fully / loading
//
// With one ideal cycle time Q is good / total, the count ratio stream/oee computes.
package loss
